"""`codesearch dupes`: arguments, output (console, JSON, SARIF) and its own exit codes.

Exit codes: 0 no (new) duplicates, 1 duplicates found, 2 error (usage, git, index, ...),
so that a pre-commit hook can tell "blocked" from "broken".
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from codesearch.config import load_settings
from codesearch.dupes.dupecheck import DuplicateCheck, check_duplicates
from codesearch.dupes.duplicates import DuplicateReport
from codesearch.dupes.gitstage import git_root
from codesearch.dupes.sarif import to_sarif
from codesearch.engine import Engine
from codesearch.errors import CodesearchError
from codesearch.indexing.indexer import ProgressCallback

EXIT_CLEAN, EXIT_FOUND, EXIT_ERROR = 0, 1, 2


def add_parser(sub: Any, add_option_flags: Callable[[argparse.ArgumentParser], None]) -> None:
    """Declare the `dupes` subcommand."""
    p = sub.add_parser(
        "dupes",
        help="find duplicated functions: in the staged change (--staged), a branch (--base), or everywhere",
    )
    p.add_argument("path", nargs="?", default=".", help="repository (default: .)")
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--staged", action="store_true", help="check what the staged change adds (git index)")
    scope.add_argument(
        "--base", metavar="REV", help="check what this branch adds since its merge base with REV"
    )
    p.add_argument("--json", action="store_true", help="same as --format json")
    p.add_argument("--format", choices=("text", "json", "sarif"), default="text", help="output format")
    p.add_argument(
        "--baseline", metavar="FILE", help="baseline file (default .codesearch-dupes-baseline.json)"
    )
    p.add_argument(
        "--update-baseline", action="store_true", help="record every current duplicate as known, exit 0"
    )
    p.add_argument("--threshold", type=float, help="least score of an edited copy (0 = calibrated)")
    p.add_argument("--min-tokens", type=int, help="smallest function compared, in normalized tokens")
    add_option_flags(p)


def run(
    args: argparse.Namespace,
    overrides: dict[str, Any],
    out: Console,
    err: Console,
    progress: ProgressCallback | None = None,
) -> int:
    """Run `codesearch dupes`; every error is one line on stderr and exit code 2."""
    try:
        return _run(args, overrides, out, err, progress)
    except CodesearchError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        return EXIT_ERROR


def _run(
    args: argparse.Namespace,
    overrides: dict[str, Any],
    out: Console,
    err: Console,
    progress: ProgressCallback | None,
) -> int:
    scope = "staged" if args.staged else "branch" if args.base else "repository"
    path = Path(args.path).resolve()
    root = git_root(path) if scope != "repository" else path
    if args.threshold is not None:
        overrides["dupes_threshold"] = args.threshold
    if args.min_tokens is not None:
        overrides["dupes_min_tokens"] = args.min_tokens
    settings, _ = load_settings(root, overrides)
    check = DuplicateCheck(
        scope=scope,
        rev=args.base or "",
        baseline=Path(args.baseline).resolve() if args.baseline else None,
        update_baseline=args.update_baseline,
    )
    with Engine.open(root, settings, take_over=True) as engine:
        report = check_duplicates(
            engine, check, notice=lambda m: err.print(f"codesearch: {escape(m)}"), progress=progress
        )
    fmt = "json" if args.json else args.format
    if fmt == "json":
        sys.stdout.write(json.dumps([p.to_json() for p in report.pairs], indent=2) + "\n")
    elif fmt == "sarif":
        from codesearch import __version__

        sys.stdout.write(json.dumps(to_sarif(report.pairs, __version__), indent=2) + "\n")
    else:
        _print(out, report, settings.dupes_suppressions)
    for note in report.notes:
        err.print(f"codesearch: {escape(note)}")
    return EXIT_FOUND if report.pairs else EXIT_CLEAN


def _print(out: Console, report: DuplicateReport, suppress_file: str) -> None:
    known = f"; {_count(report.suppressed, 'known pair')} not shown" if report.suppressed else ""
    what = "changed function" if report.scope == "change" else "function"
    if not report.pairs:
        out.print(f"no duplicates among {_count(report.checked_units, what)}{known}")
        return
    if report.scope == "change":
        for p in report.pairs:
            u, o = p.unit, p.duplicate_of
            out.print(
                f"[bold green]{escape(u.path)}:{u.start_line}-{u.end_line}[/] [bold]{escape(u.symbol)}[/] "
                f"duplicates [bold green]{escape(o.path)}:{o.start_line}-{o.end_line}[/] "
                f"[bold]{escape(o.symbol)}[/] [dim]({p.kind}, similarity {p.score:.2f})[/]"
            )
        out.print(
            f"{_count(len(report.pairs), 'duplicate')} among {_count(report.checked_units, what)}{known}"
        )
    else:
        clusters = report.clusters()
        for n, cluster in enumerate(clusters, 1):
            out.print(f"[bold]cluster {n}[/] ({len(cluster)} functions)")
            for u in cluster:
                out.print(f"  [green]{escape(u.path)}:{u.start_line}-{u.end_line}[/] {escape(u.symbol)}")
        out.print(
            f"{_count(len(clusters), 'cluster')}, {_count(len(report.pairs), 'duplicate pair')} "
            f"among {_count(report.checked_units, what)}{known}"
        )
    first = report.pairs[0]
    hint = (
        f"to accept a pair, add to {suppress_file}: [[ignore]] units = "
        f'["{first.unit.fingerprint}", "{first.duplicate_of.fingerprint}"] (fingerprints in --json)'
    )
    out.print(f"[dim]{escape(hint)}[/]")


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
