"""The set's sources: pinned packages from PyPI, npm and Debian, fetched and unpacked.

Each source package becomes one directory of the corpus (its "repository"):
its code, its tests where it ships them, and its top-level docs and config
(README, changelog, package.json / Cargo.toml / pyproject.toml, CI files), as a
checkout would have. The Go and Java standard libraries are one Debian package
each; there every library package (`bufio`, `java.util`, ...) is a source
package of its own for the dev/test split.

Downloads are cached under ``benchmarks/.data/quality/_downloads``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_ROOT = REPO_ROOT / "benchmarks" / ".data" / "quality"
DOWNLOADS = DATA_ROOT / "_downloads"
SOURCES = DATA_ROOT / "_src"

#: Non-code files a checkout has at its top level (and CI files), larger ones are left out.
EXTRA_FILE = re.compile(
    r"^(readme|changelog|changes|history|contributing)[^/]*$|^[^/]+\.(md|rst|toml|cfg|ini|json|ya?ml)$"
    r"|^\.github/.+\.ya?ml$",
    re.I,
)
EXTRA_SKIP = re.compile(r"(^|/)(\.cargo-checksum\.json|package-lock\.json|[^/]*\.orig)$")
MAX_EXTRA_BYTES = 64 * 1024

# (distribution, version, code directories, test directories) of each sdist
PYPI_PACKAGES = (
    ("requests", "2.32.3", ("src/requests",), ("tests",)),
    ("rich", "13.9.4", ("rich",), ()),
)

# (package, version, code directories of the tarball's package/; "." = its top level only)
NPM_JS_PACKAGES = (
    ("lodash", "4.17.21", (".",)),
    ("commander", "12.1.0", (".", "lib")),
    ("node-forge", "1.3.1", ("lib",)),
)
#: lodash ships every function twice: once per module file and once in the
#: monolithic builds; keep the module files only. No minified or bundled copies.
NPM_SKIP = re.compile(
    r"(^|/)(lodash\.js|lodash\.min\.js|core\.js|core\.min\.js|fp\.js|fp/.*|.*\.min\.js"
    r"|dist/.*|.*\.mjs|.*\.d\.ts)$"
    # mongodb: the connection pool, topology monitoring and client-side encryption
    # internals are left out to keep the corpus (and MiniLM's indexing time) bounded
    r"|^src/(cmap|sdam|client-side-encryption)/.*"
)

NPM_TS_PACKAGES = (
    ("rxjs", "7.8.2", ("src",)),
    ("mongodb", "6.10.0", ("src",)),  # less src/cmap, src/sdam, src/client-side-encryption
    ("@microsoft/signalr", "8.0.7", ("src",)),
)

GO_DEB = ("golang-1.19-src", "1.19.8-2")
GO_PACKAGES = (
    "bufio",
    "encoding/base64",
    "encoding/csv",
    "encoding/hex",
    "flag",
    "io",
    "net/textproto",
    "net/url",
    "path",
    "path/filepath",
    "strings",
    "unicode/utf8",
)

JAVA_DEB = ("openjdk-17-source", "17.0.21.1+2-1~deb12u1")
JAVA_PACKAGES = (
    "java.base/java/time",
    "java.base/java/math",
)

# (crate, version) of Debian's librust-<crate>-dev (bookworm)
RUST_CRATES = (
    ("itertools", "0.10.3-1"),
    ("indexmap", "1.9.2-1"),
    ("smallvec", "1.9.0-1"),
    ("url", "2.3.1-1"),
)
RUST_DIRS = ("src", "tests", "benches")


@dataclass(frozen=True)
class SourcePackage:
    """One source package: its files, and where they go in the corpus."""

    lang: str
    name: str  # the dev/test split unit, e.g. "requests", "golang/bufio"
    version: str
    origin: str  # the registry and how it was fetched
    root: Path
    prefix: str  # corpus directory of `root`
    files: tuple[Path, ...]  # code, tests and extras, sorted


def log(msg: str) -> None:
    print(msg, flush=True)


def run(cmd: list[str], cwd: Path | None = None) -> None:
    log("  $ " + " ".join(cmd))
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def _extras(root: Path) -> list[Path]:
    out = []
    for p in root.rglob("*"):
        rel = p.relative_to(root).as_posix()
        if (
            p.is_file()
            and EXTRA_FILE.match(rel)
            and not EXTRA_SKIP.search(rel)
            and p.stat().st_size <= MAX_EXTRA_BYTES
        ):
            out.append(p)
    return out


def _code(root: Path, dirs: tuple[str, ...], suffix: str, skip: re.Pattern[str] | None = None) -> list[Path]:
    out: list[Path] = []
    for d in dirs:
        base = root / d
        found = base.glob(f"*{suffix}") if d == "." else base.rglob(f"*{suffix}")
        out += [
            p
            for p in found
            if p.is_file()
            and not (skip and skip.search(p.relative_to(root).as_posix()))
            and "testdata" not in p.relative_to(root).parts
        ]
    return out


def _package(
    lang: str, name: str, version: str, origin: str, root: Path, prefix: str, files: list[Path]
) -> SourcePackage:
    return SourcePackage(lang, name, version, origin, root, prefix, tuple(sorted(set(files))))


def fetch_python() -> list[SourcePackage]:
    """sdists: the package, its tests and its top-level files."""
    dl = DOWNLOADS / "pypi-sdist"
    dl.mkdir(parents=True, exist_ok=True)
    out = []
    for dist, version, code, tests in PYPI_PACKAGES:
        pattern = f"{dist.replace('-', '[-_]')}-{version}.tar.gz"
        found = sorted(dl.glob(pattern))
        if not found:
            run(
                [
                    *(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary=:all:"),
                    *("--dest", str(dl), f"{dist}=={version}"),
                ]
            )
            found = sorted(dl.glob(pattern))
        dest = SOURCES / "python"
        root = dest / found[0].name.removesuffix(".tar.gz")
        if not root.exists():
            with tarfile.open(found[0]) as tf:
                tf.extractall(dest, filter="data")
        files = _code(root, code + tests, ".py") + _extras(root)
        out.append(_package("python", dist, version, "PyPI sdist", root, dist, files))
    return out


def _npm(
    lang: str, packages: tuple[tuple[str, str, tuple[str, ...]], ...], suffix: str
) -> list[SourcePackage]:
    dl = DOWNLOADS / "npm"
    dl.mkdir(parents=True, exist_ok=True)
    out = []
    for name, version, dirs in packages:
        stem = f"{name.lstrip('@').replace('/', '-')}-{version}"
        tgz = dl / f"{stem}.tgz"
        if not tgz.exists():
            run(["npm", "pack", "--silent", f"{name}@{version}", "--pack-destination", str(dl)])
        dest = SOURCES / "npm" / stem
        if not dest.exists():
            with tarfile.open(tgz) as tf:
                tf.extractall(dest, filter="data")
        root = dest / "package"
        label = name.lstrip("@").replace("/", "-")
        files = _code(root, dirs, suffix, NPM_SKIP) + _extras(root)
        out.append(_package(lang, label, version, "npm", root, label, files))
    return out


def fetch_javascript() -> list[SourcePackage]:
    return _npm("javascript", NPM_JS_PACKAGES, ".js")


def fetch_typescript() -> list[SourcePackage]:
    return _npm("typescript", NPM_TS_PACKAGES, ".ts")


def fetch_deb(package: str, version: str) -> Path:
    """`apt-get download` a Debian package and unpack it (no installation)."""
    dl = DOWNLOADS / "apt"
    dl.mkdir(parents=True, exist_ok=True)
    debs = sorted(dl.glob(f"{package}_*.deb"))
    if not debs:
        try:
            run(["apt-get", "download", f"{package}={version}"], cwd=dl)
        except subprocess.CalledProcessError:
            log(f"  pinned {package}={version} not found (run `apt-get update`?); trying the candidate")
            run(["apt-get", "download", package], cwd=dl)
        debs = sorted(dl.glob(f"{package}_*.deb"))
    dest = SOURCES / "deb" / debs[0].stem
    if not dest.exists():
        dest.mkdir(parents=True)
        run(["dpkg-deb", "-x", str(debs[0]), str(dest)])
    return dest


def deb_version(path: Path) -> str:
    return path.name.split("_")[1].replace("%3a", ":")


def fetch_go() -> list[SourcePackage]:
    """Go standard library packages, with their `_test.go` files."""
    dest = fetch_deb(*GO_DEB)
    src = dest / "usr" / "share" / "go-1.19" / "src"
    version = deb_version(dest)
    out = []
    for pkg in GO_PACKAGES:
        files = [p for p in (src / pkg).glob("*.go")]
        out.append(
            _package("go", f"golang/{pkg}", version, f"Debian {GO_DEB[0]}", src / pkg, f"golang/{pkg}", files)
        )
    return out


def fetch_java() -> list[SourcePackage]:
    """OpenJDK class library packages (one directory level each; src.zip has no tests)."""
    dest = fetch_deb(*JAVA_DEB)
    zips = sorted(dest.rglob("src.zip"))
    out_dir = dest / "src"
    if not out_dir.exists():
        with zipfile.ZipFile(zips[0]) as zf:
            names = [
                n
                for n in zf.namelist()
                if n.endswith(".java") and any(n.startswith(p + "/") for p in JAVA_PACKAGES)
            ]
            zf.extractall(out_dir, members=names)
    version = deb_version(dest)
    out = []
    for pkg in JAVA_PACKAGES:
        dotted = pkg.split("/", 1)[1].replace("/", ".")
        files = list((out_dir / pkg).glob("*.java"))
        out.append(
            _package(
                "java",
                f"openjdk/{dotted}",
                version,
                f"Debian {JAVA_DEB[0]}",
                out_dir / pkg,
                f"openjdk/{pkg.split('/', 1)[1]}",
                files,
            )
        )
    return out


def fetch_rust() -> list[SourcePackage]:
    """Crates as Debian ships them (librust-*-dev: the crate's published source)."""
    out = []
    for crate, version in RUST_CRATES:
        dest = fetch_deb(f"librust-{crate}-dev", version)
        roots = sorted((dest / "usr" / "share" / "cargo" / "registry").iterdir())
        root = roots[0]
        files = _code(root, RUST_DIRS, ".rs") + _extras(root)
        out.append(
            _package("rust", crate, deb_version(dest), f"Debian librust-{crate}-dev", root, crate, files)
        )
    return out


FETCHERS = {
    "python": fetch_python,
    "javascript": fetch_javascript,
    "typescript": fetch_typescript,
    "go": fetch_go,
    "java": fetch_java,
    "rust": fetch_rust,
}
