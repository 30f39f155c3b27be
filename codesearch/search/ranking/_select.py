"""Selection: a cap on hits per file in the unit list, and the file-level ranking.

Both take rows already scored by `_score`, best first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from codesearch.search.ranking._score import RankingConfig

if TYPE_CHECKING:  # the store package imports config, which imports this package
    from codesearch.store.base import Candidate

#: A fused row: (candidate, score, dense score, lexical score).
Row = tuple["Candidate", float, float | None, float | None]


def path_of(row: Row) -> str:
    """The file a row's unit is in."""
    return str(row[0].payload.get("path", ""))


def prefer_members(rows: Sequence[Row], ratio: float) -> list[Row]:
    """For a natural-language query, a member beats its container (a file, a class) when it
    scores at least `ratio` of the container: the specific answer is shown, not what holds it."""
    by_path: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_path.setdefault(path_of(row), []).append(i)
    out = list(rows)
    for members in by_path.values():
        if len(members) < 2:
            continue
        spans = {i: _lines(out[i][0]) for i in members}
        for i in members:
            cand, s, dense, lexical = out[i]
            lo, hi = spans[i]
            inner = max(
                (
                    out[j][1]
                    for j in members
                    if j != i and lo <= spans[j][0] and spans[j][1] <= hi and spans[j] != (lo, hi)
                ),
                default=None,
            )
            if inner is not None and inner >= ratio * s:
                out[i] = (cand, min(s, inner * 0.99), dense, lexical)
    return out


def _lines(cand: Candidate) -> tuple[int, int]:
    p = cand.payload
    return int(p.get("start_line", 0)), int(p.get("end_line", 0))


def saturate(rows: Sequence[Row], cfg: RankingConfig) -> list[Row]:
    """Decay each hit of a file after its first `per_file` ones, then re-sort (stable)."""
    seen: dict[str, int] = {}
    out: list[Row] = []
    for cand, s, dense, lexical in rows:
        path = path_of((cand, s, dense, lexical))
        n = seen.get(path, 0)
        seen[path] = n + 1
        if n >= cfg.per_file:
            s *= cfg.file_decay ** (n - cfg.per_file + 1)
        out.append((cand, s, dense, lexical))
    out.sort(key=lambda r: -r[1])
    return out


def file_scores(rows: Sequence[Row], decay: float) -> list[tuple[str, float, list[Row]]]:
    """Files by the saturating sum of their units' scores: best + d * second + d^2 * third ...

    One strong unit makes a file relevant; more good units add a little, never
    enough for a file of many weak mentions to beat the file that has the answer.
    """
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(path_of(row), []).append(row)
    ranked = []
    for path, members in groups.items():
        members.sort(key=lambda r: -r[1])
        total = sum(r[1] * decay**i for i, r in enumerate(members))
        ranked.append((path, total, members))
    ranked.sort(key=lambda t: (-t[1], t[0]))
    return ranked
