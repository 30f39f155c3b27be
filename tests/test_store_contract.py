"""One behavioural suite for every VectorStore: Qdrant Edge and qdrant-client's local mode.

No Qdrant server binary can run here, so the server-only paths (cluster settings,
payload indexes, retries, gRPC -> REST fallback, version and API-key errors) are
checked against a small fake of Qdrant's REST API.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from qdrant_client import QdrantClient, models

from codesearch.errors import StoreError
from codesearch.indexing.indexer import point_id
from codesearch.indexing.lexical import document_vector, query_vector
from codesearch.store.base import StoredPoint, StoreFilter
from codesearch.store.edge import EdgeStore
from codesearch.store.qdrant_server import QdrantStore, collection_name, point_key
from codesearch.store.transfer import copy_points

DIMS = 16
COLLECTION = "cs-test-16"
ALPHA, BETA = "git@example.com:team/alpha.git", "git@example.com:team/beta.git"
UNITS = [  # path, language, kind, name, text
    ("src/dates.py", "python", "function", "parse_iso_date", "def parse_iso_date(text): fromisoformat"),
    ("src/dates.py", "python", "function", "format_date", "def format_date(value): return strftime(value)"),
    ("src/http.py", "python", "class", "RetryPolicy", "class RetryPolicy: exponential backoff for retries"),
    ("src/http.py", "python", "method", "RetryPolicy.sleep", "def sleep(self, attempt): backoff"),
    ("web/app.ts", "typescript", "function", "renderTable", "function renderTable(rows) { return rows.map }"),
    ("web/app.ts", "typescript", "class", "UserStore", "class UserStore { loadUsers fetch api users }"),
    ("web/util.ts", "typescript", "function", "debounce", "function debounce(fn, wait) { setTimeout(fn) }"),
    ("README.md", "markdown", "section", "Install", "Install codesearch with pip and run the indexer"),
]
_RNG = np.random.default_rng(7)
_RAW = _RNG.normal(size=(len(UNITS), DIMS)).astype(np.float32)
_VECTORS: list[npt.NDArray[np.float32]] = list(_RAW / np.linalg.norm(_RAW, axis=1, keepdims=True))

Store = EdgeStore | QdrantStore
Opener = Callable[..., Store]


def make_points(units: list[tuple[str, str, str, str, str]] = UNITS, extra: str = "") -> list[StoredPoint]:
    """Points shaped like the indexer's: 63-bit ids from path + name, the usual payload fields."""
    return [
        StoredPoint(
            point_id(path, name),
            _VECTORS[UNITS.index((path, lang, kind, name, text))],
            document_vector(f"{name} {text}"),
            {
                "path": path,
                "language": lang,
                "kind": kind,
                "symbol": name,
                "parent": extra,  # one of the fields a search reads (CANDIDATE_FIELDS)
                "start_line": i,
                "snippet": f"{name}: {text}",
            },
        )
        for i, (path, lang, kind, name, text) in enumerate(units)
    ]


def _id(name: str) -> int:
    return point_id(next(u[0] for u in UNITS if u[3] == name), name)


def _vector(name: str) -> npt.NDArray[np.float32]:
    return _VECTORS[[u[3] for u in UNITS].index(name)]


def open_edge(root: Path, dims: int = DIMS, **_: Any) -> EdgeStore:
    (root / "edge").mkdir(exist_ok=True)
    return EdgeStore(root / "edge", dims)


def open_local(root: Path, dims: int = DIMS, **options: Any) -> QdrantStore:
    return QdrantStore(path=str(root / "qdrant"), collection=COLLECTION, dimensions=dims, **options)


