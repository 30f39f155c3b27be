"""Warm query latency on an index of 100,000+ units (embedded default).

    python benchmarks/query_latency.py [--units 100000]

The store is filled through the same store code the indexer uses (EdgeStore):
payloads and lexical vectors come from real units of Django (PyPI), repeated
under distinct paths until --units is reached; dense vectors are SYNTHETIC
(random unit vectors), because embedding 100k units on this CPU would take over
an hour and brute-force search cost does not depend on the values. Queries go
through Engine.search, so the query embedding by the real CPU model is included.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import pypi_source

from codesearch import Engine, SearchFilters, load_settings
from codesearch.discover import discover
from codesearch.embedding import index_slug
from codesearch.embedding.local import MINILM_MODEL_ID
from codesearch.indexer import point_id, unit_payload
from codesearch.lexical import document_vector
from codesearch.parsing import parse_file
from codesearch.representation import lexical_text
from codesearch.state import FileRecord, IndexState
from codesearch.store.base import StoredPoint
from codesearch.store.edge import EdgeStore

QUERIES = [
    "parse a date string in ISO format",
    "retry a failed request with backoff",
    "escape html special characters",
    "validate an email address",
    "read a file in chunks",
    "cache the result of a function call",
    "compare two passwords in constant time",
    "convert camel case to snake case",
    "paginate a list of query results",
    "send an email with attachments",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def fill(root: Path, index_dir: Path, target: int) -> int:
    source = pypi_source("django", "5.1.4")
    units = []
    for f in discover(source).files:
        units.extend(parse_file(f.path, f.abspath.read_bytes(), f.language).units)
    model_dir = index_dir / "indexes" / index_slug(MINILM_MODEL_ID, 384)
    (model_dir / "store").mkdir(parents=True)
    store = EdgeStore(model_dir / "store", 384)
    state = IndexState(model_dir / "state.sqlite")
    state.set_meta(model=MINILM_MODEL_ID, dimensions="384", run="complete", last_indexed=str(time.time()))
    rng = np.random.default_rng(0)
    lex = [document_vector(lexical_text(u)) for u in units]
    hashes = [u.content_hash for u in units]
    written = copy = 0
    started = time.perf_counter()
    while written < target:
        batch: list[StoredPoint] = []
        for unit, sparse, h in zip(units, lex, hashes, strict=True):
            if written + len(batch) >= target:
                break
            path = f"copy{copy}/{unit.path}"
            payload = unit_payload(unit, h, "-")
            payload["path"] = path
            vec = rng.standard_normal(384).astype(np.float32)
            batch.append(StoredPoint(point_id(path, unit.key), vec / np.linalg.norm(vec), sparse, payload))
        for i in range(0, len(batch), 2000):
            store.upsert(batch[i : i + 2000])
        paths = sorted({str(p.payload["path"]) for p in batch})
        state.commit_files(
            [FileRecord(p, 0, 0, "-", "python") for p in paths],
            [(p.id, str(p.payload["path"]), str(p.payload["kind"]), "python") for p in batch],
        )
        written += len(batch)
        copy += 1
        print(f"  filled {written} units ({written / (time.perf_counter() - started):.0f}/s)", flush=True)
    store.close()
    state.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        index_dir = Path(tmp) / "index"
        count = fill(root, index_dir, args.units)
        settings, _ = load_settings(root, {"index_dir": str(index_dir)})
        with Engine.open(root, settings) as engine:
            for q in QUERIES[:3]:
                engine.search(q)
            results: dict[str, list[float]] = {}
            cases = {
                "hybrid": {},
                "dense": {"mode": "dense"},
                "lexical": {"mode": "lexical"},
                "hybrid --lang python --kind function": {
                    "filters": SearchFilters(languages=("python",), kinds=("function",))
                },
            }
            for name, kwargs in cases.items():
                times = results.setdefault(name, [])
                for _ in range(args.rounds):
                    for q in QUERIES:
                        started = time.perf_counter()
                        engine.search(q, k=10, **kwargs)  # type: ignore[arg-type]
                        times.append((time.perf_counter() - started) * 1000)
            embed_times = []
            for q in QUERIES * 3:
                started = time.perf_counter()
                engine.embedder().embed_query(q)
                embed_times.append((time.perf_counter() - started) * 1000)
        print(f"## warm query latency, {count} units (dense vectors synthetic, lexical real), k=10")
        for name, times in results.items():
            print(
                f"  {name:<40} p50 {statistics.median(times):6.1f} ms   p95 {percentile(times, 0.95):6.1f} ms"
                f"   (n={len(times)})"
            )
        print(f"  {'query embedding alone':<40} p50 {statistics.median(embed_times):6.1f} ms")


if __name__ == "__main__":
    main()
