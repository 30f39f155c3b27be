"""Move an index between stores (embedded <-> Qdrant server) without re-embedding.

Points are copied as they are (ids, vectors, payload). The destination's state is
then rebuilt from the copied points and the working tree: a file whose current
content hash equals the `file_hash` its points were built from is recorded as
indexed; any other file's points are marked pending, so the next `codesearch
index` replaces them. Nothing is embedded here.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

from codesearch.state import FileRecord, IndexState
from codesearch.store.base import StoredPoint, VectorStore
from codesearch.store.transfer import PointSource, copy_points


def _file_hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def move_points(
    root: Path,
    source: PointSource,
    destination: VectorStore,
    state: IndexState,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Copy every point of `source` into `destination` and record what is current in `state`."""
    by_path: dict[str, list[StoredPoint]] = defaultdict(list)

    def remember(batch: Sequence[StoredPoint]) -> None:
        for p in batch:
            by_path[str(p.payload.get("path", ""))].append(p)

    copied = copy_points(source, destination, progress=progress, on_batch=remember)
    destination.flush()
    current: list[FileRecord] = []
    units: list[tuple[int, str, str, str]] = []
    stale: list[str] = []
    for path, points in by_path.items():
        file = root / path
        hashes = {str(p.payload.get("file_hash", "")) for p in points}
        now = _file_hash(file)
        if now is not None and hashes == {now}:
            st = file.stat()
            language = str(points[0].payload.get("language", ""))
            current.append(FileRecord(path, st.st_size, st.st_mtime_ns, now, language))
            units.extend((p.id, path, str(p.payload["kind"]), language) for p in points)
        else:
            stale.append(path)
    state.mark_pending(stale)
    state.commit_files(current, units)
    state.set_meta(run="complete", last_indexed=str(time.time()))
    return {"points": copied, "files_current": len(current), "files_stale": len(stale)}
