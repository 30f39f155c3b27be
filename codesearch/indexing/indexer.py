"""discover -> read -> parse -> diff by hash -> embed (cached) -> store, in batches.

Crash safety: the paths of a batch are marked pending in the state before the
store is touched, and a file's record is committed only after its units are in
the store. The next run first clears whatever a killed run left pending, so the
index never keeps duplicates or stale units.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from codesearch.dupes.fingerprint import FINGERPRINT_VERSION
from codesearch.embedding.base import Embedder
from codesearch.indexing.analysis import (
    Analysis,
    Analyzer,
    Options,
    decode_source,
    fingerprint_indexed,
    fingerprint_records,
    point_id,
    read_source,
    unit_vectors,
    wanted_texts,
)
from codesearch.indexing.cache import VectorCache
from codesearch.indexing.discover import FileEntry, discover, under
from codesearch.indexing.representation import plan_units
from codesearch.indexing.state import FileRecord, IndexState
from codesearch.models import CodeUnit, IndexReport, RedactedFile, SkippedFile, UnitPayload
from codesearch.parsing import units_version
from codesearch.store.base import StoredPoint, VectorStore

__all__ = [
    "Indexer",
    "Progress",
    "ProgressCallback",
    "decode_source",
    "fingerprint_records",
    "point_id",
    "read_source",
    "unit_payload",
]

SNIPPET_LINES = 12


@dataclass(slots=True)
class Progress:
    """A snapshot of a running index, for progress displays."""

    phase: str
    files_done: int = 0
    files_total: int = 0
    units_done: int = 0
    embedded: int = 0
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        """Units per second so far."""
        return self.units_done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left, estimated from the file rate."""
        if not self.files_done or self.files_done >= self.files_total:
            return None
        return self.elapsed / self.files_done * (self.files_total - self.files_done)


ProgressCallback = Callable[[Progress], None]
#: Told that an index run ended: its report (None when it failed or was stopped) and seconds.
RunDoneCallback = Callable[[IndexReport | None, float], None]


def unit_payload(unit: CodeUnit, file_hash: str) -> UnitPayload:
    """What the store keeps with a unit: where it is, what it is, a snippet, and its file's hash
    (only what searches, moves and filters read: each string field costs the store's
    conversion about 3 microseconds a point)."""
    lines = unit.text.splitlines()
    snippet = "\n".join(lines[:SNIPPET_LINES])[:2000]
    return {
        "path": unit.path,
        "language": unit.language,
        "kind": unit.kind,
        "symbol": unit.qualified_name,
        "name": unit.name,
        "parent": unit.parent or "",
        "start_line": unit.start_line,
        "end_line": unit.end_line,
        "file_hash": file_hash,
        "snippet": snippet,
    }


#: With a static model (`static`), batches hold this many times `batch_units`: each batch is
#: a store update and two state transactions, which cost more than the units' embedding.
STATIC_BATCH_FACTOR = 8


