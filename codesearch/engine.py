"""The facade every front end uses: open an index, bring it up to date, search it.

    with Engine.open(root) as engine:
        engine.index()
        hits = engine.search("retry a failed upload with backoff")

The engine that takes the owner lock opens the store and answers other
processes (codesearch.owner); an engine that finds the lock taken forwards its
searches and status requests to the owner instead. An owner that keeps running
(`codesearch watch`, an editor's server: `accept_index_runs`) also runs the index
requests of others (`Engine.open(write=True, hand_off=True)`), one at a time with
its own, and streams their progress back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, cast

import numpy as np

from codesearch import rpc
from codesearch.analysis import auto_workers
from codesearch.cache import EmbeddingCache, NoCache, VectorCache
from codesearch.config import Settings, load_settings
from codesearch.duplicates import DuplicateReport, find_in_change, find_in_repository, options_for
from codesearch.embedding import Embedder, index_slug, make_embedder
from codesearch.embedding.base import Vectors, normalize_rows
from codesearch.errors import (
    CodesearchError,
    ConfigError,
    EmbeddingError,
    EmbeddingServerError,
    IndexBusyError,
    IndexNotFoundError,
    IndexRunDeclinedError,
    OwnerGoneError,
)
from codesearch.gitstage import ChangedFile
from codesearch.indexer import Indexer, Progress, ProgressCallback, RunDoneCallback
from codesearch.lexical import query_vector
from codesearch.models import (
    Answer,
    FileHit,
    IndexReport,
    IndexStatus,
    RunStatus,
    SearchFilters,
    SearchHit,
    UpgradeStatus,
    content_hash,
)
from codesearch.moving import move_points
from codesearch.owner import OwnerLock, OwnerServer, Send, ask_owner, socket_path
from codesearch.parsing import units_version
from codesearch.ranking import analyse, dense_weight_for, rank, rank_files
from codesearch.safefs import (
    check_regular_or_absent,
    claim_index_dir,
    real_dir,
    real_dirs,
    refuse_tracked,
    write_new,
)
from codesearch.search import MODES, drop_shadowed_containers, fuse, match_paths, to_hit
from codesearch.state import IndexState
from codesearch.store import VectorStore, open_store, store_tag
from codesearch.store.base import StoreFilter

#: Longest query taken: a query is words or a snippet, not a file.
MAX_QUERY_CHARS = 4096
#: Units named by a symbol query fetched beside the two retrievers' candidates.
NAMED_LIMIT = 20
#: Units shown under each file of a file-level ranking.
FILE_HITS = 3
#: Seconds an embedder that could not be loaded (its server down) is not tried again: a
#: search that falls back to the lexical index costs one wait for the server, not two.
EMBEDDER_RETRY_SECONDS = 10.0

_GITIGNORE = "# Created by codesearch: the index is not part of the repository.\n*\n"


def _dir_size(path: Path) -> int:
    total = 0
    for p in path.rglob("*"):
        with contextlib.suppress(OSError):
            if p.is_file():
                total += p.stat().st_blocks * 512  # real usage: the store's files are sparse
    return total


#: Seconds a forwarding engine waits for a new owner after the last one ended.
OWNER_GONE_WAIT = 10.0


def _labelled(
    progress: ProgressCallback | None, upgrade: Engine, pending: int = 0
) -> ProgressCallback | None:
    """Progress of the upgrade's indexing, its phase naming the model it upgrades to."""
    if progress is None:
        return None
    model = upgrade._identity()[0]
    left = f", {pending} files to go" if pending else ""

    def report(p: Progress) -> None:
        progress(dataclasses.replace(p, phase=f"upgrading to {model}{left}: {p.phase}"))

    return report


def _tee(first: ProgressCallback | None, then: ProgressCallback) -> ProgressCallback:
    """A progress callback that tells `first` (if any), then `then`."""
    if first is None:
        return then

    def both(p: Progress) -> None:
        first(p)
        then(p)

    return both


