"""Paths waiting for an update: coalesced, debounced per path, bounded.

After jedi-language-server's `jedi_utils.debounce`, with one deadline table instead of
one timer per key: a path is due once it has been quiet for `debounce` seconds. Due
paths are taken together once the whole tree has been quiet that long, or once the
oldest has waited `max_wait`: a branch switch, a formatter run or an editor's
temp-file-and-rename save becomes one batch. More than `max_paths` dirty paths become
one whole-tree batch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

ALL = ""  # the dirty "path" that stands for the whole tree


@dataclass(frozen=True, slots=True)
class Batch:
    """Paths due for an update (outermost only), or the whole tree (`full`, with why)."""

    paths: tuple[str, ...]
    full: bool = False
    reason: str = ""


class DirtyPaths:
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
            if ALL in self._last:  # a whole-tree pass is queued: it covers this path too
                path = ALL
            elif path not in self._last and len(self._last) >= self._max_paths:
                self._last, self._first = {}, {ALL: min(self._first.values(), default=now)}
                path, reason = ALL, reason or f"more than {self._max_paths} paths changed at once"
            if path == ALL and not self._reason:
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

    def next_batch(self, timeout: float) -> Batch | None:
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

    def _take_due(self, now: float) -> tuple[Batch | None, float | None]:
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
        if ALL in due:
            reason, self._reason = self._reason, ""
            self._last, self._first = {}, {}
            return Batch((), full=True, reason=reason), None
        for p in due:
            del self._last[p], self._first[p]
        return Batch(outermost(due)), None


def outermost(paths: Iterable[str]) -> tuple[str, ...]:
    """The paths not inside another of them (an update of a directory covers what is under it)."""
    kept: set[str] = set()
    for p in sorted(set(paths), key=lambda p: p.count("/")):
        parts = p.split("/")
        if not any("/".join(parts[:i]) in kept for i in range(1, len(parts))):
            kept.add(p)
    return tuple(sorted(kept))
