"""Known duplicates that a duplicate check does not report.

Both files live at the repository root and are meant to be committed. Units are
named by their exact fingerprint (a hash of their tokens without layout or
comments, shown by `codesearch dupes --json`), so moving or reformatting a unit
keeps it suppressed and editing it does not.

- The suppression file (`dupes_suppressions`, `.codesearch-dupes.toml`), written by
  people::

      [[ignore]]
      units = ["3f2a9c0d1e4b5a67", "9b8c7d6e5f4a3b21"]   # this pair
      reason = "the two clients must stay independent"

      [[ignore]]
      units = ["3f2a9c0d1e4b5a67"]                       # this unit, with anything

- The baseline (`dupes_baseline`, `.codesearch-dupes-baseline.json`), written by
  `codesearch dupes --update-baseline`: every pair the repository holds now.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from codesearch.dupes.duplicates import DuplicatePair
from codesearch.errors import ConfigError
from codesearch.safefs import replace_file

BASELINE_VERSION = 1


def _key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


@dataclass(slots=True)
class Suppressions:
    """Units and pairs not to report."""

    units: set[str] = field(default_factory=set)
    pairs: set[tuple[str, str]] = field(default_factory=set)

    def covers(self, pair: DuplicatePair) -> bool:
        """Whether this pair is known and must not be reported."""
        a, b = pair.unit.fingerprint, pair.duplicate_of.fingerprint
        return a in self.units or b in self.units or _key(a, b) in self.pairs

    def split(self, pairs: list[DuplicatePair]) -> tuple[list[DuplicatePair], int]:
        """The pairs to report, and how many were suppressed."""
        kept = [p for p in pairs if not self.covers(p)]
        return kept, len(pairs) - len(kept)


def load_suppressions(suppress_file: Path, baseline_file: Path | None) -> Suppressions:
    """Read the suppression file and the baseline (either may be missing)."""
    out = Suppressions()
    try:
        data = tomllib.loads(suppress_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the duplicate suppressions {suppress_file}: {exc}") from None
    entries = data.get("ignore", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{suppress_file}: `ignore` must be a list of [[ignore]] tables")
    for n, entry in enumerate(entries, 1):
        units = entry.get("units") if isinstance(entry, dict) else None
        if not (isinstance(units, list) and 1 <= len(units) <= 2 and all(isinstance(u, str) for u in units)):
            raise ConfigError(
                f"{suppress_file}: [[ignore]] number {n} needs `units` = one or two fingerprints"
            )
        if len(units) == 1:
            out.units.add(units[0])
        else:
            out.pairs.add(_key(units[0], units[1]))
    if baseline_file is not None:
        out.pairs.update(read_baseline(baseline_file))
    return out


def read_baseline(path: Path) -> set[tuple[str, str]]:
    """The fingerprint pairs of a baseline file (empty when there is none)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {_key(str(p["unit"]), str(p["duplicate_of"])) for p in data["pairs"]}
    except FileNotFoundError:
        return set()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"cannot read the duplicate baseline {path}: {exc}; rewrite it with "
            "`codesearch dupes --update-baseline`"
        ) from None


def write_baseline(path: Path, pairs: Iterable[DuplicatePair]) -> int:
    """Write every pair as the baseline (sorted, so that its diffs stay small); returns the count."""
    rows = sorted(
        (
            {
                "unit": p.unit.fingerprint,
                "duplicate_of": p.duplicate_of.fingerprint,
                "where": f"{p.unit.path}:{p.unit.start_line} ~ "
                f"{p.duplicate_of.path}:{p.duplicate_of.start_line}",
                "kind": p.kind,
            }
            for p in pairs
        ),
        key=lambda r: (r["where"], r["unit"], r["duplicate_of"]),
    )
    body = {"version": BASELINE_VERSION, "pairs": rows}
    # Renamed over the old one: a baseline that is a link (in a clone) is replaced, never followed.
    replace_file(path, json.dumps(body, indent=1) + "\n")
    return len(rows)
