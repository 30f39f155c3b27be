"""The MCP server as an agent sees it: a real `codesearch mcp` process over stdio, driven by
the official SDK's own client (`mcp.client.stdio` + `ClientSession`)."""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, get_args

import pytest
from conftest import FIXTURES
from embed_server import EmbedServer
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult

from codesearch.models import UNIT_KINDS
from codesearch_mcp.answers import Kind, trim
from codesearch_mcp.sandbox import Sandbox

QUERY = "retry a failed upload with exponential backoff"
TOOLS = {"search_code", "search_files", "find_similar_code", "index_status", "reindex"}


def server_env(home: Path, **options: str) -> dict[str, str]:
    """The caller's environment without CODESEARCH_*, config and cache under `home`, plus options."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODESEARCH_")}
    env.update(XDG_CONFIG_HOME=str(home / "xdg-config"), XDG_CACHE_HOME=str(home / "xdg-cache"))
    env["CODESEARCH_UPGRADE_MODEL"] = ""  # no background MiniLM upgrade in these tests
    env.update({f"CODESEARCH_{k.upper()}": v for k, v in options.items()})
    return env


@asynccontextmanager
async def serve(repo: Path, env: dict[str, str], log: Path) -> AsyncIterator[ClientSession]:
    """Start `python -m codesearch mcp REPO` and initialise a client session with it."""
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "codesearch", "mcp", str(repo)], env=env, cwd=str(repo)
    )
    with log.open("w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    """Call a tool that must succeed; its structured content."""
    result = await session.call_tool(tool, arguments)
    assert isinstance(result, CallToolResult)
    assert not result.is_error, result.content
    content: dict[str, Any] | None = result.structured_content
    assert content is not None
    return content


async def refused(session: ClientSession, tool: str, **arguments: Any) -> str:
    """Call a tool that must fail; its error text."""
    result = await session.call_tool(tool, arguments)
    assert isinstance(result, CallToolResult)
    assert result.is_error, result
    text: str = result.content[0].text  # type: ignore[union-attr]
    return text


async def wait_ready(session: ClientSession, timeout: float = 240.0) -> dict[str, Any]:
    """Poll index_status until the first pass is done."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status = await call(session, "index_status")
        if status["state"] == "ready" and not status["partial"]:
            return status
        if status["state"] == "error" or asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the server did not get ready: {status}")
        await asyncio.sleep(0.2)


def sample_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "sample_repo", repo)
    return repo


