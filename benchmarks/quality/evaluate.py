"""Evaluate codesearch's retrieval quality on the mixed-language set built by build_set.py.

One index holds the whole corpus (six languages, tests, docs and config). Every
query of ``queries.jsonl`` is run against it by each system, and the ranked
hits are scored against the target function, for the dev and the test half side
by side, overall and per language:

* MRR@10  mean of 1/rank of the first correct hit (0 when not in the top 10);
* R@1, R@10  share of queries whose target is the first / in the first ten hits;
* the share of top-10 hits in another language than the target, and in test files.

Systems: ``baseline-bm25`` (plain BM25 over the set's function units, written
here), codesearch's ``dense`` (plain dense), ``lexical`` and ``hybrid`` modes
restricted to function/method units and unrestricted, and ``naive-rrf``: a
reciprocal-rank fusion (k = 60) of plain BM25 and codesearch's dense ranking
over function units, 100 candidates each.

Run from the repository root::

    python benchmarks/quality/evaluate.py --model minilm
    python benchmarks/quality/evaluate.py --model static --limit 100        # quick look
    python benchmarks/quality/evaluate.py --model minilm --packages smallvec,commander

``--model`` sets codesearch's option ``model`` (backend local: ``static`` or
``minilm``); without it the engine's own resolution applies (flag > env
``CODESEARCH_MODEL`` > config files > default); a value the engine does not take
falls back to its default model with a NOTE. Indexes live under
``benchmarks/.data/quality/_index/mixed-<model>/`` with the embedding cache next
to them (keyed by model id), so re-runs only embed what changed.
Results: tables on stdout, ``benchmarks/results/quality-<model>.{json,md}`` and
the rank of every query in ``benchmarks/results/quality-<model>-ranks.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
for p in (str(HERE), str(REPO_ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

from _scoring import (  # noqa: E402
    RRF_DEPTH,
    Hit,
    K,
    Outcome,
    Query,
    Searcher,
    bm25_searcher,
    is_correct,
    outcome,
    read_jsonl,
    rrf,
    summarize,
)

DATA_ROOT = REPO_ROOT / "benchmarks" / ".data" / "quality"
SET_DIR = DATA_ROOT / "mixed"
INDEX_ROOT = DATA_ROOT / "_index"
RESULTS = REPO_ROOT / "benchmarks" / "results"
MODES = ("dense", "lexical", "hybrid")
HALVES = ("dev", "test")
MODELS = ("static", "minilm")


def log(msg: str) -> None:
    print(msg, flush=True)


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
    """Index the corpus with codesearch, then search it."""

    def __init__(self, corpus: Path, index_dir: Path, overrides: dict[str, Any], model: str) -> None:
        from codesearch.config import load_settings
        from codesearch.engine import Engine
        from codesearch.errors import ConfigError

        base = {"index_dir": str(index_dir), **overrides}
        self.note = ""
        self.engine: Any = None
        if model:
            try:
                self.settings = load_settings(corpus, overrides={**base, "model": model})[0]
                self.engine = Engine.open(corpus, self.settings, write=True)
                self.model_id()  # the model is loaded (and checked) here
            except ConfigError as exc:
                self.note = (
                    f"codesearch does not take model={model} ({exc}); "
                    "falling back to the engine's default local model"
                )
                log(f"NOTE: {self.note}")
                if self.engine is not None:
                    self.engine.close()
                self.engine = None
        if self.engine is None:
            self.settings = load_settings(corpus, overrides=base)[0]
            self.engine = Engine.open(corpus, self.settings, write=True)
        if model and not self.note and (model == "static") != ("static" in self.model_id().lower()):
            self.note = (
                f"asked for model={model}, the engine reports model id {self.model_id()!r}: "
                "this codesearch may not know the option yet (figures are for the reported model)"
            )
            log(f"NOTE: {self.note}")

    def index(self) -> dict[str, Any]:
        last = [0.0]

        def progress(p: Any) -> None:
            now = time.monotonic()
            if now - last[0] >= 30:
                last[0] = now
                log(
                    f"    indexing... {p.phase}: files {p.files_done}/{p.files_total}, "
                    f"units {p.units_done}, embedded {p.embedded}, {p.elapsed:.0f} s"
                )

        t0 = time.monotonic()
        report = self.engine.index(progress)
        data: dict[str, Any] = report.to_json() if hasattr(report, "to_json") else {}
        data.pop("skipped_files", None)
        data["wall_seconds"] = round(time.monotonic() - t0, 1)
        return data

    def model_id(self) -> str:
        return str(self.engine.embedder().model_id)

    def searcher(self, mode: str, functions_only: bool, k: int = K) -> Searcher:
        from codesearch.models import SearchFilters

        filters = SearchFilters(kinds=("function", "method")) if functions_only else None

        def search(query: str) -> list[Hit]:
            hits = self.engine.search(query, k=k, mode=mode, filters=filters)
            return [Hit(h.path, h.start_line, h.end_line, h.symbol) for h in hits]

        return search

    def close(self) -> None:
        self.engine.close()


def parser_coverage(corpus: Path, queries: list[Query]) -> list[bool] | None:
    """Whether codesearch's own parser makes each target a unit of its own (None: no parser)."""
    try:
        from codesearch.parsing import language_for_path, parse_file
    except Exception:  # no parser: nothing to say
        return None
    units: dict[str, list[Hit]] = {}
    out: list[bool] = []
    for q in queries:
        if q["path"] not in units:
            language = language_for_path(q["path"])
            units[q["path"]] = []
            if language is not None:
                parsed = parse_file(q["path"], (corpus / q["path"]).read_bytes(), language)
                units[q["path"]] = [
                    Hit(q["path"], u.start_line, u.end_line, u.qualified_name) for u in parsed.units
                ]
        out.append(any(is_correct(u, q) for u in units[q["path"]]))
    return out


