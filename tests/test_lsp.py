"""The language server as an editor sees it: a real `codesearch-lsp` process over stdio."""

from __future__ import annotations

import asyncio
import fcntl
import json
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from conftest import FIXTURES
from embed_server import EmbedServer
from lsp_client import request, server_env, start, stop, wait_ready
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

QUERY = "retry a failed upload with exponential backoff"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def repo_client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[LanguageClient, Path]]:
    """One server on a copy of the sample repository, indexed."""
    base = tmp_path_factory.mktemp("lsp")
    repo = base / "repo"
    shutil.copytree(FIXTURES / "sample_repo", repo)
    client = await start([repo], server_env(base))
    await wait_ready(client)
    yield client, repo
    await stop(client)


async def test_search_finds_the_function_and_its_range(repo_client: tuple[LanguageClient, Path]) -> None:
    client, repo = repo_client
    answer = await request(client, "codesearch/search", {"query": QUERY, "k": 5})
    assert answer["partial"] is False and "warning" not in answer
    top = answer["results"][0]
    assert top["uri"] == (repo / "src/net/upload.py").as_uri()
    assert top["path"] == "src/net/upload.py"
    assert "upload_with_retry" in top["symbol"] and top["kind"] == "method" and top["language"] == "python"
    # `def upload_with_retry` is line 18 of the file: LSP lines count from 0.
    assert top["range"]["start"] == {"line": 17, "character": 0}
    assert top["range"]["end"]["line"] >= 26
    assert "backoff" in top["snippet"]
    assert len(answer["results"]) <= 5
    scores = [r["score"] for r in answer["results"]]
    assert scores == sorted(scores, reverse=True)


async def test_filters_restrict_language_kind_and_path(repo_client: tuple[LanguageClient, Path]) -> None:
    client, _ = repo_client
    go = await request(
        client, "codesearch/search", {"query": "parse a date", "filters": {"languages": ["go"]}}
    )
    assert go["results"] and {r["language"] for r in go["results"]} == {"go"}
    kinds = await request(client, "codesearch/search", {"query": QUERY, "filters": {"kinds": ["class"]}})
    assert kinds["results"] and {r["kind"] for r in kinds["results"]} == {"class"}
    paths = await request(client, "codesearch/search", {"query": QUERY, "filters": {"paths": ["web/**"]}})
    assert paths["results"] and all(r["path"].startswith("web/") for r in paths["results"])


async def test_execute_command_search_answers_like_the_request(
    repo_client: tuple[LanguageClient, Path],
) -> None:
    client, _ = repo_client
    params = {"query": QUERY, "k": 3}
    direct = await request(client, "codesearch/search", params)
    via_command = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="codesearch.search", arguments=[params])
    )
    from codesearch_lsp.requests import plain

    assert plain(via_command) == direct


async def test_files_true_ranks_files_with_their_best_units(repo_client: tuple[LanguageClient, Path]) -> None:
    client, repo = repo_client
    answer = await request(client, "codesearch/search", {"query": QUERY, "k": 3, "files": True})
    assert answer["partial"] is False and "results" not in answer
    files = answer["files"]
    assert 1 <= len(files) <= 3 and len({f["path"] for f in files}) == len(files)
    top = files[0]
    assert top["path"] == "src/net/upload.py" and top["uri"] == (repo / "src/net/upload.py").as_uri()
    assert set(top) == {"uri", "path", "language", "score", "hits"} and top["language"] == "python"
    best = top["hits"][0]
    assert "upload_with_retry" in best["symbol"] and best["range"]["start"] == {"line": 17, "character": 0}
    assert best["uri"] == top["uri"] and 1 <= len(top["hits"]) <= 3
    assert [f["score"] for f in files] == sorted((f["score"] for f in files), reverse=True)
    go = await request(
        client,
        "codesearch/search",
        {"query": "parse a date", "files": True, "filters": {"languages": ["go"]}},
    )
    assert [f["path"] for f in go["files"]] == ["src/util/dates.go"]
    via_command = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="codesearch.search", arguments=[{"query": QUERY, "k": 3, "files": True}]
        )
    )
    from codesearch_lsp.requests import plain

    assert plain(via_command) == answer
    with pytest.raises(JsonRpcInvalidParams):
        await request(client, "codesearch/search", {"query": QUERY, "files": "yes"})


