"""File events -> engine.update(): keep an index current while files change.

    with Engine.open(root, write=True) as engine:
        Watcher(engine, on_update=print).run_forever()

Two threads besides the caller's:

    watchdog observer (inotify) -> relative path -> ignore rules -> _DirtyPaths (coalesced, debounced)
    worker (the only thread of the watcher that calls the engine):
        engine.index() to catch up, then engine.update(batch) per due batch,
        engine.index() again after a lost-event condition; a health check when idle

The engine also runs the `codesearch index` of other processes (accept_index_runs), one
at a time with the worker's calls.

What is watched: the root itself (not recursively) and, recursively, each top-level
directory that discovery would walk. So `.git/`, `node_modules/`, `.venv/` and
`.codesearch/` at the top cost no inotify watch and raise no event (the index's own
writes included); ignored paths deeper down are dropped by the same rules before
they are queued. A change to a `.gitignore` re-checks its whole directory. (A root
with more than MAX_TOP_LEVEL_WATCHES directories gets one recursive watch instead:
watchdog runs a thread per watch.)

Debounce per path (after jedi-language-server's `jedi_utils.debounce`, with one
deadline table instead of one timer per key): a path is due once it has been quiet
for `debounce` seconds. Due paths are taken together once the whole tree has been
quiet that long, or once the oldest has waited `max_wait`: a branch switch, a
formatter run or an editor's temp-file-and-rename save becomes one update. More
than `max_paths` dirty paths, a kernel queue overflow, a dead observer or a root
that disappeared and came back turn into one full `engine.index()` (a size/mtime
walk) instead of a crash.
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

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
    FileSystemMovedEvent,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

from codesearch.config import Settings
from codesearch.errors import EmbeddingServerError, ModelLoadError, StoreError, WatchError
from codesearch.indexer import Progress, ProgressCallback, RunDoneCallback
from codesearch.models import IndexReport
from codesearch.pathfilter import IGNORE_FILES, PathFilter

_log = logging.getLogger("codesearch.watch")

#: Events that can change what is indexed (opens, reads and attribute changes cannot).
_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]
_ALL = ""  # the dirty "path" that stands for the whole tree
MAX_TOP_LEVEL_WATCHES = 512  # watchdog runs a thread per watch
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


@dataclass(frozen=True, slots=True)
class _Batch:
    paths: tuple[str, ...]
    full: bool = False
    reason: str = ""


class _Stopping(BaseException):
    """Raised from the progress callback to end an engine call early, as Ctrl-C does."""


class _DirtyPaths:
    """Relative paths waiting for an update: coalesced, debounced per path, bounded."""

    def __init__(
        self, debounce: float, max_wait: float, max_paths: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._debounce, self._max_wait, self._max_paths = debounce, max_wait, max_paths
        self._clock = clock
        self._cond = threading.Condition()
        self._last: dict[str, float] = {}  # path -> latest event
        self._first: dict[str, float] = {}  # path -> first event not yet taken
        self._latest = 0.0
        self._reason = ""
        self._poked = self._closed = False
        self._in_flight = False

    def add(self, path: str, reason: str = "") -> None:
        """Mark a path dirty ("" is the whole tree; `reason` says why)."""
        with self._cond:
            now = self._clock()
            if _ALL in self._last:  # a whole-tree pass is queued: it covers this path too
                path = _ALL
            elif path not in self._last and len(self._last) >= self._max_paths:
                self._last, self._first = {}, {_ALL: min(self._first.values(), default=now)}
                path, reason = _ALL, reason or f"more than {self._max_paths} paths changed at once"
            if path == _ALL and not self._reason:
                self._reason = reason or "rescan requested"
            self._last[path] = now
            self._first.setdefault(path, now)
            self._latest = now
            self._cond.notify_all()

    @property
    def idle(self) -> bool:
        """Nothing queued and no batch handed out but not yet `done()`."""
        with self._cond:
            return not self._last and not self._in_flight

    def done(self) -> None:
        """The batch last handed out has been applied."""
        with self._cond:
            self._in_flight = False

    def poke(self) -> None:
        """Make a waiting `next_batch` return now (the worker has something else to do)."""
        with self._cond:
            self._poked = True
            self._cond.notify_all()

    def close(self) -> None:
        """Wake and end every wait."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def next_batch(self, timeout: float) -> _Batch | None:
        """The next due batch; None after `timeout` s, a poke or close."""
        with self._cond:
            deadline = self._clock() + timeout
            while not (self._closed or self._poked):
                now = self._clock()
                batch, wait = self._take_due(now)
                if batch is not None:
                    return batch
                if now >= deadline:
                    break
                self._cond.wait(min(deadline - now, wait if wait is not None else deadline - now))
            self._poked = False
            return None

    def _take_due(self, now: float) -> tuple[_Batch | None, float | None]:
        if not self._last:
            return None, None
        oldest = min(self._first.values())
        quiet = now - self._latest
        if quiet < self._debounce and now - oldest < self._max_wait:
            return None, min(self._debounce - quiet, self._max_wait - (now - oldest))
        due = [
            p
            for p, last in self._last.items()
            if now - last >= self._debounce or now - self._first[p] >= self._max_wait
        ]
        self._in_flight = True
        if _ALL in due:
            reason, self._reason = self._reason, ""
            self._last, self._first = {}, {}
            return _Batch((), full=True, reason=reason), None
        for p in due:
            del self._last[p], self._first[p]
        return _Batch(outermost(due)), None


