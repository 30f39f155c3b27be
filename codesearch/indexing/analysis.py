"""One file's analysis: read, hash, decode, redact, parse once, fingerprint, lexical vectors.

This is the per-file work of indexing that needs nothing but the file and the options,
so it can run in worker processes (`Analyzer`) while the indexing process embeds and
writes. A worker never writes anything: the indexer's crash safety is unchanged.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codesearch.dupes.fingerprint import fingerprint_units
from codesearch.embedding.base import Vectors, normalize_rows
from codesearch.embedding.static import StaticEmbedder
from codesearch.errors import CodesearchError
from codesearch.indexing.discover import FileEntry, skip_reason_for_content
from codesearch.indexing.lexical import SparseVector, document_vector
from codesearch.indexing.redact import Finding, redact_source
from codesearch.indexing.representation import UnitPlan, lexical_text, plan_units
from codesearch.indexing.state import FileRecord, FingerprintRecord
from codesearch.models import CodeUnit, ParsedFile
from codesearch.parsing import parse_file
from codesearch.safefs import read_limited, read_problem

#: Below this many files to analyse, worker processes cost more to start than they save.
PARALLEL_MIN_FILES = 48
#: Files a worker analyses per task (amortises the pickling of a task).
FILES_PER_TASK = 8
#: Tasks in flight per worker: bounds the memory of results the indexer has not taken yet.
TASKS_AHEAD = 4


def point_id(path: str, unit_key: str) -> int:
    """Deterministic 63-bit point id of a unit."""
    digest = hashlib.blake2b(f"{path}\0{unit_key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def decode_source(data: bytes) -> tuple[bytes, bool]:
    """UTF-8 bytes for the parser; non-UTF-8 files are read as Latin-1 (lines stay right)."""
    try:
        data.decode("utf-8")
        return data, False
    except UnicodeDecodeError:
        return data.decode("latin-1").encode("utf-8"), True


def read_source(entry: FileEntry, max_file_bytes: int) -> tuple[bytes | None, str]:
    """A discovered file's bytes, or None and why it is passed over (gone, unreadable,
    grown too large, binary, minified or generated)."""
    try:
        # No link followed, no FIFO waited on, no more read than the limit allows (/dev/zero).
        data = read_limited(entry.abspath, max_file_bytes)
    except FileNotFoundError:
        return None, "vanished while reading"
    except OSError as exc:
        return None, read_problem(exc)
    if len(data) > max_file_bytes:
        return None, f"larger than {max_file_bytes} bytes"
    reason = skip_reason_for_content(data, entry.language)
    return (None, reason) if reason else (data, "")


def fingerprint_records(source: bytes, parsed: ParsedFile) -> list[FingerprintRecord]:
    """Fingerprint records of a parsed file's functions and methods (none for text files)."""
    if parsed.language == "text":
        return []
    units = parsed.units
    try:
        fingerprints = fingerprint_units(source, parsed.language, units, parsed.tokens)
    except CodesearchError:
        return []  # a file that cannot be fingerprinted is still indexed; it is just not compared
    return [
        FingerprintRecord(
            point_id(u.path, u.key), u.path, u.kind, u.qualified_name, u.start_line, u.end_line, fp
        )
        for u in units
        if (fp := fingerprints.get(u.key)) is not None
    ]


def fingerprint_indexed(
    root: Path, records: Sequence[FileRecord], max_file_bytes: int, max_file_tokens: int
) -> list[FingerprintRecord]:
    """The fingerprints of indexed files whose content is still what was indexed (parsing
    only: an index built before fingerprints existed). A file that changed since gets its
    fingerprints when it is indexed again."""
    rows: list[FingerprintRecord] = []
    for rec in records:
        try:
            data = read_limited(root / rec.path, max_file_bytes)
        except OSError:
            continue
        if hashlib.sha256(data).hexdigest() != rec.content_hash:
            continue
        try:
            source, _ = decode_source(data)
            parsed = parse_file(rec.path, source, rec.language, max_file_tokens=max_file_tokens, tokens=True)
        except CodesearchError:
            continue
        rows.extend(fingerprint_records(source, parsed))
    return rows


@dataclass(slots=True)
class Analysis:
    """What the analysis of one file found. `skipped` is a reason when the file is passed
    over; `unchanged` when its content hash is the one already indexed."""

    entry: FileEntry
    file_hash: str = ""
    skipped: str = ""
    unchanged: bool = False
    latin1: bool = False
    secrets: tuple[Finding, ...] = ()
    units: list[CodeUnit] = field(default_factory=list)
    lexical: list[SparseVector] = field(default_factory=list)
    fingerprints: list[FingerprintRecord] = field(default_factory=list)
    #: With Options.static: each unit's vector (None: nothing to embed), in the order of
    #: `units`, and how many texts were embedded.
    vectors: list[Vectors | None] | None = None
    embedded: int = 0
    #: CPU seconds spent reading and hashing, and decoding to lexical vectors (in whichever process).
    read_seconds: float = 0.0
    parse_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Options:
    """The options the analysis reads (picklable, for workers)."""

    max_file_bytes: int
    max_file_tokens: int
    #: Embed with the static table here too (a model cheaper to run than to cache).
    static: bool = False


def analyze(entry: FileEntry, known_hash: str | None, options: Options) -> Analysis:
    """Read and analyse one file; `known_hash` is the content hash already indexed, if any."""
    started = time.perf_counter()
    found = _analyze(entry, known_hash, options)
    found.parse_seconds = time.perf_counter() - started - found.read_seconds
    return found


