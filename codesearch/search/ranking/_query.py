"""Query understanding: is it a symbol or natural language, and what does it ask for?

Pure functions of the query text, no I/O. `analyse("Command")` is a symbol
query naming `Command`; `analyse("tests for the retry logic")` is natural
language that asks for tests; `analyse("parse flags in go")` hints Go.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from codesearch.indexing.lexical import tokens

#: A bare identifier or a qualified name: `Command`, `parse_args`, `HTTPError`,
#: `getUser`, `_private`, `a.b.c`, `Foo::bar`, `self->x`, `Foo#bar`. A purely
#: lower-case single word ("session") reads as natural language.
_SYMBOL_QUERY = re.compile(
    r"^(?:"
    r"[A-Za-z_$][\w$]*(?:(?:::|\\|->|\.|#)[A-Za-z_$][\w$]*)+"  # qualified
    r"|_[\w$]*"  # leading underscore
    r"|[A-Za-z$][A-Za-z0-9$]*[A-Z_][\w$]*"  # an upper-case letter or underscore after the start
    r"|[A-Z][A-Za-z0-9]*"  # starts upper-case
    r")(?:\(\))?$"
)
_QUALIFIER = re.compile(r"::|\\|->|\.|#")
#: camelCase / PascalCase / snake_case identifiers inside a natural-language query.
_EMBEDDED_SYMBOL = re.compile(
    r"(?<![\w.])(?:[A-Z][a-z0-9]+[A-Z]\w*|[a-z][a-z0-9]*[A-Z]\w*|[a-z][a-z0-9]*_[a-z0-9_]+|[A-Z]{2,}[a-z]\w*)(?![\w])"
)
_WORD = re.compile(r"[a-z][a-z0-9+#]*")

#: Words that ask for a kind of path the priors otherwise push down.
_ASKS = {
    "tests": frozenset(
        "test tests tested testing spec specs unittest unittests pytest fixture fixtures".split()
    ),
    "docs": frozenset(
        "doc docs documentation documented readme guide guides tutorial tutorials changelog manual "
        "contributor contributors contributing hacking howto faq".split()
    ),
    "examples": frozenset("example examples sample samples demo demos".split()),
    "benchmarks": frozenset("benchmark benchmarks bench benches perf".split()),
    "config": frozenset("ci workflow workflows dockerfile github".split()),
}

#: A query asks for tests when it is about them, not when it mentions them in passing.
_ASKS_TESTS = re.compile(
    r"^\W*(?:unit |integration |end.to.end |e2e )?(?:tests?|specs?|testing)\b"
    r"|\b(?:tests?|specs?|test cases?|test suite)\s+(?:for|of|on|covering|that|which|checking|exercising)\b"
    r"|\b(?:tested|unit tests?|test fixtures?|fixtures?|mocks?)\b",
    re.I,
)

#: Query words that name a language (as people type them).
_LANGUAGE_WORDS = {
    "python": "python", "py": "python",
    "golang": "go", ".go": "go",
    "rust": "rust", ".rs": "rust",
    "typescript": "typescript", "ts": "typescript", ".ts": "typescript", "tsx": "tsx",
    "javascript": "javascript", "js": "javascript", ".js": "javascript",
    "java": "java", "kotlin": "kotlin", "scala": "scala", "ruby": "ruby", ".rb": "ruby",
    "php": "php", "c++": "cpp", "cpp": "cpp", "c#": "c_sharp", "csharp": "c_sharp",
    "elixir": "elixir", "haskell": "haskell", "lua": "lua", "swift": "swift", "bash": "bash",
    "shell": "bash", "zig": "zig", "dart": "dart", "ocaml": "ocaml", "perl": "perl", "julia": "julia",
}  # fmt: skip
#: "go" alone is a verb far more often than a language: only these forms count.
_GO_LANGUAGE = re.compile(
    r"\b(?:in|with|for|using|of)\s+go\b|\bgo\s+(?:code|files?|package|module|struct|func)", re.I
)


@dataclass(frozen=True, slots=True)
class QueryInfo:
    """What the ranking layer needs to know about a query."""

    text: str
    #: True for a bare identifier or qualified name.
    symbol: bool
    #: Names a definition should have to be what the query asks for: for
    #: `a.b.Command` these are `a.b.Command` and `Command`; for natural language,
    #: the identifiers written in it (`parseDuration` in "where is parseDuration").
    names: tuple[str, ...]
    #: Lower-cased, stemmed content words (for matching paths).
    words: frozenset[str]
    #: Kinds of paths the query asks for: "tests", "docs", "examples", "benchmarks", "config".
    asks: frozenset[str]
    #: Languages the query names.
    languages: frozenset[str]


@lru_cache(maxsize=512)
def analyse(query: str) -> QueryInfo:
    """Read a query once: its type, the names it asks for, its words and hints."""
    text = query.strip()
    bare = text[:-2] if text.endswith("()") else text
    symbol = _SYMBOL_QUERY.match(text) is not None
    if symbol:
        last = _QUALIFIER.split(bare)[-1]
        names: tuple[str, ...] = tuple(dict.fromkeys((bare, last)))
    else:
        names = tuple(dict.fromkeys(_EMBEDDED_SYMBOL.findall(text)))
    raw_words = set(_WORD.findall(text.lower()))
    asks = {kind for kind, words in _ASKS.items() if raw_words & words}
    if "tests" in asks and not _ASKS_TESTS.search(text):
        asks.discard("tests")  # "a shell that lets tests capture output" is about the shell
    languages = {_LANGUAGE_WORDS[w] for w in raw_words | set(text.lower().split()) if w in _LANGUAGE_WORDS}
    if _GO_LANGUAGE.search(text):
        languages.add("go")
    if symbol:
        # A symbol query names no language and asks for no kind of path.
        asks, languages = set(), set()
    return QueryInfo(
        text=text,
        symbol=symbol,
        names=names,
        words=frozenset(tokens(text)),
        asks=frozenset(asks),
        languages=frozenset(languages),
    )
