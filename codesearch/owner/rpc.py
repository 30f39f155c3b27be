"""The wire between an engine and the process that owns its index (codesearch.owner.channel).

One place for what crosses the owner's socket: the operations, a request's and a
reply's JSON form for each (codecs), and the errors an owner may answer (a registry,
so that a reply names a class and the asking process raises that class). The owner
answers with `Engine._handle`, whose table maps each operation here to the engine
method that runs it; the asking engine builds requests and reads replies only with
the functions below.

A reply of the wrong shape (junk, or an owner of another version) is read inside
`reading_reply()`, which turns it into an IndexBusyError rather than a KeyError.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from codesearch import errors
from codesearch.dupes.gitstage import ChangedFile
from codesearch.errors import CodesearchError, IndexBusyError, StoreError
from codesearch.indexing.indexer import Progress
from codesearch.models import FileHit, IndexReport, RedactedFile, SearchFilters, SearchHit, SkippedFile
from codesearch.safefs import inside_root

#: The operations an owner answers.
INDEX = "index"
UPGRADE = "upgrade"
INDEXING = "indexing"
SEARCH = "search"
SEARCH_FILES = "search_files"
STATUS = "status"
DUPLICATES = "duplicates"
OPERATIONS = (INDEX, UPGRADE, INDEXING, SEARCH, SEARCH_FILES, STATUS, DUPLICATES)


# -- errors -------------------------------------------------------------------------------


def _error_classes() -> dict[str, type[CodesearchError]]:
    found: dict[str, type[CodesearchError]] = {}
    todo: list[type[CodesearchError]] = [CodesearchError]
    while todo:
        cls = todo.pop()
        if cls.__module__ == errors.__name__:
            found[cls.__name__] = cls
        todo.extend(cls.__subclasses__())
    return found


#: Every class of codesearch's exception tree, by name: what an error reply may name.
ERRORS = _error_classes()


def error_reply(message: str, cls: type[CodesearchError] = CodesearchError) -> dict[str, Any]:
    """The reply that answers a request with an error of this class."""
    return {"error": message, "type": cls.__name__ if cls.__name__ in ERRORS else "CodesearchError"}


def raise_error(reply: dict[str, Any]) -> None:
    """Raise the error an owner answered, as its own class where it names one of ours."""
    if "error" in reply:
        raise ERRORS.get(str(reply.get("type")), CodesearchError)(str(reply["error"]))


def unknown_operation(exc: CodesearchError) -> bool:
    """Whether an owner refused a request because it does not know the operation (an owner
    of an older version)."""
    return "unknown request" in str(exc)


@contextlib.contextmanager
def reading_reply() -> Iterator[None]:
    """Where an owner's reply is read: one of the wrong shape (junk, another version) is an
    IndexBusyError, not a KeyError."""
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise IndexBusyError(
            f"the process that owns this index answered a reply this codesearch cannot read ({exc!r}); "
            "stop it (another version?) and try again"
        ) from None


def check_paths(root: Path, reply: dict[str, Any]) -> None:
    """Refuse an owner's answer naming a file outside the root: nothing reads or prints it."""
    rows = list(reply.get("hits") or ())
    for group in reply.get("files") or ():
        rows.append(group)
        rows.extend(group.get("hits") or () if isinstance(group, dict) else ())
    for row in rows:
        path = row.get("path") if isinstance(row, dict) else None
        if inside_root(root, path) is None:
            raise StoreError(
                f"the process that owns this index answered a path outside {root} ({path!r}); "
                "not reading it: stop that process"
            )


# -- searches -----------------------------------------------------------------------------


def search_request(op: str, query: str, k: int, mode: str, filters: SearchFilters) -> dict[str, Any]:
    """A search or search_files request."""
    return {
        "op": op,
        "query": query,
        "k": k,
        "mode": mode,
        "languages": list(filters.languages),
        "paths": list(filters.paths),
        "kinds": list(filters.kinds),
    }


