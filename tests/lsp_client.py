"""Driving the real `codesearch-lsp` process over stdio with pytest-lsp's client."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codesearch_lsp.requests import plain
from lsprotocol import types
from pytest_lsp import LanguageClient
from pytest_lsp.client import make_test_lsp_client


def server_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without CODESEARCH_*, with config and cache under `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODESEARCH_")}
    env.update(XDG_CONFIG_HOME=str(home / "xdg-config"), XDG_CACHE_HOME=str(home / "xdg-cache"))
    env["CODESEARCH_UPGRADE_MODEL"] = ""  # no background MiniLM upgrade unless a test asks for it
    env.update(extra or {})
    return env


async def start(
    folders: list[Path], env: dict[str, str], options: dict[str, Any] | None = None
) -> LanguageClient:
    """Start `python -m codesearch_lsp` and initialise it with these workspace folders."""
    client = make_test_lsp_client()
    statuses: list[dict[str, Any]] = []
    client.statuses = statuses  # type: ignore[attr-defined]

    @client.feature("codesearch/statusChanged")
    def status_changed(params: Any) -> None:
        statuses.append(plain(params))

    await client.start_io(sys.executable, "-m", "codesearch_lsp", env=env)
    await client.initialize_session(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(
                window=types.WindowClientCapabilities(work_done_progress=True),
                workspace=types.WorkspaceClientCapabilities(workspace_folders=True),
            ),
            root_uri=folders[0].as_uri() if folders else None,
            workspace_folders=[types.WorkspaceFolder(uri=f.as_uri(), name=f.name) for f in folders],
            initialization_options=options,
        )
    )
    return client


async def request(client: LanguageClient, method: str, params: Any) -> Any:
    """A custom request; the answer as plain dicts and lists."""
    return plain(await client.protocol.send_request_async(method, params))


async def wait_ready(client: LanguageClient, timeout: float = 240.0) -> dict[str, Any]:
    """Poll codesearch/status until every folder is ready."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status: dict[str, Any] = await request(client, "codesearch/status", {})
        if status["state"] == "ready" and status["folders"]:
            return status
        if status["state"] == "error" or asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the server did not get ready: {status}")
        await asyncio.sleep(0.2)


async def stop(client: LanguageClient) -> None:
    """Shut the server down the way an editor does."""
    await client.shutdown_session()
    await client.stop()
