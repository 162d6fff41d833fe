"""The one guard that keeps two vendorer runs apart: a file lock, taken in turn.

A run that finds the lock held says once that it waits (a reporter's notice), waits up to
`wait_seconds`, and then gives up with an error that names what was busy; with no wait it gives
up at once. The lock goes with its process: a killed run never leaves one behind.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

from filelock import FileLock, Timeout

from vendorer.errors import VendorerError
from vendorer.report import NULL_REPORTER, Reporter

__all__ = ["RUN_WAIT_SECONDS", "BusyError", "exclusive", "held_elsewhere"]

RUN_WAIT_SECONDS: Final = 300.0  # how long a run waits for another one on the same folder


class BusyError(VendorerError):
    """Another vendorer run held a lock for longer than this run would wait."""


@contextlib.contextmanager
def exclusive(
    lock_file: Path,
    *,
    what: str,
    wait_seconds: float,
    reporter: Reporter = NULL_REPORTER,
    doing: str = "in use",
    error: Callable[[str], VendorerError] = BusyError,
) -> Iterator[None]:
    """Hold `lock_file` while the block runs; `what` names the thing it guards in messages.

    While another run holds it, `reporter` hears "waiting for another vendorer run on <what> to
    finish" once, and the wait lasts up to `wait_seconds`; then `error` ("<what> is still
    <doing> by another vendorer run after <n> s; ...") is raised. An OSError taking the lock (a
    folder one may not write) is raised as it is, for the caller to explain.
    """
    guard = FileLock(lock_file)
    try:
        guard.acquire(timeout=0)
    except Timeout:
        if wait_seconds <= 0:
            raise error(
                f"{what} is {doing} by another vendorer run; run again once it has finished"
            ) from None
        reporter.notice(f"waiting for another vendorer run on {what} to finish")
        try:
            guard.acquire(timeout=wait_seconds)
        except Timeout:
            raise error(
                f"{what} is still {doing} by another vendorer run after {wait_seconds:g} s; "
                "run again once it has finished"
            ) from None
    try:
        yield
    finally:
        guard.release()


def held_elsewhere(lock_file: Path) -> bool:
    """Whether a run holds `lock_file` now: a probe that creates nothing. A lock that cannot be
    read (a read-only checkout) counts as free: no run can hold it there."""
    if not lock_file.exists():
        return False
    probe = FileLock(lock_file)
    try:
        probe.acquire(timeout=0)
    except Timeout:
        return True
    except OSError:
        return False
    probe.release()
    return False
