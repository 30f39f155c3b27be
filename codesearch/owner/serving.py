"""The owner's side of the socket: the replies an owning engine gives other processes.

An engine that owns an index answers the requests of others (codesearch.owner.channel carries
them, codesearch.owner.rpc encodes them) with its own operations. An owner that keeps running
(`codesearch watch`, an editor's server) also runs their index requests, one at a time
with its own, and streams each run's progress back; `accept_index_runs` turns that on.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from codesearch.errors import IndexRunDeclinedError, OwnerGoneError
from codesearch.indexing.indexer import Progress, ProgressCallback, RunDoneCallback
from codesearch.models import IndexReport
from codesearch.owner import rpc
from codesearch.owner.channel import Send

if TYPE_CHECKING:
    from codesearch.engine import Engine

#: Seconds between the progress lines an owner sends for another process's index run.
PROGRESS_EVERY = 0.1


class _Stopped(BaseException):
    """Raised from the progress callback of another process's index run to end it early
    (this owner stops, or that process went away); the index stays consistent."""


def _tee(first: ProgressCallback | None, then: ProgressCallback) -> ProgressCallback:
    """A progress callback that tells `first` (if any), then `then`."""
    if first is None:
        return then

    def both(p: Progress) -> None:
        first(p)
        then(p)

    return both


class Serving:
    """The replies of an owning engine to requests, from other processes (remote) or from
    this one after it took over from an owner that ended mid-request."""

    def __init__(self, engine: Engine, work_lock: threading.RLock) -> None:
        self._engine = engine
        # Index runs: one at a time, the owner's own and those other processes hand it.
        self._work_lock = work_lock
        self._runs_for_others = threading.Event()
        self._observers: tuple[ProgressCallback | None, RunDoneCallback | None] = (None, None)

    def accept_index_runs(
        self, accept: bool, progress: ProgressCallback | None, done: RunDoneCallback | None
    ) -> None:
        """Whether this owner runs the index requests of others, and who is told of each run
        (see Engine.accept_index_runs). Turning it off ends a run under way at its next file."""
        self._observers = (progress, done) if accept else (None, None)
        if accept:
            self._runs_for_others.set()
        else:
            self._runs_for_others.clear()

    def handle(
        self, request: dict[str, Any], send: Send | None = None, remote: bool = False
    ) -> dict[str, Any]:
        """The reply to a request."""
        op = request.get("op")
        if op in (rpc.INDEX, rpc.UPGRADE):
            return self._run_for(request, send, remote)
        answer = self._operations().get(str(op))
        if answer is None:
            return rpc.error_reply(f"unknown request {op!r}")
        return answer(request)

    def _operations(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        """What answers each operation other than the index runs (rpc.OPERATIONS)."""
        engine = self._engine
        return {
            rpc.INDEXING: lambda _: {"indexing": engine.indexing()},
            rpc.SEARCH: lambda r: rpc.hits_reply(engine.search(*rpc.search_args(r))),
            rpc.SEARCH_FILES: lambda r: rpc.files_reply(engine.search_files(*rpc.search_args(r))),
            rpc.STATUS: lambda _: {"status": engine.status()},
            rpc.DUPLICATES: lambda r: {
                "report": engine.find_duplicates(
                    None if r.get("changes") is None else rpc.decode_changes(r["changes"])
                ).to_json()
            },
        }

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
                    report = self._engine.index(_tee(observe, relay))
                else:
                    report = self._engine.upgrade(relay, int(request.get("max_files") or 0))
            finally:
                self._work_lock.release()
                if observed is not None:
                    observed(report, time.perf_counter() - started)
        except _Stopped:
            raise OwnerGoneError(
                "the process that owned this index stopped during the index run; try again"
            ) from None
        return rpc.report_reply(report)
