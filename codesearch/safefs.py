"""Writes that never follow a link: what codesearch creates under a repository it does not trust.

A cloned repository can hold a symlink wherever codesearch writes (`.codesearch/owner.lock`
pointing at ~/.bashrc, a `.codesearch/` that is a link to another directory). Every
directory codesearch makes is checked with `lstat` to be a real directory, and every file
it writes is opened with `O_NOFOLLOW` (new ones with `O_EXCL`), so a link makes the command
stop with one line instead of writing through it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import subprocess
import time
from pathlib import Path

from codesearch.errors import ConfigError

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symlink"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a file"


def real_dir(path: Path) -> Path:
    """Create `path` (and missing parents) if needed; ConfigError unless it is a real directory."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        pass  # a link or a file: reported below
    except OSError as exc:
        raise ConfigError(f"cannot create the directory {path}: {exc.strerror or exc}") from None
    try:
        mode = path.lstat().st_mode
    except OSError as exc:
        raise ConfigError(f"cannot use the directory {path}: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(mode):
        raise ConfigError(
            f"{path} is {_kind(mode)}, not a directory; codesearch never writes through links: "
            "remove it and run again"
        )
    return path


def real_dirs(base: Path, *parts: str) -> Path:
    """`base` and each of `parts` below it, created where missing, each checked to be a real directory."""
    path = real_dir(base)
    for part in parts:
        path = real_dir(path / part)
    return path


def check_regular_or_absent(path: Path) -> None:
    """ConfigError if `path` exists and is a link or anything but a regular file (a database a
    library will open by name, say)."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigError(f"cannot use {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise ConfigError(
            f"{path} is {_kind(mode)}, not a regular file; codesearch never writes through links: "
            "remove it and run again"
        )


def open_file(path: Path, flags: int = os.O_RDWR | os.O_CREAT, mode: int = 0o600) -> int:
    """A descriptor of the regular file at `path`, opened without following a link (and without
    blocking on a FIFO); ConfigError if it is a link or not a regular file."""
    try:
        fd = os.open(path, flags | _NOFOLLOW | _CLOEXEC | _NONBLOCK, mode)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK) or path.is_symlink():
            raise ConfigError(
                f"{path} is a symlink; codesearch never writes through links: remove it and run again"
            ) from None
        raise ConfigError(f"cannot open {path}: {exc.strerror or exc}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise ConfigError(
            f"{path} is {_kind(st.st_mode)}, not a regular file; codesearch never writes into it: "
            "remove it and run again"
        )
    if _NONBLOCK:
        os.set_blocking(fd, True)
    return fd


def write_new(path: Path, text: str) -> bool:
    """Create `path` with `text` unless a regular file is already there (then leave it: False).

    Never follows a link and never truncates: ConfigError if something else is at `path`.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o644)
    except FileExistsError:
        check_regular_or_absent(path)
        return False
    except OSError as exc:
        raise ConfigError(f"cannot create {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return True


def replace_file(path: Path, text: str) -> None:
    """Write `text` to `path` through a fresh temporary file renamed over it: a link at `path` is
    replaced, never followed; a directory or special file there is refused."""
    try:
        mode = path.lstat().st_mode
        if stat.S_ISDIR(mode):
            raise ConfigError(f"{path} is a directory; cannot write a file there")
    except FileNotFoundError:
        pass
    tmp = path.with_name(f".{path.name}.codesearch-{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None


def refuse_tracked(root: Path, index_dir: Path) -> None:
    """ConfigError when the repository at `root` tracks `index_dir` (or something in it) in git:
    an index that comes with a clone is not trusted (its files could be links or forged results)."""
    try:
        rel = index_dir.relative_to(root)
    except ValueError:
        return  # outside the repository: not the repository's to supply
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--", str(rel)],
            capture_output=True,
            timeout=30,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return  # no git: nothing can be tracked
    if out.returncode == 0 and out.stdout.strip(b"\0"):
        raise ConfigError(
            f"the repository tracks {rel}/ in git; codesearch does not trust an index that comes with "
            f"a repository: remove it from git (`git rm -r --cached {rel}`) or set index_dir elsewhere"
        )


def inside_root(root: Path, rel: object) -> Path | None:
    """The file a relative index path names under `root`, or None when the path is not a plain
    relative path (absolute, `..`, empty parts, NUL) or resolves out of the root through a link."""
    if not isinstance(rel, str) or not rel or "\0" in rel or rel.startswith("/"):
        return None
    parts = rel.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return None
    full = root / rel
    try:
        full.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):
        return None
    return full


def set_aside(path: Path) -> Path:
    """Rename a damaged SQLite database (with its -wal and -shm files) out of the way; returns
    the new name of the main file. Nothing is deleted."""
    stamp = int(time.time())
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    for suffix in ("-wal", "-shm", "-journal"):
        extra = Path(f"{path}{suffix}")
        if extra.exists():
            extra.rename(Path(f"{aside}{suffix}"))
    path.rename(aside)
    return aside


class NotRegularFileError(OSError):
    """A path that was to be read is a FIFO, socket, device or directory."""


def read_limited(path: Path, limit: int) -> bytes:
    """At most `limit + 1` bytes of the regular file at `path` (one more than allowed tells the
    caller it is too large). Never follows a link (OSError ELOOP), never blocks on a FIFO and
    never reads a device (NotRegularFileError)."""
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(errno.EINVAL, f"not a regular file ({_kind(mode)})")
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_problem(exc: OSError) -> str:
    """Why a file could not be read, in a few words."""
    if isinstance(exc, NotRegularFileError):
        return exc.strerror or "not a regular file"
    if exc.errno == errno.ELOOP:
        return "is a symlink"
    return f"unreadable: {exc.strerror or exc}"


#: File in an index directory naming the repository it belongs to.
OWNER_ROOT_FILE = "repository"


def claim_index_dir(index_dir: Path, root: Path) -> None:
    """Record in `index_dir` which repository it belongs to; ConfigError when it is another's.

    One index directory shared by two repositories would mix their files, lock and socket. The
    default `.codesearch/` inside the root follows its repository when that is moved or copied
    (the record is updated); a configured one names its repository until that record is removed.
    """
    path = index_dir / OWNER_ROOT_FILE
    mine = os.fsencode(root.resolve()).decode("utf-8", "replace")
    if write_new(path, mine + "\n"):
        return
    try:
        recorded = read_limited(path, 4096)[:4096].decode("utf-8", "replace").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {read_problem(exc)}") from None
    if recorded == mine:
        return
    if index_dir == root / ".codesearch" or not recorded:
        replace_file(path, mine + "\n")
        return
    raise ConfigError(
        f"index directory {index_dir} holds the index of {recorded}, not of {root}; give each "
        f"repository its own index_dir (or delete {path} if {recorded} is gone)"
    )
