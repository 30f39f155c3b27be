"""The language server: LSP messages in, one library call, LSP results out.

Requests:
    codesearch/search          {query, k?, filters?: {languages?, paths?, kinds?}, mode?, files?}
                               -> {results: [{uri, range, symbol, kind, language, score,
                                   snippet, path}], partial, warning?}
                               files: true -> {files: [{uri, path, language, score,
                                   hits: [results as above]}], partial, warning?}
    codesearch/status          -> {state, partial, folders: [{uri, state, files, units,
                                   done, total, message}]}
    workspace/symbol           semantic search, for editors that pass the query through
    workspace/executeCommand   codesearch.search [params], codesearch.reindex [folderUri?]
Notifications from the editor:
    textDocument/didSave       the saved file's duplicated functions -> publishDiagnostics
Notifications to the editor:
    $/progress                 while a folder is indexed
    codesearch/statusChanged   the codesearch/status answer, whenever it changes
    window/showMessage         bad settings, an embedding server that is down, errors
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import threading
from collections.abc import Sequence
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from codesearch import CodesearchError, FileHit, SearchFilters, SearchHit, Settings, merge_ranked

from . import __version__
from .convert import file_result, search_result, symbol_information
from .diagnostics import duplicate_diagnostics
from .folders import ERROR, INDEXING, READY, STARTING, FolderIndex, FolderSearch
from .reporting import StatusReporter
from .requests import SEARCH, STATUS, fs_path, search_params
from .settings import EditorOptions, folder_settings, parse_options

CMD_SEARCH = "codesearch.search"
CMD_REINDEX = "codesearch.reindex"

log = logging.getLogger("codesearch_lsp")


class _Protocol(LanguageServerProtocol):
    """pygls 2 cannot read a custom request that has no `params` (JSON-RPC allows that):
    it logs an error and never answers, so the editor waits forever. Give it `null`.

    pygls answers a handler's unexpected exception with JsonRpcInternalError.of(exc_info),
    whose `data` is the Python traceback: the error is sent with its one-line message only
    (the traceback still goes to the server's log)."""

    def _send_response(self, msg_id: Any, result: Any | None = None, error: Any | None = None) -> None:
        if error is not None and isinstance(error.data, dict) and "traceback" in error.data:
            error = types.ResponseError(code=error.code, message=error.message)
        super()._send_response(msg_id, result, error)

    def structure_message(self, data: dict[str, Any]) -> Any:
        if "method" in data and "params" not in data and self.get_message_type(data["method"]) is None:
            data = {**data, "params": None}
        return super().structure_message(data)


class _QuietCancels(logging.Filter):
    """A cancel that arrives after its answer is normal for a client that debounces."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Cancel notification for unknown message id")


class CodesearchServer(LanguageServer):
    """Holds the workspace folders' indexes and the editor's settings."""

    def __init__(self) -> None:
        super().__init__(
            "codesearch",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.None_,
            protocol_cls=_Protocol,
        )
        self.options = EditorOptions()
        self.folders: dict[str, FolderIndex] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.reporter = StatusReporter(self, self.status_body)
        self.initialized = False  # the workspace folders are known
        self.shutting_down = False
        self._save_seq: dict[str, int] = {}  # per document: the latest save being checked
        self._lock = threading.Lock()

    # -- messages ------------------------------------------------------------------

    def tell(self, message: str, error: bool = False) -> None:
        """window/showMessage, from any thread."""
        kind = types.MessageType.Error if error else types.MessageType.Warning
        self._on_loop(lambda: self.window_show_message(types.ShowMessageParams(type=kind, message=message)))

    def _on_loop(self, call: Any) -> None:
        if self.loop is not None and not self.loop.is_closed() and not self.shutting_down:
            self.loop.call_soon_threadsafe(call)

    def apply_options(self, raw: Any) -> bool:
        """Take the editor's settings; report what is refused. True if the accepted ones changed."""
        options = parse_options(raw)
        for problem in options.problems:
            self.tell(f"codesearch: {problem}")
        changed = options.values != self.options.values
        self.options = options
        return changed

    # -- folders -------------------------------------------------------------------

    def open_folder(self, uri: str) -> None:
        """Start indexing a workspace folder in the background."""
        root = fs_path(uri)
        problem = ""
        try:
            settings = folder_settings(root, self.options)
        except CodesearchError as exc:  # a bad .codesearch.toml: the editor's settings cannot help
            settings, problem = Settings(), str(exc)
            self.tell(f"codesearch: {exc}", error=True)
        folder = FolderIndex(
            root,
            settings,
            on_change=lambda f: self._on_loop(lambda: self.reporter.changed(f)),
            on_notice=self.tell,
        )
        with self._lock:
            old = self.folders.pop(folder.uri, None)
            self.folders[folder.uri] = folder
        if old is not None:
            old.close()
        if problem:
            folder.fail(problem)  # listed with state "error" and the message; searches say why
        else:
            folder.start()

    def close_folder(self, uri: str) -> None:
        """Stop indexing a folder that left the workspace."""
        root_uri = fs_path(uri).as_uri()
        with self._lock:
            folder = self.folders.pop(root_uri, None)
        if folder is not None:
            folder.close()
            self._on_loop(lambda: self.reporter.forget(folder))

    def restart_folders(self) -> None:
        """Reopen every folder with the current settings."""
        for uri in list(self.folders):
            self.open_folder(uri)

    def close_all(self) -> None:
        """Release every index (shutdown); nothing more is sent to the editor."""
        self.shutting_down = True
        self.reporter.close()
        with self._lock:
            folders, self.folders = list(self.folders.values()), {}
        for folder in folders:
            folder.close()

    # -- answers ---------------------------------------------------------------------

    def status_body(self) -> dict[str, Any]:
        """The `codesearch/status` answer."""
        statuses = [f.status() for f in list(self.folders.values())]
        states = {s.state for s in statuses}
        state = next((s for s in (ERROR, STARTING, INDEXING) if s in states), READY)
        if not self.initialized:
            state = STARTING
        return {
            "state": state,
            "partial": state == STARTING or any(f.partial for f in list(self.folders.values())),
            "folders": [s.to_json() for s in statuses],
        }

    def _searched(
        self,
        query: str,
        k: int | None,
        filters: SearchFilters,
        mode: str | None,
        only: str | None,
        files: bool,
    ) -> tuple[list[tuple[FolderIndex, FolderSearch]], bool, list[str]]:
        """Each folder's answer (or only the one `only` names); partial; warnings."""
        folders = [f for f in list(self.folders.values()) if only is None or f.uri == only]
        answers: list[tuple[FolderIndex, FolderSearch]] = []
        partial = not folders
        warnings: list[str] = []
        for folder in folders:
            found = folder.search(query, k or folder.settings.k, filters, mode, files)
            partial = partial or found.partial
            if found.warning and found.warning not in warnings:
                warnings.append(found.warning)
            answers.append((folder, found))
        return answers, partial, warnings

    def _ranked(
        self, query: str, k: int | None, filters: SearchFilters, mode: str | None, only: str | None
    ) -> tuple[list[tuple[FolderIndex, SearchHit]], bool, list[str]]:
        """Hits of every folder (or the one `only` names), merged by rank (merge_ranked); partial;
        warnings."""
        answers, partial, warnings = self._searched(query, k, filters, mode, only, files=False)
        hits = merge_ranked([[(folder, h) for h in found.hits] for folder, found in answers], _score)
        return hits, partial, warnings

    def search(self, params: Any) -> dict[str, Any]:
        """The `codesearch/search` answer, over every folder (or the one named by `folder`);
        with `files: true`, files ranked (each with its best units) instead of units."""
        query, k, filters, mode, only, files = search_params(params)
        limit = k or max(
            (f.settings.k for f in list(self.folders.values()) if only in (None, f.uri)), default=10
        )
        body: dict[str, Any]
        if files:
            answers, partial, warnings = self._searched(query, k, filters, mode, only, files=True)
            ranked: list[tuple[FolderIndex, FileHit]] = merge_ranked(
                [[(f, h) for h in found.files] for f, found in answers], _score
            )
            body = {"files": [file_result(f.root, h) for f, h in ranked[:limit]], "partial": partial}
        else:
            hits, partial, warnings = self._ranked(query, k, filters, mode, only)
            body = {"results": [search_result(f.root, h) for f, h in hits[:limit]], "partial": partial}
        if warnings:
            body["warning"] = " ".join(warnings)
        return body

    def folder_of(self, uri: str) -> tuple[FolderIndex, str] | None:
        """The workspace folder holding a document, and the document's path relative to it."""
        path = fs_path(uri)
        for folder in sorted(self.folders.values(), key=lambda f: -len(str(f.root))):
            if path.is_relative_to(folder.root):
                return folder, path.relative_to(folder.root).as_posix()
        return None

    def check_saved(self, uri: str) -> None:
        """Publish the saved file's duplicate functions as warnings (an empty list clears them)."""
        found = self.folder_of(uri)
        if found is None:
            return
        folder, rel = found
        with self._lock:
            self._save_seq[uri] = seq = self._save_seq.get(uri, 0) + 1
        pairs = folder.duplicates(rel)
        if pairs is None or self._save_seq.get(uri) != seq:  # no index yet, or a newer save is checked
            return
        diagnostics = duplicate_diagnostics(folder.root, rel, pairs)
        params = types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics)
        self._on_loop(lambda: self.text_document_publish_diagnostics(params))

    def symbols(self, query: str) -> list[types.SymbolInformation]:
        """workspace/symbol: the semantic search's hits as symbols."""
        if not query.strip():
            return []
        hits, _, _ = self._ranked(query, None, SearchFilters(), None, None)
        return [symbol_information(f.root, h) for f, h in hits]


