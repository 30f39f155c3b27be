"""Embeddings cached by (model, dimensions, text hash), shared by every index of the user.

A second clone, a worktree, or a branch switched away and back never pays for
the same text twice. SQLite in WAL mode: several processes may read and write.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from codesearch.embedding.base import Vectors
from codesearch.errors import EmbeddingError
from codesearch.indexing.dbfile import is_damaged, sqlite_errors, translated
from codesearch.safefs import check_regular_or_absent, real_dir, set_aside

_WHAT = "the embedding cache"
_DELETE = "delete it with its -wal and -shm files (it is only a cache: a new one is started)"


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), timeout=60, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, dims INTEGER NOT NULL,"
            " hash TEXT NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (model, dims, hash)) WITHOUT ROWID"
        )
        db.execute("SELECT COUNT(*) FROM vectors WHERE 0").fetchone()
    except sqlite3.Error:
        db.close()
        raise
    return db


class VectorCache(Protocol):
    """Where the indexer gets document vectors: a cache in front of the model, or none."""

    def through(
        self, texts: Mapping[str, str], embed: Callable[[list[str]], Vectors]
    ) -> tuple[dict[str, Vectors], int]:
        """Vectors of texts by text hash, and how many had to be embedded."""
        ...

    def close(self) -> None:
        """Release what it holds."""
        ...


class EmbeddingCache:
    """A persistent map from text hash to vector, per model and dimension.

    Thread-safe: threads may share one instance. Every use of the connection (a lookup with
    its rows, a write transaction) holds one lock; `through` does not hold it while `embed`
    runs, so two threads missing the same text may both embed it (the second write replaces
    the first with the same vector).
    """

    def __init__(self, directory: Path, model_id: str, dimensions: int) -> None:
        self._lock = threading.RLock()
        real_dir(directory)
        for suffix in ("", "-wal", "-shm", "-journal"):
            check_regular_or_absent(directory / f"embeddings.sqlite{suffix}")
        path = directory / "embeddings.sqlite"
        self._path = path
        try:
            self._db = _connect(path)
        except sqlite3.Error as exc:
            if not is_damaged(exc):
                raise translated(exc, _WHAT, path, _DELETE) from None
            # A damaged cache is only a cost: set it aside (nothing is deleted) and start anew.
            set_aside(path)
            try:
                self._db = _connect(path)
            except sqlite3.Error as again:
                raise translated(again, _WHAT, path, _DELETE) from None
        self._model = model_id
        self._dims = dimensions

    def get_many(self, hashes: Sequence[str]) -> dict[str, Vectors]:
        """The cached vectors among these hashes."""
        found: dict[str, Vectors] = {}
        unique = list(dict.fromkeys(hashes))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            marks = ",".join("?" * len(chunk))
            with self._lock, self._sql():
                rows = self._db.execute(
                    f"SELECT hash, vector FROM vectors WHERE model=? AND dims=? AND hash IN ({marks})",
                    (self._model, self._dims, *chunk),
                ).fetchall()
            for h, blob in rows:
                vec = np.frombuffer(blob, dtype="<f4")
                if vec.shape == (self._dims,) and np.isfinite(vec).all() and vec.any():
                    found[h] = vec.astype(np.float32)
        return found

    def put_many(self, vectors: Mapping[str, Vectors]) -> None:
        """Store vectors by text hash."""
        if not vectors:
            return
        with self._lock, self._sql(), self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors VALUES(?,?,?,?)",
                [
                    (self._model, self._dims, h, np.asarray(v, dtype="<f4").tobytes())
                    for h, v in vectors.items()
                ],
            )

    def through(
        self, texts: Mapping[str, str], embed: Callable[[list[str]], Vectors]
    ) -> tuple[dict[str, Vectors], int]:
        """Vectors of texts (by text hash): cached ones, the rest embedded with `embed` and cached.

        Returns the vectors and how many texts were embedded; `embed` is not called when
        every text is cached (so a model is loaded only when needed).
        """
        vectors = self.get_many(list(texts))
        missing = [h for h in texts if h not in vectors]
        if missing:
            fresh = dict(zip(missing, embed([texts[h] for h in missing]), strict=True))
            bad = sum(1 for v in fresh.values() if not np.isfinite(v).all())
            if bad:
                raise EmbeddingError(
                    f"the embedding model returned {bad} vectors with NaN or Inf values; "
                    "nothing was stored or cached"
                )
            self.put_many(fresh)
            vectors.update(fresh)
        return vectors, len(missing)

    def close(self) -> None:
        """Close the database."""
        with self._lock, self._sql():
            self._db.close()

    def _sql(self) -> contextlib.AbstractContextManager[None]:
        """Where the connection is used (under the lock): its failures as codesearch errors."""
        return sqlite_errors(_WHAT, self._path, _DELETE)


class NoCache:
    """`EmbeddingCache`'s interface for a model cheaper to run than a cache lookup (the static
    table embeds ~1,400 units/s; reading and writing their vectors in sqlite costs more)."""

    def through(
        self, texts: Mapping[str, str], embed: Callable[[list[str]], Vectors]
    ) -> tuple[dict[str, Vectors], int]:
        """Every text embedded: (vectors by text hash, how many were embedded)."""
        if not texts:
            return {}, 0
        fresh = dict(zip(texts, embed(list(texts.values())), strict=True))
        bad = sum(1 for v in fresh.values() if not np.isfinite(v).all())
        if bad:
            raise EmbeddingError(f"the embedding model returned {bad} vectors with NaN or Inf values")
        return fresh, len(fresh)

    def close(self) -> None:
        """Nothing to close."""
