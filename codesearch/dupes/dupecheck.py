"""The one call front ends make for a duplicate check (`codesearch dupes`, the pre-commit hook).

Brings the index up to date (building it when there is none), reads the change
with git, asks the engine for pairs, and drops the known ones (codesearch.dupes.suppress).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from codesearch.dupes.duplicates import DuplicateReport
from codesearch.dupes.gitstage import ChangedFile, branch_changes, staged_changes
from codesearch.dupes.suppress import load_suppressions, write_baseline
from codesearch.engine import Engine
from codesearch.errors import ConfigError
from codesearch.indexing.indexer import ProgressCallback
from codesearch.safefs import read_limited

SCOPES = ("staged", "branch", "repository")


@dataclass(frozen=True, slots=True)
class DuplicateCheck:
    """What to check: the staged change, a branch against `rev`, or the whole repository."""

    scope: str = "repository"
    rev: str = ""
    #: Baseline file; None: the `dupes_baseline` option.
    baseline: Path | None = None
    #: Write every current pair (scope repository) to the baseline instead of reporting them.
    update_baseline: bool = False


def check_duplicates(
    engine: Engine,
    check: DuplicateCheck,
    notice: Callable[[str], None] | None = None,
    progress: ProgressCallback | None = None,
) -> DuplicateReport:
    """Run a duplicate check on the repository at `engine.root`; the report holds the pairs to report.

    `progress` is told about the first index build only (later runs index a few files quietly).
    """
    if check.scope not in SCOPES:
        raise ConfigError(f"unknown duplicate check {check.scope!r}; use one of {', '.join(SCOPES)}")
    if check.update_baseline and check.scope != "repository":
        raise ConfigError("--update-baseline records the whole repository; leave out --staged and --base")
    root = engine.root
    if engine.owner:
        building = not engine.has_index
        if building and notice is not None:
            notice(
                f"no index of {root} yet: building one first (only this once; later runs index what changed)"
            )
        engine.index(progress if building else None)
    changes: list[ChangedFile] | None = None
    if check.scope == "staged":
        changes = staged_changes(root)
    elif check.scope == "branch":
        changes = branch_changes(root, check.rev)
    report = engine.find_duplicates(changes)
    settings = engine.settings
    baseline = check.baseline or root / settings.dupes_baseline
    suppressions = load_suppressions(root / settings.dupes_suppressions, None)
    if check.update_baseline:
        kept, report.suppressed = suppressions.split(report.pairs)
        count = write_baseline(baseline, kept)
        report.notes.append(f"wrote {count} known pairs to {baseline}")
        report.pairs = []
        return report
    return _drop_known(report, root, settings.dupes_suppressions, baseline)


def check_files(engine: Engine, paths: list[str]) -> DuplicateReport:
    """Duplicates of the functions in these files as they are on disk (an editor's saved files).

    Every function of the files is checked, not only edited ones; the index is not
    updated first (a watcher keeps it current). Known pairs are dropped.
    """
    root = engine.root
    changes = []
    for rel in paths:
        try:
            data = read_limited(root / rel, engine.settings.max_file_bytes)
            if len(data) <= engine.settings.max_file_bytes:
                changes.append(ChangedFile(rel, data, None))
        except OSError:
            continue  # gone since it was saved: nothing to check
    report = engine.find_duplicates(changes)
    settings = engine.settings
    return _drop_known(report, root, settings.dupes_suppressions, root / settings.dupes_baseline)


def _drop_known(report: DuplicateReport, root: Path, suppress_file: str, baseline: Path) -> DuplicateReport:
    suppressions = load_suppressions(root / suppress_file, baseline)
    report.pairs, report.suppressed = suppressions.split(report.pairs)
    return report
