"""Which files of a repository get indexed, and why the others do not.

Honours .gitignore files (nested too), .git/info/exclude, .codesearchignore and
the `exclude` option; skips vendored and build folders, lock files,
secret-bearing files, binaries, oversized, minified and generated files (the
rules: codesearch.indexing.pathfilter, shared with the watcher). Any
other text file is indexed: with a grammar when its name (or shebang) names one,
else as "text" (a file unit and sections), so a language without a grammar is
still searchable. Never follows a symlink: a link's target is either inside the
root (indexed at its own path) or outside it (not ours to read), and links are
how loops happen.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from codesearch.indexing.pathfilter import (
    PathFilter,
    is_build_dir,
    skip_reason_for_content,
    skip_reason_for_name,
)
from codesearch.models import SkippedFile
from codesearch.parsing import TEXT, language_for_path
from codesearch.safefs import read_limited, read_problem

#: The rules themselves live in codesearch.indexing.pathfilter (the watcher filters events by them too).
__all__ = [
    "Discovery",
    "FileEntry",
    "PathFilter",
    "discover",
    "skip_reason_for_content",
    "skip_reason_for_name",
    "sniff_language",
    "under",
]

_SHEBANG_LANGUAGES = {
    b"bash": "bash",
    b"sh": "bash",
    b"zsh": "bash",
    b"python": "python",
    b"python3": "python",
    b"node": "javascript",
    b"ruby": "ruby",
    b"php": "php",
    b"lua": "lua",
    b"perl": "perl",
    b"elixir": "elixir",
    b"julia": "julia",
    b"pwsh": "powershell",
    b"groovy": "groovy",
}


@dataclass(frozen=True, slots=True)
class FileEntry:
    """A file discovery accepted, with what the indexer needs to diff it."""

    path: str
    abspath: Path
    size: int
    mtime_ns: int
    language: str


@dataclass(slots=True)
class Discovery:
    """Files to index and files passed over."""

    files: list[FileEntry] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)


def under(path: str, targets: Iterable[str]) -> bool:
    """Whether a relative path is one of the targets or inside one ("" is the whole tree).

    Looks up the path and each of its parents in a set: cheap for thousands of targets.
    """
    wanted = targets if isinstance(targets, (set, frozenset)) else set(targets)
    if "" in wanted:
        return True
    while path:
        if path in wanted:
            return True
        path = path.rpartition("/")[0]
    return False


def _ancestors(paths: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for p in paths:
        while "/" in p:
            p = p.rpartition("/")[0]
            out.add(p)
    return out


def discover(
    root: Path,
    exclude: Iterable[str] = (),
    max_file_bytes: int = 1_048_576,
    include_secrets: bool = False,
    only: Iterable[str] | None = None,
) -> Discovery:
    """Walk `root` and sort its files into indexable and skipped.

    With `only` (relative paths of files or directories), just those parts of the
    tree are looked at, with the ignore rules of their parent directories applied.
    """
    result = Discovery()
    rules = PathFilter(root, exclude, include_secrets)
    targets = None if only is None else {t.strip("/") for t in only}
    parents = _ancestors(targets or ())

    def wanted(rel: str, is_dir: bool) -> bool:
        if targets is None or under(rel, targets):
            return True
        return is_dir and rel in parents

    # Iterative (a tree 1,000 directories deep is no RecursionError): a stack of directories
    # being listed, each with its remaining entries and the ignore specs it pushed.
    stack: list[tuple[str, Iterator[os.DirEntry[str]]]] = []
    #: ignore files with lines not applied: listed once, with those lines instead of the usual reason
    warned: set[str] = set()

    def enter(abs_dir: Path, rel_dir: str) -> None:
        problem = rules.rules_problem(rel_dir)
        if problem is not None:
            # Files its rules exclude must not be indexed by accident: leave the directory out.
            result.skipped.append(
                SkippedFile(rel_dir or ".", f"ignore rules could not be read ({problem}); directory skipped")
            )
            return
        for path, why in rules.left_out(rel_dir):
            if targets is None or wanted(path, is_dir=False):
                warned.add(path)
                result.skipped.append(SkippedFile(path, f"ignore file: {why}"))
        try:
            with os.scandir(abs_dir) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            result.skipped.append(SkippedFile(rel_dir or ".", f"unreadable directory: {exc.strerror}"))
            return
        stack.append((rel_dir, iter(entries)))

    enter(root, "")
    while stack:
        rel_dir, entries = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError:
            shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            result.skipped.append(SkippedFile(shown, "file name is not valid UTF-8"))
            continue
        try:
            if targets is not None and not wanted(rel, entry.is_dir(follow_symlinks=False)):
                continue
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue  # vanished while walking
        if stat.S_ISLNK(st.st_mode):
            if not rules.ignored_by_rules(rel, is_dir=False):
                result.skipped.append(SkippedFile(rel, _link_reason(root, Path(entry.path))))
            continue
        if stat.S_ISDIR(st.st_mode):
            if not is_build_dir(entry.name) and not rules.ignored_by_rules(rel, is_dir=True):
                enter(Path(entry.path), rel)
            continue
        if not stat.S_ISREG(st.st_mode) or rules.ignored_by_rules(rel, is_dir=False) or rel in warned:
            continue
        reason = rules.name_reason(rel)
        if reason is None and st.st_size > max_file_bytes:
            reason = f"larger than {max_file_bytes} bytes"
        language = language_for_path(rel) if reason is None else None
        if reason is None and language is None:
            language, reason = sniff_language(Path(entry.path))
        if reason is not None or language is None:
            result.skipped.append(SkippedFile(rel, reason or "not a source or text file"))
            continue
        result.files.append(FileEntry(rel, Path(entry.path), st.st_size, st.st_mtime_ns, language))
    return result


def _link_reason(root: Path, link: Path) -> str:
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):
        return "symlink loop or dangling symlink"
    try:
        target.relative_to(root.resolve())
    except ValueError:
        return "symlink out of the root"
    return "symlink (its target is indexed at its own path)"


def sniff_language(path: Path) -> tuple[str | None, str | None]:
    """(language, None) for a file whose name does not tell, from its first bytes:
    a script's `#!` line names a grammar, any other text is "text";
    (None, reason) for a binary or unreadable file."""
    try:
        head = read_limited(path, _SNIFF_BYTES)[:_SNIFF_BYTES]
    except OSError as exc:
        return None, read_problem(exc)
    if b"\0" in head:
        return None, "binary"
    return _shebang_language(head) or TEXT, None


_SNIFF_BYTES = 8192


def _shebang_language(head: bytes) -> str | None:
    """The language a `#!` line names, if it has a grammar."""
    first = head.split(b"\n", 1)[0][:200]
    words = first[2:].split() if first.startswith(b"#!") else []
    if not words:
        return None
    program = words[1] if words[0].endswith(b"/env") and len(words) > 1 else words[0].rsplit(b"/", 1)[-1]
    return _SHEBANG_LANGUAGES.get(program.rstrip(b"0123456789.")) or _SHEBANG_LANGUAGES.get(program)
