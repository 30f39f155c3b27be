"""What a change adds: the files of the staged change or of a branch, read with git plumbing.

- `staged_changes`: files whose entry in git's index differs from HEAD; the new
  text is the staged blob (never the working tree), the old text HEAD's.
- `branch_changes`: files that differ between the merge base of REV and HEAD and
  the working tree (commits on the branch, staged and unstaged edits, and
  untracked files git does not ignore); the new text is the working tree's,
  the old text the merge base's.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from codesearch.errors import GitError
from codesearch.safefs import read_limited

#: git's empty tree: what HEAD is before the first commit.
_EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
#: Largest working-tree file read for a duplicate check of a change.
MAX_CHANGED_BYTES = 16 << 20


@dataclass(frozen=True, slots=True)
class ChangedFile:
    """One file of a change: its new content (None when deleted) and its old one (None when added)."""

    path: str
    new: bytes | None
    old: bytes | None


def _git(root: Path, *args: str, stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], input=stdin, capture_output=True, check=False, timeout=120
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"`git {args[0]}` did not finish within 120 s") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"`git {' '.join(args[:2])}` failed: {message[-1] if message else done.returncode}")
    return done.stdout


def git_root(path: Path) -> Path:
    """The top of the git working tree holding `path`."""
    try:
        out = _git(path, "rev-parse", "--show-toplevel")
    except GitError:
        raise GitError(f"{path} is not inside a git repository") from None
    return Path(out.decode().strip()).resolve()


def _head(root: Path) -> str:
    try:
        return _git(root, "rev-parse", "--verify", "-q", "HEAD^{commit}").decode().strip()
    except GitError:
        return _EMPTY_TREE


def _blobs(root: Path, specs: list[str]) -> list[bytes | None]:
    """Contents of `rev:path` / `:path` objects, None where there is no such object."""
    if not specs:
        return []
    out = _git(root, "cat-file", "--batch", stdin="".join(s + "\n" for s in specs).encode())
    result: list[bytes | None] = []
    pos = 0
    for _ in specs:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) < 3 or header[1] == b"missing":
            result.append(None)
            continue
        size = int(header[2])
        result.append(out[pos : pos + size])
        pos += size + 1
    return result


def _name_status(raw: bytes) -> list[tuple[str, str]]:
    fields = raw.split(b"\0")
    out: list[tuple[str, str]] = []
    i = 0
    while i + 1 < len(fields):
        status = fields[i].decode()
        out.append((status[:1], fields[i + 1].decode("utf-8", "surrogateescape")))
        i += 2
    return out


def staged_changes(root: Path) -> list[ChangedFile]:
    """Files the staged change adds, modifies or deletes, with their staged and HEAD contents."""
    head = _head(root)
    changes = _name_status(_git(root, "diff-index", "--cached", "--no-renames", "--name-status", "-z", head))
    paths = [p for _, p in changes]
    new = _blobs(root, [f":0:{p}" for p in paths])
    old = _blobs(root, [f"{head}:{p}" for p in paths]) if head != _EMPTY_TREE else [None] * len(paths)
    return [
        ChangedFile(path, n if status != "D" else None, o)
        for (status, path), n, o in zip(changes, new, old, strict=True)
    ]


def branch_changes(root: Path, rev: str) -> list[ChangedFile]:
    """Files changed since the merge base of `rev` and HEAD, as they are in the working tree now."""
    base = _git(root, "merge-base", rev, "HEAD").decode().strip()
    changes = _name_status(_git(root, "diff", "--no-renames", "--name-status", "-z", base))
    untracked = _git(root, "ls-files", "--others", "--exclude-standard", "-z").split(b"\0")
    changes += [("A", p.decode("utf-8", "surrogateescape")) for p in untracked if p]
    old = _blobs(root, [f"{base}:{p}" for _, p in changes])
    out: list[ChangedFile] = []
    for (status, path), before in zip(changes, old, strict=True):
        try:
            # Never through a link (a branch may add one to /dev/zero), never a FIFO.
            now: bytes | None = read_limited(root / path, MAX_CHANGED_BYTES) if status != "D" else None
            if now is not None and len(now) > MAX_CHANGED_BYTES:
                now = None
        except OSError:
            now = None
        out.append(ChangedFile(path, now, before))
    return out
