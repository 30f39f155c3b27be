"""`codesearch watch` figures on the embedded default (CPU model + Qdrant Edge).

    python benchmarks/watch_latency.py [--files 2200] [--edits 60] [--switch 2000] [--idle 60]
                                       [--big-files 50000]

A watcher process (this script with --child) owns the index of a generated tree
and prints one JSON line per engine call; this process plays the developer.

1. save -> searchable: one function at a time gets a new, unique name (in-place
   writes and temp-file-plus-rename saves alternate). This process asks the
   watcher over its socket (a non-owner Engine, as `codesearch query` does)
   every 10 ms until the new name is a hit; p50/p95 over --edits saves.
2. branch switch: --switch files rewritten at once, one function body changed in
   each (what a checkout of a branch touching those files does); time from the
   last write until the watcher's updates covered them all, and the switch back
   (contents seen before: with a transformer model the embedding cache answers; the
   static model embeds again, being cheaper to run than to look up).
3. idle CPU: the watcher's utime + stime over --idle quiet seconds, over wall time.
4. RSS on a --big-files tree. Its index is built in this process with the default
   model (the static one: a minute for 50,000 files); then the watcher starts on it:
   its catch-up walk finds nothing to embed. RSS after the catch-up, after edits and
   queries, and peak.
5. The progressive upgrade (the default's second model, MiniLM): a watcher with the
   default settings on an --upgrade-files tree, from its start until searches use
   the upgrade model (`status()["upgrade"]["searching"]`): seconds, texts the upgrade
   embedded, its CPU share and the watcher's peak RSS.

Figures 1 to 4 are of the static index alone: their watchers run with
`upgrade_model = ""`, so no upgrade competes with them (it would take both cores
for minutes and make "idle" meaningless); 5 measures the upgrade on its own.

Each run uses fresh temporary directories and a fresh embedding cache.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from codesearch import Engine, load_settings


def module_text(i: int, variant: str = "") -> str:
    """A small module: two functions and their file; `variant` changes one body."""
    return (
        f'"""Module {i} of the generated tree."""\n\n\n'
        f"def parse_record_{i}(line):\n"
        f'    """Split a CSV line into fields for record type {i}."""\n'
        f"    fields = line.strip().split(',')\n"
        f"    return [f.strip() for f in fields if f{variant}]\n\n\n"
        f"def score_record_{i}(fields, weight={i % 7 + 1}):\n"
        f"    total = 0\n"
        f"    for value in fields:\n"
        f"        total += len(value) * weight\n"
        f"    return total\n"
    )


def make_tree(root: Path, files: int, per_dir: int = 100) -> list[Path]:
    """`files` modules, 100 to a package, 50 packages to a top-level directory."""
    paths = []
    for i in range(files):
        path = root / f"area_{i // (50 * per_dir):02d}" / f"pkg_{i // per_dir:03d}" / f"mod_{i:05d}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(module_text(i))
        paths.append(path)
    return paths


# -- the watcher process ---------------------------------------------------------------


def child(root: str) -> None:
    from codesearch.watch.watcher import Watcher, WatchUpdate

    def show(u: WatchUpdate) -> None:
        line = {
            "kind": u.kind,
            "paths": len(u.paths),
            "changed": u.report.changed_files,
            "embedded": u.report.embedded,
            "deleted": u.report.deleted,
            "seconds": round(u.seconds, 4),
            "timings": {k: round(v, 4) for k, v in u.report.timings.items()},
            "finished_at": u.finished_at,
        }
        print(json.dumps(line), flush=True)

    with Engine.open(root, write=True) as engine:
        Watcher(
            engine, on_update=show, on_notice=lambda m: print(json.dumps({"notice": m}), flush=True)
        ).run_forever()


class Child:
    def __init__(self, root: Path, upgrade: bool = False) -> None:
        env = dict(os.environ)
        if not upgrade:
            env["CODESEARCH_UPGRADE_MODEL"] = ""  # the static index alone (figures 1 to 4)
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--child", str(root)], stdout=subprocess.PIPE, text=True, env=env
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        assert self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            if line.startswith("{"):
                self.lines.put(json.loads(line))

    def next(self, where: Callable[[dict[str, Any]], bool], timeout: float = 3600) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            item = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if "notice" in item:
                print(f"  (watcher: {item['notice']})")
            elif where(item):
                return item

    def drain(self) -> list[dict[str, Any]]:
        items = []
        while not self.lines.empty():
            items.append(self.lines.get())
        return items

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory(self) -> dict[str, float]:
        status = Path(f"/proc/{self.proc.pid}/status").read_text().splitlines()
        values = {line.split(":")[0]: line.split()[1] for line in status if line.startswith("Vm")}
        return {k: int(values[k]) / 1024 for k in ("VmRSS", "VmHWM")}

    def stop(self) -> int:
        self.proc.terminate()
        return self.proc.wait(timeout=300)


def wait_searchable(client: Engine, symbol: str, timeout: float = 120.0) -> float:
    """Seconds until a search finds `symbol` (polled every 10 ms)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if any(h.symbol == symbol for h in client.search(symbol, k=5)):
            return time.perf_counter() - started
        time.sleep(0.01)
    raise TimeoutError(symbol)


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


