"""What finding secrets in file contents costs, per way of running detect-secrets.

    python benchmarks/secret_scan.py [--package django==5.1.4] [--skip-full]

Over the files codesearch would index (discovery's rules) of this repository and of
a PyPI source distribution (Django by default), read as the indexer reads them:

1. detect-secrets as its own scan runs it: every plugin and its default filters, file by
   file from disk (`detect_secrets.core.scan.scan_file` under `default_settings()`).
2. codesearch's plugins (codesearch.indexing.redact.PLUGINS) through detect-secrets' line pipeline
   on every line (no pre-filter).
3. codesearch.indexing.redact.redact_text: the same plugins behind the pre-filter (what indexing runs).

Beside them, tree-sitter parsing of the same files (codesearch.parsing.parse_file), the
cheapest stage of indexing, for scale. Figures are wall seconds on this machine, one core.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import pypi_sdist

from codesearch.indexing.discover import discover
from codesearch.indexing.indexer import decode_source, read_source
from codesearch.indexing.redact import MARKER, redact_text, scan_lines
from codesearch.parsing import parse_file

REPO = Path(__file__).resolve().parents[1]


def corpus(root: Path) -> list[tuple[str, Path, str, str]]:
    """(relative path, absolute path, language, text) of each file indexing would read."""
    out = []
    for entry in discover(root).files:
        data, _ = read_source(entry, 1_048_576)
        if data is None:
            continue
        source, _ = decode_source(data)
        out.append((entry.path, entry.abspath, entry.language, source.decode("utf-8", "replace")))
    return out


def full_detect_secrets(files: list[tuple[str, Path, str, str]]) -> tuple[float, Counter[str]]:
    from detect_secrets.core.scan import scan_file
    from detect_secrets.settings import default_settings

    kinds: Counter[str] = Counter()
    with default_settings():
        started = time.perf_counter()
        for _rel, path, _lang, _text in files:
            for secret in scan_file(str(path)):
                kinds[secret.type] += 1
        return time.perf_counter() - started, kinds


def every_line(files: list[tuple[str, Path, str, str]]) -> tuple[float, Counter[str]]:
    kinds: Counter[str] = Counter()
    started = time.perf_counter()
    for rel, _path, _lang, text in files:
        lines = text.split("\n")
        for _n, _value, kind in scan_lines(rel, lines):
            kinds[kind] += 1
    return time.perf_counter() - started, kinds


def prefiltered(files: list[tuple[str, Path, str, str]]) -> tuple[float, Counter[str], int, int, int]:
    kinds: Counter[str] = Counter()
    with_secrets = 0
    redacted_texts = []
    started = time.perf_counter()
    for rel, _path, _lang, text in files:
        redacted, findings = redact_text(rel, text)
        with_secrets += bool(findings)
        kinds.update(f.kind for f in findings)
        redacted_texts.append((text, redacted))
    seconds = time.perf_counter() - started
    # What redaction took away: lines changed and characters removed (a false positive that
    # swallows the rest of a line, or of a file, shows here, not in the count of findings).
    lines = chars = 0
    for text, redacted in redacted_texts:
        if redacted is not text:
            changed = [(a, b) for a, b in zip(text.split("\n"), redacted.split("\n"), strict=True) if a != b]
            lines += len(changed)
            chars += sum(max(0, len(a) - len(b) + len(MARKER)) for a, b in changed)
    return seconds, kinds, with_secrets, lines, chars


def parsing(files: list[tuple[str, Path, str, str]]) -> float:
    started = time.perf_counter()
    for rel, _path, lang, text in files:
        try:
            parse_file(rel, text.encode("utf-8", "surrogatepass"), lang, max_file_tokens=32_768)
        except Exception:  # a file that does not parse costs what it cost
            continue
    return time.perf_counter() - started


def show(name: str, seconds: float, mb: float, n_files: int, kinds: Counter[str]) -> None:
    found = ", ".join(f"{k} {v}" for k, v in kinds.most_common()) or "none"
    print(
        f"  {name}: {seconds:.2f} s, {mb / seconds:.1f} MB/s, {1000 * seconds / n_files:.2f} ms/file; "
        f"{sum(kinds.values())} found ({found})"
    )


def measure(label: str, root: Path, skip_full: bool) -> None:
    files = corpus(root)
    mb = sum(len(t.encode("utf-8", "surrogatepass")) for *_, t in files) / 1e6
    print(f"## {label}: {len(files)} files, {mb:.1f} MB")
    redact_text("warm-up.py", 'password = "warm-up-value"\n')  # load and configure detect-secrets
    if not skip_full:
        seconds, kinds = _full(files)
        show("detect-secrets, all 27 plugins, default filters, from disk", seconds, mb, len(files), kinds)
    seconds, kinds = every_line(files)
    show("codesearch's 16 plugins on every line", seconds, mb, len(files), kinds)
    seconds, kinds, with_secrets, lines, chars = prefiltered(files)
    show("codesearch's 16 plugins behind the pre-filter (indexing)", seconds, mb, len(files), kinds)
    print(f"    files with a secret redacted: {with_secrets}; lines changed: {lines}; chars removed: {chars}")
    print(f"  tree-sitter parse of the same files, for scale: {parsing(files):.2f} s")


def _full(files: list[tuple[str, Path, str, str]]) -> tuple[float, Counter[str]]:
    seconds, kinds = full_detect_secrets(files)
    # default_settings() is transient: put codesearch's configuration back for what follows.
    import codesearch.indexing.redact as redact

    redact._detector = None
    return seconds, kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--package", default="django==5.1.4", help="a PyPI source distribution, name==version"
    )
    parser.add_argument("--skip-full", action="store_true", help="leave out detect-secrets' full scan (slow)")
    args = parser.parse_args()
    measure("this repository", REPO, args.skip_full)
    name, version = args.package.split("==")
    measure(f"{args.package} (PyPI sdist)", pypi_sdist(name, version), args.skip_full)


if __name__ == "__main__":
    main()
