"""Build the search-quality evaluation set (CodeSearchNet style).

For each language this downloads real, documented code from a package registry
(PyPI, npm, Debian), finds functions and their docstrings / doc comments with
tree-sitter, and writes into ``benchmarks/.data/quality/<lang>/``:

* ``corpus/``        the source files with every docstring / doc comment removed
                     (whole lines are dropped, so the code keeps its layout);
* ``queries.jsonl``  one line per query: ``{"id", "query", "path", "symbol",
                     "start_line", "end_line", ...}`` where ``query`` is the first
                     sentence of the function's doc and the location is that of
                     the function in the stripped copy (1-based, inclusive);
* ``units.jsonl``    every function/method of the stripped corpus (used by the
                     built-in BM25 baseline of ``evaluate.py``);
* ``meta.json``      sources, versions, filters and counts.

Run from the repository root::

    python benchmarks/quality/build_set.py            # all languages
    python benchmarks/quality/build_set.py --langs go  # just one

Everything is deterministic: files are sorted and sampling is seeded.
Downloads are cached under ``benchmarks/.data/quality/_downloads``.
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tree_sitter
import tree_sitter_go
import tree_sitter_java
import tree_sitter_javascript
import tree_sitter_python

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_ROOT = REPO_ROOT / "benchmarks" / ".data" / "quality"
DOWNLOADS = DATA_ROOT / "_downloads"
SOURCES = DATA_ROOT / "_src"

#: Default caps (see docs/quality.md).
TARGET_QUERIES = 500
MAX_QUERIES = 600
MAX_FUNCTIONS = 2500
MIN_WORDS = 4
MIN_BODY_LINES = 3

# --------------------------------------------------------------------------- sources

PYPI_PACKAGES = (
    # (distribution, version, top-level package directory inside the wheel)
    ("requests", "2.32.3", "requests"),
    ("click", "8.1.7", "click"),
    ("rich", "13.9.4", "rich"),
    ("more-itertools", "10.5.0", "more_itertools"),
    ("attrs", "24.2.0", "attr"),
)

NPM_PACKAGES = (
    # (package, version, sub-directory of the tarball's package/ to take or "")
    ("lodash", "4.17.21", ""),
    ("express", "4.21.1", "lib"),
    ("async", "3.2.6", ""),
    ("commander", "12.1.0", "lib"),
    ("axios", "1.7.7", "lib"),
    ("node-forge", "1.3.1", "lib"),
)
#: lodash ships every function twice: once per module file and once in the
#: monolithic builds; keep the module files only.
NPM_SKIP = re.compile(
    r"(^|/)(lodash\.js|lodash\.min\.js|core\.js|core\.min\.js|fp\.js|fp/.*|.*\.min\.js"
    r"|dist/.*|.*\.mjs)$"
)

GO_DEB = ("golang-1.19-src", "1.19.8-2")
GO_PACKAGES = (
    "bufio",
    "bytes",
    "encoding/base64",
    "encoding/binary",
    "encoding/csv",
    "encoding/json",
    "flag",
    "fmt",
    "io",
    "net/http",
    "net/textproto",
    "net/url",
    "os",
    "path",
    "path/filepath",
    "regexp",
    "sort",
    "strconv",
    "strings",
    "text/template",
    "time",
    "unicode/utf8",
)

JAVA_DEB = ("openjdk-17-source", "17.0.21.1+2-1~deb12u1")
JAVA_PACKAGES = (
    "java.base/java/util",
    "java.base/java/util/concurrent",
    "java.base/java/lang",
    "java.base/java/io",
    "java.base/java/time",
    "java.base/java/net",
    "java.base/java/nio/file",
    "java.base/java/math",
    "java.base/java/text",
)


def log(msg: str) -> None:
    print(msg, flush=True)


def run(cmd: list[str], cwd: Path | None = None) -> None:
    log("  $ " + " ".join(cmd))
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def fetch_python() -> list[tuple[str, Path, str]]:
    """Download the wheels; return (package label, directory, version) triples."""
    out = []
    dl = DOWNLOADS / "pypi"
    dl.mkdir(parents=True, exist_ok=True)
    for dist, version, top in PYPI_PACKAGES:
        norm = dist.replace("-", "_")
        wheels = sorted(dl.glob(f"{norm}-{version}-*.whl"))
        if not wheels:
            run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--quiet",
                    "--no-deps",
                    "--only-binary=:all:",
                    "--dest",
                    str(dl),
                    f"{dist}=={version}",
                ]
            )
            wheels = sorted(dl.glob(f"{norm}-{version}-*.whl"))
        dest = SOURCES / "python" / f"{dist}-{version}"
        if not dest.exists():
            with zipfile.ZipFile(wheels[0]) as zf:
                zf.extractall(dest)
        out.append((dist, dest / top, version))
    return out


def fetch_javascript() -> list[tuple[str, Path, str]]:
    out = []
    dl = DOWNLOADS / "npm"
    dl.mkdir(parents=True, exist_ok=True)
    for name, version, sub in NPM_PACKAGES:
        tgz = dl / f"{name}-{version}.tgz"
        if not tgz.exists():
            run(["npm", "pack", "--silent", f"{name}@{version}", "--pack-destination", str(dl)])
        dest = SOURCES / "javascript" / f"{name}-{version}"
        if not dest.exists():
            with tarfile.open(tgz) as tf:
                tf.extractall(dest, filter="data")
        root = dest / "package"
        out.append((name, root / sub if sub else root, version))
    return out


def fetch_deb(package: str, version: str) -> Path:
    """`apt-get download` a Debian package and unpack it (no installation)."""
    dl = DOWNLOADS / "apt"
    dl.mkdir(parents=True, exist_ok=True)
    debs = sorted(dl.glob(f"{package}_*.deb"))
    if not debs:
        try:
            run(["apt-get", "download", f"{package}={version}"], cwd=dl)
        except subprocess.CalledProcessError:
            log(f"  pinned {package}={version} not found; trying the candidate version")
            run(["apt-get", "download", package], cwd=dl)
        debs = sorted(dl.glob(f"{package}_*.deb"))
    dest = SOURCES / "deb" / debs[0].stem
    if not dest.exists():
        dest.mkdir(parents=True)
        run(["dpkg-deb", "-x", str(debs[0]), str(dest)])
    return dest


def deb_version(path: Path) -> str:
    return path.name.split("_")[1].replace("%3a", ":")


def fetch_go() -> list[tuple[str, Path, str]]:
    dest = fetch_deb(*GO_DEB)
    src = dest / "usr" / "share" / "go-1.19" / "src"
    return [("go", src, deb_version(dest))]


def fetch_java() -> list[tuple[str, Path, str]]:
    dest = fetch_deb(*JAVA_DEB)
    zips = sorted(dest.rglob("src.zip"))
    out_dir = dest / "src"
    if not out_dir.exists():
        with zipfile.ZipFile(zips[0]) as zf:
            names = [
                n
                for n in zf.namelist()
                if n.endswith(".java") and any(n.startswith(p + "/") for p in JAVA_PACKAGES)
            ]
            zf.extractall(out_dir, members=names)
    return [("openjdk", out_dir, deb_version(dest))]


def list_files(lang: str, label: str, root: Path) -> list[Path]:
    if lang == "python":
        files = [
            p
            for p in root.rglob("*.py")
            if not any(part in ("tests", "test", "vendor", "_vendor") for part in p.parts)
        ]
    elif lang == "javascript":
        files = [p for p in root.rglob("*.js") if not NPM_SKIP.search(p.relative_to(root).as_posix())]
    elif lang == "go":
        files = []
        for pkg in GO_PACKAGES:
            files += [p for p in (root / pkg).glob("*.go") if not p.name.endswith("_test.go")]
    elif lang == "java":
        files = []
        for pkg in JAVA_PACKAGES:
            files += list((root / pkg).glob("*.java"))
    else:
        raise ValueError(lang)
    return sorted(files)


# --------------------------------------------------------------------------- parsing

_LANGS = {
    "python": tree_sitter_python,
    "javascript": tree_sitter_javascript,
    "go": tree_sitter_go,
    "java": tree_sitter_java,
}
_PARSERS: dict[str, tree_sitter.Parser] = {}


def parser_for(lang: str) -> tree_sitter.Parser:
    if lang not in _PARSERS:
        _PARSERS[lang] = tree_sitter.Parser(tree_sitter.Language(_LANGS[lang].language()))
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
            func = (name, ".".join([*scope, name]), node, node, "method")
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
            an.funcs.append(
                Func(
                    name=name,
                    qualified_name=qual,
                    kind=kind,
                    start_line=anchor.start_point[0] + 1,
                    def_line=node.start_point[0] + 1,
                    end_line=anchor.end_point[0] + 1,
                    nested=has_func_ancestor(node, _JS_FUNC_TYPES, {"class_body"})
                    and t != "method_definition",
                    doc=jsdoc_text(text_of(doc_node)) if doc_node is not None else "",
                )
            )
        elif t in ("class_declaration", "class"):
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


ANALYZERS = {
    "python": analyze_python,
    "javascript": analyze_javascript,
    "go": analyze_go,
    "java": analyze_java,
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
    return s


def first_sentence(doc: str, lang: str) -> str:
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


@dataclass
class FileResult:
    rel: str  # path relative to corpus/
    stripped: bytes
    funcs: list[Func]  # functions of the stripped copy (doc filled from the original)
    candidates: list[dict[str, Any]]
    n_functions: int
    skipped_reasons: Counter[str]


def process_file(lang: str, path: Path, rel: str) -> FileResult | None:
    src = path.read_bytes()
    if b"Code generated" in src[:2000] and b"DO NOT EDIT" in src[:2000]:
        return None
    parser = parser_for(lang)
    orig = ANALYZERS[lang](parser.parse(src).root_node)
    if orig.has_error:
        return None
    stripped = apply_strip(src, orig.strip)
    new = ANALYZERS[lang](parser.parse(stripped).root_node)
    if new.has_error or [f.qualified_name for f in new.funcs] != [f.qualified_name for f in orig.funcs]:
        log(f"  ! {rel}: stripping changed the parse; file skipped")
        return None
    if lang == "python":
        try:
            compile(stripped, rel, "exec", dont_inherit=True)
        except SyntaxError as exc:
            log(f"  ! {rel}: stripped copy does not compile ({exc}); file skipped")
            return None
    lines = stripped.decode("utf-8", "replace").splitlines()
    reasons: Counter[str] = Counter()
    cands: list[dict[str, Any]] = []
    for o, n in zip(orig.funcs, new.funcs, strict=True):
        n.doc = o.doc
        if n.nested:
            reasons["nested function"] += 1
            continue
        if not o.doc.strip():
            reasons["no doc"] += 1
            continue
        query = first_sentence(o.doc, lang)
        if len(query.split()) < MIN_WORDS:
            reasons[f"first sentence < {MIN_WORDS} words"] += 1
            continue
        if body_lines(lines, n) < MIN_BODY_LINES:
            reasons[f"body < {MIN_BODY_LINES} lines"] += 1
            continue
        cands.append(
            {
                "query": query,
                "path": rel,
                "symbol": n.qualified_name,
                "name": n.name,
                "kind": n.kind,
                "start_line": n.start_line,
                "def_line": n.def_line,
                "end_line": n.end_line,
            }
        )
    return FileResult(rel, stripped, new.funcs, cands, len(new.funcs), reasons)


# --------------------------------------------------------------------------- driver

FETCHERS = {
    "python": fetch_python,
    "javascript": fetch_javascript,
    "go": fetch_go,
    "java": fetch_java,
}
DEFAULT_LANGS = ("python", "javascript", "go", "java")


def build_language(lang: str, args: argparse.Namespace) -> dict[str, Any]:
    log(f"[{lang}] fetching sources")
    sources = FETCHERS[lang]()
    results: list[FileResult] = []
    reasons: Counter[str] = Counter()
    for label, root, _version in sources:
        files = list_files(lang, label, root)
        log(f"[{lang}] {label}: parsing {len(files)} files")
        for path in files:
            rel = f"{label}/{path.relative_to(root).as_posix()}"
            res = process_file(lang, path, rel)
            if res is None:
                reasons["file skipped (generated / parse error)"] += 1
                continue
            results.append(res)
            reasons.update(res.skipped_reasons)

    # Drop every candidate whose first sentence is shared with another one: such a
    # query has more than one right answer.
    counts = Counter(c["query"].lower() for r in results for c in r.candidates)
    dup = sum(1 for r in results for c in r.candidates if counts[c["query"].lower()] > 1)
    for r in results:
        r.candidates = [c for c in r.candidates if counts[c["query"].lower()] == 1]
    pool = sum(len(r.candidates) for r in results)
    log(
        f"[{lang}] {len(results)} files, {sum(r.n_functions for r in results)} functions, "
        f"{pool} candidate queries ({dup} dropped as duplicate sentences)"
    )

    # Pick whole files in a seeded random order until there are enough queries,
    # keeping the corpus under the function budget.
    rng = random.Random(f"codesearch-quality-{lang}-{args.seed}")
    order = sorted(results, key=lambda r: r.rel)
    rng.shuffle(order)
    chosen: list[FileResult] = []
    n_funcs = n_cands = 0
    for r in order:
        if n_cands >= args.target:
            break
        if not r.candidates or n_funcs + r.n_functions > args.max_functions:
            continue
        chosen.append(r)
        n_funcs += r.n_functions
        n_cands += len(r.candidates)
    chosen.sort(key=lambda r: r.rel)
    cands = [c for r in chosen for c in r.candidates]
    if len(cands) > args.max_queries:
        cands = sorted(rng.sample(cands, args.target), key=lambda c: (c["path"], c["start_line"]))

    out = DATA_ROOT / lang
    if out.exists():
        shutil.rmtree(out)
    corpus = out / "corpus"
    for r in chosen:
        dest = corpus / r.rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(r.stripped)
    with_name = 0
    with (out / "queries.jsonl").open("w") as fh:
        for i, c in enumerate(cands):
            own = bool(re.search(rf"(?<![\w$]){re.escape(c['name'])}(?![\w$])", c["query"]))
            with_name += own
            row = {"id": f"{lang}-{i:04d}", **c, "query_has_name": own}
            fh.write(json.dumps(row) + "\n")
    with (out / "units.jsonl").open("w") as fh:
        for r in chosen:
            for f in r.funcs:
                row = {
                    "path": r.rel,
                    "symbol": f.qualified_name,
                    "kind": f.kind,
                    "start_line": f.start_line,
                    "end_line": f.end_line,
                }
                fh.write(json.dumps(row) + "\n")
    meta = {
        "language": lang,
        "sources": [{"name": n, "version": v} for n, _, v in sources],
        "files": len(chosen),
        "functions": n_funcs,
        "corpus_lines": sum(r.stripped.count(b"\n") for r in chosen),
        "queries": len(cands),
        "queries_with_own_name": with_name,
        "candidate_pool": pool,
        "dropped_duplicate_sentences": dup,
        "not_candidates": dict(sorted(reasons.items())),
        "filters": {
            "min_words": MIN_WORDS,
            "min_body_lines": MIN_BODY_LINES,
            "target_queries": args.target,
            "max_queries": args.max_queries,
            "max_functions": args.max_functions,
            "seed": args.seed,
        },
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    log(
        f"[{lang}] wrote {out.relative_to(REPO_ROOT)}: {len(chosen)} files, {n_funcs} functions, "
        f"{len(cands)} queries ({with_name} contain the function's own name)"
    )
    return meta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--langs", default=",".join(DEFAULT_LANGS), help="comma-separated list")
    ap.add_argument("--target", type=int, default=TARGET_QUERIES)
    ap.add_argument("--max-queries", type=int, default=MAX_QUERIES)
    ap.add_argument("--max-functions", type=int, default=MAX_FUNCTIONS)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    langs = [x.strip() for x in args.langs.split(",") if x.strip()]
    unknown = [x for x in langs if x not in FETCHERS]
    if unknown:
        ap.error(f"unknown language(s): {', '.join(unknown)}")
    summary = {}
    for lang in langs:
        summary[lang] = build_language(lang, args)
    log("\nlanguage     files  functions  queries  own-name")
    for lang, m in summary.items():
        log(
            f"{lang:<12} {m['files']:>5}  {m['functions']:>9}  {m['queries']:>7}  "
            f"{m['queries_with_own_name']:>8}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
