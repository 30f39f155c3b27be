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
    *args: str,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codesearch", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, **STATIC, **(env or {})},
        timeout=timeout,
        cwd=cwd,
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


# -- 2. other local users: the socket directory, the peer, the paths an owner answers ----------

_FAKE_OWNER = r"""
import fcntl, json, os, socket, sys
from pathlib import Path
from codesearch.owner.channel import socket_path
index_dir, forged, as_uid = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
index_dir.mkdir(parents=True, exist_ok=True)
lock = open(index_dir / "owner.lock", "a+b")
fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
path = socket_path(index_dir)
path.unlink(missing_ok=True)
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(str(path))
if as_uid >= 0:
    os.chmod(path, 0o777)
    os.setuid(as_uid)
server.listen(4)
print("ready", flush=True)
while True:
    conn, _ = server.accept()
    with conn, conn.makefile("rwb") as stream:
        request = json.loads(stream.readline())
        hit = {"path": forged, "start_line": 1, "end_line": 5, "symbol": "leak", "kind": "function",
               "language": "python", "score": 1.0, "snippet": "", "dense_score": None, "lexical_score": None}
        stream.write(json.dumps({"hits": [hit], "seen": request}).encode() + b"\n")
"""


def _fake_owner(root: Path, forged: str, env: dict[str, str], as_uid: int = -1) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _FAKE_OWNER, str(root / ".codesearch"), forged, str(as_uid)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


@pytest.mark.parametrize("forged", ["../../../../../../../../etc/passwd", "/etc/passwd", "link"])
def test_owner_answering_paths_out_of_the_root_is_refused(tmp_path: Path, forged: str) -> None:
    root = small_repo(tmp_path / "repo")
    (root / "link").symlink_to("/etc/passwd")
    env = {"TMPDIR": str(tmp_path)}
    owner = _fake_owner(root, forged, env)
    try:
        done = cs("query", "upload", "--root", str(root), env=env)
    finally:
        owner.kill()
        owner.wait()
        assert owner.stdout is not None
        owner.stdout.close()
    assert done.returncode == 7
    assert "outside" in one_line_error(done)
    assert "root:" not in done.stdout


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to run a process as another user")
def test_owner_of_another_user_is_not_trusted(tmp_path: Path) -> None:
    root = small_repo(tmp_path / "repo")
    os.chmod(tmp_path, 0o755)
    env = {"TMPDIR": str(tmp_path)}
    owner = _fake_owner(root, "src/app.py", env, as_uid=65534)
    try:
        done = cs("query", "upload", "--root", str(root), env=env)
    finally:
        owner.kill()
        owner.wait()
        assert owner.stdout is not None
        owner.stdout.close()
    assert done.returncode == 3
    assert "another user" in one_line_error(done)


def test_socket_directory_must_be_private(tmp_path: Path) -> None:
    root = small_repo(tmp_path / "repo")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    (tmp_path / "squat").mkdir()
    sockets = tmp / f"codesearch-{os.getuid()}"
    sockets.symlink_to(tmp_path / "squat")
    env = {"TMPDIR": str(tmp), "XDG_RUNTIME_DIR": ""}
    done = cs("status", str(root), env=env)
    assert done.returncode == 3 and "socket directory" in one_line_error(done)

    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    done = cs("status", str(root), env={**env, "XDG_RUNTIME_DIR": str(runtime)})
    assert done.returncode == 0, done.stderr
    assert (runtime / "codesearch").is_dir() and list((tmp_path / "squat").iterdir()) == []

    sockets.unlink()
    sockets.mkdir(mode=0o777)
    sockets.chmod(0o777)
    done = cs("status", str(root), env=env)
    assert done.returncode == 0, done.stderr
    assert sockets.stat().st_mode & 0o777 == 0o700


# -- 3. several readers at once, with no long-lived owner ---------------------------------------


