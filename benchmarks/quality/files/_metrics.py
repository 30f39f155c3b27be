"""Metrics of the file-level set: rankings of files scored against a set of relevant files.

Relevance is binary: every labelled file counts 1, every other file 0.

* NDCG@k  DCG of the top k (a relevant file at rank r adds 1 / log2(r + 1)) over the
  ideal DCG, that of min(k, #relevant) relevant files ranked first;
* MRR@k   1 / rank of the first relevant file in the top k (0 when none);
* R@k     share of the relevant files that are in the top k.

Pure functions, no I/O: tests/test_quality_metrics.py checks them on hand-computed cases.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

K = 10


def norm_path(path: str) -> str:
    """A repository-relative path in the form the set labels it (forward slashes, no ./)."""
    p = path.replace("\\", "/")
    while p.startswith("./"):
        p = p[2:]
    return p


def files_in_order(paths: Iterable[str], k: int | None = None) -> list[str]:
    """Unit hits reduced to files, in order of each file's first appearance (the first k)."""
    seen: dict[str, None] = {}
    for p in paths:
        seen.setdefault(norm_path(p), None)
        if k is not None and len(seen) >= k:
            break
    return list(seen)


def dcg(ranked: Sequence[str], relevant: set[str], k: int = K) -> float:
    return sum(1.0 / math.log2(i + 1) for i, p in enumerate(ranked[:k], 1) if p in relevant)


def ndcg_at_k(ranked: Sequence[str], relevant: Iterable[str], k: int = K) -> float:
    rel = set(relevant)
    if not rel:
        return 0.0
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(k, len(rel)) + 1))
    return dcg(ranked, rel, k) / ideal


def first_relevant_rank(ranked: Sequence[str], relevant: Iterable[str], k: int = K) -> int:
    """1-based rank of the first relevant file in the top k, 0 when none is there."""
    rel = set(relevant)
    for i, p in enumerate(ranked[:k], 1):
        if p in rel:
            return i
    return 0


def mrr_at_k(ranked: Sequence[str], relevant: Iterable[str], k: int = K) -> float:
    r = first_relevant_rank(ranked, relevant, k)
    return 1.0 / r if r else 0.0


def recall_at_k(ranked: Sequence[str], relevant: Iterable[str], k: int = K) -> float:
    rel = set(relevant)
    if not rel:
        return 0.0
    return len(rel & set(ranked[:k])) / len(rel)


def score(ranked: Sequence[str], relevant: Iterable[str], k: int = K) -> dict[str, float]:
    """The three metrics of one query."""
    rel = list(relevant)
    return {
        "ndcg@10": ndcg_at_k(ranked, rel, k),
        "mrr@10": mrr_at_k(ranked, rel, k),
        "r@10": recall_at_k(ranked, rel, k),
    }


def mean_scores(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    """Means of per-query scores, with their count as `n` (no other key when n is 0)."""
    if not rows:
        return {"n": 0}
    keys = ("ndcg@10", "mrr@10", "r@10")
    return {"n": len(rows), **{key: sum(r[key] for r in rows) / len(rows) for key in keys}}
