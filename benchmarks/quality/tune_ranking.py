"""Tune the ranking layer's weights on the dev half of a quality set.

The two retrievers run once per query (the engine's dense and lexical
candidates are kept in memory); each configuration (fusion weight and the
ranking layer's options) is then applied to those candidates, so a grid costs
seconds. Configurations are chosen on dev; test is printed beside dev for the
shipped defaults and for the best of the grid.

    python benchmarks/quality/evaluate.py --model static --modes hybrid        # function set index
    python benchmarks/quality/files/evaluate.py --model static                 # file set indexes
    python benchmarks/quality/tune_ranking.py --set functions --model static
    python benchmarks/quality/tune_ranking.py --set files --grid path_boost=0,0.6 dense_weight=0.3,0.5

Grid keys: any `RankingConfig` field (codesearch/search/ranking/_score.py), `dense_weight`,
`fusion`, and `test_prior`, `docs_prior`, `aux_prior`: the options `ranking_test_prior`, ...,
each setting the path classes `codesearch.search.ranking.PRIOR_GROUPS` gives it.
Metric: MRR@10 of the target function (set functions) or NDCG@10 over files (set files).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
for p in (str(HERE), str(HERE / "files"), str(REPO_ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

from _metrics import ndcg_at_k  # noqa: E402
from _repos import DATA_ROOT as FILES_ROOT  # noqa: E402
from _repos import load_repos  # noqa: E402
from _scoring import Hit, is_correct, read_jsonl  # noqa: E402

from codesearch.config import Settings, load_settings  # noqa: E402
from codesearch.engine import Engine  # noqa: E402
from codesearch.models import SearchFilters  # noqa: E402
from codesearch.search.fusion import drop_shadowed_containers, fuse, to_hit  # noqa: E402
from codesearch.search.ranking import PRIOR_GROUPS, RankingConfig, analyse, rank, rank_files  # noqa: E402
from codesearch.search.retrieval import candidates  # noqa: E402

SET_DIR = REPO_ROOT / "benchmarks" / ".data" / "quality" / "mixed"
INDEX_ROOT = REPO_ROOT / "benchmarks" / ".data" / "quality" / "_index"
K = 10


@dataclasses.dataclass
class Case:
    """One query with its cached candidates and how to score a ranking of them."""

    query: str
    half: str
    lists: tuple[list[Any], list[Any]]
    judge: Callable[[str, list[Any], RankingConfig], float]


def _function_judge(q: dict[str, Any]) -> Callable[[str, list[Any], RankingConfig], float]:
    def judge(query: str, rows: list[Any], cfg: RankingConfig) -> float:
        hits = drop_shadowed_containers([to_hit(c, s, d, lx) for c, s, d, lx in rank(query, rows, cfg)])
        for i, h in enumerate(hits[:K], 1):
            if is_correct(Hit(h.path, h.start_line, h.end_line, h.symbol), q):
                return 1.0 / i
        return 0.0

    return judge


def _file_judge(relevant: tuple[str, ...]) -> Callable[[str, list[Any], RankingConfig], float]:
    def judge(query: str, rows: list[Any], cfg: RankingConfig) -> float:
        return ndcg_at_k([p for p, _, _ in rank_files(query, rows, cfg)[:K]], relevant)

    return judge


def _lists(engine: Engine, query: str, limit: int, filters: SearchFilters) -> tuple[list[Any], list[Any]]:
    source, settings = engine._local.source(), engine.settings
    return (
        candidates(source, settings, query, limit, filters, "dense"),
        candidates(source, settings, query, limit, filters, "lexical"),
    )


def function_cases(model: str, scope: str) -> tuple[list[Case], Settings]:
    settings = load_settings(
        SET_DIR / "corpus",
        overrides={
            "index_dir": str(INDEX_ROOT / f"mixed-{model}"),
            "model": model,
            "cache_dir": str(INDEX_ROOT / "embedding-cache"),
        },
    )[0]
    filters = SearchFilters(kinds=("function", "method")) if scope == "functions" else SearchFilters()
    with Engine.open(SET_DIR / "corpus", settings, write=False) as engine:
        if not engine.has_index:
            raise SystemExit(f"no index: run benchmarks/quality/evaluate.py --model {model} first")
        cases = [
            Case(q["query"], q["half"], _lists(engine, q["query"], 50, filters), _function_judge(q))
            for q in read_jsonl(SET_DIR / "queries.jsonl")
        ]
    return cases, settings


def file_cases(model: str) -> tuple[list[Case], Settings]:
    cases: list[Case] = []
    settings = Settings()
    for repo in load_repos():
        root = FILES_ROOT / repo.name
        overrides = {
            "index_dir": str(FILES_ROOT / "_index" / model / repo.name),
            "model": model,
            "cache_dir": str(INDEX_ROOT / "embedding-cache"),
        }
        settings = load_settings(root, overrides=overrides)[0]
        with Engine.open(root, settings, write=False) as engine:
            if not engine.has_index:
                raise SystemExit(f"no index of {repo.name}: run benchmarks/quality/files/evaluate.py first")
            for q in repo.queries:
                lists = _lists(engine, q.text, 100, SearchFilters())
                cases.append(Case(q.text, repo.half, lists, _file_judge(q.relevant)))
    return cases, settings


def mean(cfg: RankingConfig, cases: list[Case], weight: float, fusion: str) -> float:
    total = 0.0
    for case in cases:
        w = cfg.symbol_dense_weight if cfg.enabled and analyse(case.query).symbol else weight
        dense = [r[0] for r in case.lists[0]]
        lexical = [r[0] for r in case.lists[1]]
        rows = fuse(dense, lexical, mode="hybrid", dense_weight=w, rrf_k=60, fusion=fusion)
        total += case.judge(case.query, rows, cfg)
    return total / (len(cases) or 1)


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    grid: dict[str, list[Any]] = {}
    names = {f.name for f in dataclasses.fields(RankingConfig)}
    for item in items:
        key, _, values = item.partition("=")
        if key == "fusion":
            grid[key] = values.split(",")
        elif key == "per_file":
            grid[key] = [int(v) for v in values.split(",")]
        elif key in names or key == "dense_weight" or key[: -len("_prior")] in PRIOR_GROUPS:
            grid[key] = [float(v) for v in values.split(",")]
        else:
            raise SystemExit(f"unknown grid key {key!r}")
    return grid


def with_values(base: RankingConfig, values: dict[str, Any]) -> RankingConfig:
    priors = dict(base.priors)
    plain = {}
    for key, value in values.items():
        if key in ("dense_weight", "fusion"):
            continue
        if key.endswith("_prior") and key[: -len("_prior")] in PRIOR_GROUPS:
            for cls in PRIOR_GROUPS[key[: -len("_prior")]]:
                priors[cls] = value
        else:
            plain[key] = value
    return dataclasses.replace(base, priors=priors, **plain)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", choices=("functions", "files"), default="functions")
    ap.add_argument("--model", default="static")
    ap.add_argument("--scope", choices=("functions", "all"), default="functions", help="set functions only")
    ap.add_argument("--grid", nargs="*", default=[], help="KEY=v1,v2 ...")
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    cases, settings = (
        file_cases(args.model) if args.set == "files" else function_cases(args.model, args.scope)
    )
    print(f"candidates of {len(cases)} queries in {time.monotonic() - t0:.0f} s", file=sys.stderr)
    dev = [c for c in cases if c.half == "dev"]
    test = [c for c in cases if c.half == "test"]
    base = settings.ranking_config()
    w0, f0 = settings.resolved_dense_weight(), settings.fusion
    metric = "NDCG@10" if args.set == "files" else "MRR@10"
    print(f"| config | dev {metric} | test {metric} |\n| --- | ---: | ---: |")
    for label, cfg in (("off (fused order)", dataclasses.replace(base, enabled=False)), ("defaults", base)):
        print(f"| {label} | {mean(cfg, dev, w0, f0):.3f} | {mean(cfg, test, w0, f0):.3f} |")
    grid = parse_grid(args.grid)
    if not grid:
        return 0
    results = []
    for combo in itertools.product(*grid.values()):
        values = dict(zip(grid, combo, strict=True))
        cfg = with_values(base, values)
        w, fu = float(values.get("dense_weight", w0)), str(values.get("fusion", f0))
        d = mean(cfg, dev, w, fu)
        results.append((d, values, cfg, w, fu))
        print(f"| {values} | {d:.3f} | |")
    d, values, cfg, w, fu = max(results, key=lambda t: t[0])
    print(f"| best on dev: {values} | {d:.3f} | {mean(cfg, test, w, fu):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
