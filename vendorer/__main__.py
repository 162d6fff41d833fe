"""`python -m vendorer`."""

from vendorer.cli import run

run()
