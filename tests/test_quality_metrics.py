"""The file-level set's metrics and split rule (benchmarks/quality/files), on hand-computed cases."""

from __future__ import annotations

import hashlib
import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest

FILES = Path(__file__).resolve().parent.parent / "benchmarks" / "quality" / "files"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"quality_files_{name}", FILES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


metrics = _load("_metrics")
repos = _load("_repos")


def test_ndcg_one_relevant_file_at_rank_three() -> None:
    # DCG = 1/log2(4) = 0.5; ideal (one relevant file first) = 1.
    assert metrics.ndcg_at_k(["a", "b", "c"], ["c"]) == pytest.approx(0.5)


def test_ndcg_two_relevant_files_first_and_third() -> None:
    # DCG = 1 + 1/log2(4) = 1.5; ideal = 1 + 1/log2(3).
    expected = 1.5 / (1 + 1 / math.log2(3))
    assert metrics.ndcg_at_k(["a", "x", "b", "y"], ["a", "b"]) == pytest.approx(expected)


def test_ndcg_ideal_is_capped_at_k_and_misses_score_zero() -> None:
    relevant = [f"f{i}" for i in range(12)]
    assert metrics.ndcg_at_k(relevant[:10], relevant) == pytest.approx(1.0)
    assert metrics.ndcg_at_k(["x", "y"], ["a"]) == 0.0
    # A relevant file at rank 11 is out of the top 10.
    assert metrics.ndcg_at_k([f"x{i}" for i in range(10)] + ["a"], ["a"]) == 0.0


def test_mrr_and_recall() -> None:
    ranked = ["x", "a", "y", "b"]
    assert metrics.mrr_at_k(ranked, ["a", "b"]) == pytest.approx(0.5)
    assert metrics.mrr_at_k(ranked, ["z"]) == 0.0
    assert metrics.recall_at_k(ranked, ["a", "b", "z"]) == pytest.approx(2 / 3)
    assert metrics.first_relevant_rank(ranked, ["b"]) == 4


def test_unit_hits_reduce_to_files_in_order_of_first_appearance() -> None:
    paths = ["./src/a.py", "src/b.py", "src/a.py", "src\\c.py", "src/d.py"]
    assert metrics.files_in_order(paths) == ["src/a.py", "src/b.py", "src/c.py", "src/d.py"]
    assert metrics.files_in_order(paths, k=2) == ["src/a.py", "src/b.py"]


def test_mean_scores() -> None:
    rows = [metrics.score(["a"], ["a"]), metrics.score(["x", "a"], ["a"])]
    mean = metrics.mean_scores(rows)
    assert mean["n"] == 2
    assert mean["mrr@10"] == pytest.approx(0.75)
    assert mean["ndcg@10"] == pytest.approx((1 + 1 / math.log2(3)) / 2)
    assert metrics.mean_scores([]) == {"n": 0}


def test_half_follows_the_sha1_of_the_name() -> None:
    for name in ("httpx", "regex", "express"):
        even = int(hashlib.sha1(name.encode()).hexdigest(), 16) % 2 == 0
        assert repos.half_of(name) == ("dev" if even else "test")
    assert {repos.half_of(n) for n in ("httpx", "regex")} == {"dev", "test"}


def test_every_repository_file_follows_the_format() -> None:
    loaded = repos.load_repos()
    assert loaded, "no repos/*.toml"
    for r in loaded:
        assert r.queries, r.name
        for q in r.queries:
            assert q.category in repos.CATEGORIES and q.relevant and q.text


def test_a_malformed_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "x"\nlanguage = "go"\nsource = "git"\npackage = "p"\nversion = "1"\n'
        '[[query]]\ntext = "q"\ncategory = "symbol"\nrelevant = ["a.go"]\n'
    )
    with pytest.raises(repos.SetError, match="source"):
        repos.parse_repo(bad)
    bad.write_text(
        'name = "x"\nlanguage = "go"\nsource = "npm"\npackage = "p"\nversion = "1"\n'
        '[[query]]\ntext = "q"\ncategory = "behaviour"\nrelevant = ["a.go"]\n'
    )
    with pytest.raises(repos.SetError, match="category"):
        repos.parse_repo(bad)
