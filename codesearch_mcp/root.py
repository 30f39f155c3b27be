"""The served root: one engine and one file watcher, in the background.

As in the language server (lsp/folders.py): `start` opens the root's engine. If
no other process owns the index, this server owns it: a watcher catches up with
the tree (the first, long pass; an index from an earlier session is only
re-checked, not rebuilt) and then follows file changes. Otherwise the owner (a
`codesearch watch`, an editor's language server, another agent's MCP server)
answers over its socket; when that owner goes away, the next request makes this
server the owner. Searches work at any time: before the first pass ends they
are partial.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from codesearch import (
    CodesearchError,
    Engine,
    Progress,
    Settings,
    Watcher,
    WatchUpdate,
)

STARTING, INDEXING, READY, ERROR = "starting", "indexing", "ready", "error"
#: How long a tool call waits for the engine to open (it takes a lock and reads a little).
OPEN_WAIT = 60.0
#: How often a joined server asks the owner whether its pass is complete (for `partial`).
OWNER_CHECK = 5.0

T = TypeVar("T")


class ServedRoot:
    """The index of the served root: engine, watcher, state and progress."""

    def __init__(self, root: Path, settings: Settings) -> None:
        self.root = root
        self.settings = settings
        self._engine: Engine | None = None
        self._watcher: Watcher | None = None
        self._lock = threading.Lock()
        self._opened = threading.Event()
        self._state = STARTING
        self._message = "opening the index"
        self._progress: Progress | None = None
        self._owner_complete = False
        self._owner_checked = 0.0
        self._closed = False

    # -- life cycle ---------------------------------------------------------------

    def start(self) -> None:
        """Open the engine and start indexing in the background; returns at once."""
        threading.Thread(target=self._open, name="codesearch-open", daemon=True).start()

    def _open(self) -> None:
        try:
            # An owner that ends is taken over by the engine, which then tells _watch.
            engine = Engine.open(self.root, self.settings, take_over=True, on_owner=self._watch)
        except CodesearchError as exc:
            self._set(ERROR, f"cannot open the index of {self.root}: {exc}")
            self._opened.set()
            return
        with self._lock:
            if self._closed:
                engine.close()
                return
            self._engine = engine
        self._opened.set()
        if not engine.owner:
            self._set(READY, "another codesearch process owns this index, keeps it current and answers")
            return
        self._watch(engine)

    def _watch(self, engine: Engine) -> None:
        """Keep the index current: this server owns it now."""
        watcher = Watcher(engine, on_update=self._updated, on_notice=self._noticed, progress=self._progressed)
        with self._lock:
            if self._closed or self._watcher is not None:  # a take-over already started one
                return
            self._watcher = watcher
        self._set(INDEXING, "indexing: the first pass over the tree")
        try:
            watcher.start()
        except CodesearchError as exc:
            self._set(ERROR, f"cannot watch {self.root}: {exc}")
            return
        threading.Thread(target=self._supervise, args=(watcher,), daemon=True).start()

    def _supervise(self, watcher: Watcher) -> None:
        """Report a watcher that died (root deleted, watch refused) instead of going quiet."""
        watcher.wait_done()
        if not self._closed and watcher.error is not None:
            self._set(ERROR, f"stopped following changes in {self.root}: {watcher.error}")

    def close(self) -> None:
        """Stop watching and release the index."""
        with self._lock:
            self._closed = True
            watcher, engine = self._watcher, self._engine
            self._watcher = self._engine = None
        if watcher is not None:
            watcher.stop()
        if engine is not None:
            engine.close()

    # -- what the watcher tells ------------------------------------------------------

    def _progressed(self, progress: Progress) -> None:
        self._progress = progress

    def _updated(self, update: WatchUpdate) -> None:
        self._progress = None
        if update.kind == "catch-up" or self._state != READY:
            self._set(READY, "ready; the watcher keeps the index current")

    def _noticed(self, message: str) -> None:
        self._message = message

    def _set(self, state: str, message: str) -> None:
        self._state, self._message = state, message

    # -- asking ------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """starting, indexing, ready or error."""
        return self._state

    @property
    def message(self) -> str:
        """A sentence on the state: progress, the last notice, or the error."""
        return self._message

    @property
    def progress(self) -> Progress | None:
        """The pass this server runs now, if any."""
        return self._progress

    @property
    def owner(self) -> bool:
        """Whether this server owns the index (and watches the tree)."""
        engine = self._engine
        return engine is not None and engine.owner

    @property
    def partial(self) -> bool:
        """True until the first pass over the tree has finished (here or in the owning process)."""
        if self._state == STARTING:
            return True
        watcher = self._watcher
        if watcher is not None:
            return not watcher.wait_ready(0)
        engine = self._engine
        if engine is None or engine.owner or self._owner_complete:
            return False
        if time.monotonic() - self._owner_checked > OWNER_CHECK:
            self._owner_checked = time.monotonic()
            try:
                self._owner_complete = bool(engine.status().get("complete"))
            except CodesearchError:
                return False
        return not self._owner_complete

    def call(self, work: Callable[[Engine], T]) -> T:
        """Run `work` on the engine (which becomes the owner if the owning process has gone).

        Raises the library's errors (CodesearchError) for the caller to report.
        """
        self._opened.wait(OPEN_WAIT)
        engine = self._engine
        if engine is None:
            raise CodesearchError(self._message)
        return work(engine)

    def reindex(self) -> bool:
        """Queue a pass over the whole tree; False if another process owns the index."""
        watcher = self._watcher
        if watcher is None:
            return False
        watcher.request_rescan("re-index asked for by the agent")
        return True

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the first pass is done or failed (benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._state in (READY, ERROR):
                return True
            time.sleep(0.05)
        return False
