"""Vector stores behind one protocol, and the factory that picks one from settings."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from codesearch.config import Settings
from codesearch.errors import ConfigError
from codesearch.store.base import Candidate, StoredPoint, StoreFilter, VectorStore

__all__ = ["Candidate", "StoreFilter", "StoredPoint", "VectorStore", "open_store", "store_tag"]


def repository_identity(root: Path, settings: Settings) -> str:
    """How this repository is named in a shared collection: option, else `origin` URL, else root path."""
    if settings.qdrant_repository:
        return settings.qdrant_repository
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "config", "--get", "remote.origin.url"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    return str(root)


def store_tag(settings: Settings) -> str:
    """Suffix of the index directory: the embedded store has none; a Qdrant target has its own."""
    if settings.store == "edge":
        return ""
    target = f"{settings.qdrant_url or settings.qdrant_path}|{settings.qdrant_collection}"
    return "@qdrant-" + hashlib.blake2b(target.encode(), digest_size=5).hexdigest()


def open_store(
    settings: Settings, directory: Path, root: Path, model_id: str, dimensions: int, *, repair: bool = False
) -> VectorStore:
    """The store the settings ask for; `directory` holds the embedded store's files.

    With `repair` (an index run), an embedded store that cannot be loaded is set aside and rebuilt.
    """
    if settings.store == "edge":
        from codesearch.safefs import real_dir
        from codesearch.store.edge import EdgeStore

        real_dir(directory / "store")
        return EdgeStore(directory / "store", dimensions, repair=repair)
    if settings.store != "qdrant":
        raise ConfigError(f"unknown store {settings.store!r}; use edge or qdrant")
    if bool(settings.qdrant_url) == bool(settings.qdrant_path):
        raise ConfigError("the qdrant store needs exactly one of --qdrant-url and --qdrant-path")
    from codesearch.store.qdrant_server import QdrantStore, collection_name

    return QdrantStore(
        url=settings.qdrant_url or None,
        path=settings.qdrant_path or None,
        api_key=os.environ.get(settings.qdrant_api_key_env) or None,
        collection=settings.qdrant_collection or collection_name("", model_id, dimensions),
        dimensions=dimensions,
        repository=repository_identity(root, settings),
        all_repositories=settings.all_repositories,
        prefer_grpc=settings.qdrant_prefer_grpc,
        timeout=settings.qdrant_timeout,
        shard_number=settings.qdrant_shards or None,
        replication_factor=settings.qdrant_replicas or None,
        write_consistency_factor=settings.qdrant_write_consistency or None,
        on_disk=settings.qdrant_on_disk,
        quantization=settings.qdrant_quantization or None,
        retries=settings.qdrant_retries,
    )
