"""The `codesearch` command: argument parsing, output formatting, exit codes.

Exit codes: 0 success; 1 an error without a more specific code; 2 bad usage;
3 configuration; 4 no index yet; 5 index busy; 6 model/dimension mismatch;
7 store failure; 8 embedding failure (a query answers from the lexical index instead, and
says so on stderr); 70 internal error (a bug: one line that says so,
the traceback with CODESEARCH_DEBUG=1); 130 interrupted. `codesearch dupes` has its
own: 0 clean, 1 duplicates found, 2 any error (codesearch.cli_dupes).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax

from codesearch import cli_dupes
from codesearch.config import load_settings, options_table
from codesearch.engine import Engine
from codesearch.errors import CodesearchError
from codesearch.indexer import Progress
from codesearch.models import Answer, FileHit, RunStatus, SearchFilters, SearchHit
from codesearch.safefs import inside_root

SNIPPET_MAX_LINES = 8
_LEXERS = {"csharp": "csharp", "tsx": "tsx", "text": "text", "bash": "bash", "cpp": "cpp"}


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


def _parser() -> argparse.ArgumentParser:
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


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
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


#: Exit code of an internal error (a bug), as sysexits' EX_SOFTWARE.
EXIT_INTERNAL = 70


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `codesearch` console script."""
    args = _parser().parse_args(argv)
    out = Console(soft_wrap=True, highlight=False)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        handler = {
            "index": _index,
            "query": _query,
            "status": _status,
            "config": _config,
            "serve": _serve,
            "watch": _watch,
            "export": _move,
            "import": _move,
            "dupes": _dupes,
            "mcp": _mcp,
        }[args.command]
        return handler(args, out, err)
    except CodesearchError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("interrupted; the index stays consistent and the next run resumes")
        return 130
    except Exception as exc:  # noqa: BLE001 -- a bug: one line, the traceback only when asked for
        if os.environ.get("CODESEARCH_DEBUG") or os.environ.get("CODESEARCH_TRACEBACK"):
            traceback.print_exc()
        message = " ".join(str(exc).split()) or "(no message)"
        err.print(
            f"codesearch: internal error: {type(exc).__name__}: {message} "
            "(please report; set CODESEARCH_DEBUG=1 for the traceback)",
            markup=False,
        )
        return cli_dupes.EXIT_ERROR if args.command == "dupes" else EXIT_INTERNAL


def _mcp(args: argparse.Namespace, out: Console, err: Console) -> int:
    from codesearch_mcp.server import run  # the MCP front end; imported only for this command

    return run(Path(args.path), _overrides(args))


def _dupes(args: argparse.Namespace, out: Console, err: Console) -> int:
    return cli_dupes.run(args, _overrides(args), out, err, _progress_printer(err))


def _root(path: str) -> Path:
    return Path(path).resolve()


def _index(args: argparse.Namespace, out: Console, err: Console) -> int:
    root = _root(args.path)
    settings, _ = load_settings(root, _overrides(args))

    # While `codesearch watch` or an editor's server owns the index, it runs this index and
    # streams its progress here; while another `codesearch index` owns it, this one waits.
    with Engine.open(
        root, settings, write=True, on_wait=_waiting_printer(err), hand_off=True, take_over=True
    ) as engine:
        if args.dry_run:
            from codesearch.dryrun import dry_run

            plan = dry_run(engine)
            if args.json:
                out.print_json(json.dumps(plan))
            else:
                for f in plan["files"]:
                    out.print(f"{f['tokens']:>8} tokens  {f['units']:>5} units  {escape(f['path'])}")
                out.print(
                    f"{plan['file_count']} files, {plan['units']} units, {plan['tokens']} tokens; "
                    f"embedding would take about {plan['estimated_seconds']:.0f} s "
                    f"at {plan['tokens_per_second']:.0f} tokens/s (measured now)"
                )
            return 0
        show = not (args.quiet or args.json)
        report = engine.index(progress=_progress_printer(err) if show else None)
        if args.upgrade:
            engine.upgrade(progress=_progress_printer(err) if show else None)
        upgrade = engine.upgrade_status()
        pending = upgrade["of_files"] - upgrade["files"] if upgrade and not upgrade["searching"] else 0
    if args.json:
        out.print_json(json.dumps(report.to_json()))
        return 0
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(report.units_by_kind.items()))
    langs = ", ".join(f"{n} {k}" for k, n in sorted(report.units_by_language.items(), key=lambda x: -x[1]))
    out.print(
        f"indexed {report.files} files, {report.units} units in {report.seconds:.1f} s "
        f"({report.changed_files} files changed, {report.embedded} texts embedded, "
        f"{report.cached} from cache, {report.deleted} files removed)"
    )
    if kinds:
        out.print(f"  units by kind: {kinds}")
        out.print(f"  units by language: {langs}")
    for w in report.warnings:
        out.print(f"  note: {escape(w.path)}: {w.reason}")
    if report.secrets:
        where = ", ".join(
            f"{visible(f.path)}:{','.join(str(n) for n, _ in f.secrets)}" for f in report.secrets[:10]
        )
        more = f" and {len(report.secrets) - 10} more files" if len(report.secrets) > 10 else ""
        out.print(
            f"  redacted {report.secrets_redacted} secrets in {len(report.secrets)} files (indexed as "
            f"<redacted secret>; move them out of the code): {escape(where)}{more}"
        )
    if report.resumed:
        out.print("  resumed an interrupted run")
    if upgrade:
        out.print(
            f"  searchable now; {upgrade['model']} still has {pending} of {upgrade['of_files']} files "
            "to index: `codesearch index --upgrade`, or `codesearch watch` / the editor does it "
            "in the background"
        )
    if report.skipped:
        reasons: dict[str, int] = {}
        for s in report.skipped:
            reasons[s.reason] = reasons.get(s.reason, 0) + 1
        out.print(
            f"  skipped {len(report.skipped)} files: "
            + ", ".join(f"{n} {r}" for r, n in sorted(reasons.items()))
        )
    return 0


