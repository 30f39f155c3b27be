"""Scoring: fused score, plus credit for being the definition the query names and
for a path that says what the query says, times the path's prior.

    final = (fused + definition credit + path credit) * path prior * language hint

Credits are fractions of the best fused score of the query, so they mean the same
whatever the fusion's scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePosixPath

from codesearch.indexing.lexical import tokens
from codesearch.models import UnitPayload
from codesearch.search.ranking._priors import CLASSES, file_words, is_barrel, path_classes
from codesearch.search.ranking._query import QueryInfo

#: Kinds that contain members: a query naming the container wants it, not them.
CONTAINER_KINDS = frozenset({"class", "struct", "interface", "trait", "enum", "module", "type"})
_MEMBER_KINDS = frozenset({"function", "method"})


#: The path classes each prior option sets (`ranking_test_prior`, `ranking_docs_prior`,
#: `ranking_aux_prior`), by the option's middle word.
PRIOR_GROUPS: dict[str, tuple[str, ...]] = {
    "test": ("tests",),
    "docs": ("docs", "config"),
    "aux": ("examples", "benchmarks", "fixtures", "vendored", "generated"),
}


def group_priors(values: dict[str, float]) -> dict[str, float]:
    """The per-class priors of one value per group of PRIOR_GROUPS."""
    return {cls: values[group] for group, classes in PRIOR_GROUPS.items() for cls in classes}


@dataclass(frozen=True, slots=True)
class RankingConfig:
    """The ranking layer's weights (options `ranking_*`, resolved in codesearch.config)."""

    enabled: bool = True
    #: Dense weight of hybrid fusion for symbol-like queries (natural language keeps `dense_weight`).
    symbol_dense_weight: float = 0.3
    #: Credit of a definition whose name is the queried symbol, times the best fused score.
    definition_boost: float = 1.0
    #: Credit for the share of the query's words found in the file name and its directory.
    path_boost: float = 0.6
    #: Credit for the share of the query's words in a unit's own name (and its container's).
    name_boost: float = 1.0
    #: Multiplier of each class of auxiliary path the query does not ask for.
    priors: dict[str, float] = field(
        default_factory=lambda: {
            "tests": 0.3,
            "examples": 0.3,
            "benchmarks": 0.3,
            "fixtures": 0.3,
            "vendored": 0.3,
            "generated": 0.3,
            "docs": 0.3,
            "config": 0.3,
        }
    )
    #: Multiplier of a class the query asks for ("tests for ...", "docs on ...").
    asked_boost: float = 1.3
    #: Multiplier of a re-export file (`__init__.py`, `index.ts`).
    barrel_prior: float = 0.8
    #: Multiplier of a hit in a language the query names ("... in go").
    language_boost: float = 1.3
    #: A member scoring at least this share of its container ranks above it (natural language).
    member_ratio: float = 0.5
    #: Hits of one file before the next ones are decayed (the default list).
    per_file: int = 5
    #: Decay of each further hit of the same file.
    file_decay: float = 0.85
    #: File-level ranking: weight of a file's second unit, squared for its third, ...
    file_sum_decay: float = 0.5

    def prior_of(self, cls: str) -> float:
        return self.priors.get(cls, 1.0)


def _norm(name: str) -> str:
    return name.replace("_", "").lower()


def definition_credit(payload: UnitPayload, info: QueryInfo) -> float:
    """How strongly this unit is the definition the query names, 0 to 1."""
    if not info.names:
        return 0.0
    name = str(payload.get("name", ""))
    kind = str(payload.get("kind", ""))
    if not name or kind in ("file", "section"):
        return 0.0
    qualified = str(payload.get("symbol", ""))
    best = 0.0
    for wanted in info.names:
        last = wanted.replace("::", ".").replace("->", ".").replace("#", ".").split(".")[-1]
        if name == last:
            credit = 1.0
        elif _norm(name) == _norm(last):
            credit = 0.7
        elif info.symbol and len(last) >= 4 and _norm(name).startswith(_norm(last)):
            credit = 0.25
        else:
            continue
        if wanted != last:  # qualified query: the qualified name must agree
            tail = _norm(wanted.replace("::", ".").replace("->", ".").replace("#", "."))
            if _norm(qualified.replace("::", ".")).endswith(tail):
                credit *= 1.2
            else:
                credit *= 0.6
        best = max(best, credit)
    if best == 0.0:
        return 0.0
    parent = str(payload.get("parent", ""))
    if kind in CONTAINER_KINDS:
        factor = 1.0
    elif kind in _MEMBER_KINDS:
        # A constructor is named like its class: the class is what is asked for.
        factor = 0.5 if parent and parent.split(".")[-1] == name else 0.9
    else:  # impl blocks and other partial definitions
        factor = 0.6
    return best * factor


def path_credit(path: str, info: QueryInfo) -> float:
    """Share of the query's words (or of its symbol) that the file name and directory carry, 0 to 1."""
    if info.symbol:
        stem = PurePosixPath(path).stem
        return 1.0 if any(_norm(stem) == _norm(n.split(".")[-1]) for n in info.names) else 0.0
    if not info.words:
        return 0.0
    return len(info.words & file_words(path)) / len(info.words)


@lru_cache(maxsize=1 << 16)
def _name_words(name: str) -> frozenset[str]:
    return frozenset(tokens(name))


def name_credit(payload: UnitPayload, info: QueryInfo) -> float:
    """Share of a natural-language query's words that the unit's name and its container's carry."""
    if info.symbol or not info.words or str(payload.get("kind", "")) in ("file", "section"):
        return 0.0
    words = _name_words(f"{payload.get('name', '')} {payload.get('parent', '')}")
    return len(info.words & words) / len(info.words)


def prior(payload: UnitPayload, info: QueryInfo, cfg: RankingConfig) -> float:
    """The path prior times the language hint."""
    path = str(payload.get("path", ""))
    m = 1.0
    for cls in path_classes(path):
        m *= cfg.asked_boost if cls in info.asks else cfg.prior_of(cls)
    if is_barrel(path):
        m *= cfg.barrel_prior
    if info.languages and str(payload.get("language", "")) in info.languages:
        m *= cfg.language_boost
    return m


def score(payload: UnitPayload, fused: float, top: float, info: QueryInfo, cfg: RankingConfig) -> float:
    """A unit's final score for this query."""
    scale = cfg.definition_boost * (1.0 if info.symbol else 0.5)
    credit = scale * definition_credit(payload, info)
    path = str(payload.get("path", ""))
    pc = path_credit(path, info)
    if info.symbol:
        credit *= 1.0 + 0.5 * pc  # the definition in command.go beats one in util.go
        bonus = 0.0
    else:
        bonus = cfg.path_boost * pc + cfg.name_boost * name_credit(payload, info)
    return (fused + top * (credit + bonus)) * prior(payload, info, cfg)


__all__ = [
    "CLASSES",
    "CONTAINER_KINDS",
    "RankingConfig",
    "definition_credit",
    "path_credit",
    "prior",
    "score",
]
