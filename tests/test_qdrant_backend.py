"""The Qdrant store through the CLI (qdrant-client local mode: no server binary here)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from test_cli import cs


def test_index_and_query_on_qdrant_local_mode(nasty_repo: Path, tmp_path: Path) -> None:
    flags = ["--store", "qdrant", "--qdrant-path", str(tmp_path / "qdrant")]
    done = cs("index", str(nasty_repo), "--json", *flags)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["units"] > 30
    hits = json.loads(
        cs("query", "exponential backoff upload", "--root", str(nasty_repo), "--json", *flags).stdout
    )
    assert hits[0]["symbol"] == "Uploader.upload_with_retry"
    status = json.loads(cs("status", str(nasty_repo), "--json", *flags).stdout)
    assert status["store_points"] == status["units"] == report["units"]
    assert status["store"].startswith("qdrant")
    again = json.loads(cs("index", str(nasty_repo), "--json", *flags).stdout)
    assert again["embedded"] == 0 and again["units"] == report["units"]


def test_export_then_import_moves_the_index_without_embedding(nasty_repo: Path, tmp_path: Path) -> None:
    qdrant = ["--qdrant-path", str(tmp_path / "qdrant")]
    assert cs("index", str(nasty_repo), "-q").returncode == 0
    exported = cs("export", str(nasty_repo), "--json", *qdrant)
    assert exported.returncode == 0, exported.stderr
    moved = json.loads(exported.stdout)
    assert moved["files_stale"] == 0 and moved["files_current"] == 9 and moved["points"] > 30
    on_server = json.loads(cs("index", str(nasty_repo), "--json", "--store", "qdrant", *qdrant).stdout)
    assert on_server["embedded"] == 0 and on_server["changed_files"] == 0

    # A teammate's clone, with one file edited since the export: import, then index.
    clone = tmp_path / "clone"
    shutil.copytree(nasty_repo, clone, symlinks=True, ignore=shutil.ignore_patterns(".codesearch"))
    cart = clone / "web" / "cart.ts"
    cart.write_text(cart.read_text().replace("totalWithTax", "totalIncludingTax"))
    env = {"CODESEARCH_QDRANT_REPOSITORY": str(nasty_repo), "XDG_CACHE_HOME": str(tmp_path / "other-cache")}
    imported = cs("import", str(clone), "--json", *qdrant, env=env)
    assert imported.returncode == 0, imported.stderr
    result = json.loads(imported.stdout)
    assert result["files_current"] == 8 and result["files_stale"] == 1
    after = json.loads(cs("index", str(clone), "--json", env=env).stdout)
    # Only the edited file is embedded (all five of its units: this clone has its own empty cache).
    assert after["changed_files"] == 1 and after["embedded"] == 5
    status = json.loads(cs("status", str(clone), "--json", env=env).stdout)
    assert status["units"] == status["store_points"] and status["pending"] == 0
    hits = json.loads(cs("query", "total including tax", "--root", str(clone), "--json", env=env).stdout)
    assert "ShoppingCart.totalIncludingTax" in [h["symbol"] for h in hits[:2]]
