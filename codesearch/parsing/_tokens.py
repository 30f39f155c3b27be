"""The code tokens of a file, comments left out (for duplicate fingerprints): one walk
over the tree's leaves, each classed as an identifier, a literal or other.
"""

from __future__ import annotations

from tree_sitter import Language, Node

from codesearch.parsing._grammars import Grammar, is_comment, load_grammar, node_text, parse_tree

#: Token classes of `code_tokens`: identifiers, literals, everything else (keywords, operators).
IDENTIFIER = "id"
LITERAL = "lit"
OTHER = "tok"
_LITERAL_WORDS = ("string", "number", "integer", "float", "char", "rune", "literal", "heredoc", "regex")
_IDENTIFIER_TYPES = frozenset({"name", "constant", "variable_name", "simple_identifier", "word"})


def _token_class(kind: str, named: bool) -> str | None:
    """IDENTIFIER, LITERAL or OTHER for a token node's type; None for a comment (dropped)."""
    if is_comment(kind):
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
    return is_string, is_comment(kind), _token_class(kind, named)


def _is_bare_statement(node: Node) -> bool:
    parent = node.parent
    return parent is not None and parent.type == "expression_statement" and parent.named_child_count == 1


def code_tokens(source: bytes, language: str) -> list[tuple[str, int, str]]:
    """The tokens of a file in order, comments left out: (class, start byte, text).

    A string literal is one token however it is built (interpolations included);
    identifiers and literals are classed so that callers can abstract them.
    Raises ParseError when the grammar cannot be loaded or fails on the input.
    """
    grammar = load_grammar(language)
    return tree_tokens(parse_tree(grammar, source, language).root_node, source, grammar)


#: _KindFacts of every node kind id, by grammar (a list indexed by kind id).
_facts: dict[int, list[_KindFacts]] = {}


def _kind_table(grammar: Grammar) -> list[_KindFacts]:
    table = _facts.get(id(grammar))
    if table is None:
        language = grammar.language
        table = _facts[id(grammar)] = [_kind_facts(language, k) for k in range(language.node_kind_count)]
    return table


def tree_tokens(root: Node, source: bytes, grammar: Grammar) -> list[tuple[str, int, str]]:
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
            if is_string and _is_bare_statement(node):
                pass  # a docstring (or a bare string statement) says no more than a comment
            elif is_string or node.child_count == 0:
                if is_string:
                    cls = LITERAL
                start, end = node.start_byte, node.end_byte
                if cls is not None and end > start:
                    text = ascii_text[start:end] if ascii_text is not None else node_text(source, node)
                    append((cls, start, text))
            else:
                descend = not comment
        if descend and goto_first_child():
            continue
        while not goto_next_sibling():
            if not goto_parent():
                return out
