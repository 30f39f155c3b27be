"""Identifier-aware lexical tokens (pure logic)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from codesearch.indexing import lexical
from codesearch.indexing.lexical import document_vector, query_vector, tokens


def test_camel_snake_and_paths_split_into_the_same_tokens() -> None:
    assert {"pars", "iso", "date"} <= set(tokens("parseISODate"))
    assert {"pars", "iso", "date"} <= set(tokens("parse_iso_date"))
    assert {"pars", "iso"} <= set(tokens("src/parse/iso.py"))


def test_compound_identifier_is_kept_whole() -> None:
    assert "httpserver" in tokens("HTTPServer")
    assert "upload_with_retry" in tokens("upload_with_retry")


def test_stemming_matches_query_words_to_code_words() -> None:
    assert set(tokens("retries uploading")) == set(tokens("retry upload"))


def test_stopwords_are_dropped_from_queries() -> None:
    assert tokens("find the code that parses a date") == tokens("parses date")


def test_document_vector_is_sorted_and_saturates() -> None:
    vec = document_vector("retry retry retry retry upload")
    assert list(vec.indices) == sorted(vec.indices)
    weights = dict(zip(vec.indices, vec.values, strict=True))
    q = query_vector("retry upload")
    retry, upload = q.indices if weights[q.indices[0]] > weights[q.indices[1]] else q.indices[::-1]
    assert weights[retry] > weights[upload]
    assert weights[retry] < 4 * weights[upload]


def test_empty_text_gives_empty_vector() -> None:
    assert document_vector("  \n ").indices == ()


def test_document_vector_by_lines_is_the_word_walk_on_real_files() -> None:
    """document_vector counts tokens line by line (remembered per line); no word spans a
    newline, so it equals the walk over the whole text's words, here on this repository."""
    root = Path(__file__).resolve().parents[1]
    texts = [p.read_text() for p in sorted((root / "codesearch").rglob("*.py"))]
    texts += ["a\r\nb_c\n\nfooBar 12\n", "x" * 10 + "\n" + "x" * 10]
    for text in texts:
        ids = [i for word in lexical._WORD.findall(text) for i in lexical._word_ids(word)]
        vector = lexical.document_vector(text)
        counts = sorted(Counter(ids).items())
        assert vector.indices == tuple(i for i, _ in counts)
        norm = 1.2 * (1 - 0.75 + 0.75 * len(ids) / 120.0)
        assert vector.values == tuple(tf * 2.2 / (tf + norm) for _, tf in counts)
        again = lexical.document_vector(text)  # from the memo
        assert again == vector
