"""Search hits -> LSP shapes: custom search results (units and files) and workspace symbols."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lsprotocol import types

from codesearch import FileHit, SearchHit

#: codesearch unit kinds -> LSP symbol kinds.
SYMBOL_KINDS = {
    "function": types.SymbolKind.Function,
    "method": types.SymbolKind.Method,
    "class": types.SymbolKind.Class,
    "interface": types.SymbolKind.Interface,
    "struct": types.SymbolKind.Struct,
    "trait": types.SymbolKind.Interface,
    "impl": types.SymbolKind.Class,
    "enum": types.SymbolKind.Enum,
    "module": types.SymbolKind.Module,
    "file": types.SymbolKind.File,
    "section": types.SymbolKind.String,
}


def lines_range(start_line: int, end_line: int) -> types.Range:
    """1-based inclusive lines as an LSP range (0-based; the end is the start of the line after)."""
    return types.Range(
        start=types.Position(line=max(start_line - 1, 0), character=0),
        end=types.Position(line=max(end_line, start_line), character=0),
    )


def hit_range(hit: SearchHit) -> types.Range:
    """The unit's lines as an LSP range."""
    return lines_range(hit.start_line, hit.end_line)


def hit_uri(root: Path, hit: SearchHit) -> str:
    """The file URI of a hit in the folder `root`."""
    return (root / hit.path).as_uri()


def search_result(root: Path, hit: SearchHit) -> dict[str, Any]:
    """One entry of a `codesearch/search` answer."""
    r = hit_range(hit)
    return {
        "uri": hit_uri(root, hit),
        "range": {
            "start": {"line": r.start.line, "character": r.start.character},
            "end": {"line": r.end.line, "character": r.end.character},
        },
        "symbol": hit.symbol,
        "kind": hit.kind,
        "language": hit.language,
        "score": round(hit.score, 6),
        "snippet": hit.snippet,
        "path": hit.path,
    }


def file_result(root: Path, found: FileHit) -> dict[str, Any]:
    """One entry of a `codesearch/search` answer with `files: true`: FileHit.to_json() plus the
    file's URI, its best units shaped as the unit results are (uri, range, ...)."""
    return {
        "uri": (root / found.path).as_uri(),
        "path": found.path,
        "language": found.language,
        "score": round(found.score, 6),
        "hits": [search_result(root, h) for h in found.hits],
    }


def symbol_information(root: Path, hit: SearchHit) -> types.SymbolInformation:
    """A hit as a workspace symbol; the container is the file's path."""
    return types.SymbolInformation(
        name=hit.symbol or hit.path,
        kind=SYMBOL_KINDS.get(hit.kind, types.SymbolKind.Object),
        location=types.Location(uri=hit_uri(root, hit), range=hit_range(hit)),
        container_name=hit.path,
    )
