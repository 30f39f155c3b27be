"""Plain data passed between pipeline stages: no I/O here."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TypedDict

#: Kinds a unit can have. "file" holds a whole file (or one part of a long file);
#: "section" is a window of a non-code text file.
UNIT_KINDS = (
    "function",
    "method",
    "class",
    "interface",
    "struct",
    "trait",
    "impl",
    "enum",
    "module",
    "file",
    "section",
)


def content_hash(text: str) -> str:
    """Stable hash of a piece of text (hex sha256)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class UnitPayload(TypedDict, total=False):
    """What a store keeps with each unit (indexer.unit_payload writes every field). A search's
    candidates carry store.base.CANDIDATE_FIELDS only: the snippet is read for the hits shown alone."""

    path: str  # relative to the root, "/"-separated
    language: str
    kind: str  # function, method, class, ..., file, section, window
    symbol: str  # the qualified name: `Session.merge_environment_settings`
    name: str  # the unit's own name: `merge_environment_settings`
    parent: str  # the enclosing definition's name, "" at the top
    start_line: int
    end_line: int
    file_hash: str  # sha256 of the file the unit was cut from (moves check it)
    snippet: str  # the first lines of the unit's code


@dataclass(frozen=True, slots=True)
class CodeUnit:
    """A searchable piece of a file: a definition, or the whole file.

    Lines are 1-based and inclusive; bytes are 0-based, end exclusive.
    """

    path: str
    language: str
    kind: str
    name: str
    qualified_name: str
    start_line: int
    end_line: int
    start_byte: int
    end_byte: int
    text: str
    parent: str | None = None
    signature: str = ""
    doc: str = ""

    @property
    def content_hash(self) -> str:
        """Hash of the unit's text."""
        return content_hash(self.text)

    @property
    def key(self) -> str:
        """Identity of the unit inside its file, stable across runs."""
        return f"{self.kind}:{self.qualified_name}:{self.start_line}"


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """What the parser made of one file."""

    path: str
    language: str
    units: tuple[CodeUnit, ...]
    syntax_errors: int = 0
    #: Code tokens (class, start byte, text) from the same parse, when `parse_file` was asked
    #: for them and the file was parsed as code; None otherwise.
    tokens: list[tuple[str, int, str]] | None = None


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file discovery or parsing passed over, with a reason a person can read."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One ranked result."""

    path: str
    start_line: int
    end_line: int
    symbol: str
    kind: str
    language: str
    score: float
    snippet: str = ""
    dense_score: float | None = None
    lexical_score: float | None = None

    def to_json(self) -> dict[str, object]:
        """The stable JSON form used by `--json` and the language server."""
        return {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "symbol": self.symbol,
            "kind": self.kind,
            "language": self.language,
            "score": round(self.score, 6),
            "snippet": self.snippet,
        }


@dataclass(frozen=True, slots=True)
class FileHit:
    """One file of a file-level ranking, with its best units."""

    path: str
    language: str
    score: float
    hits: tuple[SearchHit, ...] = ()

    def to_json(self) -> dict[str, object]:
        """The stable JSON form (`--json --files`, the language server, MCP)."""
        return {
            "path": self.path,
            "language": self.language,
            "score": round(self.score, 6),
            "hits": [h.to_json() for h in self.hits],
        }


@dataclass(frozen=True, slots=True)
class Answer:
    """What a front end shows for a query (`Engine.answer`): the units, or the files of a
    file-level search, and, when the embedding model was not available, why; the hits are
    then the lexical index's alone."""

    hits: list[SearchHit] = field(default_factory=list)
    files: list[FileHit] = field(default_factory=list)
    #: Why the dense half was left out ("" when it was not).
    embedding_error: str = ""

    @property
    def lexical_only(self) -> bool:
        """Whether the embedding model was not available, so the lexical index alone answered."""
        return bool(self.embedding_error)


class RunStatus(TypedDict):
    """The index run under way in the process that owns the index (`Engine.indexing`).
    `partial`: the index was not complete when the run began, so searches see part of it."""

    phase: str
    files: int
    of_files: int
    partial: bool


class UpgradeStatus(TypedDict):
    """How far the progressive index's upgrade is (`Engine.upgrade_status`); `searching`:
    searches use the upgrade model already."""

    model: str
    files: int
    of_files: int
    searching: bool


class IndexStatus(TypedDict, total=False):
    """What `Engine.status()` tells, the form of `codesearch status --json`. Always there:
    root, index_dir, backend, model, dimensions, store, indexed, other_indexes; once
    indexed, the counts and dates; `indexing` while a run goes on, `upgrade` with a
    progressive index."""

    root: str
    index_dir: str
    backend: str
    model: str
    dimensions: int
    store: str
    indexed: bool
    other_indexes: list[str]
    files: int
    units: int
    store_points: int
    pending: int
    units_by_kind: dict[str, int]
    units_by_language: dict[str, int]
    last_indexed: float | None
    age_seconds: float | None
    complete: bool
    size_bytes: int
    indexing: RunStatus
    upgrade: UpgradeStatus


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Restrictions on a search; empty means no restriction."""

    languages: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RedactedFile:
    """A file whose secrets were replaced before indexing: where (1-based lines) and what kind."""

    path: str
    secrets: tuple[tuple[int, str], ...]


@dataclass(slots=True)
class IndexReport:
    """Summary of one indexing run."""

    files: int = 0
    units: int = 0
    embedded: int = 0
    cached: int = 0
    deleted: int = 0
    changed_files: int = 0
    seconds: float = 0.0
    units_by_kind: dict[str, int] = field(default_factory=dict)
    units_by_language: dict[str, int] = field(default_factory=dict)
    skipped: list[SkippedFile] = field(default_factory=list)
    warnings: list[SkippedFile] = field(default_factory=list)
    resumed: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    #: Files of this run whose secrets were redacted (codesearch.indexing.redact).
    secrets: list[RedactedFile] = field(default_factory=list)

    @property
    def secrets_redacted(self) -> int:
        """How many secrets this run replaced by the marker."""
        return sum(len(f.secrets) for f in self.secrets)

    def to_json(self) -> dict[str, object]:
        """The stable JSON form used by `codesearch index --json`."""
        reasons: dict[str, int] = {}
        for s in self.skipped:
            reasons[s.reason] = reasons.get(s.reason, 0) + 1
        return {
            "files": self.files,
            "units": self.units,
            "embedded": self.embedded,
            "cached": self.cached,
            "deleted": self.deleted,
            "changed_files": self.changed_files,
            "skipped": len(self.skipped),
            "skipped_reasons": reasons,
            "skipped_files": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "warnings": [{"path": s.path, "reason": s.reason} for s in self.warnings],
            "units_by_kind": dict(sorted(self.units_by_kind.items())),
            "units_by_language": dict(sorted(self.units_by_language.items())),
            "resumed": self.resumed,
            "secrets_redacted": self.secrets_redacted,
            "secrets_redacted_files": [
                {"path": f.path, "secrets": [{"line": line, "kind": kind} for line, kind in f.secrets]}
                for f in self.secrets
            ],
            "seconds": round(self.seconds, 3),
            "timings": {k: round(v, 3) for k, v in sorted(self.timings.items())},
        }