def test_parallel_queries_without_an_owner_all_answer(tmp_path: Path) -> None:
    root = small_repo(tmp_path / "repo")
    assert cs("index", str(root), "-q").returncode == 0
    failures = []
    for _ in range(4):
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "codesearch", "query", "upload retry", "--root", str(root), "--json"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, **STATIC},
            )
            for _ in range(4)
        ]
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            if proc.returncode != 0 or not json.loads(out or "[]"):
                failures.append((proc.returncode, err.strip()[-300:]))
    assert failures == []


def test_a_client_reset_in_the_owners_backlog_is_told_to_retry(tmp_path: Path) -> None:
    """A client that connects while the owner closes is in the backlog, never accepted, and is
    reset: that is 'the owner is gone, ask again', never 'the owner is not answering'."""
    import socket as socketlib
    import threading

    from codesearch.errors import OwnerGoneError
    from codesearch.owner.channel import ask_owner

    path = tmp_path / "o.sock"
    server = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)  # never accepts: the client waits in the backlog
    closer = threading.Timer(0.3, server.close)
    closer.start()
    try:
        with pytest.raises(OwnerGoneError):
            ask_owner(path, {"op": "status"}, timeout=10)
    finally:
        closer.join()


# -- 4, 5, 6. an incomplete, deleted, damaged store or a lost state is repaired by `index` ------


def _indexed(tmp_path: Path, files: int = 12) -> tuple[Path, Path]:
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    for i in range(files):
        (root / "src" / f"m{i}.py").write_text(
            f"def compute_{i}(values):\n    return sum(values) * {i}\n\n\n"
            f"class Worker{i}:\n    def run(self, job):\n        return job.execute(priority={i})\n"
        )
    assert cs("index", str(root), "-q").returncode == 0
    [store] = list((root / ".codesearch" / "indexes").glob("*/store"))
    return root, store


def _status(root: Path) -> dict[str, object]:
    done = cs("status", str(root), "--json")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def _assert_whole(root: Path, files: int = 12) -> None:
    status = _status(root)
    assert status["files"] == files and status["units"] == status["store_points"] == files * 4
    hits = json.loads(cs("query", "compute_3", "--root", str(root), "--json", "--mode", "lexical").stdout)
    assert any(h["symbol"] == "compute_3" for h in hits)


def test_store_left_by_a_killed_first_index_is_rebuilt(tmp_path: Path) -> None:
    root, store = _indexed(tmp_path)
    # What kill -9 in a first index's first second leaves: wal/, an empty segments/, no config.
    (store / "edge_config.json").unlink()
    for segment in (store / "segments").iterdir():
        subprocess.run(["rm", "-rf", str(segment)], check=True)
    done = cs("index", str(root))
    assert done.returncode == 0, done.stderr
    assert "never completely written" in done.stdout
    _assert_whole(root)


def test_deleted_store_is_noticed_and_repaired(tmp_path: Path) -> None:
    root, store = _indexed(tmp_path)
    subprocess.run(["rm", "-rf", str(store)], check=True)
    human = cs("status", str(root))
    assert human.returncode == 0 and "mismatch" in human.stdout, human.stdout + human.stderr
    done = cs("index", str(root))
    assert done.returncode == 0, done.stderr
    assert "disagreed about 12 files" in done.stdout
    _assert_whole(root)


def test_damaged_store_is_reported_then_set_aside_by_index(tmp_path: Path) -> None:
    root, store = _indexed(tmp_path)
    (store / "edge_config.json").write_text("garbage")
    done = cs("status", str(root))
    assert done.returncode == 7
    assert "damaged" in (line := one_line_error(done)) and "codesearch index" in line
    done = cs("index", str(root))
    assert done.returncode == 0, done.stderr
    assert "moved it to" in done.stdout
    assert list(store.parent.glob("store.damaged-*"))  # nothing is lost
    _assert_whole(root)


