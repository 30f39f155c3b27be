"""Scoring and the reference rankers of evaluate.py: hits, metrics, plain BM25, naive RRF.

A hit is correct when its path is the target's and either its line range is the
target's (the start may be the decorator / export / attribute line or the
definition line) or its symbol is the target's qualified name.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _paths import is_test_path, language_of

K = 10
#: Candidates each ranking gives the naive fusion, and its rank constant.
RRF_DEPTH = 100
RRF_K = 60

#: One line of queries.jsonl.
Query = dict[str, Any]


@dataclass(frozen=True)
class Hit:
    """One ranked result, reduced to what scoring needs."""

    path: str
    start_line: int
    end_line: int
    symbol: str


Searcher = Callable[[str], list[Hit]]


def norm_path(p: str) -> str:
    p = p.replace("\\", "/")
    return p[2:] if p.startswith("./") else p


def is_correct(hit: Hit, q: Query) -> bool:
    if norm_path(hit.path) != q["path"]:
        return False
    if hit.end_line == q["end_line"] and hit.start_line in (q["start_line"], q["def_line"]):
        return True
    return bool(hit.symbol) and hit.symbol == str(q["symbol"])


def overlaps(hit: Hit, q: Query) -> bool:
    return bool(
        norm_path(hit.path) == q["path"]
        and hit.start_line <= q["end_line"]
        and hit.end_line >= q["start_line"]
    )


def rank_of(hits: Sequence[Hit], q: Query) -> int:
    """1-based rank of the first correct hit in the top K, 0 if none."""
    for i, h in enumerate(hits[:K], 1):
        if is_correct(h, q):
            return i
    return 0


@dataclass
class Outcome:
    """What one query got from one system."""

    rank: int
    near: bool  # a miss whose top K held a unit overlapping the target
    hits: int  # hits in the top K
    other_language: int  # of them, in another language than the target (docs and config included)
    in_tests: int  # of them, in test files
    non_code: int  # of them, in docs / config files
    ms: float


def outcome(hits: Sequence[Hit], q: Query, ms: float) -> Outcome:
    top = hits[:K]
    r = rank_of(top, q)
    langs = [language_of(norm_path(h.path)) for h in top]
    return Outcome(
        rank=r,
        near=not r and any(overlaps(h, q) for h in top),
        hits=len(top),
        other_language=sum(1 for lang in langs if lang != q["language"]),
        in_tests=sum(1 for h in top if is_test_path(norm_path(h.path))),
        non_code=sum(1 for lang in langs if lang not in _CODE_LANGS),
        ms=ms,
    )


_CODE_LANGS = {"python", "javascript", "typescript", "go", "java", "rust"}


def summarize(outs: Sequence[Outcome]) -> dict[str, Any]:
    """MRR@10, R@1, R@10 and the shares of top-10 hits by where they are."""
    n = len(outs)
    if n == 0:
        return {"n": 0}
    hits = sum(o.hits for o in outs) or 1
    times = sorted(o.ms for o in outs)
    return {
        "n": n,
        "mrr@10": sum(1.0 / o.rank for o in outs if o.rank) / n,
        "r@1": sum(1 for o in outs if o.rank == 1) / n,
        "r@10": sum(1 for o in outs if o.rank) / n,
        "overlap_only@10": sum(1 for o in outs if o.near) / n,
        "other_language@10": sum(o.other_language for o in outs) / hits,
        "test_files@10": sum(o.in_tests for o in outs) / hits,
        "docs_config@10": sum(o.non_code for o in outs) / hits,
        "query_ms_mean": statistics.fmean(times),
        "query_ms_p95": times[min(n - 1, int(0.95 * n))],
    }


# --------------------------------------------------------------------------- plain BM25

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


def bm25_searcher(set_dir: Path, units: list[dict[str, Any]], depth: int = K) -> Searcher:
    """Plain BM25 over every function of units.jsonl (path + function text)."""
    files: dict[str, list[str]] = {}
    docs = []
    for u in units:
        if u["path"] not in files:
            text = (set_dir / "corpus" / u["path"]).read_text("utf-8", "replace")
            files[u["path"]] = text.splitlines()
        body = "\n".join(files[u["path"]][u["start_line"] - 1 : u["end_line"]])
        docs.append(bm25_tokens(u["path"] + " " + body))
    index = BM25(docs)
    hits = [Hit(u["path"], u["start_line"], u["end_line"], u["symbol"]) for u in units]

    seen: dict[str, list[Hit]] = {}  # the baseline row and the fusion ask the same queries

    def search(query: str) -> list[Hit]:
        if query not in seen:
            seen[query] = [hits[i] for i in index.top(bm25_tokens(query), depth)]
        return seen[query]

    return search


def rrf(rankings: Sequence[Sequence[Hit]], k: int = RRF_K) -> list[Hit]:
    """Reciprocal-rank fusion, equal weights; a function is keyed by path and last line.

    The two rankers may disagree on where a function starts (decorators,
    attributes), never on where it ends.
    """
    scores: dict[tuple[str, int], float] = {}
    first: dict[tuple[str, int], Hit] = {}
    for ranking in rankings:
        for i, h in enumerate(ranking, 1):
            key = (norm_path(h.path), h.end_line)
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + i)
            first.setdefault(key, h)
    order = sorted(scores, key=lambda key: (-scores[key], key))
    return [first[key] for key in order]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open() as fh:
        return [json.loads(line) for line in fh]
