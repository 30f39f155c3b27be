"""The `codesearch` command."""

from codesearch.cli.main import main

__all__ = ["main"]
