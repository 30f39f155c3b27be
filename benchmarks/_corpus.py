"""Real code bases for benchmarks, fetched from PyPI with pip into benchmarks/.data/."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

DATA = Path(__file__).resolve().parent / ".data"


def pypi_sdist(name: str, version: str) -> Path:
    """Unpack a PyPI source distribution (code, tests, docs: a checkout) and return its directory."""
    dest = DATA / f"{name}-{version}-sdist"
    if dest.exists():
        return next(p for p in dest.iterdir() if p.is_dir())
    sdists = DATA / "sdists"
    sdists.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
            "-d", str(sdists), f"{name}=={version}",
        ],
        check=True,
    )  # fmt: skip
    stem = name.replace("-", "_").lower()
    archive = next(a for a in sdists.glob("*.tar.gz") if a.name.lower().startswith(f"{stem}-{version}"))
    with tarfile.open(archive) as tf:
        tf.extractall(dest, filter="data")
    return next(p for p in dest.iterdir() if p.is_dir())


def pypi_source(name: str, version: str) -> Path:
    """Unpack a PyPI wheel (pure Python source) and return its directory."""
    dest = DATA / f"{name}-{version}"
    if dest.exists():
        return dest
    wheels = DATA / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(wheels), f"{name}=={version}"],
        check=True,
    )
    stem = name.replace("-", "_").lower()
    wheel = next(w for w in wheels.glob("*.whl") if w.name.lower().startswith(f"{stem}-{version}-"))
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(dest)
    return dest
