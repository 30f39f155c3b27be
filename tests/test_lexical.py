"""Identifier-aware lexical tokens (pure logic)."""

from __future__ import annotations

from codesearch.lexical import document_vector, query_vector, tokens


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