def _waiting_printer(err: Console) -> Callable[[int | None], None]:
    def waiting(pid: int | None) -> None:
        err.print(f"waiting for another codesearch process (pid {pid}) that is using this index…")

    return waiting


def _progress_printer(err: Console) -> Any:
    last = [0.0]

    def show(p: Progress) -> None:
        now = time.monotonic()
        if p.phase.startswith("building"):
            err.print(f"\n{p.phase} for {p.units_done} units; this takes a few minutes once")
            return
        if p.phase.startswith("waiting"):  # the owner runs this index after its own
            err.print(f"{p.phase}…")
            return
        if p.phase != "done" and now - last[0] < (0.2 if err.is_terminal else 5.0):
            return
        last[0] = now
        eta = f"ETA {p.eta:.0f} s" if p.eta is not None else ""
        line = (
            f"{p.phase}: {p.files_done}/{p.files_total} files, {p.units_done} units, "
            f"{p.rate:.1f} units/s, {p.elapsed:.0f} s {eta}"
        )
        if err.is_terminal:
            err.file.write("\r\x1b[2K" + line + ("\n" if p.phase == "done" else ""))
            err.file.flush()
        else:
            err.print(line)

    return show


def _filters(args: argparse.Namespace) -> SearchFilters:
    return SearchFilters(
        languages=tuple(args.lang or ()), paths=tuple(args.path or ()), kinds=tuple(args.kind or ())
    )


def _query(args: argparse.Namespace, out: Console, err: Console) -> int:
    root = _root(args.root)
    settings, _ = load_settings(root, _overrides(args))
    with Engine.open(root, settings, take_over=True) as engine:
        if args.batch:
            for line in sys.stdin:
                if not line.strip():
                    continue
                req: Any = None
                try:
                    req = json.loads(line)
                    if not isinstance(req, dict):
                        raise TypeError("a request is a JSON object")
                    partial = _partial(engine)
                    answer = _search(engine, args, str(req["query"]), int(req.get("k") or settings.k))
                    key = "files" if args.files else "results"
                    payload: Any = {"id": req.get("id"), key: [h.to_json() for h in _shown(answer)]}
                    if partial:  # only while a first index runs: other lines keep their keys
                        payload["partial"] = True
                    if answer.lexical_only:  # only while the embedding model is not available
                        payload["lexical_only"] = answer.embedding_error
                except (ValueError, KeyError, TypeError) as exc:
                    # The id is kept whenever the line was an object: the caller can match the answer.
                    ident = req.get("id") if isinstance(req, dict) else None
                    payload = {"id": ident, "error": f"bad request line: {exc!r}"}
                except CodesearchError as exc:
                    payload = {"id": req.get("id"), "error": str(exc)}
                sys.stdout.write(json.dumps(payload) + "\n")
                sys.stdout.flush()
            return 0
        if not args.query:
            err.print("error: give a query, or --batch to read queries from stdin")
            return 2
        partial = _partial(engine)
        answer = _search(engine, args, args.query, args.k)
        hits = _shown(answer)
    if partial:
        err.print(
            f"partial: the index is still being built ({partial['files']} of {partial['of_files']} "
            "files so far); these results cover what is indexed"
        )
    if answer.lexical_only:
        why = escape(visible(answer.embedding_error))
        err.print(
            f"lexical only: the embedding model is not available ({why}); "
            "these results are the lexical index's alone"
        )
    if args.json:
        sys.stdout.write(json.dumps([h.to_json() for h in hits], indent=2) + "\n")
        return 0
    if not hits:
        out.print("no results")
    for rank, hit in enumerate(hits, 1):
        if isinstance(hit, FileHit):
            _print_file(out, rank, hit)
        else:
            _print_hit(out, root, rank, hit)
    return 0


