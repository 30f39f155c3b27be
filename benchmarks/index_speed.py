"""Indexing figures on the embedded default (CPU model + Qdrant Edge).

    python benchmarks/index_speed.py [--package django==5.1.4] [--model static|minilm] [--tree-files 5000]

1. Cold index of a real code base from PyPI, in a subprocess (`codesearch index --json`):
   units/s end to end, the share of parse / embed / store, peak RSS; with --model minilm
   also the embedding rate as a share of this CPU's float32 matmul ceiling.
2. The embedding rate of the static model and MiniLM side by side on the same 400 unit
   texts of that code base (units/s and the ratio), and each model's load time.
3. `codesearch index` of this repository, cold, as a whole process (what the README runs).
4. A generated tree of --tree-files small Python files: cold index, then a no-op
   re-index and a one-file-change re-index (in process, and as a whole CLI run).
Each run uses a fresh embedding cache, so the cold runs really embed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import pypi_sdist, pypi_source

from codesearch import Engine, load_settings
from codesearch.embedding.local import LocalEmbedder
from codesearch.embedding.static import StaticEmbedder
from codesearch.indexing.discover import discover
from codesearch.indexing.representation import plan_units
from codesearch.parsing import parse_file

REPO = Path(__file__).resolve().parents[1]

# MiniLM-L6 (hidden 384, 6 layers, FFN 1536): 2 FLOP per weight per token in the
# encoder layers, plus attention scores/values (4 * seq * hidden per layer and token).
_LAYER_WEIGHTS = 4 * 384 * 384 + 2 * 384 * 1536


def flops_per_token(seq: float) -> float:
    """Forward FLOPs per token of MiniLM-L6 at a given window length."""
    return 6 * (2 * _LAYER_WEIGHTS + 4 * seq * 384)


def matmul_ceiling() -> float:
    """Measured float32 GEMM rate of this machine (FLOP/s), numpy + its BLAS, all cores."""
    a = np.random.rand(1024, 1024).astype(np.float32)
    b = np.random.rand(1024, 1024).astype(np.float32)
    a @ b
    best = float("inf")
    for _ in range(10):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * 1024**3 / best


def unit_texts(root: Path) -> list[str]:
    """Every text the cold index embeds for this tree, as the static model plans them."""
    emb = StaticEmbedder()
    texts: list[str] = []
    for f in discover(root).files:
        units = parse_file(f.path, f.abspath.read_bytes(), f.language).units
        texts.extend(t for p in plan_units(units, emb) for t in p.texts)
    return texts


def embed_rates(root: Path) -> None:
    """Static and MiniLM on the same sample of unit texts, in one run."""
    sample = random.Random(0).sample(unit_texts(root), 400)
    rates = {}
    for name, make in (("static", StaticEmbedder), ("minilm", LocalEmbedder)):
        started = time.perf_counter()
        emb = make()
        loaded = time.perf_counter() - started
        emb.embed_documents(sample[:5])
        started = time.perf_counter()
        emb.embed_documents(sample)
        rates[name] = len(sample) / (time.perf_counter() - started)
        print(f"  {name}: {rates[name]:.0f} units/s embedding alone; model load {loaded * 1000:.0f} ms")
    print(f"  ratio static / minilm: {rates['static'] / rates['minilm']:.0f}x")


def embedded_tokens(root: Path) -> tuple[int, int]:
    """Tokens (windows included) and windows the cold MiniLM index embeds for this tree."""
    emb = LocalEmbedder()
    tokens = windows = 0
    for f in discover(root).files:
        units = parse_file(f.path, f.abspath.read_bytes(), f.language).units
        for n in emb.count_tokens([t for p in plan_units(units, emb) for t in p.texts]):
            w = max(1, -(-n // 222))
            windows += w
            tokens += n + 2 * w
    return tokens, windows


def cli_index(root: Path, env: dict[str, str]) -> tuple[dict[str, object], float]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "codesearch", "index", str(root), "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(out.stdout), time.perf_counter() - started


def cold_real(spec: str, env: dict[str, str], model: str, sdist: bool = False, workers: str = "0") -> Path:
    """A cold index of a registry package; `workers` is the option index_workers (0: one per CPU)."""
    name, version = spec.split("==")
    root = pypi_sdist(name, version) if sdist else pypi_source(name, version)
    with tempfile.TemporaryDirectory() as tmp:
        run_env = {
            **env,
            "CODESEARCH_MODEL": model,
            "CODESEARCH_INDEX_WORKERS": workers,
            "CODESEARCH_INDEX_DIR": str(Path(tmp) / "ix"),
        }
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        report, wall = cli_index(root, run_env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    rss_mb = after.ru_maxrss / 1024
    timings = report["timings"]
    assert isinstance(timings, dict)
    busy = sum(float(v) for v in timings.values())
    label = "one per CPU" if workers == "0" else workers
    print(
        f"## cold index, model {model}, index_workers {label} ({os.cpu_count()} CPUs): {spec} from PyPI "
        f"({report['files']} files, {report['units']} units)"
    )
    print(
        f"  wall {wall:.1f} s (process start and model load included); "
        f"{float(str(report['units'])) / float(str(report['seconds'])):.1f} units/s end to end; "
        f"CPU {cpu:.1f} s in all its processes (steadier than wall time on a loaded machine)"
    )
    print(
        "  share of the work (read and parse are CPU seconds summed over the worker processes, "
        "embed and store the indexing process's): "
        + ", ".join(f"{k} {100 * float(v) / busy:.1f}%" for k, v in sorted(timings.items()))
    )
    print(f"  peak RSS of any process so far: {rss_mb:.0f} MB")
    if model != "minilm":
        return root
    tokens, windows = embedded_tokens(root)
    embed_s = float(timings["embed"])
    ceiling = matmul_ceiling()
    achieved = tokens * flops_per_token(min(256, tokens / max(windows, 1))) / embed_s
    print(
        f"  embedding: {tokens} tokens in {windows} windows, {tokens / embed_s:.0f} tokens/s; "
        f"{achieved / 1e9:.1f} GFLOP/s = {100 * achieved / ceiling:.0f}% of the measured "
        f"float32 matmul ceiling {ceiling / 1e9:.1f} GFLOP/s "
        "(the int8-stored weights run as fp32 in onnxruntime)"
    )
    return root


def this_repository(env: dict[str, str]) -> None:
    """The README's run: `codesearch index .` on this repository, cold, one whole process."""
    with tempfile.TemporaryDirectory() as tmp:
        report, wall = cli_index(REPO, {**env, "CODESEARCH_INDEX_DIR": str(Path(tmp) / "ix")})
    print(
        f"## `codesearch index .` on this repository, cold: {report['files']} files, {report['units']} units"
    )
    print(f"  wall {wall:.2f} s including process start; index run {float(str(report['seconds'])):.2f} s")


