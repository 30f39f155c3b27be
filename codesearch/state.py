"""What the index holds, per file: the record the incremental diff runs against.

A SQLite file next to the vector store. A file's row is written only after its
units are in the store, so a run killed half-way leaves files that the next run
sees as changed and redoes (point ids are deterministic, so redoing is
idempotent). A `run` marker tells an interrupted run from a finished one.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from codesearch.errors import StoreError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    content_hash TEXT NOT NULL, language TEXT NOT NULL, indexed_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS units (
    point_id INTEGER PRIMARY KEY, path TEXT NOT NULL, kind TEXT NOT NULL, language TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS units_path ON units(path);
CREATE TABLE IF NOT EXISTS pending (path TEXT PRIMARY KEY);
"""


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A file as last indexed."""

    path: str
    size: int
    mtime_ns: int
    content_hash: str
    language: str


class IndexState:
    """Per-file records, unit ids and run markers of one index."""

    def __init__(self, path: Path) -> None:
        try:
            self._db = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the index state at {path}: {exc}") from exc

    def get_meta(self, key: str) -> str | None:
        """A meta value, or None."""
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, **values: str) -> None:
        """Set meta values and commit."""
        with self._db:
            self._db.executemany(
                "INSERT INTO meta(key, value) VALUES(?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                list(values.items()),
            )

    def files(self) -> dict[str, FileRecord]:
        """Every file record, by path."""
        rows = self._db.execute("SELECT path, size, mtime_ns, content_hash, language FROM files")
        return {r[0]: FileRecord(*r) for r in rows}

    def paths(self) -> list[str]:
        """Every indexed path, sorted."""
        return [r[0] for r in self._db.execute("SELECT path FROM files ORDER BY path")]

    def commit_files(
        self,
        records: Sequence[FileRecord],
        units: Iterable[tuple[int, str, str, str]],
        removed: Sequence[str] = (),
    ) -> None:
        """Record files as indexed with their units (point_id, path, kind, language); forget `removed`."""
        now = time.time()
        touched = [r.path for r in records] + list(removed)
        with self._db:
            self._db.executemany("DELETE FROM units WHERE path=?", [(p,) for p in touched])
            self._db.executemany("DELETE FROM files WHERE path=?", [(p,) for p in removed])
            self._db.executemany(
                "INSERT INTO files VALUES(?,?,?,?,?,?) ON CONFLICT(path) DO UPDATE SET size=excluded.size,"
                " mtime_ns=excluded.mtime_ns, content_hash=excluded.content_hash,"
                " language=excluded.language, indexed_at=excluded.indexed_at",
                [(r.path, r.size, r.mtime_ns, r.content_hash, r.language, now) for r in records],
            )
            self._db.executemany("INSERT OR REPLACE INTO units VALUES(?,?,?,?)", list(units))
            self._db.executemany("DELETE FROM pending WHERE path=?", [(p,) for p in touched])

    def mark_pending(self, paths: Sequence[str]) -> None:
        """Record (durably) that the store is about to change for these paths."""
        with self._db:
            self._db.executemany("INSERT OR IGNORE INTO pending VALUES(?)", [(p,) for p in paths])

    def pending(self) -> list[str]:
        """Paths a killed run may have left half-written in the store."""
        return [r[0] for r in self._db.execute("SELECT path FROM pending ORDER BY path")]

    def clear_pending(self, paths: Sequence[str]) -> None:
        """Forget pending paths whose store state is known again."""
        with self._db:
            self._db.executemany("DELETE FROM pending WHERE path=?", [(p,) for p in paths])
            self._db.executemany("DELETE FROM files WHERE path=?", [(p,) for p in paths])
            self._db.executemany("DELETE FROM units WHERE path=?", [(p,) for p in paths])

    def touch_files(self, records: Sequence[FileRecord]) -> None:
        """Update size/mtime of files whose content did not change."""
        with self._db:
            self._db.executemany(
                "UPDATE files SET size=?, mtime_ns=? WHERE path=?",
                [(r.size, r.mtime_ns, r.path) for r in records],
            )

    def counts(self) -> tuple[int, int, dict[str, int], dict[str, int]]:
        """Files, units, units by kind, units by language."""
        files = int(self._db.execute("SELECT COUNT(*) FROM files").fetchone()[0])
        units = int(self._db.execute("SELECT COUNT(*) FROM units").fetchone()[0])
        by_kind = dict(self._db.execute("SELECT kind, COUNT(*) FROM units GROUP BY kind").fetchall())
        by_lang = dict(self._db.execute("SELECT language, COUNT(*) FROM units GROUP BY language").fetchall())
        return files, units, by_kind, by_lang

    def close(self) -> None:
        """Close the database."""
        self._db.close()
