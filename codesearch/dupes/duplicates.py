"""Near-duplicate functions and methods over the index.

Two signals decide (docs/duplicates.md):

- structure: fingerprints of each unit's tree-sitter tokens (codesearch.dupes.fingerprint),
  kept in the index state. Same exact fingerprint: `exact` (type 1: layout and
  comments); same shape: `renamed` (type 2: identifiers and literals); otherwise
  the Jaccard similarity of shape 5-grams;
- meaning: the cosine of the two units' vectors in the store.

Exact and renamed copies are always reported; an `edited` copy (type 3) when its
Jaccard is at least `dupes_min_jaccard` and the mean of Jaccard and cosine is at
least the threshold calibrated for the embedder. Units with fewer than
`dupes_min_tokens` normalized tokens (or half as many distinct 5-grams) are
boilerplate-sized and never compared.

`find_in_change` checks the units a change adds or edits against the rest of the
index and against each other; `find_in_repository` groups the whole index into
clusters. Both return raw pairs; suppressions and baselines apply afterwards
(codesearch.dupes.suppress).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from codesearch.dupes.fingerprint import DUPLICATE_KINDS, UnitFingerprint, fingerprint_units, jaccard
from codesearch.dupes.gitstage import ChangedFile
from codesearch.errors import CodesearchError
from codesearch.indexing.discover import discover, skip_reason_for_content
from codesearch.indexing.indexer import decode_source
from codesearch.indexing.representation import plan_units
from codesearch.indexing.state import IndexState
from codesearch.parsing import parse_file
from codesearch.store.base import StoreFilter, VectorStore

Vector = npt.NDArray[np.float32]
#: Threshold on the mean of Jaccard and cosine for an edited copy, per embedding model,
#: calibrated with benchmarks/dupes_quality.py (docs/duplicates.md). Models not listed get
#: UNCALIBRATED_THRESHOLD.
CALIBRATED_THRESHOLDS = {
    "all-MiniLM-L6-v2-int8": 0.65,
    "codesearch-static-minilm-v1": 0.6,
    "codesearch-static-code-v2": 0.55,
}
UNCALIBRATED_THRESHOLD = 0.7
#: Nearest neighbours by vector asked of the store for each changed unit.
DENSE_NEIGHBOURS = 10
#: LSH buckets with more members than this are boilerplate; they are not expanded.
LARGEST_BUCKET = 200
#: Pairs reported per changed unit, best first.
PAIRS_PER_UNIT = 5


@dataclass(frozen=True, slots=True)
class DuplicateOptions:
    """The knobs of a duplicate check (from Settings, see `options_for`)."""

    min_tokens: int = 30
    min_jaccard: float = 0.5
    threshold: float = 0.65


def options_for(min_tokens: int, min_jaccard: float, threshold: float, model_id: str) -> DuplicateOptions:
    """Options with threshold 0 replaced by the value calibrated for `model_id`."""
    if threshold <= 0:
        threshold = CALIBRATED_THRESHOLDS.get(model_id, UNCALIBRATED_THRESHOLD)
    return DuplicateOptions(min_tokens, min_jaccard, threshold)


@dataclass(frozen=True, slots=True)
class UnitLocation:
    """Where a compared unit is, and its exact fingerprint (what suppressions name)."""

    path: str
    start_line: int
    end_line: int
    symbol: str
    fingerprint: str

    def to_json(self) -> dict[str, Any]:
        """The stable JSON form."""
        return {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "symbol": self.symbol,
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True, slots=True)
class DuplicatePair:
    """A unit and the unit it duplicates: kind `exact`, `renamed` or `edited`."""

    unit: UnitLocation
    duplicate_of: UnitLocation
    score: float
    kind: str
    structure: float
    cosine: float | None

    def to_json(self) -> dict[str, Any]:
        """The stable JSON form of `codesearch dupes --json`."""
        return {
            **self.unit.to_json(),
            "duplicate_of": self.duplicate_of.to_json(),
            "score": round(self.score, 4),
            "kind": self.kind,
            "structure": round(self.structure, 4),
            "cosine": None if self.cosine is None else round(self.cosine, 4),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DuplicatePair:
        """Rebuild a pair from `to_json` (answers of the index owner)."""
        keys = ("path", "start_line", "end_line", "symbol", "fingerprint")
        return cls(
            UnitLocation(*(data[k] for k in keys)),
            UnitLocation(*(data["duplicate_of"][k] for k in keys)),
            float(data["score"]),
            str(data["kind"]),
            float(data["structure"]),
            None if data["cosine"] is None else float(data["cosine"]),
        )


@dataclass(slots=True)
class DuplicateReport:
    """What a duplicate check found."""

    scope: str
    pairs: list[DuplicatePair] = field(default_factory=list)
    checked_units: int = 0
    suppressed: int = 0
    threshold: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Everything, for the index owner's socket."""
        return {
            "scope": self.scope,
            "pairs": [p.to_json() for p in self.pairs],
            "checked_units": self.checked_units,
            "suppressed": self.suppressed,
            "threshold": self.threshold,
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DuplicateReport:
        """The inverse of `to_json`."""
        return cls(
            str(data["scope"]),
            [DuplicatePair.from_json(p) for p in data["pairs"]],
            int(data["checked_units"]),
            int(data["suppressed"]),
            float(data["threshold"]),
            [str(n) for n in data["notes"]],
        )

    def clusters(self) -> list[list[UnitLocation]]:
        """Units joined by reported pairs, each cluster sorted by place, clusters by size."""
        parent: dict[UnitLocation, UnitLocation] = {}

        def find(x: UnitLocation) -> UnitLocation:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for p in self.pairs:
            parent[find(p.unit)] = find(p.duplicate_of)
        groups: dict[UnitLocation, list[UnitLocation]] = {}
        for unit in parent:
            groups.setdefault(find(unit), []).append(unit)
        ordered = [sorted(g, key=lambda u: (u.path, u.start_line)) for g in groups.values()]
        return sorted(ordered, key=lambda g: (-len(g), g[0].path, g[0].start_line))


@dataclass(slots=True)
class _Unit:
    loc: UnitLocation
    fp: UnitFingerprint
    vector: Vector | None = None


def _big_enough(fp: UnitFingerprint, opts: DuplicateOptions) -> bool:
    return fp.tokens >= opts.min_tokens and fp.distinct_shingles * 2 >= opts.min_tokens


def _cosine(a: Vector | None, b: Vector | None) -> float | None:
    if a is None or b is None:
        return None
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return float(np.dot(a, b) / (na * nb)) if na > 0 and nb > 0 else None


def judge(a: _Unit, b: _Unit, opts: DuplicateOptions) -> DuplicatePair | None:
    """The pair (a duplicates b), or None when they are not duplicates."""
    if not (_big_enough(a.fp, opts) and _big_enough(b.fp, opts)):
        return None
    cos = _cosine(a.vector, b.vector)
    if a.fp.exact == b.fp.exact:
        return DuplicatePair(a.loc, b.loc, 1.0, "exact", 1.0, cos)
    structure = jaccard(a.fp.shingles, b.fp.shingles)
    score = structure if cos is None else (structure + cos) / 2
    if a.fp.shape == b.fp.shape:
        return DuplicatePair(a.loc, b.loc, score, "renamed", structure, cos)
    if structure >= opts.min_jaccard and score >= opts.threshold:
        return DuplicatePair(a.loc, b.loc, score, "edited", structure, cos)
    return None


def _nested(a: UnitLocation, b: UnitLocation) -> bool:
    """Whether one unit lies inside the other (a method and its class's other method never do)."""
    if a.path != b.path:
        return False
    return (a.start_line <= b.start_line and b.end_line <= a.end_line) or (
        b.start_line <= a.start_line and a.end_line <= b.end_line
    )


# -- a change ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _ChangedFileUnits:
    units: list[_Unit]
    changed: list[_Unit]
    texts: list[str]


def _file_units(change: ChangedFile, language: str, max_file_tokens: int) -> _ChangedFileUnits | None:
    if change.new is None or skip_reason_for_content(change.new, language):
        return None
    try:
        source, _ = decode_source(change.new)
        parsed = parse_file(change.path, source, language, max_file_tokens=max_file_tokens, tokens=True)
        fps = fingerprint_units(source, parsed.language, parsed.units, parsed.tokens)
        old: set[str] = set()
        if change.old is not None:
            old_source, _ = decode_source(change.old)
            old_parsed = parse_file(
                change.path, old_source, language, max_file_tokens=max_file_tokens, tokens=True
            )
            old = {
                fp.exact
                for fp in fingerprint_units(
                    old_source, old_parsed.language, old_parsed.units, old_parsed.tokens
                ).values()
            }
    except CodesearchError:
        return None  # a file the parser gives up on has no units to compare
    plans = {p.unit.key: p.text for p in plan_units(parsed.units)}
    result = _ChangedFileUnits([], [], [])
    for unit in parsed.units:
        fp = fps.get(unit.key)
        if fp is None:
            continue
        item = _Unit(
            UnitLocation(unit.path, unit.start_line, unit.end_line, unit.qualified_name, fp.exact), fp
        )
        result.units.append(item)
        result.texts.append(plans[unit.key])
        if fp.exact not in old:
            result.changed.append(item)
    return result


def find_in_change(
    root: Path,
    store: VectorStore,
    state: IndexState,
    embed: Callable[[Sequence[str]], Vector],
    changes: Sequence[ChangedFile],
    opts: DuplicateOptions,
    *,
    exclude: Sequence[str] = (),
    max_file_bytes: int = 1_048_576,
    max_file_tokens: int = 32_768,
) -> DuplicateReport:
    """Pairs of (unit the change adds or edits, unit it duplicates), against the index and each other.

    The rest of the repository is the index (the working tree as last indexed),
    without the files of the change: those are compared in their new version.
    """
    report = DuplicateReport("change", threshold=opts.threshold)
    changed_paths = {c.path for c in changes}
    indexable = {
        f.path: f.language for f in discover(root, exclude, max_file_bytes, only=changed_paths).files
    }
    files: list[_ChangedFileUnits] = []
    for change in changes:
        language = indexable.get(change.path)
        if language is None or language == "text":
            continue
        parsed = _file_units(change, language, max_file_tokens)
        if parsed is not None and parsed.units:
            files.append(parsed)
    new_units = [u for f in files for u in f.units if _big_enough(u.fp, opts)]
    changed = [u for f in files for u in f.changed if _big_enough(u.fp, opts)]
    report.checked_units = len(changed)
    if not changed:
        return report
    vectors = embed([t for f in files for t in f.texts])
    for unit, vec in zip([u for f in files for u in f.units], vectors, strict=True):
        unit.vector = vec

    changed_ids = {id(u) for u in changed}
    seen: set[frozenset[UnitLocation]] = set()
    dense_filter = StoreFilter(kinds=DUPLICATE_KINDS)
    for unit in changed:
        candidate_ids = set(state.band_matches(unit.fp.bands))
        if unit.vector is not None:
            dense, _ = store.search(unit.vector, None, DENSE_NEIGHBOURS, dense_filter)
            candidate_ids.update(c.id for c in dense)
        records = [
            r for r in state.fingerprints(candidate_ids, opts.min_tokens) if r.path not in changed_paths
        ]
        stored = store.vectors([r.point_id for r in records]) if records else {}
        others = [
            _Unit(
                UnitLocation(r.path, r.start_line, r.end_line, r.symbol, r.fingerprint.exact),
                r.fingerprint,
                stored.get(r.point_id),
            )
            for r in records
        ]
        others += [u for u in new_units if u is not unit and not _nested(u.loc, unit.loc)]
        matches: list[DuplicatePair] = []
        for other in others:
            key = frozenset((unit.loc, other.loc))
            if key in seen:
                continue
            # Two new functions: the later one (by path and line) is the copy.
            later = id(other) in changed_ids and _place(other) > _place(unit)
            pair = judge(other, unit, opts) if later else judge(unit, other, opts)
            if pair is not None:
                seen.add(key)
                matches.append(pair)
        matches.sort(key=lambda p: -p.score)
        report.pairs.extend(matches[:PAIRS_PER_UNIT])
    report.pairs.sort(key=_pair_order)
    return report


def _place(unit: _Unit) -> tuple[str, int]:
    return (unit.loc.path, unit.loc.start_line)


def _pair_order(p: DuplicatePair) -> tuple[str, int, float, str, int]:
    return (p.unit.path, p.unit.start_line, -p.score, p.duplicate_of.path, p.duplicate_of.start_line)


# -- the whole repository ---------------------------------------------------------------------


def find_in_repository(store: VectorStore, state: IndexState, opts: DuplicateOptions) -> DuplicateReport:
    """Every duplicate pair in the index (candidates from shared LSH buckets)."""
    report = DuplicateReport("repository", threshold=opts.threshold)
    records = {
        r.point_id: r
        for r in state.fingerprints(min_tokens=opts.min_tokens)
        if _big_enough(r.fingerprint, opts)
    }
    report.checked_units = len(records)
    candidates: set[tuple[int, int]] = set()
    for group in state.band_groups(LARGEST_BUCKET):
        members = sorted(i for i in group if i in records)
        candidates.update((a, b) for n, a in enumerate(members) for b in members[n + 1 :])
    likely: list[tuple[int, int]] = []
    for a, b in candidates:
        fa, fb = records[a].fingerprint, records[b].fingerprint
        if fa.shape == fb.shape or jaccard(fa.shingles, fb.shingles) >= opts.min_jaccard:
            likely.append((a, b))
    vectors = store.vectors(sorted({i for pair in likely for i in pair}))
    units = {
        i: _Unit(
            UnitLocation(r.path, r.start_line, r.end_line, r.symbol, r.fingerprint.exact),
            r.fingerprint,
            vectors.get(i),
        )
        for i, r in records.items()
    }
    for a, b in likely:
        first, second = sorted((units[a], units[b]), key=lambda u: (u.loc.path, u.loc.start_line))
        if _nested(first.loc, second.loc):
            continue
        pair = judge(second, first, opts)
        if pair is not None:
            report.pairs.append(pair)
    report.pairs.sort(key=_pair_order)
    return report
