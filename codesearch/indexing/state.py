"""What the index holds, per file: the record the incremental diff runs against.

A SQLite file next to the vector store. A file's row is written only after its
units are in the store, so a run killed half-way leaves files that the next run
sees as changed and redoes (point ids are deterministic, so redoing is
idempotent). A `run` marker tells an interrupted run from a finished one.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from codesearch.dupes.fingerprint import UnitFingerprint
from codesearch.indexing.dbfile import is_damaged, sqlite_errors, translated
from codesearch.safefs import set_aside

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    content_hash TEXT NOT NULL, language TEXT NOT NULL, indexed_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS units (
    point_id INTEGER PRIMARY KEY, path TEXT NOT NULL, kind TEXT NOT NULL, language TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS units_path ON units(path);
CREATE TABLE IF NOT EXISTS pending (path TEXT PRIMARY KEY);
DROP TABLE IF EXISTS bands;
DROP TABLE IF EXISTS fingerprints;
CREATE TABLE IF NOT EXISTS unit_fingerprints (
    point_id INTEGER PRIMARY KEY, path TEXT NOT NULL, kind TEXT NOT NULL, symbol TEXT NOT NULL,
    start_line INTEGER NOT NULL, end_line INTEGER NOT NULL, exact TEXT NOT NULL, shape TEXT NOT NULL,
    tokens INTEGER NOT NULL, shingles BLOB NOT NULL, bands BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS unit_fingerprints_path ON unit_fingerprints(path);
"""
# The LSH band keys of a unit are one int64 blob on its row (one row per unit, not one per band):
# writing 20 indexed rows per function was a fifth of a cold index. Lookups read every unit's
# keys into numpy, which takes milliseconds even for 100k functions.
# (Indexes up to fingerprint version 2 had `fingerprints` and `bands` tables: dropped above, and
# refilled, since the version changed.)

_WHAT = "the index state"
#: What to do about a state that cannot be opened: an index run sets it aside and starts anew.
_REBUILD = "run `codesearch index` to rebuild it (embeddings come from the cache)"
#: ... and about one found damaged once open, past what opening checks.
_DELETE = (
    "delete it with its -wal and -shm files, then run `codesearch index` to rebuild it "
    "(embeddings come from the cache)"
)

