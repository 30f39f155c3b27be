"""codesearch's MCP server: semantic code search as tools for coding agents.

`codesearch mcp [PATH]` (or the console script `codesearch-mcp`) serves the
Model Context Protocol over stdio with the official Python SDK. Like the
language server it is thin: each tool checks its arguments, makes one call into
the `codesearch` library, and converts the result.

    server.py    the MCP wiring: tools, their descriptions and schemas, `main`
    root.py      the served root: one engine + watcher in the background, take-over
    sandbox.py   every path argument and returned path stays inside the root
    answers.py   result models (the tools' output schemas) and snippet trimming
"""

__version__ = "0.1.0"