# --------------------------------------------------------------------------- running


def run_queries(search: Searcher, queries: list[Query], label: str) -> list[Outcome]:
    outs: list[Outcome] = []
    t_last = time.monotonic()
    for i, q in enumerate(queries, 1):
        t0 = time.perf_counter()
        hits = search(q["query"])
        outs.append(outcome(hits, q, (time.perf_counter() - t0) * 1000))
        if time.monotonic() - t_last >= 30:
            t_last = time.monotonic()
            log(f"    {label}: {i}/{len(queries)} queries")
    return outs


def naive_rrf(bm25_deep: Searcher, dense_deep: Searcher) -> Searcher:
    def search(query: str) -> list[Hit]:
        return rrf([bm25_deep(query), dense_deep(query)])

    return search


def make_subset(packages: list[str], meta: dict[str, Any]) -> Path:
    """A corpus of just these packages (copied), for a quick end-to-end look."""
    dirs = {p["name"]: p["directory"] for p in meta["packages"]}
    unknown = [p for p in packages if p not in dirs]
    if unknown:
        raise SystemExit(f"unknown package(s): {', '.join(unknown)}; see meta.json")
    root = DATA_ROOT / "_subsets" / "+".join(sorted(p.replace("/", "_") for p in packages))
    corpus = root / "corpus"
    if corpus.exists():
        shutil.rmtree(corpus)
    for p in packages:
        shutil.copytree(SET_DIR / "corpus" / dirs[p], corpus / dirs[p])
    return root


# --------------------------------------------------------------------------- tables

Row = tuple[str, str, str]  # (system, mode, units)


def _f(m: dict[str, Any], key: str) -> str:
    return f"{m[key]:.3f}" if m.get("n") else "–"


def _pct(m: dict[str, Any], key: str) -> str:
    return f"{100 * m[key]:.0f}%" if m.get("n") else "–"


def main_table(scores: dict[Row, dict[str, Any]]) -> str:
    lines = [
        "| system | mode | units | dev MRR@10 | dev R@1 | dev R@10 | test MRR@10 | test R@1 | test R@10 "
        "| other language @10 | test files @10 | docs/config @10 |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (system, mode, scope), s in scores.items():
        d, t, a = s["dev"], s["test"], s["all"]
        lines.append(
            f"| {system} | {mode} | {scope} | {_f(d, 'mrr@10')} | {_f(d, 'r@1')} | {_f(d, 'r@10')} "
            f"| {_f(t, 'mrr@10')} | {_f(t, 'r@1')} | {_f(t, 'r@10')} | {_pct(a, 'other_language@10')} "
            f"| {_pct(a, 'test_files@10')} | {_pct(a, 'docs_config@10')} |"
        )
    n = next(iter(scores.values()))
    lines.append(f"\nn = {n['dev']['n']} dev / {n['test']['n']} test queries.")
    return "\n".join(lines)


def language_table(scores: dict[Row, dict[str, Any]], languages: list[str]) -> str:
    lines = [
        "| language | system | mode | units | dev MRR@10 | dev R@1 | dev R@10 | test MRR@10 | test R@1 "
        "| test R@10 | n dev / test |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for lang in languages:
        for (system, mode, scope), s in scores.items():
            d, t = s["languages"][lang]["dev"], s["languages"][lang]["test"]
            lines.append(
                f"| {lang} | {system} | {mode} | {scope} | {_f(d, 'mrr@10')} | {_f(d, 'r@1')} "
                f"| {_f(d, 'r@10')} | {_f(t, 'mrr@10')} | {_f(t, 'r@1')} | {_f(t, 'r@10')} "
                f"| {d.get('n', 0)} / {t.get('n', 0)} |"
            )
    return "\n".join(lines)


def score_all(queries: list[Query], outs: Sequence[Outcome], languages: list[str]) -> dict[str, Any]:
    def pick(half: str = "", lang: str = "") -> dict[str, Any]:
        return summarize(
            [
                o
                for q, o in zip(queries, outs, strict=True)
                if (not half or q["half"] == half) and (not lang or q["language"] == lang)
            ]
        )

    return {
        "all": pick(),
        **{h: pick(h) for h in HALVES},
        "languages": {lang: {h: pick(h, lang) for h in HALVES} for lang in languages},
    }


# --------------------------------------------------------------------------- driver


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=MODELS, help="codesearch option `model` (backend local)")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--limit", type=int, default=0, help="score a seeded sample of N queries")
    ap.add_argument("--packages", default="", help="comma-separated: index and query only these packages")
    ap.add_argument("--baseline-only", action="store_true", help="skip the codesearch engine")
    ap.add_argument("--no-unfiltered", action="store_true", help="only the function/method-filtered runs")
    ap.add_argument("--fresh", action="store_true", help="delete the index first (not the embedding cache)")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="OPTION=VALUE",
        help="codesearch option override, e.g. --set dense_weight=0.7 (repeatable)",
    )
    ap.add_argument("--out", default="", help="results JSON; default benchmarks/results/quality-<model>.json")
    args = ap.parse_args(argv)

    if not (SET_DIR / "queries.jsonl").exists():
        log("no evaluation set: run `python benchmarks/quality/build_set.py` first")
        return 2
    meta = json.loads((SET_DIR / "meta.json").read_text())
    queries = read_jsonl(SET_DIR / "queries.jsonl")
    units = read_jsonl(SET_DIR / "units.jsonl")
    model_label = args.model or os.environ.get("CODESEARCH_MODEL", "") or "default"
    # One index directory per model: codesearch keys the index inside by model id, but
    # its owner lock is per directory, so runs of two models could not overlap otherwise.
    set_dir, index_dir = SET_DIR, INDEX_ROOT / f"mixed-{model_label}"
    if args.packages:
        packages = [p for p in args.packages.split(",") if p]
        set_dir = make_subset(packages, meta)
        index_dir = INDEX_ROOT / f"subset-{set_dir.name}-{model_label}"
        queries = [q for q in queries if q["package"] in packages]
        prefixes = tuple(p["directory"] + "/" for p in meta["packages"] if p["name"] in packages)
        units = [u for u in units if u["path"].startswith(prefixes)]
    if args.limit and args.limit < len(queries):
        queries = sorted(random.Random(0).sample(queries, args.limit), key=lambda q: q["id"])
    languages = [lang for lang in meta["languages"] if any(q["language"] == lang for q in queries)]
    modes = [m for m in args.modes.split(",") if m]
    overrides: dict[str, Any] = {}
    for item in args.set:
        name, _, value = item.partition("=")
        overrides[name.strip()] = value.strip()
    # Keep the embedding cache next to the indexes rather than in the user's cache.
    overrides.setdefault("cache_dir", str(INDEX_ROOT / "embedding-cache"))
    out = Path(args.out) if args.out else RESULTS / f"quality-{model_label}.json"

    use_engine, why = (False, "--baseline-only") if args.baseline_only else engine_available()
    if not use_engine:
        log(f"codesearch engine not used ({why}); scoring the BM25 baseline only")
    if args.fresh and index_dir.exists():
        shutil.rmtree(index_dir)
    log(
        f"set {set_dir.relative_to(REPO_ROOT)}: {len(queries)} queries "
        f"({sum(q['half'] == 'dev' for q in queries)} dev), {len(units)} function units, "
        f"languages {', '.join(languages)}"
    )
    results: dict[str, Any] = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join(["python", "benchmarks/quality/evaluate.py", *(argv or sys.argv[1:])]),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_at_start": os.getloadavg(),
        },
        "k": K,
        "set": {"dir": str(set_dir.relative_to(REPO_ROOT)), "meta": meta, "queries": len(queries)},
        "engine": {"used": use_engine, "why_not": why, "overrides": overrides, "model_option": args.model},
    }

    outcomes: dict[Row, list[Outcome]] = {}
    log("baseline-bm25")
    bm25_deep = bm25_searcher(set_dir, units, depth=RRF_DEPTH)
    outcomes[("baseline-bm25", "lexical", "functions")] = run_queries(bm25_deep, queries, "baseline-bm25")
    run = None
    if use_engine:
        try:
            run = EngineRun(set_dir / "corpus", index_dir, overrides, args.model or "")
            results["engine"].update(
                settings=_settings_dict(run.settings), embedding_model=run.model_id(), note=run.note
            )
            log(f"indexing {set_dir / 'corpus'} -> {index_dir} with {run.model_id()}")
            results["engine"]["index"] = run.index()
            log(f"index: {json.dumps(results['engine']['index'])}")
            coverage = parser_coverage(set_dir / "corpus", queries)
            if coverage is not None:
                missing = [q["id"] for q, c in zip(queries, coverage, strict=True) if not c]
                results["engine"]["targets_not_parsed_as_units"] = missing
                if missing:
                    log(f"note: codesearch's parser makes {len(missing)} targets no unit of their own")
            if "dense" in modes:
                log("codesearch dense/functions")
                outcomes[("codesearch", "dense", "functions")] = run_queries(
                    run.searcher("dense", True), queries, "dense"
                )
                log("naive-rrf (baseline-bm25 + codesearch dense, functions)")
                outcomes[("naive-rrf", "bm25+dense", "functions")] = run_queries(
                    naive_rrf(bm25_deep, run.searcher("dense", True, RRF_DEPTH)), queries, "naive-rrf"
                )
            scopes = [("functions", True)] + ([] if args.no_unfiltered else [("all", False)])
            for scope, only_funcs in scopes:
                for mode in modes:
                    if (mode, scope) == ("dense", "functions"):
                        continue
                    log(f"codesearch {mode}/{scope}")
                    outcomes[("codesearch", mode, scope)] = run_queries(
                        run.searcher(mode, only_funcs), queries, f"{mode}/{scope}"
                    )
        except Exception as exc:  # report it; the baseline still gets written
            traceback.print_exc()
            results["engine"]["error"] = f"{type(exc).__name__}: {exc}"
            log(f"engine run failed: {results['engine']['error']}")
        finally:
            if run is not None:
                run.close()

    scores = {row: score_all(queries, outs, languages) for row, outs in outcomes.items()}
    results["runs"] = [{"system": s, "mode": m, "units": u, **scores[(s, m, u)]} for (s, m, u) in scores]
    model = results["engine"].get("embedding_model", "none")
    head = f"model {model}; {time.strftime('%Y-%m-%d')}; `{results['command']}`"
    table = main_table(scores)
    per_lang = language_table(scores, languages)
    results["table"], results["language_table"] = table, per_lang
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    out.with_suffix(".md").write_text(f"{head}\n\n{table}\n\n{per_lang}\n")
    with (out.parent / (out.stem + "-ranks.jsonl")).open("w") as fh:
        for (s, m, u), outs in outcomes.items():
            for q, o in zip(queries, outs, strict=True):
                fh.write(
                    json.dumps({"id": q["id"], "system": s, "mode": m, "units": u, "rank": o.rank}) + "\n"
                )
    log(f"\n{head}\n\n{table}\n\n{per_lang}\n\nwrote {out} and {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
