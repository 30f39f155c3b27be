"""SQLite failures of codesearch's own files (the index state, the embedding cache) as codesearch
errors: one line naming the file and what to do.

A damaged file (SQLITE_CORRUPT, SQLITE_NOTADB) is a CorruptStateError, a lock held past the
busy timeout an IndexBusyError, anything else the disk refused (full, read-only, I/O) a
StoreError. Misuse of the connection (a constraint broken, a closed database, a bad
parameter) is a bug in codesearch and is left as it is, for the front ends' last resort.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from codesearch.errors import CodesearchError, CorruptStateError, IndexBusyError, StoreError

_CORRUPT = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB (primary result codes)
_BUSY = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
_BUGS = (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError, sqlite3.NotSupportedError)


def _code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def is_damaged(exc: sqlite3.Error) -> bool:
    """Whether SQLite found the file damaged or not a database at all."""
    return _code(exc) in _CORRUPT


def translated(exc: sqlite3.Error, what: str, path: Path, remedy: str) -> CodesearchError:
    """The codesearch error of a SQLite failure on `path` (`what`: "the index state"), with
    `remedy` (what to do) when the file is damaged."""
    if is_damaged(exc):
        return CorruptStateError(f"{what} {path} is damaged ({exc}); {remedy}")
    if _code(exc) in _BUSY:
        return IndexBusyError(f"{what} {path} stayed locked by another process ({exc}); try again")
    return StoreError(f"cannot use {what} {path}: {exc}")


@contextlib.contextmanager
def sqlite_errors(what: str, path: Path, remedy: str) -> Iterator[None]:
    """Translate the SQLite failures of the block (bugs pass through)."""
    try:
        yield
    except _BUGS:
        raise
    except sqlite3.Error as exc:
        raise translated(exc, what, path, remedy) from exc
