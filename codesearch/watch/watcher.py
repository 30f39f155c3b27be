"""File events -> engine.update(): keep an index current while files change.

    with Engine.open(root, write=True) as engine:
        Watcher(engine, on_update=print).run_forever()

Two threads besides the caller's:

    watchdog observer (inotify) -> relative path -> ignore rules -> DirtyPaths (coalesced, debounced)
    worker (the only thread of the watcher that calls the engine):
        engine.index() to catch up, then engine.update(batch) per due batch,
        engine.index() again after a lost-event condition; a health check when idle

The engine also runs the `codesearch index` of other processes (accept_index_runs), one
at a time with the worker's calls.

What is watched (watches.py): each top-level directory discovery walks, so `.git/`,
`node_modules/` and the index's own writes raise no event; events are debounced per path
(debounce.py). Too many dirty paths, a kernel queue overflow, a dead observer or a root that
came back turn into one full `engine.index()` (a size/mtime walk) instead of a crash.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from watchdog.events import FileSystemEvent, FileSystemMovedEvent

from codesearch.config import Settings
from codesearch.errors import EmbeddingServerError, ModelLoadError, StoreError, WatchError
from codesearch.indexing.indexer import Progress, ProgressCallback, RunDoneCallback
from codesearch.indexing.pathfilter import IGNORE_FILES, PathFilter
from codesearch.models import IndexReport
from codesearch.watch.debounce import ALL, Batch, DirtyPaths
from codesearch.watch.watches import EventSink, WatchdogLog, Watches, dir_identity

_log = logging.getLogger("codesearch.watch")

#: Files built into the progressive index's upgrade per step; file events are handled between steps.
UPGRADE_FILES_PER_STEP = 8


class Indexable(Protocol):
    """What the watcher needs of an engine that owns its index (`codesearch.Engine`)."""

    root: Path
    index_dir: Path
    settings: Settings
    owner: bool

    def index(self, progress: ProgressCallback | None = None) -> IndexReport:
        """Bring the whole index up to date."""
        ...

    def update(self, paths: Iterable[str], progress: ProgressCallback | None = None) -> IndexReport:
        """Bring these relative paths (files or directories) up to date."""
        ...

    def upgrade(self, progress: ProgressCallback | None = None, max_files: int = 0) -> IndexReport | None:
        """Build the next files into the upgrade's index; None when nothing is pending."""
        ...

    def accept_index_runs(
        self,
        accept: bool = True,
        progress: ProgressCallback | None = None,
        done: RunDoneCallback | None = None,
    ) -> None:
        """Whether the engine runs the index requests of other processes (one at a time with
        ours), telling `progress` and `done` of each."""
        ...


@dataclass(frozen=True, slots=True)
class WatchUpdate:
    """One call into the engine: what triggered it and what it did."""

    #: "catch-up", "update", "rescan", "upgrade" (a step of the progressive index) or
    #: "requested" (a `codesearch index` another process handed to this one)
    kind: str
    paths: tuple[str, ...]  # what was re-checked (empty for a whole-tree pass)
    reason: str  # why a whole-tree pass ran; "" for an update
    report: IndexReport
    seconds: float
    finished_at: float  # time.time() when the engine returned


class _Stopping(BaseException):
    """Raised from the progress callback to end an engine call early, as Ctrl-C does."""


