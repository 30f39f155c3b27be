"""One index per workspace folder, built and kept current in the background.

A `FolderIndex` opens the folder's engine. If no other process owns the index it
starts a watcher, which catches up with the tree (the first, long pass) and then
follows file changes; otherwise the owner (a `codesearch watch` in a terminal, say)
answers searches over its socket. Searches work at any time: before the first pass
ends they return what is indexed so far, marked partial; while the embedding server
is down they fall back to the lexical index.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from codesearch import (
    CodesearchError,
    DuplicatePair,
    Engine,
    FileHit,
    IndexBusyError,
    IndexNotFoundError,
    Progress,
    SearchFilters,
    SearchHit,
    Settings,
    Watcher,
    WatchUpdate,
    check_files,
)

STARTING, INDEXING, READY, ERROR = "starting", "indexing", "ready", "error"


@dataclass(frozen=True, slots=True)
class FolderStatus:
    """A folder's state, as `codesearch/status` reports it."""

    uri: str
    state: str
    files: int
    units: int
    done: int
    total: int
    message: str

    def to_json(self) -> dict[str, Any]:
        """The JSON form sent to the editor."""
        return {
            "uri": self.uri,
            "state": self.state,
            "files": self.files,
            "units": self.units,
            "done": self.done,
            "total": self.total,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class FolderSearch:
    """Hits (or, for a file search, files) of one folder, and whether they are partial or lexical only."""

    hits: list[SearchHit]
    partial: bool
    warning: str = ""
    files: list[FileHit] = field(default_factory=list)


class FolderIndex:
    """The index of one workspace folder: engine, watcher, state and progress.

    `on_change` is called (from any thread) whenever the state or progress changes;
    `on_notice` with a sentence for the user when something needs their attention.
    """

    def __init__(
        self,
        root: Path,
        settings: Settings,
        *,
        on_change: Callable[[FolderIndex], None],
        on_notice: Callable[[str, bool], None],
    ) -> None:
        self.root = root
        self.uri = root.as_uri()
        self.settings = settings
        self._on_change = on_change
        self._on_notice = on_notice
        self._engine: Engine | None = None
        self._watcher: Watcher | None = None
        self._lock = threading.Lock()
        self._state = STARTING
        self._message = "opening the index"
        self._progress: Progress | None = None
        self._files = 0
        self._units = 0
        self._embedding_down = False
        self._closed = False

    # -- life cycle ---------------------------------------------------------------

    def start(self) -> None:
        """Open the engine and start indexing in the background; returns at once."""
        threading.Thread(target=self._open, name=f"codesearch-open-{self.root.name}", daemon=True).start()

    def fail(self, message: str) -> None:
        """Never opened: the folder's settings could not be resolved (a malformed .codesearch.toml).
        The folder is listed in the error state with the message until it is opened again."""
        self._set(ERROR, message)

    def _open(self) -> None:
        try:
            # An owner that ends is taken over by the engine, which then tells _watch.
            engine = Engine.open(self.root, self.settings, take_over=True, on_owner=self._watch)
        except CodesearchError as exc:
            self._set(ERROR, str(exc))
            self._on_notice(f"codesearch cannot open the index of {self.root}: {exc}", True)
            return
        with self._lock:
            if self._closed:
                engine.close()
                return
            self._engine = engine
        if not engine.owner:
            self._set(READY, "another codesearch process owns this index and answers searches")
            self._refresh_counts()
            return
        self._watch(engine)

    def _watch(self, engine: Engine) -> None:
        """Keep the folder's index current: this server owns it now."""
        watcher = Watcher(
            engine, on_update=self._updated, on_notice=self._watch_notice, progress=self._progressed
        )
        with self._lock:
            if self._closed or self._watcher is not None:  # a take-over already started one
                return
            self._watcher = watcher
        self._set(INDEXING, "indexing")
        try:
            watcher.start()
        except CodesearchError as exc:
            self._set(ERROR, str(exc))
            self._on_notice(f"codesearch cannot watch {self.root}: {exc}", True)
            return
        threading.Thread(target=self._supervise, args=(watcher,), daemon=True).start()

    def _supervise(self, watcher: Watcher) -> None:
        """Report a watcher that died (root deleted, watch refused) instead of going quiet."""
        watcher.wait_done()
        if not self._closed and watcher.error is not None:
            self._set(ERROR, str(watcher.error))
            self._on_notice(f"codesearch stopped following changes in {self.root}: {watcher.error}", True)

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
        if progress.phase == "stopped":  # a run handed over by another process ended early
            self._progress = None
            if self._state == INDEXING:
                self._set(READY, "ready")
            else:
                self._on_change(self)
            return
        self._progress = progress
        if self._state != INDEXING and progress.files_total >= 50:
            self._state = INDEXING
        self._on_change(self)

    def _updated(self, update: WatchUpdate) -> None:
        self._progress = None
        if update.kind == "upgrade":  # a step of the progressive index: counts stay this index's
            self._set(READY, self._upgrade_message())
            return
        self._files, self._units = update.report.files, update.report.units
        if update.kind == "catch-up" or self._state != READY:
            self._set(READY, "ready")
        else:
            self._on_change(self)

    def _watch_notice(self, message: str) -> None:
        self._on_notice(f"codesearch ({self.root.name}): {message}", False)

    def _set(self, state: str, message: str) -> None:
        self._state, self._message = state, message
        self._on_change(self)

    def _upgrade_message(self) -> str:
        """ "ready", and how far the progressive index's upgrade to the transformer has come."""
        engine = self._engine
        try:
            up = engine.upgrade_status() if engine is not None else None
        except CodesearchError:
            up = None
        if not up:
            return "ready"
        if up["searching"]:
            return f"ready (searching with {up['model']})"
        return f"ready; upgrading to {up['model']}: {up['files']:,} of {up['of_files']:,} files"

    def _refresh_counts(self) -> None:
        engine = self._engine
        if engine is None:
            return
        try:
            info = engine.status()
        except CodesearchError:
            return
        self._files, self._units = int(info.get("files", 0)), int(info.get("units", 0))
        self._on_change(self)

    # -- asking ------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """starting, indexing, ready or error."""
        return self._state

    @property
    def partial(self) -> bool:
        """True until the first pass over the folder has finished."""
        return self._state in (STARTING, INDEXING) and not (
            self._watcher is not None and self._watcher.wait_ready(0)
        )

    def status(self) -> FolderStatus:
        """The folder's state, counts and progress."""
        p = self._progress
        return FolderStatus(
            uri=self.uri,
            state=self._state,
            files=self._files,
            units=self._units,
            done=p.files_done if p else 0,
            total=p.files_total if p else 0,
            message=self._message if p is None else describe(p),
        )

    def search(
        self, query: str, k: int, filters: SearchFilters, mode: str | None = None, files: bool = False
    ) -> FolderSearch:
        """The best hits (or files) here; partial while indexing, lexical while the embedder is down."""
        engine = self._engine
        partial = self.partial
        if engine is None:
            return FolderSearch([], partial=True, warning=self._message if self._state == ERROR else "")

        owner = engine.owner
        try:
            answer = engine.answer(query, k, filters, mode, files=files)
        except IndexNotFoundError:
            return FolderSearch([], partial=True)
        except IndexBusyError as exc:
            return FolderSearch([], partial=partial, warning=str(exc))
        if engine.owner != owner:  # took the index over: partial while the new watcher catches up
            partial = self.partial
        found = FolderSearch(answer.hits, partial=partial, files=answer.files)
        if not answer.lexical_only:
            self._embedding_down = False
            return found
        warning = (
            f"the embedding model is not available ({answer.embedding_error}); showing lexical matches "
            "only. Check the embedding server (start it with `codesearch serve`) "
            "or the codesearch.embedUrl setting."
        )
        if not self._embedding_down:
            self._embedding_down = True
            self._on_notice(f"codesearch: {warning}", True)
        return replace(found, warning=warning)

    def duplicates(self, rel: str) -> list[DuplicatePair] | None:
        """Pairs of functions of this saved file and others; None when there is no index to ask yet."""
        engine = self._engine
        if engine is None or not self.settings.dupes_in_editor:
            return None
        try:
            return check_files(engine, [rel]).pairs
        except (IndexNotFoundError, IndexBusyError):
            return None
        except CodesearchError as exc:
            self._watch_notice(f"duplicate check of {rel} failed: {exc}")
            return None

    def reindex(self) -> bool:
        """Queue a pass over the whole folder; False if this server does not own the index."""
        watcher = self._watcher
        if watcher is None:
            return False
        watcher.request_rescan("re-index asked for by the editor")
        return True

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the first pass is done (tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._state in (READY, ERROR):
                return True
            time.sleep(0.05)
        return False


def describe(p: Progress) -> str:
    """A one-line progress message: files, units, rate and ETA."""
    text = f"{p.phase}: {p.files_done:,}/{p.files_total:,} files, {p.units_done:,} units"
    if p.rate:
        text += f", {p.rate:.0f} units/s"
    if p.eta is not None:
        text += f", about {_duration(p.eta)} left"
    return text


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