def _partial(engine: Engine) -> RunStatus | None:
    """The run under way when searches see only part of the index (a first index in another
    process, or one resuming an interrupted run); None otherwise."""
    run = engine.indexing()
    return run if run and run.get("partial") else None


def _search(engine: Engine, args: argparse.Namespace, query: str, k: int | None) -> Answer:
    """Units, or files with `--files`, under the command's filters and mode (lexical matches
    alone, and why, when the embedding model is not available)."""
    return engine.answer(query, k, _filters(args), args.mode, files=args.files)


def _shown(answer: Answer) -> Sequence[SearchHit | FileHit]:
    """What a query prints: its files with `--files`, else its units."""
    return answer.files if answer.files else answer.hits


def _print_file(out: Console, rank: int, found: FileHit) -> None:
    """One line: rank, score, path, and where its best unit is."""
    line = f"[bold]{rank:>2}.[/] [cyan]{found.score:.3f}[/]  [bold green]{escape(visible(found.path))}"
    if found.hits:
        best = found.hits[0]
        line += f":{best.start_line}-{best.end_line}[/]  [bold]{escape(visible(best.symbol))}[/]"
        line += f" [dim]({best.kind}, {visible(found.language)})[/]"
    else:
        line += "[/]"
    out.print(line)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def visible(text: str, keep: str = "") -> str:
    """Text safe for a terminal: control characters (escape sequences, a newline in a file
    name) shown as `\\xNN`, except those in `keep`. JSON output stays exact."""
    return _CONTROL.sub(lambda m: m.group() if m.group() in keep else f"\\x{ord(m.group()):02x}", text)


def _print_hit(out: Console, root: Path, rank: int, hit: SearchHit) -> None:
    out.print(
        f"[bold]{rank:>2}.[/] [cyan]{hit.score:.3f}[/]  "
        f"[bold green]{escape(visible(hit.path))}:{hit.start_line}-{hit.end_line}[/]"
        f"  [bold]{escape(visible(hit.symbol))}[/] [dim]({visible(hit.kind)}, {visible(hit.language)})[/]"
    )
    code = hit.snippet
    source = inside_root(root, hit.path)  # never a file out of the root, whatever the index says
    try:
        if source is not None:
            lines = source.read_text(encoding="utf-8", errors="replace").splitlines()
            code = "\n".join(lines[hit.start_line - 1 : hit.end_line])
    except OSError:
        pass
    shown = code.splitlines()[:SNIPPET_MAX_LINES]
    more = hit.end_line - hit.start_line + 1 - len(shown)
    lexer = _LEXERS.get(hit.language, hit.language)
    out.print(
        Syntax(
            visible("\n".join(shown), keep="\n\t"),
            lexer,
            line_numbers=True,
            start_line=hit.start_line,
            word_wrap=False,
            theme="ansi_dark",
            background_color="default",
        )
    )
    if more > 0:
        out.print(f"     [dim]… {more} more lines[/]")


def _status(args: argparse.Namespace, out: Console, err: Console) -> int:
    root = _root(args.path)
    settings, _ = load_settings(root, _overrides(args))
    with Engine.open(root, settings, take_over=True) as engine:
        info = engine.status()
    if args.json:
        out.print_json(json.dumps(info))
        return 0
    out.print(f"root:       {escape(info['root'])}")
    out.print(f"index:      {escape(info['index_dir'])}")
    out.print(f"model:      {info['model']} ({info['dimensions']} dimensions, backend {info['backend']})")
    if not info.get("indexed"):
        out.print("state:      not indexed yet; run `codesearch index`")
        return 0
    age = info.get("age_seconds")
    fresh = f"{_ago(age)} ago" if age is not None else "never finished"
    run = info.get("indexing")
    if run:
        state = f"indexing ({run['files']} of {run['of_files']} files)"
    else:
        state = "complete" if info["complete"] else "interrupted (the next index run resumes)"
    out.print(f"state:      {state}, last indexed {fresh}")
    out.print(
        f"contents:   {info['files']} files, {info['units']} units; "
        + ", ".join(f"{n} {k}" for k, n in sorted(info["units_by_kind"].items()))
    )
    out.print(f"size:       {info['size_bytes'] / 1e6:.1f} MB on disk")
    up = info.get("upgrade")
    if up:
        state = (
            "complete; searches use it"
            if up["searching"]
            else f"{up['files']} of {up['of_files']} files; searches use {info['model']} until it is complete"
        )
        out.print(f"upgrade:    {up['model']}: {state}")
    if info.get("store_points") != info["units"]:
        out.print(
            f"mismatch:   the store holds {info.get('store_points')} points for {info['units']} units "
            "(a damaged or deleted store); `codesearch index` repairs it"
        )
    return 0