@pytest.mark.asyncio
async def test_initialize_list_tools_and_search(tmp_path: Path) -> None:
    repo = sample_repo(tmp_path)
    env = server_env(tmp_path, mcp_snippet_chars="150")
    async with serve(repo, env, tmp_path / "server.log") as session:
        listed = (await session.list_tools()).tools
        assert {t.name for t in listed} == TOOLS
        for tool in listed:
            assert tool.description and len(tool.description) > 200, tool.name
            assert tool.input_schema["type"] == "object" and tool.output_schema is not None
        search = next(t for t in listed if t.name == "search_code")
        assert search.input_schema["required"] == ["query"]
        assert set(search.input_schema["properties"]) == {
            "query",
            "k",
            "languages",
            "paths",
            "kinds",
            "files_only",
        }
        assert search.annotations is not None and search.annotations.read_only_hint is True
        by_file = next(t for t in listed if t.name == "search_files")
        assert set(by_file.input_schema["properties"]) == {"query", "k", "languages", "paths", "kinds"}
        assert by_file.output_schema is not None and "files" in by_file.output_schema["properties"]

        status = await wait_ready(session)
        assert status["root"] == str(repo.resolve()) and status["owner"].startswith("this server")
        assert status["files"] > 5 and status["units"] > 10 and status["complete"] is True
        assert status["model"] and status["backend"] == "local"

        answer = await call(session, "search_code", query=QUERY, k=5)
        assert answer["partial"] is False and answer["root"] == str(repo.resolve())
        top = answer["hits"][0]
        assert top["path"] == "src/net/upload.py" and top["symbol"] == "Uploader.upload_with_retry"
        assert (top["start_line"], top["end_line"], top["kind"]) == (18, 27, "method")
        # The snippet budget: the first lines, cut at a line end, marked as cut.
        assert top["snippet"].startswith("    def upload_with_retry(") and len(top["snippet"]) <= 150
        assert top["truncated"] is True
        assert len(answer["hits"]) <= 5
        scores = [h["score"] for h in answer["hits"]]
        assert scores == sorted(scores, reverse=True)

        go = await call(session, "search_code", query="parse a date", languages=["go"])
        assert go["hits"] and {h["language"] for h in go["hits"]} == {"go"}
        classes = await call(session, "search_code", query=QUERY, kinds=["class"])
        assert classes["hits"] and {h["kind"] for h in classes["hits"]} == {"class"}
        web = await call(session, "search_code", query=QUERY, paths=["web/**"])
        assert web["hits"] and all(h["path"].startswith("web/") for h in web["hits"])
        absolute = await call(session, "search_code", query=QUERY, paths=[f"{repo}/src/**"])
        assert absolute["hits"][0]["path"] == "src/net/upload.py"
        files = await call(session, "search_code", query=QUERY, files_only=True)
        paths = [h["path"] for h in files["hits"]]
        assert paths[0] == "src/net/upload.py" and len(paths) == len(set(paths))
        assert all(h["snippet"] == "" for h in files["hits"])

        ranked = await call(session, "search_files", query=QUERY, k=3)
        assert ranked["partial"] is False and ranked["root"] == str(repo.resolve())
        assert 1 <= len(ranked["files"]) <= 3
        assert [f["path"] for f in ranked["files"]] == paths[: len(ranked["files"])]  # files_only agrees
        top_file = ranked["files"][0]
        assert (top_file["path"], top_file["language"]) == ("src/net/upload.py", "python")
        best = top_file["hits"][0]
        assert (best["symbol"], best["start_line"], best["end_line"]) == (
            "Uploader.upload_with_retry",
            18,
            27,
        )
        assert 1 <= len(top_file["hits"]) <= 3 and all(
            h["path"] == "src/net/upload.py" for h in top_file["hits"]
        )
        assert all(h["snippet"] == "" for f in ranked["files"] for h in f["hits"])
        scores = [f["score"] for f in ranked["files"]]
        assert scores == sorted(scores, reverse=True)
        go_files = await call(session, "search_files", query="parse a date", languages=["go"])
        assert [f["path"] for f in go_files["files"]] == ["src/util/dates.go"]
        assert "empty" in await refused(session, "search_files", query="  ")
        assert "outside" in await refused(session, "search_files", query=QUERY, paths=["../**"])

        bad = await session.call_tool("search_code", {"query": QUERY, "k": 0})
        assert bad.is_error
        assert "empty" in await refused(session, "search_code", query="  ")

        assert (await call(session, "reindex"))["started"] is True
        await wait_ready(session)
        assert (await call(session, "search_code", query=QUERY, k=1))["hits"][0][
            "path"
        ] == "src/net/upload.py"


@pytest.mark.asyncio
async def test_paths_outside_the_root_are_refused(tmp_path: Path) -> None:
    repo = sample_repo(tmp_path)
    secret = tmp_path / "secret.py"
    secret.write_text("def steal():\n    return 'the neighbour repository'\n")
    (repo / "outside").symlink_to(tmp_path)
    (repo / "src" / "link.py").symlink_to(secret)
    root = str(repo.resolve())
    async with serve(repo, server_env(tmp_path), tmp_path / "server.log") as session:
        await wait_ready(session)
        for path in ("../secret.py", str(secret), "outside/secret.py", "src/link.py", "src/../../secret.py"):
            message = await refused(session, "find_similar_code", path=path)
            assert "outside the served root" in message and root in message, message
        for glob in ("../**", "/etc/*", "outside/**", "src/../../*"):
            message = await refused(session, "search_code", query="steal", paths=[glob])
            assert "outside the served root" in message and root in message, message
        # Nothing the linked file holds was indexed or returned.
        found = await call(session, "search_code", query="steal the neighbour repository")
        assert all(not h["path"].startswith("outside") and h["path"] != "src/link.py" for h in found["hits"])
        assert "does not exist" in await refused(session, "find_similar_code", path="src/nope.py")


