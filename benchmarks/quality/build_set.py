"""Build the search-quality evaluation set: one mixed-language corpus (CodeSearchNet style).

Real, documented code from package registries (PyPI, npm, Debian; see
_sources.py) in six languages goes into one corpus, as one index would hold a
multi-language code base. Functions and their doc comments are found with
tree-sitter (_extract.py); the first sentence of a function's doc is a query,
and the indexed copy has every doc comment removed. Everything is written to
``benchmarks/.data/quality/mixed/``:

* ``corpus/``        every source package under its own directory: code, tests,
                     top-level docs and config, docs stripped from the code;
* ``queries.jsonl``  ``{"id", "language", "package", "half", "query", "path",
                     "symbol", "start_line", "def_line", "end_line", ...}``, the
                     target's location in the stripped copy (1-based, inclusive);
* ``units.jsonl``    every function/method of the corpus (the baselines' units);
* ``meta.json``      sources, versions, the dev/test split, filters and counts.

The queries are split once into a dev and a test half by source package (see
`split_packages`). Run from the repository root::

    python benchmarks/quality/build_set.py
    python benchmarks/quality/build_set.py --survey   # counts per package, writes nothing

Everything is deterministic: files are sorted and sampling is seeded.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _extract import (
    ANALYZERS,
    Func,
    apply_strip,
    body_lines,
    first_sentence,
    parser_for,
)
from _paths import CODE_EXTENSIONS, is_test_path
from _sources import DATA_ROOT, FETCHERS, REPO_ROOT, SourcePackage, log

SET_DIR = DATA_ROOT / "mixed"
LANGUAGES = ("python", "javascript", "typescript", "go", "java", "rust")
HALVES = ("dev", "test")

#: Queries per language (half of them per half), see docs/quality.md.
QUERIES_PER_LANGUAGE = 200
MIN_WORDS = 4
MIN_BODY_LINES = 3


@dataclass
class FileResult:
    """One code file of the corpus, stripped, with its functions and candidate queries."""

    package: str
    rel: str  # path relative to corpus/
    stripped: bytes
    funcs: list[Func]  # functions of the stripped copy (doc filled from the original)
    candidates: list[dict[str, Any]]
    is_test: bool
    skipped_reasons: Counter[str]


def process_file(lang: str, pkg: str, path: Path, rel: str) -> FileResult | None:
    """Strip one file's docs; its documented functions become candidate queries (never in tests)."""
    src = path.read_bytes()
    if b"Code generated" in src[:2000] and b"DO NOT EDIT" in src[:2000]:
        return None
    parser = parser_for(lang)
    orig = ANALYZERS[lang](parser.parse(src).root_node)
    if orig.has_error:
        return None
    stripped = apply_strip(src, orig.strip)
    new = ANALYZERS[lang](parser.parse(stripped).root_node)
    if new.has_error or [f.qualified_name for f in new.funcs] != [f.qualified_name for f in orig.funcs]:
        log(f"  ! {rel}: stripping changed the parse; file skipped")
        return None
    if lang == "python":
        try:
            compile(stripped, rel, "exec", dont_inherit=True)
        except SyntaxError as exc:
            log(f"  ! {rel}: stripped copy does not compile ({exc}); file skipped")
            return None
    test_file = is_test_path(rel)
    lines = stripped.decode("utf-8", "replace").splitlines()
    reasons: Counter[str] = Counter()
    cands: list[dict[str, Any]] = []
    for o, n in zip(orig.funcs, new.funcs, strict=True):
        n.doc = o.doc
        if test_file or n.in_test:
            reasons["test function"] += 1
            continue
        if n.nested:
            reasons["nested function"] += 1
            continue
        if not o.doc.strip():
            reasons["no doc"] += 1
            continue
        query = first_sentence(o.doc, lang)
        if len(query.split()) < MIN_WORDS:
            reasons[f"first sentence < {MIN_WORDS} words"] += 1
            continue
        if body_lines(lines, n) < MIN_BODY_LINES:
            reasons[f"body < {MIN_BODY_LINES} lines"] += 1
            continue
        cands.append(
            {
                "language": lang,
                "package": pkg,
                "query": query,
                "path": rel,
                "symbol": n.qualified_name,
                "name": n.name,
                "kind": n.kind,
                "start_line": n.start_line,
                "def_line": n.def_line,
                "end_line": n.end_line,
            }
        )
    return FileResult(pkg, rel, stripped, new.funcs, cands, test_file, reasons)


