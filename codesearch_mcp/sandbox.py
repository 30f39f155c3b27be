"""Every path an agent gives or gets stays inside the served root.

Paths are resolved before the check (symlinks followed, `..` collapsed, `~`
expanded), so a link inside the repository that points elsewhere counts as
outside. A refused path is a tool error that names the root, so the agent can
correct itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from mcp.server.mcpserver.exceptions import ToolError

_GLOB_CHARS = frozenset("*?[")


class Sandbox:
    """The served root and the checks against it."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def refuse(self, given: str) -> ToolError:
        """The error for a path outside the root."""
        return ToolError(
            f"{given!r} is outside the served root {self.root}; "
            "give a path inside it (relative to it, or absolute under it)"
        )

    def relative(self, given: str) -> str:
        """`given` (relative to the root, or absolute) as a path relative to the root; "" is the root."""
        if not given.strip():
            raise ToolError("the path is empty; give a file path relative to the served root")
        raw = Path(given).expanduser()
        resolved = (raw if raw.is_absolute() else self.root / raw).resolve()
        if not resolved.is_relative_to(self.root):
            raise self.refuse(given)
        rel = resolved.relative_to(self.root).as_posix()
        return "" if rel == "." else rel

    def file(self, given: str) -> str:
        """A file inside the root, relative to it; tool errors for outside, missing or a directory."""
        rel = self.relative(given)
        full = self.root / rel
        if not full.exists():
            raise ToolError(f"{given!r} does not exist under the served root {self.root}")
        if not full.is_file():
            raise ToolError(f"{given!r} is not a file; give the path of a source file")
        return rel

    def glob(self, pattern: str) -> str:
        """A path filter (gitignore-style glob) made relative to the root; refused if it reaches outside.

        The part before the first wildcard is resolved like any path: `src/**`, `*.go`
        and `/abs/root/lib/**` are fine; `../other/**`, `/etc/*` and `src/../../x` are not.
        """
        text = pattern.strip()
        if not text:
            raise ToolError("a path filter is empty; give globs like 'src/**' or '*.py'")
        parts = text.replace(os.sep, "/").split("/")
        literal: list[str] = []
        for part in parts:
            if _GLOB_CHARS & set(part):
                break
            literal.append(part)
        rest = parts[len(literal) :]
        if ".." in rest:
            raise self.refuse(pattern)
        prefix = "/".join(literal)
        if not prefix:  # `*.py`, `**/tests/*`: matched under the root only
            return text
        try:
            rel = self.relative(prefix)
        except ToolError:
            raise self.refuse(pattern) from None
        joined = "/".join([rel, *rest]) if rel else "/".join(rest)
        if text.endswith("/") and not joined.endswith("/"):
            joined += "/"
        return joined or "**"

    def contains(self, rel: str) -> bool:
        """Whether an indexed path (relative to the root) still resolves inside it."""
        if not rel or os.path.isabs(rel):
            return False
        return (self.root / rel).resolve().is_relative_to(self.root)
