"""Embedding backends behind one protocol, and the factory that picks one from settings."""

from __future__ import annotations

import os
import re

from codesearch.config import Settings
from codesearch.embedding.base import Embedder, Vectors, normalize_rows
from codesearch.errors import ConfigError

__all__ = ["Embedder", "Vectors", "index_slug", "make_embedder", "normalize_rows"]


def make_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for (loads the model or connects to the server)."""
    if settings.backend == "local":
        model = settings.resolved_model()
        if model == "static":
            from codesearch.embedding.static import StaticEmbedder

            return StaticEmbedder()
        if model == "minilm":
            from codesearch.embedding.local import LocalEmbedder

            return LocalEmbedder(threads=settings.threads)
        raise ConfigError(f"unknown model {model!r} for backend local; use static or minilm")
    if settings.backend == "sglang":
        from codesearch.embedding.openai_http import OpenAIEmbedder

        return OpenAIEmbedder(
            url=settings.embed_url,
            model=settings.resolved_model(),
            dimensions=settings.dimensions or None,
            api_key=os.environ.get(settings.api_key_env) or None,
            query_instruction=settings.query_instruction,
            context_length=settings.context_length,
            tokenizer=settings.tokenizer or None,
            concurrency=settings.concurrency,
            batch_tokens=settings.batch_tokens,
            timeout=settings.timeout,
        )
    raise ConfigError(f"unknown backend {settings.backend!r}; use local or sglang")


def index_slug(model_id: str, dimensions: int) -> str:
    """Directory name of the index built with this model and dimension."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{model_id}-{dimensions}d").strip("_")
