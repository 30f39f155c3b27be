"""Copy an index between stores without re-embedding: `codesearch export` / `import`.

Points keep their ids, vectors and payloads, so a copy searched with the same
query gives the same hits. The destination's own rules apply: a QdrantStore
writes into its repository whatever the source's was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from codesearch.store.base import StoredPoint, VectorStore


class PointSource(Protocol):
    """A store that can list every point it holds (EdgeStore, QdrantStore)."""

    def iter_points(self, batch: int = ...) -> Iterator[StoredPoint]:
        """Every point with its vectors and payload."""
        ...


def copy_points(
    source: PointSource,
    destination: VectorStore,
    batch: int = 512,
    progress: Callable[[int], None] | None = None,
    on_batch: Callable[[Sequence[StoredPoint]], None] | None = None,
) -> int:
    """Upsert every point of `source` into `destination` in batches; returns how many were copied.

    After each batch is written, `on_batch` sees its points (codesearch.moving rebuilds
    the destination's file records from them) and `progress` gets the running
    total. Copying again is harmless (upserts by id); the destination is flushed at the end.
    """
    total = 0
    pending: list[StoredPoint] = []

    def write() -> None:
        nonlocal total, pending
        destination.upsert(pending)
        total += len(pending)
        if on_batch is not None:
            on_batch(pending)
        if progress is not None:
            progress(total)
        pending = []

    for point in source.iter_points(batch=batch):
        pending.append(point)
        if len(pending) >= batch:
            write()
    if pending:
        write()
    destination.flush()
    return total
