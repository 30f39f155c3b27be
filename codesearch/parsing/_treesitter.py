"""Definitions in a tree: the definition query's matches turned into plain
`RawDefinition` records (names, receivers, signatures, doc comments and docstrings),
so that no tree-sitter object leaves the parsing package. Grammars and trees come from
`_grammars`, the token walk from `_tokens`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node, Query, QueryCursor

from codesearch.errors import ParseError
from codesearch.parsing._grammars import Grammar, is_comment, load_grammar, node_text, parse_tree
from codesearch.parsing._languages import LanguageSpec
from codesearch.parsing._tokens import tree_tokens

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


def parse(source: bytes, language: str, *, top_level: bool = False, tokens: bool = False) -> RawTree:
    """Parse `source` and collect its definitions.

    With `top_level`, also return where each top-level node starts (for
    splitting long files); with `tokens`, also its code tokens (`code_tokens`),
    from the same parse.
    """
    grammar = load_grammar(language)
    root = parse_tree(grammar, source, language).root_node
    errors, wide = _scan_errors(root) if root.has_error else (0, [])
    definitions = _definitions(root, source, grammar, wide)
    starts = [child.start_byte for child in root.children] if top_level else []
    found = None
    if tokens:
        try:
            found = tree_tokens(root, source, grammar)
        except ParseError:  # left to fingerprint_units, which tokenizes again and reports the failure
            found = None
    return RawTree(definitions, starts, errors, found)


def _definitions(root: Node, source: bytes, grammar: Grammar, wide: list[Node]) -> list[RawDefinition]:
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
        name = node_text(source, name_node).strip()
        if not name:
            continue
        priority = _KIND_PRIORITY.get(kind, 0)
        first, last = _with_siblings(_lift(node, wrappers), name, source, spec)
        key = (first.start_byte, last.end_byte)
        previous = found.get(key)
        if previous is not None and previous[0] >= priority:
            continue
        receivers = captures.get("receiver")
        receiver = node_text(source, receivers[0]) if receivers else ""
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
            if named is not None and node_text(source, named).strip() == name:
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
        if is_comment(kind):
            if (sibling.start_point.column and _follows_code(sibling)) or _is_inner_doc(source, sibling):
                break
            ranges.append((sibling.start_byte, sibling.end_byte))
        elif kind != "attribute_item":
            break
        next_row = sibling.start_point.row
        sibling = sibling.prev_sibling
    ranges.reverse()
    return tuple(ranges)


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
