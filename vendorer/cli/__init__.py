"""The command line."""

from vendorer.cli.commands import main

__all__ = ["main"]
