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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _synthetic_index import fill

from codesearch import Engine, SearchFilters, load_settings
from codesearch.embedding.local import MINILM_MODEL_ID
from codesearch.embedding.static import static_identity
from codesearch.search.fusion import drop_shadowed_containers, to_hit
from codesearch.search.ranking import rank, rank_files
from codesearch.search.retrieval import candidates

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

SYMBOL_QUERIES = ["QuerySet", "get_object_or_404", "HttpResponseRedirect", "Model.save", "reverse"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(engine: Engine, settings: object, rounds: int) -> dict[str, list[float]]:
    """Milliseconds per query for each case."""
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
        for _ in range(rounds):
            for q in QUERIES:
                started = time.perf_counter()
                engine.search(q, k=10, **kwargs)  # type: ignore[arg-type]
                times.append((time.perf_counter() - started) * 1000)
    for name, queries in (("symbol queries", SYMBOL_QUERIES), ("--files", QUERIES)):
        times = results.setdefault(name, [])
        for _ in range(rounds):
            for q in queries:
                started = time.perf_counter()
                if name == "--files":
                    engine.search_files(q, k=10)
                else:
                    engine.search(q, k=10)
                times.append((time.perf_counter() - started) * 1000)
    return results


def report(title: str, results: dict[str, list[float]]) -> None:
    print(title)
    for name, times in results.items():
        print(
            f"  {name:<40} p50 {statistics.median(times):6.1f} ms   p95 {percentile(times, 0.95):6.1f} ms"
            f"   (n={len(times)})"
        )


def dense_top(engine: Engine) -> list[list[tuple[str, str]]]:
    return [[(h.path, h.symbol) for h in engine.search(q, k=10, mode="dense")] for q in QUERIES]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--model", default="", help="codesearch option `model` (default: the default)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        index_dir = Path(tmp) / "index"
        identity = (MINILM_MODEL_ID, 384) if args.model == "minilm" else static_identity()
        count = fill(index_dir, args.units, model=identity)
        settings, _ = load_settings(root, {"index_dir": str(index_dir), "model": args.model or None})
        with Engine.open(root, settings) as engine:
            exact = measure(engine, settings, args.rounds)
            exact_top = dense_top(engine)
            # What an index run that leaves over quantize_threshold units does at its end.
            store = engine._open_store(create=False)[0]
            started = time.perf_counter()
            store.optimize()  # type: ignore[attr-defined]
            quantize_seconds = time.perf_counter() - started
            results = measure(engine, settings, args.rounds)
            quantized_top = dense_top(engine)
            # The ranking layer alone, on the candidates the retrievers gave (what it adds to a query).
            cfg = settings.ranking_config()
            source = engine._local.source()
            fused = [
                (q, candidates(source, settings, q, 50, SearchFilters(), "hybrid"))
                for q in QUERIES + SYMBOL_QUERIES
            ]
            for name, fn in (
                ("ranking layer alone (units)", rank),
                ("ranking layer alone (files)", rank_files),
            ):
                times = results.setdefault(name, [])
                for _ in range(args.rounds):
                    for q, rows in fused:
                        started = time.perf_counter()
                        out: list[Any] = fn(q, rows, cfg)
                        if fn is rank:
                            drop_shadowed_containers((to_hit(c, s, d, lx) for c, s, d, lx in out), limit=10)
                        times.append((time.perf_counter() - started) * 1000)
            embed_times = []
            for q in QUERIES * 3:
                started = time.perf_counter()
                engine.embedder().embed_query(q)
                embed_times.append((time.perf_counter() - started) * 1000)
        model = engine.embedder().model_id
        head = f"{count} units, {model} (dense vectors synthetic, lexical real), k=10"
        report(f"## warm query latency, float32 brute force (below quantize_threshold), {head}", exact)
        report(
            f"## warm query latency, int8 quantised + rescored (the default past quantize_threshold), {head}",
            results,
        )
        print(f"  {'query embedding alone':<40} p50 {statistics.median(embed_times):6.1f} ms")
        overlap = statistics.mean(
            len(set(a) & set(b)) / max(1, len(a)) for a, b in zip(exact_top, quantized_top, strict=True)
        )
        print(
            f"  quantising {count} units took {quantize_seconds:.1f} s;"
            f" dense top-10 overlap with float32: {overlap:.3f}"
        )


if __name__ == "__main__":
    main()
