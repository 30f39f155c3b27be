"""The embedded default: a static code embedding model, pure numpy at run time.

A static model (model2vec-style) is a table with one vector per token of its
vocabulary. A text's vector is the mean of its tokens' vectors, L2-normalised; the
frequency weighting (SIF) is baked into the vectors' norms when the table is built.
There is no transformer at run time, so embedding costs a tokenizer pass and a
table look-up: tens of thousands of units a second on one core.

Code is pre-split before tokenising: `parseISODate` reads as `parse ISO Date` and
`upload_with_retry` as `upload with retry`, so identifier pieces map to the words a
query uses. The table and its tokenizer ship in this package
(`data/static/`); `benchmarks/static_model/build.py` rebuilds them from
all-MiniLM-L6-v2 (see docs/models.md).
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from typing import cast

import numpy as np

from codesearch.embedding.base import Vectors, normalize_rows, pool_windows
from codesearch.errors import ModelLoadError

#: Windows of this many tokens are averaged, as the Embedder contract asks; a static
#: model has no context limit, so this only bounds the work per window.
STATIC_WINDOW_TOKENS = 512

_SLICE_TOKENS = 1 << 16
#: The pieces a text is read as: words split at camelCase and snake_case boundaries, digit
#: runs, and other letters; punctuation and whitespace carry no meaning here and are dropped.
_PIECE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[^\W\d_a-zA-Z]+")
#: Distinct pieces whose token ids are remembered (then the memo starts afresh).
_MEMO_SIZE = 200_000
#: Lines longer than this are tokenized each time, not remembered.
_LINE_MEMO_MAX_CHARS = 2_000
#: Token ids as the memos keep them (the vocabulary is far under 2**31).
_ID = np.dtype(np.int32)


def _data() -> Traversable:
    return resources.files("codesearch.embedding") / "data" / "static"


def static_identity() -> tuple[str, int]:
    """Model id and dimensions of the shipped table, read without loading it."""
    try:
        meta = json.loads((_data() / "model.json").read_text(encoding="utf-8"))
        return str(meta["model_id"]), int(meta["shape"][1])
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise ModelLoadError(
            f"could not read the static embedding model: {exc}; reinstall codesearch"
        ) from exc


def split_identifiers(text: str) -> list[str]:
    """`parseISODate(x_y)` -> `parse`, `ISO`, `Date`, `x`, `y`."""
    return _PIECE.findall(text)


class StaticEmbedder:
    """Mean of per-token vectors from the table shipped in `codesearch/embedding/data/static/`."""

    max_tokens = STATIC_WINDOW_TOKENS

    def __init__(self) -> None:
        from tokenizers import Tokenizer

        data = _data()
        self.model_id, _ = static_identity()
        try:
            self._tokenizer = Tokenizer.from_str((data / "tokenizer.json").read_text(encoding="utf-8"))
            with (data / "vectors.npy").open("rb") as fh:
                table = np.load(fh, allow_pickle=False)
        except (OSError, ValueError, RuntimeError) as exc:
            raise ModelLoadError(
                f"could not load the static embedding model: {exc}; reinstall codesearch"
            ) from exc
        if (
            table.ndim != 2
            or table.shape[0] != self._tokenizer.get_vocab_size()
            or not np.isfinite(table).all()
        ):
            raise ModelLoadError("the static embedding model's table is damaged; reinstall codesearch")
        self._table = table.astype(np.float32)
        self.dimensions = int(table.shape[1])
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._memo: dict[str, bytes] = {}
        self._lines: dict[str, bytes] = {}

    def _learn(self, pieces: Sequence[str]) -> dict[str, bytes]:
        """The piece memo (each piece's token ids as int32 bytes), holding every one of
        `pieces` (each new piece through the tokenizer once, in one batch); a full memo is
        started anew."""
        memo = self._memo
        missing = list({p: None for p in pieces if p not in memo})
        if missing:
            if len(memo) + len(missing) > _MEMO_SIZE:
                memo = self._memo = {}
                missing = list(dict.fromkeys(pieces))
            for piece, enc in zip(
                missing, self._tokenizer.encode_batch(missing, add_special_tokens=False), strict=True
            ):
                memo[piece] = np.array(enc.ids, dtype=_ID).tobytes()
        return memo

    def _text_ids(self, text: str) -> bytes:
        """Token ids of a text as int32 bytes, line by line (no piece spans a newline, so they
        are the text's own): a line is met in its function's unit, its class's and its
        file's, so each line is remembered; the pieces of the lines not yet seen go to the
        tokenizer at once. Bytes, not lists: joining them costs nothing per token."""
        lines = text.split("\n")
        memo = self._lines
        known = list(map(memo.get, lines))
        if None not in known:
            return b"".join(cast("list[bytes]", known))
        new = [line for line in dict.fromkeys(lines) if line not in memo]
        if len(memo) + len(new) > _MEMO_SIZE:
            memo = self._lines = {}
            new = list(dict.fromkeys(lines))
        pieces = [split_identifiers(line) for line in new]
        piece_ids = self._learn([p for line in pieces for p in line])
        fresh = {
            line: b"".join(map(piece_ids.__getitem__, parts)) for line, parts in zip(new, pieces, strict=True)
        }
        # Long lines (data, generated code) are not kept: the memo's size stays bounded.
        memo.update((line, ids) for line, ids in fresh.items() if len(line) <= _LINE_MEMO_MAX_CHARS)
        return b"".join(fresh[line] if line in fresh else memo[line] for line in lines)

    def token_ids(self, text: str) -> np.ndarray:
        """The ids of a text's tokens (after identifier splitting), as the table is read."""
        return np.frombuffer(self._text_ids(text), dtype=_ID)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text takes (after identifier splitting)."""
        return [len(self._text_ids(t)) // _ID.itemsize for t in texts]

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        """One normalised vector per text: its windows' mean vectors, averaged."""
        count = len(texts)
        if not count:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        parts: list[bytes] = []
        starts: list[int] = []
        owners: list[int] = []
        size = 0
        for i, text in enumerate(texts):
            ids = self._text_ids(text)
            n = len(ids) // _ID.itemsize
            for start in range(0, n, STATIC_WINDOW_TOKENS):
                starts.append(size + start)
                owners.append(i)
            parts.append(ids)
            size += n
        if not size:
            return np.zeros((count, self.dimensions), dtype=np.float32)
        bounds = [*starts, size]
        token_ids = np.frombuffer(b"".join(parts), dtype=_ID)
        windows = np.empty((len(starts), self.dimensions), dtype=np.float32)
        first = 0
        while first < len(starts):
            # Windows in slices of about _SLICE_TOKENS tokens bound the gathered rows' memory.
            last = bisect.bisect_right(bounds, bounds[first] + _SLICE_TOKENS) - 1
            last = min(max(last, first + 1), len(starts))
            base = bounds[first]
            rows = self._table[token_ids[base : bounds[last]]]
            # One sum per window: several times faster than np.add.reduceat along rows.
            for w in range(first, last):
                rows[bounds[w] - base : bounds[w + 1] - base].sum(axis=0, out=windows[w])
            first = last
        lengths = np.diff(np.asarray(bounds, dtype=np.int64)).astype(np.float32)
        windows /= lengths[:, None]
        return pool_windows(normalize_rows(windows), owners, count, self.dimensions)

    def embed_query(self, text: str) -> Vectors:
        """Queries are embedded like documents (the model is symmetric)."""
        result: Vectors = self.embed_documents([text])[0]
        return result

    def close(self) -> None:
        """Nothing to release."""
