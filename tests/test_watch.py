"""`codesearch watch`: real temporary trees, real inotify observers, the real CPU model.

Every wait is a poll with a generous deadline; nothing asserts on a fixed sleep.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
from waiting import poll

from codesearch import Engine, load_settings
from codesearch.indexing.pathfilter import PathFilter
from codesearch.watch.debounce import DirtyPaths, outermost
from codesearch.watch.watcher import Watcher, WatchUpdate

DEADLINE = 60.0


def func(name: str, body: str = "return 1") -> str:
    return f"def {name}(value):\n    {body}\n"


def make_repo(root: Path) -> Path:
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "a.py").write_text(func("alpha_original"))
    (root / "src" / "pkg" / "deep.py").write_text(func("deep_helper_fn"))
    (root / "b.py").write_text(func("beta_original"))
    (root / "gone.py").write_text(func("about_to_vanish"))
    (root / ".gitignore").write_text("generated/\n*.log\n")
    (root / ".git").mkdir()
    return root


@dataclass
class Session:
    root: Path
    engine: Engine
    updates: list[WatchUpdate] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    watcher: Watcher | None = None

    def where(self, symbol: str) -> set[str]:
        """Paths of the units named `symbol` that a search finds."""
        hits = self.engine.search(symbol, k=10, mode="lexical")
        return {h.path for h in hits if h.symbol == symbol}

    def wait_for(self, symbol: str, path: str) -> None:
        poll(lambda: self.where(symbol) == {path}, what=f"{symbol} at {path}")

    def wait_gone(self, symbol: str) -> None:
        poll(lambda: not self.where(symbol), what=f"{symbol} to leave the index")


@pytest.fixture
def watch(tmp_path: Path) -> Iterator[Callable[..., Session]]:
    """Start a watcher on a small repository; options go to Watcher."""
    started: list[Session] = []

    def start(**options: Any) -> Session:
        root = make_repo(tmp_path / "repo")
        session = Session(root, Engine.open(root, write=True))
        options = {"debounce": 0.1, "max_wait": 1.0, "health_interval": 0.5, **options}
        watcher = Watcher(
            session.engine, on_update=session.updates.append, on_notice=session.notices.append, **options
        )
        session.watcher = watcher
        started.append(session)
        watcher.start()
        assert watcher.wait_ready(DEADLINE)
        assert session.updates[0].kind == "catch-up" and session.updates[0].report.files == 4
        return session

    yield start
    for session in started:
        if session.watcher is not None:
            session.watcher.stop()
        session.engine.close()


def test_edit_create_delete_are_searchable(watch: Callable[..., Session]) -> None:
    s = watch()
    (s.root / "src" / "a.py").write_text(func("alpha_original") + "\n\n" + func("zebra_crossing_total"))
    s.wait_for("zebra_crossing_total", "src/a.py")
    (s.root / "src" / "new_module.py").write_text(func("freshly_created_fn"))
    s.wait_for("freshly_created_fn", "src/new_module.py")
    (s.root / "gone.py").unlink()
    s.wait_gone("about_to_vanish")
    assert s.where("alpha_original") == {"src/a.py"}


def test_rename_and_directory_moves(watch: Callable[..., Session]) -> None:
    s = watch()
    (s.root / "b.py").rename(s.root / "b_renamed.py")
    s.wait_for("beta_original", "b_renamed.py")
    (s.root / "src" / "pkg").rename(s.root / "src" / "pkg_moved")  # inside a watched tree
    s.wait_for("deep_helper_fn", "src/pkg_moved/deep.py")
    (s.root / "src").rename(s.root / "lib")  # a top-level directory: its watch moves with it
    s.wait_for("alpha_original", "lib/a.py")
    s.wait_for("deep_helper_fn", "lib/pkg_moved/deep.py")
    (s.root / "lib" / "a.py").write_text(func("after_the_move"))  # events under the new name
    s.wait_for("after_the_move", "lib/a.py")
    outside = s.root.parent / "elsewhere"
    (s.root / "lib" / "pkg_moved").rename(outside)  # moved out of the tree: gone
    s.wait_gone("deep_helper_fn")
    outside.rename(s.root / "back_in")  # moved in from outside: indexed
    s.wait_for("deep_helper_fn", "back_in/deep.py")


def test_atomic_save_through_a_temp_file(watch: Callable[..., Session]) -> None:
    s = watch()
    target = s.root / "src" / "a.py"
    temp = s.root / "src" / ".a.py.tmp-4913"
    temp.write_text(func("saved_atomically"))
    os.replace(temp, target)
    s.wait_for("saved_atomically", "src/a.py")
    s.wait_gone("alpha_original")
    poll(lambda: any("src/a.py" in u.paths for u in s.updates), what="the update of src/a.py")
    touched = {p for u in s.updates[1:] for p in u.paths}
    assert touched == {"src/a.py"}, "the temp file is neither queued nor indexed"


def test_burst_of_200_files_is_a_few_batched_updates(watch: Callable[..., Session]) -> None:
    s = watch(max_wait=5.0)
    burst = s.root / "burst"
    burst.mkdir()
    for i in range(200):  # one unit each: the model's time stays small
        (burst / f"mod_{i:03d}.py").write_text(f"BURST_{i} = {i}\n")
    for i in range(0, 200, 50):
        (burst / f"mod_{i:03d}.py").write_text(f"BURST_{i} = -{i}\n")
    poll(lambda: s.engine.status()["files"] == 204, what="the 200 files in the index")
    assert s.watcher is not None and s.watcher.wait_idle(DEADLINE)
    updates = s.updates[1:]
    assert 1 <= len(updates) <= 3, [u.paths for u in updates]
    assert sum(u.report.changed_files for u in updates) == 200


def git(root: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@t"
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_checkout_is_absorbed_in_a_few_updates(watch: Callable[..., Session]) -> None:
    s = watch(max_wait=5.0)
    shutil.rmtree(s.root / ".git")
    git(s.root, "init", "-q", "-b", "main")
    for i in range(40):
        (s.root / "src" / f"m{i}.py").write_text(func(f"main_fn_{i}"))
    git(s.root, "add", "-A")
    git(s.root, "commit", "-qm", "main")
    git(s.root, "checkout", "-qb", "feature")
    for i in range(30):
        (s.root / "src" / f"m{i}.py").write_text(func(f"feature_fn_{i}"))
    for i in range(30, 40):
        (s.root / "src" / f"m{i}.py").unlink()
    (s.root / "feature").mkdir()
    (s.root / "feature" / "extra.py").write_text(func("feature_extra_fn"))
    git(s.root, "add", "-A")
    git(s.root, "commit", "-qm", "feature")
    git(s.root, "checkout", "-q", "main")
    s.wait_for("main_fn_39", "src/m39.py")
    assert s.watcher is not None and s.watcher.wait_idle(DEADLINE)
    before = len(s.updates)

    git(s.root, "checkout", "-q", "feature")
    s.wait_for("feature_extra_fn", "feature/extra.py")
    s.wait_gone("main_fn_39")
    assert s.watcher.wait_idle(DEADLINE)
    switch = s.updates[before:]
    assert len(switch) <= 3, [u.paths for u in switch]
    assert s.where("feature_fn_0") == {"src/m0.py"} and not s.where("main_fn_0")
    assert s.engine.status()["files"] == 4 + 30 + 1

    before = len(s.updates)
    git(s.root, "checkout", "-q", "main")
    s.wait_for("main_fn_39", "src/m39.py")
    s.wait_gone("feature_extra_fn")
    assert s.watcher.wait_idle(DEADLINE)
    back = s.updates[before:]
    assert len(back) <= 3, [u.paths for u in back]
    # MiniLM and servers would take every text from the embedding cache; the static model (the
    # default) keeps none and embeds again, but only what the checkout changed: 40 files back.
    assert sum(u.report.changed_files for u in back) <= 41
    assert 0 < sum(u.report.embedded for u in back) <= 2 * 41


# Creating src/node_modules/dep in one go races watchdog's recursive re-add of the new directory
# (the same harmless "Callback with id" warning as below, fatal only under warnings-as-errors).
@pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")
def test_ignored_paths_cause_no_update(watch: Callable[..., Session]) -> None:
    s = watch()
    for rel in (
        ".git/objects/ab/cdef",
        "node_modules/left-pad/index.js",
        "src/node_modules/dep/index.js",
        ".codesearch/scratch.py",
        "generated/out.py",
        "src/generated/out.py",
        "debug.log",
        "src/.a.py.swp",
        "package-lock.json",
    ):
        path = s.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("def ignored_everywhere():\n    pass\n")
    (s.root / "sentinel.py").write_text(func("sentinel_fn"))
    poll(lambda: any("sentinel.py" in u.paths for u in s.updates), what="the sentinel's update")
    touched = {p for u in s.updates[1:] for p in u.paths}
    assert touched == {"sentinel.py"}, touched
    assert not s.where("ignored_everywhere")


# Watching the whole root includes the index's own busy directory, where watchdog warns about
# watches it re-adds (harmless; fatal only under this suite's warnings-as-errors).
@pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")
def test_a_root_with_many_top_level_directories_is_watched_whole(
    watch: Callable[..., Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("codesearch.watch.watches.MAX_TOP_LEVEL_WATCHES", 0)
    s = watch()
    (s.root / "node_modules" / "dep").mkdir(parents=True)
    (s.root / "node_modules" / "dep" / "index.js").write_text("function ignoredDep() {}\n")
    (s.root / ".git" / "HEAD").write_text("ref: refs/heads/other\n")
    (s.root / "src").rename(s.root / "lib")
    s.wait_for("deep_helper_fn", "lib/pkg/deep.py")
    (s.root / "lib" / "a.py").write_text(func("whole_root_edit"))
    s.wait_for("whole_root_edit", "lib/a.py")
    touched = {p for u in s.updates[1:] for p in u.paths}
    assert touched <= {"src", "lib", "lib/a.py"}, touched


def test_git_info_exclude_change_rechecks_the_tree(watch: Callable[..., Session]) -> None:
    s = watch()
    (s.root / ".git" / "info").mkdir()
    (s.root / ".git" / "info" / "exclude").write_text("src/pkg/\n")
    # The deletion is searchable a moment before the update that made it is reported.
    poll(lambda: any(u.kind == "rescan" and "exclude" in u.reason for u in s.updates), what="the rescan")
    s.wait_gone("deep_helper_fn")
    # The watcher's own filter knows the new rule: files under it cause no update.
    seen = len(s.updates)
    (s.root / "src" / "pkg" / "excluded_now.py").write_text(func("excluded_now_fn"))
    (s.root / "sentinel.py").write_text(func("sentinel_fn"))
    poll(lambda: any("sentinel.py" in u.paths for u in s.updates), what="the sentinel's update")
    assert {p for u in s.updates[seen:] for p in u.paths} == {"sentinel.py"}
    (s.root / ".git" / "info" / "exclude").write_text("")
    s.wait_for("deep_helper_fn", "src/pkg/deep.py")
    s.wait_for("excluded_now_fn", "src/pkg/excluded_now.py")


def test_gitignore_change_rechecks_the_tree(watch: Callable[..., Session]) -> None:
    s = watch()
    (s.root / ".gitignore").write_text("generated/\n*.log\nsrc/pkg/\n")
    s.wait_gone("deep_helper_fn")
    (s.root / ".gitignore").write_text("generated/\n")
    s.wait_for("deep_helper_fn", "src/pkg/deep.py")
    assert any(u.kind == "rescan" and ".gitignore" in u.reason for u in s.updates)


def test_lost_events_trigger_a_rescan_not_a_crash(watch: Callable[..., Session]) -> None:
    s = watch(max_paths=20)
    # What watchdog logs when the kernel's inotify queue overflows.
    logging.getLogger("watchdog.observers.inotify_c").warning(
        "Inotify queue overflowed; filesystem events were lost"
    )
    poll(lambda: any(u.kind == "rescan" and "overflow" in u.reason for u in s.updates), what="a rescan")
    # More dirty paths than the queue keeps: one whole-tree pass instead.
    for i in range(60):  # in a watched directory: one event (at least) per file
        (s.root / "src" / f"m{i}.py").write_text(func(f"many_fn_{i}"))
    s.wait_for("many_fn_59", "src/m59.py")
    assert s.watcher is not None and s.watcher.wait_idle(DEADLINE)
    assert s.engine.status()["files"] == 64
    poll(lambda: any(u.kind == "rescan" and "more than 20 paths" in u.reason for u in s.updates))


def test_root_moved_away_and_back_is_rescanned(watch: Callable[..., Session]) -> None:
    s = watch()
    away = s.root.with_name("repo-away")
    s.root.rename(away)
    poll(lambda: any("is gone" in n for n in s.notices), what="the watcher to notice")
    (away / "b.py").write_text(func("edited_while_away"))
    away.rename(s.root)
    s.wait_for("edited_while_away", "b.py")
    poll(lambda: any(u.kind == "rescan" and "came back" in u.reason for u in s.updates), what="a rescan")


def test_query_from_another_process_sees_the_fresh_result(watch: Callable[..., Session]) -> None:
    s = watch()
    (s.root / "b.py").write_text(func("beta_original") + "\n\n" + func("quokka_census"))
    poll(lambda: any("b.py" in u.paths for u in s.updates), what="the update of b.py")
    out = subprocess.run(
        [sys.executable, "-m", "codesearch", "query", "quokka_census", "--root", str(s.root), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)[0]["symbol"] == "quokka_census"


def test_an_index_handed_over_by_another_process_shows_in_this_ones_progress(
    tmp_path: Path, watch: Callable[..., Session]
) -> None:
    seen: list[Any] = []
    # A long debounce: the 60 new files wait for the watcher, so the handed run does their work.
    s = watch(debounce=120.0, max_wait=120.0, progress=seen.append)
    for i in range(60):
        (s.root / f"handed_{i:02d}.py").write_text(func(f"handed_over_{i:02d}"))
    out = subprocess.run(
        [sys.executable, "-m", "codesearch", "index", str(s.root), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["changed_files"] == 60
    requested = poll(lambda: [u for u in s.updates if u.kind == "requested"], what="the handed run's update")
    assert requested[0].report.changed_files == 60 and "another codesearch process" in requested[0].reason
    assert any(p.files_total == 60 for p in seen), "the owner's own progress display saw the run"
    assert s.where("handed_over_07") == {"handed_07.py"}


def test_a_handed_over_run_that_is_stopped_ends_the_owners_progress(tmp_path: Path) -> None:
    from embed_server import EmbedServer

    root = make_repo(tmp_path / "repo")
    with EmbedServer(dims=64, context_length=4096) as embed:
        env = embed.codesearch_env(tmp_path / "cache")
        settings, _ = load_settings(root, environ={**os.environ, **env})
        seen: list[Any] = []
        updates: list[WatchUpdate] = []
        with Engine.open(root, settings, write=True) as engine:
            watcher = Watcher(
                engine, debounce=120.0, max_wait=120.0, on_update=updates.append, progress=seen.append
            )
            watcher.start()
            try:
                assert watcher.wait_ready(DEADLINE)
                embed.control(hold_documents=True)  # the handed run waits at its first batch
                for i in range(60):
                    (root / f"handed_{i:02d}.py").write_text(func(f"handed_over_{i:02d}"))
                asking = subprocess.Popen(
                    [sys.executable, "-m", "codesearch", "index", str(root), "-q"],
                    env={**os.environ, **env},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                poll(lambda: any(p.files_total == 60 for p in seen), what="the handed run under way")
                asking.kill()  # the asking process goes away: the run stops at its next file
                asking.wait()
                embed.control(hold_documents=False)
                poll(lambda: any(p.phase == "stopped" for p in seen), what="the end of the owner's progress")
                assert not any(u.kind == "requested" for u in updates)
            finally:
                watcher.stop()


# -- the watcher as its own process -----------------------------------------------------------

CHILD = """
import json, sys
from codesearch import Engine
from codesearch.watch.watcher import Watcher

