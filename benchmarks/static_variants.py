"""Re-weighting variants of the static model on the stdlib probe of compare_models.py.

    python benchmarks/compare_models.py --embedders bm25,int8,static   # makes the probe's vectors
    python benchmarks/static_variants.py

Reads the corpus, BM25 scores and MiniLM vectors that compare_models.py left in
benchmarks/.data/compare_models/, embeds the probe with the shipped static table and
with re-weighted copies of it (token frequencies counted on Django 5.1.4's code from
PyPI, not on the probe), and prints dense MRR@10 and hybrid MRR@10 (min-max-normalised
scores fused with BM25 at dense weights 0.3 / 0.5 / 0.7). Prints figures only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import pypi_source

from codesearch.embedding.static import StaticEmbedder

HERE = Path(__file__).resolve().parent
WORK = HERE / ".data" / "compare_models"
Scores = npt.NDArray[np.float64]


def mrr(scores: Scores) -> float:
    target = scores[np.arange(len(scores)), np.arange(len(scores))][:, None]
    ranks = (scores >= target).sum(1)
    return float(np.where(ranks <= 10, 1 / ranks, 0).mean())


def minmax(scores: Scores) -> Scores:
    lo, hi = scores.min(1, keepdims=True), scores.max(1, keepdims=True)
    scaled: Scores = (scores - lo) / np.maximum(hi - lo, 1e-9)
    return scaled


def main() -> None:
    corpus = json.loads((WORK / "corpus.json").read_text())
    bm25 = np.load(WORK / "bm25_scores.npy")
    minilm = np.load(WORK / "int8.npz")

    def row(label: str, dense: Scores) -> None:
        hybrid = " / ".join(f"{mrr(w * minmax(dense) + (1 - w) * minmax(bm25)):.3f}" for w in (0.3, 0.5, 0.7))
        print(f"| {label} | {mrr(dense):.3f} | {hybrid} |")

    print("| variant | dense MRR@10 | hybrid 0.3 / 0.5 / 0.7 |\n| --- | ---: | ---: |")
    print(f"| BM25 | {mrr(bm25):.3f} | |")
    row("MiniLM int8", minilm["queries"] @ minilm["docs"].T)
    emb = StaticEmbedder()

    def static(label: str) -> None:
        scores = emb.embed_documents(corpus["queries"]) @ emb.embed_documents(corpus["docs"]).T
        row(label, scores.astype(np.float64))

    static("static (shipped)")
    counts = np.zeros(emb._table.shape[0])
    for path in sorted(pypi_source("django", "5.1.4").rglob("*.py")):
        ids = np.frombuffer(emb._text_ids(path.read_text(errors="replace")), dtype=np.int32)
        np.add.at(counts, ids, 1)
    freq = (counts + 1) / (counts.sum() + len(counts))
    shipped = emb._table.copy()
    unit = shipped / np.maximum(np.linalg.norm(shipped, axis=1, keepdims=True), 1e-9)
    for a in (1e-3, 1e-4):
        emb._table = (unit * (a / (a + freq))[:, None]).astype(np.float32)
        static(f"weights re-estimated on Django's code, SIF a={a:g}")
        emb._table = (shipped * (a / (a + freq))[:, None]).astype(np.float32)
        static(f"shipped x code-frequency weights, a={a:g}")
    emb._table = unit.astype(np.float32)
    static("no token weighting")


if __name__ == "__main__":
    main()
