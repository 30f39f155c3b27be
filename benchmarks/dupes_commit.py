"""Time of `codesearch dupes --staged` for a commit touching up to 10 functions, as a process.

    python benchmarks/dupes_commit.py [--files 5050] [--functions 10] [--trials 5]

The repository: --files Python files (5,050, so that at least 5,000 are indexed), each
holding one real function taken from PyPI packages (Django 5.1.4, rich 13.9.4, click
8.1.7, requests 2.32.3, unpacked into benchmarks/.data/), committed to git. Its index and
embedding cache are kept in benchmarks/.data/dupes-commit/ so that the expensive cold build (every function
embedded on the CPU) happens once; later runs only check that the index is current.

Each trial edits --functions functions in as many files (a statement added), copies
one more existing function (a long one) into a new file (so the check has a
duplicate to report), stages it all, and times whole processes (interpreter start,
imports, index update, git, the check, output):

- warm: the change is already indexed (the watcher or an earlier run did it), then
  `codesearch dupes --staged --json`;
- cold change: `codesearch dupes --staged --json` straight after `git add`: the run
  first indexes the edited files (embedding their new functions with the CPU model).

The change is then undone (git reset --hard) and re-indexed from the cache.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import DATA, pypi_source
from dupes_quality import collect

PACKAGES = (("django", "5.1.4"), ("rich", "13.9.4"), ("click", "8.1.7"), ("requests", "2.32.3"))
WORK = DATA / "dupes-commit"


def run(args: list[str], cwd: Path, env: dict[str, str], check: bool = True) -> tuple[float, str, int]:
    started = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    took = time.perf_counter() - started
    if check and done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return took, done.stdout, done.returncode


def build(repo: Path, files: int, env: dict[str, str]) -> None:
    marker = repo / ".built"
    if marker.exists() and int(marker.read_text()) == files:
        return
    if repo.exists():
        subprocess.run(["rm", "-rf", str(repo)], check=True)
    repo.mkdir(parents=True)
    funcs = []
    for name, version in PACKAGES:
        funcs += collect(pypi_source(name, version))
    random.Random(7).shuffle(funcs)
    if len(funcs) < files:
        raise SystemExit(f"only {len(funcs)} functions in the packages; ask for fewer files")
    for n, f in enumerate(funcs[:files]):
        path = repo / f"pkg{n % 50:02d}" / f"mod_{n:05d}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"# from {f.path}\n{f.text}")
    for args in (["init", "-q", "-b", "main"], ["config", "user.name", "b"], ["config", "user.email", "b@b"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "corpus"], cwd=repo, check=True)
    print(f"cold index of {files} files (once; kept in {WORK})…", flush=True)
    took, out, _ = run([sys.executable, "-m", "codesearch", "index", ".", "--json"], repo, env)
    print(f"  {json.loads(out)['units']} units in {took:.0f} s", flush=True)
    marker.write_text(str(files))


def edit(repo: Path, rng: random.Random, count: int, trial: str) -> list[str]:
    paths = sorted(p for p in repo.glob("pkg*/mod_*.py"))
    chosen = rng.sample(paths, count)
    # The copied function is long enough to pass the boilerplate gate: the check has a pair to report.
    chosen.append(rng.choice([p for p in paths if p.stat().st_size > 1000 and p not in chosen]))
    for p in chosen[:count]:
        lines = p.read_text().splitlines()
        body = next((i for i, line in enumerate(lines) if line.startswith("    ") and line.strip()), None)
        if body is None:
            continue
        indent = lines[body][: len(lines[body]) - len(lines[body].lstrip())]
        lines.insert(body, f"{indent}trial_marker = '{trial}'  # edited by the benchmark")
        p.write_text("\n".join(lines) + "\n")
    copy = repo / "pkg00" / f"copy_{trial}.py"
    copy.write_text(chosen[count].read_text())
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    return [str(p.relative_to(repo)) for p in chosen]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--files", type=int, default=5050, help="files written (a few are skipped as unindexable)"
    )
    ap.add_argument("--functions", type=int, default=10)
    ap.add_argument("--trials", type=int, default=5)
    args = ap.parse_args()
    repo = WORK / "repo"
    env = {**os.environ, "CODESEARCH_CACHE_DIR": str(WORK / "cache")}
    build(repo, args.files, env)
    cs = [sys.executable, "-m", "codesearch"]
    subprocess.run(["git", "reset", "-q", "--hard"], cwd=repo, check=True)
    subprocess.run(["git", "clean", "-qfd"], cwd=repo, check=True)
    run([*cs, "index", "."], repo, env)
    rng = random.Random(11)
    run_id = time.time_ns()
    warm: list[float] = []
    cold: list[float] = []
    found: list[int] = []
    for trial in range(args.trials):
        for kind in ("warm", "cold"):
            # A marker never used before: the edited functions are not in the embedding cache.
            edit(repo, rng, args.functions, f"{run_id}_{trial}_{kind}")
            if kind == "warm":
                run([*cs, "index", "."], repo, env)
            took, out, _ = run([*cs, "dupes", "--staged", "--json"], repo, env)
            (warm if kind == "warm" else cold).append(took)
            found.append(len(json.loads(out)))
            subprocess.run(["git", "reset", "-q", "--hard"], cwd=repo, check=True)
            subprocess.run(["git", "clean", "-qfd"], cwd=repo, check=True)
            run([*cs, "index", "."], repo, env)
        print(f"trial {trial + 1}: warm {warm[-1]:.2f} s, cold change {cold[-1]:.2f} s", flush=True)
    _, status, _ = run([*cs, "status", ".", "--json"], repo, env)
    info = json.loads(status)
    print(
        f"\nrepository: {info['files']} files, {info['units']} units (one real function per file); "
        f"commit: {args.functions} functions edited in {args.functions} files + 1 copied function; "
        f"{args.trials} trials each; pairs reported per run: {sorted(set(found))}"
    )
    print("| case | median | min | max |")
    print("| --- | ---: | ---: | ---: |")
    for label, xs in (("warm (change already indexed)", warm), ("cold change (indexed by the run)", cold)):
        print(f"| {label} | {statistics.median(xs):.2f} s | {min(xs):.2f} s | {max(xs):.2f} s |")
    load = os.getloadavg()[0]
    print(f"\nload average at the end: {load:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
