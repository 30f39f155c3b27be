"""Find functions and their doc comments with tree-sitter, and strip the docs.

Used by build_set.py. One analyzer per language returns the functions of a
parsed file (name, qualified name, lines, doc text) and the byte spans of every
doc comment / docstring, which `apply_strip` removes. The module does not use
`codesearch.parsing`, so the evaluation set does not move when the product's
parser changes.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

import tree_sitter
import tree_sitter_go
import tree_sitter_java
import tree_sitter_javascript
import tree_sitter_python
import tree_sitter_rust
import tree_sitter_typescript

_GRAMMARS = {
    "python": tree_sitter_python.language,
    "javascript": tree_sitter_javascript.language,
    "typescript": tree_sitter_typescript.language_typescript,
    "go": tree_sitter_go.language,
    "java": tree_sitter_java.language,
    "rust": tree_sitter_rust.language,
}
_PARSERS: dict[str, tree_sitter.Parser] = {}


def parser_for(lang: str) -> tree_sitter.Parser:
    """A cached tree-sitter parser for one of the set's languages."""
    if lang not in _PARSERS:
        _PARSERS[lang] = tree_sitter.Parser(tree_sitter.Language(_GRAMMARS[lang]()))
    return _PARSERS[lang]


@dataclass
class Func:
    """A function found in one parse of a file."""

    name: str
    qualified_name: str
    kind: str  # "function" | "method"
    start_line: int  # 1-based, of the whole definition (decorators / export included)
    def_line: int  # 1-based, of the definition keyword itself
    end_line: int
    nested: bool  # defined inside another function's body
    doc: str = ""  # raw doc text with comment markers removed
    in_test: bool = False  # a test function inside a source file (Rust `#[test]`, `mod tests`)


@dataclass
class Analysis:
    funcs: list[Func]
    strip: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, replacement)
    has_error: bool = False


