"""The facade every front end uses: open an index, bring it up to date, search it.

    with Engine.open(root) as engine:
        engine.index()
        hits = engine.search("retry a failed upload with backoff")

The engine that takes the owner lock opens the store and answers other processes
(codesearch.owner.serving over codesearch.owner.channel's socket); its operations run here
(codesearch.local). An engine that finds the lock taken asks the owner instead
(codesearch.owner.remote). An owner that keeps running (`codesearch watch`, an editor's
server: `accept_index_runs`) also runs the index requests of others
(`Engine.open(write=True, hand_off=True)`), one at a time with its own, and streams
their progress back.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from codesearch.config import Settings, load_settings
from codesearch.dupes.duplicates import DuplicateReport
from codesearch.dupes.gitstage import ChangedFile
from codesearch.embedding import Embedder, make_embedder
from codesearch.errors import (
    ConfigError,
    EmbeddingError,
    EmbeddingServerError,
    IndexBusyError,
    IndexNotFoundError,
)
from codesearch.identity import known_identity, model_dir, recorded_identity
from codesearch.indexing.indexer import ProgressCallback, RunDoneCallback
from codesearch.indexing.state import IndexState
from codesearch.local import LocalIndex
from codesearch.models import (
    Answer,
    FileHit,
    IndexReport,
    IndexStatus,
    RunStatus,
    SearchFilters,
    SearchHit,
    UpgradeStatus,
)
from codesearch.moving import move_index
from codesearch.owner.channel import OwnerLock, OwnerServer, socket_path
from codesearch.owner.remote import Index, RemoteIndex
from codesearch.owner.serving import Serving
from codesearch.safefs import (
    claim_index_dir,
    real_dir,
    real_dirs,
    refuse_tracked,
    write_new,
)
from codesearch.search.retrieval import check_query
from codesearch.store import VectorStore

#: Seconds an embedder that could not be loaded (its server down) is not tried again: a
#: search that falls back to the lexical index costs one wait for the server, not two.
EMBEDDER_RETRY_SECONDS = 10.0

_GITIGNORE = "# Created by codesearch: the index is not part of the repository.\n*\n"


class Engine:
    """One repository's index: indexing, search and status."""

    def __init__(self, root: Path, settings: Settings, *, embedder: Embedder | None = None) -> None:
        self.root = root
        self.settings = settings
        self.index_dir = settings.resolved_index_dir(root)
        self._embedder = embedder
        self._given_embedder = embedder is not None  # a caller's embedder: no progressive upgrade
        self._embedder_failed: tuple[float, EmbeddingError] | None = None
        self._lock = OwnerLock(self._prepare_dir())
        self._server: OwnerServer | None = None
        # A language server searches from one thread while its watcher indexes in another:
        # the store and the model are opened once, under this lock.
        self._open_lock = threading.RLock()
        self.owner = False
        self._closed = False
        self._take_over = False
        self._on_owner: Callable[[Engine], None] | None = None
        self._wait = 600.0
        self._on_wait: Callable[[int | None], None] | None = None
        # The operations: here once this engine owns the index, else asked of the owner.
        self._local = LocalIndex(self, self._open_lock)
        self._serving = Serving(self, self._local.work_lock)
        self._remote = RemoteIndex(self.root, self.index_dir, self._owned_now, self._owned_after_wait)

    @property
    def _index(self) -> Index:
        return self._local if self.owner else self._remote

    # -- opening -------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        root: Path | str,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        write: bool = False,
        wait: float = 600.0,
        on_wait: Any = None,
        take_over: bool = False,
        hand_off: bool = False,
        on_owner: Callable[[Engine], None] | None = None,
    ) -> Engine:
        """Open the index of `root`. With write=True, wait (up to `wait` s) to own it.

        With take_over=True, an engine that forwards to an owner becomes the owner itself when
        that owner ends, and answers the request it was making; `on_owner` is then told (from
        the thread of that request), so that a long-lived front end starts its watcher.
        With write=True and hand_off=True, an engine that finds the index owned does not wait:
        its `index()` and `upgrade()` are run by the owner when it takes index runs (`codesearch
        watch`, an editor's server), and wait for the lock only when it does not.
        """
        root_path = Path(root).resolve()
        if not root_path.is_dir():
            raise ConfigError(f"{root} is not a directory")
        if settings is None:
            settings, _ = load_settings(root_path)
        engine = cls(root_path, settings, embedder=embedder)
        engine._take_over, engine._on_owner = take_over, on_owner
        engine._wait, engine._on_wait = wait, on_wait
        if engine._lock.acquire(timeout=0.0):
            engine._become_owner()
        elif write and not hand_off:  # with hand_off, index runs are handed to the owner
            engine._owned_after_wait()
        return engine

    def _prepare_dir(self) -> Path:
        # Nothing here follows a link: the index directory may come from a hostile clone.
        refuse_tracked(self.root, self.index_dir)
        real_dir(self.index_dir)
        write_new(self.index_dir / ".gitignore", _GITIGNORE)
        claim_index_dir(self.index_dir, self.root)
        return self.index_dir

    def _become_owner(self) -> None:
        self.owner = True
        self._server = OwnerServer(
            socket_path(self.index_dir),
            lambda request, send: self._serving.handle(request, send, remote=True),
        )

    def _owned_now(self) -> Serving | None:
        """Take over from an owner that ended, if this engine may (take_over) and the lock is free."""
        with self._open_lock:  # not once closed: a closed engine never owns the index again
            if self._closed or not self._take_over or not self._lock.acquire(timeout=0.0):
                return None
            self._become_owner()
        if self._on_owner is not None:
            self._on_owner(self)
        return self._serving

    def _owned_after_wait(self) -> Engine:
        """Wait for the lock (an owner that takes no index runs of others) and own the index."""
        if not self._lock.acquire(timeout=self._wait, on_wait=self._on_wait):
            raise IndexBusyError(
                f"another codesearch process (pid {self._lock.holder_pid()}) kept the index busy "
                f"for {self._wait:.0f} s; try again when it is done"
            )
        self._become_owner()
        if self._on_owner is not None:
            self._on_owner(self)
        return self

    def accept_index_runs(
        self,
        accept: bool = True,
        progress: ProgressCallback | None = None,
        done: RunDoneCallback | None = None,
    ) -> None:
        """Whether this owner runs the index requests of other processes (a long-lived owner: the
        watcher turns it on). Turning it off ends a run under way at its next file. `progress`
        and `done` (its report, None when it failed or stopped, and its seconds) are told of
        each such run, as the asking process is, so that this process shows it too (the
        editor's progress of a language server). They are called from the thread of the run."""
        self._serving.accept_index_runs(accept, progress, done)

    def _identity(self) -> tuple[str, int]:
        known = None if self._embedder is not None else known_identity(self.settings)
        if known is not None:
            return known
        try:
            emb = self.embedder()
        except EmbeddingError:
            recorded = None if self._given_embedder else recorded_identity(self.settings, self.index_dir)
            if recorded is None:
                raise
            return recorded  # the server is down: its index is still searched lexically
        return emb.model_id, emb.dimensions

    @property
    def model_dir(self) -> Path:
        """Directory of the index built with the configured model, dimensions and store."""
        return self._dir_for(self.settings)

    def _dir_for(self, settings: Settings) -> Path:
        return model_dir(self.index_dir, self._identity(), settings)

    def embedder(self) -> Embedder:
        """The embedder, loaded on first use."""
        with self._open_lock:
            if self._embedder is None:
                failed = self._embedder_failed
                if failed is not None and time.monotonic() - failed[0] < EMBEDDER_RETRY_SECONDS:
                    raise type(failed[1])(str(failed[1]))  # a new one: tracebacks are per raise
                try:
                    self._embedder = make_embedder(self.settings)
                except EmbeddingError as exc:
                    self._embedder_failed = (time.monotonic(), exc)
                    raise
            return self._embedder

    def _open_store(self, create: bool) -> tuple[VectorStore, IndexState]:
        """The store and state of the configured model's index (LocalIndex.open_store; for
        tests and benchmarks that look inside an index)."""
        return self._local.open_store(create)

    # -- the work --------------------------------------------------------------------

    def index(self, progress: ProgressCallback | None = None) -> IndexReport:
        """Bring the index up to date with the files under the root.

        Once the progressive index's upgrade covers every file, it is kept current too (only
        changed files are embedded again); before that, `upgrade()` builds it.

        An engine opened with hand_off=True that does not own the index has the owner run it."""
        return self._index.index(progress)

    def update(self, paths: Iterable[str], progress: ProgressCallback | None = None) -> IndexReport:
        """Bring just these paths up to date (relative files or directories, created, changed or gone)."""
        rel = [p.replace(os.sep, "/").strip("/") for p in paths]
        return self._local.update([p for p in rel if p and not p.startswith("..")], progress)

    def upgrade_pending(self) -> list[str]:
        """Files the upgrade model's index lacks or has stale or should drop (empty: none, or no upgrade)."""
        return self._local.upgrades.pending()

    def upgraded(self) -> bool:
        """Whether searches use the upgrade model: its index covers every file of this one."""
        return self._local.upgrades.covers()

    def upgrade_status(self) -> UpgradeStatus | None:
        """How far the upgrade is: {model, files, of_files, searching}; None without one or an index."""
        return self._index.upgrade_status()

    def upgrade(self, progress: ProgressCallback | None = None, max_files: int = 0) -> IndexReport | None:
        """Build the next `max_files` pending files (0: all) into the upgrade model's index.

        None when nothing is pending. A kill loses nothing: what was written stays, the rest
        stays pending, and searches keep using this index until the upgrade covers every file."""
        return self._index.upgrade(progress, max_files)

    def _active(self) -> Engine:
        """The engine whose index answers searches: the upgrade once complete, else this one
        (for tests)."""
        return self._local.active()

    def indexing(self) -> RunStatus | None:
        """The index run under way in the owning process, None when none runs:
        {phase, files, of_files, partial}. `partial`: the index was not complete when the run
        began (a first index, or one resuming an interrupted run), so searches see part of it."""
        return self._index.indexing()

    # -- searching --------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: SearchFilters | None = None,
        mode: str | None = None,
    ) -> list[SearchHit]:
        """The k best units for a natural-language or code query, through the ranking layer."""
        mode, filters = check_query(query, mode, filters, self.settings.mode)
        return self._index.search(query, k or self.settings.k, filters, mode)

    def search_files(
        self,
        query: str,
        k: int | None = None,
        filters: SearchFilters | None = None,
        mode: str | None = None,
    ) -> list[FileHit]:
        """The k best files for a query: their units' scores summed with saturation."""
        mode, filters = check_query(query, mode, filters, self.settings.mode)
        return self._index.search_files(query, k or self.settings.k, filters, mode)

    def answer(
        self,
        query: str,
        k: int | None = None,
        filters: SearchFilters | None = None,
        mode: str | None = None,
        *,
        files: bool = False,
    ) -> Answer:
        """The hits (with `files`, the files) for a query, as every front end shows them.

        When the embedding server is not available (down, slow or answering junk) the
        lexical index answers alone and the answer says why, rather than the search failing:
        a front end shows lexical matches and a warning; the next query asks the server
        again (dense search comes back as soon as it answers). A lexical search's own failure, a local
        model that cannot load (a broken install), and every other error are raised as by
        `search`."""

        def ask(how: str | None) -> Answer:
            if files:
                return Answer(files=self.search_files(query, k, filters, how))
            return Answer(hits=self.search(query, k, filters, how))

        try:
            return ask(mode)
        except EmbeddingServerError as exc:  # not ModelLoadError: a broken install stays an error
            if (mode or self.settings.mode) == "lexical":
                raise
            return dataclasses.replace(ask("lexical"), embedding_error=str(exc) or type(exc).__name__)

    @property
    def has_index(self) -> bool:
        """Whether an index for the configured model exists yet."""
        return (self.model_dir / "state.sqlite").exists()

    def find_duplicates(self, changes: Sequence[ChangedFile] | None) -> DuplicateReport:
        """Duplicates the change introduces (against the index and each other), or, with None,
        every duplicate pair in the index. Suppressions are not applied here (codesearch.dupes.dupecheck)."""
        return self._index.find_duplicates(changes)

    def move_index(
        self, direction: Literal["export", "import"], progress: Callable[[int], None] | None = None
    ) -> dict[str, int]:
        """Copy this repository's index from the embedded store to the configured Qdrant server
        (export) or back (import); embeds nothing. {points, files_current, files_stale}."""
        if direction not in ("export", "import"):
            raise ConfigError(f"unknown direction {direction!r} of an index move; use export or import")
        server = dataclasses.replace(self.settings, store="qdrant", all_repositories=False)
        embedded = dataclasses.replace(self.settings, store="edge")
        source, destination = (embedded, server) if direction == "export" else (server, embedded)
        if not self.owner:
            raise IndexBusyError("another codesearch process owns this index; try again when it is done")
        src_dir, dst_dir = self._dir_for(source), self._dir_for(destination)
        if src_dir == dst_dir:
            raise ConfigError("the source and destination of the move are the same store")
        if not (src_dir / "state.sqlite").exists() and source.store == "edge":
            raise IndexNotFoundError(f"no embedded index of {self.root} yet; run `codesearch index`")
        real_dirs(self.index_dir, "indexes", dst_dir.name)
        return move_index(self.root, (source, src_dir), (destination, dst_dir), self._identity(), progress)

    def status(self) -> IndexStatus:
        """What is indexed, how fresh, with which model, where, and how big."""
        return self._index.status()

    # -- closing -----------------------------------------------------------------------

    def close(self) -> None:
        """Flush and release everything; the next process can own the index."""
        with self._open_lock:
            self._closed = True  # no take-over from here on (a search in flight may try one)
        self._serving.accept_index_runs(False, None, None)  # a run for another process ends at its next file
        if self._server is not None:
            self._server.close()
            self._server = None
        self._local.close()
        if self._embedder is not None:
            self._embedder.close()
        self.owner = False
        self._lock.release()

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
