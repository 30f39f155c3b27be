"""What gets embedded for a unit, and how a unit's vector is put together.

Every unit's text starts with a short header (path, kind, qualified name). What
follows depends on the embedder's window (`Embedder.max_tokens`):

Short-context models (a window under WHOLE_TEXT_MIN_TOKENS: the CPU models, which
read 256 or 512 tokens at a time). A leaf unit (a function with no nested
definitions) is embedded as its code; the embedder windows long text and averages
the windows, so nothing is cut. A container (a class, a file) is embedded as its
*skeleton*: its own text with each direct child's body replaced by the child's
first line. Its vector is the average of the skeleton's vector and its direct
children's vectors. Every line of code is thus embedded exactly once, and a whole
file is represented by all of its parts although the model reads a few hundred
tokens at a time.

Long-context models (a window of at least WHOLE_TEXT_MIN_TOKENS, such as
Qwen3-Embedding on SGLang with 32k tokens). Every unit, file and class included, is
embedded as its whole text, one input, so the model reads a 12k-token file at
once. A unit longer than the window is cut into parts at top-level boundaries:
where its direct children (its top-level definitions) begin and at blank lines
followed by an unindented line; a piece still too long is cut at any blank line,
then at line ends. Each part carries the header and stays within the window (it
is counted with the embedder's own tokenizer, and `max_tokens` already keeps the
margin the server needs); the unit's vector is the mean of its parts' vectors.
Children are not averaged in: the whole text holds them already. A class is
treated like a file: one input when it fits, the model sees the methods with
their class. The price is tokens: a line is embedded once per unit around it (a
method, its class, its file), two to three times the skeleton representation,
which a GPU server affords.

Incremental indexing is unchanged: plans are a pure function of the units and the
window, and each input is cached by the hash of its text (and the model), so an
unchanged file plans the same texts and embeds nothing. An edit re-embeds the
edited unit and each unit around it; for a file in parts, the part holding the
edit (and the parts after it when the boundaries move).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from codesearch.models import CodeUnit, content_hash

#: Embedders whose window (`max_tokens`) is at least this many tokens get whole-text units;
#: shorter windows get skeletons (see the module docstring).
WHOLE_TEXT_MIN_TOKENS = 8192


class TokenWindow(Protocol):
    """What planning needs from an embedder: its window and its tokenizer."""

    @property
    def max_tokens(self) -> int:
        """Longest input, in the model's tokens, embedded as one window."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text takes in this model."""
        ...


@dataclass(frozen=True, slots=True)
class UnitPlan:
    """How to build one unit's vector: the mean of its inputs' vectors and its direct children's.

    `texts` holds one input for most units, or the parts of a long unit on a
    long-context embedder; `children` (indexes into the file's plans) is empty there.
    """

    unit: CodeUnit
    texts: tuple[str, ...]
    text_hashes: tuple[str, ...]
    children: tuple[int, ...]

    @property
    def text(self) -> str:
        """One text standing for the unit: its input, or header and whole text when it has parts."""
        return self.texts[0] if len(self.texts) == 1 else header(self.unit) + self.unit.text

    @property
    def text_hash(self) -> str:
        """Hash of what is embedded (of the one input, or of the parts joined)."""
        return self.text_hashes[0] if len(self.text_hashes) == 1 else content_hash("".join(self.texts))


def header(unit: CodeUnit) -> str:
    """The context line(s) put before a unit's code: its path, kind and name, and its doc
    comment where that sits above the definition (Go, Rust, Java, JS) rather than in it."""
    if unit.kind in ("file", "section"):
        return f"{unit.path}\n"
    head = f"{unit.path}\n{unit.kind} {unit.qualified_name}\n"
    doc = unit.doc.strip()
    if doc and doc.splitlines()[0].strip() not in unit.text:
        head += doc + "\n"
    return head


def whole_text(window: TokenWindow | None) -> bool:
    """Whether units are embedded whole for this embedder (its window is long enough)."""
    return window is not None and window.max_tokens >= WHOLE_TEXT_MIN_TOKENS


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


def plan_units(units: Sequence[CodeUnit], window: TokenWindow | None = None) -> list[UnitPlan]:
    """Plans for the units of one file (in the order given, which must be by start, longest first).

    `window` is the embedder (or None: skeletons); see the module docstring for
    which representation it gets.
    """
    children = _direct_children(units)
    plans: list[UnitPlan] = []
    if window is not None and whole_text(window):
        for unit, kids in zip(units, children, strict=True):
            texts = tuple(_whole_parts(unit, [units[k] for k in kids], window))
            plans.append(UnitPlan(unit, texts, tuple(content_hash(t) for t in texts), ()))
        return plans
    for unit, kids in zip(units, children, strict=True):
        body = _skeleton(unit, [units[k] for k in kids]) if kids else unit.text
        text = header(unit) + body
        plans.append(UnitPlan(unit, (text,), (content_hash(text),), tuple(kids)))
    return plans


