"""The sglang backend through the CLI, against a real HTTP server process on loopback."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from embed_server import EmbedServer
from test_cli import cs


@pytest.fixture
def server() -> Iterator[EmbedServer]:
    with EmbedServer(dims=1024, context_length=4096, model="Qwen/Qwen3-Embedding-0.6B") as srv:
        yield srv


def test_index_and_query_through_the_server(nasty_repo: Path, server: EmbedServer) -> None:
    flags = ["--backend", "sglang", "--embed-url", server.url, "--model", "Qwen/Qwen3-Embedding-0.6B"]
    env = {
        "CODESEARCH_CONTEXT_LENGTH": "4096",
        "CODESEARCH_DIMENSIONS": "256",
        "CODESEARCH_API_KEY": "sk-t0p",
    }
    done = cs("index", str(nasty_repo), "--json", *flags, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["embedded"] > 0
    requests = server.requests()
    assert requests and all(r["body"]["dimensions"] == 256 for r in requests)
    assert all(r["authorization"] == "Bearer sk-t0p" for r in requests)
    assert not any(t.startswith("Instruct:") for r in requests for t in r["body"]["input"])
    server.reset()
    out = cs("query", "retry upload with backoff", "--root", str(nasty_repo), "--json", *flags, env=env)
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)) == 10
    (query_request,) = server.requests()
    assert query_request["body"]["input"] == [
        "Instruct: Given a code search query, retrieve the code snippet that answers it\n"
        "Query:retry upload with backoff"
    ]
    status = json.loads(cs("status", str(nasty_repo), "--json", *flags, env=env).stdout)
    assert status["model"] == "openai:Qwen/Qwen3-Embedding-0.6B" and status["dimensions"] == 256
    # The local model's index is another index: two models' vectors never mix.
    local = json.loads(cs("status", str(nasty_repo), "--json").stdout)
    assert local["indexed"] is False
    assert local["other_indexes"] == ["openai_Qwen_Qwen3-Embedding-0.6B-256d"]


def test_server_down_is_one_clear_line(nasty_repo: Path) -> None:
    flags = ["--backend", "sglang", "--embed-url", "http://127.0.0.1:9", "--model", "Qwen/Qwen3-Embedding-4B"]
    out = cs("index", str(nasty_repo), "-q", *flags, env={**os.environ, "CODESEARCH_TIMEOUT": "2"})
    assert out.returncode == 8, out.stderr
    assert "not answering" in out.stderr and "Traceback" not in out.stderr
    assert out.stderr.strip().count("\n") == 0


def test_a_query_while_the_server_is_down_answers_from_the_lexical_index(nasty_repo: Path) -> None:
    """Engine.answer's fallback, as `codesearch query` shows it: lexical matches (also for a
    dense query) and one line on stderr saying why; --json stays a list, --batch lines say
    `lexical_only`. The index's directory is found without the server (its dimensions)."""
    env = {"CODESEARCH_CONTEXT_LENGTH": "4096", "CODESEARCH_TIMEOUT": "2"}
    with EmbedServer(dims=64, context_length=4096, model="test-model") as srv:
        flags = ["--backend", "sglang", "--embed-url", srv.url, "--model", "test-model"]
        assert cs("index", str(nasty_repo), "-q", *flags, env=env).returncode == 0
    # The server is gone now: nothing listens on its port.
    query = ["query", "upload_with_retry", "--root", str(nasty_repo), *flags]
    out = cs(*query, "--json", env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) and "Traceback" not in out.stderr
    assert out.stderr.startswith("lexical only: the embedding model is not available")
    assert out.stderr.strip().count("\n") == 0
    files = cs(*query, "--files", "--mode", "dense", env=env)  # a dense query too
    assert files.returncode == 0 and "src/net/upload.py" in files.stdout
    assert files.stderr.startswith("lexical only:")
    batch = cs(*query[:1], "--batch", *query[2:], env=env, stdin='{"id": 1, "query": "retry upload"}\n')
    line = json.loads(batch.stdout)
    assert line["id"] == 1 and line["results"] and "not answering" in line["lexical_only"]
