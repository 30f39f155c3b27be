"""docs/architecture.md's module table matches the code: every module and package of the
library and its front ends is named there, and every path it names exists."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _table() -> tuple[list[str], str]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    return [row.split("`")[1] for row in rows], "\n".join(rows)


def test_every_path_the_table_names_exists() -> None:
    paths, _ = _table()
    assert len(paths) > 30
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert not missing, f"docs/architecture.md names paths that do not exist: {missing}"


def test_every_module_and_package_is_in_the_table() -> None:
    paths, rows = _table()
    wanted = [
        f"codesearch/{p.name}"
        for p in sorted((ROOT / "codesearch").glob("*.py"))
        if not p.name.startswith("__")
    ]
    wanted += [
        f"codesearch/{p.name}/"
        for p in sorted((ROOT / "codesearch").iterdir())
        if p.is_dir() and (p / "__init__.py").exists()
    ]
    # A module may be described in its front end's row (`cli_dupes.py` in the cli row).
    absent = [w for w in wanted if w not in paths and f"`{w.split('/')[-1]}`" not in rows]
    assert not absent, f"add these to the module table of docs/architecture.md: {absent}"
    for front_end in ("lsp/", "codesearch_mcp/", "vscode-extension/"):
        assert any(p.startswith(front_end) for p in paths), front_end


def test_front_ends_may_import_no_module_of_the_library() -> None:
    """ruff's TID251 keeps lsp/ and codesearch_mcp/ on the public API (`from codesearch import`):
    pyproject.toml bans each module of the library by name, so a new module must be listed."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    banned = set(config["tool"]["ruff"]["lint"]["flake8-tidy-imports"]["banned-api"])
    package = ROOT / "codesearch"
    modules = {f"codesearch.{p.stem}" for p in package.glob("*.py") if not p.name.startswith("__")}
    modules |= {f"codesearch.{p.name}" for p in package.iterdir() if (p / "__init__.py").exists()}
    assert modules - banned == set(), "add these to [tool.ruff.lint.flake8-tidy-imports.banned-api]"
    assert banned - modules == set(), "these banned modules no longer exist"


def test_every_package_is_installed() -> None:
    """pyproject.toml lists the packages a wheel holds by hand (the language server's lives in
    lsp/): a package missing there installs nowhere but an editable checkout."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {"codesearch_lsp"}
    for top in ("codesearch", "codesearch_mcp"):
        for init in (ROOT / top).rglob("__init__.py"):
            found.add(".".join(init.parent.relative_to(ROOT).parts))
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
