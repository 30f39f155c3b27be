"""The embedded default store: Qdrant Edge (qdrant-edge-py), in process.

Only this module imports `qdrant_edge`; its errors become StoreError here.
Qdrant Edge allows one open shard per directory, so the caller (codesearch.owner.channel)
makes sure a single process opens it.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import qdrant_edge as qe

from codesearch.errors import StoreError
from codesearch.indexing.lexical import SparseVector
from codesearch.models import UnitPayload
from codesearch.store.base import CANDIDATE_FIELDS, Candidate, StoredPoint, StoreFilter

DENSE = "dense"
LEXICAL = "lex"
_INDEXED_FIELDS = ("path", "language", "kind", "name")


def _conditions(flt: StoreFilter) -> qe.Filter | None:
    must: list[Any] = []
    for key, values in (
        ("language", flt.languages),
        ("kind", flt.kinds),
        ("path", flt.paths),
        ("name", flt.names),
    ):
        if values:
            must.append(qe.FieldCondition(key=key, match=qe.MatchAny(any=list(values))))
    return qe.Filter(must=must) if must else None


def _empty(path: Path) -> None:
    """Remove what is in a store directory (never following a link)."""
    for child in path.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


#: What a search reads of each candidate's payload: what ranking and hits read. The snippet is
#: read for the hits shown only (`snippets`): reading it for 100 candidates cost more than the
#: search. qdrant-edge's payload conversion costs about a microsecond a field, so the hashes,
#: byte offsets and signature stay in the store too.
_FIELDS = qe.PayloadSelector.Include(CANDIDATE_FIELDS)
#: Dense searches rescore the best int8 candidates (twice the limit) with the original vectors.
_RESCORED = qe.SearchParams(quantization=qe.QuantizationSearchParams(rescore=True, oversampling=2.0))


def _quantized_config(config: Path) -> bool:
    """Whether a shard's saved configuration quantises its dense vectors."""
    try:
        saved = json.loads(config.read_text(encoding="utf-8"))
        return bool(saved["vectors"][DENSE].get("quantization_config"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


class EdgeStore:
    """A Qdrant Edge shard with a named dense vector and a sparse lexical vector."""

    def __init__(self, path: Path, dimensions: int, *, repair: bool = False) -> None:
        """Open the shard at `path`, creating it if new.

        A shard without its `edge_config.json` was never completely created (a first index
        killed in its first second): nothing in it can be loaded, so it is emptied and created
        again. A shard that cannot be loaded is reported with the command that rebuilds it, or
        with `repair` (an index run), set aside next to it and created again; `repaired` then
        says what was done. The state and the store are reconciled by the indexer.
        """
        self._lock = threading.Lock()
        self.dimensions = dimensions
        self.repaired: str | None = None
        self._quantized = False
        if not (path / "edge_config.json").exists() and any(path.iterdir()):
            _empty(path)
            self.repaired = (
                "the index store was never completely written (a first run was stopped); rebuilt it"
            )
        try:
            if (path / "edge_config.json").exists():
                try:
                    self._shard = qe.EdgeShard.load(str(path))
                except Exception as exc:  # noqa: BLE001 -- qdrant_edge raises plain Exception
                    why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    if not repair:
                        raise StoreError(
                            f"the index store at {path} is damaged ({why}); run `codesearch index` "
                            "to rebuild it (embeddings come from the cache)"
                        ) from None
                    aside = path.with_name(f"{path.name}.damaged-{int(time.time())}")
                    path.rename(aside)
                    path.mkdir()
                    self.repaired = f"the index store was damaged ({why}); moved it to {aside} and rebuilt it"
            if not (path / "edge_config.json").exists():
                config = qe.EdgeConfig(
                    vectors={
                        DENSE: qe.EdgeVectorParams(
                            size=dimensions,
                            distance=qe.Distance.Cosine,
                            # `optimize` makes int8 codes of the vectors, which brute force reads
                            # (a quarter of the memory traffic) before rescoring the best with
                            # the originals; no graph (m=0): building HNSW takes minutes here.
                            quantization_config=qe.ScalarQuantizationConfig(
                                type=qe.ScalarType.Int8, always_ram=True
                            ),
                            hnsw_config=qe.HnswIndexConfig(m=0, ef_construct=100, full_scan_threshold=10),
                        )
                    },
                    sparse_vectors={LEXICAL: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
                )
                self._shard = qe.EdgeShard.create(str(path), config)
                for name in _INDEXED_FIELDS:
                    self._shard.update(
                        qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Keyword)
                    )
        except StoreError:
            raise
        except Exception as exc:  # qdrant_edge raises plain Exception subclasses
            raise StoreError(f"could not open the index store at {path}: {exc}") from exc
        self._quantized = _quantized_config(path / "edge_config.json")

    def upsert(self, points: Sequence[StoredPoint]) -> None:
        """Insert or replace points by id."""
        if not points:
            return
        built = [
            qe.Point(
                p.id,
                {
                    DENSE: p.dense.tolist(),
                    LEXICAL: qe.SparseVector(list(p.sparse.indices), list(p.sparse.values)),
                },
                cast("dict[str, Any]", p.payload),
            )
            for p in points
        ]
        self._update(qe.UpdateOperation.upsert_points(built))

    def delete_paths(self, paths: Sequence[str]) -> None:
        """Delete every point of these files."""
        for start in range(0, len(paths), 512):
            chunk = list(paths[start : start + 512])
            flt = qe.Filter(must=[qe.FieldCondition(key="path", match=qe.MatchAny(any=chunk))])
            self._update(qe.UpdateOperation.delete_points_by_filter(flt))

    def _update(self, op: Any) -> None:
        try:
            with self._lock:
                self._shard.update(op)
        except Exception as exc:
            raise StoreError(f"the index store refused a write: {exc}") from exc

    def search(
        self,
        dense: npt.NDArray[np.float32] | None,
        sparse: SparseVector | None,
        limit: int,
        flt: StoreFilter,
    ) -> tuple[list[Candidate], list[Candidate]]:
        """Top `limit` from each retriever, in one planned batch."""
        cond = _conditions(flt)
        requests: list[qe.QueryRequest] = []
        kinds: list[str] = []
        if dense is not None:
            query = qe.Query.Nearest(dense.tolist(), using=DENSE)
            requests.append(
                qe.QueryRequest(limit=limit, query=query, filter=cond, with_payload=_FIELDS, params=_RESCORED)
            )
            kinds.append("dense")
        if sparse is not None and sparse.indices:
            sv = qe.SparseVector(list(sparse.indices), list(sparse.values))
            query = qe.Query.Nearest(sv, using=LEXICAL)
            requests.append(qe.QueryRequest(limit=limit, query=query, filter=cond, with_payload=_FIELDS))
            kinds.append("lexical")
        if not requests:
            return [], []
        try:
            with self._lock:
                answers = self._shard.query_batch(qe.QueryBatchRequest(requests))
        except Exception as exc:
            raise StoreError(f"the index store failed a search: {exc}") from exc
        result: dict[str, list[Candidate]] = {"dense": [], "lexical": []}
        for kind, points in zip(kinds, answers, strict=True):
            result[kind] = [
                Candidate(int(p.id), float(p.score), cast(UnitPayload, dict(p.payload or {}))) for p in points
            ]
        return result["dense"], result["lexical"]

    def snippets(self, ids: Sequence[int]) -> dict[int, str]:
        """Stored snippets of these points, by id."""
        try:
            with self._lock:
                records = self._shard.retrieve(list(ids), ["snippet"], False)
        except Exception as exc:
            raise StoreError(f"the index store failed to read snippets: {exc}") from exc
        return {int(r.id): str((r.payload or {}).get("snippet", "")) for r in records}

    def count(self) -> int:
        """Number of points stored."""
        try:
            with self._lock:
                return int(self._shard.count(qe.CountRequest(exact=True)))
        except Exception as exc:
            raise StoreError(f"the index store failed to count: {exc}") from exc

    def vectors(self, ids: Sequence[int]) -> dict[int, npt.NDArray[np.float32]]:
        """Dense vectors of these points, by id (ids not stored are left out)."""
        out: dict[int, npt.NDArray[np.float32]] = {}
        for start in range(0, len(ids), 512):
            try:
                with self._lock:
                    records = self._shard.retrieve(list(ids[start : start + 512]), False, [DENSE])
            except Exception as exc:
                raise StoreError(f"the index store failed to read vectors: {exc}") from exc
            for record in records:
                vectors = record.vector if isinstance(record.vector, dict) else {}
                if DENSE in vectors:
                    out[int(record.id)] = np.asarray(vectors[DENSE], dtype=np.float32)
        return out

    def iter_points(self, batch: int = 256) -> Iterator[StoredPoint]:
        """Every point with its vectors and payload, page by page (for export)."""
        offset: Any = None
        while True:
            request = qe.ScrollRequest(offset=offset, limit=batch, with_payload=True, with_vector=True)
            try:
                with self._lock:
                    records, offset = self._shard.scroll(request)
            except Exception as exc:
                raise StoreError(f"the index store failed to read points: {exc}") from exc
            for record in records:
                vectors = record.vector if isinstance(record.vector, dict) else {}
                lex = vectors.get(LEXICAL)
                sparse = (
                    SparseVector(tuple(lex.indices), tuple(lex.values))
                    if isinstance(lex, qe.SparseVector)
                    else SparseVector((), ())
                )
                dense = np.asarray(vectors.get(DENSE, []), dtype=np.float32)
                yield StoredPoint(
                    int(record.id), dense, sparse, cast(UnitPayload, dict(record.payload or {}))
                )
            if offset is None:
                return

    @property
    def quantized(self) -> bool:
        """Whether `optimize` quantises this shard's vectors (shards made before it built HNSW
        graphs instead, which takes minutes: they are left as they are)."""
        return self._quantized

    def optimize(self) -> None:
        """Quantise the vectors written so far to int8 codes (blocks; about a second per 100k
        points on 2 cores)."""
        try:
            with self._lock:
                self._shard.optimize()
        except Exception as exc:
            raise StoreError(f"the index store failed to quantise its vectors: {exc}") from exc

    def flush(self) -> None:
        """Make every write so far durable."""
        try:
            with self._lock:
                self._shard.flush()
        except Exception as exc:
            raise StoreError(f"the index store failed to flush: {exc}") from exc

    def close(self) -> None:
        """Flush and release the shard (its directory lock too)."""
        with self._lock:
            try:
                self._shard.flush()
                self._shard.close()
            except Exception as exc:
                raise StoreError(f"the index store failed to close: {exc}") from exc
