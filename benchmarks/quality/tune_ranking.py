"""Tune the ranking layer's weights on the dev half of the function-level set.

The two retrievers and the fusion run once per query (the engine's fused
candidates are kept in memory); each configuration of the ranking layer is then
applied to those candidates, so a grid costs seconds. Configurations are chosen
on dev; test is printed beside dev for the default and for the best of the grid.

    python benchmarks/quality/evaluate.py --model static --modes hybrid   # builds the index once
    python benchmarks/quality/tune_ranking.py --model static
    python benchmarks/quality/tune_ranking.py --model static --grid per_file=1,2,3,99 path_boost=0,0.3
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
for p in (str(HERE), str(REPO_ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

from _scoring import Hit, is_correct, read_jsonl  # noqa: E402

from codesearch.config import load_settings  # noqa: E402
from codesearch.engine import Engine  # noqa: E402
from codesearch.models import SearchFilters  # noqa: E402
from codesearch.ranking import RankingConfig, analyse, rank  # noqa: E402
from codesearch.search import drop_shadowed_containers, fuse, to_hit  # noqa: E402

SET_DIR = REPO_ROOT / "benchmarks" / ".data" / "quality" / "mixed"
INDEX_ROOT = REPO_ROOT / "benchmarks" / ".data" / "quality" / "_index"
K = 10


def metrics(ranks: list[int]) -> tuple[float, float]:
    n = len(ranks) or 1
    return sum(1.0 / r for r in ranks if r) / n, sum(1 for r in ranks if r) / n


def fused(q: dict[str, Any], lists: tuple[list[Any], list[Any]], weight: float, fusion: str) -> list[Any]:
    dense = [r[0] for r in lists[0]]
    lexical = [r[0] for r in lists[1]]
    return fuse(dense, lexical, mode="hybrid", dense_weight=weight, rrf_k=60, fusion=fusion)


def ranks_for(
    cfg: RankingConfig, cached: list[tuple[dict[str, Any], Any]], weight: float = 0.5, fusion: str = "score"
) -> list[int]:
    out = []
    for q, lists in cached:
        w = cfg.symbol_dense_weight if cfg.enabled and analyse(q["query"]).symbol else weight
        ranked = rank(q["query"], fused(q, lists, w, fusion), cfg)
        hits = drop_shadowed_containers([to_hit(c, s, d, lx) for c, s, d, lx in ranked])[:K]
        r = 0
        for i, h in enumerate(hits, 1):
            if is_correct(Hit(h.path, h.start_line, h.end_line, h.symbol), q):
                r = i
                break
        out.append(r)
    return out


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    grid: dict[str, list[Any]] = {}
    names = {f.name: f for f in dataclasses.fields(RankingConfig)}
    for item in items:
        key, _, values = item.partition("=")
        if key == "fusion":
            grid[key] = values.split(",")
            continue
        if key.endswith("_prior") or key == "dense_weight":
            grid[key] = [float(v) for v in values.split(",")]
            continue
        if key not in names:
            raise SystemExit(f"unknown RankingConfig field {key!r}")
        cast = int if key == "per_file" else float
        grid[key] = [cast(v) for v in values.split(",")]
    return grid


def with_values(base: RankingConfig, values: dict[str, Any]) -> RankingConfig:
    priors = dict(base.priors)
    plain = {}
    for key, value in values.items():
        if key in ("dense_weight", "fusion"):
            continue
        if key.endswith("_prior"):
            cls = key[: -len("_prior")]
            groups = {
                "aux": ("examples", "benchmarks", "fixtures", "vendored", "generated"),
                "docs": ("docs", "config"),
            }
            for c in groups.get(cls, (cls,)):
                priors[c] = value
        else:
            plain[key] = value
    return dataclasses.replace(base, priors=priors, **plain)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="static")
    ap.add_argument("--scope", choices=("functions", "all"), default="functions")
    ap.add_argument(
        "--grid", nargs="*", default=[], help="FIELD=v1,v2 ... (tests_prior, aux_prior, docs_prior too)"
    )
    args = ap.parse_args(argv)
    queries = read_jsonl(SET_DIR / "queries.jsonl")
    index_dir = INDEX_ROOT / f"mixed-{args.model}"
    settings = load_settings(
        SET_DIR / "corpus",
        overrides={
            "index_dir": str(index_dir),
            "model": args.model,
            "cache_dir": str(INDEX_ROOT / "embedding-cache"),
        },
    )[0]
    filters = SearchFilters(kinds=("function", "method")) if args.scope == "functions" else SearchFilters()
    t0 = time.monotonic()
    with Engine.open(SET_DIR / "corpus", settings, write=False) as engine:
        if not engine.has_index:
            print(f"no index at {index_dir}: run evaluate.py --model {args.model} first", file=sys.stderr)
            return 2
        cached = [
            (
                q,
                (
                    engine._fused(q["query"], 50, filters, "dense"),
                    engine._fused(q["query"], 50, filters, "lexical"),
                ),
            )
            for q in queries
        ]
    print(f"candidates of {len(queries)} queries in {time.monotonic() - t0:.0f} s", file=sys.stderr)
    dev = [c for c in cached if c[0]["half"] == "dev"]
    test = [c for c in cached if c[0]["half"] == "test"]
    base = settings.ranking_config()
    off = dataclasses.replace(base, enabled=False)
    print("| config | dev MRR@10 | dev R@10 | test MRR@10 | test R@10 |\n| --- | ---: | ---: | ---: | ---: |")
    for label, cfg in (("off (fused order)", off), ("default", base)):
        dm, dr = metrics(ranks_for(cfg, dev))
        tm, tr = metrics(ranks_for(cfg, test))
        print(f"| {label} | {dm:.3f} | {dr:.3f} | {tm:.3f} | {tr:.3f} |")
    grid = parse_grid(args.grid)
    if not grid:
        return 0
    results = []
    for combo in itertools.product(*grid.values()):
        values = dict(zip(grid, combo, strict=True))
        cfg = with_values(base, values)
        w, fu = float(values.get("dense_weight", 0.5)), str(values.get("fusion", "score"))
        dm, dr = metrics(ranks_for(cfg, dev, w, fu))
        results.append((dm, dr, values, cfg))
        print(f"| {values} | {dm:.3f} | {dr:.3f} | | |")
    results.sort(key=lambda t: -t[0])
    dm, dr, values, cfg = results[0]
    w, fu = float(values.get("dense_weight", 0.5)), str(values.get("fusion", "score"))
    tm, tr = metrics(ranks_for(cfg, test, w, fu))
    print(f"| best on dev: {values} | {dm:.3f} | {dr:.3f} | {tm:.3f} | {tr:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