async def test_workspace_symbol_is_semantic(repo_client: tuple[LanguageClient, Path]) -> None:
    client, repo = repo_client
    symbols = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query=QUERY))
    assert symbols
    first = symbols[0]
    assert isinstance(first, types.SymbolInformation)
    assert "upload_with_retry" in first.name and first.kind == types.SymbolKind.Method
    assert first.location.uri == (repo / "src/net/upload.py").as_uri()
    assert first.location.range.start.line == 17
    assert await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="")) == []


async def test_status_progress_and_notifications(repo_client: tuple[LanguageClient, Path]) -> None:
    client, repo = repo_client
    status = await request(client, "codesearch/status", {})
    assert status["state"] == "ready" and status["partial"] is False
    (folder,) = status["folders"]
    assert folder["uri"] == repo.as_uri() and folder["state"] == "ready"
    assert folder["files"] > 5 and folder["units"] > 10
    # The first pass was shown as work-done progress: begun, then ended.
    kinds = [type(v).__name__ for values in client.progress_reports.values() for v in values]
    assert kinds[0] == "WorkDoneProgressBegin" and kinds[-1] == "WorkDoneProgressEnd"
    begin = next(iter(client.progress_reports.values()))[0]
    assert begin.title == "codesearch: indexing repo"
    states = [s["state"] for s in client.statuses]  # type: ignore[attr-defined]
    assert "indexing" in states and states[-1] == "ready"


async def test_bad_requests_get_errors_not_a_dead_server(repo_client: tuple[LanguageClient, Path]) -> None:
    client, _ = repo_client
    for params in ({}, {"query": ""}, {"query": "x", "k": 0}, {"query": "x", "filters": {"kinds": 3}}):
        with pytest.raises(JsonRpcInvalidParams):
            await request(client, "codesearch/search", params)
    assert (await request(client, "codesearch/search", {"query": QUERY}))["results"]


async def test_edits_are_followed_and_reindex_runs(repo_client: tuple[LanguageClient, Path]) -> None:
    client, repo = repo_client
    (repo / "src" / "net" / "mirror.py").write_text(
        "def mirror_bucket_to_tape_archive(bucket, tape):\n"
        '    """Copy every object of a storage bucket onto a tape archive."""\n'
        "    for key in bucket.keys():\n"
        "        tape.write(key, bucket.get(key))\n"
    )
    for _ in range(150):
        found = await request(client, "codesearch/search", {"query": "copy bucket objects onto tape", "k": 3})
        if found["results"] and found["results"][0]["path"] == "src/net/mirror.py":
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError(f"the new file was not indexed: {found}")
    started = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="codesearch.reindex", arguments=[repo.as_uri()])
    )
    assert started == {"started": True}
    await wait_ready(client)


