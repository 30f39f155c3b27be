"""A third-party editor as the client: headless Neovim (Debian's 0.7) talks to codesearch-lsp."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES
from lsp_client import server_env

NVIM = shutil.which("nvim")
SCRIPT = Path(__file__).parent / "nvim" / "search.lua"


@pytest.mark.skipif(NVIM is None, reason="Neovim is not installed (.ci/run installs Debian's neovim)")
def test_neovim_searches_through_the_server(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "sample_repo", repo)
    out = tmp_path / "report.json"
    env = server_env(tmp_path)
    env.update(
        CS_PYTHON=sys.executable,
        CS_ROOT=str(repo),
        CS_QUERY="retry a failed upload with exponential backoff",
        CS_OUT=str(out),
        XDG_DATA_HOME=str(tmp_path / "xdg-data"),
        XDG_STATE_HOME=str(tmp_path / "xdg-state"),
        HOME=str(tmp_path),
    )
    assert NVIM is not None
    done = subprocess.run(
        [NVIM, "--headless", "--clean", "-u", "NONE", "-c", f"luafile {SCRIPT}"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert out.exists(), f"Neovim wrote no report: rc={done.returncode} {done.stdout} {done.stderr}"
    report = json.loads(out.read_text())
    assert "lua_error" not in report, report
    assert report["initialized"] and report["ready"], report
    hits = report["search"]["results"]
    assert hits[0]["uri"] == (repo / "src/net/upload.py").as_uri(), hits
    assert hits[0]["range"]["start"]["line"] == 17 and "upload_with_retry" in hits[0]["symbol"]
    assert report["search"]["partial"] is False
    symbol = report["symbols"][0]
    assert symbol["location"]["uri"] == (repo / "src/net/upload.py").as_uri()
    assert "upload_with_retry" in symbol["name"] and symbol["kind"] == 6  # Method
    assert report["statuses"][-1] == "ready"
    assert report["stopped"]
