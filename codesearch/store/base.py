"""The VectorStore protocol: what the indexer and search need from a store."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from codesearch.indexing.lexical import SparseVector
from codesearch.models import UnitPayload

#: The payload fields a search reads of its candidates: what ranking, fusion and a hit need.
CANDIDATE_FIELDS = ["path", "language", "kind", "symbol", "name", "parent", "start_line", "end_line"]


@dataclass(frozen=True, slots=True)
class StoredPoint:
    """One unit as stored: id, dense vector, sparse lexical vector, payload."""

    id: int
    dense: npt.NDArray[np.float32]
    sparse: SparseVector
    payload: UnitPayload


@dataclass(frozen=True, slots=True)
class StoreFilter:
    """Payload restrictions: each non-empty field must match one of its values."""

    languages: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    #: Unit names (the `name` payload field: `Command` of `Command.run`'s class).
    names: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True when nothing is restricted."""
        return not (self.languages or self.kinds or self.paths or self.names)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A point returned by one retriever, with its score and payload."""

    id: int
    score: float
    payload: UnitPayload = field(default_factory=lambda: UnitPayload())


class VectorStore(Protocol):
    """Storage of dense + sparse vectors with payload filters."""

    def upsert(self, points: Sequence[StoredPoint]) -> None:
        """Insert or replace points by id."""
        ...

    def delete_paths(self, paths: Sequence[str]) -> None:
        """Delete every point whose payload path is one of these."""
        ...

    def search(
        self,
        dense: npt.NDArray[np.float32] | None,
        sparse: SparseVector | None,
        limit: int,
        flt: StoreFilter,
    ) -> tuple[list[Candidate], list[Candidate]]:
        """Top `limit` candidates from the dense and from the lexical retriever."""
        ...

    def snippets(self, ids: Sequence[int]) -> dict[int, str]:
        """Stored snippets of these points, by id. `search` may leave the snippet out of its
        candidates' payloads (the embedded store does: reading it for every candidate costs
        more than the search); the hits shown get theirs from here."""
        ...

    def count(self) -> int:
        """Number of points stored."""
        ...

    def vectors(self, ids: Sequence[int]) -> dict[int, npt.NDArray[np.float32]]:
        """Dense vectors of these points, by id (ids not stored are left out)."""
        ...

    def iter_points(self, batch: int = 256) -> Iterator[StoredPoint]:
        """Every point with its vectors and payload (for export)."""
        ...

    def flush(self) -> None:
        """Make every write so far durable."""
        ...

    def close(self) -> None:
        """Flush and release the store."""
        ...