async def test_bad_settings_are_reported_and_defaults_used(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "sample_repo", repo)
    other = tmp_path / "other"
    other.mkdir()
    (other / "tides.py").write_text(
        "def predict_high_tide(harbour, day):\n"
        '    """Tide table lookup: when is high water in this harbour on this day?"""\n'
        "    return harbour.tides[day].high\n"
    )
    options: dict[str, Any] = {"k": "many", "bogus": 1, "exclude": ["web/**"], "backend": "gpu-magic"}
    client = await start([repo], server_env(tmp_path), options)
    try:
        await wait_ready(client)
        messages = [m.message for m in client.messages]
        assert any("'k'" in m and "many" in m for m in messages), messages
        assert any("bogus" in m for m in messages), messages
        assert any("gpu-magic" in m for m in messages), messages
        answer = await request(client, "codesearch/search", {"query": QUERY})
        assert len(answer["results"]) == 10  # the default k
        assert not any(r["path"].startswith("web/") for r in answer["results"])  # the valid setting holds
        # A folder added to the workspace is indexed and searched too.
        client.workspace_did_change_workspace_folders(
            types.DidChangeWorkspaceFoldersParams(
                event=types.WorkspaceFoldersChangeEvent(
                    added=[types.WorkspaceFolder(uri=other.as_uri(), name="other")], removed=[]
                )
            )
        )
        await asyncio.sleep(0.5)
        await wait_ready(client)
        tide = await request(client, "codesearch/search", {"query": "when is high water", "k": 1})
        assert tide["results"][0]["uri"] == (other / "tides.py").as_uri()
        # New settings re-open the folders with them; a bad one is reported again.
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"codesearch": {"k": 3, "dimensions": "wide"}})
        )
        await asyncio.sleep(0.5)
        await wait_ready(client)
        assert len((await request(client, "codesearch/search", {"query": QUERY}))["results"]) == 3
        assert any("dimensions" in m.message and "wide" in m.message for m in client.messages)
        # The exclude setting is gone with the new settings: web/ is searched again.
        web = await request(
            client, "codesearch/search", {"query": "debounce", "filters": {"paths": ["web/**"]}}
        )
        assert web["results"]
    finally:
        await stop(client)


async def test_embedding_server_down_falls_back_to_lexical(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "sample_repo", repo)
    with EmbedServer(dims=64, context_length=4096, model="test-model") as server:
        options = {"backend": "sglang", "embedUrl": server.url, "model": "test-model", "contextLength": 4096}
        client = await start([repo], server_env(tmp_path), options)
        try:
            await wait_ready(client)
            healthy = await request(client, "codesearch/search", {"query": "upload_with_retry"})
            assert healthy["results"] and "warning" not in healthy
            server.control(fail_count=1000, fail_status=503)
            down = await request(client, "codesearch/search", {"query": "upload_with_retry"})
            assert "lexical matches only" in down["warning"]
            assert down["results"][0]["symbol"].endswith("upload_with_retry")
            files = await request(client, "codesearch/search", {"query": "upload_with_retry", "files": True})
            assert "lexical matches only" in files["warning"]
            assert files["files"][0]["path"] == "src/net/upload.py"
            for _ in range(50):  # the message is a notification: it may come just after the answer
                if any("lexical matches only" in m.message for m in client.messages):
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"no message told the user: {client.messages}")
            server.control(fail_count=0)
            again = await request(client, "codesearch/search", {"query": "upload_with_retry"})
            assert "warning" not in again
        finally:
            await stop(client)