def test_lost_state_database_drops_orphan_points(tmp_path: Path) -> None:
    root, store = _indexed(tmp_path)
    for db in store.parent.glob("state.sqlite*"):
        db.unlink()
    for i in range(6, 12):
        (root / "src" / f"m{i}.py").unlink()
    done = cs("index", str(root), "-q")
    assert done.returncode == 0, done.stderr
    _assert_whole(root, files=6)
    hits = json.loads(cs("query", "compute_9", "--root", str(root), "--json", "--mode", "lexical").stdout)
    assert all(h["path"] != "src/m9.py" for h in hits)


# -- 7. a file whose new content is skipped loses its old units ---------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"# Code generated by protoc. DO NOT EDIT.\ndef compute_3(values):\n    return 1\n",
        b"def compute_3(values):\n    return b'\0\0\0'\n",
        b"x=1;" * 3000,
    ],
    ids=["generated", "binary", "minified"],
)
def test_file_whose_new_content_is_skipped_loses_its_units(tmp_path: Path, content: bytes) -> None:
    root, _store = _indexed(tmp_path)
    (root / "src" / "m3.py").write_bytes(content)
    done = cs("index", str(root), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["deleted"] == 1
    hits = json.loads(cs("query", "compute_3", "--root", str(root), "--json", "--mode", "lexical").stdout)
    assert all(h["path"] != "src/m3.py" for h in hits)
    status = _status(root)
    assert status["files"] == 11 and status["units"] == status["store_points"] == 44


# -- 8. NaN, Inf and zero vectors from an embedding server are refused, and nothing is cached ----


@pytest.mark.parametrize("bad", ["nan", "inf", "zero"])
def test_bad_vectors_from_a_server_are_refused_and_not_cached(tmp_path: Path, bad: str) -> None:
    import sqlite3

    from embed_server import EmbedServer

    root = small_repo(tmp_path / "repo")
    with EmbedServer(dims=32, context_length=4096, bad_values=bad) as server:
        flags = ["--backend", "sglang", "--embed-url", server.url, "--model", "test-model"]
        env = {"CODESEARCH_CONTEXT_LENGTH": "4096", "CODESEARCH_TOKENIZER": ""}
        done = cs("index", str(root), *flags, env=env)
        assert done.returncode == 8
        assert "NaN, Inf or only zeros" in one_line_error(done)
        for cache in (tmp_path / "xdg-cache").rglob("embeddings.sqlite"):
            with sqlite3.connect(cache) as db:
                assert db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0] == 0
        server.control(bad_values="")
        done = cs("index", str(root), *flags, "--json", env=env)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["embedded"] > 0


# -- 9. a corrupt state database or embedding cache: one line with the remedy, or self-repair ----


def _garble(path: Path) -> None:
    with open(path, "r+b") as handle:
        handle.write(b"this is not a SQLite database, it is garbage")


def test_corrupt_state_is_reported_then_rebuilt_by_index(tmp_path: Path) -> None:
    root, store = _indexed(tmp_path)
    state = store.parent / "state.sqlite"
    _garble(state)
    for command in (("status", str(root)), ("query", "compute", "--root", str(root))):
        done = cs(*command)
        assert done.returncode == 7
        line = one_line_error(done)
        assert "state.sqlite" in line and "codesearch index" in line
    done = cs("index", str(root))
    assert done.returncode == 0, done.stderr
    assert "moved it to" in done.stdout
    assert list(store.parent.glob("state.sqlite.damaged-*"))
    _assert_whole(root)


def test_dupes_repairs_a_corrupt_state_instead_of_crashing(tmp_path: Path) -> None:
    root, store = _indexed(tmp_path)
    _garble(store.parent / "state.sqlite")
    done = cs("dupes", str(root))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert list(store.parent.glob("state.sqlite.damaged-*"))
    _assert_whole(root)


