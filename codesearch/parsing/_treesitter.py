"""The only module that touches tree-sitter: grammars, queries, trees.

Grammars and their definition queries are loaded lazily, once per language.
Trees are turned into plain `RawDefinition` records here so that no
tree-sitter object leaves this module.
"""

from __future__ import annotations

import ctypes
import functools
import importlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources

from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

from codesearch.errors import ParseError
from codesearch.parsing._languages import SPECS, LanguageSpec

#: When two patterns match the same node, the most specific kind wins.
_KIND_PRIORITY = {
    "function": 0,
    "class": 1,
    "method": 2,
    "module": 2,
    "struct": 3,
    "interface": 3,
    "trait": 3,
    "impl": 3,
    "enum": 3,
}
_DEFINITION_PREFIX = "definition."
#: ERROR nodes with more children than this are queried child by child.
_WIDE_ERROR_CHILDREN = 500
_RUBY_INTERPOLATION_LIMIT = 150
_RUBY_HEREDOC = re.compile(rb"<<(?=[~-]?[A-Za-z_\"'`])")
#: Node types holding a definition's body, for grammars without a `body` field.
_BODY_TYPES = frozenset(
    {
        "class_body",
        "function_body",
        "enum_class_body",
        "template_body",
        "block",
        "body_statement",
        "compound_statement",
        "declaration_list",
        "statement_block",
        "field_declaration_list",
        "do_block",
        "script_block",
    }
)
#: Comment node types whose names do not say "comment".
_DOC_COMMENT_TYPES = frozenset({"haddock", "xml_doc"})


@dataclass(frozen=True, slots=True)
class RawDefinition:
    """One definition as found in the tree, before naming rules apply.

    Lines are 1-based and inclusive; byte offsets index the source bytes.
    """

    kind: str
    name: str
    receiver: str
    start_byte: int
    end_byte: int
    start_line: int
    end_line: int
    name_byte: int
    signature_start: int
    signature_end: int
    doc_ranges: tuple[tuple[int, int], ...]
    docstring: tuple[int, int] | None


@dataclass(frozen=True, slots=True)
class RawTree:
    """What one parse yields: definitions, top-level boundaries, error count."""

    definitions: list[RawDefinition]
    top_level_starts: list[int]
    syntax_errors: int
    #: The file's code tokens (`code_tokens`) from the same parse, when asked for.
    tokens: list[tuple[str, int, str]] | None = None


@dataclass(frozen=True, slots=True)
class _Grammar:
    language: Language
    query: Query
    spec: LanguageSpec


_load_lock = threading.Lock()


@functools.cache
def _grammar_unlocked(name: str) -> _Grammar:
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
    return _Grammar(language, query, spec)


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


def _grammar(name: str) -> _Grammar:
    with _load_lock:
        return _grammar_unlocked(name)


def parse(source: bytes, language: str, *, top_level: bool = False, tokens: bool = False) -> RawTree:
    """Parse `source` and collect its definitions.

    With `top_level`, also return where each top-level node starts (for
    splitting long files); with `tokens`, also its code tokens (`code_tokens`),
    from the same parse.
    """
    grammar = _grammar(language)
    root = _tree(grammar, source, language).root_node
    errors, wide = _scan_errors(root) if root.has_error else (0, [])
    definitions = _definitions(root, source, grammar, wide)
    starts = [child.start_byte for child in root.children] if top_level else []
    found = None
    if tokens:
        try:
            found = _tokens(root, source, grammar)
        except ParseError:  # left to fingerprint_units, which tokenizes again and reports the failure
            found = None
    return RawTree(definitions, starts, errors, found)


def _tree(grammar: _Grammar, source: bytes, language: str) -> Tree:
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


