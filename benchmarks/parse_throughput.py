"""Parse + unit extraction throughput, one process, on a real code base from PyPI (Django).

python benchmarks/parse_throughput.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import pypi_source

from codesearch.indexing.discover import discover
from codesearch.parsing import parse_file


def main() -> None:
    root = pypi_source("django", "5.1.4")
    files = [f for f in discover(root).files if f.language != "text"]
    sources = [(f.path, f.abspath.read_bytes(), f.language) for f in files]
    total = sum(len(s) for _, s, _ in sources)
    best = float("inf")
    units = 0
    for _ in range(3):
        started = time.perf_counter()
        units = sum(len(parse_file(p, s, lang).units) for p, s, lang in sources)
        best = min(best, time.perf_counter() - started)
    print(f"corpus: django 5.1.4 from PyPI, {len(sources)} code files, {total / 1e6:.1f} MB")
    print(
        f"parse + unit extraction: {total / 1e6 / best:.2f} MB/s, {units / best:.0f} units/s "
        f"({units} units, best of 3, one process)"
    )


if __name__ == "__main__":
    main()