def test_corrupt_shared_cache_is_set_aside_and_rebuilt(tmp_path: Path) -> None:
    from embed_server import EmbedServer

    # The static model keeps no cache (embedding it again is cheaper): a server's model does.
    with EmbedServer(dims=32, context_length=4096) as server:
        flags = ["--backend", "sglang", "--embed-url", server.url, "--model", "test-model"]
        env = {"CODESEARCH_CONTEXT_LENGTH": "4096", "CODESEARCH_TOKENIZER": ""}
        assert cs("index", str(small_repo(tmp_path / "repo")), "-q", *flags, env=env).returncode == 0
        [cache] = list((tmp_path / "xdg-cache").rglob("embeddings.sqlite"))
        _garble(cache)
        other = small_repo(tmp_path / "other")
        done = cs("index", str(other), "--json", *flags, env=env)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["embedded"] > 0
        assert list(cache.parent.glob("embeddings.sqlite.damaged-*"))
        assert cs("index", str(other), "-q", *flags, env=env).returncode == 0


# -- 10-14. bad names, unreadable or special files and ignore files, deep trees -----------------


def _skipped(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert done.returncode == 0, done.stderr
    return {s["path"]: s["reason"] for s in json.loads(done.stdout)["skipped_files"]}


def test_invalid_utf8_file_name_is_skipped_with_a_reason(tmp_path: Path) -> None:
    root = small_repo(tmp_path / "repo")
    with open(os.path.join(os.fsencode(root / "src"), b"bad\xff.py"), "wb") as handle:
        handle.write(b"def hidden():\n    return 1\n")
    skipped = _skipped(cs("index", str(root), "--json"))
    assert skipped["src/bad\\xff.py"] == "file name is not valid UTF-8"
    assert _status(root)["files"] == 1
    plan = cs("index", str(root), "--dry-run", "--json")
    assert plan.returncode == 0 and json.loads(plan.stdout)["file_count"] == 1, plan.stderr


@pytest.mark.skipif(os.getuid() == 0, reason="root reads mode-000 directories and files")
def test_unreadable_directory_and_ignore_file_are_skipped(tmp_path: Path) -> None:
    root = small_repo(tmp_path / "repo")
    (root / "locked").mkdir()
    (root / "locked" / "a.py").write_text("def a():\n    pass\n")
    (root / "guarded").mkdir()
    (root / "guarded" / "secret.py").write_text("TOKEN = 'x'\n")
    (root / "guarded" / ".gitignore").write_text("secret.py\n")
    (root / "guarded" / ".gitignore").chmod(0)
    (root / "locked").chmod(0)
    try:
        skipped = _skipped(cs("index", str(root), "--json"))
    finally:
        (root / "locked").chmod(0o755)
    assert skipped["locked"].startswith("unreadable directory")
    assert "ignore rules could not be read" in skipped["guarded"]
    assert _status(root)["files"] == 1


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_special_ignore_file_does_not_stall_and_skips_its_directory(tmp_path: Path, kind: str) -> None:
    root = small_repo(tmp_path / "repo")
    (root / "sub").mkdir()
    (root / "sub" / "x.py").write_text("def x():\n    pass\n")
    if kind == "fifo":
        os.mkfifo(root / "sub" / ".gitignore")
    else:
        (root / "sub" / ".gitignore").symlink_to("/dev/zero")
    skipped = _skipped(cs("index", str(root), "--json", timeout=120))
    assert "ignore rules could not be read" in skipped["sub"]
    assert _status(root)["files"] == 1


_SWAP = r"""
import os, sys
from pathlib import Path
from codesearch.indexing.discover import discover
from codesearch.indexing.indexer import read_source
root, kind = Path(sys.argv[1]), sys.argv[2]
[entry] = [e for e in discover(root).files if e.path == "src/app.py"]
entry.abspath.unlink()
if kind == "fifo":
    os.mkfifo(entry.abspath)
else:
    entry.abspath.symlink_to("/dev/zero")
data, reason = read_source(entry, 1 << 20)
print(data, reason)
"""


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_file_swapped_after_discovery_is_not_read(tmp_path: Path, kind: str) -> None:
    root = small_repo(tmp_path / "repo")
    done = subprocess.run(
        [sys.executable, "-c", _SWAP, str(root), kind], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "None not a regular file (a FIFO)" if kind == "fifo" else "None is a symlink"
    )


def test_very_deep_tree_is_walked(tmp_path: Path) -> None:
    root = small_repo(tmp_path / "repo")
    chain = [root]
    for _ in range(1100):
        chain.append(chain[-1] / "d")
        chain[-1].mkdir()
    (chain[-1] / "deep.py").write_text("def deepest_function():\n    return 1\n")
    try:
        _skipped(cs("index", str(root), "--json"))
        assert _status(root)["files"] == 2
    finally:
        # Bottom-up, without recursion: pytest's own clean-up of old temporary directories
        # (shutil.rmtree, one frame per level) would hit the recursion limit on this tree.
        (chain[-1] / "deep.py").unlink()
        for directory in reversed(chain[1:]):
            directory.rmdir()


# -- 22. option values are range-checked once, in config ------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [("K", "-1"), ("DENSE_WEIGHT", "nan"), ("MAX_FILE_TOKENS", "0"), ("RRF_K", "-60"), ("DENSE_WEIGHT", "2")],
)
def test_out_of_range_options_are_one_line_errors(tmp_path: Path, option: str, value: str) -> None:
    root = small_repo(tmp_path / "repo")
    done = cs("index", str(root), "-q", env={f"CODESEARCH_{option}": value})
    assert done.returncode == 3
    assert f"CODESEARCH_{option}" in one_line_error(done)


