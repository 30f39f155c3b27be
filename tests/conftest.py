"""Shared fixtures: a clean environment, and sample repositories with nasty files."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No CODESEARCH_* from the caller; user config and the embedding cache in this test's temp dir."""
    for key in list(os.environ):
        if key.startswith("CODESEARCH_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    # No progressive upgrade to MiniLM in the background of watch and language-server tests
    # (processes they start inherit this); tests/test_progressive.py turns it on where it is tested.
    monkeypatch.setenv("CODESEARCH_UPGRADE_MODEL", "")
    yield


def make_nasty_repo(dest: Path) -> Path:
    """Copy the sample repository and add the files that must not hurt an index run."""
    shutil.copytree(FIXTURES / "sample_repo", dest)
    (dest / "ignored_dir").mkdir()
    (dest / "ignored_dir" / "x.py").write_text("def should_not_be_indexed():\n    pass\n")
    (dest / "app.log").write_text("debug\n")
    (dest / "src" / "blob.c").write_bytes(b"int main() {\0\0\0\x01\x02 return 0; }\n")
    (dest / "src" / "latin1.py").write_bytes(
        'def café_price(amount):\n    """Prix en euros."""\n    return amount * 1.2\n'.encode("latin-1")
    )
    big = "".join(f"def generated_{i}(x):\n    return x + {i}\n\n" for i in range(40_000))
    (dest / "src" / "huge.py").write_text(big)
    (dest / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (dest / "loop").symlink_to(dest)
    (dest / "outside").symlink_to("/etc")
    (dest / "src" / "dangling.py").symlink_to(dest / "nowhere.py")
    (dest / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    return dest


@pytest.fixture
def nasty_repo(tmp_path: Path) -> Path:
    """A multi-language repository with binary, non-UTF-8, huge, minified, secret and linked files."""
    return make_nasty_repo(tmp_path / "repo")
