"""Path priors: what kind of file a hit is in, and how far that kind is pushed down.

A query about behaviour wants the implementation, not its test, its example, its
benchmark, a vendored copy or the docs page about it. Each class of path has a
multiplier (the `ranking_*_prior` options); a query that asks for a class
("tests for the parser", "docs on configuration") lifts its prior.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import PurePosixPath

from codesearch.indexing.lexical import tokens

_TEST_DIR = re.compile(
    r"(?:^|/)(?:tests?|__tests__|__mocks__|specs?|testing|testdata|test-?utils|t)(?:/|$)", re.I
)
_TEST_FILE = re.compile(
    r"(?:^|/)(?:"
    r"test_[^/]*|[^/]*_tests?\.[a-z]+|conftest\.py"  # test_x.py, x_test.go, x_tests.rs
    r"|[^/]*[a-z0-9](?:Tests?|Spec|Suite|IT)\.[a-zA-Z]+"  # FooTest.java, FooSpec.scala
    r"|[^/]*_spec\.[a-z]+|[^/]*\.(?:test|spec)\.[a-z]+"  # foo_spec.rb, foo.test.ts
    r"|[^/]*_test\.exs"
    r")$"
)
_EXAMPLE_DIR = re.compile(
    r"(?:^|/)(?:_?examples?|samples?|demos?|docs?_src|cookbook|tutorials?)(?:/|$)", re.I
)
_BENCH = re.compile(
    r"(?:^|/)(?:benchmarks?|benches|bench|perf)(?:/|$)|(?:^|/)[^/]*_bench(?:mark)?\.[a-z]+$", re.I
)
_FIXTURE = re.compile(r"(?:^|/)(?:fixtures?|testdata|test-data|mocks?|stubs?)(?:/|$)", re.I)
_VENDOR = re.compile(
    r"(?:^|/)(?:vendor(?:ed)?|third[_-]?party|node_modules|external|extern|deps|_vendor|single_include|compat|_compat|legacy)(?:/|$)",
    re.I,
)
_GENERATED = re.compile(
    r"(?:\.pb\.go|_pb2\.py|_pb2_grpc\.py|\.generated\.[a-z]+|\.g\.dart|\.min\.js|\.d\.ts|\.designer\.cs)$"
    r"|(?:^|/)(?:dist|build|gen|generated|_generated)/",
    re.I,
)
_DOC_DIR = re.compile(r"(?:^|/)(?:docs?|documentation|man|site|website)(?:/|$)", re.I)
_DOC_FILE = re.compile(
    r"\.(?:md|markdown|mdx|rst|txt|adoc|asciidoc|org|texi|pod|rdoc)$|(?:^|/)(?:readme|changelog|changes|history|news|authors|contributing|license|copying)[^/]*$",
    re.I,
)
_CONFIG = re.compile(
    r"(?:^|/)\.(?:github|gitlab|circleci|buildkite|travis)[/.]|\.(?:ya?ml|toml|json|jsonc|ini|cfg|lock|xml|plist)$"
    r"|(?:^|/)(?:dockerfile|makefile|cmakelists\.txt|tox\.ini|setup\.cfg|\.[a-z]+rc)$",
    re.I,
)
#: Re-export barrels and package metadata: rarely the code a query is after.
_BARREL = frozenset({"__init__.py", "index.js", "index.ts", "index.mjs", "package-info.java"})

#: Path classes in the order they are tested; a path has every class that matches.
CLASSES = ("tests", "examples", "benchmarks", "fixtures", "vendored", "generated", "docs", "config")


@lru_cache(maxsize=1 << 16)
def path_classes(path: str) -> frozenset[str]:
    """The auxiliary classes a path belongs to (empty for ordinary source code)."""
    p = path.replace("\\", "/")
    found = set()
    if _TEST_DIR.search(p) or _TEST_FILE.search(p):
        found.add("tests")
    if _EXAMPLE_DIR.search(p):
        found.add("examples")
    if _BENCH.search(p):
        found.add("benchmarks")
    if _FIXTURE.search(p):
        found.add("fixtures")
    if _VENDOR.search(p):
        found.add("vendored")
    if _GENERATED.search(p):
        found.add("generated")
    if _DOC_FILE.search(p) or _DOC_DIR.search(p):
        found.add("docs")
    elif _CONFIG.search(p):
        found.add("config")
    return frozenset(found)


def is_barrel(path: str) -> bool:
    """A package's re-export file (`__init__.py`, `index.ts`, ...)."""
    return path.rpartition("/")[2] in _BARREL


@lru_cache(maxsize=1 << 16)
def path_words(path: str) -> frozenset[str]:
    """The words of a path's file name and its directories (stemmed, as lexical tokens)."""
    parts = PurePosixPath(path.replace("\\", "/")).parts
    stem = PurePosixPath(parts[-1]).stem if parts else ""
    return frozenset(tokens(" ".join([*parts[:-1], stem])))


@lru_cache(maxsize=1 << 16)
def file_words(path: str) -> frozenset[str]:
    """The words of a path's file name and its parent directory only."""
    pp = PurePosixPath(path.replace("\\", "/"))
    return frozenset(tokens(f"{pp.parent.name} {pp.stem}"))
