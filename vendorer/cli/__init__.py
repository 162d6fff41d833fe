"""The command line."""

from vendorer.cli.program import main

__all__ = ["main"]