def test_index_dir_that_is_a_file_is_a_one_line_error(tmp_path: Path) -> None:
    root = small_repo(tmp_path / "repo")
    (tmp_path / "a-file").write_text("")
    # MiniLM: the static model keeps no cache, so it would never open cache_dir.
    for option in ("INDEX_DIR", "CACHE_DIR"):
        env = {f"CODESEARCH_{option}": str(tmp_path / "a-file"), "CODESEARCH_MODEL": "minilm"}
        done = cs("index", str(root), "-q", env=env)
        assert done.returncode == 3, done.stderr
        assert "a-file" in one_line_error(done)


# -- 15, 23. terminal escapes are shown escaped; a bad batch line keeps its id --------------------


def test_control_characters_never_reach_the_terminal_raw(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    name = "evil\x1b]0;pwned\x07\nname.py"
    (root / name).write_text('def clear_screen():\n    return "\x1b[2J\x1b[H"\n')
    assert cs("index", str(root), "-q").returncode == 0
    human = cs("query", "clear_screen", "--root", str(root), "--mode", "lexical")
    assert human.returncode == 0, human.stderr
    assert "\x1b" not in human.stdout and "\x07" not in human.stdout
    assert "evil\\x1b]0;pwned\\x07\\x0aname.py" in human.stdout and "\\x1b[2J" in human.stdout
    exact = json.loads(cs("query", "clear_screen", "--root", str(root), "--mode", "lexical", "--json").stdout)
    assert name in {h["path"] for h in exact}


def test_bad_batch_lines_keep_their_id(tmp_path: Path) -> None:
    root = small_repo(tmp_path / "repo")
    assert cs("index", str(root), "-q").returncode == 0
    lines = (
        '{"id": "q1"}\n[1, 2]\n{"id": "q2", "query": "upload", "k": "many"}\n'
        '{"id": "q3", "query": "upload"}\n'
    )
    done = cs("query", "--batch", "--root", str(root), stdin=lines)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["id"] for a in answers] == ["q1", None, "q2", "q3"]
    assert all("error" in a for a in answers[:3]) and answers[3]["results"]


# -- 25. the owner socket bounds connections and refuses junk --------------------------------------


