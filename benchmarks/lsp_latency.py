"""The language server as an editor sees it: search round trips and time to a first result.

    python benchmarks/lsp_latency.py [--units 50000] [--files 5000] [--rounds 10]

1. Warm `codesearch/search` round trip through LSP (stdio JSON-RPC, a real
   `codesearch-lsp` process, pygls's client) on a workspace whose index holds
   --units units. The workspace is written as real files (copies of Django's
   Python files) and its index is filled without embedding (see
   _synthetic_index.py: real payloads and lexical vectors, SYNTHETIC dense
   vectors), so the server's watcher finds it up to date. The same queries
   through Engine.search in this process give the LSP's own overhead.
2. Time from starting the server to the first non-empty search result on a
   fresh workspace of --files files (Django from PyPI, repeated under copy<i>/),
   with an empty embedding cache: the server answers while it indexes
   (`partial: true`), so this is discovery + the first embedded batch. The time
   until the whole workspace is indexed is printed too when --full is given
   (on a 2-core CPU that takes tens of minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import pypi_source
from _synthetic_index import fill
from codesearch_lsp.requests import plain
from lsprotocol import types
from pygls.lsp.client import LanguageClient
from query_latency import QUERIES, percentile

from codesearch import Engine, load_settings


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODESEARCH_")}
    env.update(XDG_CONFIG_HOME=str(home / "config"), XDG_CACHE_HOME=str(home / "cache"))
    return env


async def start_server(root: Path, env: dict[str, str]) -> LanguageClient:
    client = LanguageClient("lsp-latency", "1")
    client.feature("codesearch/statusChanged")(lambda params: None)
    await client.start_io(sys.executable, "-m", "codesearch_lsp", env=env)
    await client.initialize_async(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
        )
    )
    client.initialized(types.InitializedParams())
    return client


async def ask(client: LanguageClient, method: str, params: dict[str, Any]) -> Any:
    return plain(await client.protocol.send_request_async(method, params))


async def stop_server(client: LanguageClient) -> None:
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()  # type: ignore[no-untyped-call]  # pygls leaves it untyped


async def warm_round_trips(units: int, rounds: int, tmp: Path) -> None:
    root = tmp / "warm"
    root.mkdir()
    count = fill(root / ".codesearch", units, files_root=root)
    files = sum(1 for _ in root.glob("copy*/**/*.py"))
    client = await start_server(root, environment(tmp / "home-warm"))
    started = time.perf_counter()
    while (await ask(client, "codesearch/status", {}))["state"] != "ready":
        await asyncio.sleep(0.1)
    catch_up = time.perf_counter() - started
    for q in QUERIES[:3]:
        await ask(client, "codesearch/search", {"query": q, "k": 10})
    times: list[float] = []
    for _ in range(rounds):
        for q in QUERIES:
            t0 = time.perf_counter()
            answer = await ask(client, "codesearch/search", {"query": q, "k": 10})
            times.append((time.perf_counter() - t0) * 1000)
            assert len(answer["results"]) == 10 and not answer["partial"], answer
    await stop_server(client)
    settings, _ = load_settings(root)
    direct: list[float] = []
    with Engine.open(root, settings) as engine:
        for q in QUERIES[:3]:
            engine.search(q)
        for _ in range(rounds):
            for q in QUERIES:
                t0 = time.perf_counter()
                engine.search(q, k=10)
                direct.append((time.perf_counter() - t0) * 1000)
    print(f"## warm codesearch/search round trip, {count:,} units in {files:,} files, k=10")
    print(f"  server start to ready (catch-up finds nothing to do): {catch_up:.1f} s")
    p50, p95 = statistics.median(times), percentile(times, 0.95)
    print(f"  through LSP (stdio)     p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   (n={len(times)})")
    print(
        f"  Engine.search in-proc   p50 {statistics.median(direct):6.1f} ms   "
        f"p95 {percentile(direct, 0.95):6.1f} ms"
    )
    print(f"  LSP overhead at p50:    {statistics.median(times) - statistics.median(direct):6.1f} ms")


def fresh_workspace(root: Path, n_files: int) -> int:
    source = pypi_source("django", "5.1.4")
    files = sorted(p for p in source.rglob("*") if p.is_file())
    written = copy = 0
    while written < n_files:
        for src in files:
            if written >= n_files:
                break
            dest = root / f"copy{copy}" / src.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
            written += 1
        copy += 1
    return written


async def first_result(n_files: int, full: bool, tmp: Path) -> None:
    root = tmp / "fresh"
    root.mkdir()
    count = fresh_workspace(root, n_files)
    started = time.perf_counter()
    client = await start_server(root, environment(tmp / "home-fresh"))
    first_answer = None
    while True:
        answer = await ask(client, "codesearch/search", {"query": "parse a date string", "k": 10})
        if answer["results"]:
            first_answer = time.perf_counter() - started
            break
        await asyncio.sleep(0.05)
    status = await ask(client, "codesearch/status", {})
    print(f"## fresh workspace of {count:,} files (Django from PyPI), empty embedding cache")
    print(f"  server start to first search result: {first_answer:.1f} s  (partial={answer['partial']})")
    print(f"  at that moment: {status['folders'][0]['message']}")
    if full:
        while (await ask(client, "codesearch/status", {}))["state"] != "ready":
            await asyncio.sleep(1.0)
        done = await ask(client, "codesearch/status", {})
        folder = done["folders"][0]
        print(
            f"  server start to fully indexed: {time.perf_counter() - started:.0f} s "
            f"({folder['files']:,} files, {folder['units']:,} units)"
        )
    await stop_server(client)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=50_000)
    parser.add_argument("--files", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--full", action="store_true", help="also wait until the fresh workspace is indexed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(warm_round_trips(args.units, args.rounds, Path(tmp)))
        asyncio.run(first_result(args.files, args.full, Path(tmp)))


if __name__ == "__main__":
    main()
