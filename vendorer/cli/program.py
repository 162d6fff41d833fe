"""`vendorer`: parse the command line, run the command, map what went wrong to an exit code.

0 ok, 1 failure, 2 usage or configuration error, 130 interrupted. An exception vendorer does not
expect is a bug: said in one short block, never as a traceback (unless VENDORER_DEBUG=1).
"""

from __future__ import annotations

import argparse
import errno
import gc
import os
import sys
import traceback
from collections.abc import Callable, Sequence

from vendorer._util.urls import scrub_credentials
from vendorer.cli import INTERRUPTED
from vendorer.cli.options import check_paths, check_text
from vendorer.cli.output import Output
from vendorer.cli.parser import build_parser
from vendorer.errors import VendorerError

__all__ = ["main"]

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run vendorer; returns the exit code (0 ok, 1 failure, 2 usage or configuration error)."""
    _collect_less()
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        check_text(arguments)
    except VendorerError as error:
        Output().error(str(error))
        return error.exit_code
    parser = build_parser()
    args = parser.parse_args(arguments)
    args.arguments = arguments  # as given: the key of a kept answer (vendorer._util.answers)
    handler: Handler | None = getattr(args, "handler", None)  # None: a group without a command
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        check_paths(args)
        return handler(args)
    except VendorerError as error:
        Output().error(scrub_credentials(str(error)))
        return error.exit_code
    except OSError as error:  # a file vendorer needs cannot be read or written
        Output().error(scrub_credentials(_os_error(error)))
        return 1
    except KeyboardInterrupt:
        Output().say("interrupted: nothing was left half-written")
        return INTERRUPTED
    except Exception as error:  # the last line of defence: a bug in vendorer
        return _internal_error(error)


def _collect_less() -> None:
    """A run makes hundreds of thousands of small objects (the files of project pages, their
    versions and tags) that live until it ends, and its imports as many more: the cycle
    collector's passes over them find nothing to free. They are left out of its passes, and it
    passes less often (a cold lock of flask, pandas and requests: 0.1-0.2 s less CPU)."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def _os_error(error: OSError) -> str:
    """An OSError as a sentence: the file, what happened, and for a full disk what to do."""
    if error.filename is None or error.strerror is None:
        return str(error)
    advice = (
        "; free some space (or raise the limit), then run again" if error.errno in _FULL else ""
    )
    if error.filename2:
        return f"{error.filename} -> {error.filename2}: {error.strerror}{advice}"
    return f"{error.filename}: {error.strerror}{advice}"


def _internal_error(error: Exception) -> int:
    """An exception vendorer did not expect: a bug, said in one short block (the traceback only
    with VENDORER_DEBUG=1); no URL's credentials in either."""
    err = Output().err
    if os.environ.get("VENDORER_DEBUG", "") not in {"", "0"}:
        err.print(
            scrub_credentials("".join(traceback.format_exception(error))).rstrip(), markup=False
        )
    lines = scrub_credentials(str(error)).strip().splitlines()
    what = f"{type(error).__name__}: {lines[0][:300]}" if lines else type(error).__name__
    err.print(
        f"error: internal error: {what}\n"
        "  this is a bug in vendorer: please report it (VENDORER_DEBUG=1 shows the traceback)",
        markup=False,
        highlight=False,
    )
    return 1
