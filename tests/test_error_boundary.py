"""The error boundary (issue 16 item 5): no third-party exception leaves the library, and a bug
is not passed off as something else.

A damaged SQLite file, an owner answering junk and a failing store call are codesearch errors
(one line from the real CLI, naming the file and what to do); a bug in codesearch is an internal
error: one line that says so from the CLI, a logged traceback in the owner, the end of the
watcher (not a rescan), not a ParseError from the parser.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from codesearch.errors import CorruptStateError, ParseError, StoreError

STATIC = {"CODESEARCH_MODEL": "static"}


def cs(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codesearch", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **STATIC, **(env or {})},
        timeout=300,
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    return lines[0]


def small_repo(root: Path, files: int = 6) -> Path:
    (root / "src").mkdir(parents=True)
    for i in range(files):
        (root / "src" / f"m{i}.py").write_text(
            f"def compute_{i}(values):\n    return sum(values) * {i}\n\n\n"
            f"class Worker{i}:\n    def run(self, job):\n        return job.execute(priority={i})\n"
        )
    return root


def _damage_pages(db: Path, tables: tuple[str, ...]) -> None:
    """Junk over the root pages of these tables and indexes: the file still opens (and passes
    the opener's check of `files`), and reading them fails as SQLITE_CORRUPT."""
    with sqlite3.connect(db) as conn:
        page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        marks = ",".join("?" * len(tables))
        roots = [
            r for (r,) in conn.execute(f"SELECT rootpage FROM sqlite_master WHERE name IN ({marks})", tables)
        ]
    conn.close()
    assert len(roots) == len(tables)
    with open(db, "r+b") as handle:
        for root in roots:
            handle.seek((root - 1) * page_size)
            handle.write(b"\xa5junk, not a b-tree page" * (page_size // 25))


# -- a SQLite file damaged past what opening it checks ---------------------------------------------


_HOLDER = (
    "import sys, time\nfrom codesearch import Engine\n"
    "e = Engine.open(sys.argv[1], write=True)\nprint('owner', flush=True)\ntime.sleep(120)\n"
)


@pytest.mark.parametrize("asked", ["directly", "through an owner"])
def test_state_damaged_past_its_open_check_is_one_line_naming_the_file(tmp_path: Path, asked: str) -> None:
    root = small_repo(tmp_path / "repo")
    env = {"TMPDIR": str(tmp_path)}
    assert cs("index", str(root), "-q", env=env).returncode == 0
    [state] = list((root / ".codesearch" / "indexes").glob("*/state.sqlite"))
    assert not state.with_name("state.sqlite-wal").exists()  # closed: everything is in the file
    _damage_pages(state, ("meta", "units", "units_path"))
    holder = None
    if asked == "through an owner":  # the owner meets the damage, the CLI prints its answer
        holder = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(root)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, **STATIC, **env},
        )
        assert holder.stdout is not None and holder.stdout.readline().strip() == "owner"
    try:
        for command in (("query", "compute", "--root", str(root)), ("status", str(root))):
            done = cs(*command, env=env)
            line = one_line_error(done)
            assert done.returncode == 7, done.stderr
            assert str(state) in line and "damaged" in line and "delete it" in line
            assert "codesearch index" in line and "internal error" not in line
    finally:
        if holder is not None:
            holder.kill()
            holder.wait()
            assert holder.stdout is not None
            holder.stdout.close()
    # What the line says to do works: the index is rebuilt, nothing else is needed.
    for path in state.parent.glob("state.sqlite*"):
        path.unlink()
    assert cs("index", str(root), "-q", env=env).returncode == 0
    status = json.loads(cs("status", str(root), "--json", env=env).stdout)
    assert status["files"] == 6 and status["units"] == status["store_points"] == 24


def test_embedding_cache_damaged_past_its_open_check_is_a_corrupt_state_error(tmp_path: Path) -> None:
    from codesearch.indexing.cache import EmbeddingCache

    dims = 16
    rng = np.random.default_rng(0)
    cache = EmbeddingCache(tmp_path, "model", dims)
    cache.put_many({f"h{i}": rng.standard_normal(dims).astype(np.float32) for i in range(2000)})
    cache.close()
    _damage_pages(tmp_path / "embeddings.sqlite", ("vectors",))
    cache = EmbeddingCache(tmp_path, "model", dims)  # opening does not read the table
    try:
        with pytest.raises(CorruptStateError) as caught:
            cache.through({"h1": "text"}, lambda texts: np.ones((len(texts), dims), dtype=np.float32))
        message = str(caught.value)
        assert str(tmp_path / "embeddings.sqlite") in message and "delete it" in message
        with pytest.raises(CorruptStateError):
            cache.get_many(["h1"])
    finally:
        cache.close()


def test_a_state_misused_by_a_bug_is_not_passed_off_as_damage(tmp_path: Path) -> None:
    from codesearch.indexing.state import IndexState

    state = IndexState(tmp_path / "state.sqlite")
    state.close()
    with pytest.raises(sqlite3.ProgrammingError):  # a closed connection used: a bug, not a store failure
        state.paths()


# -- an owner that answers junk ------------------------------------------------------------------

_JUNK_OWNER = r"""
import fcntl, os, socket, sys
from pathlib import Path
from codesearch.owner.channel import socket_path
index_dir, reply = Path(sys.argv[1]), Path(sys.argv[2]).read_bytes()
index_dir.mkdir(parents=True, exist_ok=True)
lock = open(index_dir / "owner.lock", "a+b")
fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
path = socket_path(index_dir)
path.unlink(missing_ok=True)
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(str(path))
server.listen(4)
print("ready", flush=True)
while True:
    conn, _ = server.accept()
    with conn, conn.makefile("rwb") as stream:
        stream.readline()
        stream.write(reply + b"\n")
"""


@pytest.mark.parametrize(
    "reply",
    [
        b'{"hits": 5, "status": 5, "files": 5}',
        b'{"hits": [{"path": "src/m1.py", "bogus": 1}], "status": [1, 2]}',
        b"{}",
        b"[" * 100_000,
        b"\xff\xfe not json",
    ],
    ids=["wrong-types", "wrong-fields", "empty", "nested", "not-json"],
)
def test_owner_answering_junk_is_a_one_line_busy_error(tmp_path: Path, reply: bytes) -> None:
    root = small_repo(tmp_path / "repo")
    env = {"TMPDIR": str(tmp_path)}
    (tmp_path / "reply").write_bytes(reply)
    owner = subprocess.Popen(
        [sys.executable, "-c", _JUNK_OWNER, str(root / ".codesearch"), str(tmp_path / "reply")],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    try:
        assert owner.stdout is not None and owner.stdout.readline().strip() == "ready"
        for command in (("query", "compute", "--root", str(root)), ("status", str(root))):
            done = cs(*command, env=env)
            line = one_line_error(done)
            assert done.returncode == 5, done.stderr
            assert "owns this index answered" in line and "internal error" not in line
    finally:
        owner.kill()
        owner.wait()
        assert owner.stdout is not None
        owner.stdout.close()


def test_an_owner_that_dies_inside_its_reply_is_gone_not_busy(tmp_path: Path) -> None:
    """A reply cut off by the owner's end (no newline before EOF) lets the asker take over."""
    import socket
    import threading

    from codesearch.errors import OwnerGoneError
    from codesearch.owner.channel import ask_owner

    path = tmp_path / "owner.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def answer_half() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b'{"hits": [{"path": "src/m1.py", "start_li')  # then the process dies

    thread = threading.Thread(target=answer_half)
    thread.start()
    try:
        with pytest.raises(OwnerGoneError, match="ended while it answered"):
            ask_owner(path, {"op": "search", "query": "x"}, 5.0, None)
    finally:
        thread.join(5)
        server.close()


def test_owner_logs_a_bug_with_its_traceback_and_still_answers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from codesearch.owner.channel import OwnerServer, ask_owner

    def handler(request: dict[str, object], send: object) -> dict[str, object]:
        if request.get("op") == "fail":
            raise RuntimeError("a bug in the handler")
        return {"ok": True}

    path = tmp_path / "o.sock"
    server = OwnerServer(path, handler)
    try:
        with caplog.at_level(logging.ERROR, logger="codesearch.owner"):
            reply = ask_owner(path, {"op": "fail"}, timeout=30)
        assert reply["type"] == "CodesearchError" and "internal error" in str(reply["error"])
        assert "a bug in the handler" in str(reply["error"])
        [record] = [r for r in caplog.records if r.name == "codesearch.owner"]
        assert record.exc_info is not None and record.exc_info[0] is RuntimeError
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="codesearch.owner"):
            assert ask_owner(path, {"op": "fine"}, timeout=30) == {"ok": True}  # the owner goes on
            junk = ask_owner(path, [1, 2], timeout=30)  # type: ignore[arg-type]
        assert "bad request" in str(junk["error"])
        assert not caplog.records  # a bad request is no bug of the owner's
    finally:
        server.close()


# -- the CLI's last resort -----------------------------------------------------------------------

_BROKEN_STATUS = (
    "import sys\nimport codesearch.engine\nfrom codesearch import cli\n"
    "def broken(self):\n    raise RuntimeError('status went wrong\\n  on two lines')\n"
    "codesearch.engine.Engine.status = broken\nsys.exit(cli.main(sys.argv[1:]))\n"
)


def test_an_internal_error_is_one_line_with_its_own_exit_code(tmp_path: Path) -> None:
    root = small_repo(tmp_path / "repo")
    run = [sys.executable, "-c", _BROKEN_STATUS, "status", str(root)]
    env = {**os.environ, **STATIC}
    done = subprocess.run(run, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 70, done.stderr
    assert one_line_error(done) == (
        "codesearch: internal error: RuntimeError: status went wrong on two lines "
        "(please report; set CODESEARCH_DEBUG=1 for the traceback)"
    )
    debug = subprocess.run(
        run, capture_output=True, text=True, env={**env, "CODESEARCH_DEBUG": "1"}, timeout=300
    )
    assert debug.returncode == 70
    assert "Traceback (most recent call last)" in debug.stderr and "in broken" in debug.stderr
    assert debug.stderr.rstrip().splitlines()[-1].startswith("codesearch: internal error: RuntimeError")


# -- the watcher: a bug ends it, an unreadable path is a rescan ------------------------------------


def test_a_bug_handling_a_file_event_ends_the_watcher_with_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from codesearch import Engine
    from codesearch.watch.watcher import Watcher

    root = small_repo(tmp_path / "repo", files=2)
    with Engine.open(root, write=True) as engine:
        watcher = Watcher(engine, debounce=0.05, health_interval=0.5)
        real = watcher._filter.ignored

        def broken(rel: str, is_dir: bool) -> bool:
            if rel.endswith("new.py"):
                raise RuntimeError("a bug in the event filter")
            return real(rel, is_dir)

        watcher._filter.ignored = broken  # type: ignore[method-assign]
        with caplog.at_level(logging.ERROR, logger="codesearch.watch"):
            watcher.start()
            try:
                assert watcher.wait_ready(60)
                (root / "src" / "new.py").write_text("def fresh():\n    return 1\n")
                assert watcher.wait_done(60), "the watcher went on after a bug"
            finally:
                watcher.stop()
        assert isinstance(watcher.error, RuntimeError) and "event filter" in str(watcher.error)
        records = [r for r in caplog.records if r.name == "codesearch.watch"]
        assert records and records[0].exc_info is not None


def test_an_unreadable_path_in_a_file_event_is_a_rescan(tmp_path: Path) -> None:
    from codesearch import Engine
    from codesearch.watch.watcher import Watcher, WatchUpdate

    root = small_repo(tmp_path / "repo", files=2)
    updates: list[WatchUpdate] = []
    with Engine.open(root, write=True) as engine:
        watcher = Watcher(engine, debounce=0.05, health_interval=0.5, on_update=updates.append)
        real = watcher._filter.ignored

        def flaky(rel: str, is_dir: bool) -> bool:
            if rel.endswith("new.py"):
                raise PermissionError(13, "Permission denied", rel)
            return real(rel, is_dir)

        watcher._filter.ignored = flaky  # type: ignore[method-assign]
        with watcher:
            assert watcher.wait_ready(60)
            (root / "src" / "new.py").write_text("def fresh():\n    return 1\n")
            deadline = time.monotonic() + 60
            while not any("could not handle a file event" in u.reason for u in updates):
                assert time.monotonic() < deadline and watcher.error is None, updates
                time.sleep(0.05)
        assert watcher.error is None
        assert engine.search("fresh", k=1, mode="lexical")[0].path == "src/new.py"


# -- the parser, the store -----------------------------------------------------------------------


def test_a_bug_in_the_parsers_own_code_is_not_a_parse_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from codesearch.parsing import _parse, parse_file

    def broken(*args: object) -> list[object]:
        raise RuntimeError("a bug in definition_units")

    monkeypatch.setattr(_parse, "definition_units", broken)
    with pytest.raises(RuntimeError, match="definition_units"):
        parse_file("a.py", b"def f():\n    return 1\n", "python")


def test_tree_sitter_failing_is_a_parse_error_naming_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    from codesearch.parsing import _grammars, parse_file

    class GivingUp:  # what py-tree-sitter does when its parser gives up: it cannot be provoked here
        def __init__(self, language: object) -> None:
            pass

        def parse(self, source: bytes) -> object:
            raise ValueError("Parsing failed")

    monkeypatch.setattr(_grammars, "Parser", GivingUp)
    with pytest.raises(ParseError, match=r"^a\.py: tree-sitter could not parse it as python: Parsing failed"):
        parse_file("a.py", b"def f():\n    return 1\n", "python")


def test_optimising_a_closed_store_is_a_store_error(tmp_path: Path) -> None:
    from codesearch.store.edge import EdgeStore

    (tmp_path / "edge").mkdir()
    store = EdgeStore(tmp_path / "edge", 8)
    store.close()
    with pytest.raises(StoreError, match="quantise"):
        store.optimize()
