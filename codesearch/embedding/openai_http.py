"""Client for OpenAI-compatible `/v1/embeddings` servers, tuned for Qwen3-Embedding on SGLang.

Works with SGLang, vLLM, TEI, Ollama and llama.cpp. Inputs are counted with the
model's tokenizer before anything is sent: an input at or above the server's
context length is cut into windows whose vectors are averaged, never truncated.
Batches are built by a token budget, longest inputs first, with several requests
in flight on one connection pool; vectors come back as base64 float32.

Dimensions: the protocol needs `dimensions` before the first vector, so the
constructor knows it from the `dimensions` argument or from the full size of a
known model (Qwen3-Embedding 0.6B/4B/8B), and otherwise asks the server once
(`probe()`, one short request). A requested size is sent as `dimensions`; if the
server refuses that parameter, or ignores it, the client truncates and
re-normalises (Matryoshka), and remembers that for the session. A server that
refuses base64 gets float lists instead, also for the rest of the session.

Failures: connection errors, timeouts, 408, 429 and 5xx (503 while loading) are
retried with exponential backoff and jitter (Retry-After honoured); other 4xx are
not. Every failure becomes one EmbeddingServerError line saying what to do;
no httpx exception leaves this module and the API key never appears in a message.

Concurrency uses threads over one `httpx.Client`: the client's own work (JSON,
base64, numpy) is the same under asyncio, and sockets release the GIL. Measured
with benchmarks/embed_client_throughput.py.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from codesearch.embedding.base import Vectors, normalize_rows, pool_windows
from codesearch.embedding.openai_wire import TOO_LONG, decode_vectors, retry_after_seconds, server_message
from codesearch.embedding.qwen_tokens import TokenCounter, load_token_counter
from codesearch.errors import ConfigError, EmbeddingServerError

DEFAULT_MODEL = "Qwen/Qwen3-Embedding-4B"
DEFAULT_QUERY_INSTRUCTION = "Given a code search query, retrieve the code snippets that answer it"
#: Full output size of models known here: no probe request is needed for these.
KNOWN_DIMENSIONS = {
    "Qwen/Qwen3-Embedding-0.6B": 1024,
    "Qwen/Qwen3-Embedding-4B": 2560,
    "Qwen/Qwen3-Embedding-8B": 4096,
}


class _Stopped(Exception):
    """Another batch of the same call failed: give up quietly."""


def openai_model_id(model: str) -> str:
    """The model id (index identity, cache key) of a server's model."""
    return f"openai:{model}"