class _Stopped(BaseException):
    """Raised from the progress callback of another process's index run to end it early
    (this owner stops, or that process went away); the index stays consistent."""


#: Seconds between the progress lines an owner sends for another process's index run.
PROGRESS_EVERY = 0.1


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
        self._store: VectorStore | None = None
        self._state: IndexState | None = None
        self._cache: VectorCache | None = None
        # A language server searches from one thread while its watcher indexes in another:
        # the store and the model are opened once, under this lock.
        self._open_lock = threading.RLock()
        self.owner = False
        self._take_over = False
        # Index runs: one at a time (the owner's own and those other processes hand it), the
        # one under way (for status and partial answers), and whether others may hand it runs.
        self._work_lock = threading.RLock()
        self._live: Progress | None = None
        self._live_partial = False
        self._runs_for_others = threading.Event()
        self._observers: tuple[ProgressCallback | None, RunDoneCallback | None] = (None, None)
        self._wait = 600.0
        self._on_wait: Callable[[int | None], None] | None = None
        # The progressive index: the transformer's index beside this (static) one.
        self._upgrade: Engine | None = None
        self._upgraded: bool | None = None  # the upgrade covers every file (None: not known yet)

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
    ) -> Engine:
        """Open the index of `root`. With write=True, wait (up to `wait` s) to own it.

        With take_over=True, an engine that forwards to an owner becomes the owner itself when
        that owner ends mid-request (a short-lived command; long-lived front ends do their own).
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
        engine._take_over = take_over
        engine._wait, engine._on_wait = wait, on_wait
        if engine._lock.acquire(timeout=0.0):
            engine._become_owner()
        elif write and hand_off:
            pass  # index runs are handed to the owner (codesearch.owner)
        elif write and engine._lock.acquire(timeout=wait, on_wait=on_wait):
            engine._become_owner()
        elif write:
            raise IndexBusyError(
                f"another codesearch process (pid {engine._lock.holder_pid()}) kept the index busy "
                f"for {wait:.0f} s; try again when it is done"
            )
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
            socket_path(self.index_dir), lambda request, send: self._handle(request, send, remote=True)
        )

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
        self._observers = (progress, done) if accept else (None, None)
        if accept:
            self._runs_for_others.set()
        else:
            self._runs_for_others.clear()

    def _identity(self) -> tuple[str, int]:
        if self.settings.backend == "local" and self._embedder is None:
            # The identity is known without loading the model.
            if self.settings.resolved_model() == "minilm":
                from codesearch.embedding.local import MINILM_MODEL_ID

                return MINILM_MODEL_ID, 384
            if self.settings.resolved_model() == "static":
                from codesearch.embedding.static import static_identity

                return static_identity()
        try:
            emb = self.embedder()
        except EmbeddingError:
            recorded = self._recorded_identity()
            if recorded is None:
                raise
            return recorded  # the server is down: its index is still searched lexically
        return emb.model_id, emb.dimensions

    def _recorded_identity(self) -> tuple[str, int] | None:
        """The identity of the index a server model built, without the server: its configured
        dimensions, or the one index directory of that model; None if not known so."""
        if self.settings.backend != "sglang" or self._given_embedder:
            return None
        from codesearch.embedding.openai_http import openai_model_id

        model_id = openai_model_id(self.settings.resolved_model())
        if self.settings.dimensions:
            return model_id, self.settings.dimensions
        prefix, tag = index_slug(model_id, 0).removesuffix("0d"), store_tag(self.settings)
        indexes = self.index_dir / "indexes"
        found = [
            int(dims)
            for p in (indexes.iterdir() if indexes.is_dir() else ())
            if p.name.startswith(prefix)
            and p.name.endswith("d" + tag)
            and (dims := p.name[len(prefix) : len(p.name) - len(tag) - 1]).isdigit()
        ]
        return (model_id, found[0]) if len(found) == 1 else None

    @property
    def model_dir(self) -> Path:
        """Directory of the index built with the configured model, dimensions and store."""
        return self._dir_for(self.settings)

    def _dir_for(self, settings: Settings) -> Path:
        model_id, dims = self._identity()
        return self.index_dir / "indexes" / (index_slug(model_id, dims) + store_tag(settings))

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
        with self._open_lock:
            if self._store is None or self._state is None:
                directory = self.model_dir
                if not self.has_index and not create:
                    raise IndexNotFoundError(
                        f"no index of {self.root} for model {self._identity()[0]} yet; run `codesearch index`"
                    )
                real_dirs(self.index_dir, "indexes", directory.name)
                for suffix in ("", "-wal", "-shm", "-journal"):
                    check_regular_or_absent(directory / f"state.sqlite{suffix}")
                model_id, dims = self._identity()
                # The store first: a server that does not answer leaves nothing recorded.
                self._store = open_store(self.settings, directory, self.root, model_id, dims, repair=create)
                self._state = IndexState(directory / "state.sqlite", repair=create)
                if self._state.get_meta("model") is None:
                    self._state.set_meta(model=model_id, dimensions=str(dims), created=str(time.time()))
            return self._store, self._state

    def _cache_for(self) -> VectorCache:
        with self._open_lock:
            if self._cache is None:
                if self._cheap_model():
                    self._cache = NoCache()
                else:
                    model_id, dims = self._identity()
                    self._cache = EmbeddingCache(self.settings.resolved_cache_dir(), model_id, dims)
            return self._cache

    def _cheap_model(self) -> bool:
        """The static table: embedding again is cheaper than the shared cache's lookups."""
        return (
            not self._given_embedder
            and self.settings.backend == "local"
            and self.settings.resolved_model() == "static"
        )

    # -- the work --------------------------------------------------------------------

    def index(self, progress: ProgressCallback | None = None) -> IndexReport:
        """Bring the index up to date with the files under the root.

        Once the progressive index's upgrade covers every file, it is kept current too (only
        changed files are embedded again); before that, `upgrade()` builds it.

        An engine opened with hand_off=True that does not own the index has the owner run it."""
        if not self.owner:
            reply = self._hand_off({"op": rpc.INDEX}, progress)
            with rpc.reading_reply():
                report = rpc.read_report(reply)
                if report is None:
                    raise TypeError("an index run answered no report")
                return report
        with self._work_lock:
            upgraded = self.upgraded()
            report = self._run(progress, None)
            if upgraded and self._upgrade is not None:
                self._upgrade.index(_labelled(progress, self._upgrade))
            self._upgraded = None
            return report

    def update(self, paths: Iterable[str], progress: ProgressCallback | None = None) -> IndexReport:
        """Bring just these paths up to date (relative files or directories, created, changed or gone)."""
        rel = [p.replace(os.sep, "/").strip("/") for p in paths]
        wanted = [p for p in rel if p and not p.startswith("..")]
        with self._work_lock:
            report = self._run(progress, wanted)
            upgrade = self._upgrade_engine()
            if upgrade is not None and upgrade.has_index:
                upgrade.update(wanted, _labelled(progress, upgrade))
            self._upgraded = None
            return report

    # -- the progressive index -----------------------------------------------------------

    def _upgrade_engine(self) -> Engine | None:
        """The engine of the upgrade model's index (same root and index directory, same lock)."""
        settings = None if self._given_embedder else self.settings.upgrade_settings()
        if settings is None:
            return None
        with self._open_lock:
            if self._upgrade is None:
                self._upgrade = Engine(self.root, settings)
            self._upgrade.owner = self.owner  # this engine holds the lock for both
            return self._upgrade

    def _adopt_parser(self) -> None:
        """Adopt this release's parser in an index that only file-by-file runs keep (the
        upgrade's, which never has a full run to notice a new parser): its files then look
        changed, so the upgrade builds each again, with the embeddings of unchanged texts from
        the cache."""
        if self.has_index:
            self._open_store(create=False)[1].adopt_parser(units_version())

    def upgrade_pending(self) -> list[str]:
        """Files the upgrade model's index lacks or has stale or should drop (empty: none, or no upgrade)."""
        upgrade = self._upgrade_engine()
        if upgrade is None or not self.has_index:
            return []
        _, state = self._open_store(create=False)
        mine = state.files()
        if not upgrade.has_index:
            return sorted(mine)
        _, theirs_state = upgrade._open_store(create=False)
        theirs = theirs_state.files()
        stale = [
            p for p, rec in mine.items() if p not in theirs or theirs[p].content_hash != rec.content_hash
        ]
        return sorted(stale + [p for p in theirs if p not in mine])

    def upgraded(self) -> bool:
        """Whether searches use the upgrade model: its index covers every file of this one."""
        if self._upgraded is None:
            upgrade = self._upgrade_engine()
            self._upgraded = bool(
                upgrade is not None and upgrade.has_index and self.has_index and not self.upgrade_pending()
            )
        return self._upgraded

    def upgrade_status(self) -> UpgradeStatus | None:
        """How far the upgrade is: {model, files, of_files, searching}; None without one or an index."""
        if not self.owner:
            return self.status().get("upgrade")
        upgrade = self._upgrade_engine()
        if upgrade is None or not self.has_index:
            return None
        pending = len(self.upgrade_pending())
        files = self._open_store(create=False)[1].counts()[0]
        self._upgraded = upgrade.has_index and not pending
        return {
            "model": upgrade._identity()[0],
            "files": files - min(files, pending),
            "of_files": files,
            "searching": self._upgraded,
        }

    def upgrade(self, progress: ProgressCallback | None = None, max_files: int = 0) -> IndexReport | None:
        """Build the next `max_files` pending files (0: all) into the upgrade model's index.

        None when nothing is pending. A kill loses nothing: what was written stays, the rest
        stays pending, and searches keep using this index until the upgrade covers every file."""
        if not self.owner:
            reply = self._hand_off({"op": rpc.UPGRADE, "max_files": max_files}, progress)
            with rpc.reading_reply():
                return rpc.read_report(reply)
        with self._work_lock:
            upgrade = self._upgrade_engine()
            if upgrade is not None:
                upgrade._adopt_parser()
            pending = self.upgrade_pending()
            if upgrade is None or not pending:
                return None
            batch = pending[:max_files] if max_files else pending
            report = upgrade.update(batch, _labelled(progress, upgrade, len(pending)))
            self._upgraded = None
            return report

    def _active(self) -> Engine:
        """The engine whose index answers searches: the upgrade once complete, else this one."""
        return self._upgrade if self.upgraded() and self._upgrade is not None else self

    def _run(self, progress: ProgressCallback | None, only: list[str] | None) -> IndexReport:
        if not self.owner:
            raise IndexBusyError("this engine does not own the index; open it with write=True")
        if self.settings.backend == "sglang" and not self._given_embedder:
            self.embedder()  # a server that is down fails the run before it starts (searches need not)
        store, state = self._open_store(create=True)
        indexer = Indexer(
            self.root,
            store,
            state,
            self.embedder,
            self._cache_for(),
            exclude=self.settings.exclude,
            max_file_bytes=self.settings.max_file_bytes,
            max_file_tokens=self.settings.max_file_tokens,
            include_secrets=self.settings.include_secrets,
            batch_units=self.settings.batch_units,
            workers=auto_workers(self.settings.index_workers),
            static=self._cheap_model(),
        )

        def track(p: Progress) -> None:
            self._live = dataclasses.replace(p)
            if progress is not None:
                progress(p)

        # Searches meanwhile see part of the index when it was not complete before this run.
        self._live_partial = state.get_meta("run") != "complete"
        self._live = Progress("starting")
        try:
            report = indexer.run(track, only)
            self._maybe_quantize(store, state, report.units, progress)
        finally:
            self._live = None
        return report

    def indexing(self) -> RunStatus | None:
        """The index run under way in the owning process, None when none runs:
        {phase, files, of_files, partial}. `partial`: the index was not complete when the run
        began (a first index, or one resuming an interrupted run), so searches see part of it."""
        if not self.owner:
            try:
                found = self._ask({"op": rpc.INDEXING}).get("indexing")
            except IndexBusyError:
                raise
            except CodesearchError:  # an owner of an older version, which cannot tell
                return None
            return cast(RunStatus, dict(found)) if isinstance(found, dict) else None
        live = self._live
        if live is None:
            return None
        return {
            "phase": live.phase,
            "files": live.files_done,
            "of_files": live.files_total,
            "partial": self._live_partial,
        }

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
        if count >= self.settings.quantize_threshold and count > done * 1.2:
            if progress:
                progress(Progress("quantising the vectors", units_done=count))
            store.optimize()
            state.set_meta(quantized_points=str(count))

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: SearchFilters | None = None,
        mode: str | None = None,
    ) -> list[SearchHit]:
        """The k best units for a natural-language or code query, through the ranking layer."""
        k = k or self.settings.k
        mode, filters = self._check_query(query, mode, filters)
        if not self.owner:
            reply = self._ask(rpc.search_request(rpc.SEARCH, query, k, mode, filters))
            with rpc.reading_reply():
                return rpc.read_hits(reply)
        cfg = self.settings.ranking_config()
        rows = rank(query, self._fused(query, max(50, k * 5), filters, mode), cfg)
        return self._with_snippets([self._select_hits(rows, k)])[0]

    def search_files(
        self,
        query: str,
        k: int | None = None,
        filters: SearchFilters | None = None,
        mode: str | None = None,
    ) -> list[FileHit]:
        """The k best files for a query: their units' scores summed with saturation."""
        k = k or self.settings.k
        mode, filters = self._check_query(query, mode, filters)
        if not self.owner:
            reply = self._ask(rpc.search_request(rpc.SEARCH_FILES, query, k, mode, filters))
            with rpc.reading_reply():
                return rpc.read_files(reply)
        cfg = self.settings.ranking_config()
        ranked = rank_files(query, self._fused(query, max(100, k * 10), filters, mode), cfg)
        per_file = self._with_snippets([self._select_hits(rows, FILE_HITS) for _, _, rows in ranked[:k]])
        return [
            FileHit(path, hits[0].language if hits else "", score, tuple(hits))
            for (path, score, _), hits in zip(ranked[:k], per_file, strict=True)
        ]

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

    @staticmethod
    def _select_hits(rows: Sequence[Any], limit: int) -> list[tuple[SearchHit, int, bool]]:
        """The first `limit` hits of ranked rows that no better hit shadows, each with its point
        id and whether its candidate came without a snippet."""
        origin: dict[int, tuple[int, bool]] = {}

        def hits() -> Iterator[SearchHit]:
            for c, s, d, lx in rows:
                hit = to_hit(c, s, d, lx)
                origin[id(hit)] = (c.id, "snippet" not in c.payload)
                yield hit

        return [(h, *origin[id(h)]) for h in drop_shadowed_containers(hits(), limit=limit)]

    def _with_snippets(
        self, groups: Sequence[Sequence[tuple[SearchHit, int, bool]]]
    ) -> list[list[SearchHit]]:
        """The hits, with the snippets the store left out of its candidates read for them alone
        (a search reads no snippet of the many candidates it ranks)."""
        wanted = [point for group in groups for _, point, missing in group if missing]
        snippets = self._open_store(create=False)[0].snippets(wanted) if wanted else {}
        return [
            [
                dataclasses.replace(h, snippet=snippets.get(point, "")) if missing else h
                for h, point, missing in group
            ]
            for group in groups
        ]

    def _check_query(
        self, query: str, mode: str | None, filters: SearchFilters | None
    ) -> tuple[str, SearchFilters]:
        mode = mode or self.settings.mode
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

    def _fused(self, query: str, limit: int, filters: SearchFilters, mode: str) -> list[Any]:
        """Candidates of both retrievers, fused; for a symbol query, also the units named by it."""
        active = self._active()
        store, state = active._open_store(create=False)
        paths: tuple[str, ...] = ()
        if filters.paths:
            paths = tuple(match_paths(filters.paths, state.paths()))
            if not paths:
                return []
        cfg = self.settings.ranking_config()
        dense = active.embedder().embed_query(query) if mode != "lexical" else None
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
            dense_weight=dense_weight_for(query, active.settings.resolved_dense_weight(), cfg),
            rrf_k=self.settings.rrf_k,
            fusion=self.settings.fusion,
        )

    @property
    def has_index(self) -> bool:
        """Whether an index for the configured model exists yet."""
        return (self.model_dir / "state.sqlite").exists()

    def find_duplicates(self, changes: Sequence[ChangedFile] | None) -> DuplicateReport:
        """Duplicates the change introduces (against the index and each other), or, with None,
        every duplicate pair in the index. Suppressions are not applied here (codesearch.dupecheck)."""
        if not self.owner:
            encoded = None if changes is None else rpc.encode_changes(changes)
            reply = self._ask({"op": rpc.DUPLICATES, "changes": encoded})
            with rpc.reading_reply():
                return DuplicateReport.from_json(reply["report"])
        store, state = self._open_store(create=False)
        s = self.settings
        opts = options_for(s.dupes_min_tokens, s.dupes_min_jaccard, s.dupes_threshold, self._identity()[0])
        if changes is None:
            return find_in_repository(store, state, opts)
        return find_in_change(
            self.root,
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
        hashes = [content_hash(t) for t in texts]
        wanted = {h: t for h, t in zip(hashes, texts, strict=True) if t.strip()}
        found, _ = self._cache_for().through(wanted, lambda batch: self.embedder().embed_documents(batch))
        dims = self._identity()[1]
        rows = [found.get(h, np.zeros(dims, dtype=np.float32)) for h in hashes]
        return normalize_rows(np.array(rows, dtype=np.float32).reshape(len(rows), dims))

    def move_index(
        self, source: Settings, destination: Settings, progress: Callable[[int], None] | None = None
    ) -> dict[str, int]:
        """Copy this repository's index from one store to another (export/import); embeds nothing."""
        if not self.owner:
            raise IndexBusyError("another codesearch process owns this index; try again when it is done")
        src_dir, dst_dir = self._dir_for(source), self._dir_for(destination)
        if src_dir == dst_dir:
            raise ConfigError("the source and destination of the move are the same store")
        if not (src_dir / "state.sqlite").exists() and source.store == "edge":
            raise IndexNotFoundError(f"no embedded index of {self.root} yet; run `codesearch index`")
        model_id, dims = self._identity()
        real_dirs(self.index_dir, "indexes", dst_dir.name)
        src = open_store(source, src_dir, self.root, model_id, dims)
        try:
            dst = open_store(destination, dst_dir, self.root, model_id, dims)
            try:
                state = IndexState(dst_dir / "state.sqlite")
                try:
                    state.set_meta(model=model_id, dimensions=str(dims), created=str(time.time()))
                    moved = move_points(self.root, src, dst, state, progress)
                    # The parser that cut the points: the one the source recorded; a store whose
                    # state is elsewhere (a teammate's server) is taken to be this release's, as
                    # analysing every file again would embed everything anew (an empty cache).
                    state.set_meta(units=self._units_version_of(src_dir) or "")  # "": not known
                    return moved
                finally:
                    state.close()
            finally:
                dst.close()
        finally:
            src.close()

    @staticmethod
    def _units_version_of(directory: Path) -> str | None:
        """The parser version the index in `directory` recorded (None: none recorded); this
        release's when there is no state there."""
        if not (directory / "state.sqlite").exists():
            return units_version()
        state = IndexState(directory / "state.sqlite")
        try:
            return state.get_meta("units")
        finally:
            state.close()

    def status(self) -> IndexStatus:
        """What is indexed, how fresh, with which model, where, and how big."""
        if not self.owner:
            reply = self._ask({"op": rpc.STATUS})
            with rpc.reading_reply():
                return cast(IndexStatus, dict(reply["status"]))
        model_id, dims = self._identity()
        info: IndexStatus = {
            "root": str(self.root),
            "index_dir": str(self.index_dir),
            "backend": self.settings.backend,
            "model": model_id,
            "dimensions": dims,
            "store": self.settings.store
            if self.settings.store == "edge"
            else f"qdrant {self.settings.qdrant_url or self.settings.qdrant_path}",
            "indexed": False,
        }
        directory = self.model_dir
        others = self.index_dir / "indexes"
        info["other_indexes"] = (
            sorted(p.name for p in others.iterdir() if p.name != directory.name) if others.is_dir() else []
        )
        if not self.has_index:
            return info
        store, state = self._open_store(create=False)
        files, units, by_kind, by_lang = state.counts()
        last = state.get_meta("last_indexed")
        info.update(
            {
                "indexed": True,
                "files": files,
                "units": units,
                "store_points": store.count(),
                "pending": len(state.pending()),
                "units_by_kind": by_kind,
                "units_by_language": by_lang,
                "last_indexed": float(last) if last else None,
                "age_seconds": round(time.time() - float(last), 1) if last else None,
                "complete": state.get_meta("run") == "complete",
                "size_bytes": _dir_size(directory),
            }
        )
        live = self.indexing()
        if live is not None:
            info["indexing"] = live
        upgrade = self.upgrade_status()
        if upgrade is not None:
            info["upgrade"] = upgrade
        return info

    # -- serving other processes ---------------------------------------------------------

    def _ask(
        self,
        request: dict[str, Any],
        on_progress: Callable[[dict[str, Any]], None] | None = None,
        timeout: float | None = 60.0,
    ) -> dict[str, Any]:
        request["root"] = str(self.root)
        deadline: float | None = None
        while True:
            try:
                reply = ask_owner(socket_path(self.index_dir), request, timeout, on_progress)
                rpc.raise_error(reply)
                break
            except OwnerGoneError:
                # The owner ended (a short-lived command, or one that stopped during an index
                # run it was asked for) or has not started answering yet.
                if self._take_over and self._lock.acquire(timeout=0.0):
                    self._become_owner()

                    def send(message: dict[str, Any]) -> None:
                        if on_progress is not None and isinstance(message.get("progress"), dict):
                            on_progress(message["progress"])

                    return self._handle(request, send)
                deadline = deadline or time.monotonic() + OWNER_GONE_WAIT
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)
        with rpc.reading_reply():
            rpc.check_paths(self.root, reply)
        return reply

    def _hand_off(self, request: dict[str, Any], progress: ProgressCallback | None) -> dict[str, Any]:
        """Have the owner run an index request, its progress shown here; where the owner takes
        no index runs, wait for the lock and run it here."""

        def show(raw: dict[str, Any]) -> None:
            p = rpc.read_progress(raw)
            if progress is not None and p is not None:
                progress(p)

        try:
            return self._ask(request, show, timeout=None)
        except IndexRunDeclinedError:
            pass
        except IndexBusyError:
            raise
        except CodesearchError as exc:
            if not rpc.unknown_operation(exc):  # else an owner of an older version: wait for it
                raise
        if not self._lock.acquire(timeout=self._wait, on_wait=self._on_wait):
            raise IndexBusyError(
                f"another codesearch process (pid {self._lock.holder_pid()}) kept the index busy "
                f"for {self._wait:.0f} s; try again when it is done"
            )
        self._become_owner()
        report = (
            self.index(progress)
            if request["op"] == rpc.INDEX
            else self.upgrade(progress, int(request.get("max_files") or 0))
        )
        return rpc.report_reply(report)

    def _run_for(self, request: dict[str, Any], send: Send | None, remote: bool) -> dict[str, Any]:
        """An index run asked for by another process (remote) or by this one after taking over."""
        if remote and not self._runs_for_others.is_set():
            raise IndexRunDeclinedError(
                f"the process that owns this index (pid {os.getpid()}) takes no index runs of others"
            )
        last: list[Any] = [0.0, ""]  # when the last line was sent, and its phase
        # This process is told of the index runs it makes for others (not of upgrade steps,
        # which its own watcher shows), from their first file to their end, failed or not.
        indexing = request.get("op") == rpc.INDEX
        observe, observed = self._observers if remote and indexing else (None, None)

        def relay(p: Progress) -> None:
            if remote and not self._runs_for_others.is_set():
                raise _Stopped
            now = time.monotonic()
            if send is not None and (p.phase != last[1] or now - last[0] >= PROGRESS_EVERY):
                last[:] = [now, p.phase]
                try:
                    send(rpc.progress_message(p))
                except OSError:  # the asking process went away (Ctrl-C): stop, as Ctrl-C does
                    raise _Stopped from None

        try:
            if not self._work_lock.acquire(blocking=False):
                relay(
                    Progress(
                        f"waiting: the process that owns this index (pid {os.getpid()}) is "
                        "indexing; this run follows"
                    )
                )
                self._work_lock.acquire()
            started = time.perf_counter()
            report: IndexReport | None = None
            try:
                if indexing:
                    report = self.index(_tee(observe, relay))
                else:
                    report = self.upgrade(relay, int(request.get("max_files") or 0))
            finally:
                self._work_lock.release()
                if observed is not None:
                    observed(report, time.perf_counter() - started)
        except _Stopped:
            raise OwnerGoneError(
                "the process that owned this index stopped during the index run; try again"
            ) from None
        return rpc.report_reply(report)

    def _handle(
        self, request: dict[str, Any], send: Send | None = None, remote: bool = False
    ) -> dict[str, Any]:
        """The reply to a request of another process (remote) or of this one after taking over."""
        op = request.get("op")
        if op in (rpc.INDEX, rpc.UPGRADE):
            return self._run_for(request, send, remote)
        answer = self._operations.get(str(op))
        if answer is None:
            return rpc.error_reply(f"unknown request {op!r}")
        return answer(request)

    @property
    def _operations(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        """What answers each operation other than the index runs (rpc.OPERATIONS)."""
        return {
            rpc.INDEXING: lambda _: {"indexing": self.indexing()},
            rpc.SEARCH: lambda r: rpc.hits_reply(self.search(*rpc.search_args(r))),
            rpc.SEARCH_FILES: lambda r: rpc.files_reply(self.search_files(*rpc.search_args(r))),
            rpc.STATUS: lambda _: {"status": self.status()},
            rpc.DUPLICATES: lambda r: {
                "report": self.find_duplicates(
                    None if r.get("changes") is None else rpc.decode_changes(r["changes"])
                ).to_json()
            },
        }

    # -- closing -----------------------------------------------------------------------

    def close(self) -> None:
        """Flush and release everything; the next process can own the index."""
        self._runs_for_others.clear()  # a run for another process ends at its next file
        if self._upgrade is not None:
            self._upgrade.close()
            self._upgrade = None
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._state is not None:
            self._state.close()
            self._state = None
        if self._cache is not None:
            self._cache.close()
            self._cache = None
        if self._embedder is not None:
            self._embedder.close()
        self._lock.release()

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