def show(u):
    print(json.dumps({"kind": u.kind, "paths": list(u.paths), "changed": u.report.changed_files}), flush=True)

with Engine.open(sys.argv[1], write=True) as engine:
    Watcher(engine, debounce=0.1, on_update=show).run_forever()
print("stopped", flush=True)
"""


class Child:
    """A watcher process whose stdout lines are read in the background."""

    def __init__(self, root: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(root)], stdout=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line.strip())
        stream.close()

    def next_update(self, where: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        while True:
            line = self.lines.get(timeout=DEADLINE)
            update: dict[str, Any] = json.loads(line) if line.startswith("{") else {}
            if update and where(update):
                return update

    def end(self, sig: int) -> int:
        os.kill(self.proc.pid, sig)
        code = self.proc.wait(timeout=DEADLINE)
        self._reader.join(timeout=DEADLINE)
        return code


def test_kill_9_then_restart_catches_up(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    first = Child(root)
    first.next_update(lambda u: u["kind"] == "catch-up")
    (root / "src" / "a.py").write_text(func("before_the_kill"))
    first.next_update(lambda u: "src/a.py" in u["paths"])
    for i in range(20):  # a burst, killed somewhere in its debounce or its update
        (root / f"burst_{i}.py").write_text(func(f"burst_before_kill_{i}"))
    assert first.end(signal.SIGKILL) == -signal.SIGKILL

    (root / "b.py").write_text(func("written_while_down"))  # nobody watches now
    (root / "gone.py").unlink()
    second = Child(root)
    caught = second.next_update(lambda u: u["kind"] == "catch-up")
    assert caught["changed"] >= 1

    with Engine.open(root) as client:  # not the owner: asks the watcher over its socket
        assert not client.owner
        hits = client.search("written_while_down", k=3, mode="lexical")
        assert hits[0].symbol == "written_while_down" and hits[0].path == "b.py"
        assert not [h for h in client.search("about_to_vanish", mode="lexical") if h.path == "gone.py"]
        status = client.status()
    assert status["complete"] and status["pending"] == 0
    assert status["files"] == 4 - 1 + 20 and status["units"] == status["store_points"]

    assert second.end(signal.SIGINT) == 0, "Ctrl-C stops the watcher cleanly"
    assert "stopped" in list(second.lines.queue)
    with Engine.open(root, write=True) as owner:  # the lock was released; nothing left to do
        report = owner.index()
    assert report.changed_files == 0 and report.deleted == 0 and not report.resumed


# -- the pieces, without a file system ----------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_dirty_paths_debounce_per_path_and_coalesce() -> None:
    clock = FakeClock()
    dirty = DirtyPaths(debounce=0.3, max_wait=2.0, max_paths=100, clock=clock)
    dirty.add("src/a.py")
    dirty.add("src/a.py")
    assert dirty._take_due(clock.now)[0] is None  # still within the debounce
    clock.now += 0.2
    dirty.add("src/b.py")
    clock.now += 0.2  # a.py quiet for 0.4 s, but the tree only 0.2 s: wait for the burst to end
    assert dirty._take_due(clock.now)[0] is None
    clock.now += 0.15
    batch, _ = dirty._take_due(clock.now)
    assert batch is not None and batch.paths == ("src/a.py", "src/b.py") and not batch.full
    # A stream that never pauses is still flushed every max_wait, quiet paths first.
    for _ in range(25):
        dirty.add("noisy.py")
        clock.now += 0.1
        if _ == 2:
            dirty.add("src/c.py")
    batch, _ = dirty._take_due(clock.now)
    assert batch is not None and set(batch.paths) == {"noisy.py", "src/c.py"}


def test_dirty_paths_overflow_becomes_one_rescan() -> None:
    clock = FakeClock()
    dirty = DirtyPaths(debounce=0.3, max_wait=2.0, max_paths=3, clock=clock)
    for name in "abcdef":
        dirty.add(f"{name}.py")
    clock.now += 1
    batch, _ = dirty._take_due(clock.now)
    assert batch is not None and batch.full and "more than 3 paths" in batch.reason
    assert dirty.idle is False  # handed out, not yet done
    dirty.done()
    assert dirty.idle


def test_outermost_keeps_directories_over_their_files() -> None:
    assert outermost(["src/a.py", "src", "src-b/x.py", "lib/z.py", "lib/z.py"]) == (
        "lib/z.py",
        "src",
        "src-b/x.py",
    )


def test_ignore_filter_follows_discovery_rules(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    (root / "src" / ".gitignore").write_text("*.tmp.py\n!keep.tmp.py\n")
    settings, _ = load_settings(root, {"exclude": ["docs/private/"]})
    ignored = PathFilter(root, settings.exclude, settings.include_secrets).ignored
    for rel, is_dir in [
        (".git", True),
        ("node_modules/x/index.js", False),
        ("pkg/build/out.py", False),
        ("generated/x.py", False),
        ("src/x.tmp.py", False),
        ("app.log", False),
        ("docs/private/notes.md", False),
        ("poetry.lock", False),
        (".env", False),
        ("src/.a.py.swp", False),
    ]:
        assert ignored(rel, is_dir), rel
    for rel, is_dir in [
        ("src/a.py", False),
        ("src/keep.tmp.py", False),
        ("src", True),
        ("README.md", False),
        ("bin/deploy", False),  # no extension: may be a script with a shebang
        ("build.py", False),
    ]:
        assert not ignored(rel, is_dir), rel


def test_missing_tree_is_not_a_crash(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    shutil.rmtree(root / "src")
    with Engine.open(root, write=True) as engine:
        updates: list[WatchUpdate] = []
        with Watcher(engine, debounce=0.05, on_update=updates.append) as watcher:
            assert watcher.wait_ready(DEADLINE)
        assert updates[0].report.files == 2
