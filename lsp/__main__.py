"""`python -m codesearch_lsp`: the language server over stdio."""

from .server import main

main()