def test_owner_socket_bounds_connections_and_survives_junk(tmp_path: Path) -> None:
    import socket as socketlib

    root = small_repo(tmp_path / "repo")
    env = {"TMPDIR": str(tmp_path)}
    assert cs("index", str(root), "-q", env=env).returncode == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom codesearch import Engine\n"
            "e = Engine.open(sys.argv[1], write=True)\nprint('owner', flush=True)\ntime.sleep(60)\n",
            str(root),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **STATIC, **env},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "owner"
        path = subprocess.run(
            [sys.executable, "-c", "import sys; from pathlib import Path; from codesearch.owner.channel "
             "import socket_path; print(socket_path(Path(sys.argv[1])))", str(root / ".codesearch")],
            capture_output=True, text=True, env={**os.environ, **env}, check=True,
        ).stdout.strip()  # fmt: skip
        idle = []
        for _ in range(40):
            s = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
            s.connect(path)  # blocking: waits while the owner works through its backlog
            s.settimeout(10)
            idle.append(s)
        busy = idle[-1].makefile("rb").readline()
        assert b"busy" in busy
        for s in idle:
            s.close()
        with socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(path)
            s.sendall(b"[1, 2]\n")
            assert b"error" in s.makefile("rb").readline()
        done = cs("query", "upload", "--root", str(root), "--json", env=env)
        assert done.returncode == 0 and json.loads(done.stdout), done.stderr
        assert holder.poll() is None
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()


# -- 17. secret-bearing files are named in the exclusion rules -------------------------------------


def test_secret_bearing_files_are_skipped_by_name(tmp_path: Path) -> None:
    root = small_repo(tmp_path / "repo")
    names = [
        ".npmrc",
        ".pgpass",
        ".git-credentials",
        "kubeconfig",
        "prod.kubeconfig",
        ".kube/config",
        "terraform.tfstate",
        "terraform.tfstate.backup",
        "infra/prod.tfvars",
        ".docker/config.json",
        "deploy/service-account.json",
        "gcp-credentials.json",
    ]
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text('{"token": "hunter2"}\n')
    (root / "docs").mkdir()
    (root / "docs" / "config.json").write_text('{"theme": "dark"}\n')
    skipped = _skipped(cs("index", str(root), "--json"))
    assert {n: skipped.get(n) for n in names} == {n: "may hold secrets" for n in names}
    assert "docs/config.json" not in skipped


# -- 18. credentials in URLs are refused, and never printed ----------------------------------------


@pytest.mark.parametrize("option", ["EMBED_URL", "QDRANT_URL"])
def test_credentials_in_urls_are_refused_and_masked(tmp_path: Path, option: str) -> None:
    root = small_repo(tmp_path / "repo")
    env = {f"CODESEARCH_{option}": "http://admin:s3cr3t-pw@127.0.0.1:9/"}
    for command in (("config", str(root)), ("index", str(root), "-q"), ("status", str(root))):
        done = cs(*command, env=env)
        assert done.returncode == 3
        line = one_line_error(done)
        assert "holds credentials" in line and "***@127.0.0.1:9" in line
        assert "s3cr3t" not in done.stdout + done.stderr


# -- 16. secrets in file contents are redacted before anything is embedded, stored or sent ---------

# Sample values shaped as each provider's (none is a live credential); built by joining so this
# file holds no secret-shaped literal itself.
_SECRETS = {
    "aws_id": "AKIA" + "IOSFODNN7EXAMPLQ",
    "aws_secret": "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY",
    "github": "ghp_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
    "password": "hunter2" + "-correct-horse",
    "url_password": "s3cret" + "pass",
    "key_body": "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo" + "4lgOEePzNm0tRgeLezV6ffAt0gun",
    "yaml_password": "db-pass" + "-9f8e7d",
    "slack": "xoxb-123456789012-" + "1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
}


