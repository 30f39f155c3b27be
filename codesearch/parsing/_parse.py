"""parse_file: one file's bytes to its units."""

from __future__ import annotations

import functools
import hashlib
import re
from importlib import resources

from codesearch.errors import ParseError
from codesearch.indexing.pathfilter import is_minified
from codesearch.models import CodeUnit, ParsedFile
from codesearch.parsing import _treesitter
from codesearch.parsing._chunks import SECTION_MIN_TOKENS, estimate_tokens, file_units, section_units
from codesearch.parsing._languages import SPECS, TEXT, is_markdown
from codesearch.parsing._units import definition_units

#: Bump when a change to this package (or to a grammar's pinned version) changes the units
#: of unchanged files; the definition queries are taken into account by themselves. Indexes
#: built before are analysed again on their next full run. Installed grammar versions are
#: left out on purpose: two installs (a CLI and an editor's) would otherwise take turns
#: re-analysing a shared index.
UNITS_REVISION = "2"


@functools.cache
def units_version() -> str:
    """A short hash of what decides a file's units: this package's revision and its
    definition queries."""
    digest = hashlib.sha256(UNITS_REVISION.encode())
    queries = resources.files("codesearch.parsing").joinpath("queries")
    for name in sorted(q.name for q in queries.iterdir() if q.name.endswith(".scm")):
        digest.update(name.encode() + b"\0" + queries.joinpath(name).read_bytes())
    return digest.hexdigest()[:16]


def parse_file(
    path: str, source: bytes, language: str, *, max_file_tokens: int = 32768, tokens: bool = False
) -> ParsedFile:
    """Split one file into units: its definitions and the file itself.

    `language` is a name from LANGUAGES or "text". Code files yield one unit
    per definition plus a file unit (split into parts when it estimates over
    `max_file_tokens`); text files yield the file unit and, when long,
    sections. Syntax errors never drop a file; ParseError is raised only when
    the language is unknown, its grammar cannot be loaded, or tree-sitter
    fails on the input. With `tokens`, a file parsed as code also carries its
    code tokens (`code_tokens`) from the same parse, for fingerprints.
    """
    if language != TEXT and language not in SPECS:
        raise ParseError(f"{path}: no parser for language {language!r}")
    language = header_language(path, source, language)
    return _parse(path, source, language, max_file_tokens, tokens)


#: What only C++ headers have: classes, namespaces, templates, access labels, `::` scopes.
_CPP_HEADER = re.compile(rb"^\s*(?:class|namespace|template\s*<|public:|private:|protected:)|\w::\w", re.M)


def header_language(path: str, source: bytes, language: str) -> str:
    """A `.h` file is C by its name; one with C++ in it is parsed as C++ (its classes become units)."""
    if language == "c" and path.endswith(".h") and "cpp" in SPECS and _CPP_HEADER.search(source[:65536]):
        return "cpp"
    return language


def _parse(path: str, source: bytes, language: str, max_file_tokens: int, tokens: bool) -> ParsedFile:
    source = bytes(source)
    text = source.decode("utf-8", "replace")
    if not text.strip():
        return ParsedFile(path, language, ())
    too_long = estimate_tokens(text) > max_file_tokens
    if language == TEXT:
        units = file_units(path, TEXT, source, text, [], max_file_tokens)
        if estimate_tokens(text) > SECTION_MIN_TOKENS:
            units += section_units(path, source, is_markdown(path), max_file_tokens)
        return ParsedFile(path, language, _ordered(units))
    if is_minified(source):
        # Huge lines are generated or minified code: no useful definitions,
        # and tree-sitter queries slow down badly on such dense trees.
        return ParsedFile(
            path, language, _ordered(file_units(path, language, source, text, [], max_file_tokens))
        )
    try:
        tree = _treesitter.parse(source, language, top_level=too_long, tokens=tokens)
    except ParseError as exc:
        raise ParseError(f"{path}: {exc}") from exc
    units = definition_units(path, language, source, tree.definitions, SPECS[language])
    units += file_units(path, language, source, text, tree.top_level_starts, max_file_tokens)
    return ParsedFile(path, language, _ordered(units), tree.syntax_errors, tree.tokens)


def _ordered(units: list[CodeUnit]) -> tuple[CodeUnit, ...]:
    """Sort by position, outer first, and drop repeated keys."""
    seen: set[tuple[str, str, int]] = set()
    kept: list[CodeUnit] = []
    for unit in sorted(units, key=lambda u: (u.start_byte, -u.end_byte, u.kind, u.qualified_name)):
        key = (unit.kind, unit.qualified_name, unit.start_line)
        if key not in seen:
            seen.add(key)
            kept.append(unit)
    return tuple(kept)
