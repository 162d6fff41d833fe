"""How a running task shows on stderr: a status line, a bar, plain lines, or nothing.

On a terminal (rich, transient): resolving is a status line ("resolving for X: N pinned, name
version"), downloading a bar of wheels with the bytes received, uploading a bar of bytes sent.
Otherwise a download says each wheel in place on its own line, and the others say nothing. Rich
shows one live display at a time: a task that starts while another one shows, shows nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from vendorer.report import DEPLOY, DOWNLOAD, RESOLVE, UPLOAD

if TYPE_CHECKING:  # rich's live displays are imported when one shows, not for plain lines
    from rich.console import Console
    from rich.progress import Progress
    from rich.status import Status

__all__ = ["Display", "display_for", "plain_display"]


class Display:
    """A task that shows nothing."""

    live = False  # whether it holds the console's one live display

    def start(self) -> None:
        pass

    def advance(self, item: str, size: int) -> None:
        pass

    def stop(self) -> None:
        pass


def plain_display(task: str, title: str, say: Callable[[str], None]) -> Display:
    """How `task` shows off a terminal: a download as a line per wheel, a deployment as its title
    and a line per step of its log, the others not at all."""
    if task == DOWNLOAD:
        return _Lines(say)
    if task == DEPLOY:
        return _Lines(say, title)
    return Display()


def display_for(
    task: str, title: str, total: int | None, console: Console, *, may_live: bool
) -> Display:
    """How `task` shows on the terminal: a live display if it `may_live` (no other one
    shows)."""
    if not may_live:
        return Display()
    if task == RESOLVE:
        return _StatusLine(console, title)
    if task == DOWNLOAD:
        return _WheelBar(console, title, total)
    if task == UPLOAD:
        return _ByteBar(console, title, total)
    if task == DEPLOY:  # its log stays on the screen, a line per step, under any bar
        return _Lines(lambda text: console.print(text, markup=False, highlight=False), title)
    return Display()


class _Lines(Display):
    """The title (if any), then each item done on a line of its own: `  <name>`."""

    def __init__(self, say: Callable[[str], None], title: str = "") -> None:
        self.say = say
        self.title = title

    def start(self) -> None:
        if self.title:
            self.say(self.title)

    def advance(self, item: str, size: int) -> None:
        if item:
            self.say(f"  {item}")


class _Live(Display):
    live = True

    def __init__(self, shown: Status | Progress) -> None:
        self.shown = shown

    def start(self) -> None:
        self.shown.start()

    def stop(self) -> None:
        self.shown.stop()


class _StatusLine(_Live):
    """`<title>: <n> pinned, <the last item>`."""

    def __init__(self, console: Console, title: str) -> None:
        self.status = console.status(title)
        super().__init__(self.status)
        self.title = title
        self.count = 0

    def advance(self, item: str, size: int) -> None:
        if item:
            self.count += 1
            self.status.update(f"{self.title}: {self.count} pinned, {item}")


class _WheelBar(_Live):
    """The last wheel in place, a bar of wheels (m of n), and the bytes received so far."""

    def __init__(self, console: Console, title: str, total: int | None) -> None:
        from rich.filesize import decimal
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[received]}"))  # fmt: skip
        self.progress = Progress(*columns, console=console, transient=True)
        super().__init__(self.progress)
        self.task = self.progress.add_task(title, total=total, received="")
        self.received = 0
        self._decimal = decimal  # bytes as "3.0 kB"
        self._lock = threading.Lock()  # wheels arrive from a pool of threads

    def advance(self, item: str, size: int) -> None:
        if size:
            with self._lock:
                self.received += size
                received = f"{self._decimal(self.received)} downloaded"
            self.progress.update(self.task, received=received)
        if item:
            self.progress.update(self.task, advance=1, description=item)


class _ByteBar(_Live):
    """`<title>`, a bar of bytes sent of the total, and the speed."""

    def __init__(self, console: Console, title: str, total: int | None) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TransferSpeedColumn,
        )

        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                   TransferSpeedColumn())  # fmt: skip
        self.progress = Progress(*columns, console=console, transient=True)
        super().__init__(self.progress)
        self.task = self.progress.add_task(title, total=total)

    def advance(self, item: str, size: int) -> None:
        if size:
            self.progress.update(self.task, advance=size)
