"""What an OpenAI-compatible embeddings server says: its vectors decoded and checked, its
error text on one line, and how long it asks a client to wait."""

from __future__ import annotations

import base64
import json

import httpx
import numpy as np

from codesearch.embedding.base import Vectors
from codesearch.errors import EmbeddingServerError

#: What servers say when an input is over the context length.
TOO_LONG = (
    "longer than the model's context length",  # SGLang
    "maximum context length",  # vLLM, OpenAI
    "exceeds the available context size",  # llama.cpp
    "input is too large",  # llama.cpp
    "must have less than",  # TEI
)


def server_message(resp: httpx.Response) -> str:
    """The error text of a response, on one line, at most 300 characters."""
    text = resp.text
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        err = payload.get("error")
        if isinstance(err, dict):
            err = err.get("message") or err.get("detail")
        if not isinstance(err, str):
            err = payload.get("message") or payload.get("detail")
        text = err if isinstance(err, str) else json.dumps(err if err is not None else payload)
    text = " ".join(text.split())
    return text[:297] + "..." if len(text) > 300 else text or "(empty body)"


def decode_vectors(content: bytes, count: int, where: str) -> Vectors:
    """The vectors of a 200 answer to `count` inputs, in input order, as they came (not yet
    normalised); EmbeddingServerError for an answer that is not that, or holds NaN, Inf or
    all-zero vectors (so nothing of it is stored or cached)."""
    try:
        payload = json.loads(content)
    except ValueError as exc:
        raise EmbeddingServerError(
            f"{where} answered with invalid JSON ({exc}); is it an OpenAI-compatible embeddings server?"
        ) from exc
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise EmbeddingServerError(f"{where} answered without a 'data' list; is it an embeddings server?")
    if len(data) != count:
        raise EmbeddingServerError(f"{where} returned {len(data)} vectors for {count} inputs")
    if all(isinstance(d.get("index"), int) for d in data):
        data = sorted(data, key=lambda d: int(d["index"]))
    rows: list[Vectors] = []
    try:
        for item in data:
            emb = item.get("embedding")
            if isinstance(emb, str):
                rows.append(np.frombuffer(base64.b64decode(emb), dtype="<f4"))
            elif isinstance(emb, list):
                rows.append(np.asarray(emb, dtype=np.float32))
            else:
                raise EmbeddingServerError(f"{where} answered with an item without an 'embedding'")
    except (ValueError, TypeError) as exc:
        raise EmbeddingServerError(f"{where} answered with an undecodable embedding ({exc})") from exc
    lengths = {len(r) for r in rows}
    if len(lengths) != 1:
        raise EmbeddingServerError(f"{where} returned vectors of different lengths {sorted(lengths)}")
    matrix = np.vstack(rows).astype(np.float32, copy=False).reshape(len(rows), lengths.pop())
    bad = int(np.count_nonzero(~np.isfinite(matrix).all(axis=1) | ~matrix.any(axis=1)))
    if bad:
        raise EmbeddingServerError(
            f"{where} returned {bad} of {len(rows)} vectors with NaN, Inf or only zeros; nothing was "
            "stored or cached: check the server and its model"
        )
    return matrix


def retry_after_seconds(resp: httpx.Response) -> float:
    """The seconds of a Retry-After header (0 when absent or unreadable)."""
    try:
        return max(0.0, float(resp.headers.get("retry-after", "0")))
    except ValueError:
        return 0.0
