"""Editor settings -> codesearch options.

The editor sends settings as initializationOptions and in
workspace/didChangeConfiguration, either flat or under a "codesearch" key, with
camelCase or snake_case names. A setting that is unknown or has a bad value is
reported and left out, so the repository's config files and the defaults apply
(as jedi-language-server does); one bad setting never stops the server.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codesearch import ConfigError, Settings, load_settings, option_names, validate_option

#: Names editors commonly use for an option, beside the option's own name.
ALIASES = {
    "embedding_url": "embed_url",
    "url": "embed_url",
    "ignore": "exclude",
    "ignore_patterns": "exclude",
}

SOURCE = "the editor's codesearch settings"


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).replace("-", "_").lower()


@dataclass(frozen=True, slots=True)
class EditorOptions:
    """The options an editor set that codesearch accepted, and what it refused."""

    values: dict[str, Any] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


def parse_options(raw: Any) -> EditorOptions:
    """Accept what is valid in an editor's settings object and explain the rest."""
    if raw is None:
        return EditorOptions()
    if isinstance(raw, Mapping) and isinstance(raw.get("codesearch"), Mapping):
        raw = raw["codesearch"]
    if not isinstance(raw, Mapping):
        return EditorOptions(problems=(f"codesearch settings must be an object, not {type(raw).__name__}",))
    known = set(option_names())
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in raw.items():
        name = _snake(str(key))
        name = ALIASES.get(name, name)
        if value is None or (value == "" and name != "exclude"):
            continue  # unset in the editor: the repository's files and the defaults apply
        if name not in known:
            problems.append(f"unknown setting {key!r}; ignored")
            continue
        try:
            values[name] = validate_option(name, value, SOURCE)
        except ConfigError as exc:
            problems.append(f"{exc}; using the default")
    return EditorOptions(values, tuple(problems))


def folder_settings(root: Path, options: EditorOptions) -> Settings:
    """The settings of one workspace folder: its config files, then the editor's settings."""
    settings, _ = load_settings(root, options.values, overrides_source=SOURCE)
    return settings
