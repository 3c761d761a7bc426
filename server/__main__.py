"""`python -m plansearch_lsp`: run the language server."""

import sys

from .cli import main

sys.exit(main())
