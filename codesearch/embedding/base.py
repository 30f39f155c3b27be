"""The Embedder protocol every embedding backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors.

    Contract: `embed_documents` returns exactly one vector per input, whatever
    the input's length. An input longer than the model's window is split into
    windows whose vectors are averaged (then re-normalised): never silently cut.
    Empty or whitespace-only inputs get a zero vector and are never sent to a model.
    """

    #: Identifies model and weights; part of the embedding-cache key and the index identity.
    model_id: str
    #: Length of the vectors returned.
    dimensions: int
    #: Longest input, in the model's tokens, embedded as one window.
    max_tokens: int

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        """Embed texts to index; shape (len(texts), dimensions)."""
        ...

    def embed_query(self, text: str) -> Vectors:
        """Embed a search query; shape (dimensions,)."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text takes in this model (no truncation)."""
        ...

    def close(self) -> None:
        """Release resources (sessions, connections)."""
        ...


def normalize_rows(vectors: Vectors) -> Vectors:
    """L2-normalise each row; zero rows stay zero."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    result: Vectors = (vectors / norms).astype(np.float32, copy=False)
    return result


def pool_windows(window_vectors: Vectors, owners: Sequence[int], count: int, dims: int) -> Vectors:
    """Average the window vectors of each input (owners[i] = input of window i), then normalise."""
    out = np.zeros((count, dims), dtype=np.float32)
    if len(owners):
        np.add.at(out, np.asarray(owners, dtype=np.int64), window_vectors)
    return normalize_rows(out)
