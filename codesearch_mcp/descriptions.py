"""What an agent reads of each tool: its description, and the server's instructions.

An agent picks a tool by its description alone, so each says what the tool returns, when to
use it rather than grep or reading files, and what its arguments and `partial` mean.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from .answers import Kind

#: The arguments search_code and search_files share.
Query = Annotated[
    str, Field(description="What to find: what the code does in plain words, identifiers, or code.")
]
Paths = Annotated[
    list[str] | None,
    Field(description="Only files matching these globs, relative to the root: ['src/**', '*.ts']."),
]
Kinds = Annotated[list[Kind] | None, Field(description="Only these kinds of unit.")]

SEARCH_CODE = """\
Search this repository's code by meaning and by identifiers. Returns the functions, \
methods, classes or files that match, best first, each with its path, exact line range, \
symbol and the first lines of its code.

Use it whenever you need to find where something is implemented and do not know the exact \
name or string: describe what the code does in plain words ("retry a failed upload with \
backoff", "where are JWT tokens validated", "parse an ISO date"), or give identifiers or a \
code fragment. It finds code that grep misses (other names, other words) and ranks it. For \
an exact string you already know, grep is enough.

Restrict with `languages`, `paths` (globs relative to the repository root) and `kinds`; \
`files_only` lists the best files (as search_files ranks them) without code. `partial: true` \
means the first indexing pass is still running: files not yet indexed are missing, so search \
again later or check index_status. The index follows file edits by itself within seconds."""

SEARCH_FILES = """\
Find the files of this repository that matter for a task, best first. Each file is ranked by \
all its matching functions, methods and classes together, not by one lucky hit, and comes with \
its best units (at most 3: symbol, kind and exact line range), without code.

Use it to see where a feature or a concept lives before reading or changing code ("where is \
authentication handled", "how configuration is loaded", a class or module name), then read the \
files it names; use search_code for the code itself. Restrict with `languages`, `paths` (globs \
relative to the repository root) and `kinds`, as in search_code. `partial: true` means the first \
indexing pass is still running: files not yet indexed are missing."""

FIND_SIMILAR_CODE = """\
Find code similar to a given function or snippet: copies of it elsewhere in the repository \
(exact, renamed or edited duplicates, judged on structure and meaning) and the most closely \
related code.

Use it before writing a new helper (does one exist already?), when changing or fixing a \
function (do copies need the same change?), and to find other implementations of the same \
idea. Give `path` (a file in the repository) and optionally `start_line`/`end_line` to pick \
one function, or paste `code`. Duplicates are judged for a `path`; pasted code gets the \
closest related units."""

INDEX_STATUS = """\
How complete and fresh the code index is: files and units indexed, the embedding model, \
whether the first indexing pass is still running (with progress and an estimate of the time \
left), who keeps the index current, and when it was last brought up to date. Call it when \
search results look incomplete or `partial`, or after reindex."""

REINDEX = """\
Re-check every file of the repository and re-index what changed (unchanged files are not \
re-read, and known code is not re-embedded). Rarely needed: the server watches the files and \
updates the index by itself. Use it after changes a file watcher cannot see (a network file \
system, files replaced while the server was stopped) or when index_status reports a problem. \
Returns at once; index_status shows the progress."""

INSTRUCTIONS = """\
codesearch indexes the repository at {root} (functions, methods, classes, files) and keeps \
the index current while files change. Prefer search_code over grep or reading many files \
when looking for code by what it does, and search_files to find which files matter; use \
find_similar_code before adding a helper or when changing code that may have copies. Paths \
in answers are relative to {root}."""
