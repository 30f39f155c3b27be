"""The MCP wiring: the five tools and their schemas (descriptions.py: what an agent reads of
each), and `main`.

Each tool checks its arguments (the sandbox for paths), makes one call into the
library through the served root, and returns a result model: the SDK publishes
the model's JSON schema as the tool's output schema and sends the answer both as
structured content and as compact JSON text. A library error becomes a tool
error with what to do; the server keeps running.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, TypeVar

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from codesearch import (
    Answer,
    CodesearchError,
    ConfigError,
    EmbeddingError,
    Engine,
    IndexBusyError,
    IndexNotFoundError,
    SearchFilters,
    SearchHit,
    Settings,
    check_files,
    load_settings,
)

from . import __version__
from .answers import (
    FilesAnswer,
    Kind,
    Progress,
    ReindexAnswer,
    SearchAnswer,
    SimilarAnswer,
    StatusAnswer,
    duplicates,
    files,
    hits,
    read_lines,
)
from .descriptions import (
    FIND_SIMILAR_CODE,
    INDEX_STATUS,
    INSTRUCTIONS,
    REINDEX,
    SEARCH_CODE,
    SEARCH_FILES,
    Kinds,
    Paths,
    Query,
)
from .root import ServedRoot
from .sandbox import Sandbox

log = logging.getLogger("codesearch_mcp")

T = TypeVar("T")

#: The most results one call may ask for.
MAX_K = 50
#: Characters of a `code` argument (or a file range) used as the query of find_similar_code.
MAX_QUERY_CHARS = 8_000

_READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)


def _result(answer: BaseModel) -> CallToolResult:
    """Structured content plus the same JSON, compact, as text (for clients that read only text)."""
    return CallToolResult(
        content=[TextContent(type="text", text=answer.model_dump_json())],
        structured_content=answer.model_dump(mode="json"),
    )


class CodesearchMCP:
    """The served root and the tools over it."""

    def __init__(self, root: Path, settings: Settings) -> None:
        self.root = ServedRoot(root, settings)
        self.sandbox = Sandbox(root)
        self.settings = settings
        self.snippet_chars = settings.mcp_snippet_chars

    # -- errors -----------------------------------------------------------------------

    def _error(self, exc: CodesearchError) -> ToolError:
        """A library error as a tool error that says what to do."""
        if isinstance(exc, EmbeddingError):
            return ToolError(
                f"the embedding model is not available: {exc}. What to do: {self._embedding_advice()}. "
                "The index keeps what it has; index_status tells when indexing goes on."
            )
        if isinstance(exc, IndexBusyError):
            return ToolError(f"the index is busy: {exc}. Try again in a moment.")
        return ToolError(f"codesearch: {exc}")

    def _embedding_advice(self) -> str:
        if self.settings.backend == "sglang":
            return (
                f"start the embedding server at {self.settings.embed_url} (`codesearch serve` on a "
                "GPU machine), point the `embed_url` option at a running one, or use the CPU model "
                '(backend = "local") and restart this server'
            )
        return "reinstall codesearch (`pip install --force-reinstall codesearch`), then restart"

    def _answer(
        self, query: str, k: int, filters: SearchFilters, partial: bool, files: bool = False
    ) -> tuple[Answer, bool]:
        """The library's answer (lexical matches alone while the embedding model is not available)."""
        return self._searched(lambda e: e.answer(query, k, filters, files=files), partial, Answer())

    def _answer_note(self, answer: Answer, partial: bool) -> str:
        notes = [self._note(partial)]
        if answer.lexical_only:
            notes.append(
                f"the embedding model is not available: {answer.embedding_error}; these are lexical "
                f"matches only. What to do: {self._embedding_advice()}"
            )
        return "; ".join(n for n in notes if n)

    def _note(self, partial: bool) -> str:
        if not partial:
            return ""
        progress = self.root.progress
        if progress is not None and progress.files_total:
            return (
                f"still indexing ({progress.files_done:,}/{progress.files_total:,} files): "
                "files not indexed yet are missing; search again later"
            )
        return f"still indexing ({self.root.message}): files not indexed yet are missing; search again later"

    def _search(
        self, query: str, k: int, filters: SearchFilters, partial: bool
    ) -> tuple[list[SearchHit], bool]:
        """Units for a query, as the library ranks them (an error where the model is not available)."""
        return self._searched(lambda e: e.search(query, k, filters), partial, [])

    def _searched(self, work: Callable[[Engine], T], partial: bool, nothing: T) -> tuple[T, bool]:
        """What `work` finds, and whether the index is partial; `nothing`, partial, before the
        first pass has written anything; a library error as a tool error."""
        try:
            return self.root.call(work), partial
        except IndexNotFoundError:  # the first pass has not written anything yet
            return nothing, True
        except CodesearchError as exc:
            raise self._error(exc) from None

    def _filters(
        self, languages: list[str] | None, paths: list[str] | None, kinds: list[Kind] | None
    ) -> SearchFilters:
        return SearchFilters(
            languages=tuple(languages or ()),
            paths=tuple(self.sandbox.glob(p) for p in paths or ()),
            kinds=tuple(kinds or ()),
        )

    # -- tools ------------------------------------------------------------------------

    def search_code(
        self,
        query: Query,
        k: Annotated[int, Field(ge=1, le=MAX_K, description="How many results (default 10).")] = 10,
        languages: Annotated[
            list[str] | None,
            Field(
                description="Only these languages, lower case as tree-sitter names them: python, "
                "typescript, tsx, javascript, go, rust, java, c, cpp, csharp, ...; `text` for other files."
            ),
        ] = None,
        paths: Paths = None,
        kinds: Kinds = None,
        files_only: Annotated[
            bool,
            Field(description="One hit per file (its best unit's lines), without code: which files matter."),
        ] = False,
    ) -> Annotated[CallToolResult, SearchAnswer]:
        if not query.strip():
            raise ToolError("the query is empty; describe the code to find")
        filters = self._filters(languages, paths, kinds)
        partial = self.root.partial
        found, partial = self._answer(query, k, filters, partial, files=files_only)
        # With files_only, each file's best unit, as search_files ranks the files.
        shown = [f.hits[0] for f in found.files if f.hits] if files_only else found.hits
        answer = SearchAnswer(
            root=str(self.sandbox.root),
            partial=partial,
            hits=hits(shown, self.sandbox, 0 if files_only else self.snippet_chars),
            note=self._answer_note(found, partial),
        )
        return _result(answer)

    def search_files(
        self,
        query: Query,
        k: Annotated[int, Field(ge=1, le=MAX_K, description="How many files (default 10).")] = 10,
        languages: Annotated[
            list[str] | None,
            Field(description="Only these languages (as in search_code); `text` for other files."),
        ] = None,
        paths: Paths = None,
        kinds: Kinds = None,
    ) -> Annotated[CallToolResult, FilesAnswer]:
        if not query.strip():
            raise ToolError("the query is empty; describe the code to find")
        filters = self._filters(languages, paths, kinds)
        found, partial = self._answer(query, k, filters, self.root.partial, files=True)
        answer = FilesAnswer(
            root=str(self.sandbox.root),
            partial=partial,
            files=files(found.files, self.sandbox),
            note=self._answer_note(found, partial),
        )
        return _result(answer)

    def find_similar_code(
        self,
        path: Annotated[
            str | None, Field(description="A file in the repository, relative to the root (or absolute).")
        ] = None,
        start_line: Annotated[
            int | None, Field(ge=1, description="With `path`: first line of the code to compare (1-based).")
        ] = None,
        end_line: Annotated[
            int | None, Field(ge=1, description="With `path`: last line of the code to compare.")
        ] = None,
        code: Annotated[str | None, Field(description="Instead of `path`: the code itself.")] = None,
        k: Annotated[int, Field(ge=1, le=MAX_K, description="How many related results (default 5).")] = 5,
    ) -> Annotated[CallToolResult, SimilarAnswer]:
        if (path is None) == (code is None):
            raise ToolError("give either `path` (with optional start_line/end_line) or `code`, not both")
        partial = self.root.partial
        if code is not None:
            if not code.strip():
                raise ToolError("`code` is empty")
            related, partial = self._search(code[:MAX_QUERY_CHARS], k, SearchFilters(), partial)
            answer = SimilarAnswer(
                root=str(self.sandbox.root),
                partial=partial,
                duplicates=[],
                related=hits(related, self.sandbox, self.snippet_chars),
                note=self._note(partial),
            )
            return _result(answer)
        assert path is not None
        rel = self.sandbox.file(path)
        if start_line is not None and end_line is not None and end_line < start_line:
            raise ToolError("end_line is before start_line")
        try:
            text = read_lines(self.sandbox.root, rel, start_line or 1, end_line)
        except OSError as exc:
            raise ToolError(f"cannot read {rel}: {exc}") from None
        if not text.strip():
            raise ToolError(f"{rel} has no code in lines {start_line or 1}-{end_line or 'end'}")
        lines = (start_line or 1, end_line or 10**9)
        try:
            pairs = self.root.call(lambda e: check_files(e, [rel]).pairs)
        except IndexNotFoundError:
            pairs, partial = [], True
        except CodesearchError as exc:
            raise self._error(exc) from None
        found, partial = self._search(text[:MAX_QUERY_CHARS], k + 10, SearchFilters(), partial)
        others = [
            h for h in found if not (h.path == rel and h.start_line <= lines[1] and h.end_line >= lines[0])
        ]
        answer = SimilarAnswer(
            root=str(self.sandbox.root),
            partial=partial,
            duplicates=duplicates(pairs, self.sandbox, lines),
            related=hits(others[:k], self.sandbox, self.snippet_chars),
            note=self._note(partial),
        )
        return _result(answer)

    def index_status(self) -> Annotated[CallToolResult, StatusAnswer]:
        # State first, figures after: a pass that ends between the two then reads as still
        # indexing with the final figures, never as ready with the figures of mid-pass.
        state, partial = self.root.state, self.root.partial
        try:
            info = self.root.call(lambda e: e.status())
        except CodesearchError as exc:
            info = {"model": "", "backend": self.settings.backend}
            message = f"{self.root.message} ({exc})"
        else:
            message = self.root.message
        p = self.root.progress
        progress = None
        if p is not None:
            eta = p.eta
            progress = Progress(
                phase=p.phase,
                files_done=p.files_done,
                files_total=p.files_total,
                units_done=p.units_done,
                eta_seconds=None if eta is None else round(eta, 1),
            )
        answer = StatusAnswer(
            root=str(self.sandbox.root),
            state=state,  # type: ignore[arg-type]
            partial=partial,
            owner="this server (it watches the files)" if self.root.owner else "another codesearch process",
            files=int(info.get("files", 0)),
            units=int(info.get("units", 0)),
            model=str(info.get("model", "")),
            backend=str(info.get("backend", self.settings.backend)),
            last_indexed=info.get("last_indexed"),
            age_seconds=info.get("age_seconds"),
            complete=bool(info.get("complete", False)),
            progress=progress,
            message=message,
        )
        return _result(answer)

    def reindex(self) -> Annotated[CallToolResult, ReindexAnswer]:
        if self.root.reindex():
            answer = ReindexAnswer(started=True, message="a pass over every file is queued; see index_status")
        elif self.root.owner is False and self.root.state == "ready":
            answer = ReindexAnswer(
                started=False,
                message="another codesearch process owns this index and keeps it current; nothing to do",
            )
        else:
            answer = ReindexAnswer(started=False, message=f"cannot re-index now: {self.root.message}")
        return _result(answer)


