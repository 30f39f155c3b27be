"""IndexState and EmbeddingCache shared by threads: a long-lived owner runs an index run handed
over by another process in one thread while it answers status, search and duplicates requests
in others, all on one IndexState and one EmbeddingCache."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from codesearch.dupes.fingerprint import UnitFingerprint
from codesearch.embedding.base import Vectors
from codesearch.indexing.cache import EmbeddingCache
from codesearch.indexing.state import FileRecord, FingerprintRecord, IndexState

THREADS = 8
ROUNDS = 300
DIMS = 8


def _hammer(work: list[threading.Thread]) -> None:
    for t in work:
        t.start()
    for t in work:
        t.join()


def _threads(target: Callable[[int], None], errors: list[BaseException]) -> list[threading.Thread]:
    start = threading.Barrier(THREADS)

    def run(n: int) -> None:
        try:
            start.wait()
            target(n)
        except BaseException as exc:  # any failure of a thread fails the test
            errors.append(exc)

    return [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]


def _fingerprint(point: int, path: str, band: int) -> FingerprintRecord:
    fp = UnitFingerprint(
        f"e{point}", f"s{point}", 40, np.arange(4, dtype=np.uint32) + point, (band, band + 1)
    )
    return FingerprintRecord(point, path, "function", f"f{point}", 1, 10, fp)


def test_index_state_shared_by_threads(tmp_path: Path) -> None:
    state = IndexState(tmp_path / "state.sqlite")
    errors: list[BaseException] = []

    def work(n: int) -> None:
        for i in range(ROUNDS):
            path = f"t{n}/f{i}.py"
            point = n * 100_000 + i
            record = FileRecord(path, i, i * 7, f"h{n}-{i}", "python")
            state.commit_files(
                [record],
                [(point, path, "function", "python")],
                fingerprints=[_fingerprint(point, path, point)],
            )
            state.set_meta(**{f"k{n}": str(i)})
            assert state.get_meta(f"k{n}") == str(i)
            files, units, by_kind, by_lang = state.counts()
            assert files >= i + 1 and units >= i + 1 and by_kind and by_lang
            assert [r.point_id for r in state.fingerprints([point])] == [point]
            # Reads of whole tables (they grow to 2,400 rows) on every fourth round only.
            if i % 4 == n % 4:
                assert state.files()[path] == record
                assert point in state.band_matches([point])
            if i % 10 == 0:
                assert len(state.fingerprints()) >= i + 1
                assert state.unit_paths()[point] == path
                assert path in state.paths()

    _hammer(_threads(work, errors))
    assert errors == []
    try:
        files = state.files()
        assert len(files) == THREADS * ROUNDS
        for n in range(THREADS):
            assert state.get_meta(f"k{n}") == str(ROUNDS - 1)
            for i in range(ROUNDS):
                assert files[f"t{n}/f{i}.py"] == FileRecord(f"t{n}/f{i}.py", i, i * 7, f"h{n}-{i}", "python")
        assert state.counts() == (
            THREADS * ROUNDS,
            THREADS * ROUNDS,
            {"function": THREADS * ROUNDS},
            {"python": THREADS * ROUNDS},
        )
        assert state.unit_paths() == {
            n * 100_000 + i: f"t{n}/f{i}.py" for n in range(THREADS) for i in range(ROUNDS)
        }
        prints = state.fingerprints()
        assert sorted(r.point_id for r in prints) == sorted(
            n * 100_000 + i for n in range(THREADS) for i in range(ROUNDS)
        )
        assert state.pending() == []
    finally:
        state.close()
    # What was written is on disk, not only in the connection.
    again = IndexState(tmp_path / "state.sqlite")
    try:
        assert len(again.files()) == THREADS * ROUNDS
    finally:
        again.close()


def _vector(n: int, i: int) -> Vectors:
    return np.arange(1, DIMS + 1, dtype=np.float32) * (n * 1000 + i + 1)


def test_embedding_cache_shared_by_threads(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, "model", DIMS)
    errors: list[BaseException] = []

    def embed(texts: list[str]) -> Vectors:
        return np.stack([_vector(*map(int, t.split(":"))) for t in texts])

    def work(n: int) -> None:
        for i in range(ROUNDS):
            h = f"h{n}-{i}"
            if i % 3 == 0:
                cache.put_many({h: _vector(n, i)})
            else:
                vectors, _ = cache.through({h: f"{n}:{i}", f"h{n}-0": f"{n}:0"}, embed)
                assert np.array_equal(vectors[h], _vector(n, i))
            got = cache.get_many([h, f"h{(n + 1) % THREADS}-0"])
            assert np.array_equal(got[h], _vector(n, i))

    _hammer(_threads(work, errors))
    assert errors == []
    try:
        every = [f"h{n}-{i}" for n in range(THREADS) for i in range(ROUNDS)]
        got = cache.get_many(every)
        assert set(got) == set(every)
        for n in range(THREADS):
            for i in range(ROUNDS):
                assert np.array_equal(got[f"h{n}-{i}"], _vector(n, i))
        _, embedded = cache.through(
            {h: "unused" for h in every}, lambda texts: np.zeros((0, DIMS), dtype=np.float32)
        )
        assert embedded == 0
    finally:
        cache.close()
