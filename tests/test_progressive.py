"""The progressive index: searchable from the static model in seconds, then upgraded to
MiniLM a few files at a time; searches switch once the upgrade covers every file.
Real models from the package, the real embedded store, a real watcher."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from codesearch import Engine, load_settings
from codesearch.watch.watcher import Watcher

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "ranking_repo"
STATIC = "codesearch-static-code-v2"
MINILM = "all-MiniLM-L6-v2-int8"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURE, root)
    return root


def _engine(root: Path, **overrides: object) -> Engine:
    settings, _ = load_settings(root, {"upgrade_model": "minilm", **overrides}, environ={})
    return Engine.open(root, settings, write=True)


def test_static_first_then_the_upgrade_a_few_files_at_a_time(repo: Path) -> None:
    with _engine(repo) as engine:
        engine.index()
        status = engine.status()
        assert status["model"] == STATIC
        assert status["upgrade"] == {"model": MINILM, "files": 0, "of_files": 5, "searching": False}
        assert engine.search("retry a failed upload with backoff")[0].symbol == "UploadWithRetry"
        report = engine.upgrade(max_files=2)
        assert report is not None and report.changed_files == 2
        assert len(engine.upgrade_pending()) == 3
        assert not engine.status()["upgrade"]["searching"]  # partial: searches stay on static
    # A new process (after a kill, say) carries on where the last one stopped.
    with _engine(repo) as engine:
        assert len(engine.upgrade_pending()) == 3
        engine.upgrade()
        assert engine.upgrade_pending() == [] and engine.upgrade() is None
        assert engine.status()["upgrade"]["searching"]
        assert engine._active().embedder().model_id == MINILM
        hits = engine.search("Command")
        assert (hits[0].symbol, hits[0].kind) == ("Command", "struct")
        # Once upgraded, an index run keeps both current: an edit never drops searches back.
        (repo / "retry.go").write_text((repo / "retry.go").read_text() + "\n// edited\n")
        engine.index()
        assert engine.upgrade_pending() == [] and engine.status()["upgrade"]["searching"]
        # A deleted file leaves both indexes.
        (repo / "internal" / "help.go").unlink()
        engine.update(["internal/help.go"])
        assert engine.upgrade_pending() == []
        assert all(h.path != "internal/help.go" for h in engine.search("usage line of a command"))


def test_an_upgrade_cut_by_another_parser_is_built_again(repo: Path) -> None:
    import sqlite3

    from codesearch.parsing import units_version

    with _engine(repo) as engine:
        engine.index()
        engine.upgrade()
        assert engine.upgrade_pending() == [] and engine.upgrade() is None
    (db,) = [p for p in (repo / ".codesearch").glob("indexes/*/state.sqlite") if "minilm" in str(p).lower()]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'units'").fetchone() == (units_version(),)
        conn.execute("UPDATE meta SET value = 'an-older-parser' WHERE key = 'units'")
    with _engine(repo) as engine:
        report = engine.upgrade()
        assert report is not None and report.changed_files == 5 and report.units == engine.status()["units"]
        assert engine.upgrade_pending() == [] and engine.upgrade() is None
        assert engine.status()["upgrade"]["searching"]


def test_no_upgrade_for_minilm_or_when_turned_off(repo: Path) -> None:
    with _engine(repo, upgrade_model="") as engine:
        engine.index()
        assert "upgrade" not in engine.status() and engine.upgrade() is None


def test_the_watcher_upgrades_in_the_background(repo: Path) -> None:
    with _engine(repo) as engine:
        kinds: list[str] = []
        watcher = Watcher(engine, on_update=lambda u: kinds.append(u.kind))
        watcher.start()
        try:
            deadline = time.monotonic() + 120
            while not engine.upgraded() and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            watcher.stop()
        assert engine.upgraded(), kinds
        assert kinds[0] == "catch-up" and "upgrade" in kinds
