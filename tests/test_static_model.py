"""The static embedding model: the real table and tokenizer from the package, the real store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from codesearch import Engine, load_settings
from codesearch.embedding import make_embedder
from codesearch.embedding.static import StaticEmbedder, split_identifiers
from codesearch.errors import ConfigError


@pytest.fixture(scope="module")
def static() -> StaticEmbedder:
    return StaticEmbedder()


def test_identifiers_are_split_into_words() -> None:
    assert split_identifiers("parseISODate(upload_with_retry, HTTPServer)") == [
        "parse", "ISO", "Date", "upload", "with", "retry", "HTTP", "Server",
    ]  # fmt: skip


def test_vectors_are_normalised_and_bad_input_never_crashes(static: StaticEmbedder) -> None:
    texts = [
        "def f(x):\n    return x + 1",
        "",
        "   \n",
        "()[]{};",
        "\x00\x01 binary \udcff",
        "é" * 10,
        "a " * 300_000,
    ]
    vecs = static.embed_documents(texts)
    assert vecs.shape == (len(texts), static.dimensions) and vecs.dtype == np.float32
    assert np.isfinite(vecs).all()
    norms = np.linalg.norm(vecs, axis=1)
    assert norms[0] == pytest.approx(1.0, abs=1e-5) and norms[-1] == pytest.approx(1.0, abs=1e-5)
    assert (norms[1:4] == 0).all()  # nothing to embed: a zero vector, as the contract says
    assert static.embed_documents([]).shape == (0, static.dimensions)


def test_a_long_text_is_averaged_over_its_windows(static: StaticEmbedder) -> None:
    part = "retry the upload after a failure with exponential backoff " * 200
    whole = static.embed_documents([part])[0]
    assert static.count_tokens([part])[0] > static.max_tokens
    assert float(whole @ static.embed_query("retry upload backoff")) > 0.5


def test_memos_filling_up_mid_call_give_the_same_vectors(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [f"def handler_{i}(request):\n    return render(request, 'page_{i}.html')\n" for i in range(40)]
    want = StaticEmbedder().embed_documents(texts)
    monkeypatch.setattr("codesearch.embedding.static._MEMO_SIZE", 7)
    small = StaticEmbedder()
    small.embed_documents(texts[:3])  # part-full memos, so the next call crosses the limit
    assert np.allclose(small.embed_documents(texts), want, atol=1e-6)
    assert small.count_tokens(texts) == StaticEmbedder().count_tokens(texts)


def test_queries_find_the_function_that_does_it(static: StaticEmbedder) -> None:
    docs = [
        "def upload_with_retry(self, path, attempts=5):\n    for i in range(attempts):\n"
        "        try:\n            return self.put(path)\n"
        "        except IOError:\n            time.sleep(2 ** i)",
        "func ParseISODate(s string) (time.Time, error) { return time.Parse(time.RFC3339, s) }",
        "class LRUCache:\n    def get(self, key): ...\n    def evict_least_recent(self): ...",
    ]
    vecs = static.embed_documents(docs)
    for query, expected in [
        ("retry a failed upload with backoff", 0),
        ("parse a date string in ISO format", 1),
        ("least recently used cache", 2),
    ]:
        assert int(np.argmax(vecs @ static.embed_query(query))) == expected, query


def test_static_is_the_default_and_minilm_its_upgrade(tmp_path: Path) -> None:
    settings, _ = load_settings(tmp_path, environ={})
    assert settings.resolved_model() == "static"
    assert isinstance(make_embedder(settings), StaticEmbedder)
    upgrade = settings.upgrade_settings()
    assert upgrade is not None and upgrade.resolved_model() == "minilm" and upgrade.upgrade_settings() is None
    minilm, _ = load_settings(tmp_path, {"model": "minilm"}, environ={})
    assert minilm.upgrade_settings() is None
    assert load_settings(tmp_path, {"upgrade_model": ""}, environ={})[0].upgrade_settings() is None
    bad, _ = load_settings(tmp_path, {"model": "bert-large"})
    with pytest.raises(ConfigError, match="static or minilm"):
        make_embedder(bad)
    sglang, _ = load_settings(tmp_path, {"backend": "sglang"})
    assert sglang.resolved_model() == "Qwen/Qwen3-Embedding-4B" == settings.server_model()


def test_a_model_switch_builds_a_new_index_and_never_mixes_vectors(nasty_repo: Path) -> None:
    def run(model: str) -> tuple[Path, str, int]:
        settings, _ = load_settings(nasty_repo, {"model": model})
        with Engine.open(nasty_repo, settings, write=True) as engine:
            engine.index()
            hits = engine.search("retry a failed upload with exponential backoff", k=3)
            status = engine.status()
            return engine.model_dir, str(hits[0].symbol), int(status["dimensions"])

    static_dir, static_top, static_dims = run("static")
    minilm_dir, minilm_top, minilm_dims = run("minilm")
    assert static_dir != minilm_dir and static_dir.exists() and minilm_dir.exists()
    assert (static_dims, minilm_dims) == (256, 384)
    assert static_top == minilm_top == "Uploader.upload_with_retry"
    again_dir, again_top, _ = run("static")  # the static index is still there, untouched
    assert again_dir == static_dir and again_top == static_top


def test_long_lines_are_not_remembered() -> None:
    """The line memos stay bounded by size: a 20,000-character line (data, generated code) is
    tokenized each time it is met, with the same result."""
    from codesearch.indexing import lexical

    line = "payload = [" + ", ".join(f"value_{i}" for i in range(2_000)) + "]"
    text = f"def load():\n    {line}\n    return payload\n"
    emb = StaticEmbedder()
    first = emb.embed_documents([text])
    assert line.strip() not in emb._lines and f"    {line}" not in emb._lines
    assert "def load():" in emb._lines
    assert np.allclose(emb.embed_documents([text]), first)
    assert lexical.document_vector(text) == lexical.document_vector(text)
    assert f"    {line}" not in lexical._line_memo and "def load():" in lexical._line_memo


def test_token_ids_are_the_tokenizers_of_each_piece_on_real_files(static: StaticEmbedder) -> None:
    """The memos keep ids as int32 bytes, line by line: a text's ids are still the tokenizer's
    ids of its identifier pieces, in order (this repository's modules, read twice: from the
    tokenizer, then from the memo)."""
    root = Path(__file__).resolve().parents[1]
    texts = [p.read_text() for p in sorted((root / "codesearch").rglob("*.py"))[:40]]
    for text in texts:
        pieces = split_identifiers(text)
        want = [
            i for enc in static._tokenizer.encode_batch(pieces, add_special_tokens=False) for i in enc.ids
        ]
        for _ in range(2):
            assert static.token_ids(text).tolist() == want
        assert static.count_tokens([text]) == [len(want)]
