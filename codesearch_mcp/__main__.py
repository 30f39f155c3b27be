"""`python -m codesearch_mcp [PATH]`: the MCP server over stdio."""

import sys

from .server import main

sys.exit(main())
