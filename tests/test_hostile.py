"""Hostile repositories, other local users, crashes and corruption (issue 14).

Each test drives the real CLI (a subprocess), real files, real symlinks and real
sockets. The rule: a clear one-line error or a skip with a reason, nothing lost,
never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

STATIC = {"CODESEARCH_MODEL": "static"}  # the fast CPU model: these tests are about safety, not ranking


def cs(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codesearch", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, **STATIC, **(env or {})},
        timeout=timeout,
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    return lines[0]


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
    )


def small_repo(root: Path) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text(
        "def upload_with_retry(path):\n    return send(path)\n\n\ndef parse_date(text):\n    return text\n"
    )
    return root


# -- 1. nothing codesearch writes follows a symlink ---------------------------------------------


@pytest.mark.parametrize("command", ["status", "index"])
def test_committed_lock_symlink_does_not_touch_its_target(tmp_path: Path, command: str) -> None:
    victim = tmp_path / "bashrc"
    victim.write_text("export PATH=/usr/bin\n")
    root = small_repo(tmp_path / "repo")
    (root / ".codesearch").mkdir()
    (root / ".codesearch" / "owner.lock").symlink_to(victim)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "hostile")
    done = cs(command, str(root))
    assert done.returncode == 3
    assert "tracks .codesearch" in one_line_error(done)
    assert victim.read_text() == "export PATH=/usr/bin\n"


def test_untracked_links_in_the_index_dir_are_refused(tmp_path: Path) -> None:
    victim = tmp_path / "bashrc"
    victim.write_text("keep me\n")
    root = small_repo(tmp_path / "repo")
    (root / ".codesearch").mkdir()
    (root / ".codesearch" / "owner.lock").symlink_to(victim)
    done = cs("status", str(root))
    assert done.returncode == 3 and "symlink" in one_line_error(done)
    assert victim.read_text() == "keep me\n"

    (root / ".codesearch" / "owner.lock").unlink()
    (root / ".codesearch" / ".gitignore").unlink(missing_ok=True)
    elsewhere = tmp_path / "created-anywhere"
    (root / ".codesearch" / ".gitignore").symlink_to(elsewhere)
    done = cs("index", str(root), "-q")
    assert done.returncode == 3 and "symlink" in one_line_error(done)
    assert not elsewhere.exists()


def test_index_dir_that_is_a_link_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "somewhere"
    target.mkdir()
    root = small_repo(tmp_path / "repo")
    (root / ".codesearch").symlink_to(target)
    done = cs("index", str(root), "-q")
    assert done.returncode == 3 and "not a directory" in one_line_error(done)
    assert list(target.iterdir()) == []


def test_state_database_link_is_refused(tmp_path: Path) -> None:
    root = small_repo(tmp_path / "repo")
    assert cs("index", str(root), "-q").returncode == 0
    [state] = list((root / ".codesearch" / "indexes").glob("*/state.sqlite"))
    victim = tmp_path / "victim.sqlite"
    victim.write_bytes(b"")
    state.unlink()
    for extra in ("-wal", "-shm"):
        Path(f"{state}{extra}").unlink(missing_ok=True)
    state.symlink_to(victim)
    done = cs("index", str(root), "-q")
    assert done.returncode == 3 and "state.sqlite" in one_line_error(done)
    assert victim.read_bytes() == b""


def test_baseline_link_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "bashrc"
    victim.write_text("keep me\n")
    root = small_repo(tmp_path / "repo")
    (root / ".codesearch-dupes-baseline.json").symlink_to(victim)
    assert cs("index", str(root), "-q").returncode == 0
    done = cs("dupes", str(root), "--update-baseline")
    assert done.returncode == 0, done.stderr
    assert victim.read_text() == "keep me\n"
    baseline = root / ".codesearch-dupes-baseline.json"
    assert not baseline.is_symlink() and json.loads(baseline.read_text())["pairs"] == []
