"""Duplicate pairs as SARIF 2.1.0, for code-scanning tools."""

from __future__ import annotations

from typing import Any

from codesearch.dupes.duplicates import DuplicatePair, UnitLocation

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
RULE_ID = "codesearch/duplicate-code"


def _location(loc: UnitLocation) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": loc.path, "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": loc.start_line, "endLine": loc.end_line},
        },
        "logicalLocations": [{"fullyQualifiedName": loc.symbol}],
    }


def to_sarif(pairs: list[DuplicatePair], version: str) -> dict[str, Any]:
    """One SARIF log with one run: a warning per pair, the original as related location."""
    results = []
    for p in pairs:
        other = p.duplicate_of
        related = {**_location(other), "id": 1, "message": {"text": f"{other.symbol} (the original)"}}
        results.append(
            {
                "ruleId": RULE_ID,
                "level": "warning",
                "message": {
                    "text": f"{p.unit.symbol} duplicates [{other.symbol}](1) at "
                    f"{other.path}:{other.start_line} ({p.kind}, similarity {p.score:.2f})"
                },
                "locations": [_location(p.unit)],
                "relatedLocations": [related],
                "partialFingerprints": {
                    "codesearchDuplicate/v1": f"{p.unit.fingerprint}:{other.fingerprint}"
                },
                "properties": {"kind": p.kind, "score": round(p.score, 4)},
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "codesearch",
                        "version": version,
                        "rules": [
                            {
                                "id": RULE_ID,
                                "name": "DuplicateCode",
                                "shortDescription": {"text": "A function duplicates another one"},
                                "fullDescription": {
                                    "text": "The function is an exact, renamed or edited copy of another "
                                    "function in the repository."
                                },
                                "defaultConfiguration": {"level": "warning"},
                            }
                        ],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
