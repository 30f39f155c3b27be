"""What a corpus path is: its language, and whether it is a test file.

Shared by build_set.py (targets are never in test files) and evaluate.py (the
share of top-10 hits in test files and in another language than the target).
"""

from __future__ import annotations

import re

#: Code languages of the set, by file extension.
CODE_EXTENSIONS = {
    ".py": "python",
    ".js": "javascript",
    ".ts": "typescript",
    ".go": "go",
    ".java": "java",
    ".rs": "rust",
}

_TEST_DIRS = {"test", "tests", "__tests__", "spec", "specs", "benches"}
_TEST_FILE = re.compile(
    r"(^test_.*\.py|.*_test\.py|conftest\.py|.*_test\.go|.*\.(test|spec)\.[jt]sx?|.*Tests?\.java)$"
)


def language_of(path: str) -> str:
    """The code language of a path, or the kind of non-code file ("markdown", "json", ...)."""
    name = path.rsplit("/", 1)[-1]
    ext = name[name.rfind(".") :].lower() if "." in name else ""
    if name.endswith(".d.ts"):
        return "typescript"
    if ext in CODE_EXTENSIONS:
        return CODE_EXTENSIONS[ext]
    return {".md": "markdown", ".rst": "rst", ".yml": "yaml", ".yaml": "yaml"}.get(ext, ext[1:] or name)


def is_test_path(path: str) -> bool:
    """Tests and benchmarks: a `tests/`-like directory or a test file name."""
    parts = path.replace("\\", "/").split("/")
    return any(p in _TEST_DIRS for p in parts[:-1]) or bool(_TEST_FILE.match(parts[-1]))