@dataclass
class PackageResult:
    """A source package after extraction."""

    source: SourcePackage
    code: list[FileResult]
    extras: list[tuple[str, Path]]  # (corpus path, original) of docs / config files
    reasons: Counter[str]

    @property
    def candidates(self) -> int:
        return sum(len(f.candidates) for f in self.code)


def extract_package(pkg: SourcePackage) -> PackageResult:
    """Every file of one package: code files stripped, the rest kept as they are."""
    ext = next(e for e, lang in CODE_EXTENSIONS.items() if lang == pkg.lang)
    code: list[FileResult] = []
    extras: list[tuple[str, Path]] = []
    reasons: Counter[str] = Counter()
    for path in pkg.files:
        rel = f"{pkg.prefix}/{path.relative_to(pkg.root).as_posix()}"
        if path.suffix != ext or path.name.endswith(".d.ts"):
            extras.append((rel, path))
            continue
        res = process_file(pkg.lang, pkg.name, path, rel)
        if res is None:
            reasons["file skipped (generated / parse error)"] += 1
            continue
        code.append(res)
        reasons.update(res.skipped_reasons)
    return PackageResult(pkg, code, extras, reasons)


def split_packages(packages: list[PackageResult]) -> dict[str, str]:
    """Assign each package of one language to a half, once and deterministically.

    Packages in order of candidate queries (most first, then by name) go to the
    half with fewer candidates so far (dev on a tie): both halves get every
    language and about the same number of queries, and no package is in both.
    """
    halves: dict[str, str] = {}
    load = dict.fromkeys(HALVES, 0)
    for p in sorted(packages, key=lambda p: (-p.candidates, p.source.name)):
        half = min(HALVES, key=lambda h: (load[h], HALVES.index(h)))
        halves[p.source.name] = half
        load[half] += p.candidates
    return halves


def survey(results: dict[str, list[PackageResult]]) -> None:
    log(
        f"\n{'language':<11} {'package':<28} {'files':>5} {'tests':>5} {'extra':>5} "
        f"{'funcs':>6} {'in tests':>8} {'cands':>6}"
    )
    for lang, pkgs in results.items():
        for p in pkgs:
            funcs = sum(len(f.funcs) for f in p.code)
            tfuncs = sum(len(f.funcs) for f in p.code if f.is_test)
            log(
                f"{lang:<11} {p.source.name:<28} {len(p.code):>5} {sum(f.is_test for f in p.code):>5} "
                f"{len(p.extras):>5} {funcs:>6} {tfuncs:>8} {p.candidates:>6}"
            )


