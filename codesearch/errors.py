"""The one exception tree of codesearch.

    CodesearchError                 base; front ends catch this and print one line
    ├── ConfigError                 bad option value or config file
    ├── IndexNotFoundError          no index at this root yet
    ├── IndexBusyError              another process owns the index and did not answer
    │   ├── OwnerGoneError          the owning process ended (or has not started answering)
    │   └── IndexRunDeclinedError   the owner does not take index runs (a short-lived command)
    ├── IndexMismatchError          index built with another model or dimensions
    ├── StoreError                  the vector store, the index state or the embedding cache failed
    │   └── CorruptStateError       a SQLite file of codesearch is damaged (the message names it)
    ├── EmbeddingError              the embedder failed
    │   ├── EmbeddingServerError    a remote embedding server is down or answered junk
    │   └── ModelLoadError          the local model could not be loaded
    ├── ParseError                  a file could not be parsed at all
    ├── GitError                    a git command failed (duplicate checks of a change)
    └── WatchError                  the watcher cannot go on (root replaced, watch refused)

Third-party exceptions are translated into these by the module that wraps the
third-party library (sqlite3 in `codesearch.indexing.dbfile`, the socket in `codesearch.owner.channel`);
nothing else lets them escape. Bugs are not translated: an exception of any other
class is one, and the front ends report it as an internal error (the CLI:
`codesearch: internal error: ...`, exit 70, the traceback with CODESEARCH_DEBUG=1).
Each class carries the exit code the CLI uses for it.
"""

from __future__ import annotations


class CodesearchError(Exception):
    """Base of every error codesearch raises on purpose."""

    exit_code = 1


class ConfigError(CodesearchError):
    """An option or configuration file is invalid."""

    exit_code = 3


class IndexNotFoundError(CodesearchError):
    """There is no index for this root yet."""

    exit_code = 4


class IndexBusyError(CodesearchError):
    """Another process owns the index and could not be reached."""

    exit_code = 5


class OwnerGoneError(IndexBusyError):
    """The process that owned the index ended, or has not started answering yet: ask again."""


class IndexRunDeclinedError(IndexBusyError):
    """The owner does not run index requests of other processes (it is a short-lived command,
    not `codesearch watch` or an editor's server): wait for the owner lock instead."""


class IndexMismatchError(CodesearchError):
    """The index was built with another embedding model or dimension."""

    exit_code = 6


class StoreError(CodesearchError):
    """The vector store, the index state or the embedding cache failed."""

    exit_code = 7


class CorruptStateError(StoreError):
    """A SQLite file of codesearch (the index state, the embedding cache) is damaged; the message
    names the file and what to do (`codesearch index` rebuilds a state it cannot open, a cache is
    set aside and started anew; a file found damaged later is deleted and rebuilt)."""


class EmbeddingError(CodesearchError):
    """The embedder failed."""

    exit_code = 8


class EmbeddingServerError(EmbeddingError):
    """A remote embedding server is down, slow, or answered junk."""


class ModelLoadError(EmbeddingError):
    """The local embedding model could not be loaded."""


class ParseError(CodesearchError):
    """A file could not be parsed at all."""


class GitError(CodesearchError):
    """A git command that reads a change failed (not a repository, unknown revision)."""


class WatchError(CodesearchError):
    """The watcher cannot go on (the root was replaced, the OS refused a watch)."""