def search_args(request: dict[str, Any]) -> tuple[str, int, SearchFilters, str]:
    """The (query, k, filters, mode) of a search request."""
    filters = SearchFilters(
        languages=tuple(request.get("languages") or ()),
        paths=tuple(request.get("paths") or ()),
        kinds=tuple(request.get("kinds") or ()),
    )
    return str(request["query"]), int(request["k"]), filters, str(request["mode"])


def hits_reply(hits: Iterable[SearchHit]) -> dict[str, Any]:
    """The reply to a search."""
    return {"hits": [dataclasses.asdict(h) for h in hits]}


def read_hits(reply: dict[str, Any]) -> list[SearchHit]:
    """The hits of a search's reply."""
    return [SearchHit(**h) for h in reply["hits"]]


def files_reply(files: Iterable[FileHit]) -> dict[str, Any]:
    """The reply to a file-level search."""
    return {"files": [dataclasses.asdict(f) for f in files]}


def read_files(reply: dict[str, Any]) -> list[FileHit]:
    """The files of a file-level search's reply."""
    return [
        FileHit(f["path"], f["language"], f["score"], tuple(SearchHit(**h) for h in f["hits"]))
        for f in reply["files"]
    ]


# -- index runs ---------------------------------------------------------------------------


def progress_message(p: Progress) -> dict[str, Any]:
    """A progress line an owner sends during another process's index run."""
    return {"progress": dataclasses.asdict(p)}


def read_progress(raw: dict[str, Any]) -> Progress | None:
    """An owner's progress line as a Progress; None if it is not one."""
    try:
        return Progress(
            phase=str(raw["phase"]),
            **{f: int(raw.get(f) or 0) for f in ("files_done", "files_total", "units_done", "embedded")},
            elapsed=float(raw.get("elapsed") or 0.0),
        )
    except (KeyError, TypeError, ValueError):
        return None


def report_reply(report: IndexReport | None) -> dict[str, Any]:
    """The reply to an index or upgrade run (None: nothing was pending)."""
    return {"report": None if report is None else report.to_json()}


def read_report(reply: dict[str, Any]) -> IndexReport | None:
    """The IndexReport of an index or upgrade run's reply (its `to_json()` form)."""
    raw = reply["report"]
    if raw is None:
        return None

    def files(key: str) -> list[SkippedFile]:
        return [SkippedFile(str(f["path"]), str(f["reason"])) for f in raw.get(key) or ()]

    return IndexReport(
        files=int(raw.get("files", 0)),
        units=int(raw.get("units", 0)),
        embedded=int(raw.get("embedded", 0)),
        cached=int(raw.get("cached", 0)),
        deleted=int(raw.get("deleted", 0)),
        changed_files=int(raw.get("changed_files", 0)),
        seconds=float(raw.get("seconds", 0.0)),
        units_by_kind=dict(raw.get("units_by_kind") or {}),
        units_by_language=dict(raw.get("units_by_language") or {}),
        skipped=files("skipped_files"),
        warnings=files("warnings"),
        resumed=bool(raw.get("resumed")),
        timings=dict(raw.get("timings") or {}),
        secrets=[
            RedactedFile(str(f["path"]), tuple((int(s["line"]), str(s["kind"])) for s in f["secrets"]))
            for f in raw.get("secrets_redacted_files") or ()
        ],
    )


# -- duplicate checks ---------------------------------------------------------------------


def encode_changes(changes: Iterable[ChangedFile]) -> list[dict[str, str | None]]:
    """Changes as JSON-safe dicts (file contents in base64)."""

    def enc(data: bytes | None) -> str | None:
        return None if data is None else base64.b64encode(data).decode()

    return [{"path": c.path, "new": enc(c.new), "old": enc(c.old)} for c in changes]


def decode_changes(items: Iterable[dict[str, Any]]) -> list[ChangedFile]:
    """The inverse of `encode_changes`."""

    def dec(text: Any) -> bytes | None:
        return None if text is None else base64.b64decode(str(text))

    return [ChangedFile(str(i["path"]), dec(i.get("new")), dec(i.get("old"))) for i in items]