class OpenAIEmbedder:
    """Embeds through an OpenAI-compatible `/v1/embeddings` server (see module docstring).

    `url` is the server's base URL (with or without /v1). `dimensions=None` means the
    model's full size. `context_length` must match the server's; inputs of more than
    `context_length - token_margin` tokens are windowed. A request carries at most
    `batch_tokens` tokens (a single longer input goes alone) and `max_batch_inputs`
    inputs; `concurrency` requests are in flight; each is tried `retries + 1` times.
    `tokenizer` is a TokenCounter, a path to a tokenizer.json / model directory, or
    None for Qwen3's. The constructor sends a request only when it must learn the size.
    """

    def __init__(
        self,
        *,
        url: str,
        model: str = DEFAULT_MODEL,
        dimensions: int | None = None,
        api_key: str | None = None,
        query_instruction: str = DEFAULT_QUERY_INSTRUCTION,
        context_length: int = 32768,
        token_margin: int | None = None,
        window_overlap: int = 0,
        batch_tokens: int = 32768,
        max_batch_inputs: int = 256,
        concurrency: int = 4,
        timeout: float = 120.0,
        retries: int = 5,
        backoff: float = 0.5,
        query_retries: int = 1,
        query_timeout: float = 10.0,
        tokenizer: TokenCounter | str | Path | None = None,
    ) -> None:
        base = url.strip().rstrip("/")
        for suffix in ("/embeddings", "/v1"):
            base = base.removesuffix(suffix)
        try:
            parsed = httpx.URL(base)
        except (httpx.InvalidURL, TypeError) as exc:
            raise ConfigError(f"invalid embedding server URL {url!r}: {exc}") from exc
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ConfigError(f"the embedding server URL must look like http://HOST:PORT, not {url!r}")
        if dimensions is not None and dimensions < 1:
            raise ConfigError(f"embedding dimensions must be positive, not {dimensions}")
        margin = token_margin if token_margin is not None else max(4, min(64, context_length // 64))
        if context_length - margin < 8:
            raise ConfigError(f"context length {context_length} is too small for a remote embedder")
        self.url = base
        self.model = model
        self.query_instruction = query_instruction
        #: Longest input, in tokens, sent as one window (the server rejects >= context length).
        self.max_tokens = context_length - margin
        self.context_length = context_length
        self._overlap = max(0, min(window_overlap, self.max_tokens // 2))
        self._batch_tokens = max(1, batch_tokens)
        self._max_inputs = max(1, max_batch_inputs)
        self._concurrency = max(1, concurrency)
        self._timeout = timeout
        self._retries = max(0, retries)
        self._backoff = backoff
        # Someone waits for a query: fail fast, so a front end can fall back to lexical search.
        self._query_patience = (max(0, query_retries), min(timeout, query_timeout))
        self._api_key = api_key or None
        if tokenizer is None or isinstance(tokenizer, str | Path):
            tokenizer = load_token_counter(tokenizer)
        self._counter = tokenizer
        self._query_prefix = f"Instruct: {query_instruction}\nQuery:"
        self._prefix_tokens = self._counter.count([self._query_prefix])[0]
        if self._prefix_tokens + 16 > self.max_tokens:
            raise ConfigError(f"context length {context_length} leaves no room for the query instruction")
        full = KNOWN_DIMENSIONS.get(model)
        # Only a size other than the model's full one needs the server's Matryoshka support.
        self._requested = dimensions if dimensions is not None and dimensions != full else None
        self._dims: int | None = dimensions if dimensions is not None else full
        self._send_dimensions = self._requested is not None
        self._use_base64 = True
        self._lock = threading.Lock()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=self._concurrency + 1),
        )
        if self._dims is None:
            self.probe()
        assert self._dims is not None
        #: Vector length; fixed for the session.
        self.dimensions: int = self._dims
        #: The model; the index identity and cache key add `dimensions` themselves.
        self.model_id = openai_model_id(model)

    def __repr__(self) -> str:
        return f"OpenAIEmbedder(url={self.url!r}, model={self.model!r}, dimensions={self._dims})"

    def __enter__(self) -> OpenAIEmbedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def probe(self) -> int:
        """Embed one short text; learn and return the vector length the server gives."""
        self._request(["ping"], threading.Event(), (self._retries, self._timeout))
        assert self._dims is not None
        return self._dims

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text takes in the model's tokenizer, without the appended EOS."""
        return self._counter.count(texts)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        """One normalised vector per text; long texts are windowed and averaged."""
        return self._embed(texts, "")

    def embed_query(self, text: str) -> Vectors:
        """Embed a query with the instruction prefix Qwen3-Embedding was trained with."""
        result: Vectors = self._embed([text], self._query_prefix, self._query_patience)[0]
        return result

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def _embed(self, texts: Sequence[str], prefix: str, patience: tuple[int, float] | None = None) -> Vectors:
        live = [i for i, t in enumerate(texts) if t.strip()]
        inputs = [prefix + texts[i] for i in live]
        counts = self._counter.count(inputs)
        items: list[str] = []
        sizes: list[int] = []
        owners: list[int] = []
        for i, text, n in zip(live, inputs, counts, strict=True):
            if n <= self.max_tokens:
                items.append(text)
                sizes.append(n)
                owners.append(i)
                continue
            room = self.max_tokens - (self._prefix_tokens + 2 if prefix else 0)
            pieces = [prefix + p for p in self._counter.split(texts[i], room, self._overlap) if p.strip()]
            items.extend(pieces)
            sizes.extend(self._counter.count(pieces))
            owners.extend([i] * len(pieces))
        vectors = self._run(items, sizes, patience or (self._retries, self._timeout))
        if len(items) == len(live) == len(texts):
            return vectors  # every text sent as one input: rows in order, normalised
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        rows = np.asarray(owners, dtype=np.int64)
        single = np.bincount(rows, minlength=len(texts))[rows] == 1
        out[rows[single]] = vectors[single]  # most texts: one window, already normalised
        if not single.all():  # np.add.at is slow: only for the windowed texts
            pooled = pool_windows(vectors[~single], rows[~single], len(texts), self.dimensions)
            windowed = np.unique(rows[~single])
            out[windowed] = pooled[windowed]
        return out

    def _batches(self, sizes: list[int]) -> list[list[int]]:
        """Indices grouped by the token budget, longest first."""
        batches: list[list[int]] = []
        current: list[int] = []
        budget = 0
        for j in sorted(range(len(sizes)), key=lambda k: -sizes[k]):
            if current and (budget + sizes[j] > self._batch_tokens or len(current) >= self._max_inputs):
                batches.append(current)
                current, budget = [], 0
            current.append(j)
            budget += sizes[j]
        if current:
            batches.append(current)
        return batches

    def _run(self, items: list[str], sizes: list[int], patience: tuple[int, float]) -> Vectors:
        out = np.zeros((len(items), self.dimensions), dtype=np.float32)
        batches = self._batches(sizes)
        stop = threading.Event()
        if len(batches) <= 1 or self._concurrency == 1:
            for batch in batches:
                out[batch] = self._request([items[j] for j in batch], stop, patience)
            return out
        with ThreadPoolExecutor(self._concurrency, thread_name_prefix="embed") as pool:
            futures: dict[Future[Vectors], list[int]] = {
                pool.submit(self._request, [items[j] for j in b], stop, patience): b for b in batches
            }
            try:
                for fut in as_completed(futures):
                    out[futures[fut]] = fut.result()
            except BaseException:
                stop.set()
                for fut in futures:
                    fut.cancel()
                raise
        return out

    def _request(self, inputs: list[str], stop: threading.Event, patience: tuple[int, float]) -> Vectors:
        """POST one batch, retrying transient failures; the vectors, normalised."""
        retries, timeout = patience
        attempt = 0
        while True:
            if stop.is_set():
                raise _Stopped
            body: dict[str, Any] = {"model": self.model, "input": inputs}
            if self._use_base64:
                body["encoding_format"] = "base64"
            if self._send_dimensions:
                body["dimensions"] = self._requested
            retry_after = 0.0
            try:
                resp = self._client.post(
                    f"{self.url}/v1/embeddings", content=json.dumps(body).encode(), timeout=timeout
                )
            except httpx.TimeoutException:
                what = f"embedding server at {self.url} did not answer within {timeout:g} s"
                advice = "raise the timeout or lower the batch size"
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                what = f"embedding server at {self.url} is not answering ({type(exc).__name__})"
                advice = "start it with `codesearch serve` or check --embed-url"
            else:
                status = resp.status_code
                if status == 200:
                    return self._parse(resp, len(inputs))
                message = self._scrub(server_message(resp))
                if status not in (408, 429) and status < 500:
                    self._client_error(status, message, body)
                    continue  # a setting was switched off: send again at once
                what = f"embedding server at {self.url} failed with HTTP {status}: {message}"
                advice = "check the server's log"
                if status == 503:
                    what = f"embedding server at {self.url} is still loading or overloaded (HTTP 503)"
                    advice = "wait until its /health answers 200 and retry"
                retry_after = retry_after_seconds(resp)
            if attempt >= retries:
                raise EmbeddingServerError(f"{what} after {attempt + 1} tries; {advice}")
            delay = min(30.0, self._backoff * 2**attempt) * (0.5 + random.random() / 2)
            if stop.wait(max(delay, min(retry_after, 30.0))):
                raise _Stopped
            attempt += 1

    def _client_error(self, status: int, message: str, body: dict[str, Any]) -> None:
        """Switch off a refused option (dimensions, base64) or raise the right error."""
        low = message.lower()
        with self._lock:
            if "dimensions" in body and ("dimension" in low or "matryoshka" in low):
                self._send_dimensions = False  # truncate on this side from now on
                return
            if "encoding_format" in body and ("encoding" in low or "base64" in low):
                self._use_base64 = False
                return
        if "model" in low and (status == 404 or "not found" in low or "does not exist" in low):
            hint = f"check the model name '{self.model}' (--model)"
        elif status == 404:
            hint = "check --embed-url (the server's base URL, e.g. http://127.0.0.1:30000)"
        elif any(pattern in low for pattern in TOO_LONG):
            hint = f"the server's context length is below the client's {self.context_length}: make them match"
        else:
            hint = {401: "check the API key", 403: "check the API key", 413: "lower the batch size"}.get(
                status, "check the server's log"
            )
        raise EmbeddingServerError(
            f"embedding server at {self.url} rejected the request (HTTP {status}: {message}); {hint}"
        )

    def _parse(self, resp: httpx.Response, count: int) -> Vectors:
        """Vectors of a 200 answer, checked, in input order, normalised."""
        where = f"embedding server at {self.url}"
        matrix = decode_vectors(resp.content, count, where)
        got = matrix.shape[1]
        with self._lock:
            if self._dims is None:
                self._dims = got
        expected = self._dims
        if got < expected or (got > expected and self._requested is None):
            raise EmbeddingServerError(
                f"{where} returned {got}-dimensional vectors, expected {expected};"
                " check the model name and the dimensions setting (an index keeps its dimension)"
            )
        # Longer than asked: the server ignored `dimensions`; Matryoshka truncation here.
        return normalize_rows(matrix[:, :expected] if got > expected else matrix)

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text
