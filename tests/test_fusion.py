"""Fusion of dense and lexical rankings (pure logic)."""

from __future__ import annotations

from codesearch.models import SearchHit
from codesearch.search.fusion import drop_shadowed_containers, fuse, match_paths, merge_ranked
from codesearch.store.base import Candidate


def _c(i: int, score: float) -> Candidate:
    return Candidate(i, score, {"path": f"f{i}.py"})


def test_hybrid_prefers_candidates_found_by_both() -> None:
    dense = [_c(1, 0.9), _c(2, 0.8), _c(3, 0.7)]
    lexical = [_c(3, 9.0), _c(4, 5.0)]
    ranked = fuse(dense, lexical, mode="hybrid", dense_weight=0.5, rrf_k=60)
    assert ranked[0][0].id == 3
    assert ranked[0][2] == 0.7 and ranked[0][3] == 9.0


def test_dense_weight_moves_the_balance() -> None:
    dense = [_c(1, 0.9)]
    lexical = [_c(2, 9.0)]
    assert fuse(dense, lexical, mode="hybrid", dense_weight=0.8, rrf_k=60)[0][0].id == 1
    assert fuse(dense, lexical, mode="hybrid", dense_weight=0.2, rrf_k=60)[0][0].id == 2


def test_single_modes_keep_their_order() -> None:
    dense = [_c(1, 0.9), _c(2, 0.5)]
    lexical = [_c(2, 3.0)]
    assert [r[0].id for r in fuse(dense, lexical, mode="dense", dense_weight=0.5, rrf_k=60)] == [1, 2]
    assert [r[0].id for r in fuse(dense, lexical, mode="lexical", dense_weight=0.5, rrf_k=60)] == [2]


def test_path_globs() -> None:
    paths = ["src/a.py", "src/deep/b.go", "web/c.js", "README.md"]
    assert match_paths(["src/**"], paths) == ["src/a.py", "src/deep/b.go"]
    assert match_paths(["*.go"], paths) == ["src/deep/b.go"]
    assert match_paths(["web/", "README.md"], paths) == ["web/c.js", "README.md"]


def _hit(path: str, start: int, end: int, kind: str) -> SearchHit:
    return SearchHit(path, start, end, f"{kind}@{start}", kind, "python", 1.0)


def test_containers_ranked_below_their_own_member_are_dropped() -> None:
    method = _hit("a.py", 10, 20, "method")
    cls = _hit("a.py", 5, 40, "class")
    file = _hit("a.py", 1, 90, "file")
    other = _hit("b.py", 1, 9, "file")
    assert drop_shadowed_containers([method, cls, other, file]) == [method, other]
    # A container ranked above its member stays, and so does the member.
    assert drop_shadowed_containers([cls, method]) == [cls, method]


def test_a_second_hit_with_the_same_path_and_lines_is_dropped() -> None:
    # A file that is one function: its file unit and the function cover the same lines.
    function = _hit("one.py", 1, 12, "function")
    file = _hit("one.py", 1, 12, "file")
    assert drop_shadowed_containers([function, file]) == [function]
    assert drop_shadowed_containers([file, function, _hit("two.py", 1, 12, "file")], limit=2) == [
        file,
        _hit("two.py", 1, 12, "file"),
    ]


def test_score_fusion_weighs_normalised_scores() -> None:
    dense = [_c(1, 0.90), _c(2, 0.89), _c(3, 0.50)]
    lexical = [_c(2, 10.0), _c(4, 9.0), _c(1, 1.0)]
    ranked = fuse(dense, lexical, mode="hybrid", dense_weight=0.5, rrf_k=60, fusion="score")
    scores = {r[0].id: round(r[1], 3) for r in ranked}
    # 2: 0.5 * (0.39 / 0.40) + 0.5 * 1.0; 1: 0.5 * 1.0 + 0.5 * 0.0; 4: 0.5 * (8 / 9)
    assert [r[0].id for r in ranked] == [2, 1, 4, 3]
    assert scores[2] == 0.988 and scores[1] == 0.5 and scores[3] == 0.0


def test_merge_ranked_interleaves_indexes_by_their_own_order() -> None:
    """Two folders' lists: each normalises its scores over its own candidates, so a folder of
    weak matches (b) scores as high as one of strong matches (a); the merge goes by rank."""
    a = [("a1", 0.9), ("a2", 0.8), ("a3", 0.7)]
    b = [("b1", 1.0), ("b2", 0.95), ("b3", 0.94), ("b4", 0.93)]
    merged = merge_ranked([a, b], lambda item: item[1])
    assert [name for name, _ in merged] == ["b1", "a1", "b2", "a2", "b3", "a3", "b4"]
    # Same rank and score: the first list's first; one list alone keeps its order.
    assert merge_ranked([[("x", 0.5)], [("y", 0.5)]], lambda item: item[1]) == [("x", 0.5), ("y", 0.5)]
    assert merge_ranked([b], lambda item: item[1]) == b
    assert merge_ranked([], lambda item: 0.0) == []