def build(args: argparse.Namespace) -> int:
    langs = [x.strip() for x in args.langs.split(",") if x.strip()]
    results: dict[str, list[PackageResult]] = {}
    for lang in langs:
        log(f"[{lang}] fetching sources")
        fetched = FETCHERS[lang]()
        results[lang] = []
        for pkg in fetched:
            log(f"[{lang}] {pkg.name}: {len(pkg.files)} files")
            results[lang].append(extract_package(pkg))
    if args.survey:
        survey(results)
        return 0

    # A first sentence shared by two candidates anywhere in the set has more than
    # one right answer in the mixed index: drop every copy.
    all_files = [f for pkgs in results.values() for p in pkgs for f in p.code]
    counts = Counter(c["query"].lower() for f in all_files for c in f.candidates)
    dup = Counter(c["language"] for f in all_files for c in f.candidates if counts[c["query"].lower()] > 1)
    for f in all_files:
        f.candidates = [c for c in f.candidates if counts[c["query"].lower()] == 1]

    queries: list[dict[str, Any]] = []
    lang_meta: dict[str, Any] = {}
    package_meta: list[dict[str, Any]] = []
    for lang, pkgs in results.items():
        halves = split_packages(pkgs)
        per_half = args.queries_per_language // 2
        picked: dict[str, list[dict[str, Any]]] = {}
        for half in HALVES:
            pool = [c for p in pkgs if halves[p.source.name] == half for f in p.code for c in f.candidates]
            rng = random.Random(f"codesearch-quality-{lang}-{half}-{args.seed}")
            chosen = rng.sample(pool, per_half) if len(pool) > per_half else pool
            picked[half] = sorted(chosen, key=lambda c: (c["path"], c["start_line"]))
        code = [f for p in pkgs for f in p.code]
        reasons: Counter[str] = Counter()
        for p in pkgs:
            reasons.update(p.reasons)
            package_meta.append(
                {
                    "language": lang,
                    "name": p.source.name,
                    "version": p.source.version,
                    "origin": p.source.origin,
                    "directory": p.source.prefix,
                    "half": halves[p.source.name],
                    "code_files": len(p.code),
                    "test_files": sum(f.is_test for f in p.code),
                    "other_files": len(p.extras),
                    "functions": sum(len(f.funcs) for f in p.code),
                    "candidates": p.candidates,
                    "queries": sum(1 for h in HALVES for c in picked[h] if c["package"] == p.source.name),
                }
            )
        lang_queries = [c for h in HALVES for c in picked[h]]
        for i, c in enumerate(lang_queries):
            own = bool(re.search(rf"(?<![\w$]){re.escape(c['name'])}(?![\w$])", c["query"]))
            queries.append(
                {"id": f"{lang}-{i:04d}", "half": halves[c["package"]], **c, "query_has_name": own}
            )
        lang_meta[lang] = {
            "code_files": len(code),
            "test_files": sum(f.is_test for f in code),
            "other_files": sum(len(p.extras) for p in pkgs),
            "functions": sum(len(f.funcs) for f in code),
            "functions_in_test_files": sum(len(f.funcs) for f in code if f.is_test),
            "code_lines": sum(f.stripped.count(b"\n") for f in code),
            "candidate_pool": sum(p.candidates for p in pkgs),
            "dropped_duplicate_sentences": dup[lang],
            "queries": {h: len(picked[h]) for h in HALVES},
            "queries_with_own_name": sum(1 for q in queries if q["language"] == lang and q["query_has_name"]),
            "not_candidates": dict(sorted(reasons.items())),
        }

    if SET_DIR.exists():
        shutil.rmtree(SET_DIR)
    corpus = SET_DIR / "corpus"
    units = []
    for pkgs in results.values():
        for p in pkgs:
            for f in p.code:
                dest = corpus / f.rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(f.stripped)
                units += [
                    {
                        "path": f.rel,
                        "language": p.source.lang,
                        "symbol": fn.qualified_name,
                        "kind": fn.kind,
                        "start_line": fn.start_line,
                        "end_line": fn.end_line,
                        "test": f.is_test or fn.in_test,
                    }
                    for fn in f.funcs
                ]
            for rel, path in p.extras:
                dest = corpus / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, dest)
    with (SET_DIR / "queries.jsonl").open("w") as fh:
        fh.writelines(json.dumps(q) + "\n" for q in queries)
    with (SET_DIR / "units.jsonl").open("w") as fh:
        fh.writelines(json.dumps(u) + "\n" for u in units)
    meta: dict[str, Any] = {
        "name": "mixed",
        "languages": lang_meta,
        "packages": package_meta,
        "totals": {
            "files": sum(1 for p in corpus.rglob("*") if p.is_file()),
            "functions": len(units),
            "queries": {h: sum(1 for q in queries if q["half"] == h) for h in HALVES},
        },
        "split": (
            "by source package, per language: packages in order of candidate queries (most first, "
            "then by name) go to the half with fewer candidates so far, dev on a tie; then "
            f"{args.queries_per_language // 2} queries per language and half are sampled (seeded)"
        ),
        "filters": {
            "min_words": MIN_WORDS,
            "min_body_lines": MIN_BODY_LINES,
            "queries_per_language": args.queries_per_language,
            "seed": args.seed,
            "targets": "documented, not nested, not in a test file or test module",
        },
    }
    (SET_DIR / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")

    log(f"\nwrote {SET_DIR.relative_to(REPO_ROOT)}")
    log(
        f"{'language':<11} {'files':>6} {'tests':>6} {'other':>6} {'functions':>9} {'pool':>6} "
        f"{'dev':>4} {'test':>4} {'own-name':>8}"
    )
    for lang, m in lang_meta.items():
        log(
            f"{lang:<11} {m['code_files']:>6} {m['test_files']:>6} {m['other_files']:>6} "
            f"{m['functions']:>9} {m['candidate_pool']:>6} {m['queries']['dev']:>4} "
            f"{m['queries']['test']:>4} {m['queries_with_own_name']:>8}"
        )
    t = meta["totals"]
    log(f"total: {t['files']} files, {t['functions']} functions, queries {t['queries']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--langs", default=",".join(LANGUAGES), help="comma-separated subset (for a look)")
    ap.add_argument("--queries-per-language", type=int, default=QUERIES_PER_LANGUAGE)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--survey", action="store_true", help="print counts per package, write nothing")
    args = ap.parse_args(argv)
    unknown = [x for x in args.langs.split(",") if x and x not in FETCHERS]
    if unknown:
        ap.error(f"unknown language(s): {', '.join(unknown)}")
    return build(args)


if __name__ == "__main__":
    sys.exit(main())
