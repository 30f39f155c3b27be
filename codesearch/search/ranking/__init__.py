"""The ranking layer: fused candidates in, the list a user sees out.

    fused dense + lexical candidates
      -> _query: symbol-like or natural language; names, words, asked-for paths, language hints
      -> _score: definition credit, path-word credit, path priors (tests, docs, examples, ...)
      -> _select: per-file saturation of the unit list; file-level ranking

Every front end gets this through `Engine.search` and `Engine.search_files`.
"""

from __future__ import annotations

from collections.abc import Sequence

from codesearch.search.ranking._priors import path_classes
from codesearch.search.ranking._query import QueryInfo, analyse
from codesearch.search.ranking._score import (
    PRIOR_GROUPS,
    RankingConfig,
    definition_credit,
    group_priors,
    path_credit,
    prior,
    score,
)
from codesearch.search.ranking._select import Row, file_scores, prefer_members, saturate


def dense_weight_for(query: str, default: float, cfg: RankingConfig) -> float:
    """The hybrid fusion's dense weight for this query: symbol queries lean lexical."""
    if cfg.enabled and analyse(query).symbol:
        return cfg.symbol_dense_weight
    return default


def rescore(query: str, rows: Sequence[Row], cfg: RankingConfig) -> list[Row]:
    """Rows re-scored by the ranking layer, best first (unchanged when it is off)."""
    if not cfg.enabled or not rows:
        return list(rows)
    info = analyse(query)
    top = max(r[1] for r in rows) or 1.0
    out = [(r[0], score(r[0].payload, r[1], top, info, cfg), r[2], r[3]) for r in rows]
    if not info.symbol:
        out = prefer_members(out, cfg.member_ratio)
    out.sort(key=lambda r: (-r[1], r[0].id))
    return out


def rank(query: str, rows: Sequence[Row], cfg: RankingConfig) -> list[Row]:
    """The unit list: re-scored, then at most `per_file` full-strength hits per file."""
    scored = rescore(query, rows, cfg)
    if not cfg.enabled:
        return scored
    return saturate(scored, cfg)


def rank_files(query: str, rows: Sequence[Row], cfg: RankingConfig) -> list[tuple[str, float, list[Row]]]:
    """Files best first: (path, score, its rows best first)."""
    scored = rescore(query, rows, cfg)
    return file_scores(scored, cfg.file_sum_decay)


__all__ = [
    "PRIOR_GROUPS",
    "QueryInfo",
    "RankingConfig",
    "Row",
    "analyse",
    "definition_credit",
    "dense_weight_for",
    "group_priors",
    "path_classes",
    "path_credit",
    "prior",
    "rank",
    "rank_files",
    "rescore",
]
