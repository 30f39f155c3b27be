"""Each option's value checked as any config layer reads it: its type, its range, its
choices, credentials kept out of URLs, and what a repository's own files may not set.

codesearch.config declares the options (`Settings`) and resolves their layers; this is
what it checks each value with.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
import urllib.parse
from collections.abc import Iterable
from dataclasses import Field
from pathlib import Path
from typing import Any

from codesearch.errors import ConfigError

#: The documented range of each numeric option (low, high; None = unbounded), checked once here.
RANGES: dict[str, tuple[float | None, float | None]] = {
    "dimensions": (0, None),
    "context_length": (16, None),
    "concurrency": (1, 256),
    "batch_tokens": (1, None),
    "timeout": (0.1, None),
    "serve_port": (1, 65535),
    "serve_mem_fraction": (0.01, 1.0),
    "threads": (0, 1024),
    "qdrant_timeout": (0.1, None),
    "qdrant_retries": (0, 100),
    "qdrant_shards": (0, None),
    "qdrant_replicas": (0, None),
    "qdrant_write_consistency": (0, None),
    "max_file_bytes": (1, None),
    "max_file_tokens": (256, None),
    "k": (1, 1000),
    "dense_weight": (0.0, 1.0),
    "rrf_k": (1, None),
    "batch_units": (1, None),
    "index_workers": (0, 64),
    "quantize_threshold": (0, None),
    "dupes_min_tokens": (0, None),
    "dupes_min_jaccard": (0.0, 1.0),
    "dupes_threshold": (0.0, 1.0),
    "mcp_snippet_chars": (0, None),
}


URL_OPTIONS = ("embed_url", "qdrant_url")


def mask_url(url: str) -> str:
    """The URL with any user name and password replaced by `***`."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if not (parts.username or parts.password):
        return url
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"***@{host}"))


def refuse_credentials(name: str, url: str, source: str) -> None:
    """Credentials in a URL end up in messages and replace the configured key: refused."""
    masked = mask_url(url)
    if masked != url:
        raise ConfigError(
            f"option {name!r} from {source}: the URL {masked} holds credentials; leave them out and put "
            "the key in the environment variable named by api_key_env (qdrant_api_key_env for Qdrant)"
        )


#: Options a repository's own files (`.codesearch.toml`, `pyproject.toml`) may not set: where
#: codesearch writes outside the repository, which of the user's environment variables it sends
#: to a server, and what `codesearch serve` runs. Only the user file, the environment and flags.
REPOSITORY_REFUSED = (
    "index_dir",
    "cache_dir",
    "qdrant_path",
    "api_key_env",
    "qdrant_api_key_env",
    "serve_args",
)
#: Hosts a repository's own files may point `embed_url` and `qdrant_url` at: this machine only.
REPOSITORY_URL_HOSTS = ("127.0.0.1", "localhost", "::1")
#: Files at the root a repository's own files may name only inside the repository (the baseline
#: is written).
ROOT_FILES = ("dupes_baseline", "dupes_suppressions")


def check_repository_option(name: str, value: Any, source: str, where: str) -> None:
    """A repository file setting what only the user may set: ConfigError saying `where` to set it."""
    if name in REPOSITORY_REFUSED:
        raise ConfigError(
            f"option {name!r} from {source}: a repository's own config may not set it (it chooses "
            f"where codesearch writes, what it sends or runs outside the repository); {where}"
        )
    if name in ROOT_FILES and (Path(str(value)).is_absolute() or ".." in Path(str(value)).parts):
        raise ConfigError(
            f"option {name!r} from {source}: {value!r} is outside the repository; a repository's own "
            f"config may name only a file inside it; {where}"
        )
    if name in URL_OPTIONS and value:
        try:
            host = urllib.parse.urlsplit(str(value)).hostname
        except ValueError:
            host = None
        if host not in REPOSITORY_URL_HOSTS:
            raise ConfigError(
                f"option {name!r} from {source}: a repository's own config may point it only at this "
                f"machine ({', '.join(REPOSITORY_URL_HOSTS)}), not {mask_url(str(value))}; {where}"
            )


def coerce_value(f: Field[Any], raw: Any, source: str) -> Any:
    """The value of option `f` read from `raw` (a flag's, an environment variable's or a file's),
    checked: its type, range and choices; ConfigError naming `source` if it is bad."""
    name = f.name
    kind = f.type if isinstance(f.type, str) else f.type.__name__
    try:
        if kind == "bool":
            if isinstance(raw, bool):
                value: Any = raw
            elif str(raw).lower() in ("1", "true", "yes", "on"):
                value = True
            elif str(raw).lower() in ("0", "false", "no", "off", ""):
                value = False
            else:
                raise ValueError(raw)
        elif kind == "int":
            if isinstance(raw, bool):
                raise ValueError(raw)
            value = int(raw)
        elif kind == "float":
            value = float(raw)
        elif kind == "list[str]":
            if isinstance(raw, str):
                value = [p.strip() for p in raw.split(",") if p.strip()]
            elif isinstance(raw, list) and all(isinstance(p, str) for p in raw):
                value = list(raw)
            else:
                raise ValueError(raw)
        else:
            if not isinstance(raw, (str, int, float)):
                raise ValueError(raw)
            value = str(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"option {name!r} from {source}: {raw!r} is not a valid {kind}") from None
    if name in URL_OPTIONS and isinstance(value, str) and value:
        refuse_credentials(name, value, source)
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"option {name!r} from {source}: {raw!r} is not a finite number")
    bounds = RANGES.get(name)
    if bounds is not None:
        low, high = bounds
        if (low is not None and value < low) or (high is not None and value > high):
            where = (
                f"between {low} and {high}"
                if low is not None and high is not None
                else f"at least {low}"
                if low is not None
                else f"at most {high}"
            )
            raise ConfigError(
                f"option {name!r} from {source}: {value!r} is out of range; use a value {where}"
            )
    choices = f.metadata.get("choices") or ()
    if choices and value not in choices:
        raise ConfigError(f"option {name!r} from {source}: {value!r} is not one of {', '.join(choices)}")
    return value


def read_toml(path: Path, table: tuple[str, ...] = ()) -> dict[str, Any]:
    """The options of a config file (under `table`); {} when there is none, ConfigError if unreadable."""
    try:
        data: Any = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    for key in table:
        data = data.get(key, {}) if isinstance(data, dict) else {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a table of options")
    return data


def markdown_table(options: Iterable[Field[Any]], env_prefix: str) -> str:
    """Markdown table of the options: name, environment variable, default, meaning."""
    lines = ["| option | environment | default | meaning |", "| --- | --- | --- | --- |"]
    for f in options:
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        lines.append(
            f"| `{f.name}` | `{env_prefix}{f.name.upper()}` | `{default!r}` | {f.metadata['help']} |"
        )
    return "\n".join(lines)
