"""`codesearch dupes`: real git repositories, real tree-sitter, the real CPU model and Qdrant Edge."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from codesearch.dupes import fingerprint
from codesearch.dupes.fingerprint import fingerprint_units, jaccard
from codesearch.parsing import parse_file

LOAD_ROWS = '''
def load_rows(path, delimiter=","):
    """Read a delimited file into a list of dicts, skipping malformed lines."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        header = handle.readline().strip().split(delimiter)
        for line in handle:
            values = line.rstrip("\\n").split(delimiter)
            if len(values) != len(header):
                continue
            rows.append(dict(zip(header, values)))
    return rows
'''

RETRY = '''
def fetch_with_retry(client, url, attempts=5, backoff=0.5):
    """GET a URL, retrying failures with exponential backoff."""
    delay = backoff
    last_error = None
    for attempt in range(attempts):
        try:
            response = client.get(url, timeout=10)
            if response.status_code < 500:
                return response
            last_error = RuntimeError(f"server error {response.status_code}")
        except ConnectionError as exc:
            last_error = exc
        time.sleep(delay)
        delay = min(delay * 2, 30)
    raise last_error
'''

SUMMARY = '''
def summarize_scores(scores):
    """Mean, median and spread of a list of numbers."""
    ordered = sorted(scores)
    count = len(ordered)
    if count == 0:
        return {"mean": 0.0, "median": 0.0, "spread": 0.0}
    mean = sum(ordered) / count
    middle = count // 2
    if count % 2:
        median = ordered[middle]
    else:
        median = (ordered[middle - 1] + ordered[middle]) / 2
    spread = ordered[-1] - ordered[0]
    return {"mean": mean, "median": median, "spread": spread}
'''

GETTERS = """
class Account:
    def __init__(self, owner, balance):
        self._owner = owner
        self._balance = balance

    @property
    def owner(self):
        return self._owner

    @property
    def balance(self):
        return self._balance
"""

# Type 1: the same tokens, other layout and comments.
LOAD_ROWS_REFORMATTED = """
def load_rows(path, delimiter = ","):
    # a copy, reformatted
    rows = []
    with open(path, encoding="utf-8") as handle:   # open it
        header = handle.readline().strip().split(delimiter)

        for line in handle:
            values = line.rstrip("\\n").split(delimiter)
            if len(values) != len(header):
                continue  # malformed
            rows.append(dict(zip(header, values)))
    return rows
"""

# Type 2: identifiers and literals renamed.
RETRY_RENAMED = """
def get_again(session, address, tries=3, pause=1.5):
    wait = pause
    problem = None
    for n in range(tries):
        try:
            answer = session.get(address, timeout=20)
            if answer.status_code < 400:
                return answer
            problem = ValueError(f"bad status {answer.status_code}")
        except TimeoutError as err:
            problem = err
        time.sleep(wait)
        wait = min(wait * 3, 60)
    raise problem
"""

# Type 3: statements added, removed and changed.
SUMMARY_EDITED = '''
def summarize_scores(scores):
    """Mean, median and spread of a list of numbers."""
    ordered = sorted(s for s in scores if s is not None)
    count = len(ordered)
    if count == 0:
        return {"mean": 0.0, "median": 0.0, "spread": 0.0}
    mean = sum(ordered) / count
    middle = count // 2
    if count % 2:
        median = ordered[middle]
    else:
        median = (ordered[middle - 1] + ordered[middle]) / 2
    return {"mean": mean, "median": median, "count": count}
'''

UNRELATED = '''
def render_table(headers, rows, padding=1):
    """Format rows as an aligned plain-text table."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(str(cell))) for w, cell in zip(widths, row)]
    pad = " " * padding
    lines = [pad.join(h.ljust(w) for h, w in zip(headers, widths))]
    lines.append(pad.join("-" * w for w in widths))
    for row in rows:
        lines.append(pad.join(str(c).ljust(w) for c, w in zip(row, widths)))
    return "\\n".join(lines)
'''

MORE_GETTERS = """
class Invoice:
    def __init__(self, number, total):
        self._number = number
        self._total = total

    @property
    def number(self):
        return self._number

    @property
    def total(self):
        return self._total