_FINGERPRINT_COLUMNS = "point_id, path, kind, symbol, start_line, end_line, exact, shape, tokens, shingles"


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A file as last indexed."""

    path: str
    size: int
    mtime_ns: int
    content_hash: str
    language: str


@dataclass(frozen=True, slots=True)
class FingerprintRecord:
    """A function or method of the index with its structural fingerprint (codesearch.dupes.fingerprint)."""

    point_id: int
    path: str
    kind: str
    symbol: str
    start_line: int
    end_line: int
    fingerprint: UnitFingerprint


def _record(row: tuple[int, str, str, str, int, int, str, str, int, bytes]) -> FingerprintRecord:
    shingles = np.frombuffer(row[9], dtype=np.uint32)
    fp = UnitFingerprint(row[6], row[7], row[8], shingles, ())
    return FingerprintRecord(row[0], row[1], row[2], row[3], row[4], row[5], fp)


class IndexState:
    """Per-file records, unit ids and run markers of one index.

    A database that cannot be read is reported with the command that rebuilds it; with `repair`
    (an index run) it is set aside and a new one started (`repaired` says so): the indexer then
    finds the store's points unknown, drops them and indexes every file again from the cache.
    Every SQLite failure is a codesearch error naming the file (codesearch.indexing.dbfile): one found
    once open (a damaged page opening does not read) says to delete the file and index again.

    Thread-safe: threads may share one instance (an owner runs an index run in one thread while
    it answers status, search and duplicates requests in others). Every use of the connection,
    reading a query's rows and each write transaction included, holds one lock, so a reader
    sees a write transaction whole or not at all.
    """

    def __init__(self, path: Path, *, repair: bool = False) -> None:
        self.repaired: str | None = None
        self._path = path
        # Reentrant: commit_files and the like call _forget_fingerprints inside their transaction.
        self._lock = threading.RLock()
        try:
            self._db = self._connect(path)
        except sqlite3.Error as exc:
            if not (repair and is_damaged(exc) and path.exists()):
                raise translated(exc, _WHAT, path, _REBUILD) from None
            aside = set_aside(path)
            self.repaired = f"the index state was damaged ({exc}); moved it to {aside} and rebuilt it"
            try:
                self._db = self._connect(path)
            except sqlite3.Error as again:
                raise translated(again, _WHAT, path, _DELETE) from None

    def _sql(self) -> contextlib.AbstractContextManager[None]:
        """Where the connection is used (under the lock): its failures as codesearch errors."""
        return sqlite_errors(_WHAT, self._path, _DELETE)

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            db.execute("SELECT COUNT(*) FROM files").fetchone()
        except sqlite3.Error:
            db.close()
            raise
        return db

    def get_meta(self, key: str) -> str | None:
        """A meta value, or None."""
        with self._lock, self._sql():
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, **values: str) -> None:
        """Set meta values and commit."""
        with self._lock, self._sql(), self._db:
            self._db.executemany(
                "INSERT INTO meta(key, value) VALUES(?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                list(values.items()),
            )

    def files(self) -> dict[str, FileRecord]:
        """Every file record, by path."""
        with self._lock, self._sql():
            rows = self._db.execute(
                "SELECT path, size, mtime_ns, content_hash, language FROM files"
            ).fetchall()
        return {r[0]: FileRecord(*r) for r in rows}

    def unit_paths(self) -> dict[int, str]:
        """Every unit's point id with its file's path."""
        with self._lock, self._sql():
            rows = self._db.execute("SELECT point_id, path FROM units").fetchall()
        return {int(r[0]): str(r[1]) for r in rows}

    def paths(self) -> list[str]:
        """Every indexed path, sorted."""
        with self._lock, self._sql():
            rows = self._db.execute("SELECT path FROM files ORDER BY path").fetchall()
        return [r[0] for r in rows]

    def commit_files(
        self,
        records: Sequence[FileRecord],
        units: Iterable[tuple[int, str, str, str]],
        removed: Sequence[str] = (),
        fingerprints: Sequence[FingerprintRecord] = (),
    ) -> None:
        """Record files as indexed with their units (point_id, path, kind, language) and
        fingerprints; forget `removed`."""
        now = time.time()
        touched = [r.path for r in records] + list(removed)
        with self._lock, self._sql(), self._db:
            self._db.executemany("DELETE FROM units WHERE path=?", [(p,) for p in touched])
            self._db.executemany("DELETE FROM files WHERE path=?", [(p,) for p in removed])
            self._db.executemany(
                "INSERT INTO files VALUES(?,?,?,?,?,?) ON CONFLICT(path) DO UPDATE SET size=excluded.size,"
                " mtime_ns=excluded.mtime_ns, content_hash=excluded.content_hash,"
                " language=excluded.language, indexed_at=excluded.indexed_at",
                [(r.path, r.size, r.mtime_ns, r.content_hash, r.language, now) for r in records],
            )
            self._db.executemany("INSERT OR REPLACE INTO units VALUES(?,?,?,?)", list(units))
            self._forget_fingerprints(touched)
            self._insert_fingerprints(fingerprints)
            self._db.executemany("DELETE FROM pending WHERE path=?", [(p,) for p in touched])

    def mark_pending(self, paths: Sequence[str]) -> None:
        """Record (durably) that the store is about to change for these paths."""
        with self._lock, self._sql(), self._db:
            self._db.executemany("INSERT OR IGNORE INTO pending VALUES(?)", [(p,) for p in paths])

    def pending(self) -> list[str]:
        """Paths a killed run may have left half-written in the store."""
        with self._lock, self._sql():
            rows = self._db.execute("SELECT path FROM pending ORDER BY path").fetchall()
        return [r[0] for r in rows]

    def clear_pending(self, paths: Sequence[str]) -> None:
        """Forget pending paths whose store state is known again."""
        with self._lock, self._sql(), self._db:
            self._db.executemany("DELETE FROM pending WHERE path=?", [(p,) for p in paths])
            self._db.executemany("DELETE FROM files WHERE path=?", [(p,) for p in paths])
            self._db.executemany("DELETE FROM units WHERE path=?", [(p,) for p in paths])
            self._forget_fingerprints(paths)

    def adopt_parser(self, version: str) -> bool:
        """Record `version` as the parser that cuts this index's units. When another one cut
        the files it holds, every file is made to look changed (no size, time or content hash)
        in the same transaction, so the next runs analyse each again and a run killed
        meanwhile resumes with the files left; True then."""
        with self._lock, self._sql(), self._db:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'units'").fetchone()
            if row is not None and row[0] == version:
                return False
            changed = self._db.execute("UPDATE files SET size=-1, mtime_ns=-1, content_hash=''").rowcount > 0
            self._db.execute(
                "INSERT INTO meta(key, value) VALUES('units', ?)"
                " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (version,),
            )
            return changed

    def touch_files(self, records: Sequence[FileRecord]) -> None:
        """Update size/mtime of files whose content did not change."""
        with self._lock, self._sql(), self._db:
            self._db.executemany(
                "UPDATE files SET size=?, mtime_ns=? WHERE path=?",
                [(r.size, r.mtime_ns, r.path) for r in records],
            )

    def _forget_fingerprints(self, paths: Sequence[str]) -> None:
        # Called inside a locked transaction only (as is _insert_fingerprints).
        self._db.executemany("DELETE FROM unit_fingerprints WHERE path=?", [(p,) for p in paths])

    def _insert_fingerprints(self, records: Sequence[FingerprintRecord]) -> None:
        self._db.executemany(
            f"INSERT OR REPLACE INTO unit_fingerprints({_FINGERPRINT_COLUMNS}, bands)"
            " VALUES(?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    r.point_id,
                    r.path,
                    r.kind,
                    r.symbol,
                    r.start_line,
                    r.end_line,
                    r.fingerprint.exact,
                    r.fingerprint.shape,
                    r.fingerprint.tokens,
                    r.fingerprint.shingles.astype(np.uint32).tobytes(),
                    np.asarray(r.fingerprint.bands, dtype=np.int64).tobytes(),
                )
                for r in records
            ],
        )

    def replace_fingerprints(self, paths: Sequence[str], records: Sequence[FingerprintRecord]) -> None:
        """Replace the fingerprints of these files (filling an index built before they existed)."""
        with self._lock, self._sql(), self._db:
            self._forget_fingerprints(paths)
            self._insert_fingerprints(records)

    def fingerprints(self, ids: Iterable[int] | None = None, min_tokens: int = 0) -> list[FingerprintRecord]:
        """Fingerprint records: all of them, or those with these point ids; at least `min_tokens` long."""
        sql = f"SELECT {_FINGERPRINT_COLUMNS} FROM unit_fingerprints WHERE tokens >= ?"
        if ids is None:
            with self._lock, self._sql():
                rows = self._db.execute(sql + " ORDER BY path, start_line", (min_tokens,)).fetchall()
            return [_record(r) for r in rows]
        wanted = list(ids)
        out: list[FingerprintRecord] = []
        with (
            self._lock,
            self._sql(),
        ):  # one lock for every chunk: the records come from one state of the table
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(sql + f" AND point_id IN ({marks})", (min_tokens, *chunk)).fetchall()
                out.extend(_record(r) for r in rows)
        return out

    def _bands(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Every stored band key and the point id it belongs to, as two aligned arrays."""
        with self._lock, self._sql():
            rows = self._db.execute("SELECT point_id, bands FROM unit_fingerprints").fetchall()
        ids: list[int] = [point for point, _ in rows]
        blobs: list[bytes] = [blob for _, blob in rows]
        if not blobs:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        keys = np.frombuffer(b"".join(blobs), dtype=np.int64)
        counts = np.fromiter((len(b) // 8 for b in blobs), dtype=np.int64, count=len(blobs))
        return keys, np.repeat(np.asarray(ids, dtype=np.int64), counts)

    def band_matches(self, bands: Sequence[int]) -> set[int]:
        """Point ids sharing at least one LSH band key with these."""
        if not bands:
            return set()
        keys, owners = self._bands()
        hit = np.isin(keys, np.asarray(bands, dtype=np.int64))
        return {int(x) for x in np.unique(owners[hit])}

    def band_groups(self, largest: int) -> list[list[int]]:
        """Point ids that share an LSH band key, one list per key (keys shared by over `largest` left out)."""
        keys, owners = self._bands()
        if keys.size == 0:
            return []
        order = np.argsort(keys, kind="stable")
        keys, owners = keys[order], owners[order]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        sizes = np.diff(np.r_[starts, keys.size])
        return [
            [int(x) for x in owners[start : start + size]]
            for start, size in zip(starts.tolist(), sizes.tolist(), strict=True)
            if 2 <= size <= largest
        ]

    def counts(self) -> tuple[int, int, dict[str, int], dict[str, int]]:
        """Files, units, units by kind, units by language."""
        with self._lock, self._sql():
            files = int(self._db.execute("SELECT COUNT(*) FROM files").fetchone()[0])
            units = int(self._db.execute("SELECT COUNT(*) FROM units").fetchone()[0])
            by_kind = dict(self._db.execute("SELECT kind, COUNT(*) FROM units GROUP BY kind").fetchall())
            by_lang = dict(
                self._db.execute("SELECT language, COUNT(*) FROM units GROUP BY language").fetchall()
            )
        return files, units, by_kind, by_lang

    def close(self) -> None:
        """Close the database."""
        with self._lock, self._sql():
            self._db.close()