@pytest.fixture(params=["edge", "qdrant-local"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens the backend under test in a temporary directory; closes what is left open."""
    opened: list[Store] = []

    def open_store(**options: Any) -> Store:
        store = (open_edge if request.param == "edge" else open_local)(tmp_path, **options)
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        with contextlib.suppress(StoreError):
            store.close()


# -- the contract, on both backends -------------------------------------------------------------------


def test_upsert_then_search_dense_and_lexical(opener: Opener) -> None:
    store = opener()
    store.upsert(make_points())
    assert store.count() == len(UNITS)
    dense, lexical = store.search(_vector("debounce"), query_vector("parse iso date"), 3, StoreFilter())
    assert dense[0].id == _id("debounce") and dense[0].score == pytest.approx(1.0, abs=1e-4)
    assert dense[0].payload["path"] == "web/util.ts" and dense[0].payload["kind"] == "function"
    assert lexical[0].id == _id("parse_iso_date") and len(dense) == 3
    only_dense, no_lexical = store.search(_vector("debounce"), None, 2, StoreFilter())
    assert len(only_dense) == 2 and no_lexical == []
    assert store.search(None, None, 5, StoreFilter()) == ([], [])


def test_filters_on_language_kind_and_path(opener: Opener) -> None:
    store = opener()
    store.upsert(make_points())
    query = _vector("parse_iso_date")
    dense, _ = store.search(query, None, 10, StoreFilter(languages=("typescript",)))
    assert dense and {c.payload["language"] for c in dense} == {"typescript"}
    dense, _ = store.search(query, None, 10, StoreFilter(kinds=("class", "method")))
    assert {c.id for c in dense} == {_id("RetryPolicy"), _id("RetryPolicy.sleep"), _id("UserStore")}
    flt = StoreFilter(paths=("src/http.py", "README.md"), kinds=("class", "section"))
    dense, lexical = store.search(query, query_vector("install backoff"), 10, flt)
    assert {c.id for c in dense} == {_id("RetryPolicy"), _id("Install")}
    assert {c.id for c in lexical} <= {_id("RetryPolicy"), _id("Install")} and lexical


def test_upserting_again_replaces_points(opener: Opener) -> None:
    store = opener()
    store.upsert(make_points())
    store.upsert(make_points(extra="second run"))
    assert store.count() == len(UNITS)
    dense, _ = store.search(_vector("format_date"), None, 1, StoreFilter())
    assert dense[0].id == _id("format_date") and dense[0].payload["parent"] == "second run"


def test_snippets_are_read_for_the_hits_shown(opener: Opener) -> None:
    store = opener()
    store.upsert(make_points())
    dense, _ = store.search(_vector("format_date"), None, 3, StoreFilter())
    ids = [c.id for c in dense]
    found = store.snippets([*ids, 12345])
    assert set(found) == set(ids)
    assert found[_id("format_date")].startswith("format_date: ")
    for c in dense:  # a store may leave the snippet out of a search; if it keeps it, it agrees
        assert c.payload.get("snippet", found[c.id]) == found[c.id]
        assert c.payload["path"] and c.payload["symbol"]


def test_delete_paths(opener: Opener) -> None:
    store = opener()
    store.upsert(make_points())
    store.delete_paths(["src/dates.py", "web/util.ts", "not/indexed.py"])
    assert store.count() == len(UNITS) - 3
    dense, lexical = store.search(_vector("format_date"), query_vector("parse iso date"), 9, StoreFilter())
    gone = {_id("parse_iso_date"), _id("format_date"), _id("debounce")}
    assert not gone & {c.id for c in dense + lexical}
    store.delete_paths([])
    assert store.count() == len(UNITS) - 3


def test_reopening_keeps_the_data(opener: Opener) -> None:
    store = opener()
    store.upsert(make_points())
    store.flush()
    store.close()
    again = opener()
    assert again.count() == len(UNITS)
    dense, _ = again.search(_vector("UserStore"), None, 1, StoreFilter())
    assert dense[0].id == _id("UserStore")


def test_iter_points_round_trip(opener: Opener) -> None:
    store = opener()
    original = {p.id: p for p in make_points()}
    store.upsert(list(original.values()))
    listed = list(store.iter_points(batch=3))
    assert sorted(p.id for p in listed) == sorted(original)
    for point in listed:
        source = original[point.id]
        assert point.payload == source.payload
        np.testing.assert_allclose(point.dense, source.dense, atol=1e-5)  # stored normalised (cosine)
        assert point.sparse.indices == source.sparse.indices
        np.testing.assert_allclose(point.sparse.values, source.sparse.values, rtol=1e-6)


# -- moving an index between backends ------------------------------------------------------------------


def _top(store: Store) -> list[list[int]]:
    out = []
    for name in ("debounce", "RetryPolicy", "Install"):
        dense, lexical = store.search(_vector(name), query_vector(f"{name} backoff"), 5, StoreFilter())
        out += [[c.id for c in dense], [c.id for c in lexical][:1]]
    return out


def test_copy_points_edge_to_local_and_back(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    edge = open_edge(tmp_path / "a")
    edge.upsert(make_points())
    local = open_local(tmp_path, repository="team/repo")
    seen: list[int] = []
    symbols: dict[str, int] = {}

    def tap(points: Sequence[StoredPoint]) -> None:
        symbols.update({str(p.payload["symbol"]): p.id for p in points})

    assert copy_points(edge, local, batch=3, progress=seen.append, on_batch=tap) == len(UNITS)
    assert seen == [3, 6, 8] and local.count() == len(UNITS)
    assert symbols == {u[3]: _id(u[3]) for u in UNITS}
    (tmp_path / "b").mkdir()
    back = open_edge(tmp_path / "b")
    assert copy_points(local, back) == len(UNITS)
    assert _top(edge) == _top(local) == _top(back)
    assert {p.id: p.payload for p in back.iter_points()} == {p.id: p.payload for p in edge.iter_points()}
    for store in (edge, local, back):
        store.close()


# -- Qdrant only: repositories, layout checks, errors -------------------------------------------------


def test_repositories_share_a_collection_but_stay_apart(tmp_path: Path) -> None:
    first = open_local(tmp_path, repository=ALPHA)
    first.upsert(make_points(UNITS[:4]))
    first.close()
    second = open_local(tmp_path, repository=BETA)
    second.upsert(make_points(UNITS[:2] + UNITS[4:]))  # src/dates.py: same unit ids as in alpha
    assert second.count() == 6
    dense, _ = second.search(_vector("RetryPolicy"), None, 10, StoreFilter())
    assert {c.payload["repository"] for c in dense} == {BETA}
    assert _id("RetryPolicy") not in {c.id for c in dense}
    second.delete_paths(["src/dates.py"])
    assert second.count() == 4
    second.close()
    both = open_local(tmp_path, repository=ALPHA, all_repositories=True)
    assert both.count() == 8
    dense, lexical = both.search(_vector("parse_iso_date"), query_vector("retry backoff"), 10, StoreFilter())
    assert {c.payload["repository"] for c in dense} == {ALPHA, BETA}
    assert len({c.id for c in dense}) == len(dense) == 8
    assert dense[0].payload["unit_id"] == _id("parse_iso_date")
    assert dense[0].id == point_key(ALPHA, _id("parse_iso_date"))
    assert lexical[0].payload["unit_id"] == _id("RetryPolicy")
    both.close()
    alpha = open_local(tmp_path, repository=ALPHA)
    assert alpha.count() == 4
    alpha.close()


def test_dimension_mismatch_on_reopen(tmp_path: Path) -> None:
    open_local(tmp_path).close()
    with pytest.raises(StoreError, match="16-dimensional vectors but the model gives 32"):
        open_local(tmp_path, dims=32)


def test_collection_names_are_stable_short_and_safe() -> None:
    shared = collection_name("", "sentence-transformers/all-MiniLM-L6-v2", 384)
    assert shared == "cs-sentence-transformers-all-minilm-l6-v2-384"
    one = collection_name("git@github.com:team/app.git", "Qwen/Qwen3-Embedding-4B", 2560)
    assert one == collection_name("git@github.com:team/app.git", "Qwen/Qwen3-Embedding-4B", 2560)
    assert one.startswith("cs-qwen-qwen3-embedding-4b-2560-") and len(one) < 60
    assert one != collection_name("/home/me/app", "Qwen/Qwen3-Embedding-4B", 2560)
    long = collection_name("", "org/" + "very-long-model-name-" * 5, 1024)
    assert len(long) <= 50 and long.endswith("-1024")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_server_fails_fast_with_one_line() -> None:
    port = _free_port()
    url, started = f"http://127.0.0.1:{port}", time.monotonic()
    with pytest.raises(StoreError) as caught:
        QdrantStore(url=url, grpc_port=port, collection="c", dimensions=DIMS, timeout=2, retries=0)
    assert time.monotonic() - started < 5
    assert f"Qdrant at {url} is not answering" in str(caught.value) and "\n" not in str(caught.value)


# -- a fake of Qdrant's REST API, for the server-only paths --------------------------------------------


class FakeQdrant:
    """Answers the REST calls QdrantStore makes; records them; can fail some with a status code."""

    def __init__(self, version: str = "1.13.0") -> None:
        self.version = version
        self.calls: list[tuple[str, str, Any]] = []
        self.failures: dict[str, tuple[int, int]] = {}  # path suffix -> (status, how many times)
        self.exists = False
        client = QdrantClient(":memory:")  # a real answer to "get collection"
        dense = {"dense": models.VectorParams(size=DIMS, distance=models.Distance.COSINE)}
        client.create_collection("c", dense, {"lex": models.SparseVectorParams(modifier=models.Modifier.IDF)})
        self.info = client.get_collection("c").model_dump(mode="json", exclude_none=True)
        client.close()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                return

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                route = self.path.split("?")[0]
                fake.calls.append((self.command, route, body))
                status, result = fake.route(self.command, route, body)
                data = json.dumps(result if route == "/" else {"result": result, "status": "ok", "time": 0})
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data.encode())

            do_GET = do_PUT = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def route(self, method: str, route: str, body: Any) -> tuple[int, Any]:
        for suffix, (status, times) in self.failures.items():
            if route.endswith(suffix) and times > 0:
                self.failures[suffix] = (status, times - 1)
                return status, {"error": "Service Unavailable"}
        if route == "/":
            return 200, {"title": "qdrant - vector search engine", "version": self.version}
        if route.endswith("/exists"):
            return 200, {"exists": self.exists}
        if method == "PUT" and route == "/collections/c":
            self.exists = True
            return 200, True
        if route == "/collections/c":
            return 200, self.info
        if route.endswith("/points/count"):
            return 200, {"count": 42}
        if route.endswith("/points/query/batch"):
            payload = {"path": "a.py", "unit_id": 99, "repository": "r"}
            return 200, [{"points": [{"id": 7, "version": 1, "score": 0.5, "payload": payload}]}] * 2
        return 200, {"operation_id": 1, "status": "completed"}

    def bodies(self, method: str, suffix: str) -> list[Any]:
        return [body for m, route, body in self.calls if m == method and route.endswith(suffix)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake() -> Iterator[FakeQdrant]:
    server = FakeQdrant()
    yield server
    server.close()


def _server_store(fake: FakeQdrant, **options: Any) -> QdrantStore:
    settings: dict[str, Any] = {"prefer_grpc": False, "retries": 2, "retry_backoff": 0.001, "timeout": 5}
    return QdrantStore(url=fake.url, collection="c", dimensions=DIMS, **(settings | options))


def test_server_layout_writes_retries_and_search(fake: FakeQdrant) -> None:
    cluster = {"shard_number": 6, "replication_factor": 2, "write_consistency_factor": 1}
    store = _server_store(fake, repository="r", on_disk=True, quantization="int8", **cluster)
    (created,) = fake.bodies("PUT", "/collections/c")
    assert {key: created[key] for key in cluster} == cluster
    assert created["vectors"]["dense"] == {"size": DIMS, "distance": "Cosine", "on_disk": True}
    assert created["sparse_vectors"]["lex"]["modifier"] == "idf"
    assert created["quantization_config"]["scalar"]["type"] == "int8"
    indexes = {b["field_name"]: b["field_schema"] for b in fake.bodies("PUT", "/index")}
    assert indexes["repository"] == {"type": "keyword", "is_tenant": True}
    assert {indexes[f] for f in ("path", "language", "kind")} == {"keyword"}

    store.upsert(make_points(UNITS[:2]))
    (written,) = fake.bodies("PUT", "/points")
    assert [p["id"] for p in written["points"]] == [point_key("r", _id(u[3])) for u in UNITS[:2]]
    assert written["points"][0]["payload"]["unit_id"] == _id("parse_iso_date")
    assert written["points"][0]["payload"]["repository"] == "r"

    by_repo = {"key": "repository", "match": {"value": "r"}}
    fake.failures["/points/count"] = (503, 2)
    assert store.count() == 42 and len(fake.bodies("POST", "/points/count")) == 3
    assert fake.bodies("POST", "/points/count")[0]["filter"]["must"] == [by_repo]

    flt = StoreFilter(kinds=("class",))
    dense, lexical = store.search(_vector("debounce"), query_vector("retry"), 4, flt)
    assert dense[0].id == lexical[0].id == 99 and dense[0].payload == {"path": "a.py", "repository": "r"}
    (batch,) = fake.bodies("POST", "/points/query/batch")
    assert [s["using"] for s in batch["searches"]] == ["dense", "lex"]
    assert batch["searches"][1]["filter"]["must"] == [{"key": "kind", "match": {"any": ["class"]}}, by_repo]
    assert batch["searches"][0]["params"]["quantization"]["oversampling"] == 2.0

    fake.failures["/points/count"] = (503, 5)
    with pytest.raises(StoreError, match="could not count points: Qdrant at .* answered HTTP 503"):
        store.count()
    store.close()


def test_server_version_api_key_and_grpc_fallback(fake: FakeQdrant) -> None:
    store = _server_store(fake, prefer_grpc=True, grpc_port=_free_port(), retries=0)  # REST answers
    assert store.count() == 42
    store.close()
    fake.version = "1.9.2"
    with pytest.raises(StoreError, match=r"runs Qdrant 1\.9\.2; codesearch needs 1\.11"):
        _server_store(fake)
    fake.failures["/"] = (401, 1)
    with pytest.raises(StoreError, match=r"refused the API key \(HTTP 401\); set QDRANT_API_KEY"):
        _server_store(fake)
