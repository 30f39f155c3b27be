"""`codesearch index --dry-run`: what would be indexed, its size in tokens, and a time estimate."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from codesearch.indexing.analysis import Options, analyze
from codesearch.indexing.representation import plan_units

if TYPE_CHECKING:
    from codesearch.engine import Engine

_CALIBRATION = "def retry_upload(client, path, attempts=5):\n    delay = 0.5\n" * 12


def dry_run(engine: Engine) -> dict[str, Any]:
    """Discover and parse, count the tokens that would be embedded, and time a small batch."""
    from codesearch.indexing.discover import discover

    settings = engine.settings
    found = discover(engine.root, settings.exclude, settings.max_file_bytes, settings.include_secrets)
    embedder = engine.embedder()
    files: list[dict[str, Any]] = []
    skipped = [{"path": s.path, "reason": s.reason} for s in found.skipped]
    total_tokens = total_units = 0
    options = Options(settings.max_file_bytes, settings.max_file_tokens)
    for entry in found.files:
        # The indexer's own analysis: the same skips, and secrets redacted before anything is counted.
        found_file = analyze(entry, None, options)
        if found_file.skipped:
            skipped.append({"path": entry.path, "reason": found_file.skipped})
            continue
        plans = plan_units(found_file.units, embedder)
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