def _watch(args: argparse.Namespace, out: Console, err: Console) -> int:
    from codesearch.watch import Watcher, WatchUpdate

    root = _root(args.path)
    settings, _ = load_settings(root, _overrides(args))

    def show(u: WatchUpdate) -> None:
        r = u.report
        if args.json:
            line = {"kind": u.kind, "paths": list(u.paths), "reason": u.reason, **r.to_json()}
            sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()
            return
        if args.quiet or (u.kind != "catch-up" and not (r.changed_files or r.deleted)):
            return
        what = {
            "catch-up": "caught up",
            "update": "updated",
            "rescan": "rescanned",
            "upgrade": "upgraded",
            "requested": "indexed",
        }.get(u.kind, u.kind)
        why = f" ({escape(u.reason)})" if u.kind in ("rescan", "requested") else ""
        out.print(
            f"{time.strftime('%H:%M:%S')} {what}{why}: {r.changed_files} files changed, "
            f"{r.deleted} removed, {r.embedded} texts embedded, {u.seconds:.2f} s"
        )

    with Engine.open(root, settings, write=True, on_wait=_waiting_printer(err)) as engine:
        if not args.json:
            err.print(f"watching {escape(str(root))}; Ctrl-C stops")
        watcher = Watcher(
            engine,
            debounce=args.debounce,
            on_update=show,
            on_notice=lambda message: err.print(f"note: {escape(message)}"),
        )
        watcher.run_forever()
    if not args.json:
        err.print("stopped; the index is consistent")
    return 0


def _move(args: argparse.Namespace, out: Console, err: Console) -> int:
    import dataclasses

    root = _root(args.path)
    settings, _ = load_settings(root, _overrides(args))
    server = dataclasses.replace(settings, store="qdrant", all_repositories=False)
    embedded = dataclasses.replace(settings, store="edge")
    source, destination = (embedded, server) if args.command == "export" else (server, embedded)
    with Engine.open(root, settings, write=True) as engine:
        result = engine.move_index(source, destination, progress=None if args.json else _count_printer(err))
    if args.json:
        out.print_json(json.dumps(result))
    else:
        out.print(
            f"{args.command}ed {result['points']} units without re-embedding; "
            f"{result['files_current']} files match the working tree, "
            f"{result['files_stale']} differ and will be re-indexed by the next `codesearch index`"
        )
    return 0


def _count_printer(err: Console) -> Any:
    def show(done: int) -> None:
        err.print(f"copied {done} units…")

    return show


def _serve(args: argparse.Namespace, out: Console, err: Console) -> int:
    import shlex

    from codesearch.embedding.sglang_launcher import ServerSettings, build_command, run_server

    overrides = {
        "model": args.model,
        "serve_host": args.host,
        "serve_port": args.port,
        "serve_mem_fraction": args.mem_fraction,
    }
    settings, _ = load_settings(Path.cwd(), overrides)
    server = ServerSettings(
        model=settings.server_model(),
        host=settings.serve_host,
        port=settings.serve_port,
        context_length=settings.context_length,
        mem_fraction_static=settings.serve_mem_fraction,
        extra_args=tuple(settings.serve_args) + tuple(args.extra),
    )
    if args.print_command:
        out.print(shlex.join(build_command(server)), markup=False)
        return 0
    err.print(f"starting SGLang with {server.model} on {server.url} (Ctrl-C stops it)…")

    def ready(url: str) -> None:
        err.print(
            f"ready: index with `codesearch index --backend sglang --embed-url {url} --model {server.model}`"
        )

    return run_server(server, on_ready=ready)


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def _config(args: argparse.Namespace, out: Console, err: Console) -> int:
    if args.docs:
        out.print(options_table(), markup=False)
        return 0
    settings, sources = load_settings(_root(args.path), _overrides(args))
    values = {k: getattr(settings, k) for k in sources}
    if args.json:
        out.print_json(json.dumps({"options": values, "sources": sources}))
        return 0
    for name, value in values.items():
        out.print(f"{name:<16} = {value!r:<40} [dim]({sources[name]})[/]", markup=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
