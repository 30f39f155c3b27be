"""codesearch's language server: semantic code search for any LSP editor.

Installed as the package `codesearch_lsp` (the folder is `lsp/`) with the console
script `codesearch-lsp`; it speaks LSP over stdio. Every feature converts LSP
parameters, makes one call into the `codesearch` library, and converts the result.

    server.py    LSP wiring: features, commands, progress, messages
    folders.py   one engine + watcher per workspace folder, in the background
    settings.py  editor settings -> codesearch options, with messages for bad ones
    convert.py   search hits -> LSP results and symbols
"""

__version__ = "0.1.0"
