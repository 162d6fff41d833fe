"""What a step tells its caller while it runs: the seams the command line's output fills.

A step takes the watcher it needs and calls it as it goes: a status line while resolving, a
progress bar while filling the wheelhouse or uploading, each sub-step's result as soon as it is
known (a `build` that fails in its wheelhouse step has already said what its lock step did), and
the warnings a step learnt once it ends, failed or not. The command line's output object
implements them (rich on a terminal, plain lines otherwise). They hand the lower layers their
callbacks as those take them today (on_pin, on_file, on_bytes, ...); one Reporter protocol is to
take their place.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

from packaging.version import Version

if TYPE_CHECKING:
    from vendorer.app.locking import LockResult
    from vendorer.app.workflow import WheelhouseResult
    from vendorer.check import CheckResult
    from vendorer.target.profile import Profile

__all__ = [
    "BuildWatcher",
    "CheckWatcher",
    "FileSinks",
    "LockWatcher",
    "OutputSink",
    "PinSink",
    "ProgressSink",
    "UploadWatcher",
    "VendorWatcher",
    "Waiter",
    "WheelhouseWatcher",
]

PinSink = Callable[[str, Version], None]  # a project pinned while resolving
OutputSink = Callable[[str], None]  # a line a build backend (or pip) printed
# (on_file, on_bytes): a wheel done, bytes received (None: not counted)
FileSinks = tuple[Callable[[str], None], Callable[[int], None] | None]
ProgressSink = Callable[[int, int], None]  # bytes sent, of total


class LockWatcher(Protocol):
    @property
    def build_output(self) -> OutputSink | None:
        """Where build backends' output goes as it comes (None: only a failure's last lines)."""

    def resolving(self, profile: Profile, warnings: list[str]) -> AbstractContextManager[PinSink]:
        """While resolving: says each pin; at the end, the warnings added to `warnings`."""

    def locked(self, result: LockResult, *, dry_run: bool) -> None:
        """The lock step's result: what was written (or is current), and what moved."""


class Waiter(Protocol):
    def waiting(self, message: str) -> None:
        """Another run holds the folder this step writes (the lib folder, the wheelhouse): this
        one waits for it; said once."""


class WheelhouseWatcher(LockWatcher, Waiter, Protocol):
    def filling(self, total: int, warnings: list[str]) -> AbstractContextManager[FileSinks]:
        """While `total` wheels are fetched or built; at the end, the warnings added."""

    def filled(self, result: WheelhouseResult, profile: Profile) -> None:
        """The wheelhouse step's result, with the routes for native sdists left over."""


class VendorWatcher(Waiter, Protocol):
    """`vendorer vendor`: said only when it waits for another run."""


class BuildWatcher(WheelhouseWatcher, VendorWatcher, Protocol):
    """`vendorer build`: lock, wheelhouse, vendor."""


class CheckWatcher(Protocol):
    def checked(self, result: CheckResult, profile: Profile) -> None:
        """The check's notes and drifts."""


class UploadWatcher(CheckWatcher, Protocol):
    def uploading(self) -> AbstractContextManager[ProgressSink]:
        """While bytes are sent."""