def _secret_repo(root: Path) -> Path:
    s = _SECRETS
    (root / "app").mkdir(parents=True)
    (root / "app" / "settings.py").write_text(
        "import os\n"
        f'AWS_ACCESS_KEY_ID = "{s["aws_id"]}"\n'
        f'aws_secret_access_key = "{s["aws_secret"]}"\n'
        f'GITHUB_TOKEN = "{s["github"]}"\n'
        f'password = "{s["password"]}"\n'
        f'DATABASE_URL = "postgres://admin:{s["url_password"]}@db.example.com/app"\n'
        f'SLACK = "{s["slack"]}"\n'
        'SIGNING_KEY = """-----BEGIN RSA PRIVATE KEY-----\n'
        f"{s['key_body']}\n"
        '-----END RSA PRIVATE KEY-----"""\n'
        "\n\n"
        "def upload_with_retry(path, attempts=3):\n"
        '    """Send a file, retrying with backoff."""\n'
        "    return send(path, attempts)\n"
    )
    (root / "config.yaml").write_text(f"database:\n  user: app\n  password: {s['yaml_password']}\n")
    return root


def _holds_secret(data: str | bytes) -> list[str]:
    text = data if isinstance(data, str) else data.decode("latin-1")
    return [name for name, value in _SECRETS.items() if value in text]


def test_secrets_in_contents_are_redacted_before_the_server_and_the_store(tmp_path: Path) -> None:
    from embed_server import EmbedServer

    root = _secret_repo(tmp_path / "repo")
    with EmbedServer(dims=32, context_length=4096) as server:
        flags = ["--backend", "sglang", "--embed-url", server.url, "--model", "test-model"]
        env = {"CODESEARCH_CONTEXT_LENGTH": "4096", "CODESEARCH_TOKENIZER": ""}
        done = cs("index", str(root), *flags, "--json", env=env)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        sent = json.dumps(server.requests())
        assert "upload_with_retry" in sent  # the server did get the code
        assert _holds_secret(sent) == []
        found = cs("query", "upload with retry", "--root", str(root), *flags, "--json", "-k", "20", env=env)
    assert found.returncode == 0, found.stderr
    assert report["secrets_redacted"] == 8
    by_file = {f["path"]: f["secrets"] for f in report["secrets_redacted_files"]}
    assert [s["line"] for s in by_file["app/settings.py"]] == [2, 3, 4, 5, 6, 7, 8]
    assert by_file["config.yaml"] == [{"line": 3, "kind": "Secret Keyword"}]
    assert _holds_secret(found.stdout) == []
    assert "<redacted secret>" in found.stdout
    hits = {h["symbol"]: h for h in json.loads(found.stdout)}
    # Lines do not move: the function after the secrets is where it is in the file.
    lines = (root / "app" / "settings.py").read_text().splitlines()
    start = lines.index("def upload_with_retry(path, attempts=3):") + 1
    assert (hits["upload_with_retry"]["start_line"], hits["upload_with_retry"]["end_line"]) == (
        start,
        start + 2,
    )
    for path in [*(root / ".codesearch").rglob("*"), *(tmp_path / "xdg-cache").rglob("*")]:
        if path.is_file():
            assert _holds_secret(path.read_bytes()) == [], path


def test_secrets_are_redacted_in_the_default_index_and_counted(tmp_path: Path) -> None:
    root = _secret_repo(tmp_path / "repo")
    done = cs("index", str(root))
    assert done.returncode == 0, done.stderr
    assert "redacted 8 secrets in 2 files" in done.stdout
    assert "app/settings.py:2,3,4,5,6,7,8" in done.stdout and "config.yaml:3" in done.stdout
    assert _holds_secret(done.stdout + done.stderr) == []
    found = cs("query", "database password", "--root", str(root), "--json", "-k", "20")
    assert found.returncode == 0, found.stderr
    assert _holds_secret(found.stdout) == [] and "<redacted secret>" in found.stdout
    for path in (root / ".codesearch").rglob("*"):
        if path.is_file():
            assert _holds_secret(path.read_bytes()) == [], path
    again = cs("index", str(root), "--json")  # nothing changed: nothing to redact this run
    assert json.loads(again.stdout)["secrets_redacted"] == 0


