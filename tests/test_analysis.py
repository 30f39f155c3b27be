"""Files analysed in worker processes index exactly as when analysed in process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from codesearch.indexing.analysis import PARALLEL_MIN_FILES, Analyzer, Options, analyze
from codesearch.indexing.discover import discover


def _repo(root: Path, files: int) -> Path:
    for i in range(files):
        folder = root / ("src" if i % 3 else "lib") / f"pkg{i % 5}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"mod{i}.py").write_text(
            f'"""Module {i}."""\n\n\ndef compute_total_{i}(values):\n    """Sum the values times {i}."""\n'
            f"    return sum(values) * {i}\n\n\nclass Worker{i}:\n    def run(self, job):\n"
            f"        for attempt in range({i % 4 + 1}):\n            job.execute(attempt)\n"
            f"        return job\n"
        )
    (root / "README.md").write_text("# A project\n\nIt computes totals and runs jobs.\n")
    return root


def test_worker_processes_give_the_same_analyses_in_the_same_order(tmp_path: Path) -> None:
    root = _repo(tmp_path / "repo", PARALLEL_MIN_FILES + 13)
    files = discover(root, [], 1 << 20, False, None).files
    work = [(entry, None) for entry in files]
    options = Options(1 << 20, 32_768, static=True)
    inline = [analyze(entry, None, options) for entry in files]
    parallel = list(Analyzer(options, workers=2).run(work))
    assert [a.entry.path for a in parallel] == [a.entry.path for a in inline]
    for one, other in zip(inline, parallel, strict=True):
        assert (one.file_hash, one.units, one.lexical) == (other.file_hash, other.units, other.lexical)
        assert [(f.point_id, f.fingerprint.bands) for f in one.fingerprints] == [
            (f.point_id, f.fingerprint.bands) for f in other.fingerprints
        ]
        assert one.vectors is not None and other.vectors is not None
        for vec_a, vec_b in zip(one.vectors, other.vectors, strict=True):
            assert (vec_a is None) == (vec_b is None)
            if vec_a is not None and vec_b is not None:
                assert (vec_a == vec_b).all()


def test_an_index_built_with_workers_answers_like_one_built_without(tmp_path: Path) -> None:
    answers = []
    for workers in ("1", "2"):
        root = _repo(tmp_path / f"repo{workers}", PARALLEL_MIN_FILES + 5)
        env = {**os.environ, "CODESEARCH_MODEL": "static", "CODESEARCH_INDEX_WORKERS": workers}

        def cs(*args: str, env: dict[str, str] = env) -> str:
            done = subprocess.run(
                [sys.executable, "-m", "codesearch", *args],
                capture_output=True,
                text=True,
                env=env,
                timeout=300,
            )
            assert done.returncode == 0, done.stderr
            return done.stdout

        report = json.loads(cs("index", str(root), "--json"))
        status = json.loads(cs("status", str(root), "--json"))
        hits = [
            [
                (h["path"], h["symbol"], round(h["score"], 5))
                for h in json.loads(cs("query", q, "--root", str(root), "--json"))
            ]
            for q in ("compute the total of values", "Worker17", "run a job with attempts")
        ]
        answers.append((report["files"], report["units"], status["units"], status["store_points"], hits))
    assert answers[0] == answers[1]
    assert answers[0][1] > 3 * PARALLEL_MIN_FILES
