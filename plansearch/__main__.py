"""`python -m plansearch` runs the command line."""

import sys

from plansearch.cli.main import main

sys.exit(main())
