"""The watchdog observer of a watched root, and what it reports to the watcher.

What is watched: the root itself (not recursively) and, recursively, each top-level
directory that discovery would walk. So `.git/`, `node_modules/`, `.venv/` and
`.codesearch/` at the top cost no inotify watch and raise no event (the index's own
writes included); ignored paths deeper down are dropped by the watcher's path filter
before they are queued. (A root with more than MAX_TOP_LEVEL_WATCHES directories gets
one recursive watch instead: watchdog runs a thread per watch.)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

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
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

from codesearch.errors import WatchError
from codesearch.indexing.pathfilter import PathFilter

_log = logging.getLogger("codesearch.watch")

MAX_TOP_LEVEL_WATCHES = 512  # watchdog runs a thread per watch

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


class EventSink(FileSystemEventHandler):
    """Runs on watchdog's dispatch thread: must be quick and must never raise (an exception
    would end watchdog's thread, and with it every event)."""

    def __init__(
        self,
        on_event: Callable[[FileSystemEvent], None],
        rescan: Callable[[str], None],
        fail: Callable[[BaseException], None],
    ) -> None:
        self._on_event, self._rescan, self._fail = on_event, rescan, fail

    def dispatch(self, event: FileSystemEvent) -> None:
        try:
            self._on_event(event)
        except (OSError, ValueError) as exc:  # a path that vanished or cannot be read: rescan
            self._rescan(f"could not handle a file event ({exc!r})")
        except Exception as exc:  # noqa: BLE001 -- a bug: logged, and the watcher ends with it (`error`)
            _log.exception("codesearch: internal error handling a file event for %r", event.src_path)
            self._fail(exc)


class WatchdogLog(logging.Handler):
    """watchdog reports lost events (inotify queue overflow) and emitter failures only in its log."""

    def __init__(self, rescan: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self._rescan = rescan

    def emit(self, record: logging.LogRecord) -> None:
        self._rescan(f"file events may have been lost ({record.getMessage()})")


class Watches:
    """The observer of `root`: its watches kept in step with the top-level directories.

    `notice` is told a sentence for the user (a directory that cannot be watched);
    `changed` is told of a directory watched late (its changes before the watch)."""

    def __init__(
        self,
        root: Path,
        sink: FileSystemEventHandler,
        notice: Callable[[str], None],
        changed: Callable[[str], None],
    ) -> None:
        self.root = root
        self._sink, self._notice, self._changed = sink, notice, changed
        self._observer: BaseObserver | None = None
        self._watches: dict[str, ObservedWatch] = {}  # top-level directory -> its recursive watch
        self._whole_root = False
        self._filter: PathFilter | None = None
        # .git is not watched (it changes with every git command): its exclude file is polled.
        self._git_exclude = root / ".git" / "info" / "exclude"
        self._git_exclude_seen = _stamp(self._git_exclude)

    def exclude_changed(self) -> bool:
        """Whether .git/info/exclude changed since the last call (or since the start)."""
        stamp = _stamp(self._git_exclude)
        if stamp == self._git_exclude_seen:
            return False
        self._git_exclude_seen = stamp
        return True

    def start(self, path_filter: PathFilter) -> None:
        """Start the observer, watching what `path_filter` lets discovery walk."""
        self._filter = path_filter
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
        self.sync(initial=True)

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=10)
            self._observer = None
            self._watches = {}

    def alive(self) -> bool:
        """Whether the observer and every one of its emitters still run."""
        observer = self._observer
        emitters = observer.emitters if observer is not None and observer.is_alive() else None
        return emitters is not None and all(e.is_alive() for e in emitters)

    def _top_level_dirs(self) -> set[str] | None:
        """Top-level directories discovery would walk (None if the root cannot be read)."""
        path_filter = self._filter
        try:
            with os.scandir(self.root) as entries:
                return {
                    e.name
                    for e in entries
                    if e.is_dir(follow_symlinks=False)
                    and (path_filter is None or not path_filter.ignored(e.name, True))
                }
        except OSError:
            return None

    def sync(self, initial: bool = False) -> bool:
        """Watch each top-level directory discovery walks; re-watch dead ones, drop gone ones.
        False when the root could not be read (its health is worth a look)."""
        observer = self._observer
        if observer is None or self._whole_root:
            return True
        wanted = self._top_level_dirs()
        if wanted is None:
            return False
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
                self._changed(name)
        return True


def dir_identity(path: Path) -> tuple[int, int] | None:
    """The device and inode of a directory (None if it is not there): whether it was replaced."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _stamp(path: Path) -> tuple[int, int] | None:
    """Size and mtime of a file, None if it is not there."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns
