"""Evaluate codesearch's file rankings on the file-level set (repos/*.toml, fetched by fetch.py).

Each repository is indexed alone, as a user would index it (``Engine.open(root,
settings, write=True)``), and every query of that repository is run by each
system, which gives the top 10 files:

* ``bm25-files``  plain Okapi BM25 (k1 = 1.2, b = 0.75) over whole files: every file
  codesearch indexed, its path and full text, identifiers split into lower-case
  words (camelCase and snake_case parts, and the identifier whole), written here;
* ``dense``       codesearch ``search(q, k=100, mode="dense")``, unit hits reduced to
  files in order of first appearance (with ``ranking=False`` where the option exists);
* ``hybrid-raw``  the same with ``mode="hybrid"``: fusion without the ranking layer
  (``ranking=False`` where the option exists, else simply the product's hybrid);
* ``product``     ``engine.search_files(q, k=10)`` where the engine has it, else the
  same as hybrid-raw (the output says which).

Scores (see _metrics.py): NDCG@10 with binary relevance, MRR@10 and R@10 over
files, overall, by half (dev/test: fixed per repository by _repos.half_of), by
category (semantic, architecture, symbol) and by language.

Run from the repository root, after ``python benchmarks/quality/files/fetch.py``::

    python benchmarks/quality/files/evaluate.py --model static
    python benchmarks/quality/files/evaluate.py --model minilm --repos click,echo --half dev

Indexes are kept under ``benchmarks/.data/quality/files/_index/<model>/<name>/`` with
the embedding cache beside them, so a re-run only indexes what changed. Results:
tables on stdout and in ``benchmarks/results/files-<model>.md``, everything (with
each query's top 10 per system) in ``benchmarks/results/files-<model>.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import platform
import random
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
for p in (str(HERE), str(HERE.parent)):
    if p not in sys.path:
        sys.path.insert(0, p)

from _metrics import K, files_in_order, mean_scores, score  # noqa: E402
from _repos import CATEGORIES, DATA_ROOT, HALVES, REPO_ROOT, FileQuery, Repo, load_repos  # noqa: E402
from _scoring import BM25, bm25_tokens  # noqa: E402

INDEX_ROOT = DATA_ROOT / "_index"
RESULTS = REPO_ROOT / "benchmarks" / "results"
SYSTEMS = ("bm25-files", "dense", "hybrid-raw", "product")
MODELS = ("static", "minilm")
#: Unit hits asked of codesearch before they are reduced to files.
DEPTH = 100
#: Files read for plain BM25 are cut here (codesearch skips larger ones anyway).
MAX_FILE_BYTES = 2_000_000

FileRanker = Callable[[str], list[str]]


def log(msg: str) -> None:
    print(msg, flush=True)


def git_state() -> dict[str, Any]:
    """The commit measured, and the product files that differ from it (uncommitted work)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", "codesearch"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    return {"head": head, "uncommitted_in_codesearch": [line[3:] for line in status.splitlines()]}


