"""Typed settings, resolved once: flag > environment > repository file > user file > default.

Every option is a field of `Settings`; its `help` metadata is the one place it is
documented (`codesearch config --docs` prints the table, docs/configuration.md
holds a copy that a test keeps in sync). Environment variables are the field
name upper-cased with a `CODESEARCH_` prefix. The repository file is
`.codesearch.toml` at the root, or `[tool.codesearch]` in `pyproject.toml`;
the user file is `codesearch/config.toml` in the platform's config directory
(`$XDG_CONFIG_HOME`, usually ~/.config).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from codesearch.errors import ConfigError
from codesearch.options import check_repository_option, coerce_value, markdown_table, read_toml
from codesearch.search.ranking import RankingConfig, group_priors

ENV_PREFIX = "CODESEARCH_"
#: CPU models of backend local, and the default.
LOCAL_MODELS = ("static", "minilm")
LOCAL_DEFAULT_MODEL = "static"
#: Dense weight of hybrid fusion per model, chosen on the dev halves (ranking.md); others 0.5.
CALIBRATED_DENSE_WEIGHTS = {"static": 0.4}
#: Model of backend sglang when the option `model` is empty.
SERVER_DEFAULT_MODEL = "Qwen/Qwen3-Embedding-4B"


def _opt(default: Any, help: str, choices: tuple[str, ...] = ()) -> Any:
    meta = {"help": help, "choices": choices}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Settings:
    """Every codesearch option, with its default."""

    index_dir: str = _opt(
        "",
        "Where the index lives; a relative path is taken from the repository root. Empty: `.codesearch/` "
        "at the root (git ignores it by itself). One repository's only: another repository's is refused. "
        "Not from the repository's own config files.",
    )
    cache_dir: str = _opt(
        "",
        "The shared embedding cache. Empty: the user cache directory (~/.cache/codesearch). Not from the "
        "repository's own config files.",
    )
    backend: str = _opt(
        "local",
        "Embedding backend: `local` (CPU model, no server) or `sglang` "
        "(any OpenAI-compatible /v1/embeddings server).",
        ("local", "sglang"),
    )
    embed_url: str = _opt(
        "http://127.0.0.1:30000",
        "Base URL of the embedding server (backend sglang). The repository's own config files may "
        "name only this machine.",
    )
    model: str = _opt(
        "",
        "Embedding model. Backend local: `static` (the default: a static code embedding table, an index "
        "in seconds; see `upgrade_model`) or `minilm` (all-MiniLM-L6-v2, ~200x slower to index). Backend "
        "sglang: the name sent to the server. Empty: `static` for local, `Qwen/Qwen3-Embedding-4B` for "
        "sglang. See models.md.",
    )
    upgrade_model: str = _opt(
        "minilm",
        "Progressive index (backend local, model `static`): the transformer that `watch`, the language "
        "server and `codesearch index --upgrade` build beside the static index, a few files at a time; "
        "searches use it once it covers every file. Empty: static only.",
        ("", "minilm"),
    )
    dimensions: int = _opt(0, "Vector size asked of the server (Matryoshka); 0 = the model's full size.")
    api_key_env: str = _opt(
        "CODESEARCH_API_KEY",
        "Name of the environment variable holding the embedding server's API key. Not from the "
        "repository's own config files.",
    )
    query_instruction: str = _opt(
        "Given a code search query, retrieve the code snippet that answers it",
        "Task text put before queries as `Instruct: {task}\\nQuery:{query}` (backend sglang; "
        "documents get none).",
    )
    context_length: int = _opt(32_768, "Context length of the embedding server's model (backend sglang).")
    tokenizer: str = _opt(
        "", "tokenizer.json or model directory for counting tokens (backend sglang); empty = Qwen3's."
    )
    concurrency: int = _opt(4, "Embedding requests in flight (backend sglang).")
    batch_tokens: int = _opt(32_768, "Tokens per embedding request (backend sglang).")
    timeout: float = _opt(120.0, "Seconds to wait for one embedding request (backend sglang).")
    serve_host: str = _opt("127.0.0.1", "Address `codesearch serve` binds SGLang to.")
    serve_port: int = _opt(30_000, "Port `codesearch serve` starts SGLang on.")
    serve_mem_fraction: float = _opt(0.8, "GPU memory share SGLang reserves (`--mem-fraction-static`).")
    serve_args: list[str] = _opt(
        [], "Extra arguments appended to the SGLang command line. Not from the repository's own config files."
    )
    threads: int = _opt(0, "CPU threads for the local model; 0 = all cores.")
    store: str = _opt(
        "edge",
        "Vector store: `edge` (embedded Qdrant Edge) or `qdrant` (a server or cluster at `qdrant_url`, "
        "or qdrant-client local mode at `qdrant_path`). See qdrant.md.",
        ("edge", "qdrant"),
    )
    qdrant_url: str = _opt(
        "",
        "Qdrant server URL; `https://` turns TLS on. The repository's own config files may name only "
        "this machine.",
    )
    qdrant_path: str = _opt(
        "",
        "qdrant-client local mode directory: tests and small demos only (~200 upserts/s). Not from the "
        "repository's own config files.",
    )
    qdrant_api_key_env: str = _opt(
        "QDRANT_API_KEY",
        "Name of the environment variable holding the Qdrant API key. Not from the repository's own "
        "config files.",
    )
    qdrant_collection: str = _opt(
        "", "Collection name; empty = `cs-<model>-<dimensions>`, shared by repositories."
    )
    qdrant_repository: str = _opt(
        "", "This repository's name in a shared collection; empty = its `origin` URL, else its path."
    )
    all_repositories: bool = _opt(
        False, "Search every repository in the Qdrant collection, not only this one."
    )
    qdrant_prefer_grpc: bool = _opt(True, "Talk gRPC to the Qdrant server (REST when gRPC is unreachable).")
    qdrant_timeout: float = _opt(30.0, "Seconds for one Qdrant request.")
    qdrant_retries: int = _opt(3, "Retries of a timed-out or 429/502/503/504 Qdrant request, with backoff.")
    qdrant_shards: int = _opt(0, "`shard_number` of a new collection; 0 = server default.")
    qdrant_replicas: int = _opt(0, "`replication_factor` of a new collection; 0 = server default.")
    qdrant_write_consistency: int = _opt(0, "`write_consistency_factor` of a new collection; 0 = default.")
    qdrant_on_disk: bool = _opt(False, "Keep a new collection's original vectors and sparse index on disk.")
    qdrant_quantization: str = _opt(
        "", "`int8`: scalar quantisation of a new collection's dense vectors; empty = none.", ("", "int8")
    )
    max_file_bytes: int = _opt(1_048_576, "Files larger than this are skipped.")
    max_file_tokens: int = _opt(32_768, "Longest whole-file unit; longer files are split into parts.")
    exclude: list[str] = _opt([], "Extra gitignore-style patterns to leave out of the index.")
    include_secrets: bool = _opt(False, "Index secret-bearing files (.env, *.pem, id_rsa, ...). Not advised.")
    mode: str = _opt(
        "hybrid",
        "Retrieval: `hybrid` (dense + lexical, fused), `dense` or `lexical`.",
        ("hybrid", "dense", "lexical"),
    )
    k: int = _opt(10, "Number of results.")
    dense_weight: float = _opt(
        0.0,
        "Weight of the dense ranking in hybrid fusion (lexical gets 1 - this); 0 = the value chosen "
        "for the model on the quality sets' dev half (static 0.4, others 0.5; ranking.md).",
    )
    rrf_k: int = _opt(60, "Rank constant of reciprocal-rank fusion.")
    fusion: str = _opt(
        "score",
        "Hybrid fusion: `rrf` (weighted reciprocal rank) or `score` (weighted min-max-normalised scores).",
        ("rrf", "score"),
    )
    ranking: bool = _opt(
        True,
        "Apply the ranking layer (ranking.md): definitions of a queried name first, path priors, "
        "a cap per file. Off: the fused order as it is.",
    )
    ranking_symbol_dense_weight: float = _opt(
        0.3, "Dense weight of hybrid fusion for symbol-like queries (`Command`, `parse_args`, `a.b.C`)."
    )
    ranking_definition_boost: float = _opt(
        1.0, "Credit of a definition named by the query, times the query's best fused score."
    )
    ranking_path_boost: float = _opt(
        0.6, "Credit for the share of the query's words in a hit's file name and directory."
    )
    ranking_name_boost: float = _opt(
        1.0, "Credit for the share of a natural-language query's words in a unit's name and its container's."
    )
    ranking_test_prior: float = _opt(0.3, "Multiplier of hits in tests, unless the query asks for tests.")
    ranking_docs_prior: float = _opt(
        0.3, "Multiplier of hits in docs and config files, unless the query asks for them."
    )
    ranking_aux_prior: float = _opt(
        0.3, "Multiplier of hits in examples, benchmarks, fixtures, vendored and generated code."
    )
    ranking_member_ratio: float = _opt(
        0.5,
        "A member (a method, a function) scoring at least this share of its container (a class, the "
        "file) ranks above it, for natural-language queries.",
    )
    ranking_per_file: int = _opt(5, "Hits of one file in the list before further ones are decayed.")
    ranking_file_decay: float = _opt(0.85, "Decay of each further hit of one file in the list.")
    ranking_file_sum_decay: float = _opt(
        0.5, "`--files`: a file scores its best unit + this x its second + this^2 x its third ..."
    )
    ranking_language_boost: float = _opt(
        1.3, "Multiplier of hits in a language the query names (`... in go`, `rust`, `.ts`)."
    )
    batch_units: int = _opt(
        64, "Units embedded and written per batch while indexing (8 times this with the static model)."
    )
    index_workers: int = _opt(
        0,
        "Processes that read and parse files while indexing (0 = one per CPU, up to 8; "
        "1 = none besides the indexing process). Small updates always run in process.",
    )
    quantize_threshold: int = _opt(
        50_000,
        "Embedded store: at the end of an index run that leaves this many units (and again after "
        "20% growth), quantise the dense vectors to int8, which searches read before rescoring the "
        "best with the originals (~4x faster brute force; about a second per 100k units).",
    )
    dupes_min_tokens: int = _opt(
        30,
        "Duplicate checks: functions whose body has fewer normalized tokens (identifiers, literals, "
        "keywords, operators; comments and docstrings left out) are boilerplate-sized and never compared.",
    )
    dupes_min_jaccard: float = _opt(
        0.5,
        "Duplicate checks: least structural similarity (Jaccard of identifier-blind 5-token shingles) "
        "of an edited copy.",
    )
    dupes_threshold: float = _opt(
        0.0,
        "Duplicate checks: least mean of structural similarity and embedding cosine for an edited copy; "
        "0 = the value calibrated for the embedding model (see duplicates.md).",
    )
    dupes_suppressions: str = _opt(
        ".codesearch-dupes.toml", "Duplicate checks: file of known duplicates not to report (at the root)."
    )
    dupes_baseline: str = _opt(
        ".codesearch-dupes-baseline.json",
        "Duplicate checks: baseline written by `codesearch dupes --update-baseline` (at the root); "
        "its pairs are not reported.",
    )
    dupes_in_editor: bool = _opt(
        True, "Language server: on save, warn about the file's functions that duplicate others."
    )
    mcp_snippet_chars: int = _opt(
        600,
        "MCP server: most characters of code in each hit's snippet, cut at a line end (the hit's line "
        "range stays exact); 0 = locations only. Keeps an agent's context small (mcp.md).",
    )

    def resolved_model(self) -> str:
        """The model for the configured backend: the option's value, else the backend's default."""
        if self.model:
            return self.model
        return LOCAL_DEFAULT_MODEL if self.backend == "local" else SERVER_DEFAULT_MODEL

    def upgrade_settings(self) -> Settings | None:
        """Settings of the progressive index's upgrade (the transformer), or None when there is none."""
        if self.backend != "local" or self.resolved_model() != "static" or not self.upgrade_model:
            return None
        return dataclasses.replace(self, model=self.upgrade_model, upgrade_model="")

    def server_model(self) -> str:
        """The model an embedding server runs (`codesearch serve`): the option's value, else Qwen3's."""
        return self.model if self.model and self.model not in LOCAL_MODELS else SERVER_DEFAULT_MODEL

    def resolved_dense_weight(self) -> float:
        """The hybrid fusion's dense weight: the option's value, else the model's calibrated one."""
        if self.dense_weight > 0:
            return self.dense_weight
        return CALIBRATED_DENSE_WEIGHTS.get(self.resolved_model(), 0.5)

    def ranking_config(self) -> RankingConfig:
        """The ranking layer's weights from the `ranking*` options."""
        return RankingConfig(
            enabled=self.ranking,
            symbol_dense_weight=self.ranking_symbol_dense_weight,
            definition_boost=self.ranking_definition_boost,
            path_boost=self.ranking_path_boost,
            name_boost=self.ranking_name_boost,
            priors=group_priors(
                {
                    "test": self.ranking_test_prior,
                    "docs": self.ranking_docs_prior,
                    "aux": self.ranking_aux_prior,
                }
            ),
            member_ratio=self.ranking_member_ratio,
            per_file=max(1, self.ranking_per_file),
            file_decay=self.ranking_file_decay,
            file_sum_decay=self.ranking_file_sum_decay,
            language_boost=self.ranking_language_boost,
        )

    def resolved_index_dir(self, root: Path) -> Path:
        """The index directory for this root; a relative `index_dir` is taken from the root."""
        if not self.index_dir:
            return root / ".codesearch"
        path = Path(self.index_dir).expanduser()
        return path if path.is_absolute() else root / path

    def resolved_cache_dir(self) -> Path:
        """The shared embedding cache directory."""
        if self.cache_dir:
            return Path(self.cache_dir).expanduser()
        return Path(platformdirs.user_cache_dir("codesearch"))