def _analyze(entry: FileEntry, known_hash: str | None, options: Options) -> Analysis:
    started = time.perf_counter()
    data, reason = read_source(entry, options.max_file_bytes)
    if data is None:
        return Analysis(entry, skipped=reason, read_seconds=time.perf_counter() - started)
    file_hash = hashlib.sha256(data).hexdigest()
    read_seconds = time.perf_counter() - started
    if known_hash == file_hash:
        return Analysis(entry, file_hash, unchanged=True, read_seconds=read_seconds)
    try:
        source, latin1 = decode_source(data)
        # Secrets are replaced before anything is parsed, embedded, stored or sent.
        source, secrets = redact_source(entry.path, source)
        parsed = parse_file(
            entry.path, source, entry.language, max_file_tokens=options.max_file_tokens, tokens=True
        )
    except CodesearchError as exc:
        return Analysis(entry, file_hash, skipped=f"could not parse: {exc}", read_seconds=read_seconds)
    units = list(parsed.units)
    found = Analysis(
        entry,
        file_hash,
        latin1=latin1,
        secrets=tuple(secrets),
        units=units,
        lexical=[document_vector(lexical_text(u)) for u in units],
        fingerprints=fingerprint_records(source, parsed),
        read_seconds=read_seconds,
    )
    if options.static:
        embedder = _static_embedder()
        plans = plan_units(units, embedder)
        wanted = wanted_texts([plans])
        vectors = dict(zip(wanted, embedder.embed_documents(list(wanted.values())), strict=True))
        found.vectors = unit_vectors(plans, vectors)
        found.embedded = len(wanted)
    return found


@functools.cache
def _static_embedder() -> StaticEmbedder:
    """This process's static embedder (loaded once)."""
    return StaticEmbedder()


def wanted_texts(plans_per_file: Sequence[Sequence[UnitPlan]]) -> dict[str, str]:
    """The texts to embed for these plans, by text hash (blank ones left out)."""
    return {
        h: t
        for plans in plans_per_file
        for p in plans
        for h, t in zip(p.text_hashes, p.texts, strict=True)
        if t.strip()
    }


def unit_vectors(plans: Sequence[UnitPlan], vectors: dict[str, Vectors]) -> list[Vectors | None]:
    """Each planned unit's vector: the normalised mean of its texts' and direct children's
    vectors (None when it has neither)."""
    out: list[Vectors | None] = [None] * len(plans)
    for i in range(len(plans) - 1, -1, -1):  # children come after their parent
        parts = [vectors[h] for h in plans[i].text_hashes if h in vectors]
        parts.extend(v for k in plans[i].children if (v := out[k]) is not None)
        if len(parts) == 1:
            # Most units (a leaf function, one text): its vector as it is, when already unit length.
            one = parts[0]
            norm = float(np.dot(one, one))
            out[i] = (
                one if abs(norm - 1.0) < 1e-5 or norm == 0.0 else (one / np.sqrt(norm)).astype(np.float32)
            )
        elif parts:
            out[i] = normalize_rows(np.mean(parts, axis=0, keepdims=True).astype(np.float32))[0]
    return out


def _analyze_many(tasks: list[tuple[FileEntry, str | None]], options: Options) -> list[Analysis]:
    return [analyze(entry, known, options) for entry, known in tasks]


def _watch_parent(parent: int) -> None:
    """In a worker: end this process once the indexing process is gone (even by kill -9),
    so that no orphan stays behind."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="codesearch-parent-watch", daemon=True).start()


def auto_workers(configured: int) -> int:
    """Worker processes for `configured` (0 = one per CPU this process may use, up to 8;
    1 = analyse in the indexing process)."""
    if configured > 0:
        return configured
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 8))


class Analyzer:
    """Analyses files in order, in worker processes when there are enough of them.

    Results come back in the order of the files. A worker that dies (a grammar crashing on
    odd input) costs nothing but speed: the files not yet analysed are analysed here.
    """

    def __init__(self, options: Options, workers: int) -> None:
        self._options = options
        self._workers = workers

    def run(self, todo: Sequence[tuple[FileEntry, str | None]]) -> Iterator[Analysis]:
        """Analyses of `todo` ((entry, known content hash) pairs), in order."""
        if self._workers <= 1 or len(todo) < PARALLEL_MIN_FILES:
            for entry, known in todo:
                yield analyze(entry, known, self._options)
            return
        yield from self._parallel(todo)

    def _parallel(self, todo: Sequence[tuple[FileEntry, str | None]]) -> Iterator[Analysis]:
        chunks = [list(todo[i : i + FILES_PER_TASK]) for i in range(0, len(todo), FILES_PER_TASK)]
        # "spawn": the indexing process has threads (the owner's server, the store's), which a
        # forked child must not inherit half-locked.
        context = multiprocessing.get_context("spawn")
        done = 0
        pool = ProcessPoolExecutor(
            self._workers, mp_context=context, initializer=_watch_parent, initargs=(os.getpid(),)
        )
        try:
            queue: collections.deque[Future[list[Analysis]]] = collections.deque()
            submitted = 0
            while done < len(chunks):
                while submitted < len(chunks) and len(queue) < self._workers * TASKS_AHEAD:
                    queue.append(pool.submit(_analyze_many, chunks[submitted], self._options))
                    submitted += 1
                results = queue.popleft().result()
                done += 1
                yield from results
        except BrokenProcessPool:
            pass  # analysed below, in this process
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        for chunk in chunks[done:]:
            yield from _analyze_many(chunk, self._options)