# -- 21. index_dir: relative to the root, never from the repository, one repository's only --------


def test_relative_index_dir_is_taken_from_the_root_not_the_cwd(tmp_path: Path) -> None:
    root = small_repo(tmp_path / "repo")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = cs("index", str(root), "-q", env={"CODESEARCH_INDEX_DIR": "ix"}, cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert (root / "ix" / "indexes").is_dir() and not (elsewhere / "ix").exists()
    status = cs("status", str(root), "--json", env={"CODESEARCH_INDEX_DIR": "ix"}, cwd=elsewhere)
    assert json.loads(status.stdout)["index_dir"] == str(root.resolve() / "ix")


@pytest.mark.parametrize(
    ("file", "text", "words"),
    [
        (".codesearch.toml", 'index_dir = "{out}"\n', "may not set it"),
        (".codesearch.toml", 'cache_dir = "{out}"\n', "may not set it"),
        ("pyproject.toml", '[tool.codesearch]\nindex_dir = "{out}"\n', "may not set it"),
        (".codesearch.toml", 'qdrant_path = "{out}"\n', "may not set it"),
        (".codesearch.toml", 'api_key_env = "AWS_SECRET_ACCESS_KEY"\n', "may not set it"),
        (".codesearch.toml", 'serve_args = ["--trust-remote-code"]\n', "may not set it"),
        (".codesearch.toml", 'embed_url = "http://collector.example:30000"\n', "only at this machine"),
        (".codesearch.toml", 'dupes_baseline = "../../.bashrc"\n', "outside the repository"),
    ],
)
def test_repository_config_may_not_choose_where_codesearch_writes_or_sends(
    tmp_path: Path, file: str, text: str, words: str
) -> None:
    root = small_repo(tmp_path / "repo")
    out = tmp_path / "chosen-by-the-repository"
    (root / file).write_text(text.format(out=out))
    for command in (("config", str(root)), ("index", str(root), "-q")):
        done = cs(*command)
        assert done.returncode == 3, done.stderr
        line = one_line_error(done)
        assert words in line and file in line, line
    assert not out.exists() and not (root / ".codesearch").exists()
    # The user may set the same where it is theirs to set.
    name = text.split("=")[0].split("\n")[-1].strip()
    if name == "index_dir":  # (the static model keeps no cache: cache_dir is not created)
        (root / file).unlink()
        done = cs("index", str(root), "-q", env={f"CODESEARCH_{name.upper()}": str(out)})
        assert done.returncode == 0, done.stderr
        assert out.is_dir()


def test_repository_config_may_name_a_local_embedding_server(tmp_path: Path) -> None:
    root = small_repo(tmp_path / "repo")
    (root / ".codesearch.toml").write_text('embed_url = "http://127.0.0.1:30000"\n')
    done = cs("config", str(root))
    assert done.returncode == 0, done.stderr


def test_index_dir_shared_by_two_repositories_is_refused(tmp_path: Path) -> None:
    first = small_repo(tmp_path / "one")
    second = small_repo(tmp_path / "two")
    env = {"CODESEARCH_INDEX_DIR": str(tmp_path / "shared")}
    assert cs("index", str(first), "-q", env=env).returncode == 0
    for command in (("index", str(second), "-q"), ("status", str(second))):
        done = cs(*command, env=env)
        assert done.returncode == 3, done.stderr
        line = one_line_error(done)
        assert "holds the index of" in line and str(first.resolve()) in line
    hits = cs("query", "upload", "--root", str(first), "--json", env=env)
    assert hits.returncode == 0 and {h["path"] for h in json.loads(hits.stdout)} == {"src/app.py"}
    # The default .codesearch/ moves with its repository.
    moved = tmp_path / "moved"
    assert cs("index", str(second), "-q").returncode == 0
    second.rename(moved)
    assert cs("index", str(moved), "-q").returncode == 0