async def test_another_owner_answers_then_the_server_takes_over(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "sample_repo", repo)
    env = server_env(tmp_path)
    log = tmp_path / "watch.log"
    with log.open("w") as sink:
        watch = subprocess.Popen(
            [sys.executable, "-m", "codesearch", "watch", str(repo), "-q"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    client = None
    try:
        owner_lock = repo / ".codesearch" / "owner.lock"
        for _ in range(100):  # the watch process takes the lock before it indexes
            if owner_lock.exists() and _locked(owner_lock):
                break
            await asyncio.sleep(0.1)
        client = await start([repo], env)
        status = await wait_ready(client)
        assert "another codesearch process" in status["folders"][0]["message"]
        for _ in range(300):  # answered by the watch process while it indexes
            found = await request(client, "codesearch/search", {"query": QUERY, "k": 1})
            if found["results"] and found["results"][0]["path"] == "src/net/upload.py":
                break
            await asyncio.sleep(0.2)
        assert found["results"][0]["path"] == "src/net/upload.py"
        watch.send_signal(signal.SIGINT)
        assert watch.wait(timeout=60) == 0, log.read_text()
        again = await request(client, "codesearch/search", {"query": QUERY, "k": 1})
        assert again["results"][0]["path"] == "src/net/upload.py" and "warning" not in again
        await wait_ready(client)
        (repo / "tides.py").write_text(
            "def predict_high_tide(harbour, day):\n    return harbour.tides[day]\n"
        )
        for _ in range(150):  # its own watcher follows edits now
            tide = await request(client, "codesearch/search", {"query": "predict_high_tide", "k": 1})
            if tide["results"] and tide["results"][0]["path"] == "tides.py":
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError(f"the server did not take the index over: {tide}")
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()
        if client is not None:
            await stop(client)


def _locked(path: Path) -> bool:
    with path.open("a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return False


async def test_a_request_without_params_is_answered(tmp_path: Path) -> None:
    """JSON-RPC lets a request leave `params` out; the server must still answer it."""
    repo = tmp_path / "repo"
    repo.mkdir()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "codesearch_lsp",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=server_env(tmp_path),
    )
    assert proc.stdin is not None and proc.stdout is not None

    def send(message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        assert proc.stdin is not None
        proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def answer(msg_id: int) -> dict[str, Any]:
        assert proc.stdout is not None
        while True:
            length = 0
            while (line := await proc.stdout.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            message: dict[str, Any] = json.loads(await proc.stdout.readexactly(length))
            if message.get("id") == msg_id and "method" not in message:
                return message

    send(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"capabilities": {}, "rootUri": repo.as_uri()},
        }
    )
    await asyncio.wait_for(answer(1), 30)
    send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    send({"jsonrpc": "2.0", "id": 2, "method": "codesearch/status"})
    status = await asyncio.wait_for(answer(2), 30)
    assert status["result"]["folders"][0]["uri"] == repo.as_uri()
    send({"jsonrpc": "2.0", "id": 3, "method": "codesearch/search"})
    refused = await asyncio.wait_for(answer(3), 30)
    assert refused["error"]["code"] == -32602 and "query" in refused["error"]["message"]
    send({"jsonrpc": "2.0", "id": 4, "method": "shutdown"})
    await asyncio.wait_for(answer(4), 30)
    send({"jsonrpc": "2.0", "method": "exit"})
    assert await asyncio.wait_for(proc.wait(), 30) == 0


async def test_saving_a_copied_function_publishes_a_duplicate_warning(
    repo_client: tuple[LanguageClient, Path],
) -> None:
    client, repo = repo_client
    original = (repo / "src/net/upload.py").read_text()
    copy = repo / "src" / "net" / "sender.py"
    copy.write_text(original.replace("upload_with_retry", "send_with_retries").replace("attempts", "tries"))
    uri = copy.as_uri()

    async def saved() -> list[types.Diagnostic]:
        client.diagnostics.pop(uri, None)
        client.text_document_did_save(
            types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri))
        )
        for _ in range(300):
            if uri in client.diagnostics:
                return list(client.diagnostics[uri])
            await asyncio.sleep(0.1)
        raise AssertionError("no diagnostics were published for the saved file")

    warnings = await saved()
    copied = next(d for d in warnings if "send_with_retries" in d.message)
    assert copied.severity == types.DiagnosticSeverity.Warning and copied.source == "codesearch"
    assert "Uploader.upload_with_retry at src/net/upload.py:18" in copied.message
    assert copied.code == "duplicate-renamed" and copied.range.start.line == 17
    (related,) = copied.related_information or []
    assert related.location.uri == (repo / "src/net/upload.py").as_uri()
    assert related.location.range.start.line == 17
    copy.write_text("def only_here(x):\n    return x\n")
    assert await saved() == []  # fixed: the warnings go away
    copy.unlink()


async def test_the_editor_sees_the_progressive_upgrade_finish(tmp_path: Path) -> None:
    """With the default progressive index, the folder's status message follows the MiniLM upgrade."""
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "ranking_repo", repo)
    client = await start([repo], server_env(tmp_path, {"CODESEARCH_UPGRADE_MODEL": "minilm"}))
    try:
        await wait_ready(client)
        messages = []
        for _ in range(600):
            status = await request(client, "codesearch/status", {})
            messages.append(status["folders"][0]["message"])
            if "searching with all-MiniLM" in messages[-1]:
                break
            await asyncio.sleep(0.2)
        assert "searching with all-MiniLM-L6-v2-int8" in messages[-1], messages[-5:]
        found = await request(client, "codesearch/search", {"query": "Command", "k": 1})
        assert found["results"][0]["symbol"] == "Command"
    finally:
        await stop(client)
