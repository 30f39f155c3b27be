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

from codesearch.config import Settings
from codesearch.indexing.state import FileRecord, IndexState
from codesearch.parsing import units_version
from codesearch.store import open_store
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


def move_index(
    root: Path,
    source: tuple[Settings, Path],
    destination: tuple[Settings, Path],
    identity: tuple[str, int],
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Copy the index of `root` from one store (its settings and index directory) to another,
    and record the destination's state there; embeds nothing."""
    (src_settings, src_dir), (dst_settings, dst_dir) = source, destination
    model_id, dims = identity
    src = open_store(src_settings, src_dir, root, model_id, dims)
    try:
        dst = open_store(dst_settings, dst_dir, root, model_id, dims)
        try:
            state = IndexState(dst_dir / "state.sqlite")
            try:
                state.set_meta(model=model_id, dimensions=str(dims), created=str(time.time()))
                moved = move_points(root, src, dst, state, progress)
                # The parser that cut the points: the one the source recorded; a store whose
                # state is elsewhere (a teammate's server) is taken to be this release's, as
                # analysing every file again would embed everything anew (an empty cache).
                state.set_meta(units=_units_version_of(src_dir) or "")  # "": not known
                return moved
            finally:
                state.close()
        finally:
            dst.close()
    finally:
        src.close()


def _units_version_of(directory: Path) -> str | None:
    """The parser version the index in `directory` recorded (None: none recorded); this
    release's when there is no state there."""
    if not (directory / "state.sqlite").exists():
        return units_version()
    state = IndexState(directory / "state.sqlite")
    try:
        return state.get_meta("units")
    finally:
        state.close()