"""


def cs(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codesearch", "dupes", *args],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=300,
    )


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout


def make_repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test")
    git(root, "config", "user.email", "test@example.com")
    write(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("import time\n" + textwrap.dedent(text).lstrip())


BASE = {"data.py": LOAD_ROWS + SUMMARY, "net.py": RETRY, "models.py": GETTERS}


def pairs(done: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    assert done.returncode in (0, 1), done.stderr
    return list(json.loads(done.stdout))


# -- fingerprints (no model) ---------------------------------------------------------------------


def _fps(text: str) -> list[object]:
    data = ("import time\n" + textwrap.dedent(text).lstrip()).encode()
    units = parse_file("x.py", data, "python").units
    return list(fingerprint_units(data, "python", units).values())


def test_fingerprints_see_layout_names_and_edits() -> None:
    (orig,) = _fps(LOAD_ROWS)
    (reformatted,) = _fps(LOAD_ROWS_REFORMATTED)
    assert orig.exact == reformatted.exact  # type: ignore[attr-defined]
    (retry,) = _fps(RETRY)
    (renamed,) = _fps(RETRY_RENAMED)
    assert retry.exact != renamed.exact and retry.shape == renamed.shape  # type: ignore[attr-defined]
    (summary,) = _fps(SUMMARY)
    (edited,) = _fps(SUMMARY_EDITED)
    assert summary.shape != edited.shape  # type: ignore[attr-defined]
    similarity = jaccard(summary.shingles, edited.shingles)  # type: ignore[attr-defined]
    assert 0.5 < similarity < 1.0
    assert jaccard(summary.shingles, retry.shingles) < 0.2  # type: ignore[attr-defined]
    # Getters and __init__ bodies are too short to be stored at all, or under the default gate.
    assert all(fp.tokens < 30 for fp in _fps(GETTERS))  # type: ignore[attr-defined]
    assert isinstance(orig.shingles, np.ndarray)  # type: ignore[attr-defined]


def test_a_file_at_once_gives_each_units_own_fingerprint(monkeypatch: pytest.MonkeyPatch) -> None:
    """fingerprint_units hashes a file's tokens and k-grams once and signs all its units in one
    product: the same fingerprints as fingerprint_tokens on each unit's own tokens (this
    repository's modules, nested functions and methods included), also across a full memo."""
    root = Path(__file__).resolve().parents[1]
    checked = 0
    for n, path in enumerate(sorted((root / "codesearch").rglob("*.py"))):
        # Every third file with a memo cleared on each miss.
        monkeypatch.setattr(fingerprint, "_TOKEN_MEMO_SIZE", 0 if n % 3 == 0 else 1_000_000)
        data = path.read_bytes()
        parsed = parse_file(path.name, data, "python", tokens=True)
        got = fingerprint_units(data, "python", parsed.units, parsed.tokens)
        for unit in parsed.units:
            if unit.kind not in fingerprint.DUPLICATE_KINDS:
                continue
            own = [
                (cls, text) for cls, start, text in parsed.tokens if unit.start_byte <= start < unit.end_byte
            ]
            expected = fingerprint.fingerprint_tokens(own, unit.signature)
            if expected.tokens < fingerprint.STORED_MIN_TOKENS:
                assert unit.key not in got
                continue
            fp = got[unit.key]
            assert (fp.exact, fp.shape, fp.tokens, fp.bands) == (
                expected.exact,
                expected.shape,
                expected.tokens,
                expected.bands,
            )
            assert np.array_equal(fp.shingles, expected.shingles)
            checked += 1
    assert checked > 300


# -- the command --------------------------------------------------------------------------------


