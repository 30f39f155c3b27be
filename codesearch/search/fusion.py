"""query -> candidates from each retriever -> fusion -> hits."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import pathspec

from codesearch.models import SearchHit
from codesearch.store.base import Candidate

T = TypeVar("T")
#: The reciprocal-rank constant of `merge_ranked`.
MERGE_RRF_K = 60

MODES = ("hybrid", "dense", "lexical")


def fuse(
    dense: Sequence[Candidate],
    lexical: Sequence[Candidate],
    *,
    mode: str,
    dense_weight: float,
    rrf_k: int,
    fusion: str = "rrf",
) -> list[tuple[Candidate, float, float | None, float | None]]:
    """Rank candidates: (candidate, fused score, dense score, lexical score), best first.

    Hybrid fusion `rrf` (weighted reciprocal rank): a candidate scores
    w / (rrf_k + dense rank) + (1 - w) / (rrf_k + lexical rank). Fusion `score`:
    each list's scores are min-max normalised over its candidates, then
    w * dense + (1 - w) * lexical (a list that missed the candidate adds 0).
    """
    if mode == "dense":
        return [(c, c.score, c.score, None) for c in dense]
    if mode == "lexical":
        return [(c, c.score, None, c.score) for c in lexical]
    if fusion == "score":
        return _score_fusion(dense, lexical, dense_weight)
    table: dict[int, list[Any]] = {}
    for rank, c in enumerate(dense, 1):
        table[c.id] = [c, dense_weight / (rrf_k + rank), c.score, None]
    for rank, c in enumerate(lexical, 1):
        row = table.setdefault(c.id, [c, 0.0, None, None])
        row[1] += (1.0 - dense_weight) / (rrf_k + rank)
        row[3] = c.score
    ranked = sorted(table.values(), key=lambda r: (-r[1], r[0].id))
    # Scale so that first place in both lists scores 1.0.
    top = dense_weight / (rrf_k + 1) + (1.0 - dense_weight) / (rrf_k + 1)
    return [(r[0], r[1] / top, r[2], r[3]) for r in ranked]


def _normalised(cands: Sequence[Candidate]) -> dict[int, float]:
    if not cands:
        return {}
    hi = max(c.score for c in cands)
    lo = min(c.score for c in cands)
    span = hi - lo
    return {c.id: (c.score - lo) / span if span > 0 else 1.0 for c in cands}


def _score_fusion(
    dense: Sequence[Candidate], lexical: Sequence[Candidate], w: float
) -> list[tuple[Candidate, float, float | None, float | None]]:
    nd, nl = _normalised(dense), _normalised(lexical)
    table: dict[int, list[Any]] = {}
    for c in dense:
        table[c.id] = [c, w * nd[c.id], c.score, None]
    for c in lexical:
        row = table.setdefault(c.id, [c, 0.0, None, None])
        row[1] += (1.0 - w) * nl[c.id]
        row[3] = c.score
    ranked = sorted(table.values(), key=lambda r: (-r[1], r[0].id))
    return [(r[0], r[1], r[2], r[3]) for r in ranked]


def to_hit(c: Candidate, score: float, dense: float | None, lexical: float | None) -> SearchHit:
    """A store candidate as a search hit."""
    p = c.payload
    return SearchHit(
        path=str(p.get("path", "")),
        start_line=int(p.get("start_line", 1)),
        end_line=int(p.get("end_line", 1)),
        symbol=str(p.get("symbol", "")),
        kind=str(p.get("kind", "")),
        language=str(p.get("language", "")),
        score=float(score),
        snippet=str(p.get("snippet", "")),
        dense_score=dense,
        lexical_score=lexical,
    )


def match_paths(patterns: Sequence[str], paths: Sequence[str]) -> list[str]:
    """Indexed paths matching any of the gitignore-style globs (`src/**`, `*.go`, `lib/`)."""
    spec = pathspec.GitIgnoreSpec.from_lines(list(patterns))
    return [p for p in paths if spec.match_file(p)]


def drop_shadowed_containers(hits: Iterable[SearchHit], limit: int = 0) -> list[SearchHit]:
    """Drop a hit (a class, a file) when a better-ranked hit lies inside it: the specific one is shown.
    A hit with the same path and lines as a better one (a file that is one function) is dropped too.

    With `limit`, stop once that many are kept (`hits` may then be a lazy iterable)."""
    kept: list[SearchHit] = []
    spans: dict[str, list[tuple[int, int]]] = {}
    for hit in hits:
        inside = spans.setdefault(hit.path, [])
        span = (hit.start_line, hit.end_line)
        if any(hit.start_line <= lo and hi <= hit.end_line for lo, hi in inside):
            continue
        kept.append(hit)
        inside.append(span)
        if limit and len(kept) >= limit:
            break
    return kept


def merge_ranked(lists: Sequence[Sequence[T]], score: Callable[[T], float]) -> list[T]:
    """The ranked hits of several indexes (workspace folders) as one list.

    Each index's scores are normalised over its own candidates, so a folder with nothing
    relevant still scores its best hit near the top: scores of two indexes do not compare.
    The lists are merged by reciprocal rank (1 / (MERGE_RRF_K + rank)), which interleaves
    them by their own order; hits of the same rank are ordered by score, then by list.
    """
    ranked = [
        (1.0 / (MERGE_RRF_K + rank), score(item), -n, item)
        for n, items in enumerate(lists)
        for rank, item in enumerate(items, 1)
    ]
    ranked.sort(key=lambda r: (r[0], r[1], r[2]), reverse=True)
    return [r[3] for r in ranked]
