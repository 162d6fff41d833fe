"""What the steps tell the command line while they run: a `Reporter`, and each step's result as
soon as it is known.

Progress, notices and warnings go through `vendorer.report.Reporter`, as in every layer. A step
that runs others (`build`: lock, wheelhouse, vendor) also announces each one's result as it ends,
so that a `build` that fails in its wheelhouse step has already said what its lock step did.
Every method does nothing by default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vendorer.report import Reporter

if TYPE_CHECKING:
    from vendorer.app.locking import LockResult
    from vendorer.app.packaging import PackageRun
    from vendorer.app.workflow import WheelhouseResult
    from vendorer.target.profile import Profile

__all__ = ["StepReporter"]


class StepReporter(Reporter):
    """A reporter that also hears the results of the lock, wheelhouse and package steps."""

    def locked(self, result: LockResult, *, dry_run: bool) -> None:
        """The lock step's result: what was written (or is current), and what moved."""

    def filled(self, result: WheelhouseResult, profile: Profile) -> None:
        """The wheelhouse step's result, with the routes for native sdists left over."""

    def packaged(self, run: PackageRun) -> None:
        """The package step's result (written, or only planned with --list), before a deploy
        goes on."""
