"""Gitignore patterns compiled so that matching one path costs time linear in its length.

pathspec turns a pattern into a regular expression in which every `*` is `[^/]*` and every
`**` is `.+`; Python's backtracking engine then tries every way of splitting a name among the
wildcards, so `*a*a*a*a*a*a*a*a*a*a*a*b` against a 60-character name runs for hours. Git's
wildmatch does not backtrack like that, and neither does this: pathspec still reads the
pattern (comments, `!`, escapes, anchoring, the trailing `/`, what git discards), but each
piece between wildcards is matched at its leftmost place and kept there (an atomic group),
which loses no match:

- within a segment the pieces between `*`s have fixed lengths, so the leftmost place of
  each leaves the most room for the rest, and only the last must end where the segment does;
- between `**`s the blocks of whole segments are placed the same way.

The one deliberate difference from pathspec is git's: a bracket expression (`[!a]`) never
matches a `/`. Whether a path matched as itself or through a directory above it (the group
pathspec's GitIgnoreSpec ranks matches by) is what pathspec's own expressions report.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from typing import AnyStr

from pathspec import GitIgnoreSpec
from pathspec.patterns.gitignore.spec import _DIR_MARK, GitIgnoreSpecPattern

_DIR = f"(?P<{_DIR_MARK}>/)"
#: What pathspec answers, whole, for `**`, `*`, `**/` and `*/`; kept as they are.
_SPECIAL = frozenset({".", "/", _DIR})
_SEGMENT_END = "(?![^/])"
#: Zero or more whole segments, as few as possible first (each try is one step).
_SKIP = "(?:[^/]*/)*?"


#: Longest pattern applied: no path is longer (PATH_MAX), and compiling costs its length.
MAX_PATTERN_CHARS = 4096
#: Most patterns applied from one ignore file: every path below it is checked against each
#: (about 3 us apiece), and compiling one takes about 0.2 ms. Templates hold a few hundred.
MAX_PATTERNS = 10_000


def compile_spec(lines: Iterable[str]) -> GitIgnoreSpec:
    """A GitIgnoreSpec of these pattern lines whose matching cannot backtrack without bound.

    Raises ValueError (pathspec's GitIgnorePatternError, or re.error) for a pattern that
    cannot be compiled."""
    patterns = []
    for line in lines:
        try:
            patterns.append(_compile(line))
        except re.error as exc:
            raise ValueError(f"invalid pattern {line!r}: {exc}") from None
    return _spec(patterns)


def read_spec(lines: Sequence[str]) -> tuple[GitIgnoreSpec | None, str | None]:
    """The patterns of an ignore file's lines (None when there are none), and which lines were
    not applied and why (None when all were): a pattern that cannot be compiled (git never
    matches such a pattern either), one over MAX_PATTERN_CHARS, and every line after the
    MAX_PATTERNS-th pattern."""
    patterns: list[LinearPattern] = []
    invalid: list[int] = []
    long: list[int] = []
    over = 0
    for number, line in enumerate(lines, 1):
        if not line.rstrip() or line.startswith("#"):
            continue
        if len(patterns) >= MAX_PATTERNS:
            over = number
            break
        if len(line) > MAX_PATTERN_CHARS:
            long.append(number)
            continue
        try:
            patterns.append(_compile(line))
        except (ValueError, re.error):
            invalid.append(number)
    left_out = [
        f"{_lines(invalid)} (invalid)" if invalid else "",
        f"{_lines(long)} (over {MAX_PATTERN_CHARS} characters)" if long else "",
        f"lines {over} to {len(lines)} (over {MAX_PATTERNS} patterns)" if over else "",
    ]
    why = "; ".join(part for part in left_out if part)
    return (_spec(patterns) if patterns else None), (f"patterns not applied: {why}" if why else None)


def _lines(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:5])
    more = f" and {len(numbers) - 5} more" if len(numbers) > 5 else ""
    return f"line{'s' if len(numbers) > 1 else ''} {shown}{more}"


def _compile(line: str) -> LinearPattern:
    with warnings.catch_warnings():  # re's FutureWarning for `[[`, on stderr, once per pattern
        warnings.simplefilter("ignore", FutureWarning)
        return LinearPattern(line)


def _spec(patterns: Sequence[LinearPattern]) -> GitIgnoreSpec:
    # The simple backend: re2 or hyperscan, where installed, know no atomic groups.
    return GitIgnoreSpec(patterns, backend="simple")


class LinearPattern(GitIgnoreSpecPattern):
    """A gitignore pattern whose expression cannot backtrack without bound."""

    __slots__ = ()

    @classmethod
    def pattern_to_regex(cls, pattern: AnyStr) -> tuple[AnyStr | None, bool | None]:
        regex, include = super().pattern_to_regex(pattern)
        if regex is None or not isinstance(pattern, str) or regex in _SPECIAL:
            return regex, include
        return _translate(pattern), include


def _translate(pattern: str) -> str:
    """The expression of a pattern pathspec accepted (and did not answer specially)."""
    if not pattern.endswith("\\ "):
        pattern = pattern.rstrip()
    if pattern.startswith("!"):
        pattern = pattern[1:]
    segs = pattern.split("/")
    is_dir = not segs[-1]
    # pathspec's normalisation: a leading `/` anchors; one segment (maybe with a trailing
    # `/`) matches at any depth; a trailing `/` is `/**`; `**/**` is `**`.
    if not segs[0]:
        del segs[0]
    elif (len(segs) == 1 or (len(segs) == 2 and not segs[1])) and segs[0] != "**":
        segs.insert(0, "**")
    if not segs[-1]:
        segs[-1] = "**"
    segs = [s for i, s in enumerate(segs) if not (i and s == "**" and segs[i - 1] == "**")]

    floating = segs[0] == "**"
    trailing = len(segs) > 1 and segs[-1] == "**"
    core = segs[1 if floating else 0 : len(segs) - 1 if trailing else len(segs)]
    blocks: list[list[str]] = [[]]
    for seg in core:
        if seg == "**":
            blocks.append([])
        else:
            blocks[-1].append(_segment(seg))
    parts = ["/".join(block) for block in blocks]

    def placed(index: int, committed: bool) -> str:
        lead = "" if index == 0 else "/"
        if index == 0 and not floating:
            return parts[0]  # anchored at the root: one place only
        body = lead + _SKIP + parts[index]
        return f"(?>{body})" if committed else body

    # Every block but the last at its leftmost place: that leaves the most room after it.
    head = "".join(placed(i, True) for i in range(len(parts) - 1))
    if trailing:
        # `x/**` matches below x (as a file, to pathspec); `x/` is a directory's match.
        return "^" + head + placed(len(parts) - 1, True) + (_DIR if is_dir else "/")
    # The path itself, where the last block can end the path (the last block then ends at
    # the path's end, so it is not committed to its leftmost place); else a directory above.
    whole = head + placed(len(parts) - 1, False) + "$"
    above = head + placed(len(parts) - 1, True) + _DIR
    return f"^(?:{whole}|{above})"


def _segment(glob: str) -> str:
    """An expression matching exactly one whole path segment, without unbounded backtracking."""
    if glob == "*":
        return "[^/]+"
    pieces = _pieces(glob)
    if len(pieces) == 1:
        return pieces[0] + _SEGMENT_END
    first, *middle, last = pieces
    # Each middle piece at its leftmost place, kept there; the last one ends the segment.
    body = first + "".join(f"(?>[^/]*?{piece})" for piece in middle if piece)
    return f"(?>{body}[^/]*{last}{_SEGMENT_END})"


def _pieces(glob: str) -> list[str]:
    """The fixed-length expressions between the `*`s of a segment glob (runs of `*` are one)."""
    pieces = [""]
    i, end = 0, len(glob)
    while i < end:
        char = glob[i]
        i += 1
        if char == "\\" and i < end:
            pieces[-1] += re.escape(glob[i])
            i += 1
        elif char == "*":
            if pieces[-1] or len(pieces) == 1:
                pieces.append("")
        elif char == "?":
            pieces[-1] += "[^/]"
        elif char == "[":
            # pathspec's (and git's) bracket expression; one pathspec accepted ends.
            j = i
            if j < end and glob[j] in "!^":
                j += 1
            if j < end and glob[j] == "]":
                j += 1
            while j < end and glob[j] != "]":
                j += 1
            if j >= end:
                pieces[-1] += re.escape(char)
                continue
            negated = glob[i] in "!^"
            inner = glob[i + 1 if negated else i : j].replace("\\", "\\\\")
            # Git's wildmatch: a bracket expression never matches a `/`.
            pieces[-1] += "(?!/)[" + ("^" if negated else "") + inner + "]"
            i = j + 1
        else:
            pieces[-1] += re.escape(char)
    return pieces
