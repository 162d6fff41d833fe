"""What a step tells its user while it works: progress, notices and warnings, through one reporter.

Modelled on resolvelib's `BaseReporter`: every method here does nothing, a step takes a
`Reporter` and calls it, and the command line subclasses it (a bar or a status line on a
terminal, plain lines otherwise; JSON output plugs in the same way). Steps never print, and no
list of messages waits for somebody to read it.

A task is named by one of the constants below; its progress is counted in items (`advanced`
with an `item`, e.g. a file in place) and, where bytes move, in bytes (`size`). The step that
owns a task starts and finishes it (`running`); the parts it calls report progress on it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Final

__all__ = ["DEPLOY", "DOWNLOAD", "NULL_REPORTER", "RESOLVE", "UPLOAD", "Reporter", "running"]

RESOLVE: Final = "resolve"  # items: the projects pinned ("flask 2.0.3")
DOWNLOAD: Final = "download"  # items: wheels in place (downloaded, built or supplied); size: bytes
UPLOAD: Final = "upload"  # size: bytes sent of `total`
DEPLOY: Final = "deploy"  # items: what the deployment says it is doing


class Reporter:
    """Receives what the steps report; the default does nothing with it.

    Methods may be called from several threads at once (downloads run in a pool).
    """

    wants_output: bool = False
    """Whether `output` lines are shown: a step gathers a tool's output for them only then."""

    def started(self, task: str, *, title: str, total: int | None = None) -> None:
        """A task starts: `title` says what it does for the user ("resolving for python361x64");
        `total` is its size in items (or bytes, for an upload), when known. Started again
        while it runs, it starts over (a retried upload sends its bytes again)."""

    def advanced(self, task: str, *, item: str = "", size: int = 0) -> None:
        """Progress: `item` is done (a name to show), and/or `size` more bytes moved."""

    def finished(self, task: str) -> None:
        """The task ended, well or not."""

    def notice(self, message: str) -> None:
        """Something the user should know that is no problem ("waiting for another run"): a
        line, shown as it is."""

    def warning(self, message: str) -> None:
        """Something the user should look at; said once however often it is reported."""

    def output(self, line: str) -> None:
        """A line a tool printed (a build backend, pip), shown only when the user asked (-v)."""


NULL_REPORTER: Final = Reporter()


@contextlib.contextmanager
def running(
    reporter: Reporter, task: str, *, title: str, total: int | None = None
) -> Iterator[None]:
    """The block is `task`: started before it, finished after it, failed or not."""
    reporter.started(task, title=title, total=total)
    try:
        yield
    finally:
        reporter.finished(task)
