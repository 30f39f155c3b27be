"""The `codesearch` command: its subcommands and exit codes (arguments in cli_args, what it
prints for people in cli_render).

Exit codes: 0 success; 1 an error without a more specific code; 2 bad usage;
3 configuration; 4 no index yet; 5 index busy; 6 model/dimension mismatch;
7 store failure; 8 embedding failure (a query answers from the lexical index instead, and
says so on stderr); 70 internal error (a bug: one line that says so,
the traceback with CODESEARCH_DEBUG=1); 130 interrupted. `codesearch dupes` has its
own: 0 clean, 1 duplicates found, 2 any error (codesearch.cli.dupes).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from codesearch.cli import dupes as cli_dupes
from codesearch.cli.args import build_parser, overrides
from codesearch.cli.render import (
    count_printer,
    print_file,
    print_hit,
    print_status,
    progress_printer,
    visible,
    waiting_printer,
)
from codesearch.config import load_settings, options_table
from codesearch.engine import Engine
from codesearch.errors import CodesearchError
from codesearch.models import Answer, FileHit, RunStatus, SearchFilters, SearchHit

#: Exit code of an internal error (a bug), as sysexits' EX_SOFTWARE.
EXIT_INTERNAL = 70


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `codesearch` console script."""
    args = build_parser().parse_args(argv)
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

    return run(Path(args.path), overrides(args))


def _dupes(args: argparse.Namespace, out: Console, err: Console) -> int:
    return cli_dupes.run(args, overrides(args), out, err, progress_printer(err))


def _root(path: str) -> Path:
    return Path(path).resolve()


def _index(args: argparse.Namespace, out: Console, err: Console) -> int:
    root = _root(args.path)
    settings, _ = load_settings(root, overrides(args))

    # While `codesearch watch` or an editor's server owns the index, it runs this index and
    # streams its progress here; while another `codesearch index` owns it, this one waits.
    with Engine.open(
        root, settings, write=True, on_wait=waiting_printer(err), hand_off=True, take_over=True
    ) as engine:
        if args.dry_run:
            from codesearch.indexing.dryrun import dry_run

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
        report = engine.index(progress=progress_printer(err) if show else None)
        if args.upgrade:
            engine.upgrade(progress=progress_printer(err) if show else None)
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


def _filters(args: argparse.Namespace) -> SearchFilters:
    return SearchFilters(
        languages=tuple(args.lang or ()), paths=tuple(args.path or ()), kinds=tuple(args.kind or ())
    )


def _query(args: argparse.Namespace, out: Console, err: Console) -> int:
    root = _root(args.root)
    settings, _ = load_settings(root, overrides(args))
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
            print_file(out, rank, hit)
        else:
            print_hit(out, root, rank, hit)
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


def _status(args: argparse.Namespace, out: Console, err: Console) -> int:
    root = _root(args.path)
    settings, _ = load_settings(root, overrides(args))
    with Engine.open(root, settings, take_over=True) as engine:
        info = engine.status()
    if args.json:
        out.print_json(json.dumps(info))
        return 0
    print_status(out, info)
    return 0


def _watch(args: argparse.Namespace, out: Console, err: Console) -> int:
    from codesearch.watch.watcher import Watcher, WatchUpdate

    root = _root(args.path)
    settings, _ = load_settings(root, overrides(args))

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

    with Engine.open(root, settings, write=True, on_wait=waiting_printer(err)) as engine:
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
    root = _root(args.path)
    settings, _ = load_settings(root, overrides(args))
    with Engine.open(root, settings, write=True) as engine:
        result = engine.move_index(args.command, progress=None if args.json else count_printer(err))
    if args.json:
        out.print_json(json.dumps(result))
    else:
        out.print(
            f"{args.command}ed {result['points']} units without re-embedding; "
            f"{result['files_current']} files match the working tree, "
            f"{result['files_stale']} differ and will be re-indexed by the next `codesearch index`"
        )
    return 0


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


def _config(args: argparse.Namespace, out: Console, err: Console) -> int:
    if args.docs:
        out.print(options_table(), markup=False)
        return 0
    settings, sources = load_settings(_root(args.path), overrides(args))
    values = {k: getattr(settings, k) for k in sources}
    if args.json:
        out.print_json(json.dumps({"options": values, "sources": sources}))
        return 0
    for name, value in values.items():
        out.print(f"{name:<16} = {value!r:<40} [dim]({sources[name]})[/]", markup=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