def _engine_run_class() -> Any:
    """EngineRun of the function-level evaluator (benchmarks/quality/evaluate.py)."""
    spec = importlib.util.spec_from_file_location("quality_evaluate", HERE.parent / "evaluate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.EngineRun


# --------------------------------------------------------------------------- systems


def bm25_files(root: Path, paths: Sequence[str]) -> FileRanker:
    """Plain BM25 over whole files (path and full text)."""
    docs = []
    for p in paths:
        try:
            with (root / p).open("rb") as fh:
                text = fh.read(MAX_FILE_BYTES).decode("utf-8", "replace")
        except OSError:
            text = ""
        docs.append(bm25_tokens(p + " " + text))
    index = BM25(docs)

    def rank(query: str) -> list[str]:
        return [paths[i] for i in index.top(bm25_tokens(query), K)]

    return rank


class Systems:
    """codesearch's three rankings of one open engine, and which code paths they took."""

    def __init__(self, run: Any) -> None:
        self.run = run
        self.engine = run.engine
        fields = {f.name for f in dataclasses.fields(self.engine.settings)}
        self.has_ranking_option = "ranking" in fields
        self.product_settings = self.engine.settings
        self.raw_settings = (
            dataclasses.replace(self.product_settings, ranking=False)
            if self.has_ranking_option
            else self.product_settings
        )
        self.has_search_files = hasattr(self.engine, "search_files")

    def indexed_paths(self) -> list[str]:
        """Every file codesearch indexed in this repository."""
        _, state = self.engine._open_store(create=False)
        return list(state.paths())

    def _units(self, query: str, mode: str) -> list[str]:
        # The settings are read at search time: swap in ranking=False for the raw rankings.
        self.engine.settings = self.raw_settings
        try:
            hits = self.engine.search(query, k=DEPTH, mode=mode)
        finally:
            self.engine.settings = self.product_settings
        return files_in_order((h.path for h in hits), K)

    def dense(self, query: str) -> list[str]:
        return self._units(query, "dense")

    def hybrid_raw(self, query: str) -> list[str]:
        return self._units(query, "hybrid")

    def product(self, query: str) -> list[str]:
        if not self.has_search_files:
            return self.hybrid_raw(query)
        return files_in_order((f.path for f in self.engine.search_files(query, k=K)), K)

    def describe(self) -> dict[str, str]:
        raw = "ranking=False" if self.has_ranking_option else "no `ranking` option: the current fusion"
        return {
            "dense": f"engine.search(k={DEPTH}, mode='dense') -> files ({raw})",
            "hybrid-raw": f"engine.search(k={DEPTH}, mode='hybrid') -> files ({raw})",
            "product": (
                f"engine.search_files(k={K})"
                if self.has_search_files
                else "no Engine.search_files: same as hybrid-raw"
            ),
        }


# --------------------------------------------------------------------------- running


def run_repo(
    repo: Repo, queries: list[FileQuery], systems: list[str], model: str, overrides: dict[str, Any]
) -> dict[str, Any]:
    root = DATA_ROOT / repo.name
    label = model or "default"
    out: dict[str, Any] = {"name": repo.name, "half": repo.half, "language": repo.language, "queries": []}
    rankers: dict[str, FileRanker] = {}
    run = None
    try:
        engine_run = _engine_run_class()
        run = engine_run(root, INDEX_ROOT / label / repo.name, overrides, model)
        out["embedding_model"] = run.model_id()
        out["note"] = run.note
        log(f"  indexing {repo.name} with {run.model_id()}")
        out["index"] = run.index()
        log(f"  index: {json.dumps(out['index'])}")
        cs = Systems(run)
        out["systems"] = cs.describe()
        paths = cs.indexed_paths()
        out["indexed_files"] = len(paths)
        unindexed = sorted({p for q in queries for p in q.relevant} - set(paths))
        if unindexed:
            out["relevant_not_indexed"] = unindexed
            log(f"  note: {len(unindexed)} relevant file(s) not indexed by codesearch: {unindexed}")
        if "bm25-files" in systems:
            rankers["bm25-files"] = bm25_files(root, paths)
        for name, fn in (("dense", cs.dense), ("hybrid-raw", cs.hybrid_raw), ("product", cs.product)):
            if name in systems:
                rankers[name] = fn
        for q in queries:
            row: dict[str, Any] = {
                "text": q.text,
                "category": q.category,
                "relevant": list(q.relevant),
                "systems": {},
            }
            for name, rank in rankers.items():
                t0 = time.perf_counter()
                top = rank(q.text)
                ms = (time.perf_counter() - t0) * 1000
                row["systems"][name] = {**score(top, q.relevant), "ms": round(ms, 2), "top": top}
            out["queries"].append(row)
    except Exception as exc:  # one repository failing does not lose the others
        traceback.print_exc()
        out["error"] = f"{type(exc).__name__}: {exc}"
        log(f"  {repo.name} failed: {out['error']}")
    finally:
        if run is not None:
            run.close()
    return out


# --------------------------------------------------------------------------- tables


def aggregate(repos: list[dict[str, Any]], systems: list[str]) -> dict[str, Any]:
    """Mean scores per system: all, by half, by category, by language."""
    rows = [
        (r["half"], r["language"], q["category"], q["systems"])
        for r in repos
        for q in r["queries"]
        if q["systems"]
    ]
    languages = sorted({r[1] for r in rows})

    def pick(system: str, half: str = "", category: str = "", language: str = "") -> dict[str, float]:
        return mean_scores(
            [
                s[system]
                for h, lang, cat, s in rows
                if system in s
                and (not half or h == half)
                and (not category or cat == category)
                and (not language or lang == language)
            ]
        )

    return {
        system: {
            "all": pick(system),
            "halves": {h: pick(system, half=h) for h in HALVES},
            "categories": {c: {h: pick(system, h, category=c) for h in ("", *HALVES)} for c in CATEGORIES},
            "languages": {
                lang: {h: pick(system, h, language=lang) for h in ("", *HALVES)} for lang in languages
            },
        }
        for system in systems
    }


def _f(m: dict[str, float], key: str) -> str:
    return f"{m[key]:.3f}" if m.get("n") else "–"


def main_table(agg: dict[str, Any]) -> str:
    lines = [
        "| system | NDCG@10 | MRR@10 | R@10 | dev NDCG@10 | dev MRR@10 | test NDCG@10 | test MRR@10 "
        "| n dev / test |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for system, s in agg.items():
        a, d, t = s["all"], s["halves"]["dev"], s["halves"]["test"]
        lines.append(
            f"| {system} | {_f(a, 'ndcg@10')} | {_f(a, 'mrr@10')} | {_f(a, 'r@10')} | {_f(d, 'ndcg@10')} "
            f"| {_f(d, 'mrr@10')} | {_f(t, 'ndcg@10')} | {_f(t, 'mrr@10')} "
            f"| {d.get('n', 0)} / {t.get('n', 0)} |"
        )
    return "\n".join(lines)


def breakdown_table(agg: dict[str, Any], key: str, title: str) -> str:
    systems = list(agg)
    groups = list(next(iter(agg.values()))[key]) if agg else []
    head = " | ".join(f"{s} NDCG (dev / test)" for s in systems)
    lines = [f"| {title} | n | {head} |", "| --- | ---: |" + " ---: |" * len(systems)]
    for g in groups:
        n = agg[systems[0]][key][g][""].get("n", 0)
        cells = []
        for s in systems:
            m = agg[s][key][g]
            cells.append(f"{_f(m[''], 'ndcg@10')} ({_f(m['dev'], 'ndcg@10')} / {_f(m['test'], 'ndcg@10')})")
        lines.append(f"| {g} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def repo_table(repos: list[dict[str, Any]], systems: list[str]) -> str:
    lines = [
        "| repository | language | half | files | queries | "
        + " | ".join(f"{s} NDCG" for s in systems)
        + " |",
        "| --- | --- | --- | ---: | ---: |" + " ---: |" * len(systems),
    ]
    for r in repos:
        cells = [
            _f(mean_scores([q["systems"][s] for q in r["queries"] if s in q["systems"]]), "ndcg@10")
            for s in systems
        ]
        lines.append(
            f"| {r['name']} | {r['language']} | {r['half']} | {r.get('indexed_files', '–')} "
            f"| {len(r['queries'])} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- driver


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=MODELS, help="codesearch option `model` (default: the engine's)")
    ap.add_argument("--repos", default="", help="comma-separated repository names (default: all)")
    ap.add_argument("--half", choices=HALVES, help="only the repositories of this half")
    ap.add_argument("--limit", type=int, default=0, help="score a seeded sample of N queries")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated subset of {SYSTEMS}")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="OPTION=VALUE",
        help="codesearch option override, e.g. --set dense_weight=0.7 (repeatable)",
    )
    ap.add_argument("--out", default="", help="results JSON; default benchmarks/results/files-<model>.json")
    args = ap.parse_args(argv)

    systems = [s for s in args.systems.split(",") if s]
    if unknown := [s for s in systems if s not in SYSTEMS]:
        ap.error(f"unknown system(s) {unknown}; use {SYSTEMS}")
    repos = load_repos([r for r in args.repos.split(",") if r])
    if args.half:
        repos = [r for r in repos if r.half == args.half]
    missing = [r.name for r in repos if not (DATA_ROOT / r.name).is_dir()]
    if missing:
        log(f"not fetched: {', '.join(missing)}; run `python benchmarks/quality/files/fetch.py` first")
        return 2
    pairs = [(r, q) for r in repos for q in r.queries]
    if args.limit and args.limit < len(pairs):
        keep = set(random.Random(0).sample(range(len(pairs)), args.limit))
        pairs = [p for i, p in enumerate(pairs) if i in keep]
    model_label = args.model or os.environ.get("CODESEARCH_MODEL", "") or "default"
    overrides: dict[str, Any] = {}
    for item in args.set:
        name, _, value = item.partition("=")
        overrides[name.strip()] = value.strip()
    overrides.setdefault("cache_dir", str(INDEX_ROOT / "embedding-cache"))
    out = Path(args.out) if args.out else RESULTS / f"files-{model_label}.json"
    results: dict[str, Any] = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join(["python", "benchmarks/quality/files/evaluate.py", *(argv or sys.argv[1:])]),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_at_start": os.getloadavg(),
        },
        "git": git_state(),
        "k": K,
        "model_option": args.model,
        "overrides": overrides,
        "systems": systems,
        "repos": [],
    }
    t_start = time.monotonic()
    by_repo: dict[str, list[FileQuery]] = {}
    for r, q in pairs:
        by_repo.setdefault(r.name, []).append(q)
    for repo in repos:
        if repo.name not in by_repo:
            continue
        log(f"{repo.name} ({repo.language}, {repo.half}): {len(by_repo[repo.name])} queries")
        results["repos"].append(run_repo(repo, by_repo[repo.name], systems, args.model or "", overrides))
    results["wall_seconds"] = round(time.monotonic() - t_start, 1)
    results["machine"]["load_at_end"] = os.getloadavg()
    paths_used = {
        json.dumps(r.get("systems", {}), sort_keys=True) for r in results["repos"] if "systems" in r
    }
    agg = aggregate(results["repos"], systems)
    results["scores"] = agg
    models = sorted({r.get("embedding_model", "?") for r in results["repos"]})
    git = results["git"]
    dirty = (
        f" + {len(git['uncommitted_in_codesearch'])} uncommitted codesearch/ path(s)"
        if git.get("uncommitted_in_codesearch")
        else ""
    )
    head = (
        f"model {', '.join(models)}; {time.strftime('%Y-%m-%d')}; commit {git.get('head', '?')[:10]}{dirty}; "
        f"`{results['command']}`"
    )
    tables = [
        main_table(agg),
        breakdown_table(agg, "categories", "category"),
        breakdown_table(agg, "languages", "language"),
        repo_table(results["repos"], systems),
    ]
    how = "\n".join(f"- {k}: {v}" for d in map(json.loads, sorted(paths_used)) for k, v in d.items())
    failed = [f"- {r['name']}: {r['error']}" for r in results["repos"] if "error" in r]
    text = "\n\n".join(
        [head, *tables, "Code paths:\n" + how, *(["FAILED:\n" + "\n".join(failed)] if failed else [])]
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    out.with_suffix(".md").write_text(text + "\n")
    log(f"\n{text}\n\nwall {results['wall_seconds']} s; wrote {out} and {out.with_suffix('.md')}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
