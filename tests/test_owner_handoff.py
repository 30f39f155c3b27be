"""`codesearch index`, `status` and `query` while another process owns the index (issue 14, items 19, 20).

Everything runs as real CLI processes over real sockets. A slow index is made observable
by the test embedding server holding its document requests (queries are answered at
once): every wait is for a printed line or a status field, never a fixed time.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from embed_server import EmbedServer
from test_hostile import STATIC, cs, small_repo
from waiting import poll

DEADLINE = 120.0
NO_UPGRADE = {"CODESEARCH_UPGRADE_MODEL": ""}


class Background:
    """A `codesearch` command running in the background; its output lines are collected."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "codesearch", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **STATIC, **env},
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: IO[str], into: list[str]) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))
        stream.close()

    def wait_for(self, where: list[str], text: str) -> str:
        return poll(lambda: next((line for line in where if text in line), None), f"{text!r} printed")

    def finish(self, sig: int | None = None) -> int:
        if sig is not None:
            os.kill(self.proc.pid, sig)
        code = self.proc.wait(timeout=DEADLINE)
        for reader in self._readers:
            reader.join(timeout=DEADLINE)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.finish()


@pytest.fixture
def background() -> Iterator[Callable[..., Background]]:
    started: list[Background] = []

    def start(*args: str, env: dict[str, str]) -> Background:
        started.append(Background(*args, env=env))
        return started[-1]

    yield start
    for b in started:
        b.kill()


def many_files(root: Path, n: int = 40) -> Path:
    """A repository of `n` small modules: several embedding batches, each held by the server."""
    (root / "src").mkdir(parents=True)
    for i in range(n):
        (root / "src" / f"mod_{i:03}.py").write_text(
            f"def compute_total_{i}(values):\n    return sum(values) + {i}\n\n\n"
            f"def render_report_{i}(rows):\n    return [str(r) for r in rows]\n"
        )
    return root


def status(root: Path, env: dict[str, str]) -> dict[str, Any]:
    done = cs("status", str(root), "--json", env=env, timeout=DEADLINE)
    assert done.returncode == 0, done.stderr
    info: dict[str, Any] = json.loads(done.stdout)
    return info


def indexing(root: Path, env: dict[str, str], at_least: int = 0) -> dict[str, Any] | None:
    """The status while a run is under way that has recorded `at_least` files; None before."""
    info = status(root, env)
    return info if "indexing" in info and info.get("files", 0) >= at_least else None


# -- 19. `codesearch index` while `codesearch watch` owns the index ---------------------------------


def test_index_while_watch_owns_the_index_is_run_by_the_watcher(
    tmp_path: Path, background: Callable[..., Background]
) -> None:
    root = small_repo(tmp_path / "repo")
    watch = background("watch", str(root), "--json", "--debounce", "0.1", env=NO_UPGRADE)
    watch.wait_for(watch.out, '"kind": "catch-up"')

    done = cs("index", str(root), env=NO_UPGRADE, timeout=DEADLINE)  # before: waited 600 s
    assert done.returncode == 0, done.stderr
    assert "indexed 1 files, 3 units" in done.stdout
    assert "done: 0/0 files, 0 units" in done.stderr, "the owner's progress is shown"
    assert "Traceback" not in done.stderr

    (root / "src" / "more.py").write_text("def tally_ballots(box):\n    return len(box)\n")
    done = cs("index", str(root), "--json", env=NO_UPGRADE, timeout=DEADLINE)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["files"] == 2 and set(report) >= {"units", "changed_files", "skipped", "seconds"}
    assert watch.proc.poll() is None, "the watcher still owns the index"
    found = cs("query", "tally_ballots", "--root", str(root), "--json", env=NO_UPGRADE)
    assert found.returncode == 0 and json.loads(found.stdout)[0]["symbol"] == "tally_ballots"
    assert watch.finish(signal.SIGTERM) == 0


def test_index_handed_to_a_watcher_runs_after_its_catch_up_and_the_owner_keeps_answering(
    tmp_path: Path, background: Callable[..., Background]
) -> None:
    root = many_files(tmp_path / "repo")
    with EmbedServer(dims=64, context_length=4096, hold_documents=True, pass_documents=2) as embed:
        env = embed.codesearch_env(tmp_path / "cache")
        watch = background("watch", str(root), "--json", env=env)
        poll(lambda: indexing(root, env, at_least=1), "the watcher's catch-up to be under way")
        index = background("index", str(root), env=env)
        index.wait_for(index.err, "waiting: the process that owns this index")
        # The owner answers while both runs are pending: status, and partial searches.
        info = status(root, env)
        assert info["indexing"]["of_files"] == 40 and not info["complete"]
        early = cs("query", "compute_total", "--root", str(root), "--mode", "lexical", env=env)
        assert early.returncode == 0 and "partial" in early.stderr
        embed.control(hold_documents=False)
        assert index.finish() == 0, "\n".join(index.err)
        assert any("indexed 40 files, 120 units" in line for line in index.out), index.out
        poll(
            lambda: any('"kind": "requested"' in line for line in watch.out), "the watcher's line for the run"
        )
        assert watch.proc.poll() is None
        info = status(root, env)
        assert info["complete"] and "indexing" not in info and info["files"] == 40
        assert watch.finish(signal.SIGTERM) == 0


