"""A large index filled without embedding, for latency benchmarks.

Units, payloads and lexical vectors are real (Django from PyPI, parsed by
codesearch), repeated under distinct paths `copy<i>/...` until the target unit
count; the dense vectors are SYNTHETIC (random unit vectors), because embedding
100k units on a 2-core CPU takes hours and brute-force search cost does not
depend on the values. With `files_root`, the copies are also written there as
real files and recorded with their real size and mtime, so an engine (or the
language server's watcher) opening that root finds the index up to date.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
from _corpus import pypi_source

from codesearch.embedding import index_slug
from codesearch.embedding.static import static_identity
from codesearch.indexing.discover import discover
from codesearch.indexing.indexer import point_id, unit_payload
from codesearch.indexing.lexical import document_vector
from codesearch.indexing.representation import lexical_text
from codesearch.indexing.state import FileRecord, IndexState
from codesearch.models import CodeUnit
from codesearch.parsing import parse_file
from codesearch.store.base import StoredPoint
from codesearch.store.edge import EdgeStore


def fill(
    index_dir: Path,
    target: int,
    files_root: Path | None = None,
    model: tuple[str, int] | None = None,
) -> int:
    """Fill `index_dir` (a root's .codesearch) with `target` units; returns how many were written.
    `model` is the index's (model id, dimensions): by default the default model's."""
    source = pypi_source("django", "5.1.4")
    files: list[tuple[str, bytes, list[CodeUnit]]] = []
    for f in discover(source).files:
        if f.language != "python":
            continue
        data = f.abspath.read_bytes()
        files.append((f.path, data, list(parse_file(f.path, data, f.language).units)))
    model_id, dims = model or static_identity()
    model_dir = index_dir / "indexes" / index_slug(model_id, dims)
    (model_dir / "store").mkdir(parents=True)
    store = EdgeStore(model_dir / "store", dims)
    state = IndexState(model_dir / "state.sqlite")
    state.set_meta(model=model_id, dimensions=str(dims), run="complete", last_indexed=str(time.time()))
    rng = np.random.default_rng(0)
    lexical = {(path, u.key): document_vector(lexical_text(u)) for path, _, units in files for u in units}
    written = copy = 0
    started = time.perf_counter()
    while written < target:
        points: list[StoredPoint] = []
        records: list[FileRecord] = []
        for rel, data, units in files:
            if written + len(points) >= target:
                break
            path = f"copy{copy}/{rel}"
            file_hash = hashlib.sha256(data).hexdigest()
            size = mtime_ns = 0
            if files_root is not None:
                dest = files_root / path
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
                st = dest.stat()
                size, mtime_ns = st.st_size, st.st_mtime_ns
            records.append(FileRecord(path, size, mtime_ns, file_hash, "python"))
            for unit in units:
                payload = unit_payload(unit, file_hash)
                payload["path"] = path
                vec = rng.standard_normal(dims).astype(np.float32)
                points.append(
                    StoredPoint(
                        point_id(path, unit.key), vec / np.linalg.norm(vec), lexical[rel, unit.key], payload
                    )
                )
        for i in range(0, len(points), 2000):
            store.upsert(points[i : i + 2000])
        state.commit_files(
            records, [(p.id, str(p.payload["path"]), str(p.payload["kind"]), "python") for p in points]
        )
        written += len(points)
        copy += 1
        rate = written / (time.perf_counter() - started)
        print(f"  filled {written} units, {len(records)} files ({rate:.0f}/s)", flush=True)
    store.close()
    state.close()
    return written
