"""What gets embedded for a unit, and how a unit's vector is put together.

A leaf unit (a function with no nested definitions) is embedded as a short
header (path, kind, qualified name) followed by its code; the embedder windows
long text and averages the windows, so nothing is cut. A container (a class, a
file) is embedded as its *skeleton*: its own text with each direct child's body
replaced by the child's first line. Its vector is the average of the skeleton's
vector and its direct children's vectors. Every line of code is thus embedded
exactly once, and a whole file is represented by all of its parts even though
the CPU model reads only 256 tokens at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from codesearch.models import CodeUnit, content_hash


@dataclass(frozen=True, slots=True)
class UnitPlan:
    """How to build one unit's vector: its own text plus its direct children."""

    unit: CodeUnit
    text: str
    text_hash: str
    children: tuple[int, ...]


def header(unit: CodeUnit) -> str:
    """The context line(s) put before a unit's code."""
    if unit.kind in ("file", "section"):
        return f"{unit.path}\n"
    return f"{unit.path}\n{unit.kind} {unit.qualified_name}\n"


def _direct_children(units: Sequence[CodeUnit]) -> list[list[int]]:
    """For each unit (sorted by start, longest first), the indexes of the units directly inside it."""
    children: list[list[int]] = [[] for _ in units]
    stack: list[int] = []
    for i, unit in enumerate(units):
        while stack and units[stack[-1]].end_byte < unit.end_byte:
            stack.pop()
        while stack and not (
            units[stack[-1]].start_byte <= unit.start_byte and unit.end_byte <= units[stack[-1]].end_byte
        ):
            stack.pop()
        if stack and unit.kind != "section":
            children[stack[-1]].append(i)
        stack.append(i)
    return children


def _skeleton(unit: CodeUnit, kids: Sequence[CodeUnit]) -> str:
    raw = unit.text.encode("utf-8", "surrogatepass")
    base = unit.start_byte
    parts: list[bytes] = []
    pos = 0
    for kid in sorted(kids, key=lambda u: u.start_byte):
        start, end = kid.start_byte - base, kid.end_byte - base
        if start < pos or end > len(raw):
            continue  # not a clean nesting (offsets from a re-encoded file): keep the text as is
        first_line = raw[start:end].split(b"\n", 1)[0]
        parts.append(raw[pos:start])
        parts.append(first_line + b" ...")
        pos = end
    parts.append(raw[pos:])
    return b"".join(parts).decode("utf-8", "replace")


def plan_units(units: Sequence[CodeUnit]) -> list[UnitPlan]:
    """Plans for the units of one file (in the order given, which must be by start, longest first)."""
    children = _direct_children(units)
    plans: list[UnitPlan] = []
    for unit, kids in zip(units, children, strict=True):
        body = _skeleton(unit, [units[k] for k in kids]) if kids else unit.text
        text = header(unit) + body
        plans.append(UnitPlan(unit, text, content_hash(text), tuple(kids)))
    return plans


def lexical_text(unit: CodeUnit) -> str:
    """The text the lexical index sees: header and the whole unit."""
    return header(unit) + unit.text