def _definitions(root: Node, source: bytes, grammar: _Grammar, wide: list[Node]) -> list[RawDefinition]:
    spec = grammar.spec
    wrappers = spec.wrappers
    found: dict[tuple[int, int], tuple[int, RawDefinition]] = {}
    for captures in _matches(root, grammar.query, wide):
        kind = ""
        node: Node | None = None
        for capture_name, nodes in captures.items():
            if capture_name.startswith(_DEFINITION_PREFIX):
                kind = capture_name[len(_DEFINITION_PREFIX) :]
                node = nodes[0]
        names = captures.get("name")
        if node is None or not names:
            continue
        name_node = names[0]
        name = _text(source, name_node).strip()
        if not name:
            continue
        priority = _KIND_PRIORITY.get(kind, 0)
        first, last = _with_siblings(_lift(node, wrappers), name, source, spec)
        key = (first.start_byte, last.end_byte)
        previous = found.get(key)
        if previous is not None and previous[0] >= priority:
            continue
        receivers = captures.get("receiver")
        receiver = _text(source, receivers[0]) if receivers else ""
        span = (first, last)
        found[key] = (priority, _raw(source, kind, name, receiver, node, span, name_node, spec))
    return [raw for _, raw in found.values()]


def _with_siblings(span: Node, name: str, source: bytes, spec: LanguageSpec) -> tuple[Node, Node]:
    """The first and last node of a definition: its span, grown over the siblings
    that belong to it (a type signature of the same name before, a body after)."""
    first = last = span
    if spec.leading_siblings:
        before = span.prev_named_sibling
        if before is not None and before.type in spec.leading_siblings:
            named = before.child_by_field_name("name")
            if named is not None and _text(source, named).strip() == name:
                first = before
    if spec.trailing_siblings:
        after = span.next_named_sibling
        if after is not None and after.type in spec.trailing_siblings:
            last = after
    return first, last


def _raw(
    source: bytes,
    kind: str,
    name: str,
    receiver: str,
    node: Node,
    span: tuple[Node, Node],
    name_node: Node,
    spec: LanguageSpec,
) -> RawDefinition:
    first, last = span
    start_row = first.start_point.row
    end_point = last.end_point
    end_line = end_point.row if end_point.column == 0 and end_point.row > start_row else end_point.row + 1
    body = _body(node)
    signature_start = node.start_byte
    signature_end = node.end_byte
    if first.end_byte <= node.start_byte:  # a leading sibling is the signature (Haskell)
        signature_start, signature_end = first.start_byte, first.end_byte
    elif spec.first_line_signature and body is None:
        newline = source.find(b"\n", name_node.end_byte, node.end_byte)
        signature_end = newline if newline >= 0 else node.end_byte
    elif body is not None and body.start_byte >= name_node.end_byte:
        signature_end = body.start_byte
        # A comment between the header and the body is not part of the header.
        before = body.prev_sibling
        while before is not None and "comment" in before.type and before.start_byte >= name_node.end_byte:
            signature_end = before.start_byte
            before = before.prev_sibling
    docstring = _docstring(body) if spec.docstrings and body is not None else None
    return RawDefinition(
        kind=kind,
        name=name,
        receiver=receiver,
        start_byte=first.start_byte,
        end_byte=last.end_byte,
        start_line=start_row + 1,
        end_line=end_line,
        name_byte=name_node.start_byte,
        signature_start=signature_start,
        signature_end=signature_end,
        doc_ranges=_comments_before(source, first) if docstring is None else (),
        docstring=docstring,
    )


def _lift(node: Node, wrappers: frozenset[str]) -> Node:
    """Grow a definition node into wrappers that hold nothing else like it."""
    if not wrappers:
        return node
    while True:
        parent = node.parent
        if parent is None or parent.type not in wrappers:
            return node
        kind = node.type
        if sum(1 for child in parent.named_children if child.type == kind) > 1:
            return node
        node = parent


def _body(node: Node) -> Node | None:
    """The body of a definition: its `body` field, or a body-like child.

    Looks one level down through a `type` or `value` field too
    (`type Server struct {...}`, `const f = () => {...}`).
    """
    body = node.child_by_field_name("body")
    if body is not None:
        return body
    for child in node.children:
        if child.type in _BODY_TYPES:
            return child
    for field in ("type", "value"):
        inner = node.child_by_field_name(field)
        if inner is not None:
            body = inner.child_by_field_name("body")
            if body is not None:
                return body
            for child in inner.children:
                if child.type in _BODY_TYPES or child.type == "{":
                    return child
    return None


