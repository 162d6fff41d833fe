"""What vendorer says, and where: results on stdout, progress and messages on stderr.

On a terminal, a status line while resolving and progress bars while downloading or uploading
(rich); otherwise plain lines, one per wheel. `Output` is the one object the application's steps
tell what happens while they run (it implements the watchers of `vendorer.app.watchers`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from packaging.version import Version
from rich.console import Console

from vendorer._util.tail import output_line
from vendorer.lock.changes import lock_changes

if TYPE_CHECKING:
    from vendorer.app.locking import LockResult
    from vendorer.app.watchers import FileSinks, OutputSink, PinSink, ProgressSink
    from vendorer.app.workflow import WheelhouseResult
    from vendorer.check import CheckResult
    from vendorer.target.profile import Profile

__all__ = ["Output"]


class Output:
    """stdout and stderr, as rich consoles; `verbose`: build backends' output shown as it comes."""

    def __init__(self, *, verbose: bool = False) -> None:
        self.out = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)
        self.verbose = verbose
        self._warnings: list[str] | None = None  # the run's warnings, and how many were shown
        self._shown = 0

    # --- plain lines --------------------------------------------------------------------------

    def say(self, text: str) -> None:
        """A message on stderr, as it is (no markup)."""
        self.err.print(text, markup=False)

    def result(self, text: str) -> None:
        """A result on stdout, as it is."""
        print(text)

    def show(self, text: str) -> None:
        """A result on stdout, through rich (no markup)."""
        self.out.print(text, markup=False)

    def notice(self, text: str) -> None:
        self.say(text)

    def warning(self, text: str) -> None:
        self.say(f"warning: {text}")

    def error(self, text: str) -> None:
        self.err.print(f"error: {text}", markup=False, highlight=False)

    @property
    def build_output(self) -> OutputSink | None:
        """With -v, a build backend's output (and pip's) as it comes, each line marked."""
        if not self.verbose:
            return None
        return lambda line: self.err.print(output_line(line), markup=False, highlight=False)

    # --- while a step runs --------------------------------------------------------------------

    @contextlib.contextmanager
    def warnings_after(self, warnings: list[str]) -> Iterator[None]:
        """Print what a step adds to `warnings` (a list it fills) once it ends, failed or not;
        what came between two steps of one run shows with the next."""
        if warnings is not self._warnings:
            self._warnings, self._shown = warnings, len(warnings)
        try:
            yield
        finally:
            for message in dict.fromkeys(warnings[self._shown :]):
                self.warning(message)
            self._shown = len(warnings)

    @contextlib.contextmanager
    def resolving(self, profile: Profile, warnings: list[str]) -> Iterator[PinSink]:
        """A status line while resolving: how many pinned, and the last one."""
        begun = f"resolving for {profile.name}"
        with self.warnings_after(warnings), self.err.status(begun) as status:
            pinned: list[str] = []

            def on_pin(name: str, version: Version) -> None:
                pinned.append(name)
                status.update(f"{begun}: {len(pinned)} pinned, {name} {version}")

            yield on_pin

    @contextlib.contextmanager
    def filling(self, total: int, warnings: list[str]) -> Iterator[FileSinks]:
        """(on_file, on_bytes): a bar of files and bytes downloaded on a terminal, a plain line
        per file otherwise."""
        with self.warnings_after(warnings):
            if not self.err.is_terminal:
                yield (lambda name: self.say(f"  {name}")), None
                return
            from rich import filesize
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                       TextColumn("{task.fields[received]}"))  # fmt: skip
            received = 0
            lock = threading.Lock()
            with Progress(*columns, console=self.err, transient=True) as progress:
                task = progress.add_task("wheels", total=total, received="")

                def on_bytes(size: int) -> None:
                    nonlocal received
                    with lock:
                        received += size
                        progress.update(task, received=f"{filesize.decimal(received)} downloaded")

                yield (lambda name: progress.update(task, advance=1, description=name)), on_bytes

    @contextlib.contextmanager
    def uploading(self) -> Iterator[ProgressSink]:
        """An upload bar (bytes sent of total) on a terminal; nothing otherwise."""
        if not self.err.is_terminal:
            yield lambda sent, total: None
            return
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TransferSpeedColumn,
        )

        columns = (TextColumn("uploading"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
        with Progress(*columns, console=self.err, transient=True) as progress:
            task = progress.add_task("upload", total=None)
            yield lambda sent, total: progress.update(task, completed=sent, total=total)

    def waiting(self, message: str) -> None:
        self.say(message)

    # --- what a step did, said as soon as it is known -----------------------------------------

    def locked(self, result: LockResult, *, dry_run: bool) -> None:
        verb = "up to date:" if not result.changed else "would write" if dry_run else "wrote"
        builds = sum(package.needs_build for package in result.lock.packages)
        note = f", {builds} to build from sdist" if builds else ""
        self.say(f"{verb} {result.path} ({len(result.lock.packages)} packages{note})")
        if result.previous is not None:
            for line in lock_changes(result.previous, result.lock):
                self.say(f"  {line}")
        for warning in result.warnings:
            self.warning(warning)

    def filled(self, result: WheelhouseResult, profile: Profile) -> None:
        from vendorer.app.workflow import describe_native

        report = result.report
        summary = (
            f"{len(report.downloaded)} downloaded, {len(report.built)} built, "
            f"{len(report.accepted)} supplied by you"
            + (f", {len(report.removed)} removed" if report.removed else "")
        )
        self.say(f"wheelhouse {report.folder}: {len(report.wheels)} wheels ({summary})")
        if report.foreign:
            self.say(f"left alone (not vendorer's): {', '.join(report.foreign)}")
        for warning in result.warnings:
            self.warning(warning)
        for advice in result.native:
            for line in describe_native(advice, profile, report.folder):
                self.say(line)

    def checked(self, result: CheckResult, profile: Profile) -> None:
        for note in result.notes:
            self.say(f"note: {note}")
        for drift in result.drifts:
            self.say(f"drift: {drift.what}\n  fix: {drift.fix}")
        if result.drifts:
            self.say(f"{len(result.drifts)} drifts for {profile.name}")

    def wrote(self, path: object) -> None:
        self.say(f"wrote {path}")