@pytest.mark.asyncio
async def test_edits_are_followed_and_copies_found(tmp_path: Path) -> None:
    repo = sample_repo(tmp_path)
    async with serve(repo, server_env(tmp_path), tmp_path / "server.log") as session:
        await wait_ready(session)
        source = (repo / "src" / "net" / "upload.py").read_text().splitlines()
        copy = "\n".join(source[17:27]).replace("upload_with_retry", "send_with_retries")
        (repo / "src" / "net" / "mirror.py").write_text(
            "import random\nimport time\n\n\nclass Mirror:\n" + copy + "\n"
        )
        for _ in range(150):
            found = await call(session, "search_code", query="send_with_retries", k=3)
            if found["hits"] and found["hits"][0]["path"] == "src/net/mirror.py":
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError(f"the edited file was not indexed: {found}")

        similar = await call(session, "find_similar_code", path="src/net/mirror.py", start_line=6)
        (dup,) = [d for d in similar["duplicates"] if d["copy_path"] == "src/net/upload.py"]
        assert dup["symbol"] == "Mirror.send_with_retries" and dup["kind"] in ("renamed", "edited")
        assert (dup["copy_start_line"], dup["copy_symbol"]) == (18, "Uploader.upload_with_retry")
        assert all(h["path"] != "src/net/mirror.py" or h["start_line"] < 6 for h in similar["related"])

        pasted = await call(session, "find_similar_code", code="\n".join(source[17:27]))
        assert pasted["duplicates"] == []
        assert pasted["related"][0]["symbol"] in ("Uploader.upload_with_retry", "Mirror.send_with_retries")
        assert "either" in await refused(session, "find_similar_code")
        assert "either" in await refused(session, "find_similar_code", path="src/net/mirror.py", code="x")


@pytest.mark.asyncio
async def test_answers_while_indexing_are_partial(tmp_path: Path) -> None:
    repo = sample_repo(tmp_path)
    # The embedding server holds every document request until told: the first pass cannot end,
    # while query embeddings are answered at once.
    with EmbedServer(dims=64, context_length=4096, model="test-model", hold_documents=True) as embed:
        env = server_env(
            tmp_path,
            backend="sglang",
            embed_url=embed.url,
            model="test-model",
            dimensions="64",
            context_length="4096",
        )
        async with serve(repo, env, tmp_path / "server.log") as session:
            for _ in range(300):  # the pass has begun once the indexer asks for embeddings
                if any(not str(r["body"]["input"][0]).startswith("Instruct:") for r in embed.requests()):
                    break
                await asyncio.sleep(0.1)
            early = await call(session, "search_code", query="upload_with_retry")
            assert early["partial"] is True and "still indexing" in early["note"]
            status = await call(session, "index_status")
            assert status["partial"] is True and status["state"] in ("starting", "indexing")
            embed.control(hold_documents=False)
            await wait_ready(session)
            later = await call(session, "search_code", query="upload_with_retry")
            assert later["partial"] is False and later["note"] == ""
            assert later["hits"][0]["symbol"] == "Uploader.upload_with_retry"


@pytest.mark.asyncio
async def test_embedding_backend_down_gives_lexical_matches_and_the_server_survives(tmp_path: Path) -> None:
    """Searches answer from the lexical index with a note that says why and what to do
    (Engine.answer); a tool that needs the model (find_similar_code) is a tool error."""
    repo = sample_repo(tmp_path)
    with socket.socket() as sock:  # a loopback port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = server_env(
        tmp_path,
        backend="sglang",
        embed_url=f"http://127.0.0.1:{port}",
        model="test-model",
        dimensions="64",
        context_length="4096",
    )
    async with serve(repo, env, tmp_path / "server.log") as session:
        for _ in range(300):  # the first pass has opened the store and failed to embed
            status = await call(session, "index_status")
            if "failed" in status["message"]:
                break
            await asyncio.sleep(0.1)
        assert f"127.0.0.1:{port}" in status["message"] and "trying again" in status["message"]
        for tool in ("search_code", "search_files"):
            note = (await call(session, tool, query=QUERY))["note"]
            assert "embedding model is not available" in note and f"127.0.0.1:{port}" in note
            assert "lexical matches only" in note and "What to do" in note and "codesearch serve" in note
        status = await call(session, "index_status")
        assert status["state"] in ("starting", "indexing") and status["partial"] is True
        assert status["backend"] == "sglang"
        assert (await call(session, "reindex"))["started"] in (True, False)
        assert "embedding model is not available" in await refused(
            session, "find_similar_code", code="def f(): pass"
        )


