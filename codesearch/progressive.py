"""The progressive index: the transformer's index built beside the static one, file by file.

The static model's index is searchable within seconds; `watch` and the language server
then build the upgrade model's index (`model = "static"` with `upgrade_model` set) a
batch of files at a time. Searches use it once it covers every file of the static
index, and each index run keeps both current from then on.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import TYPE_CHECKING

from codesearch.indexing.indexer import Progress, ProgressCallback
from codesearch.models import IndexReport, UpgradeStatus
from codesearch.parsing import units_version

if TYPE_CHECKING:
    from codesearch.engine import Engine


def labelled(progress: ProgressCallback | None, upgrade: Engine, pending: int = 0) -> ProgressCallback | None:
    """Progress of the upgrade's indexing, its phase naming the model it upgrades to."""
    if progress is None:
        return None
    model = upgrade._identity()[0]
    left = f", {pending} files to go" if pending else ""

    def report(p: Progress) -> None:
        progress(dataclasses.replace(p, phase=f"upgrading to {model}{left}: {p.phase}"))

    return report


class Upgrade:
    """The upgrade of `main`'s index: its engine (same root, index directory and lock), and
    whether it covers every file."""

    def __init__(self, main: Engine, open_lock: threading.RLock, work_lock: threading.RLock) -> None:
        self._main = main
        self._open_lock = open_lock
        self._work_lock = work_lock
        self.current: Engine | None = None
        self._covers: bool | None = None  # None: not known yet

    def forget(self) -> None:
        """An index run changed the files: whether the upgrade covers them is asked again."""
        self._covers = None

    def engine(self) -> Engine | None:
        """The engine of the upgrade model's index (same root and index directory, same lock)."""
        engine = self._main
        settings = None if engine._given_embedder else engine.settings.upgrade_settings()
        if settings is None:
            return None
        with self._open_lock:
            if self.current is None:
                self.current = type(engine)(engine.root, settings)
            self.current.owner = engine.owner  # this engine holds the lock for both
            return self.current

    def pending(self) -> list[str]:
        """Files the upgrade model's index lacks or has stale or should drop (empty: none, or no upgrade)."""
        upgrade = self.engine()
        engine = self._main
        if upgrade is None or not engine.has_index:
            return []
        mine = self._main._local.open_store(create=False)[1].files()
        if not upgrade.has_index:
            return sorted(mine)
        theirs = upgrade._local.open_store(create=False)[1].files()
        stale = [
            p for p, rec in mine.items() if p not in theirs or theirs[p].content_hash != rec.content_hash
        ]
        return sorted(stale + [p for p in theirs if p not in mine])

    def covers(self) -> bool:
        """Whether the upgrade's index covers every file of this one (searches then use it)."""
        if self._covers is None:
            upgrade = self.engine()
            self._covers = bool(
                upgrade is not None and upgrade.has_index and self._main.has_index and not self.pending()
            )
        return self._covers

    def status(self) -> UpgradeStatus | None:
        """How far the upgrade is: {model, files, of_files, searching}; None without one or an index."""
        upgrade = self.engine()
        engine = self._main
        if upgrade is None or not engine.has_index:
            return None
        pending = len(self.pending())
        files = self._main._local.open_store(create=False)[1].counts()[0]
        self._covers = upgrade.has_index and not pending
        return {
            "model": upgrade._identity()[0],
            "files": files - min(files, pending),
            "of_files": files,
            "searching": self._covers,
        }

    def run(self, progress: ProgressCallback | None, max_files: int) -> IndexReport | None:
        """Build the next `max_files` pending files (0: all) into the upgrade's index; None
        when none are pending."""
        with self._work_lock:
            upgrade = self.engine()
            # An index that only file-by-file runs keep (the upgrade's, which never has a full
            # run to notice a new parser) adopts this release's parser: its files then look
            # changed, so the upgrade builds each again, with the embeddings of unchanged texts
            # from the cache.
            if upgrade is not None and upgrade.has_index:
                upgrade._local.open_store(create=False)[1].adopt_parser(units_version())
            pending = self.pending()
            if upgrade is None or not pending:
                return None
            batch = pending[:max_files] if max_files else pending
            report = upgrade.update(batch, labelled(progress, upgrade, len(pending)))
            self._covers = None
            return report

    def close(self) -> None:
        if self.current is not None:
            self.current.close()
            self.current = None
