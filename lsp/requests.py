"""The language server's custom requests: their parameters checked and turned into the
library's arguments (InvalidParams with a sentence when they are wrong), and the file
URIs and plain values they come as."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pygls.exceptions import JsonRpcInvalidParams
from pygls.uris import to_fs_path

from codesearch import MODES, SearchFilters

SEARCH = "codesearch/search"
STATUS = "codesearch/status"


def search_params(params: Any) -> tuple[str, int | None, SearchFilters, str | None, str | None, bool]:
    """Check a codesearch/search request; InvalidParams with a sentence when it is wrong."""
    p = plain(params)
    if not isinstance(p, Mapping):
        raise JsonRpcInvalidParams(f"{SEARCH} takes an object {{query, k?, filters?, files?}}")
    query = p.get("query")
    if not isinstance(query, str) or not query.strip():
        raise JsonRpcInvalidParams(f"{SEARCH}: 'query' must be a non-empty string")
    k = p.get("k")
    if k is not None and (not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 1000):
        raise JsonRpcInvalidParams(f"{SEARCH}: 'k' must be a whole number from 1 to 1000")
    mode = p.get("mode")
    if mode is not None and mode not in MODES:
        raise JsonRpcInvalidParams(f"{SEARCH}: 'mode' must be one of {', '.join(MODES)}")
    raw = p.get("filters") or {}
    if not isinstance(raw, Mapping):
        raise JsonRpcInvalidParams(f"{SEARCH}: 'filters' must be an object")
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("languages", "paths", "kinds"):
        value = raw.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise JsonRpcInvalidParams(f"{SEARCH}: 'filters.{key}' must be a list of strings")
        lists[key] = tuple(value)
    files = p.get("files", False)
    if not isinstance(files, bool):
        raise JsonRpcInvalidParams(f"{SEARCH}: 'files' must be true or false")
    folder = p.get("folder")
    only = fs_path(folder).as_uri() if isinstance(folder, str) and folder else None
    return query, k, SearchFilters(**lists), mode, only, files


def fs_path(uri: str) -> Path:
    """The file-system path of a file URI (a plain path is taken as it is)."""
    return Path(to_fs_path(uri) or uri)


def plain(value: Any) -> Any:
    """pygls hands custom params over as namedtuples: turn them back into dicts and lists."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value
