"""Throughput of the OpenAI-compatible embedding client, server cost left out.

Starts tests/embed_server.py on loopback in its fast mode (one constant
2560-dimensional vector per input, base64, as Qwen3-Embedding-4B on SGLang
would answer) and embeds real inputs: every function of CPython's standard
library (found with `ast`) plus the whole files. Token counting, windowing,
batching, HTTP and decoding are all inside the timing. Prints figures only.

    python benchmarks/embed_client_throughput.py [--files 600] [--concurrency 4] [--sweep]
"""

from __future__ import annotations

import argparse
import ast
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from embed_server import EmbedServer  # noqa: E402

from codesearch.embedding.openai_http import DEFAULT_MODEL, OpenAIEmbedder  # noqa: E402


def stdlib_units(max_files: int) -> tuple[list[str], list[str]]:
    """(functions, whole files) from the first `max_files` stdlib modules, tests left out."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    paths = sorted(
        p for p in stdlib.rglob("*.py") if "site-packages" not in p.parts and "test" not in p.parts
    )
    functions: list[str] = []
    files: list[str] = []
    for path in paths[:max_files]:
        try:
            source = path.read_text(encoding="utf-8")
            tree = ast.parse(source)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue
        if not source.strip():
            continue
        files.append(source)
        lines = source.splitlines(keepends=True)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno:
                functions.append("".join(lines[node.lineno - 1 : node.end_lineno]))
    return functions, files


def measure(url: str, units: list[str], *, concurrency: int, batch_tokens: int, max_inputs: int) -> None:
    """Embed `units` once and print tokens/s and units/s."""
    emb = OpenAIEmbedder(
        url=url,
        model=DEFAULT_MODEL,
        concurrency=concurrency,
        batch_tokens=batch_tokens,
        max_batch_inputs=max_inputs,
    )
    try:
        emb.embed_documents(units[:50])  # warm the connection pool
        started = time.perf_counter()
        vectors = emb.embed_documents(units)
        seconds = time.perf_counter() - started
        tokens = sum(emb.count_tokens(units))
    finally:
        emb.close()
    assert vectors.shape == (len(units), 2560)
    print(
        f"  concurrency {concurrency:2d}  batch_tokens {batch_tokens:6d}  max_batch_inputs {max_inputs:4d}:"
        f"  {tokens / seconds:10,.0f} tokens/s  {len(units) / seconds:8,.0f} units/s  ({seconds:.2f} s)"
    )


def main() -> None:
    """Parse flags, start the server, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=600, help="stdlib modules to read")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--batch-tokens", type=int, default=32768)
    parser.add_argument("--max-batch-inputs", type=int, default=256)
    parser.add_argument("--sweep", action="store_true", help="also try other concurrency and batch sizes")
    args = parser.parse_args()

    functions, files = stdlib_units(args.files)
    units = functions + files
    with EmbedServer(dims=2560, context_length=32768, model=DEFAULT_MODEL, fast=True, record=False) as srv:
        probe = OpenAIEmbedder(url=srv.url)
        started = time.perf_counter()
        counts = probe.count_tokens(units)
        count_seconds = time.perf_counter() - started
        probe.close()
        total = sum(counts)
        windowed = sum(c > probe.max_tokens for c in counts)
        print(
            f"inputs: {len(functions):,} functions + {len(files):,} files from the stdlib"
            f" = {len(units):,} units, {total:,} tokens (longest {max(counts):,}; {windowed} windowed)"
        )
        print(f"token counting alone: {total / count_seconds:,.0f} tokens/s")
        print("client throughput against a loopback server answering instantly (2560 dims, base64):")
        for name, subset in (("functions", functions), ("files", files), ("all", units)):
            print(f" {name}:")
            measure(
                srv.url,
                subset,
                concurrency=args.concurrency,
                batch_tokens=args.batch_tokens,
                max_inputs=args.max_batch_inputs,
            )
        if args.sweep:
            print(" sweep (all units):")
            for concurrency in (1, 2, 4, 8):
                for batch_tokens in (8192, 32768, 131072):
                    measure(
                        srv.url,
                        units,
                        concurrency=concurrency,
                        batch_tokens=batch_tokens,
                        max_inputs=args.max_batch_inputs,
                    )


if __name__ == "__main__":
    main()
