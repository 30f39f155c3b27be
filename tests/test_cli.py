"""The `codesearch` command as a user runs it: real processes, real exit codes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import FIXTURES
from embed_server import EmbedServer


def cs(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codesearch", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_index_json_query_json_and_status(nasty_repo: Path) -> None:
    root = str(nasty_repo)
    done = cs("index", root, "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert {"files", "units", "embedded", "deleted", "skipped", "seconds"} <= set(summary)
    hits = json.loads(cs("query", "exponential backoff upload", "--root", root, "--json", "-k", "3").stdout)
    assert hits[0]["path"] == "src/net/upload.py"
    assert {"path", "start_line", "end_line", "symbol", "kind", "language", "score"} <= set(hits[0])
    human = cs("query", "ISO date", "--root", root, "--lang", "go", "-k", "1")
    assert "src/util/dates.go:9-15" in human.stdout and "ParseISODate" in human.stdout
    status = json.loads(cs("status", root, "--json").stdout)
    assert status["indexed"] and status["complete"] and status["units"] == status["store_points"]
    assert status["model"] == "codesearch-static-code-v2" and status["dimensions"] == 256


def test_batch_queries_answer_in_order(nasty_repo: Path) -> None:
    assert cs("index", str(nasty_repo), "-q").returncode == 0
    lines = "\n".join(
        json.dumps(q)
        for q in (
            {"id": "a", "query": "least recently used cache", "k": 1},
            {"id": "b", "query": "debounce a function call", "k": 2},
        )
    )
    out = cs("query", "--batch", "--root", str(nasty_repo), stdin=lines + "\nnot json\n")
    answers = [json.loads(line) for line in out.stdout.splitlines()]
    assert [a["id"] for a in answers] == ["a", "b", None]
    assert answers[0]["results"][0]["path"] == "lib/lru.rs"
    assert len(answers[1]["results"]) == 2
    assert "bad request" in answers[2]["error"]


def test_dry_run_embeds_nothing(nasty_repo: Path) -> None:
    out = cs("index", str(nasty_repo), "--dry-run", "--json")
    plan = json.loads(out.stdout)
    assert plan["file_count"] == 9 and plan["tokens"] > 0 and plan["tokens_per_second"] > 0
    assert plan["estimated_seconds"] >= 0
    assert json.loads(cs("status", str(nasty_repo), "--json").stdout)["indexed"] is False


def test_errors_are_one_line_with_exit_codes(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def f():\n    pass\n")
    missing = cs("query", "anything", "--root", str(tmp_path))
    assert missing.returncode == 4
    assert missing.stderr.strip().count("\n") == 0 and "codesearch index" in missing.stderr
    bad = cs("index", str(tmp_path), env={"CODESEARCH_K": "lots"})
    assert bad.returncode == 3 and "CODESEARCH_K" in bad.stderr and "Traceback" not in bad.stderr
    assert cs("index", str(tmp_path / "nope")).returncode == 3


def _make_many_files(root: Path, count: int) -> None:
    for i in range(count):
        (root / f"mod_{i:03d}.py").write_text(
            textwrap.dedent(
                f"""
                def compute_{i}(values):
                    total = 0
                    for v in values:
                        total += v * {i}
                    return total


                class Worker{i}:
                    def run(self, job):
                        return job.execute(priority={i})
                """
            )
        )


def test_kill_9_mid_index_resumes_consistently(tmp_path: Path) -> None:
    root = tmp_path / "big"
    root.mkdir()
    _make_many_files(root, 60)
    # The loopback embedding server answers five batches, then holds the rest: the run is
    # killed while it waits, however fast indexing has become.
    embed = EmbedServer(dims=64, context_length=4096, hold_documents=True, pass_documents=5)
    try:
        env = {**embed.codesearch_env(tmp_path / "cache"), "CODESEARCH_BATCH_UNITS": "4"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "codesearch", "index", str(root), "-q"],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        committed = 0
        while time.monotonic() < deadline and proc.poll() is None:
            dbs = list((root / ".codesearch").glob("indexes/*/state.sqlite"))
            if dbs:
                with sqlite3.connect(dbs[0], timeout=5) as db:
                    try:
                        committed = db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
                    except sqlite3.OperationalError:
                        committed = 0
                if committed >= 3:
                    break
            time.sleep(0.05)
        assert proc.poll() is None, "indexing finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert 3 <= committed < 60
        embed.control(hold_documents=False)

        status = json.loads(cs("status", str(root), "--json", env=env).stdout)
        assert status["complete"] is False
        resumed = cs("index", str(root), "--json", env=env)
        assert resumed.returncode == 0, resumed.stderr
        report = json.loads(resumed.stdout)
        assert report["resumed"] is True and report["files"] == 60
        # It carries on: the files the killed run committed are not analysed again.
        assert report["changed_files"] <= 60 - committed
        assert not any("parser changed" in w["reason"] for w in report["warnings"])
        status = json.loads(cs("status", str(root), "--json", env=env).stdout)
        assert status["complete"] and status["pending"] == 0
        assert status["units"] == status["store_points"] == 60 * 4
        again = json.loads(cs("index", str(root), "--json", env=env).stdout)
        assert again["embedded"] == 0 and again["units"] == 240
    finally:
        embed.stop()


@pytest.mark.parametrize("second", ["query", "index"])
def test_second_process_never_sees_a_lock_error(nasty_repo: Path, second: str) -> None:
    assert cs("index", str(nasty_repo), "-q").returncode == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from codesearch import Engine\n"
            "e = Engine.open(sys.argv[1], write=True)\n"
            "print('owner', flush=True)\n"
            "time.sleep(float(sys.argv[2]))\n"
            "e.close()\n",
            str(nasty_repo),
            "4",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "owner"
    started = time.monotonic()
    if second == "query":
        out = cs("query", "least recently used cache", "--root", str(nasty_repo), "--json", "-k", "1")
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)[0]["path"] == "lib/lru.rs"
        assert holder.poll() is None, "the query should have been answered by the owner"
    else:
        out = cs("index", str(nasty_repo))
        assert out.returncode == 0, out.stderr
        assert "waiting for another codesearch process" in out.stderr
        assert time.monotonic() - started > 2
    holder.wait(timeout=60)
    holder.stdout.close()


def test_query_files_ranks_files_in_text_json_and_batch(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "sample_repo", root)
    # A file name that would set the terminal's title and ring its bell if printed raw.
    (root / "src" / "net" / "resume\x1b]0;owned\x07.py").write_text(
        "def resume_failed_upload(session):\n    return session.retry_upload(backoff=True)\n"
    )
    flags = ("--root", str(root), "--model", "static")
    assert cs("index", str(root), "-q", "--model", "static").returncode == 0
    query = "retry a failed upload with backoff"

    text = cs("query", "--files", query, *flags)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    rank, score, where, symbol = lines[0].split()[:4]
    assert (rank, where, symbol) == ("1.", "src/net/upload.py:18-27", "Uploader.upload_with_retry")
    assert float(score) > 0 and "(method, python)" in lines[0]
    assert len({line.split()[2].split(":")[0] for line in lines}) == len(lines)  # one line per file
    assert "\x1b" not in text.stdout and "\x07" not in text.stdout
    assert any("resume\\x1b]0;owned\\x07.py:1-2" in line for line in lines)

    files = json.loads(cs("query", "--files", "--json", "-k", "2", query, *flags).stdout)
    assert files[0]["path"] == "src/net/upload.py" and len(files) == 2
    assert set(files[0]) == {"path", "language", "score", "hits"}
    assert files[0]["hits"][0]["symbol"] == "Uploader.upload_with_retry"
    assert {"start_line", "end_line", "kind", "snippet"} <= set(files[0]["hits"][0])
    assert files[0]["score"] >= files[1]["score"]
    assert "resume\x1b]0;owned\x07.py" in {f["path"].rsplit("/", 1)[-1] for f in files}  # JSON stays exact

    go = json.loads(cs("query", "--files", "--json", "--lang", "go", "parse a date", *flags).stdout)
    assert [f["path"] for f in go] == ["src/util/dates.go"]

    batch = cs("query", "--batch", "--files", *flags, stdin=json.dumps({"id": 7, "query": query, "k": 1}))
    answer = json.loads(batch.stdout)
    assert answer["id"] == 7 and [f["path"] for f in answer["files"]] == ["src/net/upload.py"]