class Indexer:
    """Brings an index up to date with the files under a root."""

    def __init__(
        self,
        root: Path,
        store: VectorStore,
        state: IndexState,
        embedder_factory: Callable[[], Embedder],
        cache: VectorCache,
        *,
        exclude: Sequence[str] = (),
        max_file_bytes: int = 1_048_576,
        max_file_tokens: int = 32_768,
        include_secrets: bool = False,
        batch_units: int = 64,
        workers: int = 1,
        static: bool = False,
    ) -> None:
        self.root = root
        self._store = store
        self._state = state
        self._embedder_factory = embedder_factory
        self._embedder: Embedder | None = None
        self._cache = cache
        self._exclude = list(exclude)
        self._max_file_bytes = max_file_bytes
        self._max_file_tokens = max_file_tokens
        self._include_secrets = include_secrets
        # With a static model the analysis embeds, so a batch is only a write: fewer, larger ones.
        self._batch_units = max(1, batch_units) * (STATIC_BATCH_FACTOR if static else 1)
        self._workers = max(1, workers)
        self._static = static
        self._known: set[str] = set()

    def _embed(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self._embedder_factory()
        return self._embedder

    def discover(self, only: Sequence[str] | None = None) -> tuple[list[FileEntry], list[SkippedFile]]:
        """Files to index and files passed over, by discovery rules (only under `only`, if given)."""
        found = discover(self.root, self._exclude, self._max_file_bytes, self._include_secrets, only)
        return found.files, found.skipped

    def run(self, progress: ProgressCallback | None = None, only: Sequence[str] | None = None) -> IndexReport:
        """Index what changed since the last run; resume a killed run.

        With `only` (relative paths of files or directories, existing or not), just
        those paths are brought up to date: the watcher's quick update.
        """
        started = time.perf_counter()
        report = IndexReport()
        timings = {"discover": 0.0, "read": 0.0, "parse": 0.0, "embed": 0.0, "store": 0.0}
        report.resumed = self._mark_started(full=only is None)

        # A killed run may have written points of files it never recorded: clear them.
        pending = self._state.pending()
        if pending:
            self._store.delete_paths(pending)
            self._state.clear_pending(pending)

        for part in (self._store, self._state):
            repaired = getattr(part, "repaired", None)
            if repaired:
                report.warnings.append(SkippedFile("(index store)", repaired))
                setattr(part, "repaired", None)  # noqa: B010 - not every store has it
        if only is None:
            mended = self._reconcile()
            if mended:
                report.warnings.append(
                    SkippedFile(
                        "(index store)",
                        f"the store and the state disagreed about {mended} files (a damaged or deleted "
                        "store or state); indexing them again",
                    )
                )

        if self._state.get_meta("fingerprints") != FINGERPRINT_VERSION:
            t = time.perf_counter()
            self._fill_fingerprints()
            timings["fingerprints"] = time.perf_counter() - t

        t = time.perf_counter()
        entries, skipped = self.discover(only)
        report.skipped.extend(skipped)
        known = self._state.files()
        self._known = set(known)
        timings["discover"] = time.perf_counter() - t

        present = {e.path for e in entries}
        only_set = None if only is None else set(only)
        removed = sorted(p for p in known if p not in present and (only_set is None or under(p, only_set)))
        if removed:
            t = time.perf_counter()
            self._state.mark_pending(removed)
            self._store.delete_paths(removed)
            self._state.commit_files([], [], removed)
            report.deleted = len(removed)
            timings["store"] += time.perf_counter() - t

        # The parser that cut the index's units. A new index records this one; a parser that
        # changed since (a new release) may cut unchanged files into other units, so a full run
        # adopts the new one: each file is analysed again (embeddings of unchanged texts come
        # from the cache), and a killed run resumes.
        if (not known or only is None) and self._state.adopt_parser(units_version()):
            known = self._state.files()
            report.warnings.append(
                SkippedFile(
                    "(index)", "the parser changed since this index was built; every file is analysed again"
                )
            )
        todo = [
            e
            for e in entries
            if (rec := known.get(e.path)) is None or (rec.size, rec.mtime_ns) != (e.size, e.mtime_ns)
        ]
        status = Progress("indexing", files_total=len(todo))
        batch: list[Analysis] = []
        batch_units = 0
        # Small first batches, doubling up to batch_units: the first units are searchable
        # within seconds (a language server answers while it indexes), at no cost later.
        batch_limit = min(self._batch_units, 8)
        touched: list[FileRecord] = []
        analyzer = Analyzer(Options(self._max_file_bytes, self._max_file_tokens, self._static), self._workers)
        work = [(e, rec.content_hash if (rec := known.get(e.path)) else None) for e in todo]
        for item in analyzer.run(work):
            timings["read"] += item.read_seconds
            timings["parse"] += item.parse_seconds
            status.files_done += 1
            entry = item.entry
            if item.skipped:
                report.skipped.append(SkippedFile(entry.path, item.skipped))
                continue
            if item.unchanged:
                touched.append(
                    FileRecord(entry.path, entry.size, entry.mtime_ns, item.file_hash, entry.language)
                )
                continue
            if item.latin1:
                report.warnings.append(SkippedFile(entry.path, "not UTF-8: read as Latin-1"))
            if item.secrets:
                report.secrets.append(RedactedFile(entry.path, tuple((f.line, f.kind) for f in item.secrets)))
            batch.append(item)
            report.changed_files += 1
            batch_units += len(item.units)
            if batch_units >= batch_limit:
                self._flush_batch(batch, report, timings)
                status.units_done += batch_units
                batch, batch_units = [], 0
                batch_limit = min(batch_limit * 2, self._batch_units)
            if progress:
                status.elapsed = time.perf_counter() - started
                status.embedded = report.embedded
                progress(status)
        if batch:
            self._flush_batch(batch, report, timings)
            status.units_done += batch_units
        if touched:
            self._state.touch_files(touched)
        # An indexed file whose new content is skipped (now binary, generated, minified,
        # unreadable, gone) must not keep its old units.
        stale = sorted({s.path for s in report.skipped} & set(known) & {e.path for e in todo})
        if stale:
            self._state.mark_pending(stale)
            self._store.delete_paths(stale)
            self._state.commit_files([], [], stale)
            report.deleted += len(stale)
        t = time.perf_counter()
        self._store.flush()
        timings["store"] += time.perf_counter() - t
        self._mark_ended(full=only is None)
        files, units, by_kind, by_lang = self._state.counts()
        report.files, report.units = files, units
        report.units_by_kind, report.units_by_language = by_kind, by_lang
        report.seconds = time.perf_counter() - started
        report.timings = timings
        if progress:
            status.phase = "done"
            status.elapsed = report.seconds
            progress(status)
        return report

    def _mark_started(self, full: bool) -> bool:
        """Mark a full run started; True when it resumes a killed one. The run marker says
        whether a full run has ended: an update of some paths leaves it as it is (complete or
        not). A kill during an update leaves pending rows, which the next run clears, and
        `status` reads an index with pending rows as not complete."""
        marker = self._state.get_meta("run")
        if full:
            self._state.set_meta(run="running", run_started=str(time.time()))
        return full and marker == "running"

    def _mark_ended(self, full: bool) -> None:
        if full:
            self._state.set_meta(run="complete", last_indexed=str(time.time()))
        else:
            self._state.set_meta(last_indexed=str(time.time()))

    def _reconcile(self) -> int:
        """Make the store and the state agree; returns how many files had to be forgotten.

        Cheap when they agree (two counts). Otherwise every stored point is listed: points the
        state does not know (a lost state database) are deleted, and files whose points are
        missing or differ (a deleted or truncated store) are forgotten, so this run indexes them
        again (their embeddings come from the cache).
        """
        _files, units, _kinds, _langs = self._state.counts()
        if self._store.count() == units:
            return 0
        known = self._state.unit_paths()
        stored: dict[int, str] = {p.id: str(p.payload.get("path", "")) for p in self._store.iter_points(1024)}
        bad = {path for pid, path in stored.items() if known.get(pid) != path}
        bad.update(path for pid, path in known.items() if pid not in stored)
        if bad:
            paths = sorted(bad)
            self._state.mark_pending(paths)
            self._store.delete_paths(paths)
            self._state.clear_pending(paths)
        return len(bad)

    def _fill_fingerprints(self) -> None:
        """Fingerprint the files an index built before fingerprints existed holds (parsing only).

        A file that changed since it was indexed gets its fingerprints when it is re-indexed.
        """
        records = list(self._state.files().values())
        for start in range(0, len(records), 256):
            chunk = records[start : start + 256]
            rows = fingerprint_indexed(self.root, chunk, self._max_file_bytes, self._max_file_tokens)
            self._state.replace_fingerprints([r.path for r in chunk], rows)
        self._state.set_meta(fingerprints=FINGERPRINT_VERSION)

    def _flush_batch(self, batch: list[Analysis], report: IndexReport, timings: dict[str, float]) -> None:
        t = time.perf_counter()
        points = self._points(batch, report)
        timings["embed"] += time.perf_counter() - t
        t = time.perf_counter()
        paths = [b.entry.path for b in batch]
        self._state.mark_pending(paths)
        # Only files the state knows can have points (those of a killed run's files, pending,
        # were deleted when this run began): a new file's delete would be a wasted filter scan.
        self._store.delete_paths([p for p in paths if p in self._known])
        self._store.upsert(points)
        records = [
            FileRecord(b.entry.path, b.entry.size, b.entry.mtime_ns, b.file_hash, b.entry.language)
            for b in batch
        ]
        unit_rows = [
            (p.id, str(p.payload["path"]), str(p.payload["kind"]), str(p.payload["language"])) for p in points
        ]
        self._state.commit_files(records, unit_rows, fingerprints=[f for b in batch for f in b.fingerprints])
        timings["store"] += time.perf_counter() - t

    def _points(self, batch: list[Analysis], report: IndexReport) -> list[StoredPoint]:
        vectors_per_file = [item.vectors for item in batch]
        todo = [item for item in batch if item.vectors is None]
        if todo:
            # The plan depends on the embedder's window (skeletons or whole texts): load it.
            window = self._embed()
            plans_per_file = [plan_units(item.units, window) for item in todo]
            wanted = wanted_texts(plans_per_file)
            vectors, embedded = self._cache.through(
                wanted, lambda texts: self._embed().embed_documents(texts)
            )
            report.cached += len(wanted) - embedded
            report.embedded += embedded
            planned = iter(unit_vectors(plans, vectors) for plans in plans_per_file)
            vectors_per_file = [v if v is not None else next(planned) for v in vectors_per_file]
        report.embedded += sum(item.embedded for item in batch)
        points: list[StoredPoint] = []
        for item, unit_vecs in zip(batch, vectors_per_file, strict=True):
            assert unit_vecs is not None
            for unit, lexical, vec in zip(item.units, item.lexical, unit_vecs, strict=True):
                if vec is not None:
                    points.append(
                        StoredPoint(
                            point_id(unit.path, unit.key), vec, lexical, unit_payload(unit, item.file_hash)
                        )
                    )
        return points
