"""What the `codesearch` command prints for people: hits with their code, files, progress
lines and ages, with control characters escaped (`visible`). `--json` output is written
by the commands themselves and stays exact."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax

from codesearch.indexing.indexer import Progress
from codesearch.models import FileHit, IndexStatus, SearchHit
from codesearch.safefs import inside_root

SNIPPET_MAX_LINES = 8
_LEXERS = {"csharp": "csharp", "tsx": "tsx", "text": "text", "bash": "bash", "cpp": "cpp"}


def waiting_printer(err: Console) -> Callable[[int | None], None]:
    def waiting(pid: int | None) -> None:
        err.print(f"waiting for another codesearch process (pid {pid}) that is using this index…")

    return waiting


def progress_printer(err: Console) -> Any:
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


def print_file(out: Console, rank: int, found: FileHit) -> None:
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


def print_hit(out: Console, root: Path, rank: int, hit: SearchHit) -> None:
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


def count_printer(err: Console) -> Any:
    def show(done: int) -> None:
        err.print(f"copied {done} units…")

    return show


def ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def print_status(out: Console, info: IndexStatus) -> None:
    """`codesearch status` for people (`--json` prints `info` itself)."""
    out.print(f"root:       {escape(info['root'])}")
    out.print(f"index:      {escape(info['index_dir'])}")
    out.print(f"model:      {info['model']} ({info['dimensions']} dimensions, backend {info['backend']})")
    if not info.get("indexed"):
        out.print("state:      not indexed yet; run `codesearch index`")
        return
    age = info.get("age_seconds")
    fresh = f"{ago(age)} ago" if age is not None else "never finished"
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
