"""The owner's wire forms (codesearch.owner.rpc): each codec reads back what it wrote, and an error
reply is raised as the class it names (pure logic; the socket itself is tested in
test_owner_handoff and test_engine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from codesearch import errors
from codesearch.dupes.gitstage import ChangedFile
from codesearch.indexing.indexer import Progress
from codesearch.models import FileHit, IndexReport, RedactedFile, SearchFilters, SearchHit, SkippedFile
from codesearch.owner import rpc


def _hit(path: str = "src/a.py") -> SearchHit:
    return SearchHit(path, 3, 9, "Retry.run", "method", "python", 0.75, "def run():\n    ...", 0.5, None)


def test_every_error_class_comes_back_as_itself() -> None:
    classes = [
        c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.CodesearchError)
    ]
    assert len(classes) >= 10 and set(rpc.ERRORS) == {c.__name__ for c in classes}
    for cls in classes:
        with pytest.raises(cls) as raised:
            rpc.raise_error(rpc.error_reply("it failed", cls))
        assert type(raised.value) is cls and str(raised.value) == "it failed"


def test_an_error_of_no_known_class_is_a_codesearch_error() -> None:
    class Elsewhere(errors.ConfigError):
        pass

    assert rpc.error_reply("x", Elsewhere)["type"] == "CodesearchError"
    for reply in ({"error": "x", "type": "KeyError"}, {"error": "x", "type": "__class__"}, {"error": "x"}):
        with pytest.raises(errors.CodesearchError) as raised:
            rpc.raise_error(reply)
        assert type(raised.value) is errors.CodesearchError
    rpc.raise_error({"hits": []})  # no error: nothing raised


def test_searches_round_trip() -> None:
    filters = SearchFilters(languages=("python",), paths=("src/**",), kinds=("function",))
    request = rpc.search_request(rpc.SEARCH_FILES, "retry with backoff", 7, "hybrid", filters)
    assert rpc.search_args(request) == ("retry with backoff", 7, filters, "hybrid")
    hits = [_hit(), _hit("src/b.py")]
    assert rpc.read_hits(rpc.hits_reply(hits)) == hits
    files = [FileHit("src/a.py", "python", 1.5, tuple(hits[:1])), FileHit("src/b.py", "python", 0.2)]
    assert rpc.read_files(rpc.files_reply(files)) == files


def test_index_runs_round_trip() -> None:
    report = IndexReport(
        files=3,
        units=12,
        embedded=10,
        cached=2,
        changed_files=3,
        seconds=1.25,
        units_by_kind={"function": 9, "file": 3},
        units_by_language={"python": 12},
        skipped=[SkippedFile("big.bin", "binary")],
        warnings=[SkippedFile("old.txt", "not UTF-8: read as Latin-1")],
        resumed=True,
        timings={"parse": 0.5},
        secrets=[RedactedFile(".env.example", ((2, "AWS key"),))],
    )
    assert rpc.read_report(rpc.report_reply(report)) == report
    assert rpc.read_report(rpc.report_reply(None)) is None
    progress = Progress("indexing", files_done=2, files_total=5, units_done=40, embedded=38, elapsed=1.5)
    assert rpc.read_progress(rpc.progress_message(progress)["progress"]) == progress
    assert rpc.read_progress({"files_done": 2}) is None


def test_changes_round_trip_bytes_and_absence() -> None:
    changes = [
        ChangedFile("a.py", b"\x00\xffnew", None),
        ChangedFile("b.py", None, b"old"),
        ChangedFile("c", b"", b""),
    ]
    assert rpc.decode_changes(rpc.encode_changes(changes)) == changes


def test_a_reply_of_the_wrong_shape_is_a_busy_owner_not_a_key_error(tmp_path: Path) -> None:
    with pytest.raises(errors.IndexBusyError, match="cannot read"), rpc.reading_reply():
        rpc.read_hits({"files": []})
    with pytest.raises(errors.StoreError, match="outside"):
        rpc.check_paths(tmp_path, {"hits": [{"path": "../etc/passwd"}]})
    rpc.check_paths(tmp_path, {"files": [{"path": "a.py", "hits": [{"path": "a.py"}]}]})
