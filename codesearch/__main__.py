"""`python -m codesearch` runs the CLI."""

import sys

from codesearch.cli.main import main

sys.exit(main())
