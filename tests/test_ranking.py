"""The ranking layer: each heuristic on small synthetic lists, then end to end on a
fixture repository with the real static model and the real embedded store."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from codesearch.config import load_settings
from codesearch.engine import Engine
from codesearch.search.ranking import RankingConfig, Row, analyse, path_classes, rank, rank_files, rescore
from codesearch.store.base import Candidate

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "ranking_repo"
CFG = RankingConfig()


def row(i: int, score: float, path: str, name: str = "", kind: str = "function", **extra: str) -> Row:
    payload = {"path": path, "name": name, "kind": kind, "symbol": name, "language": "go", **extra}
    return (Candidate(i, score, payload), score, score, None)


@pytest.mark.parametrize(
    ("query", "symbol", "names"),
    [
        ("Command", True, ("Command",)),
        ("parse_args", True, ("parse_args",)),
        ("HTTPError", True, ("HTTPError",)),
        ("cli.Command", True, ("cli.Command", "Command")),
        ("Foo::bar", True, ("Foo::bar", "bar")),
        ("getUser()", True, ("getUser",)),
        ("session", False, ()),
        ("how persistent flags are inherited", False, ()),
        ("where is parseDuration called", False, ("parseDuration",)),
    ],
)
def test_symbol_queries_are_told_from_natural_language(
    query: str, symbol: bool, names: tuple[str, ...]
) -> None:
    info = analyse(query)
    assert info.symbol is symbol
    assert info.names == names


def test_queries_that_ask_for_tests_docs_or_a_language_say_so() -> None:
    assert analyse("tests for the retry logic").asks == {"tests"}
    assert analyse("docs on configuring the cache").asks == {"docs"}
    assert analyse("contributor guide to the matching internals").asks == {"docs"}
    assert analyse("how to contribute a faq entry").asks == {"docs"}
    assert analyse("parse flags in go").languages == {"go"}
    assert analyse("go to the parent command").languages == frozenset()
    assert analyse("read a cargo manifest in rust").languages == {"rust"}


@pytest.mark.parametrize(
    ("path", "classes"),
    [
        ("src/retry.go", set()),
        ("src/retry_test.go", {"tests"}),
        ("tests/test_retry.py", {"tests"}),
        ("src/__tests__/retry.spec.ts", {"tests"}),
        ("src/test/java/org/RetryTest.java", {"tests"}),
        ("examples/upload/main.go", {"examples"}),
        ("benches/retry.rs", {"benchmarks"}),
        ("vendor/github.com/x/y.go", {"vendored"}),
        ("api/service.pb.go", {"generated"}),
        ("docs/retries.md", {"docs"}),
        ("README.md", {"docs"}),
        (".github/workflows/ci.yml", {"config"}),
        ("src/latest.go", set()),
        ("src/contest.py", set()),
    ],
)
def test_paths_are_classified(path: str, classes: set[str]) -> None:
    assert path_classes(path) == classes


def test_the_container_named_by_a_symbol_query_beats_its_members() -> None:
    rows = [
        row(1, 1.0, "command.go", "Execute", "method", parent="Command"),
        row(2, 0.9, "command.go", "Find", "method", parent="Command"),
        row(3, 0.5, "command.go", "Command", "struct"),
        row(4, 0.8, "util.go", "NewCommand", "function"),
    ]
    assert rescore("Command", rows, CFG)[0][0].id == 3


def test_a_constructor_named_like_its_class_does_not_beat_the_class() -> None:
    rows = [
        row(1, 0.9, "Command.java", "Command", "method", parent="Command"),
        row(2, 0.6, "Command.java", "Command", "class"),
    ]
    assert rescore("Command", rows, CFG)[0][0].id == 2


def test_a_qualified_query_prefers_the_definition_whose_qualified_name_agrees() -> None:
    rows = [
        row(1, 0.9, "a/run.py", "run", "function", symbol="Worker.run"),
        row(2, 0.8, "b/run.py", "run", "method", symbol="Server.run", parent="Server"),
    ]
    assert rescore("Server.run", rows, CFG)[0][0].id == 2


def test_tests_docs_and_vendored_code_are_pushed_below_the_implementation() -> None:
    for aux in ("retry_test.go", "docs/retries.md", "vendor/x/retry.go", "examples/retry.go"):
        rows = [row(1, 1.0, aux, "TestRetry"), row(2, 0.8, "retry.go", "Retry")]
        assert rescore("retry a failed upload", rows, CFG)[0][0].id == 2, aux


def test_a_query_that_asks_for_tests_gets_them() -> None:
    rows = [row(1, 1.0, "retry.go", "Retry"), row(2, 0.8, "retry_test.go", "TestRetry")]
    assert rescore("tests for retry", rows, CFG)[0][0].id == 2


def test_path_words_lift_the_file_whose_name_says_it() -> None:
    rows = [row(1, 1.0, "util.go", "helper"), row(2, 0.9, "backoff/retry.go", "next")]
    assert rescore("retry backoff", rows, CFG)[0][0].id == 2
    assert rescore("retry backoff", rows, RankingConfig(path_boost=0.0))[0][0].id == 1


def test_a_language_the_query_names_is_preferred() -> None:
    rows = [row(1, 1.0, "a.py", "parse", language="python"), row(2, 0.9, "a.go", "parse", language="go")]
    assert rescore("parse flags in go", rows, CFG)[0][0].id == 2
    assert rescore("parse flags", rows, CFG)[0][0].id == 1


def test_hits_of_one_file_beyond_the_cap_are_decayed() -> None:
    cfg = RankingConfig(per_file=2, file_decay=0.5, path_boost=0.0)
    rows = [row(i, 1.0 - i * 0.01, "big.go", f"f{i}") for i in range(4)] + [row(9, 0.9, "other.go", "g")]
    order = [r[0].id for r in rank("something", rows, cfg)]
    assert order[:3] == [0, 1, 9]


def test_files_are_ranked_by_a_saturating_sum() -> None:
    # One strong unit beats many weak mentions; two strong units beat one.
    rows = [row(1, 1.0, "answer.go", "A")] + [row(10 + i, 0.3, "mentions.go", f"m{i}") for i in range(8)]
    assert rank_files("x", rows, RankingConfig(path_boost=0.0))[0][0] == "answer.go"
    rows = [row(1, 1.0, "one.go", "A"), row(2, 0.95, "two.go", "B"), row(3, 0.9, "two.go", "C")]
    assert rank_files("x", rows, RankingConfig(path_boost=0.0))[0][0] == "two.go"


def test_off_keeps_the_fused_order() -> None:
    rows = [row(1, 1.0, "retry_test.go", "T"), row(2, 0.5, "retry.go", "Retry")]
    assert [r[0].id for r in rank("retry", rows, RankingConfig(enabled=False))] == [1, 2]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    root = tmp_path_factory.mktemp("ranking") / "repo"
    shutil.copytree(FIXTURE, root)
    cache = tmp_path_factory.mktemp("cache")
    settings = load_settings(root, {"model": "static", "cache_dir": str(cache)}, environ={})[0]
    eng = Engine.open(root, settings, write=True)
    eng.index()
    yield eng
    eng.close()


def test_the_struct_beats_its_methods_for_its_bare_name(engine: Engine) -> None:
    hits = engine.search("Command", k=5)
    assert (hits[0].symbol, hits[0].kind) == ("Command", "struct")


def test_the_implementation_beats_its_test_and_its_doc_page(engine: Engine) -> None:
    hits = engine.search("retry a failed upload with backoff", k=5)
    assert hits[0].symbol == "UploadWithRetry" and hits[0].path == "retry.go"
    files = [f.path for f in engine.search_files("retry a failed upload with backoff", k=3)]
    assert files[0] == "retry.go"
    assert set(files[1:]) <= {"retry_test.go", "docs/retries.md"}


def test_the_test_comes_first_when_the_query_asks_for_tests(engine: Engine) -> None:
    assert engine.search_files("tests for upload retry with backoff", k=3)[0].path == "retry_test.go"


def test_file_results_carry_their_best_units(engine: Engine) -> None:
    top = engine.search_files("Command", k=3)[0]
    assert top.path == "command.go"
    assert top.hits and top.hits[0].symbol == "Command"
    assert top.hits[0].to_json()["symbol"] == "Command"


def test_a_unit_whose_name_says_what_the_query_says_is_lifted() -> None:
    rows = [row(1, 1.0, "a.go", "helper"), row(2, 0.8, "a2.go", "uploadWithRetry")]
    assert rescore("retry the upload", rows, CFG)[0][0].id == 2
    assert rescore("retry the upload", rows, RankingConfig(name_boost=0.0, path_boost=0.0))[0][0].id == 1


def test_a_query_over_the_length_limit_is_a_one_line_error(engine: Engine) -> None:
    from codesearch.errors import ConfigError

    with pytest.raises(ConfigError, match="characters long; the limit is"):
        engine.search("x" * 100_000)
    with pytest.raises(ConfigError, match="characters long"):
        engine.search_files("retry " * 2000)
