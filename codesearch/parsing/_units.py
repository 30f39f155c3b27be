"""Definitions to CodeUnits: nesting, qualified names, signatures, docs."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable

from codesearch.models import CodeUnit
from codesearch.parsing._languages import LanguageSpec
from codesearch.parsing._treesitter import RawDefinition

#: A function directly inside one of these is a method.
CONTAINER_KINDS = frozenset({"class", "struct", "interface", "trait", "impl", "enum"})
MAX_SIGNATURE_CHARS = 300
MAX_DOC_CHARS = 1000

_TEMPLATE_ARGS = re.compile(r"<[^<>]*>")
_STRING_PREFIX = re.compile(r"^[rRuUbBfF]*")
# Line comments: // /// //! # -- and Haskell's `-- |`, Fortran's `!`; block comments:
# /* */, Lua's --[[ ]], Ruby's =begin =end, OCaml's (* *), Haskell's {- -}, PowerShell's <# #>.
_LINE_MARKERS = re.compile(r"^\s*(?:///?!?|#+!?|--+(?:\s?[|^](?=\s|$))?|!+|\*(?!/))\s?")
_BLOCK_OPEN = re.compile(r"^\s*(?:/\*+!?|--\[=*\[|=begin\b|\(\*+|\{-\s?\|?|<#)")
_BLOCK_CLOSE = re.compile(r"(?:\*+/|\]=*\]|^=end\b|\*+\)|-\}|#>)\s*$")
_DECORATOR_LINE = re.compile(rb"[ \t]*(?:@|#\[|\[)")


_DOTTED = re.compile(r"[\w$]+(?:\.[\w$]+)+")


def _typedef_of(source: bytes, outer: tuple[int, str, str, int], raw: RawDefinition) -> bool:
    """Whether `raw` is the type a C/C++ `typedef` (the definition `outer`) names."""
    return outer[2] == raw.kind and source.startswith(b"typedef", outer[3]) and raw.start_byte > outer[3]


def definition_units(
    path: str,
    language: str,
    source: bytes,
    definitions: Iterable[RawDefinition],
    spec: LanguageSpec,
) -> list[CodeUnit]:
    """Turn raw definitions into units with kinds and qualified names.

    Nesting is read from byte spans: definitions come from one tree, so a
    span inside another is a descendant of it.
    """
    ordered = sorted(definitions, key=lambda d: (d.start_byte, -d.end_byte))
    units: list[CodeUnit] = []
    seen: set[tuple[str, str, int]] = set()
    # (end_byte, qualified_name, kind, start_byte) of the definitions enclosing the current one
    stack: list[tuple[int, str, str, int]] = []
    for raw in ordered:
        while stack and stack[-1][0] < raw.end_byte:
            stack.pop()
        enclosing = stack[-1] if stack else None
        if enclosing is not None and _typedef_of(source, enclosing, raw):
            # `typedef struct hashtable {...} hashtable_t;`: the tag is the typedef's twin, not
            # its member; both names are units (code uses either).
            enclosing = stack[-2] if len(stack) > 1 else None
        scope, name, is_method = _split_name(raw, spec)
        kind = raw.kind
        if kind == "function" and (is_method or (enclosing is not None and enclosing[2] in CONTAINER_KINDS)):
            kind = "method"
        parent_parts = ([enclosing[1]] if enclosing else []) + scope
        parent = ".".join(parent_parts) or None
        qualified = f"{parent}.{name}" if parent else name
        stack.append((raw.end_byte, qualified, kind, raw.start_byte))
        key = (kind, qualified, raw.start_line)
        if key in seen:
            continue
        seen.add(key)
        units.append(
            CodeUnit(
                path=path,
                language=language,
                kind=kind,
                name=name,
                qualified_name=qualified,
                start_line=raw.start_line,
                end_line=raw.end_line,
                start_byte=raw.start_byte,
                end_byte=raw.end_byte,
                text=source[raw.start_byte : raw.end_byte].decode("utf-8", "replace"),
                parent=parent,
                signature=_signature(source, raw),
                doc=_doc(source, raw),
            )
        )
    return units


def _split_name(raw: RawDefinition, spec: LanguageSpec) -> tuple[list[str], str, bool]:
    """Scope parts, bare name, and whether the name itself makes a method."""
    name = " ".join(raw.name.split()).strip("'\"`")
    if raw.receiver:
        receiver = _TEMPLATE_ARGS.sub("", raw.receiver.split("[", 1)[0])
        receiver = receiver.strip("*&() \t\n") or receiver
        return [receiver], name, True
    if not spec.scope_separators:
        return [], name, False
    if "::" in spec.scope_separators:
        while True:  # Foo<T, Bar<U>>::baz -> Foo::baz
            stripped = _TEMPLATE_ARGS.sub("", name)
            if stripped == name:
                break
            name = stripped
    for separator in spec.scope_separators:
        if separator == "." and not _DOTTED.fullmatch(name):
            continue  # `[Symbol.iterator]`, a string key: not a scope path
        if separator in name:
            scope, _, bare = name.rpartition(separator)
            parts = [
                part for part in re.split("|".join(map(re.escape, spec.scope_separators)), scope) if part
            ]
            if not bare:
                return [], name, False
            method = separator in spec.method_separators and bool(parts)
            if spec.method_scope_markers & set(parts):
                method = True
                parts = [p for p in parts if p not in spec.method_scope_markers]
            while parts and parts[0] in spec.ignored_scope_prefixes:
                parts = parts[1:]
            return parts, bare, method
    return [], name, False


def _signature(source: bytes, raw: RawDefinition) -> str:
    """The header of a definition up to its body, whitespace collapsed."""
    start = raw.signature_start
    end = max(start, min(raw.signature_end, start + MAX_SIGNATURE_CHARS * 4))
    # Leading decorator/annotation lines are not part of the signature.
    while start < raw.name_byte:
        newline = source.find(b"\n", start, raw.name_byte)
        if newline < 0 or not _DECORATOR_LINE.match(source, start, newline):
            break
        start = newline + 1
    text = " ".join(source[start:end].decode("utf-8", "replace").split())
    return text[:MAX_SIGNATURE_CHARS].rstrip()


def _doc(source: bytes, raw: RawDefinition) -> str:
    if raw.docstring is not None:
        start, end = raw.docstring
        text = _docstring_text(source[start:end].decode("utf-8", "replace"))
    elif raw.doc_ranges:
        text = "\n".join(
            _comment_text(source[start:end].decode("utf-8", "replace")) for start, end in raw.doc_ranges
        )
        text = inspect.cleandoc(text)
    else:
        return ""
    return text.strip()[:MAX_DOC_CHARS]


def _docstring_text(literal: str) -> str:
    """The text of a Python string literal, cleaned like inspect.getdoc.

    Quotes and prefixes are cut off; escapes are left as written.
    """
    body = _STRING_PREFIX.sub("", literal, count=1)
    for quote in ('"""', "'''", '"', "'"):
        if body.startswith(quote):
            body = body[len(quote) :]
            if body.endswith(quote):
                body = body[: -len(quote)]
            break
    return inspect.cleandoc(body)


def _comment_text(comment: str) -> str:
    """A comment without its markers: //, ///, #, --, /* */, /** */, --[[ ]]."""
    lines = comment.strip().splitlines()
    if not lines:
        return ""
    block = bool(_BLOCK_OPEN.match(lines[0]))
    if block:
        lines[0] = _BLOCK_OPEN.sub("", lines[0], count=1)
        lines[-1] = _BLOCK_CLOSE.sub("", lines[-1], count=1)
    cleaned = []
    for line in lines:
        stripped = (
            _LINE_MARKERS.sub("", line, count=1) if not block or line.lstrip().startswith("*") else line
        )
        cleaned.append(stripped.rstrip())
    while cleaned and not cleaned[0].strip():
        cleaned.pop(0)
    while cleaned and not cleaned[-1].strip():
        cleaned.pop()
    return "\n".join(cleaned)
