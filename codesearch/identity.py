"""Which model an index is built with, and so which directory under the index holds it.

Each model (and its dimensions, and the store) has its own index directory,
`indexes/<model slug>-<dims>d<store tag>`: an index built with one model is never
searched with another.
"""

from __future__ import annotations

from pathlib import Path

from codesearch.config import Settings
from codesearch.embedding import index_slug
from codesearch.store import store_tag


def known_identity(settings: Settings) -> tuple[str, int] | None:
    """The model id and dimensions of a shipped local model, known without loading it."""
    if settings.backend != "local":
        return None
    if settings.resolved_model() == "minilm":
        from codesearch.embedding.local import MINILM_MODEL_ID

        return MINILM_MODEL_ID, 384
    if settings.resolved_model() == "static":
        from codesearch.embedding.static import static_identity

        return static_identity()
    return None


def recorded_identity(settings: Settings, index_dir: Path) -> tuple[str, int] | None:
    """The identity of the index a server model built, without the server: its configured
    dimensions, or the one index directory of that model; None if not known so."""
    if settings.backend != "sglang":
        return None
    from codesearch.embedding.openai_http import openai_model_id

    model_id = openai_model_id(settings.resolved_model())
    if settings.dimensions:
        return model_id, settings.dimensions
    prefix, tag = index_slug(model_id, 0).removesuffix("0d"), store_tag(settings)
    indexes = index_dir / "indexes"
    found = [
        int(dims)
        for p in (indexes.iterdir() if indexes.is_dir() else ())
        if p.name.startswith(prefix)
        and p.name.endswith("d" + tag)
        and (dims := p.name[len(prefix) : len(p.name) - len(tag) - 1]).isdigit()
    ]
    return (model_id, found[0]) if len(found) == 1 else None


def model_dir(index_dir: Path, identity: tuple[str, int], settings: Settings) -> Path:
    """The directory of the index of that model (id, dimensions) in that store."""
    model_id, dims = identity
    return index_dir / "indexes" / (index_slug(model_id, dims) + store_tag(settings))
