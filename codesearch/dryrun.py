"""`codesearch index --dry-run`: what would be indexed, its size in tokens, and a time estimate."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from codesearch.errors import CodesearchError
from codesearch.indexer import decode_source, read_source
from codesearch.parsing import parse_file
from codesearch.representation import plan_units

if TYPE_CHECKING:
    from codesearch.engine import Engine

_CALIBRATION = "def retry_upload(client, path, attempts=5):\n    delay = 0.5\n" * 12


def dry_run(engine: Engine) -> dict[str, Any]:
    """Discover and parse, count the tokens that would be embedded, and time a small batch."""
    from codesearch.discover import discover

    settings = engine.settings
    found = discover(engine.root, settings.exclude, settings.max_file_bytes, settings.include_secrets)
    embedder = engine.embedder()
    files: list[dict[str, Any]] = []
    skipped = [{"path": s.path, "reason": s.reason} for s in found.skipped]
    total_tokens = total_units = 0
    for entry in found.files:
        data, reason = read_source(entry, settings.max_file_bytes)
        if data is None:
            skipped.append({"path": entry.path, "reason": reason})
            continue
        source, _ = decode_source(data)
        try:
            parsed = parse_file(entry.path, source, entry.language, max_file_tokens=settings.max_file_tokens)
        except CodesearchError as exc:  # as the indexer does: the file is passed over, with the reason
            skipped.append({"path": entry.path, "reason": f"could not parse: {exc}"})
            continue
        plans = plan_units(parsed.units, embedder)
        tokens = sum(embedder.count_tokens([t for p in plans for t in p.texts])) if plans else 0
        files.append({"path": entry.path, "language": entry.language, "units": len(plans), "tokens": tokens})
        total_tokens += tokens
        total_units += len(plans)
    sample = [_CALIBRATION] * 8
    started = time.perf_counter()
    embedder.embed_documents(sample)
    elapsed = max(time.perf_counter() - started, 1e-6)
    rate = sum(embedder.count_tokens(sample)) / elapsed
    return {
        "files": files,
        "file_count": len(files),
        "units": total_units,
        "tokens": total_tokens,
        "skipped": skipped,
        "tokens_per_second": round(rate, 1),
        "estimated_seconds": round(total_tokens / rate, 1),
    }