def option_names() -> list[str]:
    """All option names, in declaration order."""
    return [f.name for f in fields(Settings)]


def _coerce(name: str, raw: Any, source: str) -> Any:
    return coerce_value({f.name: f for f in fields(Settings)}[name], raw, source)


def validate_option(name: str, raw: Any, source: str) -> Any:
    """One option's value, checked and converted as any config layer would; ConfigError if bad."""
    return _coerce(name, raw, source)


def _from_mapping(values: Mapping[str, Any], source: str, repository: bool = False) -> dict[str, Any]:
    known = set(option_names())
    out: dict[str, Any] = {}
    for key, raw in values.items():
        name = key.replace("-", "_")
        if name not in known:
            raise ConfigError(f"unknown option {key!r} in {source}; see `codesearch config --docs`")
        out[name] = _coerce(name, raw, source)
        if repository:
            where = (
                f"set it in the user file {user_config_file()}, in {ENV_PREFIX}{name.upper()} or with a flag"
            )
            check_repository_option(name, out[name], source, where)
    return out


def user_config_file() -> Path:
    """The user-level config file."""
    return Path(platformdirs.user_config_dir("codesearch")) / "config.toml"


def load_settings(
    root: Path,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides_source: str = "the command line",
) -> tuple[Settings, dict[str, str]]:
    """Resolve every option for `root`; returns the settings and where each value came from.

    `overrides` win over everything else; `overrides_source` names them in messages
    (the command line, or the editor's settings for the language server).
    """
    env = os.environ if environ is None else environ
    layers: list[tuple[str, dict[str, Any]]] = [
        (f"user file {user_config_file()}", _from_mapping(read_toml(user_config_file()), "user config")),
        (
            "pyproject.toml [tool.codesearch]",
            _from_mapping(
                read_toml(root / "pyproject.toml", ("tool", "codesearch")), "pyproject.toml", repository=True
            ),
        ),
        (
            ".codesearch.toml",
            _from_mapping(read_toml(root / ".codesearch.toml"), ".codesearch.toml", repository=True),
        ),
        (
            "environment",
            {
                name: _coerce(name, env[ENV_PREFIX + name.upper()], ENV_PREFIX + name.upper())
                for name in option_names()
                if ENV_PREFIX + name.upper() in env
            },
        ),
        (
            overrides_source,
            _from_mapping({k: v for k, v in (overrides or {}).items() if v is not None}, overrides_source),
        ),
    ]
    values: dict[str, Any] = {}
    sources = {name: "default" for name in option_names()}
    for source, layer in layers:
        for name, value in layer.items():
            values[name] = value
            sources[name] = source
    return dataclasses.replace(Settings(), **values), sources


def options_table() -> str:
    """Markdown table of every option: the one place options are documented."""
    return markdown_table(fields(Settings), ENV_PREFIX)
