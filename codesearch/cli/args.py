"""The `codesearch` command's arguments: the parser of every subcommand, and the option
overrides the flags make (resolved with the rest of the settings by codesearch.config)."""

from __future__ import annotations

import argparse
from typing import Any

from codesearch.cli import dupes as cli_dupes


def _add_option_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("options (flag > CODESEARCH_* env > .codesearch.toml > user config > default)")
    g.add_argument("--index-dir", help="where the index lives")
    g.add_argument("--backend", choices=("local", "sglang"), help="embedding backend")
    g.add_argument("--embed-url", help="embedding server base URL (backend sglang)")
    g.add_argument("--model", help="embedding model name (backend sglang)")
    g.add_argument("--dimensions", type=int, help="vector size asked of the server")
    g.add_argument("--threads", type=int, help="CPU threads for the local model")
    g.add_argument("--exclude", action="append", help="extra gitignore-style pattern to leave out")
    g.add_argument("--store", choices=("edge", "qdrant"), help="vector store (default: embedded edge)")
    g.add_argument("--qdrant-url", help="Qdrant server URL (store qdrant)")
    g.add_argument("--qdrant-path", help="qdrant-client local-mode directory (tests and demos)")
    g.add_argument("--qdrant-collection", help="Qdrant collection name")
    g.add_argument(
        "--all-repositories", action="store_true", default=None, help="search every repository in Qdrant"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codesearch", description="Semantic code search on your own machine."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="index a repository (incremental)")
    p.add_argument("path", nargs="?", default=".", help="repository root (default: .)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--dry-run", action="store_true", help="list what would be indexed; embed nothing")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    p.add_argument(
        "--upgrade",
        action="store_true",
        help="also build the progressive index's transformer index now (minutes; `watch` and the "
        "language server do it in the background)",
    )
    _add_option_flags(p)

    p = sub.add_parser("query", help="search the index")
    p.add_argument("query", nargs="?", help="what to look for, in words or code")
    p.add_argument("-k", type=int, help="number of results (default 10)")
    p.add_argument("--lang", action="append", help="only this language (repeatable)")
    p.add_argument(
        "--path", action="append", help="only paths matching this glob, e.g. 'src/**' (repeatable)"
    )
    p.add_argument("--kind", action="append", help="only this unit kind: function, method, class, file, ...")
    p.add_argument("--mode", choices=("hybrid", "dense", "lexical"), help="retrieval mode")
    p.add_argument("--root", default=".", help="repository root (default: .)")
    p.add_argument("--json", action="store_true", help="print results as a JSON list")
    p.add_argument("--files", action="store_true", help="rank files (with their best units), not units")
    p.add_argument("--batch", action="store_true", help='read JSON lines {"id","query","k"} on stdin')
    _add_option_flags(p)

    p = sub.add_parser("status", help="what is indexed, how fresh, with which model, where")
    p.add_argument("path", nargs="?", default=".", help="repository root (default: .)")
    p.add_argument("--json", action="store_true", help="print as one JSON object")
    _add_option_flags(p)

    for name, text in (
        ("export", "copy the embedded index to a Qdrant server (--qdrant-url) without re-embedding"),
        ("import", "copy this repository's index from a Qdrant server into the embedded store"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("path", nargs="?", default=".", help="repository root (default: .)")
        p.add_argument("--json", action="store_true", help="print the result as one JSON object")
        _add_option_flags(p)

    p = sub.add_parser("serve", help="start SGLang with Qwen3-Embedding on this machine's GPU")
    p.add_argument("--model", help="model path or hub id (default Qwen/Qwen3-Embedding-4B)")
    p.add_argument("--host", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 30000)")
    p.add_argument("--mem-fraction", type=float, help="GPU memory share (default 0.8)")
    p.add_argument("--print-command", action="store_true", help="print the command line and exit")
    p.add_argument("extra", nargs="*", help="extra SGLang arguments (after --)")

    p = sub.add_parser("watch", help="keep the index current as files change (Ctrl-C stops)")
    p.add_argument("path", nargs="?", default=".", help="repository root (default: .)")
    p.add_argument(
        "--debounce", type=float, default=0.3, help="seconds a file must be quiet before an update (0.3)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object per update")
    p.add_argument("--quiet", "-q", action="store_true", help="print notices and errors only")
    _add_option_flags(p)

    cli_dupes.add_parser(sub, _add_option_flags)

    p = sub.add_parser("mcp", help="serve the index to coding agents over MCP (stdio; docs/mcp.md)")
    p.add_argument("path", nargs="?", default=".", help="repository root to serve (default: .)")
    _add_option_flags(p)

    p = sub.add_parser("config", help="show resolved options and where each comes from")
    p.add_argument("path", nargs="?", default=".", help="repository root (default: .)")
    p.add_argument("--docs", action="store_true", help="print the table of every option")
    p.add_argument("--json", action="store_true", help="print as one JSON object")
    _add_option_flags(p)
    return parser


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    keys = (
        "index_dir",
        "backend",
        "embed_url",
        "model",
        "dimensions",
        "threads",
        "exclude",
        "store",
        "qdrant_url",
        "qdrant_path",
        "qdrant_collection",
        "all_repositories",
    )
    return {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