# -- the figures -------------------------------------------------------------------------


def save_to_searchable(paths: list[Path], client: Engine, edits: int) -> list[float]:
    latencies = []
    for n in range(edits):
        i = (n * 37) % len(paths)  # a different file each time
        symbol = f"edited_{n}_record_{i}"
        new = paths[i].read_text().replace(f"def score_record_{i}(", f"def {symbol}(")
        if n % 2:  # an editor's atomic save
            temp = paths[i].with_name(f".{paths[i].name}.swp")
            temp.write_text(new)
            os.replace(temp, paths[i])
        else:
            paths[i].write_text(new)
        latencies.append(wait_searchable(client, symbol))
        time.sleep(0.3)
    return latencies


def branch_switch(paths: list[Path], count: int, variant: str, watcher: Child) -> dict[str, float]:
    watcher.drain()
    started = time.time()
    for i, path in enumerate(paths[:count]):
        path.write_text(module_text(i, variant))
    written = time.time()
    changed = batches = embedded = 0
    last: dict[str, Any] = {}
    while changed < count:
        last = watcher.next(lambda u: u["finished_at"] >= started and u["kind"] != "upgrade")
        changed += last["changed"]
        embedded += last["embedded"]
        batches += 1
    return {
        "write_seconds": written - started,
        "absorbed_after_last_write": last["finished_at"] - written,
        "batches": batches,
        "embedded": embedded,
    }


def big_tree_rss(base: Path, files: int) -> dict[str, float]:
    root = base / "big"
    paths = make_tree(root, files)
    settings, _ = load_settings(root, {"upgrade_model": ""})
    started = time.perf_counter()
    with Engine.open(root, settings, write=True) as engine:
        report = engine.index()
        model = engine.status()["model"]
    print(
        f"  built the {files}-file index with {model}: {report.units} units, "
        f"{time.perf_counter() - started:.0f} s"
    )
    watcher = Child(root)
    started = time.perf_counter()
    caught = watcher.next(lambda u: u["kind"] == "catch-up")
    result = {"catch_up_seconds": time.perf_counter() - started, "catch_up_embedded": caught["embedded"]}
    time.sleep(2)
    result.update({f"after_catch_up_{k}": v for k, v in watcher.memory().items()})
    with Engine.open(root) as client:
        for n in range(5):
            i = n * 997 % files
            text = paths[i].read_text().replace(f"def score_record_{i}(", f"def big_edit_{n}(")
            paths[i].write_text(text)
            wait_searchable(client, f"big_edit_{n}")
    result.update({f"after_edits_{k}": v for k, v in watcher.memory().items()})
    watcher.stop()
    return result


