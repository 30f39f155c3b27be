"""Identifier-aware lexical tokens and their sparse (BM25-style) vectors.

`parseISODate`, `parse_iso_date` and `src/parse/iso.py` all yield the tokens
`parse`, `iso`, `date`; compound identifiers are also kept whole. The store
applies IDF (Qdrant's IDF modifier), so only the term-frequency part of BM25
is computed here.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

import numpy as np

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_STOPWORDS = frozenset(
    "a an and are as at be by for from how in into is it its of on or that the this "
    "to was what when where which with code function method find".split()
)
_K1 = 1.2
_B = 0.75
_AVG_LEN = 120.0


@dataclass(frozen=True, slots=True)
class SparseVector:
    """Sorted token indices with their weights."""

    indices: tuple[int, ...]
    values: tuple[float, ...]


def _stem(word: str) -> str:
    """A deliberately light suffix stripper: retries -> retry, parsing -> pars(e)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed"):
        return word[:-2]
    if len(word) > 4 and word.endswith("es") and word[-3] in "sxz":
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    if len(word) > 4 and word.endswith("e"):
        return word[:-1]
    return word


@lru_cache(maxsize=1 << 17)
def _word_tokens(word: str) -> tuple[str, ...]:
    """The tokens of one identifier or number (remembered: code repeats its words)."""
    parts = [p for piece in word.split("_") for p in _CAMEL.findall(piece)]
    lowered = [p.lower() for p in parts if p]
    out = [_stem(part) for part in lowered if part not in _STOPWORDS and len(part) > 1]
    if len(lowered) > 1:
        out.append(word.lower().strip("_"))
    return tuple(out)


def tokens(text: str) -> list[str]:
    """Lower-cased, stemmed tokens: identifier parts plus whole compound identifiers."""
    return [tok for word in _WORD.findall(text) for tok in _word_tokens(word)]


@lru_cache(maxsize=1 << 17)
def token_id(token: str) -> int:
    """Stable 31-bit index of a token (the same in every process and version)."""
    return zlib.crc32(token.encode("utf-8")) & 0x7FFFFFFF


@lru_cache(maxsize=1 << 17)
def _word_ids(word: str) -> tuple[int, ...]:
    """`token_id` of each of `_word_tokens(word)` (remembered, as they are)."""
    return tuple(token_id(tok) for tok in _word_tokens(word))


_ID = np.dtype(np.int32)  # token ids are 31-bit


@lru_cache(maxsize=1 << 17)
def _word_bytes(word: str) -> bytes:
    """`_word_ids(word)` as int32 bytes (remembered, as they are)."""
    return np.array(_word_ids(word), dtype=_ID).tobytes()


#: Lines remembered by `_line_ids`; cleared whole when full (as StaticEmbedder's memo).
_LINE_MEMO_SIZE = 200_000
_LINE_MEMO_MAX_CHARS = 2_000
_line_memo: dict[str, bytes] = {}


def _line_ids(line: str) -> bytes:
    """The token ids of one line as int32 bytes, remembered: a line is met in its function's
    unit, its class's and its file's, and code repeats lines. No word spans a newline
    (`_WORD`), so a text's ids are its lines' ids, in order."""
    found = _line_memo.get(line)
    if found is None:
        found = b"".join(map(_word_bytes, _WORD.findall(line)))
        if len(line) <= _LINE_MEMO_MAX_CHARS:  # long lines (data, generated code) are not kept
            if len(_line_memo) >= _LINE_MEMO_SIZE:
                _line_memo.clear()
            _line_memo[line] = found
    return found


def document_vector(text: str) -> SparseVector:
    """BM25 term-frequency weights of a document's tokens (two tokens that share an index,
    a crc32 collision, count as one). The ids are counted in numpy: a file's text holds
    thousands of them, and every line is met two or three times (method, class, file)."""
    lines = text.split("\n")
    known = list(map(_line_memo.get, lines))  # most lines are known: no call per line
    parts = (
        [_line_ids(line) if part is None else part for line, part in zip(lines, known, strict=True)]
        if None in known
        else cast("list[bytes]", known)
    )
    ids = np.frombuffer(b"".join(parts), dtype=_ID)
    if not ids.size:
        return SparseVector((), ())
    norm = _K1 * (1 - _B + _B * ids.size / _AVG_LEN)
    indices, tf = np.unique(ids, return_counts=True)
    weights = tf * (_K1 + 1) / (tf + norm)
    return SparseVector(tuple(indices.tolist()), tuple(weights.tolist()))


def query_vector(text: str) -> SparseVector:
    """Each distinct query token once, weight 1 (IDF comes from the store)."""
    ids = sorted({token_id(t) for t in tokens(text)})
    return SparseVector(tuple(ids), tuple(1.0 for _ in ids))