@pytest.mark.asyncio
async def test_joins_another_owner_then_takes_over(tmp_path: Path) -> None:
    repo = sample_repo(tmp_path)
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
    try:
        lock = repo / ".codesearch" / "owner.lock"
        for _ in range(100):  # the watch process takes the lock before it indexes
            if lock.exists() and _locked(lock):
                break
            await asyncio.sleep(0.1)
        async with serve(repo, env, tmp_path / "server.log") as session:
            for _ in range(300):  # answered by the watch process
                found = await call(session, "search_code", query=QUERY, k=1)
                if found["hits"] and found["hits"][0]["path"] == "src/net/upload.py":
                    break
                await asyncio.sleep(0.2)
            assert found["hits"][0]["path"] == "src/net/upload.py"
            status = await call(session, "index_status")
            assert status["owner"] == "another codesearch process" and status["files"] > 5
            assert (await call(session, "reindex"))["started"] is False
            watch.send_signal(signal.SIGINT)
            assert watch.wait(timeout=60) == 0, log.read_text()
            again = await call(session, "search_code", query=QUERY, k=1)
            assert again["hits"][0]["path"] == "src/net/upload.py"
            assert (await wait_ready(session))["owner"].startswith("this server")
            (repo / "tides.py").write_text(
                "def predict_high_tide(harbour, day):\n    return harbour.tides[day]\n"
            )
            for _ in range(150):  # its own watcher follows edits now
                tide = await call(session, "search_code", query="predict_high_tide", k=1)
                if tide["hits"] and tide["hits"][0]["path"] == "tides.py":
                    break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError(f"the server did not take the index over: {tide}")
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()


def _locked(path: Path) -> bool:
    with path.open("a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return False


# -- pure logic ---------------------------------------------------------------------------


def test_docs_show_the_tool_descriptions_agents_see(tmp_path: Path) -> None:
    from codesearch import Settings
    from codesearch_mcp.server import create_server

    server, _ = create_server(tmp_path, Settings())
    doc = (FIXTURES.parent / "docs" / "mcp.md").read_text()
    tools = asyncio.run(server.list_tools())
    assert {t.name for t in tools} == TOOLS
    for tool in tools:
        assert tool.description is not None
        quoted = "\n>\n".join("> " + p for p in tool.description.split("\n\n"))
        assert f"### `{tool.name}` — {tool.title}\n\n{quoted}\n" in doc, f"docs/mcp.md: update {tool.name}"


def test_kinds_offered_are_the_library_kinds() -> None:
    assert get_args(Kind) == UNIT_KINDS


def test_trim_cuts_at_a_line_end() -> None:
    code = "def f(x):\n    y = x + 1\n    return y\n"
    assert trim(code, 100) == (code.rstrip(), False)
    assert trim(code, 25) == ("def f(x):\n    y = x + 1", True)
    assert trim("x" * 50, 10) == ("x" * 10, True)
    assert trim(code, 0) == ("", True)


def test_sandbox_resolves_before_checking(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.py").write_text("x = 1\n")
    (root / "up").symlink_to(tmp_path)
    box = Sandbox(root)
    assert box.relative("src/a.py") == box.relative(str(root / "src" / "a.py")) == "src/a.py"
    assert box.relative("src/../src/a.py") == "src/a.py" and box.relative(".") == ""
    for outside in ("..", "up/x", "/etc/passwd", "~"):
        with pytest.raises(ToolError, match="outside the served root"):
            box.relative(outside)
    assert box.glob("src/**") == "src/**" and box.glob("*.py") == "*.py"
    assert box.glob(f"{root}/src/*.py") == "src/*.py" and box.glob("src/") == "src/"
    for outside in ("../*", "up/**", "src/**/../../x", "/"):
        with pytest.raises(ToolError, match="outside the served root"):
            box.glob(outside)
    assert box.contains("src/a.py") and not box.contains("up/x") and not box.contains("/etc/passwd")