def text_of(node: tree_sitter.Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


def has_func_ancestor(node: tree_sitter.Node, func_types: set[str], stop: set[str]) -> bool:
    p = node.parent
    while p is not None:
        if p.type in func_types:
            return True
        if p.type in stop:
            return False
        p = p.parent
    return False


# Python ---------------------------------------------------------------------------


def _py_docstring(block: tree_sitter.Node | None) -> tree_sitter.Node | None:
    if block is None:
        return None
    stmts = [c for c in block.named_children if c.type != "comment"]
    if not stmts or stmts[0].type != "expression_statement":
        return None
    expr = stmts[0].named_children
    if len(expr) == 1 and expr[0].type in ("string", "concatenated_string"):
        return stmts[0]
    return None


def _py_only_statement(block: tree_sitter.Node, stmt: tree_sitter.Node) -> bool:
    return [c for c in block.named_children if c.type != "comment"] == [stmt]


def analyze_python(root: tree_sitter.Node) -> Analysis:
    an = Analysis(funcs=[], has_error=root.has_error)

    def add_strip(block: tree_sitter.Node, is_module: bool) -> str:
        ds = _py_docstring(block)
        if ds is None:
            return ""
        try:
            value = ast.literal_eval(text_of(ds))
        except (ValueError, SyntaxError):
            value = ""
        repl = "" if is_module or not _py_only_statement(block, ds) else "pass"
        an.strip.append((ds.start_byte, ds.end_byte, repl))
        return value if isinstance(value, str) else ""

    add_strip(root, is_module=True)

    def walk(node: tree_sitter.Node, scope: list[str], in_func: bool, in_class: bool) -> None:
        for child in node.named_children:
            target = child
            if child.type == "decorated_definition":
                target = child.child_by_field_name("definition") or child
            if target.type == "function_definition":
                name = text_of(target.child_by_field_name("name"))
                body = target.child_by_field_name("body")
                doc = add_strip(body, is_module=False) if body is not None else ""
                an.funcs.append(
                    Func(
                        name=name,
                        qualified_name=".".join([*scope, name]),
                        kind="method" if in_class and not in_func else "function",
                        start_line=child.start_point[0] + 1,
                        def_line=target.start_point[0] + 1,
                        end_line=target.end_point[0] + 1,
                        nested=in_func,
                        doc=doc,
                    )
                )
                if body is not None:
                    walk(body, [*scope, name], True, False)
            elif target.type == "class_definition":
                name = text_of(target.child_by_field_name("name"))
                body = target.child_by_field_name("body")
                if body is not None:
                    add_strip(body, is_module=False)
                    walk(body, [*scope, name], in_func, True)
            else:
                walk(child, scope, in_func, in_class)

    walk(root, [], False, False)
    return an


# JavaScript / Java (/** ... */ doc comments) -----------------------------------------

_JS_FUNC_VALUES = {
    "function_expression",
    "function",
    "arrow_function",
    "generator_function",
}
_JS_FUNC_TYPES = {
    "function_declaration",
    "generator_function_declaration",
    "method_definition",
    *_JS_FUNC_VALUES,
}


def _prev_doc_comment(anchor: tree_sitter.Node) -> tree_sitter.Node | None:
    prev = anchor.prev_named_sibling
    if (
        prev is not None
        and prev.type in ("comment", "block_comment")
        and text_of(prev).startswith("/**")
        and prev.end_point[0] >= anchor.start_point[0] - 1
    ):
        return prev
    return None


_TS_SIGNATURES = {"function_signature", "method_signature", "abstract_method_signature"}


def _overload_doc(anchor: tree_sitter.Node, name: str) -> tree_sitter.Node | None:
    """TypeScript: the doc of an implementation's overload signatures, nearest first.

    `/** doc */ function f(a: A): R; function f(a: any) {...}`: the doc sits above
    the first signature, and describes the implementation below them.
    """
    prev = anchor.prev_named_sibling
    while prev is not None:
        decl = prev.named_children[0] if prev.type == "export_statement" and prev.named_children else prev
        if prev.type == "comment":
            prev = prev.prev_named_sibling
            continue
        if decl.type not in _TS_SIGNATURES or text_of(decl.child_by_field_name("name")) != name:
            return None
        doc = _prev_doc_comment(prev)
        if doc is not None and jsdoc_text(text_of(doc)):
            return doc
        prev = prev.prev_named_sibling
    return None


def _decorated_start(node: tree_sitter.Node) -> tree_sitter.Node:
    """The first of the decorators right before a class member (TypeScript), else the member."""
    first = node
    prev = node.prev_named_sibling
    while prev is not None and prev.type == "decorator":
        first = prev
        prev = prev.prev_named_sibling
    return first


def jsdoc_text(comment: str) -> str:
    """The description part of a /** ... */ comment (up to the first @tag)."""
    body = comment[3:-2] if comment.endswith("*/") else comment[3:]
    lines = []
    for line in body.splitlines():
        line = re.sub(r"^\s*\*? ?", "", line)
        if line.lstrip().startswith("@"):
            break
        lines.append(line)
    return "\n".join(lines).strip()


def analyze_javascript(root: tree_sitter.Node) -> Analysis:
    an = Analysis(funcs=[], has_error=root.has_error)

    def visit(node: tree_sitter.Node, scope: list[str]) -> None:
        t = node.type
        if t == "comment" and text_of(node).startswith("/**") and text_of(node) != "/**/":
            an.strip.append((node.start_byte, node.end_byte, ""))
        # (name, qualified name, node the doc comment sits above, function node, kind)
        func: tuple[str, str, tree_sitter.Node | None, tree_sitter.Node, str] | None = None
        anchor: tree_sitter.Node | None
        if t in ("function_declaration", "generator_function_declaration"):
            name = text_of(node.child_by_field_name("name"))
            anchor = node.parent if node.parent and node.parent.type == "export_statement" else node
            func = (name, ".".join([*scope, name]), anchor, node, "function")
        elif t == "method_definition":
            name = text_of(node.child_by_field_name("name"))
            func = (name, ".".join([*scope, name]), _decorated_start(node), node, "method")
        elif t in ("field_definition", "public_field_definition"):
            # `foo = () => {...}` in a class body (JavaScript: property, TypeScript: name)
            value = node.child_by_field_name("value")
            key = node.child_by_field_name("property") or node.child_by_field_name("name")
            if value is not None and value.type in _JS_FUNC_VALUES and key is not None:
                name = text_of(key)
                func = (name, ".".join([*scope, name]), _decorated_start(node), value, "method")
        elif t == "variable_declarator":
            value = node.child_by_field_name("value")
            if value is not None and value.type in _JS_FUNC_VALUES:
                name = text_of(node.child_by_field_name("name"))
                anchor = node.parent
                if anchor is not None and anchor.parent and anchor.parent.type == "export_statement":
                    anchor = anchor.parent
                func = (name, ".".join([*scope, name]), anchor, value, "function")
        elif t == "assignment_expression":
            value = node.child_by_field_name("right")
            parent = node.parent
            if (
                value is not None
                and value.type in _JS_FUNC_VALUES
                and parent is not None
                and parent.type == "expression_statement"
            ):
                left = text_of(node.child_by_field_name("left"))
                name = left.rsplit(".", 1)[-1]
                kind = "method" if "." in left else "function"
                func = (name, left, parent, value, kind)
        elif t == "pair":
            value = node.child_by_field_name("value")
            if value is not None and value.type in _JS_FUNC_VALUES:
                name = text_of(node.child_by_field_name("key")).strip("'\"")
                func = (name, ".".join([*scope, name]), node, value, "method")
        new_scope = scope
        if func is not None:
            name, qual, where, _def_node, kind = func
            anchor = where or node
            doc_node = _prev_doc_comment(anchor)
            if doc_node is None or not jsdoc_text(text_of(doc_node)):
                doc_node = _overload_doc(anchor, name) or doc_node
            an.funcs.append(
                Func(
                    name=name,
                    qualified_name=qual,
                    kind=kind,
                    start_line=anchor.start_point[0] + 1,
                    def_line=node.start_point[0] + 1,
                    end_line=max(anchor.end_point[0], node.end_point[0]) + 1,
                    nested=has_func_ancestor(node, _JS_FUNC_TYPES, {"class_body"})
                    and t not in ("method_definition", "field_definition", "public_field_definition"),
                    doc=jsdoc_text(text_of(doc_node)) if doc_node is not None else "",
                )
            )
        elif t in ("class_declaration", "class", "abstract_class_declaration"):
            name_node = node.child_by_field_name("name")
            if name_node is not None:
                new_scope = [*scope, text_of(name_node)]
        for child in node.named_children:
            visit(child, new_scope)

    visit(root, [])
    return an


_JAVA_FUNC_TYPES = {"method_declaration", "constructor_declaration"}
_JAVA_TYPE_DECLS = {
    "class_declaration",
    "interface_declaration",
    "enum_declaration",
    "record_declaration",
    "annotation_type_declaration",
}


def analyze_java(root: tree_sitter.Node) -> Analysis:
    an = Analysis(funcs=[], has_error=root.has_error)

    def visit(node: tree_sitter.Node, scope: list[str]) -> None:
        t = node.type
        if t == "block_comment" and text_of(node).startswith("/**") and text_of(node) != "/**/":
            an.strip.append((node.start_byte, node.end_byte, ""))
        new_scope = scope
        if t in _JAVA_FUNC_TYPES:
            name = text_of(node.child_by_field_name("name"))
            doc_node = _prev_doc_comment(node)
            an.funcs.append(
                Func(
                    name=name,
                    qualified_name=".".join([*scope, name]),
                    kind="method",
                    start_line=node.start_point[0] + 1,
                    def_line=(node.child_by_field_name("name") or node).start_point[0] + 1,
                    end_line=node.end_point[0] + 1,
                    nested=has_func_ancestor(node, _JAVA_FUNC_TYPES | {"lambda_expression"}, set()),
                    doc=jsdoc_text(text_of(doc_node)) if doc_node is not None else "",
                )
            )
        elif t in _JAVA_TYPE_DECLS:
            new_scope = [*scope, text_of(node.child_by_field_name("name"))]
        for child in node.named_children:
            visit(child, new_scope)

    visit(root, [])
    return an


# Go -------------------------------------------------------------------------------

_GO_DECLS = {
    "function_declaration",
    "method_declaration",
    "type_declaration",
    "var_declaration",
    "const_declaration",
    "package_clause",
}
_GO_DIRECTIVE = re.compile(r"^//(go:|line |export |extern |#cgo)")


def _go_receiver_type(node: tree_sitter.Node) -> str:
    recv = node.child_by_field_name("receiver")
    text = text_of(recv) if recv is not None else ""
    m = re.search(r"\*?\s*([A-Za-z_][A-Za-z0-9_]*)\s*(\[[^\]]*\])?\s*\)\s*$", text)
    return m.group(1) if m else ""


def analyze_go(root: tree_sitter.Node) -> Analysis:
    an = Analysis(funcs=[], has_error=root.has_error)
    children = root.children
    for i, node in enumerate(children):
        if node.type not in _GO_DECLS:
            continue
        # The doc comment: the comments right above the declaration, line by line.
        group: list[tree_sitter.Node] = []
        line = node.start_point[0]
        j = i - 1
        while j >= 0 and children[j].type == "comment" and children[j].end_point[0] == line - 1:
            group.insert(0, children[j])
            line = children[j].start_point[0]
            j -= 1
        doc_lines = []
        for c in group:
            text = text_of(c)
            if _GO_DIRECTIVE.match(text):
                continue
            an.strip.append((c.start_byte, c.end_byte, ""))
            if text.startswith("//"):
                doc_lines.append(text[3:] if text.startswith("// ") else text[2:])
            else:
                doc_lines.extend(re.sub(r"^\s*\*? ?", "", ln) for ln in text[2:-2].splitlines())
        if node.type in ("function_declaration", "method_declaration"):
            name = text_of(node.child_by_field_name("name"))
            recv = _go_receiver_type(node) if node.type == "method_declaration" else ""
            an.funcs.append(
                Func(
                    name=name,
                    qualified_name=f"{recv}.{name}" if recv else name,
                    kind="method" if recv else "function",
                    start_line=node.start_point[0] + 1,
                    def_line=node.start_point[0] + 1,
                    end_line=node.end_point[0] + 1,
                    nested=False,
                    doc="\n".join(doc_lines).strip(),
                )
            )
    return an


# Rust -----------------------------------------------------------------------------

_RUST_SCOPES = {"impl_item", "trait_item", "mod_item"}


def _rust_doc_comment(node: tree_sitter.Node) -> bool:
    text = text_of(node)
    if node.type == "line_comment":
        return (text.startswith("///") and not text.startswith("////")) or text.startswith("//!")
    if node.type == "block_comment":
        return (text.startswith("/**") and not text.startswith(("/***", "/**/"))) or text.startswith("/*!")
    return False


def _rust_outer_doc(node: tree_sitter.Node) -> bool:
    return _rust_doc_comment(node) and not text_of(node).startswith(("//!", "/*!"))


def _rust_doc_text(comments: list[tree_sitter.Node]) -> str:
    lines: list[str] = []
    for c in comments:
        text = text_of(c).rstrip("\n")
        if c.type == "line_comment":
            body = text[3:]
            lines.append(body[1:] if body.startswith(" ") else body)
        else:
            lines.extend(re.sub(r"^\s*\*? ?", "", ln) for ln in text[3:-2].splitlines())
    return "\n".join(lines).strip()


def _rust_scope_name(node: tree_sitter.Node) -> str:
    if node.type == "impl_item":
        typ = node.child_by_field_name("type")
        while typ is not None and typ.type in ("generic_type", "scoped_type_identifier"):
            typ = typ.child_by_field_name("type") or typ.child_by_field_name("name")
        return text_of(typ)
    return text_of(node.child_by_field_name("name"))


def _rust_is_test_attr(attr: tree_sitter.Node) -> bool:
    text = re.sub(r"\s+", "", text_of(attr))
    return text in ("#[test]", "#[cfg(test)]") or text.endswith("::test]") or "bench]" in text


def analyze_rust(root: tree_sitter.Node) -> Analysis:
    """Functions of a Rust file; docs are `///` / `/** */` comments (attributes may sit between)."""
    an = Analysis(funcs=[], has_error=root.has_error)

    def attrs_and_doc(node: tree_sitter.Node) -> tuple[list[tree_sitter.Node], list[tree_sitter.Node]]:
        attrs: list[tree_sitter.Node] = []
        docs: list[tree_sitter.Node] = []
        cur = node
        prev = node.prev_named_sibling
        while prev is not None and prev.end_point[0] >= cur.start_point[0] - 1:
            if prev.type == "attribute_item":
                attrs.insert(0, prev)
            elif _rust_outer_doc(prev):
                docs.insert(0, prev)
            else:
                break
            cur = prev
            prev = prev.prev_named_sibling
        return attrs, docs

    def visit(node: tree_sitter.Node, scope: list[str], in_func: bool, in_test: bool, in_type: bool) -> None:
        t = node.type
        if _rust_doc_comment(node):
            end = node.end_byte - 1 if text_of(node).endswith("\n") else node.end_byte
            an.strip.append((node.start_byte, end, ""))
            return
        if t == "function_item":
            attrs, docs = attrs_and_doc(node)
            name = text_of(node.child_by_field_name("name"))
            test = in_test or any(_rust_is_test_attr(a) for a in attrs)
            an.funcs.append(
                Func(
                    name=name,
                    qualified_name=".".join([*scope, name]),
                    kind="method" if in_type and not in_func else "function",
                    start_line=(attrs[0] if attrs else node).start_point[0] + 1,
                    def_line=node.start_point[0] + 1,
                    end_line=node.end_point[0] + 1,
                    nested=in_func,
                    doc=_rust_doc_text(docs),
                    in_test=test,
                )
            )
            for child in node.named_children:
                visit(child, [*scope, name], True, test, False)
            return
        if t in _RUST_SCOPES:
            attrs, _ = attrs_and_doc(node)
            test = in_test or (
                t == "mod_item"
                and (any(_rust_is_test_attr(a) for a in attrs) or _rust_scope_name(node) == "tests")
            )
            for child in node.named_children:
                visit(child, [*scope, _rust_scope_name(node)], in_func, test, t != "mod_item")
            return
        for child in node.named_children:
            visit(child, scope, in_func, in_test, in_type)

    visit(root, [], False, False, False)
    return an


ANALYZERS = {
    "python": analyze_python,
    "javascript": analyze_javascript,
    "typescript": analyze_javascript,
    "go": analyze_go,
    "java": analyze_java,
    "rust": analyze_rust,
}


# --------------------------------------------------------------------------- stripping


def apply_strip(src: bytes, spans: list[tuple[int, int, str]]) -> bytes:
    """Remove the doc spans; a span alone on its lines takes its whole lines along."""
    out = bytearray()
    pos = 0
    for start, end, repl in sorted(spans):
        if start < pos:
            continue  # overlapping span: already removed
        line_start = src.rfind(b"\n", 0, start) + 1
        nl = src.find(b"\n", end)
        line_end = len(src) if nl < 0 else nl + 1
        before = src[line_start:start]
        after = src[end:line_end]
        if line_start >= pos and not before.strip() and not after.strip():
            out += src[pos:line_start]
            if repl:
                out += before + repl.encode() + b"\n"
            pos = line_end
        else:
            out += src[pos:start]
            # Python: a docstring that shares its line with code becomes `pass`.
            out += repl.encode() if repl else b""
            pos = end
    out += src[pos:]
    return bytes(out)


# --------------------------------------------------------------------------- queries

_ABBREV = re.compile(r"(\b(e\.g|i\.e|etc|vs|cf|approx|resp|incl|no|Mr|Dr|St)\.|\.\.\.)$", re.I)


def normalize_doc(doc: str, lang: str) -> str:
    """Light clean-up of markup so queries read like plain English."""
    s = doc
    # reST roles :class:`~foo.Bar` -> foo.Bar ; ``code`` -> code
    s = re.sub(r":[\w:.-]+:`~?([^`<]*?)(?:\s*<[^>]*>)?`", r"\1", s)
    s = s.replace("``", "`") if lang == "python" else s
    # JSDoc markdown-style links [`map`]{@link module:Collections.map} -> `map`
    s = re.sub(r"\[([^\]]+)\]\{@link[^}]*\}", r"\1", s)
    # Markdown links [text](url) -> text
    s = re.sub(r"\[([^\]]+)\]\((?:[^()\s]|\([^()\s]*\))*\)", r"\1", s)
    # JSDoc / Javadoc inline tags {@link Foo#bar label} -> label or Foo#bar ; {@code x} -> x
    s = re.sub(r"\{@(?:link|linkplain)\s+([^\s}]+)\s+([^}]+)\}", r"\2", s)
    s = re.sub(r"\{@\w+\s*([^}]*)\}", r"\1", s)
    # HTML tags and entities (Java, some JSDoc)
    s = re.sub(r"</?[a-zA-Z][^>]*>", "", s)
    s = s.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("&nbsp;", " ")
    # Go doc links [strings.Builder] -> strings.Builder
    if lang == "go":
        s = re.sub(r"\[(\*?[A-Za-z_][\w.]*)\]", r"\1", s)
    # rustdoc intra-doc links [text][ref] -> text ; [`Vec`] -> `Vec`
    if lang == "rust":
        s = re.sub(r"\[([^\]]+)\]\[[^\]]*\]", r"\1", s)
        s = re.sub(r"\[(`[^`\]]+`)\](?![\[(])", r"\1", s)
    return s


def first_sentence(doc: str, lang: str) -> str:
    """The query: the doc's first paragraph up to its first sentence end."""
    text = normalize_doc(doc, lang).strip()
    para = re.split(r"\n\s*\n", text, maxsplit=1)[0]
    para = " ".join(para.split())
    for m in re.finditer(r"[.!?](?=\s|$)", para):
        cand = para[: m.end()]
        if _ABBREV.search(cand):
            continue
        return cand
    return para


def body_lines(lines: list[str], f: Func) -> int:
    """Non-blank lines of the (stripped) function after its header line."""
    return sum(1 for ln in lines[f.def_line : f.end_line] if ln.strip())


# --------------------------------------------------------------------------- per file
