"""codesearch: semantic code search on your own machine.

The public API; front ends import only from here.
"""

from typing import TYPE_CHECKING

from codesearch.config import Settings, load_settings, option_names, validate_option
from codesearch.dupes.dupecheck import DuplicateCheck, check_duplicates, check_files
from codesearch.dupes.duplicates import DuplicatePair, DuplicateReport, UnitLocation
from codesearch.engine import Engine
from codesearch.errors import (
    CodesearchError,
    ConfigError,
    CorruptStateError,
    EmbeddingError,
    EmbeddingServerError,
    GitError,
    IndexBusyError,
    IndexMismatchError,
    IndexNotFoundError,
    ModelLoadError,
    ParseError,
    StoreError,
    WatchError,
)
from codesearch.indexing.indexer import Progress
from codesearch.models import (
    Answer,
    CodeUnit,
    FileHit,
    IndexReport,
    IndexStatus,
    RunStatus,
    SearchFilters,
    SearchHit,
    UpgradeStatus,
)
from codesearch.search.fusion import MODES, merge_ranked

__all__ = [
    "MODES",
    "Answer",
    "CodeUnit",
    "CodesearchError",
    "ConfigError",
    "CorruptStateError",
    "DuplicateCheck",
    "DuplicatePair",
    "DuplicateReport",
    "EmbeddingError",
    "EmbeddingServerError",
    "Engine",
    "FileHit",
    "GitError",
    "IndexBusyError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "IndexReport",
    "IndexStatus",
    "ModelLoadError",
    "ParseError",
    "Progress",
    "RunStatus",
    "SearchFilters",
    "SearchHit",
    "Settings",
    "StoreError",
    "UnitLocation",
    "UpgradeStatus",
    "WatchError",
    "WatchUpdate",
    "Watcher",
    "check_duplicates",
    "check_files",
    "load_settings",
    "merge_ranked",
    "option_names",
    "validate_option",
]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from codesearch.watch.watcher import Watcher, WatchUpdate


def __getattr__(name: str) -> object:
    """The watcher is loaded when a front end first asks for it: watchdog's import costs
    a short command (`codesearch query`, the pre-commit hook) about 0.1-0.2 s."""
    if name in ("Watcher", "WatchUpdate"):
        from codesearch.watch import watcher as watch

        return getattr(watch, name)
    raise AttributeError(f"module 'codesearch' has no attribute {name!r}")
