"""Duplicate functions of a saved file -> LSP diagnostics (warnings with the other place)."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from codesearch import DuplicatePair, UnitLocation

from .convert import lines_range

SOURCE = "codesearch"


def _range(loc: UnitLocation) -> types.Range:
    return lines_range(loc.start_line, loc.end_line)


def duplicate_diagnostics(root: Path, rel: str, pairs: list[DuplicatePair]) -> list[types.Diagnostic]:
    """One warning per function of `rel` that duplicates another, on the function's lines."""
    out: list[types.Diagnostic] = []
    for pair in pairs:
        here, other = pair.unit, pair.duplicate_of
        if here.path != rel:  # the file holds the original: warn on the copy's side only
            if other.path != rel:
                continue
            here, other = other, here
        where = f"{other.path}:{other.start_line}"
        out.append(
            types.Diagnostic(
                range=_range(here),
                severity=types.DiagnosticSeverity.Warning,
                source=SOURCE,
                code=f"duplicate-{pair.kind}",
                message=(
                    f"{here.symbol} duplicates {other.symbol} at {where} "
                    f"({pair.kind} copy, similarity {pair.score:.2f})"
                ),
                related_information=[
                    types.DiagnosticRelatedInformation(
                        location=types.Location(uri=(root / other.path).as_uri(), range=_range(other)),
                        message=f"{other.symbol}: the other copy",
                    )
                ],
            )
        )
    return out