def create_server(root: Path, settings: Settings) -> tuple[MCPServer, CodesearchMCP]:
    """The MCP server with every tool registered, and the object behind the tools."""
    tools = CodesearchMCP(root, settings)
    server: MCPServer = MCPServer(
        "codesearch",
        title="codesearch: semantic code search",
        instructions=INSTRUCTIONS.format(root=tools.sandbox.root),
        version=__version__,
        log_level="WARNING",
    )
    writes = ToolAnnotations(
        read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
    )
    tool: Callable[..., CallToolResult]
    for tool, title, description, hints in (
        (tools.search_code, "Search code by meaning", SEARCH_CODE, _READ_ONLY),
        (tools.search_files, "Find the files that matter", SEARCH_FILES, _READ_ONLY),
        (tools.find_similar_code, "Find similar code and duplicates", FIND_SIMILAR_CODE, _READ_ONLY),
        (tools.index_status, "Index status", INDEX_STATUS, _READ_ONLY),
        (tools.reindex, "Re-index the repository", REINDEX, writes),
    ):
        server.add_tool(tool, tool.__name__, title, description, hints)
    return server, tools


def serve(root: Path, settings: Settings) -> None:
    """Serve MCP over stdio until the client closes stdin; indexing starts at once."""
    server, tools = create_server(root, settings)
    tools.root.start()
    try:
        anyio.run(server.run_stdio_async)
    finally:
        tools.root.close()


def main(argv: Sequence[str] | None = None) -> int:
    """`codesearch-mcp [PATH]`: serve MCP over stdio for the repository at PATH (default: .)."""
    parser = argparse.ArgumentParser(prog="codesearch-mcp", description="codesearch's MCP server over stdio.")
    parser.add_argument("path", nargs="?", default=".", help="repository root to serve (default: .)")
    parser.add_argument("--version", action="version", version=f"codesearch-mcp {__version__}")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    return run(Path(args.path), {}, args.log_level)


def run(path: Path, overrides: dict[str, object], log_level: str = "WARNING") -> int:
    """Resolve the settings of `path` and serve it; the exit code (3 for a bad configuration)."""
    logging.basicConfig(level=log_level, stream=sys.stderr, format="codesearch-mcp %(levelname)s %(message)s")
    root = path.expanduser().resolve()
    if not root.is_dir():
        print(f"codesearch-mcp: {path} is not a directory", file=sys.stderr)
        return 2
    try:
        settings, _ = load_settings(root, overrides)
    except ConfigError as exc:
        print(f"codesearch-mcp: {exc}", file=sys.stderr)
        return exc.exit_code
    serve(root, settings)
    return 0
