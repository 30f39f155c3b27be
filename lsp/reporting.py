"""Telling the editor how indexing goes: `$/progress` and `codesearch/statusChanged`.

Folders report from their worker threads; everything here runs on the server's
event loop (callers hop over with `loop.call_soon_threadsafe`). Progress is sent
at most every `interval` seconds, a change of state at once.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from .folders import INDEXING, FolderIndex

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

STATUS_CHANGED = "codesearch/statusChanged"

_tokens = itertools.count(1)


class FolderProgress:
    """One folder's work-done progress in the editor: begun on indexing, ended when ready."""

    def __init__(self, server: LanguageServer, folder: FolderIndex) -> None:
        self._server = server
        self._folder = folder
        self._token: str | None = None
        self._begun = False

    def update(self) -> None:
        """Begin, report or end the progress to match the folder's state."""
        status = self._folder.status()
        if status.state == INDEXING:
            if self._token is None:
                self._start(status.message)
            elif self._begun:
                self._server.work_done_progress.report(
                    self._token,
                    types.WorkDoneProgressReport(
                        message=status.message, percentage=_percent(status.done, status.total)
                    ),
                )
        elif self._token is not None:
            if self._begun:
                self._server.work_done_progress.end(
                    self._token, types.WorkDoneProgressEnd(message=f"{status.state}: {status.units:,} units")
                )
            self._token, self._begun = None, False

    def _start(self, message: str) -> None:
        if not _supports_progress(self._server):
            return
        token = f"codesearch-index-{next(_tokens)}"
        self._token = token

        def created(*_: Any) -> None:
            if self._token != token:  # ended before the editor answered
                return
            self._begun = True
            self._server.work_done_progress.begin(
                token,
                types.WorkDoneProgressBegin(
                    title=f"codesearch: indexing {self._folder.root.name}",
                    message=message,
                    percentage=0,
                    cancellable=False,
                ),
            )

        self._server.work_done_progress.create(token, created)


class StatusReporter:
    """Sends `codesearch/statusChanged` and progress, throttled, for every folder."""

    def __init__(self, server: LanguageServer, body: Any, interval: float = 0.25) -> None:
        self._server = server
        self._body = body  # () -> the codesearch/status answer
        self._interval = interval
        self._progress: dict[str, FolderProgress] = {}
        self._last_sent = 0.0
        self._last_states: dict[str, str] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False

    def changed(self, folder: FolderIndex) -> None:
        """A folder's state or progress changed (on the event loop)."""
        if folder.uri not in self._progress:
            self._progress[folder.uri] = FolderProgress(self._server, folder)
        loop = asyncio.get_running_loop()
        state_changed = self._last_states.get(folder.uri) != folder.state
        wait = self._last_sent + self._interval - loop.time()
        if state_changed or wait <= 0:
            self._send()
        elif self._timer is None:
            self._timer = loop.call_later(wait, self._send)

    def forget(self, folder: FolderIndex) -> None:
        """A folder left the workspace."""
        self._progress.pop(folder.uri, None)
        self._last_states.pop(folder.uri, None)
        self._send()

    def close(self) -> None:
        """Send nothing more (the editor asked the server to shut down)."""
        self._closed = True

    def _send(self) -> None:
        self._timer = None
        if self._closed:
            return
        self._last_sent = asyncio.get_running_loop().time()
        body = self._body()
        self._last_states = {f["uri"]: f["state"] for f in body["folders"]}
        for progress in self._progress.values():
            progress.update()
        self._server.protocol.notify(STATUS_CHANGED, body)


def _percent(done: int, total: int) -> int:
    return min(100, int(done * 100 / total)) if total else 0


def _supports_progress(server: LanguageServer) -> bool:
    window = server.client_capabilities.window
    return bool(window and window.work_done_progress)
