"""The language server facing a hostile or broken repository (issue 14 item 23): a real
`codesearch-lsp` process over stdio, as tests/test_lsp.py drives it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsp_client import request, server_env, start, stop
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="function")


def _repo(root: Path) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("def upload_with_retry(path):\n    return send(path)\n")
    return root


async def _status_until(client: LanguageClient, done: Any, timeout: float = 120.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status: dict[str, Any] = await request(client, "codesearch/status", {})
        if done(status):
            return status
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no such status came: {status}")
        await asyncio.sleep(0.2)


async def test_an_unexpected_error_is_answered_without_a_traceback(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    client = await start([repo], server_env(tmp_path))
    try:
        # A folder that is not a URI nor an absolute path: the handler fails unexpectedly (ValueError).
        asks = (
            lambda: request(client, "codesearch/search", {"query": "upload", "folder": "relative/dir"}),
            lambda: client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="codesearch.reindex", arguments=["relative"])
            ),
        )
        for ask in asks:
            with pytest.raises(JsonRpcException) as caught:
                await ask()
            error = caught.value
            assert error.code == -32603 and "relative path" in error.message, error.message
            assert error.data is None, error.data  # pygls put the Python traceback here
            assert "Traceback" not in error.message and "File " not in error.message
        # The server keeps answering.
        status = await request(client, "codesearch/status", {})
        assert status["folders"][0]["uri"] == repo.as_uri()
    finally:
        await stop(client)


async def test_a_malformed_repository_config_is_the_folder_error(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    (repo / ".codesearch.toml").write_text("k = [\n")
    client = await start([repo], server_env(tmp_path))
    try:
        status = await _status_until(client, lambda s: s["folders"] or s["state"] not in ("starting",))
        assert status["state"] == "error", status
        [folder] = status["folders"]
        assert folder["uri"] == repo.as_uri() and folder["state"] == "error"
        assert ".codesearch.toml" in folder["message"], folder
        assert any(".codesearch.toml" in m.message for m in client.messages), client.messages
        answer = await request(client, "codesearch/search", {"query": "upload"})
        assert answer["results"] == [] and answer["partial"] is True
        assert ".codesearch.toml" in answer.get("warning", ""), answer
    finally:
        await stop(client)
