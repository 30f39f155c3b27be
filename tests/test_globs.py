"""Ignore patterns matched without unbounded backtracking (issue 14): codesearch.indexing.globs answers
what pathspec answers, and a pattern built to make a backtracking matcher run for hours costs
what any other pattern costs, in the real CLI as in the library."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

from pathspec import GitIgnoreSpec

from codesearch.indexing.globs import MAX_PATTERN_CHARS, MAX_PATTERNS, compile_spec, read_spec

_ATOMS = ["a", "b", "ab", "*", "?", "[ab]", "\\*", "."]
_NAMES = ["a", "b", "ab", "ba", "aab", "x", "a.b", "*", "abab", "bb"]
#: Makes pathspec's expression (Python's backtracking re) run for hours on a 60-character name.
HOSTILE = "*a*a*a*a*a*a*a*a*a*a*a*b"


def _pattern(rnd: random.Random) -> str:
    def segment() -> str:
        if rnd.random() < 0.15:
            return "**"
        return "".join(rnd.choice(_ATOMS) for _ in range(rnd.randint(1, 4)))

    pattern = "/".join(segment() for _ in range(rnd.randint(1, 4)))
    if rnd.random() < 0.2:
        pattern = "/" + pattern
    if rnd.random() < 0.2:
        pattern += "/"
    if rnd.random() < 0.2:
        pattern = "!" + pattern
    return pattern


def test_matches_what_pathspec_matches_on_random_patterns_and_paths() -> None:
    rnd = random.Random(20261203)
    paths = ["/".join(rnd.choice(_NAMES) for _ in range(rnd.randint(1, 5))) for _ in range(200)]
    paths += [p + "/" for p in paths]  # as directories
    checked = 0
    for _ in range(600):
        lines = [_pattern(rnd) for _ in range(rnd.randint(1, 3))]
        try:
            reference = GitIgnoreSpec.from_lines(lines)
        except ValueError:  # pathspec refuses it; read_spec leaves such a line out
            continue
        ours = compile_spec(lines)
        for path in paths:
            assert ours.match_file(path) == reference.match_file(path), (lines, path)
            checked += 1
    assert checked > 100_000


def test_a_negated_bracket_never_matches_a_slash_as_in_git(tmp_path: Path) -> None:
    spec = compile_spec(["x[!a]y"])
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("x[!a]y\n")
    found = subprocess.run(
        ["git", "-C", str(tmp_path), "check-ignore", "--no-index", "x/y", "xby"],
        capture_output=True,
        text=True,
    )
    assert found.stdout.split() == ["xby"]  # git's own answer
    assert (spec.match_file("x/y"), spec.match_file("xby")) == (False, True)


def test_a_backtracking_bomb_is_matched_like_any_pattern() -> None:
    # In a child process with a deadline: a regression hangs the child, not the test run.
    code = (
        "from codesearch.indexing.globs import compile_spec\n"
        f"spec = compile_spec([{HOSTILE!r}, '**/a*a*a*a*a*a*a*a*a*/**/a*a*a*a*a*a*b'])\n"
        "names = ['a' * 60, '/'.join(['a'] * 40), '/'.join(['a' * 10] * 20)]\n"
        "print(sum(spec.match_file(n) for n in names * 100))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"
    assert compile_spec([HOSTILE]).match_file("a" * 60 + "b")


def test_lines_not_applied_are_named_and_the_rest_apply() -> None:
    lines = ["*.log", "a" * (MAX_PATTERN_CHARS + 1), "# a comment", "", "build/"]
    spec, left_out = read_spec(lines)
    assert left_out == f"patterns not applied: line 2 (over {MAX_PATTERN_CHARS} characters)"
    assert spec is not None and spec.match_file("x/debug.log") and spec.match_file("build/out.o")

    many = [f"f{i}.tmp" for i in range(MAX_PATTERNS + 3)]
    spec, left_out = read_spec(many)
    first, last = MAX_PATTERNS + 1, MAX_PATTERNS + 3
    assert left_out == f"patterns not applied: lines {first} to {last} (over {MAX_PATTERNS} patterns)"
    assert spec is not None and spec.match_file("f0.tmp") and not spec.match_file(f"f{MAX_PATTERNS}.tmp")


def test_the_cli_indexes_a_repository_whose_gitignore_is_hostile(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / ".gitignore").write_text(f"{HOSTILE}\n{'x' * (MAX_PATTERN_CHARS + 1)}\n*.log\n")
    (repo / "src" / ("a" * 60)).write_text("def kept():\n    return 1\n")
    (repo / "src" / "upload.py").write_text("def upload_with_retry(blob):\n    return blob\n")
    (repo / "src" / "debug.log").write_text("ignored\n")
    env = {**os.environ, "CODESEARCH_MODEL": "static"}
    done = subprocess.run(
        [sys.executable, "-m", "codesearch", "index", str(repo), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "codesearch", "query", "upload with retry", "--root", str(repo), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert "src/upload.py" in listed.stdout
    assert "debug.log" not in listed.stdout
    assert "line 2 (over" in done.stdout + done.stderr
