"""What the tools return: result models (their JSON schemas are the tools' output schemas),
and the conversion of library results into them with snippets trimmed to a budget.

An agent's context is precious: each hit carries at most `mcp_snippet_chars`
characters of code, cut at a line end, and says whether it was cut; the agent
reads the file for the rest (the line range is exact).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from codesearch import DuplicatePair, FileHit, SearchHit

from .sandbox import Sandbox

#: The unit kinds a search can be restricted to (codesearch.models.UNIT_KINDS; a test keeps them equal).
Kind = Literal[
    "function", "method", "class", "interface", "struct", "trait", "impl", "enum", "module", "file", "section"
]


class Hit(BaseModel):
    """One place in the code."""

    path: str = Field(description="File path relative to the served root (`root`).")
    start_line: int = Field(description="First line of the unit, 1-based.")
    end_line: int = Field(description="Last line of the unit, inclusive.")
    symbol: str = Field(description="Qualified name (`Class.method`), or the path for a file unit.")
    kind: str = Field(description="function, method, class, interface, struct, ..., file or section.")
    language: str
    score: float = Field(description="Relevance; higher is better, comparable within one answer only.")
    snippet: str = Field(description="The unit's first lines of code, cut to the server's snippet budget.")
    truncated: bool = Field(
        description="True when the snippet is not the whole unit: read the file for more."
    )


class SearchAnswer(BaseModel):
    """The answer of search_code."""

    root: str = Field(description="Absolute path of the served root; every `path` is relative to it.")
    partial: bool = Field(
        description="True while the first indexing pass is still running: files not indexed yet are missing."
    )
    hits: list[Hit]
    note: str = Field(
        "", description="Anything the agent should know about this answer (progress, warnings)."
    )


class File(BaseModel):
    """One file of the file-level ranking, with its best units."""

    path: str = Field(description="File path relative to the served root (`root`).")
    language: str
    score: float = Field(
        description="The file's units together, with saturation; comparable within one answer only."
    )
    hits: list[Hit] = Field(description="The file's best units (at most 3, best first), without code.")


class FilesAnswer(BaseModel):
    """The answer of search_files."""

    root: str = Field(description="Absolute path of the served root; every `path` is relative to it.")
    partial: bool = Field(
        description="True while the first indexing pass is still running: files not indexed yet are missing."
    )
    files: list[File]
    note: str = Field(
        "", description="Anything the agent should know about this answer (progress, warnings)."
    )


class Duplicate(BaseModel):
    """A function of the asked code and the function elsewhere that copies it."""

    symbol: str = Field(description="The function of the asked file or range.")
    start_line: int
    end_line: int
    copy_path: str = Field(description="Where the other copy is, relative to the root.")
    copy_start_line: int
    copy_end_line: int
    copy_symbol: str
    kind: Literal["exact", "renamed", "edited"] = Field(
        description="exact: same tokens; renamed: same structure, other names; edited: a changed copy."
    )
    score: float = Field(
        description="1.0 for exact copies; else the mean of structural and embedding similarity."
    )


class SimilarAnswer(BaseModel):
    """The answer of find_similar_code."""

    root: str = Field(description="Absolute path of the served root; every path is relative to it.")
    partial: bool = Field(description="True while the first indexing pass is still running.")
    duplicates: list[Duplicate] = Field(
        description="Near-duplicate functions (exact, renamed or edited copies); only for a `path` request."
    )
    related: list[Hit] = Field(description="Other code closest in meaning and identifiers, best first.")
    note: str = ""


class Progress(BaseModel):
    """A running indexing pass."""

    phase: str
    files_done: int
    files_total: int
    units_done: int
    eta_seconds: float | None = Field(description="Estimated seconds left, when known.")


class StatusAnswer(BaseModel):
    """The answer of index_status."""

    root: str
    state: Literal["starting", "indexing", "ready", "error"] = Field(
        description="ready: searchable and kept current by the file watcher; indexing: searchable, "
        "partial; starting: opening the index; error: see `message`."
    )
    partial: bool = Field(description="True until the first pass over the tree has finished.")
    owner: str = Field(description="Who keeps the index current: this server, or another codesearch process.")
    files: int
    units: int = Field(description="Searchable units: functions, methods, classes, files, sections.")
    model: str = Field(description="Embedding model of the index.")
    backend: str
    last_indexed: float | None = Field(description="Unix time the index was last brought up to date.")
    age_seconds: float | None = Field(description="Seconds since then.")
    complete: bool = Field(description="False if an indexing run was interrupted and not yet resumed.")
    progress: Progress | None = Field(description="The pass running now, if any.")
    message: str


class ReindexAnswer(BaseModel):
    """The answer of reindex."""

    started: bool
    message: str


def trim(code: str, budget: int) -> tuple[str, bool]:
    """At most `budget` characters of `code`, cut at a line end when a line fits; and whether it was cut."""
    code = code.rstrip()
    if len(code) <= budget:
        return code, False
    if budget <= 0:
        return "", True
    kept: list[str] = []
    used = 0
    for line in code.splitlines(keepends=True):
        if used + len(line) > budget:
            break
        kept.append(line)
        used += len(line)
    text = "".join(kept).rstrip() if kept else code[:budget]
    return text, True


class Snippets:
    """Reads hits' code from the files on disk (fresh, whole), falling back on the stored snippet."""

    def __init__(self, sandbox: Sandbox, budget: int) -> None:
        self._sandbox = sandbox
        self._budget = budget
        self._files: dict[str, list[str] | None] = {}

    def _lines(self, rel: str) -> list[str] | None:
        if rel not in self._files:
            try:
                text = (self._sandbox.root / rel).read_text(encoding="utf-8", errors="replace")
                self._files[rel] = text.splitlines()
            except OSError:
                self._files[rel] = None
        return self._files[rel]

    def code(self, rel: str, start_line: int, end_line: int, stored: str) -> tuple[str, bool]:
        """The trimmed code of lines start..end of `rel`."""
        if self._budget <= 0:
            return "", True
        lines = self._lines(rel)
        if lines is None or end_line > len(lines):  # gone, or changed since it was indexed
            text, cut = trim(stored, self._budget)
            return text, cut or len(stored.splitlines()) < end_line - start_line + 1
        return trim("\n".join(lines[start_line - 1 : end_line]), self._budget)

    def hit(self, h: SearchHit) -> Hit:
        """A library hit as a tool hit."""
        snippet, cut = self.code(h.path, h.start_line, h.end_line, h.snippet)
        return Hit(
            path=h.path,
            start_line=h.start_line,
            end_line=h.end_line,
            symbol=h.symbol,
            kind=h.kind,
            language=h.language,
            score=round(h.score, 4),
            snippet=snippet,
            truncated=cut,
        )


