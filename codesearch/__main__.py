"""`python -m codesearch` runs the CLI."""

import sys

from codesearch.cli import main

sys.exit(main())
