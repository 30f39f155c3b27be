"""Structural fingerprints of functions and methods, for duplicate detection.

A unit's tokens come from tree-sitter with comments and docstrings left out
(`parsing.code_tokens`). Three views of them:

- the *exact* fingerprint hashes the tokens as written: layout and comments do
  not matter (a type-1 clone has the same one);
- the *shape* hashes the tokens with every identifier replaced by `$` and every
  literal by `#` (a type-2 clone, renamed identifiers or changed literals, has the
  same shape);
- the *shingles* are the hashed 5-grams of the shape tokens; the Jaccard
  similarity of two units' shingle sets measures edited (type-3) clones. A
  MinHash of the shingles, cut into bands, finds candidate pairs without
  comparing every pair (locality-sensitive hashing).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from codesearch.models import CodeUnit
from codesearch.parsing import IDENTIFIER, LITERAL, code_tokens

#: Bump when anything below changes what is stored: stored fingerprints are then rebuilt.
FINGERPRINT_VERSION = "3"
#: Kinds of units compared for duplication.
DUPLICATE_KINDS = ("function", "method")
SHINGLE = 5
BANDS = 20
ROWS = 2
#: Units whose bodies have fewer normalized tokens than this are not even stored.
STORED_MIN_TOKENS = 8

_PRIME = (1 << 61) - 1
_rng = np.random.default_rng(20261123)
_A = _rng.integers(1, 1 << 31, size=BANDS * ROWS, dtype=np.uint64)
_B = _rng.integers(0, 1 << 31, size=BANDS * ROWS, dtype=np.uint64)


@dataclass(frozen=True, slots=True)
class UnitFingerprint:
    """What duplicate detection knows of one unit, without its text."""

    exact: str
    shape: str
    #: Normalized tokens of the body (after the signature): the size the boilerplate gate reads.
    tokens: int
    shingles: npt.NDArray[np.uint32]
    bands: tuple[int, ...]

    @property
    def distinct_shingles(self) -> int:
        """Number of distinct shape 5-grams: repetitive code has few."""
        return int(self.shingles.size)


def _digest(parts: Sequence[str]) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:16]


#: Multiplier of the polynomial k-gram hash (odd, 64-bit).
_GRAM_BASE = np.uint64(0x9E3779B97F4A7C15)
#: Token hashes by token text, shared across calls (code repeats the same few thousand tokens);
#: cleared whole when it holds more than _TOKEN_MEMO_SIZE.
_token_ids: dict[str, int] = {}
_TOKEN_MEMO_SIZE = 1_000_000


def _token_hashes(shape: Sequence[str]) -> npt.NDArray[np.uint64]:
    ids = _token_ids
    known = list(map(ids.get, shape))  # most tokens are known: no Python step per token
    if None in known:
        missing = {t for t, h in zip(shape, known, strict=True) if h is None}
        if len(ids) > _TOKEN_MEMO_SIZE:
            ids.clear()
            missing = set(shape)
        for token in missing:
            ids[token] = int.from_bytes(
                hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big"
            )
        known = list(map(ids.__getitem__, shape))
    return np.array(known, dtype=np.uint64)


def shingle_set(shape: Sequence[str]) -> npt.NDArray[np.uint32]:
    """Sorted distinct 32-bit hashes of the k-grams of a shape token sequence
    (a polynomial hash of the tokens' 64-bit hashes, computed for all k-grams at once)."""
    if not shape:
        return np.zeros(0, dtype=np.uint32)
    grams = _grams(_token_hashes(shape), min(SHINGLE, len(shape)))
    return np.unique((grams >> np.uint64(32)).astype(np.uint32))


#: Odd 64-bit constants that mix a band's two MinHash rows and its number into one key.
_MIX = np.array([0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0xD6E8FEB86659FD93], dtype=np.uint64)


def band_hashes(shingles: npt.NDArray[np.uint32]) -> tuple[int, ...]:
    """LSH band keys of a shingle set's MinHash signature (63-bit, band number included)."""
    return _band_hashes_many([shingles])[0] if shingles.size else ()


def header_length(texts: Sequence[str], signature: str) -> int:
    """How many of a unit's tokens make its signature (decorators included); 0 when unknown.

    The signature is whitespace-collapsed (and may be cut short), so it is matched
    against the tokens' text with all whitespace removed. The signature opens the unit,
    so only a prefix of the tokens is searched first.
    """
    wanted = "".join(signature.split())
    if not wanted:
        return 0
    stripped: list[str] = []
    size = 0
    for text in texts:
        piece = "".join(text.split())
        stripped.append(piece)
        size += len(piece)
        if size >= len(wanted) + 64:  # decorators before it; else the fallback below
            break
    joined = "".join(stripped)
    at = joined.find(wanted)
    if at < 0 and len(stripped) < len(texts):
        stripped.extend("".join(t.split()) for t in texts[len(stripped) :])
        joined = "".join(stripped)
        at = joined.find(wanted)
    if at < 0:
        return 0
    end = at + len(wanted)
    covered = 0
    for n, piece in enumerate(stripped):
        covered += len(piece)
        if covered >= end:
            return n + 1
    return len(texts)


def fingerprint_tokens(tokens: Sequence[tuple[str, str]], signature: str = "") -> UnitFingerprint:
    """The fingerprint of a token sequence of (class, text) pairs; `signature` marks where the body starts."""
    exact = [text for _, text in tokens]
    shape = ["$" if cls == IDENTIFIER else "#" if cls == LITERAL else text for cls, text in tokens]
    shingles = shingle_set(shape)
    body = len(tokens) - header_length(exact, signature)
    return UnitFingerprint(_digest(exact), _digest(shape), body, shingles, band_hashes(shingles))


def fingerprint_units(
    source: bytes,
    language: str,
    units: Sequence[CodeUnit],
    tokens: Sequence[tuple[str, int, str]] | None = None,
) -> dict[str, UnitFingerprint]:
    """Fingerprints of a file's functions and methods, by unit key.

    `source` is the bytes the units' offsets index; `tokens` its code tokens when the
    parse already made them (`parse_file(..., tokens=True)`), else the file is tokenized
    here. Units too small to matter (bodies under STORED_MIN_TOKENS tokens) are left out.

    The same fingerprints as `fingerprint_tokens` on each unit's tokens, computed for the
    file at once: token hashes and k-grams once over the file's tokens (a unit's k-grams
    are the file's that lie inside it), MinHash signatures of all units in one product.
    """
    wanted = [u for u in units if u.kind in DUPLICATE_KINDS]
    if not wanted:
        return {}
    if tokens is None:
        tokens = code_tokens(source, language)
    starts = np.fromiter((start for _, start, _ in tokens), dtype=np.int64, count=len(tokens))
    exact = [text for _, _, text in tokens]
    shape = ["$" if cls == IDENTIFIER else "#" if cls == LITERAL else text for cls, _, text in tokens]
    hashes = _token_hashes(shape)
    grams = _grams(hashes, SHINGLE)
    kept: list[tuple[str, str, str, int, npt.NDArray[np.uint32]]] = []
    for unit in wanted:
        lo = int(np.searchsorted(starts, unit.start_byte, side="left"))
        hi = int(np.searchsorted(starts, unit.end_byte, side="left"))
        unit_exact = exact[lo:hi]
        body = hi - lo - header_length(unit_exact, unit.signature)
        if body < STORED_MIN_TOKENS:
            continue
        # body >= STORED_MIN_TOKENS > SHINGLE: the unit has full k-grams, all within the file's.
        unit_grams = grams[lo : hi - SHINGLE + 1]
        shingles = np.unique((unit_grams >> np.uint64(32)).astype(np.uint32))
        kept.append((unit.key, _digest(unit_exact), _digest(shape[lo:hi]), body, shingles))
    bands = _band_hashes_many([k[4] for k in kept])
    return {
        key: UnitFingerprint(ex, sh, body, shingles, unit_bands)
        for (key, ex, sh, body, shingles), unit_bands in zip(kept, bands, strict=True)
    }


def _grams(h: npt.NDArray[np.uint64], k: int) -> npt.NDArray[np.uint64]:
    """The polynomial hashes of every k-gram of a token hash sequence (none when it is shorter)."""
    n = len(h) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        grams = h[0:n].copy()
        for j in range(1, k):
            grams = grams * _GRAM_BASE + h[j : j + n]
    return grams


#: Shingles whose MinHash rows are computed in one product (bounds its memory: 40 x this x 8 bytes).
_SIGNATURE_CHUNK = 1 << 15


def _band_hashes_many(sets: Sequence[npt.NDArray[np.uint32]]) -> list[tuple[int, ...]]:
    """The LSH band keys (`band_hashes`) of each of these non-empty shingle sets, in a few array
    operations."""
    out: list[tuple[int, ...]] = []
    first = 0
    while first < len(sets):
        last, size = first, 0
        while last < len(sets) and (last == first or size + sets[last].size <= _SIGNATURE_CHUNK):
            size += sets[last].size
            last += 1
        group = sets[first:last]
        x = np.concatenate(group).astype(np.uint64)
        offsets = np.cumsum([0] + [s.size for s in group[:-1]])
        rows = np.minimum.reduceat((np.outer(_A, x) + _B[:, None]) % _PRIME, offsets, axis=1)
        signature = rows.reshape(BANDS, ROWS, len(group))
        with np.errstate(over="ignore"):
            key = (
                signature[:, 0] * _MIX[0]
                ^ signature[:, 1] * _MIX[1]
                ^ np.arange(1, BANDS + 1, dtype=np.uint64)[:, None] * _MIX[2]
            )
            # splitmix64's finaliser spreads every input bit over the key.
            key ^= key >> np.uint64(31)
            key *= _MIX[1]
            key ^= key >> np.uint64(29)
        out.extend(tuple(unit) for unit in (key >> np.uint64(1)).T.tolist())
        first = last
    return out


def jaccard(a: npt.NDArray[np.uint32], b: npt.NDArray[np.uint32]) -> float:
    """Jaccard similarity of two sorted distinct shingle sets."""
    if a.size == 0 or b.size == 0:
        return 0.0
    both = np.intersect1d(a, b, assume_unique=True).size
    return float(both / (a.size + b.size - both))
