"""tree-sitter grammars and trees: each language's grammar and definition query, loaded
lazily once per process, and the tree of a source (with the workarounds some grammars
need). With `_treesitter` (definitions) and `_tokens` (the token walk), the only modules
that touch tree-sitter.
"""

from __future__ import annotations

import ctypes
import functools
import importlib
import re
import threading
from dataclasses import dataclass
from importlib import resources

from tree_sitter import Language, Node, Parser, Query, Tree

from codesearch.errors import ParseError
from codesearch.parsing._languages import SPECS, LanguageSpec

_RUBY_INTERPOLATION_LIMIT = 150
_RUBY_HEREDOC = re.compile(rb"<<(?=[~-]?[A-Za-z_\"'`])")
#: Comment node types whose names do not say "comment".
_DOC_COMMENT_TYPES = frozenset({"haddock", "xml_doc"})


@dataclass(frozen=True, slots=True)
class Grammar:
    """A loaded grammar: its language, its compiled definition query and its spec."""

    language: Language
    query: Query
    spec: LanguageSpec


_load_lock = threading.Lock()


@functools.cache
def _grammar_unlocked(name: str) -> Grammar:
    spec = SPECS.get(name)
    if spec is None:
        raise ParseError(f"no grammar for language {name!r}")
    try:
        module = importlib.import_module(spec.module)
        language = Language(_capsule(getattr(module, spec.function)()))
    except Exception as exc:  # import errors, ABI mismatches
        raise ParseError(
            f"could not load the tree-sitter grammar for {name} ({spec.module}): {exc}; "
            f"reinstall it with `pip install {spec.module.replace('_', '-')}`"
        ) from exc
    package = resources.files("codesearch.parsing").joinpath("queries")
    source = "\n".join(
        package.joinpath(f"{query}.scm").read_text(encoding="utf-8") for query in spec.queries or (name,)
    )
    try:
        query = Query(language, source)
    except Exception as exc:
        raise ParseError(f"the definition query for {name} does not compile: {exc}") from exc
    return Grammar(language, query, spec)


def _capsule(pointer: object) -> object:
    """A grammar's language as the capsule py-tree-sitter wants.

    Some wheels (tree-sitter-perl 2.0.3, -solidity 1.2.13) still return the
    pointer as an int, which py-tree-sitter accepts with a DeprecationWarning.
    """
    if not isinstance(pointer, int):
        return pointer
    new = ctypes.pythonapi.PyCapsule_New
    new.restype = ctypes.py_object
    new.argtypes = (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p)
    return new(pointer, b"tree_sitter.Language", None)


def load_grammar(name: str) -> Grammar:
    """The grammar of a language, loaded and its query compiled once per process."""
    with _load_lock:
        return _grammar_unlocked(name)


def parse_tree(grammar: Grammar, source: bytes, language: str) -> Tree:
    """tree-sitter's tree of `source`; ParseError where tree-sitter fails (it raises ValueError,
    "Parsing failed", when its parser gives up, and for a grammar of another ABI version)."""
    try:
        return Parser(grammar.language).parse(_guard(source, language))
    except (ValueError, RuntimeError) as exc:
        raise ParseError(f"tree-sitter could not parse it as {language}: {exc}") from exc


def _guard(source: bytes, language: str) -> bytes:
    """Work around grammar crashes; the result has the same length.

    tree-sitter-ruby 0.23.1 overflows its state buffer (and can crash the
    process) when ~200 nested string literals meet an open heredoc. Nesting
    needs an interpolation per level, so only sources with that many `#{`
    are touched: their heredoc openers become `< `.
    """
    if language == "ruby" and source.count(b"#{") >= _RUBY_INTERPOLATION_LIMIT:
        return _RUBY_HEREDOC.sub(b"< ", source)
    return source


def is_comment(kind: str) -> bool:
    """Whether a node type is a comment (doc comments included)."""
    return "comment" in kind or kind in _DOC_COMMENT_TYPES


def node_text(source: bytes, node: Node) -> str:
    """A node's text (the source bytes it spans, decoded)."""
    return source[node.start_byte : node.end_byte].decode("utf-8", "replace")