def _score(found: tuple[FolderIndex, SearchHit | FileHit]) -> float:
    return found[1].score


def create_server() -> CodesearchServer:
    """A server with every feature registered."""
    server = CodesearchServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: CodesearchServer, params: types.InitializeParams) -> None:
        ls.loop = asyncio.get_running_loop()
        ls.apply_options(params.initialization_options)

    @server.feature(types.INITIALIZED)
    def initialized(ls: CodesearchServer, params: types.InitializedParams) -> None:
        folders = list(ls.workspace.folders)
        if not folders and ls.workspace.root_uri:
            folders = [ls.workspace.root_uri]
        if not folders:
            ls.tell("codesearch: no workspace folder is open, so there is nothing to index")
        for uri in folders:
            ls.open_folder(uri)
        ls.initialized = True

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(ls: CodesearchServer, params: types.DidChangeConfigurationParams) -> None:
        if not params.settings:  # pull-model clients (and Neovim, by default) send no settings here
            return
        if ls.apply_options(params.settings):
            ls.restart_folders()

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_folders(ls: CodesearchServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
        for removed in params.event.removed:
            ls.close_folder(removed.uri)
        for added in params.event.added:
            ls.open_folder(added.uri)

    @server.feature(SEARCH)
    @server.thread()
    def search(ls: CodesearchServer, params: Any) -> dict[str, Any]:
        return ls.search(params)

    @server.feature(STATUS)
    def status(ls: CodesearchServer, params: Any) -> dict[str, Any]:
        return ls.status_body()

    @server.feature(types.WORKSPACE_SYMBOL)
    @server.thread()
    def workspace_symbol(
        ls: CodesearchServer, params: types.WorkspaceSymbolParams
    ) -> list[types.SymbolInformation]:
        return ls.symbols(params.query)

    @server.command(CMD_SEARCH)
    @server.thread()
    def search_command(ls: CodesearchServer, *args: Any) -> dict[str, Any]:
        if len(args) != 1:
            raise JsonRpcInvalidParams(f"{CMD_SEARCH} takes one argument: {{query, k?, filters?}}")
        return ls.search(args[0])

    @server.command(CMD_REINDEX)
    def reindex_command(ls: CodesearchServer, *args: Any) -> dict[str, Any]:
        only = fs_path(args[0]).as_uri() if args and isinstance(args[0], str) else None
        started = [f.reindex() for f in list(ls.folders.values()) if only is None or f.uri == only]
        return {"started": any(started)}

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    @server.thread()
    def did_save(ls: CodesearchServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.check_saved(params.text_document.uri)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: CodesearchServer, params: Any) -> None:
        ls.close_all()

    return server


def main(argv: Sequence[str] | None = None) -> None:
    """`codesearch-lsp`: serve LSP over stdio."""
    parser = argparse.ArgumentParser(prog="codesearch-lsp", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"codesearch-lsp {__version__}")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr, format="codesearch-lsp %(levelname)s %(message)s"
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(_QuietCancels())
    # The protocol owns stdout: anything else printing there (a library, a native log) would
    # corrupt it, so fd 1 becomes stderr and the protocol writes to a copy of the real stdout.
    protocol_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    server = create_server()
    try:
        server.start_io(sys.stdin.buffer, protocol_out)
    finally:
        server.close_all()
