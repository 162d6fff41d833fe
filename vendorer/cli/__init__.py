"""The command line. A `vendorer check` that found everything true, or a `vendorer build` that
had nothing to do, is answered again here while nothing it read has changed, before the rest of
vendorer is imported (`vendorer._util.answers`)."""

from __future__ import annotations

import gc
import os
import sys

TYPE_CHECKING = False  # collections.abc is not imported to answer (2 ms)
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main", "run"]

ANSWERED = frozenset({"build", "check"})  # the commands whose answers are kept
INTERRUPTED = 130


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


def run() -> None:
    """The process's entry (the `vendorer` script, `python -m vendorer`): exit with `main`'s code.

    After Ctrl-C, everything the run made is already removed when `main` returns; a transfer
    still blocked on a silent server would hold the process until its read timeout (15 s)
    because Python joins its worker threads at exit, so the process ends without them."""
    code = main()
    # Python's last collection at exit would walk every object the run made, to free nothing the
    # process's end does not (50-70 ms after a cold build of flask, pandas and requests).
    gc.freeze()
    if code == INTERRUPTED:
        import threading

        if threading.active_count() > 1:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    sys.exit(code)