def _docstring(body: Node) -> tuple[int, int] | None:
    """Python: the string that is the first statement of a body."""
    if body.named_child_count == 0:
        return None
    first = body.named_child(0)
    if first.type != "expression_statement" or first.named_child_count != 1:
        return None
    string = first.named_child(0)
    if string.type != "string":
        return None
    return (string.start_byte, string.end_byte)


def _comments_before(source: bytes, node: Node) -> tuple[tuple[int, int], ...]:
    """Byte ranges of the comment block right above a definition, in order.

    Stops at a blank line or at a comment that shares its line with code.
    Some grammars put a comment that opens a body before the body node, so
    a first statement looks one level up.
    """
    sibling = node.prev_sibling
    if sibling is None and node.parent is not None:
        sibling = node.parent.prev_sibling
    ranges: list[tuple[int, int]] = []
    next_row = node.start_point.row
    while sibling is not None:
        kind = sibling.type
        end = sibling.end_point
        # Some comment nodes (Rust line comments) end after their newline.
        end_row = end.row - 1 if end.column == 0 and end.row > sibling.start_point.row else end.row
        if end_row < next_row - 1:
            break
        if _is_comment(kind):
            if (sibling.start_point.column and _follows_code(sibling)) or _is_inner_doc(source, sibling):
                break
            ranges.append((sibling.start_byte, sibling.end_byte))
        elif kind != "attribute_item":
            break
        next_row = sibling.start_point.row
        sibling = sibling.prev_sibling
    ranges.reverse()
    return tuple(ranges)


def _is_comment(kind: str) -> bool:
    return "comment" in kind or kind in _DOC_COMMENT_TYPES


def _follows_code(comment: Node) -> bool:
    """Whether something other than whitespace precedes a comment on its line."""
    before = comment.prev_sibling
    return before is not None and before.end_point.row == comment.start_point.row


def _is_inner_doc(source: bytes, comment: Node) -> bool:
    """`//!` and `/*!` document the enclosing item, not the next one."""
    return (
        source[comment.start_byte + 2 : comment.start_byte + 3] == b"!"
        and source[comment.start_byte : comment.start_byte + 1] == b"/"
    )


def _matches(root: Node, query: Query, wide: list[Node]) -> Iterator[dict[str, list[Node]]]:
    """The query's matches under root, stepping around wide ERROR nodes.

    Tree-sitter's query cursor is quadratic in the number of children of an
    ERROR node, so such nodes are queried child by child; their ancestors
    are queried only for patterns that start at them.
    """
    cursor = QueryCursor(query)
    if not wide:
        for _, captures in cursor.matches(root):
            yield captures
        return
    wide_ids = {node.id for node in wide}
    ancestors: set[int] = set()
    for node in wide:
        parent = node.parent
        while parent is not None and parent.id not in ancestors:
            ancestors.add(parent.id)
            parent = parent.parent
    shallow = QueryCursor(query)
    shallow.set_max_start_depth(0)
    stack = [root]
    while stack:
        node = stack.pop()
        if node.id in wide_ids or node.id in ancestors:
            if node.id not in wide_ids:
                for _, captures in shallow.matches(node):
                    yield captures
            stack.extend(reversed(node.children))
        else:
            for _, captures in cursor.matches(node):
                yield captures


def _scan_errors(root: Node) -> tuple[int, list[Node]]:
    """Count ERROR and MISSING nodes and list the wide ERROR nodes.

    Only subtrees that contain errors are entered.
    """
    count = 0
    wide: list[Node] = []
    cursor = root.walk()
    while True:
        node = cursor.node
        if node is not None:
            if node.is_error or node.is_missing:
                count += 1
                if node.child_count > _WIDE_ERROR_CHILDREN:
                    wide.append(node)
            if node.has_error and cursor.goto_first_child():
                continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return count, wide


