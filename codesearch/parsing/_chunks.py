"""Whole-file units, long files split into parts, and sections of text files."""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Iterator

from codesearch.models import CodeUnit

#: Text files estimated over this many tokens also get section units.
SECTION_MIN_TOKENS = 1500
SECTION_LINES = 60
#: A markdown section may end early at a heading once it has this many lines.
SECTION_MIN_LINES_AT_HEADING = 20

_HEADING = re.compile(rb"#{1,6}(?:[ \t]|\r?\n|$)")
_FENCE = re.compile(rb"[ \t]{0,3}(?:```|~~~)")


def estimate_tokens(text: str) -> int:
    """A cheap token estimate: one token per three characters, rounded up."""
    return math.ceil(len(text) / 3)


def file_units(
    path: str,
    language: str,
    source: bytes,
    text: str,
    top_level_starts: list[int],
    max_file_tokens: int,
) -> list[CodeUnit]:
    """One unit for the whole file, or consecutive parts under the token limit.

    Parts break where top-level nodes start (at the start of their line); a
    piece still too long breaks at line ends, and a line too long at bytes.
    """
    name = os.path.basename(path)
    if estimate_tokens(text) <= max_file_tokens:
        end_line = 1 + source.count(b"\n", 0, len(source) - 1)
        return [CodeUnit(path, language, "file", name, path, 1, end_line, 0, len(source), text)]
    limit = _byte_limit(max_file_tokens)
    boundaries = _line_starts(source, top_level_starts)
    pieces: list[tuple[int, int]] = []
    for start, end in itertools.pairwise(boundaries):
        pieces.extend(_split_lines(source, start, end, limit))
    units: list[CodeUnit] = []
    for start, end, start_line, end_line in _with_lines(source, _pack(pieces, limit)):
        part = source[start:end].decode("utf-8", "replace")
        if part.strip():
            qualified = f"{path}#part{len(units) + 1}"
            units.append(
                CodeUnit(path, language, "file", name, qualified, start_line, end_line, start, end, part)
            )
    return units


def section_units(path: str, source: bytes, markdown: bool, max_file_tokens: int) -> list[CodeUnit]:
    """Windows of about SECTION_LINES lines; markdown breaks at headings."""
    limit = _byte_limit(max_file_tokens)
    windows: list[tuple[int, int]] = []
    start = 0
    lines = 0
    fenced = False
    for line_start, line_end in _line_spans(source, 0, len(source)):
        heading = False
        if markdown:
            if _FENCE.match(source, line_start, line_end):
                fenced = not fenced
            heading = not fenced and _HEADING.match(source, line_start, line_end) is not None
        if lines and (
            lines >= SECTION_LINES
            or (heading and lines >= SECTION_MIN_LINES_AT_HEADING)
            or line_end - start > limit
        ):
            windows.extend(_split_lines(source, start, line_start, limit))
            start, lines = line_start, 0
        lines += 1
    windows.extend(_split_lines(source, start, len(source), limit))
    units: list[CodeUnit] = []
    seen: set[str] = set()
    for begin, end, start_line, end_line in _with_lines(source, windows):
        text = source[begin:end].decode("utf-8", "replace")
        if not text.strip():
            continue
        qualified = f"{path}#L{start_line}-{end_line}"
        if qualified in seen:  # pieces of one very long line
            qualified = f"{qualified}@{begin}"
        seen.add(qualified)
        title = _title(text) if markdown else ""
        units.append(
            CodeUnit(
                path,
                "text",
                "section",
                title or f"L{start_line}-{end_line}",
                qualified,
                start_line,
                end_line,
                begin,
                end,
                text,
            )
        )
    return units


def _byte_limit(max_file_tokens: int) -> int:
    # A character is at least one byte, so this many bytes never estimate over.
    return max(1, max_file_tokens) * 3


def _title(text: str) -> str:
    first = text.lstrip("\n").split("\n", 1)[0]
    return first.lstrip("#").strip()[:200] if first.startswith("#") else ""


def _line_starts(source: bytes, offsets: list[int]) -> list[int]:
    """Start of the line holding each offset, plus 0 and the end, sorted, unique."""
    starts = {0, len(source)}
    line_start = 0
    searched = 0
    for offset in sorted(offsets):
        newline = source.rfind(b"\n", searched, offset)
        if newline >= 0:
            line_start = newline + 1
        searched = max(searched, offset)
        starts.add(line_start)
    return sorted(starts)


def _line_spans(source: bytes, start: int, end: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each line in source[start:end], newline included."""
    while start < end:
        newline = source.find(b"\n", start, end)
        stop = end if newline < 0 else newline + 1
        yield start, stop
        start = stop


def _split_lines(source: bytes, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut [start, end) into pieces of at most `limit` bytes, at line ends when possible."""
    if end - start <= limit:
        return [(start, end)] if end > start else []
    pieces: list[tuple[int, int]] = []
    piece = start
    for line_start, line_end in _line_spans(source, start, end):
        if line_end - piece <= limit:
            continue
        if line_start > piece:
            pieces.append((piece, line_start))
            piece = line_start
        while line_end - piece > limit:  # one line longer than the limit
            cut = _char_boundary(source, piece + limit, piece)
            pieces.append((piece, cut))
            piece = cut
    if end > piece:
        pieces.append((piece, end))
    return pieces


def _char_boundary(source: bytes, position: int, floor: int) -> int:
    """Move a cut back so that it does not fall inside a UTF-8 character."""
    cut = position
    while cut > floor + 1 and cut > position - 4 and source[cut] & 0xC0 == 0x80:
        cut -= 1
    return cut if cut > floor else position


def _pack(pieces: list[tuple[int, int]], limit: int) -> list[tuple[int, int]]:
    """Join consecutive pieces while they fit in `limit` bytes."""
    packed: list[tuple[int, int]] = []
    for start, end in pieces:
        if packed and end - packed[-1][0] <= limit:
            packed[-1] = (packed[-1][0], end)
        else:
            packed.append((start, end))
    return packed


def _with_lines(source: bytes, spans: list[tuple[int, int]]) -> Iterator[tuple[int, int, int, int]]:
    """Add 1-based first and last line numbers to consecutive byte spans."""
    line = 1
    position = 0
    for start, end in spans:
        line += source.count(b"\n", position, start)
        last = line + source.count(b"\n", start, max(start, end - 1))
        yield start, end, line, last
        position = start