def hits(found: Iterable[SearchHit], sandbox: Sandbox, budget: int) -> list[Hit]:
    """Tool hits of library hits; a hit whose path does not resolve inside the root is left out."""
    snippets = Snippets(sandbox, budget)
    return [snippets.hit(h) for h in found if sandbox.contains(h.path)]


def files(found: Iterable[FileHit], sandbox: Sandbox) -> list[File]:
    """Tool files of library files, their units as locations without code; a file whose path does
    not resolve inside the root is left out."""
    return [
        File(path=f.path, language=f.language, score=round(f.score, 4), hits=hits(f.hits, sandbox, 0))
        for f in found
        if sandbox.contains(f.path)
    ]


def duplicates(
    pairs: Iterable[DuplicatePair], sandbox: Sandbox, lines: tuple[int, int] | None
) -> list[Duplicate]:
    """Tool duplicates of the pairs whose unit overlaps `lines` (all when None) and whose copy is inside."""
    out: list[Duplicate] = []
    for p in pairs:
        u, d = p.unit, p.duplicate_of
        if lines is not None and (u.end_line < lines[0] or u.start_line > lines[1]):
            continue
        if not sandbox.contains(d.path):
            continue
        out.append(
            Duplicate(
                symbol=u.symbol,
                start_line=u.start_line,
                end_line=u.end_line,
                copy_path=d.path,
                copy_start_line=d.start_line,
                copy_end_line=d.end_line,
                copy_symbol=d.symbol,
                kind=p.kind,  # type: ignore[arg-type]
                score=round(p.score, 4),
            )
        )
    return out


def read_lines(root: Path, rel: str, start: int, end: int | None) -> str:
    """Lines start..end (1-based, inclusive; end None = to the end) of a file under the root."""
    lines = (root / rel).read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(lines[start - 1 : end])
