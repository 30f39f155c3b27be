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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _synthetic_index import fill

from codesearch import Engine, SearchFilters, load_settings

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        index_dir = Path(tmp) / "index"
        count = fill(index_dir, args.units)
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