def test_index_takes_over_when_the_watcher_stops_during_its_run(
    tmp_path: Path, background: Callable[..., Background]
) -> None:
    root = many_files(tmp_path / "repo")
    with EmbedServer(dims=64, context_length=4096, hold_documents=True, pass_documents=2) as embed:
        env = embed.codesearch_env(tmp_path / "cache")
        watch = background("watch", str(root), "--json", env=env)
        poll(lambda: indexing(root, env, at_least=1), "the watcher's catch-up to be under way")
        index = background("index", str(root), env=env)
        index.wait_for(index.err, "waiting: the process that owns this index")
        os.kill(watch.proc.pid, signal.SIGTERM)  # its catch-up ends after the request held now
        embed.control(hold_documents=False)
        assert watch.finish() == 0, "the watcher stops although a run was handed to it"
        assert index.finish() == 0, "\n".join(index.err)
        assert any("indexed 40 files, 120 units" in line for line in index.out), index.out
        assert not any("Traceback" in line for line in index.err)
        info = status(root, env)
        assert info["complete"] and info["files"] == 40 and info["units"] == info["store_points"]


def test_index_while_another_index_owns_the_index_still_waits_for_it(
    tmp_path: Path, background: Callable[..., Background]
) -> None:
    root = many_files(tmp_path / "repo")
    with EmbedServer(dims=64, context_length=4096, hold_documents=True, pass_documents=2) as embed:
        env = embed.codesearch_env(tmp_path / "cache")
        first = background("index", str(root), env=env)
        poll(lambda: indexing(root, env, at_least=1), "the first index to be under way")
        second = background("index", str(root), "--json", env=env)
        second.wait_for(second.err, "waiting for another codesearch process")
        embed.control(hold_documents=False)
        assert first.finish() == 0 and second.finish() == 0, "\n".join(second.err)
        assert json.loads("\n".join(second.out))["changed_files"] == 0


# -- 20. `status` and `query` during a first index in another process -----------------------------


def test_status_and_queries_during_a_live_first_index(
    tmp_path: Path, background: Callable[..., Background]
) -> None:
    root = many_files(tmp_path / "repo")
    with EmbedServer(dims=64, context_length=4096, hold_documents=True, pass_documents=2) as embed:
        env = embed.codesearch_env(tmp_path / "cache")
        index = background("index", str(root), env=env)
        info = poll(lambda: indexing(root, env, at_least=1), "the first files to be indexed")
        live = info["indexing"]
        assert live["partial"] is True and live["of_files"] == 40 and 1 <= live["files"] <= 40
        assert not info["complete"] and info["files"] >= 1  # the existing keys keep their meaning

        shown = cs("status", str(root), env=env)
        assert shown.returncode == 0, shown.stderr
        assert "state:      indexing (" in shown.stdout and " of 40 files)" in shown.stdout
        assert "interrupted" not in shown.stdout

        found = cs("query", "compute total", "--root", str(root), "--mode", "lexical", env=env)
        assert found.returncode == 0, found.stderr
        assert "no results" not in found.stdout and "compute_total_" in found.stdout
        [note] = [line for line in found.stderr.splitlines() if line.strip()]
        assert note.startswith("partial:") and "of 40 files" in note
        as_json = cs("query", "compute total", "--root", str(root), "--mode", "lexical", "--json", env=env)
        hits = json.loads(as_json.stdout)  # still a plain list of hits; the note is on stderr
        assert isinstance(hits, list) and hits and hits[0]["symbol"].startswith("compute_total_")
        assert "partial:" in as_json.stderr
        batch = cs(
            "query", "--batch", "--root", str(root), "--mode", "lexical",
            stdin='{"id": 7, "query": "compute total"}\n', env=env,
        )  # fmt: skip
        line = json.loads(batch.stdout)
        assert line["id"] == 7 and line["results"] and line["partial"] is True

        embed.control(hold_documents=False)
        assert index.finish() == 0, "\n".join(index.err)
        info = status(root, env)
        assert info["complete"] and "indexing" not in info and info["files"] == 40
        after = cs("query", "compute total", "--root", str(root), "--mode", "lexical", env=env)
        assert after.returncode == 0 and "partial" not in after.stderr
        batch = cs("query", "--batch", "--root", str(root), stdin='{"id": 1, "query": "x"}\n', env=env)
        assert "partial" not in json.loads(batch.stdout)
