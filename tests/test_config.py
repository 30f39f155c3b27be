"""Option resolution: flag > env > repository file > user file > default."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codesearch.config import load_settings, options_table, user_config_file
from codesearch.errors import ConfigError


def test_precedence(tmp_path: Path) -> None:
    user = user_config_file()
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text('k = 3\nmode = "dense"\nrrf_k = 10\nthreads = 1\n')
    (tmp_path / "pyproject.toml").write_text("[tool.codesearch]\nk = 4\nmode = 'lexical'\nrrf_k = 20\n")
    (tmp_path / ".codesearch.toml").write_text("k = 5\nmode = 'hybrid'\n")
    env = {"CODESEARCH_K": "6"}
    settings, sources = load_settings(tmp_path, {"k": 7}, env)
    assert settings.k == 7 and sources["k"] == "the command line"
    settings, sources = load_settings(tmp_path, {}, env)
    assert settings.k == 6 and sources["k"] == "environment"
    assert settings.mode == "hybrid" and sources["mode"] == ".codesearch.toml"
    assert settings.rrf_k == 20 and sources["rrf_k"].startswith("pyproject")
    assert settings.threads == 1 and sources["threads"].startswith("user file")
    assert sources["max_file_bytes"] == "default"
    user.unlink()


def test_bad_values_are_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'k'.*not a valid int"):
        load_settings(tmp_path, {}, {"CODESEARCH_K": "many"})
    with pytest.raises(ConfigError, match="not one of"):
        load_settings(tmp_path, {"mode": "fuzzy"}, {})
    (tmp_path / ".codesearch.toml").write_text("colour = 'blue'\n")
    with pytest.raises(ConfigError, match="unknown option 'colour'"):
        load_settings(tmp_path, {}, {})
    (tmp_path / ".codesearch.toml").write_text("k = [\n")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path, {}, {})


def test_lists_from_env(tmp_path: Path) -> None:
    settings, _ = load_settings(tmp_path, {}, {"CODESEARCH_EXCLUDE": "gen/**, *.tmp"})
    assert settings.exclude == ["gen/**", "*.tmp"]


def test_docs_table_is_the_documented_one() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "configuration.md").read_text()
    assert options_table() in doc, "regenerate docs/configuration.md with `codesearch config --docs`"
    # The autouse clean_env fixture leaves only its own setting (no background upgrade).
    assert [k for k in os.environ if k.startswith("CODESEARCH_")] == ["CODESEARCH_UPGRADE_MODEL"]