def upgrade_run(base: Path, files: int, timeout: float = 3600.0) -> dict[str, Any]:
    """A watcher with the default settings, from its start until searches use the upgrade."""
    root = base / "upgrade"
    make_tree(root, files)
    started = time.perf_counter()
    watcher = Child(root, upgrade=True)
    watcher.next(lambda u: u["kind"] == "catch-up")
    ready = time.perf_counter() - started
    cpu0 = watcher.cpu_seconds()
    with Engine.open(root) as client:
        while True:
            upgrade = client.status().get("upgrade")
            if upgrade is None:
                raise SystemExit("the default settings have no upgrade model")
            if upgrade["searching"]:
                break
            if time.perf_counter() - started > timeout:
                raise TimeoutError("the upgrade did not finish")
            time.sleep(0.5)
    seconds = time.perf_counter() - started - ready
    cpu = watcher.cpu_seconds() - cpu0
    embedded = sum(u.get("embedded", 0) for u in watcher.drain() if u.get("kind") == "upgrade")
    memory = watcher.memory()
    watcher.stop()
    return {
        "model": upgrade["model"],
        "static_ready": ready,
        "seconds": seconds,
        "embedded": embedded,
        "cpu_share": cpu / seconds,
        **memory,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--files", type=int, default=2200)
    parser.add_argument("--edits", type=int, default=60)
    parser.add_argument("--switch", type=int, default=2000)
    parser.add_argument("--idle", type=float, default=60.0)
    parser.add_argument("--big-files", type=int, default=50_000)
    parser.add_argument("--upgrade-files", type=int, default=300)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return

    with tempfile.TemporaryDirectory(prefix="cs-watch-bench-") as tmp:
        base = Path(tmp)
        os.environ["XDG_CACHE_HOME"] = str(base / "cache")  # a fresh embedding cache, for the children too
        root = base / "tree"
        paths = make_tree(root, args.files)
        print(f"tree: {args.files} files; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
        started = time.perf_counter()
        watcher = Child(root)
        caught = watcher.next(lambda u: u["kind"] == "catch-up")
        print(
            f"initial index by the watcher: {caught['embedded']} texts embedded, "
            f"{time.perf_counter() - started:.0f} s"
        )

        watcher.drain()
        with Engine.open(root) as client:
            assert not client.owner
            lat = save_to_searchable(paths, client, args.edits)
        print(
            f"save -> searchable over {len(lat)} single-function edits: "
            f"p50 {percentile(lat, 50) * 1000:.0f} ms, p95 {percentile(lat, 95) * 1000:.0f} ms, "
            f"max {max(lat) * 1000:.0f} ms (mean {statistics.mean(lat) * 1000:.0f} ms)"
        )
        calls = [u for u in watcher.drain() if u.get("kind") == "update"]
        if calls:
            mid = {k: statistics.median(u["timings"].get(k, 0.0) for u in calls) for k in ("embed", "store")}
            print(
                f"  the debounce is 300 ms; the engine call a median "
                f"{statistics.median(u['seconds'] for u in calls) * 1000:.0f} ms "
                f"(embed {mid['embed'] * 1000:.0f} ms, store {mid['store'] * 1000:.0f} ms), "
                f"{len(calls)} calls"
            )

        time.sleep(1.0)
        there = branch_switch(paths, args.switch, " and f != 'x'", watcher)
        print(
            f"branch switch, {args.switch} files rewritten in {there['write_seconds']:.2f} s: absorbed "
            f"{there['absorbed_after_last_write']:.1f} s after the last write, in {there['batches']} "
            f"update(s), {there['embedded']} texts embedded"
        )
        back = branch_switch(paths, args.switch, "", watcher)
        print(
            f"switch back: absorbed {back['absorbed_after_last_write']:.1f} s after "
            f"the last write, in {back['batches']} update(s), {back['embedded']} texts embedded "
            "(the static model embeds in the analysis step, cheaper than a cache lookup; "
            "the cache answers transformer models)"
        )

        time.sleep(2.0)
        cpu0, wall0 = watcher.cpu_seconds(), time.perf_counter()
        time.sleep(args.idle)
        cpu1, wall1 = watcher.cpu_seconds(), time.perf_counter()
        print(
            f"idle CPU over {wall1 - wall0:.0f} s: {100 * (cpu1 - cpu0) / (wall1 - wall0):.3f} % "
            f"({cpu1 - cpu0:.2f} s CPU); RSS {watcher.memory()['VmRSS']:.0f} MB"
        )
        code = watcher.stop()
        print(f"SIGTERM: watcher exited with {code}")

        if args.big_files:
            big = big_tree_rss(base, args.big_files)
            print(
                f"{args.big_files}-file tree: catch-up walk {big['catch_up_seconds']:.1f} s "
                f"({big['catch_up_embedded']} embedded); RSS after catch-up "
                f"{big['after_catch_up_VmRSS']:.0f} MB, after 5 edits + queries "
                f"{big['after_edits_VmRSS']:.0f} MB, peak {big['after_edits_VmHWM']:.0f} MB"
            )
        if args.upgrade_files:
            up = upgrade_run(base, args.upgrade_files)
            print(
                f"progressive upgrade to {up['model']}, {args.upgrade_files}-file tree: static index "
                f"searchable after {up['static_ready']:.1f} s, upgrade done {up['seconds']:.1f} s later "
                f"({up['embedded']} texts embedded, {up['embedded'] / up['seconds']:.1f} texts/s, "
                f"CPU {100 * up['cpu_share']:.0f} % of one core); RSS {up['VmRSS']:.0f} MB, "
                f"peak {up['VmHWM']:.0f} MB"
            )
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
