"""The install layer's errors, and a failed write into the app said as what it is."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from vendorer.errors import VendorerError

__all__ = ["VendorError", "WriteError", "writing"]


class VendorError(VendorerError):
    """A wheel cannot be vendored safely, or the lib folder cannot be updated."""


_ADVICE: Final = {
    errno.ENOSPC: "the disk is full: free some space on it, then run again",
    errno.EDQUOT: "your disk quota is used up: free some space or raise the quota, then run again",
    errno.EROFS: "that filesystem is read-only: mount it read-write, or choose another --lib-dir",
    errno.EACCES: "you may not write there: run as the folder's owner or fix its permissions",
    errno.EPERM: "you may not write there: run as the folder's owner or fix its permissions",
    errno.EMFILE: "too many open files: raise the limit (`ulimit -n`), then run again",
    errno.ENFILE: "too many open files on the system: close some, then run again",
}


class WriteError(VendorError):
    """Writing into the app failed (disk full, quota, permissions, read-only filesystem ...)."""

    def __init__(self, path: Path, error: OSError, outcome: str) -> None:
        reason = error.strerror or str(error)
        advice = _ADVICE.get(error.errno or 0, "fix that, then run again")
        super().__init__(f"cannot write {path}: {reason}. {outcome}; {advice}")
        self.path = path
        self.errno = error.errno


@contextlib.contextmanager
def writing(
    path: Path | str, outcome: str = "Nothing was changed in the lib folder"
) -> Iterator[None]:
    """Report an OSError raised inside as the WriteError it is, naming the path."""
    try:
        yield
    except OSError as error:
        named = Path(os.fsdecode(error.filename) if error.filename else path)
        raise WriteError(named, error, outcome) from None
