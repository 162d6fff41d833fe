"""The command line. A `vendorer check` that found everything true, or a `vendorer build` that
had nothing to do, is answered again here while nothing it read has changed, before the rest of
vendorer is imported (`vendorer._util.answers`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

ANSWERED = frozenset({"build", "check"})  # the commands whose answers are kept


def main(argv: Sequence[str] | None = None) -> int:
    """Run vendorer; returns the exit code (0 ok, 1 failure, 2 usage or configuration error)."""
    from vendorer._util.answers import replayed

    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments and arguments[0] in ANSWERED:
        code = replayed(arguments)
        if code is not None:
            return code
    from vendorer.cli.program import main as run

    return run(arguments)
