"""Evaluate codesearch's retrieval quality on the set built by build_set.py.

For each language under ``benchmarks/.data/quality/`` this indexes ``corpus/``
with the codesearch engine, runs every query of ``queries.jsonl`` in each
retrieval mode (dense, lexical, hybrid), with and without a function/method
kind filter, and scores the ranked hits against the target function:

* MRR@10  mean of 1/rank of the first correct hit (0 when not in the top 10);
* R@1, R@10  share of queries whose target is the first / in the first ten hits.

A hit is correct when its path is the target's and either its line range is the
target's (the start may be the decorator/export line or the ``def`` line) or its
symbol is the target's qualified name.

A plain BM25 over whole functions, written here ("baseline-bm25"), is scored
alongside as a reference row; with ``--baseline-only`` (or while the engine
cannot be imported) only the baseline runs.

Run from the repository root::

    python benchmarks/quality/evaluate.py
    python benchmarks/quality/evaluate.py --langs python --limit 50   # quick look

Results: a table on stdout, ``benchmarks/results/quality.json`` and the rank of
every query in ``benchmarks/results/quality-ranks.jsonl``. Indexes live under
``benchmarks/.data/quality/_index/`` and are reused (incrementally updated) by
later runs; ``--fresh`` deletes them first.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import re
import shutil
import statistics
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

DATA_ROOT = REPO_ROOT / "benchmarks" / ".data" / "quality"
INDEX_ROOT = DATA_ROOT / "_index"
RESULTS = REPO_ROOT / "benchmarks" / "results"
MODES = ("dense", "lexical", "hybrid")
K = 10

#: One line of queries.jsonl.
Query = dict[str, Any]


def log(msg: str) -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class Hit:
    path: str
    start_line: int
    end_line: int
    symbol: str


def _norm_path(p: str) -> str:
    p = p.replace("\\", "/")
    return p[2:] if p.startswith("./") else p


def is_correct(hit: Hit, q: Query) -> bool:
    if _norm_path(hit.path) != q["path"]:
        return False
    if hit.end_line == q["end_line"] and hit.start_line in (q["start_line"], q["def_line"]):
        return True
    return bool(hit.symbol) and hit.symbol == str(q["symbol"])


def overlaps(hit: Hit, q: Query) -> bool:
    return bool(
        _norm_path(hit.path) == q["path"]
        and hit.start_line <= q["end_line"]
        and hit.end_line >= q["start_line"]
    )


def rank_of(hits: Sequence[Hit], q: Query) -> int:
    """1-based rank of the first correct hit, 0 if none."""
    for i, h in enumerate(hits[:K], 1):
        if is_correct(h, q):
            return i
    return 0


def summarize(ranks: list[int], near: list[bool], times_ms: list[float]) -> dict[str, Any]:
    n = len(ranks)
    if n == 0:
        return {"n": 0}
    times = sorted(times_ms)
    return {
        "n": n,
        "mrr@10": sum(1.0 / r for r in ranks if r) / n,
        "r@1": sum(1 for r in ranks if r == 1) / n,
        "r@10": sum(1 for r in ranks if r) / n,
        # Misses whose top 10 held a unit overlapping the target: its class, its
        # whole file, a function nested in it (a near miss, not a wrong place).
        "overlap_only@10": sum(1 for r, o in zip(ranks, near, strict=True) if not r and o) / n,
        "query_ms_mean": statistics.fmean(times) if times else 0.0,
        "query_ms_p95": times[min(len(times) - 1, int(0.95 * len(times)))] if times else 0.0,
    }


def subset_scores(ranks: list[int], keep: list[bool]) -> dict[str, Any]:
    sub = [r for r, k in zip(ranks, keep, strict=True) if k]
    n = len(sub)
    if not n:
        return {"n": 0}
    return {
        "n": n,
        "mrr@10": sum(1.0 / r for r in sub if r) / n,
        "r@1": sum(1 for r in sub if r == 1) / n,
        "r@10": sum(1 for r in sub if r) / n,
    }


def parser_coverage(lang_dir: Path, queries: list[Query]) -> list[bool] | None:
    """Whether codesearch's own parser makes each target a unit of its own (None: no parser)."""
    try:
        from codesearch.parsing import language_for_path, parse_file
    except Exception:  # no parser yet: nothing to say
        return None
    units: dict[str, list[Hit]] = {}
    out: list[bool] = []
    for q in queries:
        if q["path"] not in units:
            language = language_for_path(q["path"])
            units[q["path"]] = []
            if language is not None:
                data = (lang_dir / "corpus" / q["path"]).read_bytes()
                parsed = parse_file(q["path"], data, language)
                units[q["path"]] = [
                    Hit(q["path"], u.start_line, u.end_line, u.qualified_name) for u in parsed.units
                ]
        out.append(any(is_correct(u, q) for u in units[q["path"]]))
    return out


