"""The repositories and queries of the file-level set, read from ``repos/*.toml``.

One TOML file per repository::

    name = "chi"                    # corpus directory name, unique, [a-z0-9_-]
    language = "go"                 # main language (a codesearch language name)
    source = "debian-source"        # pypi (sdist) | npm (tarball) | debian-source | debian (binary .deb)
    package = "golang-github-go-chi-chi"
    version = "5.0.7-1"             # pinned exact version
    root = ""                       # optional: sub-directory of the unpacked archive that is the repository
    exclude = []                    # optional gitignore-style patterns left out of the copy

    [[query]]
    text = "where is the routing tree matched against a request path"
    category = "semantic"           # semantic (behaviour) | architecture (design) | symbol (an identifier)
    relevant = ["tree.go"]          # paths relative to the repository root, all equally relevant

The dev/test half is not in the file: it is assigned once, by repository name,
by ``half_of`` (SHA-1 of the name, even = dev, odd = test), so that adding a
repository never moves another one between halves.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPOS_DIR = HERE / "repos"
REPO_ROOT = HERE.parents[2]
DATA_ROOT = REPO_ROOT / "benchmarks" / ".data" / "quality" / "files"

SOURCES = ("pypi", "npm", "debian-source", "debian")
CATEGORIES = ("semantic", "architecture", "symbol")
HALVES = ("dev", "test")
_NAME = re.compile(r"^[a-z0-9_-]+$")


def half_of(name: str) -> str:
    """The half a repository belongs to, fixed by its name."""
    return "dev" if int(hashlib.sha1(name.encode()).hexdigest(), 16) % 2 == 0 else "test"


@dataclass(frozen=True)
class FileQuery:
    text: str
    category: str
    relevant: tuple[str, ...]


@dataclass(frozen=True)
class Repo:
    name: str
    language: str
    source: str
    package: str
    version: str
    root: str
    exclude: tuple[str, ...]
    queries: tuple[FileQuery, ...]

    @property
    def half(self) -> str:
        return half_of(self.name)


class SetError(ValueError):
    """A repos/*.toml file that does not follow the format."""


def _str(data: dict[str, object], key: str, where: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise SetError(f"{where}: `{key}` must be a string")
    return value


def parse_repo(path: Path) -> Repo:
    where = str(path)
    data = tomllib.loads(path.read_text())
    known = {"name", "language", "source", "package", "version", "root", "exclude", "query"}
    if unknown := set(data) - known:
        raise SetError(f"{where}: unknown key(s) {sorted(unknown)}")
    name = _str(data, "name", where)
    if not _NAME.match(name):
        raise SetError(f"{where}: name {name!r} must match [a-z0-9_-]+")
    source = _str(data, "source", where)
    if source not in SOURCES:
        raise SetError(f"{where}: source {source!r} is not one of {SOURCES}")
    exclude = data.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(e, str) for e in exclude):
        raise SetError(f"{where}: `exclude` must be a list of strings")
    queries = []
    raw = data.get("query", [])
    if not isinstance(raw, list):
        raise SetError(f"{where}: `query` must be an array of tables ([[query]])")
    for i, q in enumerate(raw, 1):
        qwhere = f"{where}: query {i}"
        if not isinstance(q, dict) or set(q) - {"text", "category", "relevant"}:
            raise SetError(f"{qwhere}: keys are text, category, relevant")
        category = _str(q, "category", qwhere)
        if category not in CATEGORIES:
            raise SetError(f"{qwhere}: category {category!r} is not one of {CATEGORIES}")
        relevant = q.get("relevant")
        if not isinstance(relevant, list) or not relevant or not all(isinstance(r, str) for r in relevant):
            raise SetError(f"{qwhere}: `relevant` must be a non-empty list of paths")
        text = _str(q, "text", qwhere).strip()
        if not text:
            raise SetError(f"{qwhere}: empty text")
        queries.append(FileQuery(text, category, tuple(r.strip("/") for r in relevant)))
    return Repo(
        name=name,
        language=_str(data, "language", where),
        source=source,
        package=_str(data, "package", where),
        version=_str(data, "version", where),
        root=_str(data, "root", where, "").strip("/"),
        exclude=tuple(exclude),
        queries=tuple(queries),
    )


def load_repos(names: list[str] | None = None) -> list[Repo]:
    """Every repository of repos/*.toml (or just `names`), sorted by name."""
    repos = [parse_repo(p) for p in sorted(REPOS_DIR.glob("*.toml"))]
    seen: dict[str, int] = {}
    for r in repos:
        seen[r.name] = seen.get(r.name, 0) + 1
    if dupes := [n for n, c in seen.items() if c > 1]:
        raise SetError(f"repository name(s) used twice: {dupes}")
    if names:
        unknown = sorted(set(names) - set(seen))
        if unknown:
            raise SetError(f"unknown repositories: {unknown}; known: {sorted(seen)}")
        repos = [r for r in repos if r.name in names]
    return sorted(repos, key=lambda r: r.name)
