"""A store on a Qdrant server or cluster (qdrant-client), or qdrant-client's local mode.

Only this module imports `qdrant_client` (and qdrant_errors.py, which words its
errors); its errors (and the httpx / gRPC errors under it) become StoreError here.
The collection has the same layout as the embedded store: a named dense vector
"dense" (cosine) and a sparse vector "lex" with Qdrant's IDF modifier. Several
repositories can share one collection: every point carries a `repository` payload
field (a tenant index) and a store instance reads and writes its own repository
only, unless opened with `all_repositories`.

Local mode (`path=`) is pure Python: fine for tests and small demos, but slow
(about 200 upserts/s and seconds per filtered query at 100k points).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
from qdrant_client import QdrantClient, models

from codesearch.errors import StoreError
from codesearch.indexing.lexical import SparseVector
from codesearch.models import UnitPayload
from codesearch.store.base import Candidate, StoredPoint, StoreFilter
from codesearch.store.qdrant_errors import describe, one_line

DENSE = "dense"
LEXICAL = "lex"
REPOSITORY = "repository"
UNIT_ID = "unit_id"
MIN_SERVER = (1, 11)  # Query API and IDF need 1.10; tenant indexes need 1.11
_FLOATS_PER_REQUEST = 400_000  # keeps one upsert request well under the server's 32 MB limit
_INDEXES: dict[str, models.PayloadSchemaType | models.KeywordIndexParams] = {
    "path": models.PayloadSchemaType.KEYWORD,
    "language": models.PayloadSchemaType.KEYWORD,
    "kind": models.PayloadSchemaType.KEYWORD,
    "name": models.PayloadSchemaType.KEYWORD,
    REPOSITORY: models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True),
}
_INT8 = models.ScalarQuantization(
    scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, quantile=0.99, always_ram=True)
)
_IDF = models.Modifier.IDF
_log = logging.getLogger(__name__)
_T = TypeVar("_T")


def collection_name(repository_id: str, model_id: str, dimensions: int) -> str:
    """A stable, short collection name: `cs-<model>-<dims>`, plus a hash of the repository if given.

    An empty `repository_id` names the collection shared by every repository
    indexed with this model, the layout Qdrant recommends (one collection per
    embedding model, tenants told apart by a payload field).
    """
    slug = re.sub(r"[^a-z0-9]+", "-", model_id.lower()).strip("-") or "model"
    if len(slug) > 40:
        slug = f"{slug[:33]}-{_short_hash(model_id, 3)}"
    name = f"cs-{slug}-{dimensions}"
    return f"{name}-{_short_hash(repository_id, 4)}" if repository_id else name


def _short_hash(text: str, size: int) -> str:
    return hashlib.blake2b(text.encode(), digest_size=size).hexdigest()


def point_key(repository: str, unit_id: int) -> int:
    """The 63-bit Qdrant point id of a caller's unit id within a repository."""
    digest = hashlib.blake2b(f"{repository}\0{unit_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def _point(repository: str, p: StoredPoint) -> models.PointStruct:
    sparse = models.SparseVector(indices=list(p.sparse.indices), values=list(p.sparse.values))
    return models.PointStruct(
        id=point_key(repository, p.id),
        vector={DENSE: p.dense.tolist(), LEXICAL: sparse},
        payload={**p.payload, REPOSITORY: repository, UNIT_ID: p.id},
    )


def _vectors(record: models.Record) -> tuple[npt.NDArray[np.float32], SparseVector]:
    vectors = record.vector if isinstance(record.vector, dict) else {}
    lex = vectors.get(LEXICAL)
    indices, values = (lex.indices, lex.values) if isinstance(lex, models.SparseVector) else ([], [])
    return np.asarray(vectors.get(DENSE, []), dtype=np.float32), SparseVector(tuple(indices), tuple(values))


class QdrantStore:
    """A Qdrant collection with a named dense vector and a sparse lexical vector, scoped to a repository.

    Writes always go to `repository`. Reads (search, count, iter_points) see that
    repository only, or every repository in the collection with `all_repositories`;
    then Candidate/StoredPoint ids are the store's own (unique across repositories)
    and payloads keep `repository` and the caller's `unit_id`.
    """

    def __init__(
        self,
        *,
        url: str | None = None,
        path: str | None = None,
        api_key: str | None = None,
        collection: str,
        dimensions: int,
        repository: str = "",
        all_repositories: bool = False,
        prefer_grpc: bool = True,
        grpc_port: int = 6334,
        timeout: float = 30,
        shard_number: int | None = None,
        replication_factor: int | None = None,
        write_consistency_factor: int | None = None,
        on_disk: bool = False,
        quantization: str | None = None,
        retries: int = 3,
        retry_backoff: float = 0.5,
    ) -> None:
        if (url is None) == (path is None):
            raise StoreError("give the Qdrant store either a server URL or a local path, not both or neither")
        if quantization not in (None, "int8"):
            raise StoreError(f"unknown Qdrant quantization {quantization!r}; use 'int8' or none")
        self.dimensions = dimensions
        self.collection = collection
        self.repository = repository
        self.all_repositories = all_repositories
        self._where = f"Qdrant at {url}" if url is not None else f"the Qdrant local store at {path}"
        self._timeout = timeout
        self._retries = max(0, retries)
        self._backoff = retry_backoff
        self._local = path is not None
        self._quantized = quantization == "int8"
        oversample = models.SearchParams(quantization=models.QuantizationSearchParams(oversampling=2.0))
        self._dense_params = oversample if self._quantized and not self._local else None  # local mode warns
        # local mode holds one sqlite connection, so calls are serialised; a server client is thread-safe
        self._lock: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if self._local else contextlib.nullcontext()
        )
        self._closed = False
        if path is not None:
            try:
                self._client = QdrantClient(path=path, force_disable_check_same_thread=True)
            except Exception as exc:  # portalocker (directory in use), sqlite, pydantic
                raise StoreError(f"could not open {self._where}: {one_line(str(exc))}") from exc
        else:
            self._client = self._connect(str(url), api_key, prefer_grpc, grpc_port)
        try:
            self._ensure_collection(shard_number, replication_factor, write_consistency_factor, on_disk)
        except StoreError:
            self._client.close()
            raise

    def _connect(self, url: str, api_key: str | None, prefer_grpc: bool, grpc_port: int) -> QdrantClient:
        """A client that answered a health check: gRPC if preferred and reachable, else REST."""
        timeout = max(1, math.ceil(self._timeout))
        # check_compatibility=False: the version is checked below, as a StoreError rather than a warning
        make = partial(QdrantClient, url=url, api_key=api_key, grpc_port=grpc_port, timeout=timeout)
        modes = [True, False] if prefer_grpc else [False]  # gRPC first, REST as the fallback
        try:
            clients = [make(prefer_grpc=grpc, check_compatibility=False) for grpc in modes]
        except ValueError as exc:  # a malformed URL
            raise StoreError(f"invalid Qdrant URL {url!r}: {one_line(str(exc))}") from exc
        try:
            for attempt in range(self._retries + 1):
                for client in clients:
                    try:
                        version = client.info().version
                    except Exception as exc:
                        message, transient = describe(self._where, self._timeout, exc)
                        if not transient or (attempt == self._retries and client is clients[-1]):
                            raise StoreError(message) from exc
                        continue
                    if client is not clients[0]:
                        _log.info("%s: gRPC port %d is not reachable, using REST", self._where, grpc_port)
                    found = re.match(r"v?(\d+)\.(\d+)", version)
                    if found and (int(found[1]), int(found[2])) < MIN_SERVER:
                        raise StoreError(f"{self._where} runs Qdrant {version}; codesearch needs 1.11+")
                    clients.remove(client)
                    return client
                time.sleep(self._backoff * 2**attempt)
            raise AssertionError("unreachable")
        finally:
            for client in clients:
                client.close()

    def _ensure_collection(
        self, shards: int | None, replicas: int | None, write_consistency: int | None, on_disk: bool
    ) -> None:
        exists = partial(self._client.collection_exists, self.collection)
        if not self._call("check the collection", exists):
            on = on_disk or None
            dense_config = models.VectorParams(
                size=self.dimensions, distance=models.Distance.COSINE, on_disk=on
            )
            lex_config = models.SparseVectorParams(modifier=_IDF, index=models.SparseIndexParams(on_disk=on))
            create = partial(
                self._client.create_collection,
                self.collection,
                {DENSE: dense_config},
                {LEXICAL: lex_config},
                shard_number=shards,
                replication_factor=replicas,
                write_consistency_factor=write_consistency,
                quantization_config=_INT8 if self._quantized else None,
            )
            try:
                self._call("create the collection", create)
            except StoreError:  # another process may have created it since the check
                if not self._call("check the collection", exists):
                    raise
        info = self._call("read the collection", partial(self._client.get_collection, self.collection))
        vectors = info.config.params.vectors
        dense = vectors.get(DENSE) if isinstance(vectors, dict) else None
        if dense is None or LEXICAL not in (info.config.params.sparse_vectors or {}):
            raise StoreError(
                f"collection {self.collection!r} on {self._where} was not made by codesearch "
                f"(it has no '{DENSE}' and '{LEXICAL}' vectors); choose another collection name"
            )
        if dense.size != self.dimensions:
            raise StoreError(
                f"collection {self.collection!r} on {self._where} was built with {dense.size}-dimensional "
                f"vectors but the model gives {self.dimensions}; use another collection name or model"
            )
        for field, schema in () if self._local else _INDEXES.items():  # local mode ignores indexes
            if field not in (info.payload_schema or {}):
                index = partial(self._client.create_payload_index, self.collection, field, schema, wait=True)
                self._call(f"index the {field} field", index)

    def _call(self, action: str, fn: Callable[[], _T]) -> _T:
        """Run one client call, retrying transient failures with exponential backoff."""
        if self._closed:
            raise StoreError(f"the Qdrant store was closed; cannot {action}")
        for attempt in range(self._retries + 1):
            try:
                with self._lock:
                    return fn()
            except Exception as exc:
                message, transient = describe(self._where, self._timeout, exc)
                if not transient or attempt == self._retries:
                    raise StoreError(f"could not {action}: {message}") from exc
                _log.info("retrying after: %s", message)
            time.sleep(self._backoff * 2**attempt)
        raise AssertionError("unreachable")

    def _own(self) -> models.FieldCondition:
        return models.FieldCondition(key=REPOSITORY, match=models.MatchValue(value=self.repository))

    def _scope(self, must: list[models.Condition]) -> models.Filter | None:
        must = must if self.all_repositories else [*must, self._own()]
        return models.Filter(must=must) if must else None

    def _view(
        self, point_id: models.ExtendedPointId, payload: Any, keep_repo: bool
    ) -> tuple[int, UnitPayload]:
        """The caller's id and payload; across repositories the store's own (unique) id and every field."""
        out = dict(payload or {})
        if self.all_repositories or UNIT_ID not in out:
            return int(str(point_id)), cast(UnitPayload, out)
        if not keep_repo:
            out.pop(REPOSITORY, None)
        return int(out.pop(UNIT_ID)), cast(UnitPayload, out)

    def upsert(self, points: Sequence[StoredPoint]) -> None:
        """Insert or replace points by id (in this store's repository)."""
        step = max(16, _FLOATS_PER_REQUEST // max(1, self.dimensions))
        for start in range(0, len(points), step):
            built = [_point(self.repository, p) for p in points[start : start + step]]
            self._call("store points", partial(self._client.upsert, self.collection, built, wait=True))

    def delete_paths(self, paths: Sequence[str]) -> None:
        """Delete every point of these files (in this store's repository)."""
        for start in range(0, len(paths), 512):
            by_path = models.FieldCondition(
                key="path", match=models.MatchAny(any=list(paths[start : start + 512]))
            )
            selector = models.FilterSelector(filter=models.Filter(must=[by_path, self._own()]))
            self._call("delete points", partial(self._client.delete, self.collection, selector, wait=True))

    def clear(self) -> None:
        """Delete every point of this store's repository (the collection stays)."""
        selector = models.FilterSelector(filter=models.Filter(must=[self._own()]))
        self._call("delete points", partial(self._client.delete, self.collection, selector, wait=True))

    def search(
        self,
        dense: npt.NDArray[np.float32] | None,
        sparse: SparseVector | None,
        limit: int,
        flt: StoreFilter,
    ) -> tuple[list[Candidate], list[Candidate]]:
        """Top `limit` from each retriever, in one batch request."""
        cond = self._scope(
            [
                models.FieldCondition(key=key, match=models.MatchAny(any=list(values)))
                for key, values in (
                    ("language", flt.languages),
                    ("kind", flt.kinds),
                    ("path", flt.paths),
                    ("name", flt.names),
                )
                if values
            ]
        )
        requests: dict[str, models.QueryRequest] = {}
        if dense is not None and limit > 0:
            params = self._dense_params
            requests["dense"] = models.QueryRequest(
                query=dense.tolist(), using=DENSE, filter=cond, limit=limit, params=params, with_payload=True
            )
        if sparse is not None and sparse.indices and limit > 0:
            query = models.SparseVector(indices=list(sparse.indices), values=list(sparse.values))
            requests["lexical"] = models.QueryRequest(
                query=query, using=LEXICAL, filter=cond, limit=limit, with_payload=True
            )
        if not requests:
            return [], []
        batch = partial(self._client.query_batch_points, self.collection, requests=list(requests.values()))
        result: dict[str, list[Candidate]] = {"dense": [], "lexical": []}
        for kind, answer in zip(requests, self._call("search", batch), strict=True):
            for p in answer.points:
                ident, payload = self._view(p.id, p.payload, keep_repo=True)
                result[kind].append(Candidate(ident, float(p.score), payload))
        return result["dense"], result["lexical"]

    def count(self) -> int:
        """Number of points stored (in this store's repository, or in all)."""
        counting = partial(self._client.count, self.collection, count_filter=self._scope([]), exact=True)
        return int(self._call("count points", counting).count)

    def snippets(self, ids: Sequence[int]) -> dict[int, str]:
        """Stored snippets of these points (this store's repository), by the caller's id."""
        out: dict[int, str] = {}
        for start in range(0, len(ids), 256):
            keys = {point_key(self.repository, i): i for i in ids[start : start + 256]}
            fetch = partial(
                self._client.retrieve,
                self.collection,
                list(keys),
                with_payload=["snippet"],
                with_vectors=False,
            )
            for record in self._call("read snippets", fetch):
                ident = keys.get(int(str(record.id)))
                if ident is not None:
                    out[ident] = str((record.payload or {}).get("snippet", ""))
        return out

    def vectors(self, ids: Sequence[int]) -> dict[int, npt.NDArray[np.float32]]:
        """Dense vectors of these points (this store's repository), by the caller's id."""
        out: dict[int, npt.NDArray[np.float32]] = {}
        for start in range(0, len(ids), 256):
            chunk = list(ids[start : start + 256])
            keys = {point_key(self.repository, i): i for i in chunk}
            fetch = partial(
                self._client.retrieve, self.collection, list(keys), with_payload=False, with_vectors=[DENSE]
            )
            for record in self._call("read vectors", fetch):
                ident = keys.get(int(str(record.id)))
                if ident is not None:
                    out[ident] = _vectors(record)[0]
        return out

    def iter_points(self, batch: int = 256) -> Iterator[StoredPoint]:
        """Every point with its vectors and payload, for export (ids as `search` gives them)."""
        offset: models.ExtendedPointId | None = None
        while True:
            scope = self._scope([])
            page = partial(
                self._client.scroll, self.collection, scope, batch, offset=offset, with_vectors=True
            )
            records, offset = self._call("read points", page)
            for record in records:
                ident, payload = self._view(record.id, record.payload, keep_repo=False)
                yield StoredPoint(ident, *_vectors(record), payload)
            if offset is None:
                return

    def flush(self) -> None:
        """Nothing to do: every write waited until the server had applied it (wait=True)."""

    def close(self) -> None:
        """Release the client (and local mode's directory lock); closing twice is fine."""
        if self._closed:
            return
        self._closed = True
        try:
            with self._lock:
                self._client.close()
        except Exception as exc:
            raise StoreError(f"could not close {self._where}: {one_line(str(exc))}") from exc