# --------------------------------------------------------------------------- baseline

_WORD = re.compile(r"[A-Za-z0-9_$]+")
_PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def bm25_tokens(text: str) -> list[str]:
    """Lower-cased words, identifiers split on camelCase / snake_case (and kept whole)."""
    out: list[str] = []
    for word in _WORD.findall(text):
        parts = _PART.findall(word)
        out.extend(p.lower() for p in parts)
        if len(parts) > 1:
            out.append(word.lower().strip("_$"))
    return out


class BM25:
    """Okapi BM25 over a fixed list of documents."""

    def __init__(self, docs: list[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.tf = [Counter(d) for d in docs]
        self.len = [len(d) for d in docs]
        self.avg = (sum(self.len) / len(docs)) if docs else 1.0
        df: Counter[str] = Counter()
        for tf in self.tf:
            df.update(tf.keys())
        n = len(docs)
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self.postings: dict[str, list[int]] = {}
        for i, tf in enumerate(self.tf):
            for t in tf:
                self.postings.setdefault(t, []).append(i)

    def top(self, query: list[str], k: int) -> list[int]:
        scores: dict[int, float] = {}
        for t in set(query):
            idf = self.idf.get(t)
            if idf is None:
                continue
            for i in self.postings[t]:
                f = self.tf[i][t]
                norm = f + self.k1 * (1 - self.b + self.b * self.len[i] / self.avg)
                scores[i] = scores.get(i, 0.0) + idf * f * (self.k1 + 1) / norm
        return sorted(scores, key=lambda i: (-scores[i], i))[:k]


def baseline_searcher(lang_dir: Path) -> Callable[[str], list[Hit]]:
    units = [json.loads(line) for line in (lang_dir / "units.jsonl").open()]
    files: dict[str, list[str]] = {}
    docs = []
    for u in units:
        if u["path"] not in files:
            text = (lang_dir / "corpus" / u["path"]).read_text("utf-8", "replace")
            files[u["path"]] = text.splitlines()
        body = "\n".join(files[u["path"]][u["start_line"] - 1 : u["end_line"]])
        docs.append(bm25_tokens(u["path"] + " " + body))
    index = BM25(docs)
    hits = [Hit(u["path"], u["start_line"], u["end_line"], u["symbol"]) for u in units]

    def search(query: str) -> list[Hit]:
        return [hits[i] for i in index.top(bm25_tokens(query), K)]

    return search


# --------------------------------------------------------------------------- engine


def engine_available() -> tuple[bool, str]:
    try:
        from codesearch.engine import Engine  # noqa: F401
    except Exception as exc:  # any import failure means "not ready"
        return False, f"{type(exc).__name__}: {exc}"
    return True, ""


def _settings_dict(settings: Any) -> dict[str, Any]:
    if is_dataclass(settings) and not isinstance(settings, type):
        return {k: v for k, v in asdict(settings).items() if not k.endswith("key_env")}
    return {}


class EngineRun:
    """Index one corpus with codesearch, then search it."""

    def __init__(self, corpus: Path, index_dir: Path, overrides: dict[str, Any]) -> None:
        from codesearch.config import load_settings
        from codesearch.engine import Engine

        loaded = load_settings(corpus, overrides={"index_dir": str(index_dir), **overrides})
        self.settings = loaded[0] if isinstance(loaded, tuple) else loaded
        try:
            self.engine = Engine.open(corpus, self.settings, write=True)
        except TypeError:  # an Engine.open without the write flag
            self.engine = Engine.open(corpus, self.settings)

    def index(self) -> dict[str, Any]:
        last = [0.0]

        def progress(*args: Any, **kwargs: Any) -> None:
            now = time.monotonic()
            if now - last[0] >= 15:
                last[0] = now
                p = args[0] if args else None
                if p is not None and hasattr(p, "phase"):
                    shown = (
                        f"{p.phase}: files {p.files_done}/{p.files_total}, units {p.units_done}, "
                        f"embedded {p.embedded}, {p.elapsed:.0f} s"
                    )
                else:
                    shown = ", ".join(str(a) for a in args)
                log(f"    indexing... {shown}")

        t0 = time.monotonic()
        try:
            report = self.engine.index(progress)
        except TypeError:
            report = self.engine.index()
        seconds = time.monotonic() - t0
        data = report.to_json() if hasattr(report, "to_json") else {}
        data.pop("skipped_files", None)
        data["wall_seconds"] = round(seconds, 1)
        return data

    def model_id(self) -> str:
        """The embedding model actually used (the `model` option only names the server's)."""
        try:
            return str(self.engine.embedder().model_id)
        except Exception as exc:  # informative only
            return f"unknown ({type(exc).__name__})"

    def search(self, query: str, mode: str, functions_only: bool) -> list[Hit]:
        from codesearch.models import SearchFilters

        filters = SearchFilters(kinds=("function", "method")) if functions_only else None
        hits = self.engine.search(query, k=K, mode=mode, filters=filters)
        return [Hit(h.path, h.start_line, h.end_line, h.symbol) for h in hits]

    def close(self) -> None:
        self.engine.close()


def searcher(run: EngineRun, mode: str, functions_only: bool) -> Callable[[str], list[Hit]]:
    def search(text: str) -> list[Hit]:
        return run.search(text, mode, functions_only)

    return search


# --------------------------------------------------------------------------- driver


def run_queries(
    search: Callable[[str], list[Hit]], queries: list[Query], label: str
) -> tuple[dict[str, Any], list[int]]:
    ranks, near, times = [], [], []
    t_last = time.monotonic()
    for i, q in enumerate(queries, 1):
        t0 = time.perf_counter()
        hits = search(q["query"])
        times.append((time.perf_counter() - t0) * 1000)
        r = rank_of(hits, q)
        ranks.append(r)
        near.append(any(overlaps(h, q) for h in hits[:K]))
        if time.monotonic() - t_last >= 15:
            t_last = time.monotonic()
            log(f"    {label}: {i}/{len(queries)} queries")
    return summarize(ranks, near, times), ranks


def fmt_row(lang: str, system: str, mode: str, scope: str, m: dict[str, Any]) -> str:
    return (
        f"| {lang} | {system} | {mode} | {scope} | {m['mrr@10']:.3f} | {m['r@1']:.3f} "
        f"| {m['r@10']:.3f} | {m['n']} |"
    )


TABLE_HEAD = (
    "| language | system | mode | units | MRR@10 | R@1 | R@10 | n |\n"
    "| --- | --- | --- | --- | ---: | ---: | ---: | ---: |"
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--langs", default="", help="comma-separated; default: every built language")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--limit", type=int, default=0, help="score a seeded sample of N queries")
    ap.add_argument("--baseline-only", action="store_true", help="skip the codesearch engine")
    ap.add_argument("--no-unfiltered", action="store_true", help="only the function/method-filtered runs")
    ap.add_argument("--fresh", action="store_true", help="delete the indexes first")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="OPTION=VALUE",
        help="codesearch option override, e.g. --set dense_weight=0.7 (repeatable)",
    )
    ap.add_argument("--out", default=str(RESULTS / "quality.json"))
    args = ap.parse_args(argv)

    langs = (
        [x for x in args.langs.split(",") if x]
        or sorted(p.name for p in DATA_ROOT.iterdir() if (p / "queries.jsonl").exists())
        if DATA_ROOT.exists()
        else []
    )
    if not langs:
        log("no evaluation set: run `python benchmarks/quality/build_set.py` first")
        return 2
    modes = [m for m in args.modes.split(",") if m]
    overrides: dict[str, Any] = {}
    for item in args.set:
        name, _, value = item.partition("=")
        overrides[name.strip()] = value.strip()
    # Keep the embedding cache next to the indexes rather than in the user's cache.
    overrides.setdefault("cache_dir", str(INDEX_ROOT / "embedding-cache"))

    use_engine, why = (False, "--baseline-only") if args.baseline_only else engine_available()
    if not use_engine:
        log(f"codesearch engine not used ({why}); scoring the BM25 baseline only")
    if args.fresh and INDEX_ROOT.exists():
        shutil.rmtree(INDEX_ROOT)

    results: dict[str, Any] = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "k": K,
        "engine": {"used": use_engine, "why_not": why, "overrides": overrides},
        "languages": {},
    }
    rows: list[str] = []
    rank_lines: list[str] = []
    for lang in langs:
        lang_dir = DATA_ROOT / lang
        queries = [json.loads(line) for line in (lang_dir / "queries.jsonl").open()]
        if args.limit and args.limit < len(queries):
            queries = sorted(random.Random(0).sample(queries, args.limit), key=lambda q: q["id"])
        meta = json.loads((lang_dir / "meta.json").read_text())
        log(f"[{lang}] {len(queries)} queries, {meta['files']} files, {meta['functions']} functions")
        entry: dict[str, Any] = {"set": meta, "runs": []}
        results["languages"][lang] = entry
        coverage = parser_coverage(lang_dir, queries) if use_engine else None
        if coverage is not None:
            entry["targets_parsed_as_units"] = sum(coverage)
            if not all(coverage):
                log(
                    f"[{lang}] note: codesearch's parser makes only {sum(coverage)}/{len(coverage)} "
                    "targets a unit of their own; the others can only be found inside a larger unit"
                )

        def record(
            system: str,
            mode: str,
            scope: str,
            m: dict[str, Any],
            ranks: list[int],
            lang: str = lang,
            entry: dict[str, Any] = entry,
            queries: list[Query] = queries,
            coverage: list[bool] | None = coverage,
        ) -> None:
            run = {"system": system, "mode": mode, "units": scope, **m}
            if coverage is not None and not all(coverage):
                run["on_targets_parsed_as_units"] = subset_scores(ranks, coverage)
            entry["runs"].append(run)
            rows.append(fmt_row(lang, system, mode, scope, m))
            log("  " + rows[-1])
            for q, r in zip(queries, ranks, strict=True):
                rank_lines.append(
                    json.dumps({"id": q["id"], "system": system, "mode": mode, "units": scope, "rank": r})
                )

        log(f"[{lang}] baseline-bm25")
        m, ranks = run_queries(baseline_searcher(lang_dir), queries, "baseline-bm25")
        record("baseline-bm25", "lexical", "functions", m, ranks)

        if not use_engine:
            continue
        run = None
        try:
            run = EngineRun(lang_dir / "corpus", INDEX_ROOT / lang, overrides)
            entry["engine_settings"] = _settings_dict(run.settings)
            entry["embedding_model"] = run.model_id()
            log(f"[{lang}] indexing {lang_dir / 'corpus'} -> {INDEX_ROOT / lang}")
            entry["index"] = run.index()
            log(f"[{lang}] index: {json.dumps(entry['index'])}")
            scopes = [("functions", True)] + ([] if args.no_unfiltered else [("all", False)])
            for mode in modes:
                for scope, only_funcs in scopes:
                    label = f"codesearch {mode}/{scope}"
                    m, ranks = run_queries(searcher(run, mode, only_funcs), queries, label)
                    record("codesearch", mode, scope, m, ranks)
        except Exception as exc:  # report it and go on with the other languages
            traceback.print_exc()
            entry["error"] = f"{type(exc).__name__}: {exc}"
            log(f"[{lang}] engine run failed: {entry['error']}")
        finally:
            if run is not None:
                run.close()

    # Macro average over languages for each (system, mode, units).
    groups: dict[tuple[str, str, str], list[Query]] = {}
    for entry in results["languages"].values():
        for r in entry["runs"]:
            groups.setdefault((r["system"], r["mode"], r["units"]), []).append(r)
    results["macro_average"] = []
    for (system, mode, scope), runs in groups.items():
        if len(runs) < 2:
            continue
        m = {key: statistics.fmean(r[key] for r in runs) for key in ("mrr@10", "r@1", "r@10")}
        m["n"] = sum(r["n"] for r in runs)
        results["macro_average"].append({"system": system, "mode": mode, "units": scope, **m})
        rows.append(fmt_row("macro avg", system, mode, scope, m))

    table = TABLE_HEAD + "\n" + "\n".join(rows)
    results["table"] = table
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    (out.parent / (out.stem + "-ranks.jsonl")).write_text("\n".join(rank_lines) + "\n")
    log("\n" + table)
    log(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
