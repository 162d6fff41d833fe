"""`python -m vendorer`."""

import sys

from vendorer.cli import main

sys.exit(main())
