"""A query over an open index: both retrievers' candidates, fused, ranked, shown as hits.

units: candidates (dense + lexical + the definitions a symbol query names) → fuse →
       ranking.rank → hits no better hit shadows → snippets read for those alone
files: the same candidates → ranking.rank_files → each file's best hits
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from codesearch.config import Settings
from codesearch.errors import ConfigError
from codesearch.indexing.lexical import query_vector
from codesearch.indexing.state import IndexState
from codesearch.models import FileHit, SearchFilters, SearchHit
from codesearch.search.fusion import MODES, drop_shadowed_containers, fuse, match_paths, to_hit
from codesearch.search.ranking import analyse, dense_weight_for, rank, rank_files
from codesearch.store import VectorStore
from codesearch.store.base import StoreFilter

#: Longest query taken: a query is words or a snippet, not a file.
MAX_QUERY_CHARS = 4096
#: Units named by a symbol query fetched beside the two retrievers' candidates.
NAMED_LIMIT = 20
#: Units shown under each file of a file-level ranking.
FILE_HITS = 3


@dataclass(frozen=True)
class Source:
    """The index a query reads: its store and state, the query embedder of its model (called
    only for a dense or hybrid query), and that model's dense weight."""

    store: VectorStore
    state: IndexState
    embed_query: Callable[[str], np.ndarray]
    dense_weight: float


def check_query(
    query: str, mode: str | None, filters: SearchFilters | None, default_mode: str
) -> tuple[str, SearchFilters]:
    """The mode and filters of a query, or ConfigError for a query no index can answer."""
    mode = mode or default_mode
    if mode not in MODES:
        raise ConfigError(f"unknown search mode {mode!r}; use one of {', '.join(MODES)}")
    if not query.strip():
        raise ConfigError("the query is empty")
    if len(query) > MAX_QUERY_CHARS:
        raise ConfigError(
            f"the query is {len(query):,} characters long; the limit is {MAX_QUERY_CHARS:,} "
            "(search for a distinctive part of it)"
        )
    return mode, filters or SearchFilters()


def search_units(
    source: Source, settings: Settings, query: str, k: int, filters: SearchFilters, mode: str
) -> list[SearchHit]:
    """The k best units for a query, through the ranking layer."""
    rows = rank(
        query, candidates(source, settings, query, max(50, k * 5), filters, mode), settings.ranking_config()
    )
    return with_snippets(source.store, [select_hits(rows, k)])[0]


def search_files(
    source: Source, settings: Settings, query: str, k: int, filters: SearchFilters, mode: str
) -> list[FileHit]:
    """The k best files for a query: their units' scores summed with saturation."""
    found = candidates(source, settings, query, max(100, k * 10), filters, mode)
    ranked = rank_files(query, found, settings.ranking_config())
    per_file = with_snippets(source.store, [select_hits(rows, FILE_HITS) for _, _, rows in ranked[:k]])
    return [
        FileHit(path, hits[0].language if hits else "", score, tuple(hits))
        for (path, score, _), hits in zip(ranked[:k], per_file, strict=True)
    ]


def candidates(
    source: Source, settings: Settings, query: str, limit: int, filters: SearchFilters, mode: str
) -> list[Any]:
    """Candidates of both retrievers, fused; for a symbol query, also the units named by it."""
    store, state = source.store, source.state
    paths: tuple[str, ...] = ()
    if filters.paths:
        paths = tuple(match_paths(filters.paths, state.paths()))
        if not paths:
            return []
    cfg = settings.ranking_config()
    dense = source.embed_query(query) if mode != "lexical" else None
    sparse = query_vector(query) if mode != "dense" else None
    flt = StoreFilter(languages=filters.languages, kinds=filters.kinds, paths=paths)
    dense_hits, lexical_hits = store.search(dense, sparse, limit, flt)
    info = analyse(query)
    if cfg.enabled and info.names and sparse is not None and mode != "dense":
        # Definitions named by the query, even where neither retriever ranked them high.
        named = dataclasses.replace(flt, names=info.names)
        seen = {c.id for c in lexical_hits}
        extra = [c for c in store.search(None, sparse, NAMED_LIMIT, named)[1] if c.id not in seen]
        lexical_hits = sorted([*lexical_hits, *extra], key=lambda c: -c.score)
    return fuse(
        dense_hits,
        lexical_hits,
        mode=mode,
        dense_weight=dense_weight_for(query, source.dense_weight, cfg),
        rrf_k=settings.rrf_k,
        fusion=settings.fusion,
    )


def select_hits(rows: Sequence[Any], limit: int) -> list[tuple[SearchHit, int, bool]]:
    """The first `limit` hits of ranked rows that no better hit shadows, each with its point
    id and whether its candidate came without a snippet."""
    origin: dict[int, tuple[int, bool]] = {}

    def hits() -> Iterator[SearchHit]:
        for c, s, d, lx in rows:
            hit = to_hit(c, s, d, lx)
            origin[id(hit)] = (c.id, "snippet" not in c.payload)
            yield hit

    return [(h, *origin[id(h)]) for h in drop_shadowed_containers(hits(), limit=limit)]


def with_snippets(
    store: VectorStore, groups: Sequence[Sequence[tuple[SearchHit, int, bool]]]
) -> list[list[SearchHit]]:
    """The hits, with the snippets the store left out of its candidates read for them alone
    (a search reads no snippet of the many candidates it ranks)."""
    wanted = [point for group in groups for _, point, missing in group if missing]
    snippets = store.snippets(wanted) if wanted else {}
    return [
        [
            dataclasses.replace(h, snippet=snippets.get(point, "")) if missing else h
            for h, point, missing in group
        ]
        for group in groups
    ]
