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
