"""Parsing: source files to searchable units (definitions, files, sections).

Definitions are found with tree-sitter queries kept as data in
`queries/<language>.scm`; only `_grammars`, `_treesitter` and `_tokens` import tree-sitter.
"""

from __future__ import annotations

from codesearch.parsing._chunks import estimate_tokens
from codesearch.parsing._languages import LANGUAGES, TEXT, language_for_path
from codesearch.parsing._parse import parse_file, units_version
from codesearch.parsing._tokens import IDENTIFIER, LITERAL, code_tokens

__all__ = [
    "IDENTIFIER",
    "LANGUAGES",
    "LITERAL",
    "TEXT",
    "code_tokens",
    "estimate_tokens",
    "language_for_path",
    "parse_file",
    "units_version",
]