def outermost(paths: Iterable[str]) -> tuple[str, ...]:
    """The paths not inside another of them (an update of a directory covers what is under it)."""
    kept: set[str] = set()
    for p in sorted(set(paths), key=lambda p: p.count("/")):
        parts = p.split("/")
        if not any("/".join(parts[:i]) in kept for i in range(1, len(parts))):
            kept.add(p)
    return tuple(sorted(kept))


class _EventSink(FileSystemEventHandler):
    """Runs on watchdog's dispatch thread: must be quick and must never raise (an exception
    would end watchdog's thread, and with it every event)."""

    def __init__(self, watcher: Watcher) -> None:
        self._watcher = watcher

    def dispatch(self, event: FileSystemEvent) -> None:
        try:
            self._watcher._on_event(event)
        except (OSError, ValueError) as exc:  # a path that vanished or cannot be read: rescan
            self._watcher.request_rescan(f"could not handle a file event ({exc!r})")
        except Exception as exc:  # noqa: BLE001 -- a bug: logged, and the watcher ends with it (`error`)
            _log.exception("codesearch: internal error handling a file event for %r", event.src_path)
            self._watcher._fail(exc)


class _WatchdogLog(logging.Handler):
    """watchdog reports lost events (inotify queue overflow) and emitter failures only in its log."""

    def __init__(self, watcher: Watcher) -> None:
        super().__init__(logging.WARNING)
        self._watcher = watcher

    def emit(self, record: logging.LogRecord) -> None:
        self._watcher.request_rescan(f"file events may have been lost ({record.getMessage()})")


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
        self._dirty = _DirtyPaths(debounce, max_wait, max_paths)
        self._filter = _event_filter(self.root, engine.settings)
        self._sink = _EventSink(self)
        self._log = _WatchdogLog(self)
        self._observer: BaseObserver | None = None
        self._watches: dict[str, ObservedWatch] = {}  # top-level directory -> its recursive watch
        self._whole_root = False
        self._resync = False
        self._check_now = False
        self._root_id = _identity(self.root)
        self._root_missing = False
        # .git is not watched (it changes with every git command): its exclude file is polled.
        self._git_exclude = self.root / ".git" / "info" / "exclude"
        self._git_exclude_seen = _stamp(self._git_exclude)
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
        self._start_observer()
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
        self._stop_observer()
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
        self._dirty.add(_ALL, reason)

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
            self._run(_Batch((), full=True, reason="catch up with changes made while nothing watched"))
            self._ready.set()
            next_check = time.monotonic() + self._health_interval
            while not self._stopping.is_set():
                if self._resync:
                    self._resync = False
                    self._sync_watches()
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

    def _run(self, batch: _Batch) -> None:
        if len(batch.paths) > self._full_pass_above:  # one size/mtime walk beats that many path checks
            batch = _Batch((), full=True, reason=f"{len(batch.paths)} paths changed at once")
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

    # -- watches (worker thread, or start() before it runs) -------------------------------

    def _start_observer(self) -> None:
        observer = Observer()
        tops = self._top_level_dirs()
        # One watch (and one watchdog thread, ~50 KB) per top-level directory keeps .git/,
        # node_modules/ and the index's own writes out of sight; a root with hundreds falls back
        # to a single recursive watch whose ignored events the filter drops.
        self._whole_root = tops is None or len(tops) > MAX_TOP_LEVEL_WATCHES
        try:
            observer.schedule(self._sink, str(self.root), recursive=self._whole_root, event_filter=_EVENTS)
            observer.start()
        except OSError as exc:
            raise WatchError(f"cannot watch {self.root}: {exc.strerror or exc}") from None
        self._observer = observer
        self._watches = {}
        self._sync_watches(initial=True)

    def _stop_observer(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=10)
            self._observer = None
            self._watches = {}

    def _top_level_dirs(self) -> set[str] | None:
        """Top-level directories discovery would walk (None if the root cannot be read)."""
        try:
            with os.scandir(self.root) as entries:
                return {
                    e.name
                    for e in entries
                    if e.is_dir(follow_symlinks=False) and not self._filter.ignored(e.name, True)
                }
        except OSError:
            return None

    def _sync_watches(self, initial: bool = False) -> None:
        """Watch each top-level directory discovery walks; re-watch dead ones, drop gone ones."""
        observer = self._observer
        if observer is None or self._whole_root:
            return
        wanted = self._top_level_dirs()
        if wanted is None:
            self._check_now = True
            return
        alive = {e.watch for e in observer.emitters if e.is_alive()}
        for name, watch in list(self._watches.items()):
            if name not in wanted or watch not in alive:
                del self._watches[name]
                observer.unschedule(watch)
        for name in sorted(wanted - set(self._watches)):
            try:
                self._watches[name] = observer.schedule(
                    self._sink, str(self.root / name), recursive=True, event_filter=_EVENTS
                )
            except OSError as exc:
                self._notice(
                    f"cannot watch {name}/ ({exc.strerror or exc}); its changes are picked up by the "
                    "next rescan. On Linux, raise fs.inotify.max_user_watches"
                )
                continue
            if not initial:  # changes made before the watch existed
                self._dirty.add(name)

    def _check_health(self) -> None:
        """Root still there and the same directory, observer alive: else re-watch and rescan."""
        ident = _identity(self.root)
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
            self._sync_watches()
            stamp = _stamp(self._git_exclude)
            if stamp != self._git_exclude_seen:  # the rules of the whole tree changed
                self._git_exclude_seen = stamp
                self._filter.forget()
                self._resync = True
                self.request_rescan(".git/info/exclude changed")
            observer = self._observer
            emitters = observer.emitters if observer is not None and observer.is_alive() else None
            if emitters is None or any(not e.is_alive() for e in emitters):
                self._restart("the file watcher stopped")
        self._root_missing = False

    def _restart(self, reason: str) -> None:
        self._notice(f"{reason}; watching again and rescanning")
        self._stop_observer()
        self._filter = _event_filter(self.root, self.engine.settings)
        self._start_observer()
        self.request_rescan(reason)


def _event_filter(root: Path, settings: Settings) -> PathFilter:
    """Discovery's own rules for single paths: an event for a path discovery passes over whatever
    its content is dropped; anything else costs at most a no-op update."""
    return PathFilter(root, settings.exclude, settings.include_secrets)


def _stamp(path: Path) -> tuple[int, int] | None:
    """Size and mtime of a file, None if it is not there."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino
