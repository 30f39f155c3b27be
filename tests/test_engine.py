"""The engine end to end: real grammars, the real CPU model, the real Qdrant Edge store."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from codesearch import Engine, SearchFilters, load_settings


def _open(root: Path, **overrides: object) -> Engine:
    settings, _ = load_settings(root, overrides)
    return Engine.open(root, settings, write=True)


@pytest.fixture(scope="module")
def indexed_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conftest import make_nasty_repo

    base = tmp_path_factory.mktemp("indexed")
    root = make_nasty_repo(base / "repo")
    # Module-scoped: runs before the per-test environment, so name the cache explicitly.
    with _open(root, cache_dir=str(base / "cache")) as engine:
        engine.index()
    return root


def test_index_reports_units_and_skips(nasty_repo: Path) -> None:
    with _open(nasty_repo) as engine:
        report = engine.index()
    assert report.files == 9
    assert report.units_by_kind["method"] >= 10
    assert report.units_by_kind["file"] == 9
    assert set(report.units_by_language) >= {"python", "go", "javascript", "typescript", "rust", "java"}
    reasons = {s.path: s.reason for s in report.skipped}
    assert reasons["src/blob.c"] == "binary"
    assert reasons["web/vendor-bundle.js"].startswith("minified")
    assert reasons[".env"] == "may hold secrets"
    assert [w.path for w in report.warnings] == ["src/latin1.py"]
    assert report.embedded > 0


def test_query_finds_the_right_function(indexed_repo: Path) -> None:
    with Engine.open(indexed_repo) as engine:
        hits = engine.search("retry a failed upload with exponential backoff", k=5)
        assert hits[0].symbol == "Uploader.upload_with_retry"
        assert (hits[0].path, hits[0].start_line, hits[0].end_line) == ("src/net/upload.py", 18, 27)
        go = engine.search("parse a date string in ISO format", k=3, filters=SearchFilters(languages=("go",)))
        assert go and all(h.language == "go" for h in go)
        assert go[0].symbol == "ParseISODate"
        only_web = engine.search("event handler", k=10, filters=SearchFilters(paths=("web/**",)))
        assert only_web and all(h.path.startswith("web/") for h in only_web)
        methods = engine.search("cache", k=10, filters=SearchFilters(kinds=("method",)))
        assert methods and all(h.kind == "method" for h in methods)
        assert engine.search("x", filters=SearchFilters(paths=("nothing/**",))) == []


def test_modes_each_answer(indexed_repo: Path) -> None:
    with Engine.open(indexed_repo) as engine:
        for mode in ("dense", "lexical", "hybrid"):
            hits = engine.search("least recently used cache eviction", k=3, mode=mode)
            assert hits and hits[0].path == "lib/lru.rs", mode


def test_latin1_file_is_searchable(indexed_repo: Path) -> None:
    with Engine.open(indexed_repo) as engine:
        hits = engine.search("café price in euros", k=3, mode="lexical")
    assert hits[0].path == "src/latin1.py"


def test_incremental_reindex(nasty_repo: Path) -> None:
    with _open(nasty_repo) as engine:
        first = engine.index()
        again = engine.index()
        assert again.embedded == 0 and again.changed_files == 0 and again.units == first.units
        upload = nasty_repo / "src" / "net" / "upload.py"
        upload.write_text(upload.read_text().replace("def delete(self, key):", "def remove(self, key):"))
        edited = engine.index()
        assert edited.changed_files == 1
        # The static model skips the cache (embedding is cheaper): the changed file's units only.
        from codesearch.parsing import parse_file

        units = parse_file("src/net/upload.py", upload.read_bytes(), "python").units
        assert 1 <= edited.embedded <= len(units)
        assert any(h.symbol == "Uploader.remove" for h in engine.search("remove an object from the bucket"))
        assert not any(h.symbol == "Uploader.delete" for h in engine.search("remove object bucket", k=50))
        (nasty_repo / "lib" / "lru.rs").unlink()
        gone = engine.index()
        assert gone.deleted == 1
        assert all(h.path != "lib/lru.rs" for h in engine.search("least recently used cache", k=50))
        assert engine.status()["store_points"] == engine.status()["units"]


def test_an_index_built_by_another_parser_is_analysed_again(nasty_repo: Path) -> None:
    import sqlite3

    with _open(nasty_repo) as engine:
        first = engine.index()
        assert engine.index().changed_files == 0
    # What an index built by an earlier release (other queries, other grammars) holds.
    (db,) = (nasty_repo / ".codesearch").glob("indexes/*/state.sqlite")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = 'an-older-parser' WHERE key = 'units'")
    with _open(nasty_repo) as engine:
        again = engine.index()
        assert again.changed_files == first.files and again.units == first.units
        assert any("parser changed" in w.reason for w in again.warnings)
        assert engine.status()["store_points"] == engine.status()["units"]
        after = engine.index()
        assert after.changed_files == 0 and not any("parser changed" in w.reason for w in after.warnings)


def test_second_clone_reuses_the_embedding_cache(nasty_repo: Path, tmp_path: Path) -> None:
    import shutil

    # The cache is for models that cost more to run than to look up (MiniLM, a server).
    with _open(nasty_repo, model="minilm") as engine:
        engine.index()
    clone = tmp_path / "clone"
    shutil.copytree(nasty_repo, clone, symlinks=True, ignore=shutil.ignore_patterns(".codesearch"))
    with _open(clone, model="minilm") as engine:
        report = engine.index()
        edited = clone / "src" / "net" / "upload.py"
        edited.write_text(edited.read_text().replace("def delete(self, key):", "def remove(self, key):"))
        again = engine.index()
    assert report.embedded == 0 and report.cached > 0 and report.units > 0
    assert again.changed_files == 1 and 1 <= again.embedded <= 4  # the method, its class and file


def test_index_lives_where_git_does_not_see_it(nasty_repo: Path) -> None:
    subprocess.run(["git", "init", "-q", str(nasty_repo)], check=True)
    before = subprocess.run(["git", "status", "--porcelain"], cwd=nasty_repo, capture_output=True, text=True)
    with _open(nasty_repo) as engine:
        engine.index()
    after = subprocess.run(["git", "status", "--porcelain"], cwd=nasty_repo, capture_output=True, text=True)
    assert before.stdout == after.stdout


def test_update_checks_only_the_given_paths(nasty_repo: Path) -> None:
    with _open(nasty_repo) as engine:
        first = engine.index()
        (nasty_repo / "src" / "net" / "ping.py").write_text("def ping_host(host):\n    return host.ping()\n")
        # A change elsewhere that update() is not told about stays unseen until a full index.
        (nasty_repo / "web" / "extra.js").write_text("export function untold() { return 1; }\n")
        report = engine.update(["src/net/ping.py"])
        assert report.changed_files == 1 and report.units == first.units + 2
        assert engine.search("ping a host", k=1)[0].path == "src/net/ping.py"
        # A directory moved away: every file under the old path goes, the new path comes.
        (nasty_repo / "src" / "net").rename(nasty_repo / "src" / "network")
        moved = engine.update(["src/net", "src/network"])
        assert moved.deleted == 2 and moved.changed_files == 2  # re-embedded: the path is in the text
        hit = engine.search("retry a failed upload with exponential backoff", k=1)[0]
        assert hit.path == "src/network/upload.py"
        # Ignored and unknown paths are no-ops.
        (nasty_repo / "ignored_dir" / "y.py").write_text("def nope():\n    pass\n")
        noop = engine.update(["ignored_dir/y.py", "does/not/exist.py", "../outside"])
        assert noop.changed_files == 0 and noop.deleted == 0
        full = engine.index()
        assert full.changed_files == 1  # web/extra.js


def test_an_update_keeps_a_complete_index_complete_and_never_completes_an_interrupted_one(
    nasty_repo: Path,
) -> None:
    with _open(nasty_repo) as engine:
        engine.index()
        (nasty_repo / "src" / "late.py").write_text("def arrived_late():\n    return 1\n")
        seen: list[bool] = []
        engine.update(["src/late.py"], lambda p: seen.append(engine.status()["complete"]))
        assert seen and all(seen), "a watcher's update is no interruption of a complete index"
        assert engine.status()["complete"]

        (nasty_repo / "src" / "later.py").write_text("def arrived_later():\n    return 2\n")

        def killed(p: object) -> None:
            raise KeyboardInterrupt  # the user stops a full run part way

        with pytest.raises(KeyboardInterrupt):
            engine.index(killed)
        assert not engine.status()["complete"]
        (nasty_repo / "src" / "late.py").write_text("def arrived_late():\n    return 3\n")
        update = engine.update(["src/late.py"])
        assert not update.resumed and update.changed_files == 1
        assert not engine.status()["complete"], "an update of one file does not finish the full run"
        resumed = engine.index()
        assert resumed.resumed and engine.status()["complete"]
        assert engine.search("arrived_later", k=1, mode="lexical")[0].path == "src/later.py"


def test_vectors_are_quantised_past_the_threshold_and_search_still_right(tmp_path: Path) -> None:
    """The embedded store quantises (optimize) at quantize_threshold units and again after 20% growth."""
    import shutil

    from conftest import FIXTURES

    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "sample_repo", root)
    query = "retry a failed upload with exponential backoff"
    with _open(root, quantize_threshold=10) as engine:
        first = engine.index()
        state = engine._open_store(create=False)[1]
        assert int(state.get_meta("quantized_points") or 0) == first.units >= 10
        assert engine._open_store(create=False)[0].quantized
        assert engine.search(query, k=1)[0].symbol == "Uploader.upload_with_retry"
        extra = "".join(f"def tide_table_{i}(harbour):\n    return harbour.tides[{i}]\n\n" for i in range(30))
        (root / "tides.py").write_text(extra)
        grown = engine.update(["tides.py"])
        assert grown.units > first.units * 1.2
        assert int(state.get_meta("quantized_points") or 0) == grown.units  # quantised again after the growth
        (root / "src" / "net" / "upload.py").unlink()
        engine.update(["src/net/upload.py"])
        # Points written and deleted after a build are seen: nothing stale, nothing missing.
        hits = engine.search(query, k=5)
        assert hits and all(h.path != "src/net/upload.py" for h in hits)
        assert engine.search("tide_table_29", k=1, mode="lexical")[0].symbol == "tide_table_29"
    with _open(root, quantize_threshold=10) as engine:  # and after reopening
        assert engine.search("tide_table_7", k=1, mode="dense")[0].path == "tides.py"
        assert engine.status()["units"] == engine._open_store(create=False)[0].count()


def test_a_closed_engine_never_takes_the_index_over(
    nasty_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search still in flight when a front end closes its engine must not make that closed
    engine the index's owner (nobody would close it, and it would answer from a stale index)."""
    from codesearch import CodesearchError

    monkeypatch.setattr("codesearch.owner.remote.OWNER_GONE_WAIT", 0.3)
    owner = _open(nasty_repo)
    owner.index()
    settings, _ = load_settings(nasty_repo)
    asker = Engine.open(nasty_repo, settings, take_over=True, on_owner=lambda e: pytest.fail("took over"))
    assert not asker.owner
    asker.close()
    owner.close()  # the owner ends too: a live engine with take_over would now become the owner
    with pytest.raises(CodesearchError):
        asker.search("retry a failed upload", mode="lexical")
    assert not asker.owner
    with _open(nasty_repo) as again:  # the lock is free for the next process
        assert again.owner and again.status()["complete"]
