"""codesearch: semantic code search on your own machine.

The public API; front ends import only from here.
"""

from codesearch.config import Settings, load_settings
from codesearch.engine import Engine
from codesearch.errors import (
    CodesearchError,
    ConfigError,
    EmbeddingError,
    EmbeddingServerError,
    IndexBusyError,
    IndexMismatchError,
    IndexNotFoundError,
    ModelLoadError,
    ParseError,
    StoreError,
    WatchError,
)
from codesearch.indexer import Progress
from codesearch.models import CodeUnit, IndexReport, SearchFilters, SearchHit

__all__ = [
    "CodeUnit",
    "CodesearchError",
    "ConfigError",
    "EmbeddingError",
    "EmbeddingServerError",
    "Engine",
    "IndexBusyError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "IndexReport",
    "ModelLoadError",
    "ParseError",
    "Progress",
    "SearchFilters",
    "SearchHit",
    "Settings",
    "StoreError",
    "WatchError",
    "load_settings",
]
__version__ = "0.1.0"
