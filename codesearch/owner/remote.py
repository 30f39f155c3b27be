"""An index that another process owns: every operation is a request over its socket.

The owning process (codesearch.owner.serving) answers; codesearch.owner.rpc encodes both sides. When
the owner ends mid-request, an engine opened with take_over=True becomes the owner and
answers the request itself; an index run that the owner does not take (a short-lived
`codesearch index` owns it) waits for the lock and runs here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from codesearch.dupes.duplicates import DuplicateReport
from codesearch.dupes.gitstage import ChangedFile
from codesearch.errors import CodesearchError, IndexBusyError, IndexRunDeclinedError, OwnerGoneError
from codesearch.indexing.indexer import ProgressCallback
from codesearch.models import (
    FileHit,
    IndexReport,
    IndexStatus,
    RunStatus,
    SearchFilters,
    SearchHit,
    UpgradeStatus,
)
from codesearch.owner import rpc
from codesearch.owner.channel import ask_owner, socket_path

if TYPE_CHECKING:
    from codesearch.engine import Engine
    from codesearch.owner.serving import Serving

#: Seconds a forwarding engine waits for a new owner after the last one ended.
OWNER_GONE_WAIT = 10.0


class Index(Protocol):
    """What an engine does with its index: here (codesearch.local, the owner) or by asking
    the process that owns it (RemoteIndex). Arguments are checked by the engine first."""

    def search(self, query: str, k: int, filters: SearchFilters, mode: str) -> list[SearchHit]: ...

    def search_files(self, query: str, k: int, filters: SearchFilters, mode: str) -> list[FileHit]: ...

    def status(self) -> IndexStatus: ...

    def indexing(self) -> RunStatus | None: ...

    def upgrade_status(self) -> UpgradeStatus | None: ...

    def find_duplicates(self, changes: Sequence[ChangedFile] | None) -> DuplicateReport: ...

    def index(self, progress: ProgressCallback | None) -> IndexReport: ...

    def upgrade(self, progress: ProgressCallback | None, max_files: int) -> IndexReport | None: ...


class RemoteIndex:
    """The index of `root` as its owning process answers for it.

    Two callbacks of the engine: `take_over` makes this process the owner if it may and the
    lock is free now, and returns what answers requests here (None: it may not, or another
    process was first); `own` waits for the lock and returns this process's engine as the
    owner, or raises IndexBusyError."""

    def __init__(
        self,
        root: Path,
        index_dir: Path,
        take_over: Callable[[], Serving | None],
        own: Callable[[], Engine],
    ) -> None:
        self.root = root
        self._socket = socket_path(index_dir)
        self._take_over = take_over
        self._own = own

    def ask(
        self,
        request: dict[str, Any],
        on_progress: Callable[[dict[str, Any]], None] | None = None,
        timeout: float | None = 60.0,
    ) -> dict[str, Any]:
        """The owner's reply to a request (its progress lines to `on_progress`); its error raised."""
        request["root"] = str(self.root)
        deadline: float | None = None
        while True:
            try:
                reply = ask_owner(self._socket, request, timeout, on_progress)
                rpc.raise_error(reply)
                break
            except OwnerGoneError:
                # The owner ended (a short-lived command, or one that stopped during an index
                # run it was asked for) or has not started answering yet.
                serving = self._take_over()
                if serving is not None:

                    def send(message: dict[str, Any]) -> None:
                        if on_progress is not None and isinstance(message.get("progress"), dict):
                            on_progress(message["progress"])

                    return serving.handle(request, send)
                deadline = deadline or time.monotonic() + OWNER_GONE_WAIT
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)
        with rpc.reading_reply():
            rpc.check_paths(self.root, reply)
        return reply

    def _hand_off(self, request: dict[str, Any], progress: ProgressCallback | None) -> IndexReport | None:
        """Have the owner run an index request, its progress shown here; where the owner takes
        no index runs, wait for the lock and run it here."""

        def show(raw: dict[str, Any]) -> None:
            p = rpc.read_progress(raw)
            if progress is not None and p is not None:
                progress(p)

        try:
            reply = self.ask(request, show, timeout=None)
        except IndexRunDeclinedError:
            pass
        except IndexBusyError:
            raise
        except CodesearchError as exc:
            if not rpc.unknown_operation(exc):  # else an owner of an older version: wait for it
                raise
        else:
            with rpc.reading_reply():
                return rpc.read_report(reply)
        engine = self._own()
        if request["op"] == rpc.INDEX:
            return engine.index(progress)
        return engine.upgrade(progress, int(request.get("max_files") or 0))

    # -- the operations --------------------------------------------------------------------

    def search(self, query: str, k: int, filters: SearchFilters, mode: str) -> list[SearchHit]:
        reply = self.ask(rpc.search_request(rpc.SEARCH, query, k, mode, filters))
        with rpc.reading_reply():
            return rpc.read_hits(reply)

    def search_files(self, query: str, k: int, filters: SearchFilters, mode: str) -> list[FileHit]:
        reply = self.ask(rpc.search_request(rpc.SEARCH_FILES, query, k, mode, filters))
        with rpc.reading_reply():
            return rpc.read_files(reply)

    def status(self) -> IndexStatus:
        reply = self.ask({"op": rpc.STATUS})
        with rpc.reading_reply():
            return cast(IndexStatus, dict(reply["status"]))

    def indexing(self) -> RunStatus | None:
        try:
            found = self.ask({"op": rpc.INDEXING}).get("indexing")
        except IndexBusyError:
            raise
        except CodesearchError:  # an owner of an older version, which cannot tell
            return None
        return cast(RunStatus, dict(found)) if isinstance(found, dict) else None

    def upgrade_status(self) -> UpgradeStatus | None:
        return self.status().get("upgrade")

    def find_duplicates(self, changes: Sequence[ChangedFile] | None) -> DuplicateReport:
        encoded = None if changes is None else rpc.encode_changes(changes)
        reply = self.ask({"op": rpc.DUPLICATES, "changes": encoded})
        with rpc.reading_reply():
            return DuplicateReport.from_json(reply["report"])

    def index(self, progress: ProgressCallback | None) -> IndexReport:
        report = self._hand_off({"op": rpc.INDEX}, progress)
        if report is None:
            with rpc.reading_reply():
                raise TypeError("an index run answered no report")
        return report

    def upgrade(self, progress: ProgressCallback | None, max_files: int) -> IndexReport | None:
        return self._hand_off({"op": rpc.UPGRADE, "max_files": max_files}, progress)