def make_tree(root: Path, count: int) -> None:
    verbs = ["parse", "load", "save", "merge", "split", "render", "fetch", "validate", "encode", "sort"]
    nouns = ["config", "user", "order", "invoice", "token", "image", "report", "session", "graph", "queue"]
    for i in range(count):
        d = root / f"pkg{i // 100:02d}"
        d.mkdir(parents=True, exist_ok=True)
        v, n = verbs[i % 10], nouns[(i // 10) % 10]
        (d / f"mod_{i:05d}.py").write_text(
            f"def {v}_{n}_{i}(data, limit={i % 97}):\n"
            f'    """{v.capitalize()} a {n} record number {i}."""\n'
            f"    return [x for x in data[:limit] if x % {i % 13 + 2}]\n"
        )


def tree(count: int, env: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "tree"
        make_tree(root, count)
        os.environ.update(env)
        settings, _ = load_settings(root)
        with Engine.open(root, settings, write=True) as engine:
            cold = engine.index()
            noop = min((engine.index() for _ in range(3)), key=lambda r: r.seconds)
            target = root / "pkg00" / "mod_00007.py"
            target.write_text(target.read_text().replace("return", "result = 1\n    return"))
            one = engine.index()
        _, noop_cli = cli_index(root, env)
        print(f"## generated tree: {count} Python files (one small function each)")
        print(f"  cold: {cold.units} units in {cold.seconds:.1f} s ({cold.units / cold.seconds:.1f} units/s)")
        print(
            f"  no-op re-index: {noop.seconds:.3f} s in process (embedded {noop.embedded}); "
            f"{noop_cli:.2f} s as a whole `codesearch index` run"
        )
        print(
            f"  one file changed: {one.seconds:.3f} s, {one.changed_files} file, "
            f"{one.embedded} texts embedded"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--package", default="django==5.1.4")
    parser.add_argument("--model", default="static", choices=("static", "minilm"))
    parser.add_argument("--tree-files", type=int, default=5000)
    parser.add_argument(
        "--sdist", action="store_true", help="the package's sdist (a checkout: tests, docs) not its wheel"
    )
    parser.add_argument("--only-real", action="store_true", help="just the cold index of the package")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "CODESEARCH_CACHE_DIR": cache, "CODESEARCH_INDEX_DIR": str(Path(cache) / "ix")}
        for workers in ("1", "0"):  # in process, then one worker process per CPU: the ratio
            root = cold_real(args.package, env, args.model, args.sdist, workers)
    if args.only_real:
        return
    print("## embedding rate, same texts, one run")
    embed_rates(root)
    with tempfile.TemporaryDirectory() as cache:
        this_repository({**os.environ, "CODESEARCH_CACHE_DIR": cache})
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "CODESEARCH_CACHE_DIR": cache}
        tree(args.tree_files, env)


if __name__ == "__main__":
    main()