def _text(source: bytes, node: Node) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", "replace")


#: Token classes of `code_tokens`: identifiers, literals, everything else (keywords, operators).
IDENTIFIER = "id"
LITERAL = "lit"
OTHER = "tok"
_LITERAL_WORDS = ("string", "number", "integer", "float", "char", "rune", "literal", "heredoc", "regex")
_IDENTIFIER_TYPES = frozenset({"name", "constant", "variable_name", "simple_identifier", "word"})


def _token_class(kind: str, named: bool) -> str | None:
    """IDENTIFIER, LITERAL or OTHER for a token node's type; None for a comment (dropped)."""
    if _is_comment(kind):
        return None
    if not named:
        return OTHER
    if "identifier" in kind or kind in _IDENTIFIER_TYPES:
        return IDENTIFIER
    if any(word in kind for word in _LITERAL_WORDS) and "_type" not in kind:
        return LITERAL
    return OTHER


#: What the token walk needs of a node type: (is a whole-string token, is a comment, leaf class).
_KindFacts = tuple[bool, bool, str | None]


def _kind_facts(language: Language, kind_id: int) -> _KindFacts:
    kind = language.node_kind_for_id(kind_id) or ""
    named = language.node_kind_is_named(kind_id)
    is_string = named and ("string" in kind or "heredoc" in kind) and "_type" not in kind
    return is_string, _is_comment(kind), _token_class(kind, named)


def _is_bare_statement(node: Node) -> bool:
    parent = node.parent
    return parent is not None and parent.type == "expression_statement" and parent.named_child_count == 1


def code_tokens(source: bytes, language: str) -> list[tuple[str, int, str]]:
    """The tokens of a file in order, comments left out: (class, start byte, text).

    A string literal is one token however it is built (interpolations included);
    identifiers and literals are classed so that callers can abstract them.
    Raises ParseError when the grammar cannot be loaded or fails on the input.
    """
    grammar = _grammar(language)
    return _tokens(_tree(grammar, source, language).root_node, source, grammar)


#: _KindFacts of every node kind id, by grammar (a list indexed by kind id).
_facts: dict[int, list[_KindFacts]] = {}


def _kind_table(grammar: _Grammar) -> list[_KindFacts]:
    table = _facts.get(id(grammar))
    if table is None:
        language = grammar.language
        table = _facts[id(grammar)] = [_kind_facts(language, k) for k in range(language.node_kind_count)]
    return table


def _tokens(root: Node, source: bytes, grammar: _Grammar) -> list[tuple[str, int, str]]:
    out: list[tuple[str, int, str]] = []
    append = out.append
    table = _kind_table(grammar)
    kinds = len(table)
    # Byte offsets index the text directly when the file is ASCII (most are): no decode per token.
    ascii_text = source.decode("ascii") if source.isascii() else None
    cursor = root.walk()
    goto_first_child, goto_next_sibling, goto_parent = (
        cursor.goto_first_child,
        cursor.goto_next_sibling,
        cursor.goto_parent,
    )
    while True:
        node = cursor.node
        descend = False
        if node is not None:
            kind = node.kind_id
            # ERROR nodes' id (65535) lies past the grammar's kinds.
            is_string, comment, cls = table[kind] if kind < kinds else _kind_facts(grammar.language, kind)
            if is_string:
                if not _is_bare_statement(node):  # a docstring says no more than a comment
                    start, end = node.start_byte, node.end_byte
                    if end > start:
                        text = ascii_text[start:end] if ascii_text is not None else _text(source, node)
                        append((LITERAL, start, text))
            elif node.child_count == 0:
                start, end = node.start_byte, node.end_byte
                if cls is not None and end > start:
                    text = ascii_text[start:end] if ascii_text is not None else _text(source, node)
                    append((cls, start, text))
            else:
                descend = not comment
        if descend and goto_first_child():
            continue
        while not goto_next_sibling():
            if not goto_parent():
                return out