def test_staged_finds_each_clone_type_and_skips_boilerplate(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", BASE)
    write(
        root,
        {
            "copies.py": LOAD_ROWS_REFORMATTED + RETRY_RENAMED + SUMMARY_EDITED + UNRELATED,
            "billing.py": MORE_GETTERS,
        },
    )
    git(root, "add", "copies.py", "billing.py")
    done = cs(root, "--staged", "--json")
    assert done.returncode == 1, done.stderr
    found = {(p["symbol"], p["duplicate_of"]["symbol"], p["kind"]) for p in pairs(done)}  # type: ignore[index]
    assert found == {
        ("load_rows", "load_rows", "exact"),
        ("get_again", "fetch_with_retry", "renamed"),
        ("summarize_scores", "summarize_scores", "edited"),
    }
    human = cs(root, "--staged")
    assert human.returncode == 1
    assert "copies.py" in human.stdout and "data.py" in human.stdout and "renamed" in human.stdout


def test_staged_reads_the_git_index_not_the_working_tree(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", BASE)
    write(root, {"report.py": UNRELATED})
    git(root, "add", "report.py")
    # An unstaged duplicate in the working tree is not part of the commit.
    write(root, {"report.py": UNRELATED + RETRY_RENAMED})
    clean = cs(root, "--staged", "--json")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert pairs(clean) == []
    # A staged duplicate counts even when the working tree no longer has it.
    git(root, "add", "report.py")
    write(root, {"report.py": UNRELATED})
    dirty = cs(root, "--staged", "--json")
    assert dirty.returncode == 1
    assert [p["symbol"] for p in pairs(dirty)] == ["get_again"]


def test_existing_duplicates_do_not_block_an_unrelated_commit(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {**BASE, "old_copy.py": RETRY_RENAMED})
    whole = cs(root, "--json")
    assert whole.returncode == 1 and len(pairs(whole)) == 1
    # --staged checks only what the change adds: an unrelated change passes.
    write(root, {"report.py": UNRELATED})
    git(root, "add", "report.py")
    assert cs(root, "--staged").returncode == 0
    # A baseline makes the whole-repository check pass too, until a new duplicate appears.
    updated = cs(root, "--update-baseline")
    assert updated.returncode == 0, updated.stderr
    baseline = json.loads((root / ".codesearch-dupes-baseline.json").read_text())
    assert len(baseline["pairs"]) == 1
    assert cs(root).returncode == 0
    git(root, "commit", "-q", "-m", "report")
    write(root, {"copies.py": LOAD_ROWS_REFORMATTED})
    git(root, "add", "copies.py")
    staged = cs(root, "--staged", "--json")
    assert staged.returncode == 1 and [p["kind"] for p in pairs(staged)] == ["exact"]
    # The suppression file, keyed by fingerprints, accepts that one.
    pair = pairs(staged)[0]
    fingerprints = [pair["fingerprint"], pair["duplicate_of"]["fingerprint"]]  # type: ignore[index]
    (root / ".codesearch-dupes.toml").write_text(
        f"[[ignore]]\nunits = {json.dumps(fingerprints)}\nreason = 'kept on purpose'\n"
    )
    accepted = cs(root, "--staged")
    assert accepted.returncode == 0, accepted.stdout
    assert "1 known pair not shown" in accepted.stdout


def test_json_and_sarif_shapes(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", BASE)
    write(root, {"copies.py": RETRY_RENAMED})
    git(root, "add", "copies.py")
    (pair,) = pairs(cs(root, "--staged", "--json"))
    assert set(pair) >= {"path", "start_line", "end_line", "duplicate_of", "score", "kind"}
    assert pair["path"] == "copies.py" and pair["start_line"] == 2 and pair["end_line"] == 15
    original = pair["duplicate_of"]
    assert isinstance(original, dict)
    assert (original["path"], original["start_line"], original["end_line"]) == ("net.py", 2, 16)
    assert isinstance(pair["score"], float) and 0 < pair["score"] <= 1
    sarif = cs(root, "--staged", "--format", "sarif")
    assert sarif.returncode == 1
    log = json.loads(sarif.stdout)
    assert log["version"] == "2.1.0" and "sarif-2.1.0" in log["$schema"]
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == log["runs"][0]["tool"]["driver"]["rules"][0]["id"]
    region = result["locations"][0]["physicalLocation"]
    assert region["artifactLocation"]["uri"] == "copies.py" and region["region"]["startLine"] == 2
    related = result["relatedLocations"][0]["physicalLocation"]
    assert related["artifactLocation"]["uri"] == "net.py"


def test_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.py").write_text("def f():\n    pass\n")
    outside = cs(plain, "--staged")
    assert outside.returncode == 2
    assert outside.stderr.strip().count("\n") == 0 and "not inside a git repository" in outside.stderr
    root = make_repo(tmp_path / "repo", BASE)
    bad_rev = cs(root, "--base", "no-such-branch")
    assert bad_rev.returncode == 2 and "Traceback" not in bad_rev.stderr
    (root / ".codesearch-dupes.toml").write_text("[[ignore]]\nunits = 3\n")
    bad_file = cs(root)
    assert bad_file.returncode == 2 and ".codesearch-dupes.toml" in bad_file.stderr
    usage = cs(root, "--staged", "--base", "main")
    assert usage.returncode == 2


def test_no_index_yet_builds_one_and_says_so(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", BASE)
    write(root, {"copies.py": LOAD_ROWS_REFORMATTED})
    git(root, "add", "copies.py")
    first = cs(root, "--staged")
    assert first.returncode == 1
    assert "no index" in first.stderr and "building one" in first.stderr
    again = cs(root, "--staged")
    assert again.returncode == 1 and "no index" not in again.stderr


def test_branch_changes_against_a_base(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", BASE)
    git(root, "checkout", "-q", "-b", "feature")
    write(root, {"report.py": UNRELATED})
    git(root, "add", "report.py")
    git(root, "commit", "-q", "-m", "report")
    assert cs(root, "--base", "main").returncode == 0
    # Uncommitted work on the branch counts too.
    write(root, {"report.py": UNRELATED + SUMMARY_EDITED})
    done = cs(root, "--base", "main", "--json")
    assert done.returncode == 1
    assert [(p["path"], p["kind"]) for p in pairs(done)] == [("report.py", "edited")]


def test_index_built_before_fingerprints_gets_them(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {**BASE, "old_copy.py": RETRY_RENAMED})
    assert subprocess.run([sys.executable, "-m", "codesearch", "index", str(root), "-q"]).returncode == 0
    (state,) = (root / ".codesearch" / "indexes").glob("*/state.sqlite")
    with sqlite3.connect(state) as db:  # what an index of an older codesearch looks like
        db.execute("DROP TABLE unit_fingerprints")
        # fingerprint version 2 kept one row per band key in its own table
        db.execute("CREATE TABLE fingerprints (point_id INTEGER PRIMARY KEY, path TEXT)")
        db.execute(
            "CREATE TABLE bands (band INTEGER NOT NULL, point_id INTEGER NOT NULL, path TEXT NOT NULL)"
        )
        db.execute("UPDATE meta SET value='2' WHERE key='fingerprints'")
    done = cs(root, "--json")
    assert done.returncode == 1, done.stderr
    assert [p["kind"] for p in pairs(done)] == ["renamed"]


def test_plain_git_pre_commit_hook_blocks_a_duplicate(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", BASE)
    hook = root / ".git" / "hooks" / "pre-commit"
    hook.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m codesearch dupes --staged\n')
    hook.chmod(0o755)
    env = {**os.environ}
    write(root, {"report.py": UNRELATED})
    git(root, "add", "report.py")
    ok = subprocess.run(
        ["git", "commit", "-q", "-m", "report"], cwd=root, capture_output=True, text=True, env=env
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    write(root, {"copies.py": RETRY_RENAMED})
    git(root, "add", "copies.py")
    blocked = subprocess.run(["git", "commit", "-q", "-m", "copy"], cwd=root, capture_output=True, text=True)
    assert blocked.returncode != 0
    said = blocked.stdout + blocked.stderr  # git hands a hook's output to stderr
    assert "get_again" in said and "fetch_with_retry" in said
    assert git(root, "log", "--format=%s") == "report\ninitial\n"


def test_pre_commit_framework_manifest() -> None:
    manifest = (Path(__file__).resolve().parent.parent / ".pre-commit-hooks.yaml").read_text()
    for line in (
        "- id: codesearch-dupes",
        "entry: codesearch dupes --staged",
        "language: python",
        "pass_filenames: false",
        "require_serial: true",
        "always_run: true",
    ):
        assert line in manifest


def test_store_vectors_on_both_backends(tmp_path: Path) -> None:
    from codesearch.indexing.lexical import document_vector
    from codesearch.store.base import StoredPoint
    from codesearch.store.edge import EdgeStore
    from codesearch.store.qdrant_server import QdrantStore

    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((3, 8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    points = [
        StoredPoint(10 + i, vecs[i], document_vector(f"unit {i}"), {"path": f"p{i}.py", "kind": "function"})
        for i in range(3)
    ]
    (tmp_path / "edge").mkdir()
    stores = [
        EdgeStore(tmp_path / "edge", 8),
        QdrantStore(path=str(tmp_path / "local"), collection="c", dimensions=8, repository="r"),
    ]
    for store in stores:
        try:
            store.upsert(points)
            got = store.vectors([12, 10, 99])
            assert sorted(got) == [10, 12]
            assert np.allclose(got[12], vecs[2], atol=1e-5) and np.allclose(got[10], vecs[0], atol=1e-5)
        finally:
            store.close()


def test_a_process_that_owns_the_index_answers_the_check(tmp_path: Path) -> None:
    from codesearch import Engine

    root = make_repo(tmp_path / "repo", BASE)
    with Engine.open(root, write=True) as owner:  # as the watcher or the language server would hold it
        owner.index()
        write(root, {"copies.py": RETRY_RENAMED})
        git(root, "add", "copies.py")
        owner.update(["copies.py"])
        done = cs(root, "--staged", "--json")
        assert done.returncode == 1, done.stderr
        assert [(p["symbol"], p["kind"]) for p in pairs(done)] == [("get_again", "renamed")]


def test_the_first_commit_is_checked_too(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    root.mkdir()
    git(root, "init", "-q")
    write(root, {"a.py": RETRY, "b.py": RETRY_RENAMED + UNRELATED})
    git(root, "add", "-A")
    done = cs(root, "--staged", "--json")
    assert done.returncode == 1, done.stderr
    assert {(p["path"], p["kind"]) for p in pairs(done)} == {("b.py", "renamed")}


def test_a_file_that_cannot_be_fingerprinted_is_still_indexed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codesearch import Engine
    from codesearch.errors import ParseError

    def broken(*args: object) -> list[tuple[str, int, str]]:
        raise ParseError("grammar failed on odd input")

    # The tokens come from the indexing parse, or from a second one when that gave none.
    monkeypatch.setattr("codesearch.parsing._treesitter.tree_tokens", broken)
    monkeypatch.setattr("codesearch.parsing._tokens.tree_tokens", broken)
    root = make_repo(tmp_path / "repo", {"net.py": RETRY})
    with Engine.open(root, write=True) as engine:
        report = engine.index()
        assert report.units == 2 and not report.skipped
        assert engine.find_duplicates(None).checked_units == 0
        assert engine.search("retry with exponential backoff", k=1)[0].symbol == "fetch_with_retry"
