"""The language table: file names to languages, and what each grammar needs.

Plain data only; the one module that imports tree-sitter reads it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

#: Pseudo-language of non-code text files (docs, configs): no grammar.
TEXT = "text"


@dataclass(frozen=True, slots=True)
class LanguageSpec:
    """How to load one grammar and read definitions out of its trees."""

    #: Importable grammar package and the function in it returning the language.
    module: str
    function: str = "language"
    #: Query files under queries/ (without .scm), concatenated in this order.
    queries: tuple[str, ...] = ()
    #: Parent node types that belong to a definition they hold alone
    #: (decorators, `export`, `template <...>`): the span grows to include them.
    wrappers: frozenset[str] = frozenset()
    #: Separators that split a definition name into scope and name
    #: ("Foo::bar" -> scope Foo). A name split on the first one of
    #: `method_separators` makes a method.
    scope_separators: tuple[str, ...] = ()
    method_separators: tuple[str, ...] = ()
    #: Whether a body's first string is the definition's doc (Python).
    docstrings: bool = False
    #: Scope parts that make the name a method and are then dropped (`Foo.prototype.bar`).
    method_scope_markers: frozenset[str] = frozenset()
    #: Leading scope parts that say nothing (`module.exports.f`, `this.f`).
    ignored_scope_prefixes: frozenset[str] = frozenset()
    #: Sibling node types right before a definition that belong to it (Haskell's
    #: type signature `add :: Int -> Int`) and right after it (Dart's body,
    #: a sibling of the method signature): the span grows over them.
    leading_siblings: frozenset[str] = frozenset()
    trailing_siblings: frozenset[str] = frozenset()
    #: Grammars without a body node: the signature is the definition's first line
    #: (from its start to the end of the line holding its name).
    first_line_signature: bool = False


_JS_WRAPPERS = frozenset(
    {"export_statement", "lexical_declaration", "variable_declaration", "expression_statement"}
)
_TS_WRAPPERS = _JS_WRAPPERS | {"ambient_declaration"}
# `forge.aes.Algorithm = function ...` and `Foo.prototype.bar = function ...` are named by
# their member expression: split it on dots; `prototype` makes a method.
_JS_NAMES: dict[str, Any] = {
    "scope_separators": (".",),
    "method_scope_markers": frozenset({"prototype"}),
    "ignored_scope_prefixes": frozenset({"module", "exports", "this", "window", "self", "globalThis"}),
}

SPECS: dict[str, LanguageSpec] = {
    "python": LanguageSpec(
        "tree_sitter_python", wrappers=frozenset({"decorated_definition"}), docstrings=True
    ),
    "javascript": LanguageSpec("tree_sitter_javascript", wrappers=_JS_WRAPPERS, **_JS_NAMES),
    "typescript": LanguageSpec(
        "tree_sitter_typescript",
        "language_typescript",
        queries=("javascript", "typescript"),
        wrappers=_TS_WRAPPERS,
        **_JS_NAMES,
    ),
    "tsx": LanguageSpec(
        "tree_sitter_typescript",
        "language_tsx",
        queries=("javascript", "typescript"),
        wrappers=_TS_WRAPPERS,
        **_JS_NAMES,
    ),
    "go": LanguageSpec("tree_sitter_go", wrappers=frozenset({"type_declaration"})),
    "rust": LanguageSpec("tree_sitter_rust"),
    "java": LanguageSpec("tree_sitter_java"),
    "c": LanguageSpec(
        "tree_sitter_c",
        wrappers=frozenset({"declaration"}),
    ),
    "cpp": LanguageSpec(
        "tree_sitter_cpp",
        queries=("c", "cpp"),
        wrappers=frozenset({"template_declaration", "field_declaration", "declaration"}),
        scope_separators=("::",),
        method_separators=("::",),
    ),
    "csharp": LanguageSpec("tree_sitter_c_sharp"),
    "ruby": LanguageSpec("tree_sitter_ruby", scope_separators=("::",)),
    "php": LanguageSpec("tree_sitter_php", "language_php"),
    "kotlin": LanguageSpec("tree_sitter_kotlin"),
    "swift": LanguageSpec("tree_sitter_swift"),
    "scala": LanguageSpec("tree_sitter_scala"),
    "bash": LanguageSpec("tree_sitter_bash"),
    "lua": LanguageSpec(
        "tree_sitter_lua",
        wrappers=frozenset({"variable_declaration"}),
        scope_separators=(":", "."),
        method_separators=(":",),
    ),
    "elixir": LanguageSpec("tree_sitter_elixir", scope_separators=(".",)),
    "haskell": LanguageSpec(
        "tree_sitter_haskell", leading_siblings=frozenset({"signature"}), first_line_signature=True
    ),
    "zig": LanguageSpec("tree_sitter_zig", first_line_signature=True),
    "dart": LanguageSpec(
        "tree_sitter_dart",
        wrappers=frozenset({"declaration"}),
        trailing_siblings=frozenset({"function_body"}),
    ),
    "ocaml": LanguageSpec("tree_sitter_ocaml", "language_ocaml", first_line_signature=True),
    "perl": LanguageSpec("tree_sitter_perl", scope_separators=("::",)),
    "julia": LanguageSpec("tree_sitter_julia", scope_separators=(".",), first_line_signature=True),
    "objc": LanguageSpec(
        "tree_sitter_objc",
        queries=("c", "objc"),
        wrappers=frozenset({"implementation_definition", "declaration"}),
        first_line_signature=True,
    ),
    "powershell": LanguageSpec("tree_sitter_powershell", first_line_signature=True),
    "sql": LanguageSpec("tree_sitter_sql", wrappers=frozenset({"statement"}), first_line_signature=True),
    "solidity": LanguageSpec("tree_sitter_solidity"),
    "fortran": LanguageSpec("tree_sitter_fortran", first_line_signature=True),
    "groovy": LanguageSpec("tree_sitter_groovy"),
    "fsharp": LanguageSpec(
        "tree_sitter_fsharp",
        wrappers=frozenset({"declaration_expression"}),
        scope_separators=(".",),
        first_line_signature=True,
    ),
    "cuda": LanguageSpec(
        "tree_sitter_cuda",
        queries=("c", "cpp"),
        wrappers=frozenset({"template_declaration", "field_declaration", "declaration"}),
        scope_separators=("::",),
        method_separators=("::",),
    ),
}

#: Every language parse_file understands with a grammar.
LANGUAGES: tuple[str, ...] = tuple(SPECS)

_BY_EXTENSION: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
    ".hxx": "cpp",
    ".cs": "csharp",
    ".rb": "ruby",
    ".php": "php",
    ".kt": "kotlin",
    ".kts": "kotlin",
    ".swift": "swift",
    ".scala": "scala",
    ".sc": "scala",
    ".sh": "bash",
    ".bash": "bash",
    ".lua": "lua",
    ".ex": "elixir",
    ".exs": "elixir",
    ".hs": "haskell",
    ".zig": "zig",
    ".dart": "dart",
    ".ml": "ocaml",
    ".pl": "perl",
    ".pm": "perl",
    ".jl": "julia",
    ".m": "objc",
    ".ps1": "powershell",
    ".psm1": "powershell",
    ".sql": "sql",
    ".sol": "solidity",
    ".f90": "fortran",
    ".f95": "fortran",
    ".f03": "fortran",
    ".f08": "fortran",
    ".groovy": "groovy",
    ".gvy": "groovy",
    ".gradle": "groovy",
    ".fs": "fsharp",
    ".fsx": "fsharp",
    ".cu": "cuda",
    ".cuh": "cuda",
}
#: Extension-less file names of a grammar's language.
_BY_NAME: dict[str, str] = {"jenkinsfile": "groovy"}

_TEXT_EXTENSIONS = frozenset(
    {
        ".md",
        ".markdown",
        ".mdx",
        ".rst",
        ".txt",
        ".adoc",
        ".yaml",
        ".yml",
        ".toml",
        ".json",
        ".jsonc",
        ".ini",
        ".cfg",
        ".conf",
        ".html",
        ".htm",
        ".css",
        ".scss",
        ".less",
        ".xml",
        ".proto",
        ".graphql",
        ".tf",
        ".dockerfile",
    }
)
_TEXT_NAMES = frozenset({"dockerfile", "containerfile", "makefile", "gnumakefile"})
_MARKDOWN_EXTENSIONS = frozenset({".md", ".markdown", ".mdx"})


def language_for_path(path: str) -> str | None:
    """The language of a file from its name: a grammar name, "text", or None.

    None means the name does not tell: discovery then looks at the content
    (a shebang, or any text at all is indexed as "text").
    """
    name = os.path.basename(path)
    stem, ext = os.path.splitext(name)
    ext = ext.lower()
    found = _BY_EXTENSION.get(ext)
    if found is not None:
        return found
    if ext in _TEXT_EXTENSIONS:
        return TEXT
    lowered = name.lower()
    if lowered in _BY_NAME:
        return _BY_NAME[lowered]
    if lowered in _TEXT_NAMES or stem.lower() in _TEXT_NAMES:
        return TEXT
    return None


def is_markdown(path: str) -> bool:
    """Whether a text file is markdown (split at headings)."""
    return os.path.splitext(path)[1].lower() in _MARKDOWN_EXTENSIONS