class Watcher:
    """Keeps an owned index current as files under its root change.

    `on_update` is called (from the worker thread) after each engine call, and (from the
    owner's server thread) after an index run another process handed over; `progress` is
    told of both kinds of run; `on_notice` with a sentence for the user when something
    unusual happens.
    """

    def __init__(
        self,
        engine: Indexable,
        *,
        debounce: float = 0.3,
        max_wait: float = 2.0,
        max_paths: int = 5000,
        full_pass_above: int = 500,
        health_interval: float = 5.0,
        on_update: Callable[[WatchUpdate], None] | None = None,
        on_notice: Callable[[str], None] | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.engine = engine
        self.root = engine.root
        self._prefix = str(self.root) + os.sep
        self._on_update = on_update
        self._on_notice = on_notice
        self._progress_cb = progress
        self._health_interval = health_interval
        self._full_pass_above = full_pass_above
        # The progressive index: set when nothing is left to upgrade (checked again after a rescan).
        self._upgrade_done = False
        self._dirty = DirtyPaths(debounce, max_wait, max_paths)
        self._filter = _event_filter(self.root, engine.settings)
        sink = EventSink(self._on_event, self.request_rescan, self._fail)
        self._watching = Watches(self.root, sink, self._notice, self._dirty.add)
        self._log = WatchdogLog(self.request_rescan)
        self._resync = False
        self._check_now = False
        self._root_id = dir_identity(self.root)
        self._root_missing = False
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._worker = threading.Thread(target=self._work, name="codesearch-watch", daemon=True)

    # -- life cycle -----------------------------------------------------------------

    def start(self) -> None:
        """Start watching, then catch up (in the worker): nothing changed meanwhile is missed."""
        if not self.engine.owner:
            raise WatchError("another codesearch process owns this index; open the engine with write=True")
        # A long-lived owner: a `codesearch index` of another process is run here (the engine
        # runs it and this worker's calls one at a time) instead of waiting for the lock.
        self.engine.accept_index_runs(True, self._progress_cb, self._requested_done)
        logging.getLogger("watchdog").addHandler(self._log)
        self._watching.start(self._filter)
        self._worker.start()

    def stop(self) -> None:
        """Stop watching; an engine call in progress ends at its next file, like Ctrl-C."""
        self._stopping.set()
        self._dirty.close()
        self.engine.accept_index_runs(False)  # a run for another process ends too (it resumes there)
        while self._worker.is_alive():
            try:
                self._worker.join()
            except KeyboardInterrupt:  # the index stays consistent only if the engine call ends first
                self._notice("stopping: finishing the file being indexed…")
        self._watching.stop()
        logging.getLogger("watchdog").removeHandler(self._log)

    def run_forever(self) -> None:
        """Watch until Ctrl-C or SIGTERM, then stop cleanly; re-raises a fatal worker error."""
        in_main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler) if in_main else None
        try:
            self.start()
            self._done.wait()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
            if in_main:
                signal.signal(signal.SIGTERM, previous)
        if self._error is not None:
            raise self._error

    def __enter__(self) -> Watcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the catch-up pass is done (or the worker ended)."""
        return self._ready.wait(timeout)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued and no engine call runs (events still in flight are not seen)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._ready.is_set() and self._dirty.idle:
                return True
            time.sleep(0.02)
        return False

    def wait_done(self, timeout: float | None = None) -> bool:
        """Wait until the worker ended (stopped, or a fatal error: see `error`)."""
        return self._done.wait(timeout)

    @property
    def error(self) -> BaseException | None:
        """The error that ended the worker, if one did."""
        return self._error

    def _fail(self, exc: BaseException) -> None:
        """End the watcher with a bug's exception (raised again by `run_forever`)."""
        if self._error is None:
            self._error = exc
        self._stopping.set()
        self._dirty.close()

    def request_rescan(self, reason: str) -> None:
        """Queue a whole-tree pass (size/mtime walk; only changed files are read)."""
        self._dirty.add(ALL, reason)

    # -- events (watchdog's thread) -------------------------------------------------

    def _on_event(self, event: FileSystemEvent) -> None:
        if event.is_synthetic:  # the files of a moved or created directory: the directory is queued
            return
        paths = [event.src_path]
        if isinstance(event, FileSystemMovedEvent) and event.dest_path:
            paths.append(event.dest_path)
        for raw in paths:
            path = os.fsdecode(raw)
            if path == str(self.root):  # the root itself was deleted or moved
                self._check_now = True
                self._dirty.poke()
                continue
            if not path.startswith(self._prefix):
                continue
            rel = path[len(self._prefix) :].replace(os.sep, "/")
            parent, _, name = rel.rpartition("/")
            if name in IGNORE_FILES and not event.is_directory:  # the rules of a whole directory changed
                if parent and self._filter.ignored(parent, is_dir=True):
                    continue
                self._filter.forget()
                self._resync = self._resync or not parent
                self._dirty.add(parent, f"{rel} changed")
                continue
            if self._filter.ignored(rel, event.is_directory):
                continue
            if event.is_directory:  # cached ignore files may now belong to other paths
                self._filter.forget()
                if not parent:
                    self._resync = True
                    self._dirty.poke()
            self._dirty.add(rel)

    # -- the worker -----------------------------------------------------------------

    def _work(self) -> None:
        try:
            self._run(Batch((), full=True, reason="catch up with changes made while nothing watched"))
            self._ready.set()
            next_check = time.monotonic() + self._health_interval
            while not self._stopping.is_set():
                if self._resync:
                    self._resync = False
                    if not self._watching.sync():  # the root could not be read
                        self._check_now = True
                if self._check_now or time.monotonic() >= next_check:
                    self._check_now = False
                    self._check_health()
                    next_check = time.monotonic() + self._health_interval
                upgrading = self._upgrading()
                batch = self._dirty.next_batch(0.0 if upgrading else max(0.0, next_check - time.monotonic()))
                if batch is not None:
                    try:
                        self._run(batch)
                    finally:
                        self._dirty.done()
                elif upgrading:
                    self._upgrade_step()
        except _Stopping:
            pass
        except BaseException as exc:  # noqa: BLE001 -- reported by run_forever in the caller's thread
            self._error = exc
        finally:
            self._ready.set()
            self._done.set()

    def _progress(self, progress: Progress) -> None:
        if self._stopping.is_set():
            raise _Stopping
        if self._progress_cb is not None:
            self._progress_cb(progress)

    def _run(self, batch: Batch) -> None:
        if len(batch.paths) > self._full_pass_above:  # one size/mtime walk beats that many path checks
            batch = Batch((), full=True, reason=f"{len(batch.paths)} paths changed at once")
        kind = "update" if not batch.full else "rescan" if self._ready.is_set() else "catch-up"
        delay = 1.0
        while True:
            started = time.perf_counter()
            try:
                if batch.full:
                    report = self.engine.index(self._progress)
                else:
                    report = self.engine.update(batch.paths, self._progress)
                break
            except (EmbeddingServerError, StoreError) as exc:  # may pass: a server restarts, space frees up
                self._notice(f"{kind} failed: {exc}; trying again in {delay:.0f} s")
                if self._stopping.wait(delay):
                    raise _Stopping from None
                delay = min(delay * 2, 60.0)
        seconds = time.perf_counter() - started
        self._upgrade_done = False  # new or changed files may be left to upgrade
        if self._on_update is not None:
            self._on_update(WatchUpdate(kind, batch.paths, batch.reason, report, seconds, time.time()))

    def _requested_done(self, report: IndexReport | None, seconds: float) -> None:
        """An index run another process asked for has ended (in the thread that ran it for that
        process): an update, or, when it failed or was stopped, a last progress of phase
        "stopped" so that a progress display ends."""
        self._upgrade_done = False  # the files it indexed may be left to upgrade
        if report is None:
            if self._progress_cb is not None:
                self._progress_cb(Progress("stopped"))
            return
        if self._on_update is not None:
            reason = "asked for by another codesearch process"
            self._on_update(WatchUpdate("requested", (), reason, report, seconds, time.time()))

    def _upgrading(self) -> bool:
        """Whether the progressive index may still have files to build into the transformer's index
        (the next step finds out: `engine.upgrade` answers None when nothing is pending)."""
        return not self._upgrade_done

    def _upgrade_step(self) -> None:
        """Build the next few files into the upgrade model's index; file events come first."""
        started = time.perf_counter()
        try:
            report = self.engine.upgrade(self._progress, max_files=UPGRADE_FILES_PER_STEP)
        except (EmbeddingServerError, StoreError, ModelLoadError) as exc:
            self._notice(f"upgrade of the index paused: {exc}")
            self._upgrade_done = True
            return
        self._upgrade_done = report is None
        if report is not None and self._on_update is not None:
            seconds = time.perf_counter() - started
            self._on_update(WatchUpdate("upgrade", (), "progressive index", report, seconds, time.time()))

    def _notice(self, message: str) -> None:
        if self._on_notice is not None:
            self._on_notice(message)

    def _check_health(self) -> None:
        """Root still there and the same directory, observer alive: else re-watch and rescan."""
        ident = dir_identity(self.root)
        if ident is None:
            if not self._root_missing:
                self._root_missing = True
                self._notice(f"{self.root} is gone; waiting for it to come back (Ctrl-C stops)")
            return
        if ident != self._root_id:
            if self.engine.index_dir.resolve().is_relative_to(self.root):
                raise WatchError(
                    f"{self.root} was moved or replaced while watched, and its index with it; "
                    "start `codesearch watch` again"
                )
            self._root_id = ident
            self._restart(f"{self.root} was replaced")
        elif self._root_missing:
            self._restart(f"{self.root} came back")
        else:
            if not self._watching.sync():
                self._check_now = True
            if self._watching.exclude_changed():  # the rules of the whole tree changed
                self._filter.forget()
                self._resync = True
                self.request_rescan(".git/info/exclude changed")
            if not self._watching.alive():
                self._restart("the file watcher stopped")
        self._root_missing = False

    def _restart(self, reason: str) -> None:
        self._notice(f"{reason}; watching again and rescanning")
        self._watching.stop()
        self._filter = _event_filter(self.root, self.engine.settings)
        self._watching.start(self._filter)
        self.request_rescan(reason)


def _event_filter(root: Path, settings: Settings) -> PathFilter:
    """Discovery's own rules for single paths: an event for a path discovery passes over whatever
    its content is dropped; anything else costs at most a no-op update."""
    return PathFilter(root, settings.exclude, settings.include_secrets)