def lexical_text(unit: CodeUnit) -> str:
    """The text the lexical index sees: header and the whole unit."""
    return header(unit) + unit.text


# -- whole text in parts ------------------------------------------------------------

Cuts = Callable[[bytes], list[int]]


def _whole_parts(unit: CodeUnit, kids: Sequence[CodeUnit], window: TokenWindow) -> list[str]:
    """Header + whole text as one input, or header + consecutive pieces each within the window."""
    head = header(unit)
    whole = head + unit.text
    limit = window.max_tokens
    # No tokenizer makes more tokens than UTF-8 bytes: most units need no counting.
    if len(whole.encode("utf-8", "surrogatepass")) <= limit or window.count_tokens([whole])[0] <= limit:
        return [whole]
    raw = unit.text.encode("utf-8", "surrogatepass")
    starts = [k.start_byte - unit.start_byte for k in kids]
    levels: list[Cuts] = [
        lambda piece: _top_level_cuts(piece, starts),  # applied to `raw` only
        _blank_line_cuts,
        _line_cuts,
    ]
    budget = limit - window.count_tokens([head])[0]
    pieces = _fit(raw, max(1, budget), window, levels)
    parts = [head + p.decode("utf-8", "replace") for p in pieces if p.strip()]
    return parts or [whole]


def _fit(piece: bytes, budget: int, window: TokenWindow, levels: Sequence[Cuts]) -> list[bytes]:
    """`piece`, which counts over `budget` tokens, as consecutive pieces within it: cut at the
    first level's boundaries, at the next level's inside a segment still too long. A single
    line longer than the budget stays whole (the embedder windows it)."""
    segments = _split_at(piece, levels[0](piece)) if levels else [piece]
    if len(segments) == 1:
        return _fit(piece, budget, window, levels[1:]) if len(levels) > 1 else [piece]
    counts = window.count_tokens([s.decode("utf-8", "replace") for s in segments])
    out: list[bytes] = []
    group: list[bytes] = []
    group_tokens = 0
    for segment, tokens in zip(segments, counts, strict=True):
        if tokens > budget:
            out.extend(_pack(group, budget, window))
            group, group_tokens = [], 0
            out.extend(_fit(segment, budget, window, levels[1:]) if len(levels) > 1 else [segment])
            continue
        if group and group_tokens + tokens > budget:
            out.extend(_pack(group, budget, window))
            group, group_tokens = [], 0
        group.append(segment)
        group_tokens += tokens
    out.extend(_pack(group, budget, window))
    return out


def _pack(group: list[bytes], budget: int, window: TokenWindow) -> list[bytes]:
    """Join segments whose counts summed within the budget; split again if the joined text
    counts over it (token counts of pieces are nearly, not exactly, additive)."""
    if not group:
        return []
    joined = b"".join(group)
    if len(group) == 1 or window.count_tokens([joined.decode("utf-8", "replace")])[0] <= budget:
        return [joined]
    half = len(group) // 2
    return _pack(group[:half], budget, window) + _pack(group[half:], budget, window)


def _split_at(raw: bytes, cuts: list[int]) -> list[bytes]:
    bounds = sorted({0, len(raw), *(c for c in cuts if 0 < c < len(raw))})
    return [raw[a:b] for a, b in itertools.pairwise(bounds)]


def _line_start(raw: bytes, offset: int) -> int:
    return raw.rfind(b"\n", 0, offset) + 1


def _top_level_cuts(raw: bytes, child_starts: list[int]) -> list[int]:
    """Where direct children begin (at their line's start), and line starts after a blank line
    whose line is not indented."""
    cuts = {_line_start(raw, s) for s in child_starts if 0 < s < len(raw)}
    cuts.update(c for c in _blank_line_cuts(raw) if raw[c : c + 1] not in (b" ", b"\t", b"\n", b"\r"))
    return sorted(cuts)


def _blank_line_cuts(raw: bytes) -> list[int]:
    """Line starts that follow a blank (empty or whitespace-only) line."""
    cuts: list[int] = []
    previous_blank = False
    position = 0
    for line in raw.splitlines(keepends=True):
        if previous_blank:
            cuts.append(position)
        previous_blank = not line.strip()
        position += len(line)
    return cuts


def _line_cuts(raw: bytes) -> list[int]:
    """Every line start."""
    cuts: list[int] = []
    position = 0
    for line in raw.splitlines(keepends=True):
        cuts.append(position)
        position += len(line)
    return cuts
