"""The index here: the operations of the engine that owns it (the Index protocol).

It runs the index runs (one at a time, under the work lock), answers searches through
codesearch.search.retrieval, reports status, checks duplicates, and keeps the progressive index:
the transformer's index beside the static one, built file by file by `upgrade()` and
searched once it covers every file. It opens the store and state of the model's index and
the embedding cache on first use; the engine (codesearch.engine) holds the owner lock and
the embedder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from codesearch.dupes.duplicates import DuplicateReport, find_in_change, find_in_repository, options_for
from codesearch.dupes.gitstage import ChangedFile
from codesearch.embedding.base import Vectors, normalize_rows
from codesearch.errors import IndexBusyError, IndexNotFoundError
from codesearch.indexing.analysis import auto_workers
from codesearch.indexing.cache import EmbeddingCache, NoCache, VectorCache
from codesearch.indexing.indexer import Indexer, Progress, ProgressCallback
from codesearch.indexing.state import IndexState
from codesearch.models import (
    FileHit,
    IndexReport,
    IndexStatus,
    RunStatus,
    SearchFilters,
    SearchHit,
    UpgradeStatus,
    content_hash,
)
from codesearch.progressive import Upgrade, labelled
from codesearch.safefs import check_regular_or_absent, real_dirs
from codesearch.search import retrieval
from codesearch.store import VectorStore, open_store

if TYPE_CHECKING:
    from codesearch.engine import Engine


def _dir_size(path: Path) -> int:
    total = 0
    for p in path.rglob("*"):
        with contextlib.suppress(OSError):
            if p.is_file():
                total += p.stat().st_blocks * 512  # real usage: the store's files are sparse
    return total


class LocalIndex:
    """The operations on `engine`'s index, for the engine that owns it."""

    def __init__(self, engine: Engine, open_lock: threading.RLock) -> None:
        self._engine = engine
        # A language server searches from one thread while its watcher indexes in another:
        # the store, the state and the cache are opened once, under the engine's lock.
        self._open_lock = open_lock
        self._store: VectorStore | None = None
        self._state: IndexState | None = None
        self._cache: VectorCache | None = None
        # Index runs: one at a time (the owner's own and those other processes hand it), the
        # one under way (for status and partial answers).
        self.work_lock = threading.RLock()
        self._live: Progress | None = None
        self._live_partial = False
        # The progressive index: the transformer's index beside this (static) one.
        self.upgrades = Upgrade(engine, open_lock, self.work_lock)

    # -- what it reads ---------------------------------------------------------------------

    def open_store(self, create: bool) -> tuple[VectorStore, IndexState]:
        """The store and state of the configured model's index, opened on first use."""
        engine = self._engine
        with self._open_lock:
            if engine._closed:  # a search or watcher start still in flight: the lock is gone
                raise IndexBusyError("this engine was closed; open the index again")
            if self._store is None or self._state is None:
                directory = engine.model_dir
                if not engine.has_index and not create:
                    model = engine._identity()[0]
                    raise IndexNotFoundError(
                        f"no index of {engine.root} for model {model} yet; run `codesearch index`"
                    )
                real_dirs(engine.index_dir, "indexes", directory.name)
                for suffix in ("", "-wal", "-shm", "-journal"):
                    check_regular_or_absent(directory / f"state.sqlite{suffix}")
                model_id, dims = engine._identity()
                # The store first: a server that does not answer leaves nothing recorded.
                self._store = open_store(
                    engine.settings, directory, engine.root, model_id, dims, repair=create
                )
                self._state = IndexState(directory / "state.sqlite", repair=create)
                if self._state.get_meta("model") is None:
                    self._state.set_meta(model=model_id, dimensions=str(dims), created=str(time.time()))
            return self._store, self._state

    def cache(self) -> VectorCache:
        """The shared embedding cache of the model (none for the static table)."""
        with self._open_lock:
            if self._cache is None:
                if self.cheap_model():
                    self._cache = NoCache()
                else:
                    model_id, dims = self._engine._identity()
                    self._cache = EmbeddingCache(self._engine.settings.resolved_cache_dir(), model_id, dims)
            return self._cache

    def cheap_model(self) -> bool:
        """The static table: embedding again is cheaper than the shared cache's lookups."""
        settings = self._engine.settings
        return (
            not self._engine._given_embedder
            and settings.backend == "local"
            and settings.resolved_model() == "static"
        )

    # -- searching ---------------------------------------------------------------------

    def search(self, query: str, k: int, filters: SearchFilters, mode: str) -> list[SearchHit]:
        return retrieval.search_units(self.source(), self._engine.settings, query, k, filters, mode)

    def search_files(self, query: str, k: int, filters: SearchFilters, mode: str) -> list[FileHit]:
        return retrieval.search_files(self.source(), self._engine.settings, query, k, filters, mode)

    def source(self) -> retrieval.Source:
        """What a query reads: the upgrade's index once it covers every file, else this one."""
        active = self.active()
        store, state = active._local.open_store(create=False)
        return retrieval.Source(
            store,
            state,
            lambda query: active.embedder().embed_query(query),
            active.settings.resolved_dense_weight(),
        )

    def active(self) -> Engine:
        """The engine whose index answers searches: the upgrade once complete, else this one."""
        upgrade = self.upgrades.current
        return upgrade if upgrade is not None and self.upgrades.covers() else self._engine

    # -- duplicates ----------------------------------------------------------------------

    def find_duplicates(self, changes: Sequence[ChangedFile] | None) -> DuplicateReport:
        engine = self._engine
        store, state = self.open_store(create=False)
        s = engine.settings
        opts = options_for(s.dupes_min_tokens, s.dupes_min_jaccard, s.dupes_threshold, engine._identity()[0])
        if changes is None:
            return find_in_repository(store, state, opts)
        return find_in_change(
            engine.root,
            store,
            state,
            self._embed_cached,
            changes,
            opts,
            exclude=s.exclude,
            max_file_bytes=s.max_file_bytes,
            max_file_tokens=s.max_file_tokens,
        )

    def _embed_cached(self, texts: Sequence[str]) -> Vectors:
        """Document vectors of texts, from the shared embedding cache where it has them."""
        engine = self._engine
        hashes = [content_hash(t) for t in texts]
        wanted = {h: t for h, t in zip(hashes, texts, strict=True) if t.strip()}
        found, _ = self.cache().through(wanted, lambda batch: engine.embedder().embed_documents(batch))
        dims = engine._identity()[1]
        rows = [found.get(h, np.zeros(dims, dtype=np.float32)) for h in hashes]
        return normalize_rows(np.array(rows, dtype=np.float32).reshape(len(rows), dims))

    # -- status --------------------------------------------------------------------------

    def status(self) -> IndexStatus:
        engine = self._engine
        settings = engine.settings
        model_id, dims = engine._identity()
        info: IndexStatus = {
            "root": str(engine.root),
            "index_dir": str(engine.index_dir),
            "backend": settings.backend,
            "model": model_id,
            "dimensions": dims,
            "store": settings.store
            if settings.store == "edge"
            else f"qdrant {settings.qdrant_url or settings.qdrant_path}",
            "indexed": False,
        }
        directory = engine.model_dir
        others = engine.index_dir / "indexes"
        info["other_indexes"] = (
            sorted(p.name for p in others.iterdir() if p.name != directory.name) if others.is_dir() else []
        )
        if not engine.has_index:
            return info
        store, state = self.open_store(create=False)
        files, units, by_kind, by_lang = state.counts()
        last = state.get_meta("last_indexed")
        pending = len(state.pending())
        info.update(
            {
                "indexed": True,
                "files": files,
                "units": units,
                "store_points": store.count(),
                "pending": pending,
                "units_by_kind": by_kind,
                "units_by_language": by_lang,
                "last_indexed": float(last) if last else None,
                "age_seconds": round(time.time() - float(last), 1) if last else None,
                "complete": state.get_meta("run") == "complete" and not pending,
                "size_bytes": _dir_size(directory),
            }
        )
        live = self.indexing()
        if live is not None:
            info["indexing"] = live
        upgrade = self.upgrades.status()
        if upgrade is not None:
            info["upgrade"] = upgrade
        return info

    def indexing(self) -> RunStatus | None:
        live = self._live
        if live is None:
            return None
        return {
            "phase": live.phase,
            "files": live.files_done,
            "of_files": live.files_total,
            "partial": self._live_partial,
        }

    # -- index runs ----------------------------------------------------------------------

    def index(self, progress: ProgressCallback | None) -> IndexReport:
        with self.work_lock:
            upgraded = self.upgrades.covers()
            report = self._run(progress, None)
            upgrade = self.upgrades.current
            if upgraded and upgrade is not None:
                upgrade.index(labelled(progress, upgrade))
            self.upgrades.forget()
            return report

    def update(self, paths: Iterable[str], progress: ProgressCallback | None) -> IndexReport:
        wanted = list(paths)
        with self.work_lock:
            report = self._run(progress, wanted)
            upgrade = self.upgrades.engine()
            if upgrade is not None and upgrade.has_index:
                upgrade.update(wanted, labelled(progress, upgrade))
            self.upgrades.forget()
            return report

    def _run(self, progress: ProgressCallback | None, only: list[str] | None) -> IndexReport:
        engine = self._engine
        if not engine.owner:
            raise IndexBusyError("this engine does not own the index; open it with write=True")
        settings = engine.settings
        if settings.backend == "sglang" and not engine._given_embedder:
            engine.embedder()  # a server that is down fails the run before it starts (searches need not)
        store, state = self.open_store(create=True)
        indexer = Indexer(
            engine.root,
            store,
            state,
            engine.embedder,
            self.cache(),
            exclude=settings.exclude,
            max_file_bytes=settings.max_file_bytes,
            max_file_tokens=settings.max_file_tokens,
            include_secrets=settings.include_secrets,
            batch_units=settings.batch_units,
            workers=auto_workers(settings.index_workers),
            static=self.cheap_model(),
        )

        def track(p: Progress) -> None:
            self._live = dataclasses.replace(p)
            if progress is not None:
                progress(p)

        # Searches meanwhile see part of the index when it was not complete before this run.
        self._live_partial = state.get_meta("run") != "complete" or bool(state.pending())
        self._live = Progress("starting")
        try:
            report = indexer.run(track, only)
            self._maybe_quantize(store, state, report.units, progress)
        finally:
            self._live = None
        return report

    def _maybe_quantize(
        self, store: VectorStore, state: IndexState, count: int, progress: ProgressCallback | None
    ) -> None:
        """Quantise the embedded store's vectors once brute force gets slow, and again after the
        index grew by 20% (what was written since is searched unquantised until then).

        Only the embedded store needs this: a Qdrant server optimises itself.
        """
        from codesearch.store.edge import EdgeStore

        if not isinstance(store, EdgeStore) or not store.quantized:
            return
        done = int(state.get_meta("quantized_points") or 0)
        if count >= self._engine.settings.quantize_threshold and count > done * 1.2:
            if progress:
                progress(Progress("quantising the vectors", units_done=count))
            store.optimize()
            state.set_meta(quantized_points=str(count))

    def upgrade_status(self) -> UpgradeStatus | None:
        return self.upgrades.status()

    def upgrade(self, progress: ProgressCallback | None, max_files: int) -> IndexReport | None:
        return self.upgrades.run(progress, max_files)

    def close(self) -> None:
        """Close the upgrade's engine, the store, the state and the cache."""
        self.upgrades.close()
        for part in (self._store, self._state, self._cache):
            if part is not None:
                part.close()
        self._store = self._state = self._cache = None
