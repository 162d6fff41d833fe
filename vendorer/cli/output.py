"""What vendorer says, and where: results on stdout, progress and messages on stderr.

`Output` is the command line's reporter (`vendorer.app.reporting.StepReporter`). On a terminal:
a status line while resolving ("resolving for X: N pinned, name version"), a bar of wheels and
bytes while downloading, a bar of bytes while uploading (rich). Otherwise plain lines: one per
wheel in place, nothing for resolving or uploading. A warning is said once, as
`warning: <message>`; one that arrives while a task runs is said when the task ends, failed or
not, after the task's own lines. Tools' output shows only with -v, each line marked.

rich is imported only when a live display shows or a table is printed: a plain line is written as
it is, so that a command with nothing to show (a no-op build, a check) starts without rich.
"""

from __future__ import annotations

import os
import sys
import threading
from functools import cached_property
from typing import TYPE_CHECKING

from vendorer._util.tail import output_line
from vendorer.app.reporting import StepReporter
from vendorer.cli.progress import Display, display_for, plain_display
from vendorer.lock.changes import lock_changes

if TYPE_CHECKING:
    from rich.console import Console

    from vendorer.app.locking import LockResult
    from vendorer.app.packaging import PackageRun
    from vendorer.app.workflow import WheelhouseResult
    from vendorer.check import CheckResult
    from vendorer.target.profile import Profile

__all__ = ["Output"]

LONGEST_LINE = 1000  # a message quoting a huge input (a 2 MB requirement line) shows its ends


def _short_lines(text: str) -> str:
    """`text` with every line over LONGEST_LINE characters cut in its middle."""
    return "\n".join(
        line
        if len(line) <= LONGEST_LINE
        else f"{line[:600]} [... {len(line) - 800:,} characters ...] {line[-200:]}"
        for line in text.split("\n")
    )


class Output(StepReporter):
    """stdout and stderr, as rich consoles made when first needed; `verbose`: tools' output
    shown as it comes."""

    def __init__(self, *, verbose: bool = False) -> None:
        self.wants_output = verbose
        self._lock = threading.Lock()
        self._running: dict[str, Display] = {}  # the tasks running, each as it shows
        self._said: set[str] = set()  # the warnings said, or held to be said
        self._held: list[str] = []  # warnings said once no task runs
        # what was said and shown, in order (stream, text): a command with nothing to do keeps
        # it as its answer (vendorer._util.answers), unless a notice or warning was among it
        self.transcript: list[tuple[str, str]] = []
        self.notices = 0

    @cached_property
    def out(self) -> Console:
        from rich.console import Console

        return Console(highlight=False, soft_wrap=True)

    @cached_property
    def err(self) -> Console:
        from rich.console import Console

        return Console(stderr=True, highlight=False, soft_wrap=True)

    def _err_made(self) -> bool:
        """Whether stderr's rich console exists (a live display showed, or one was given)."""
        return "err" in vars(self)

    def _err_is_terminal(self) -> bool:
        """rich's rule (TTY_COMPATIBLE, FORCE_COLOR, then isatty), without making a console."""
        if self._err_made():
            return self.err.is_terminal
        tty_compatible = os.environ.get("TTY_COMPATIBLE", "")
        if tty_compatible in {"0", "1"}:
            return tty_compatible == "1"
        force_color = os.environ.get("FORCE_COLOR")
        if force_color is not None:
            return force_color != ""
        try:
            return sys.stderr.isatty()
        except (AttributeError, ValueError):  # no stderr, or a closed one
            return False

    # --- plain lines --------------------------------------------------------------------------

    def say(self, text: str) -> None:
        """A message on stderr, as it is (no markup), a line of megabytes cut in its middle;
        through rich once its console exists (a live display shows above it)."""
        text = _short_lines(text)
        self.transcript.append(("stderr", f"{text}\n"))
        if self._err_made():
            self.err.print(text, markup=False)
        else:
            print(text, file=sys.stderr, flush=True)

    def result(self, text: str) -> None:
        """A result on stdout, as it is."""
        self.transcript.append(("stdout", f"{text}\n"))
        print(text)

    def show(self, text: str) -> None:
        """A result on stdout, through rich (no markup)."""
        self.out.print(text, markup=False)

    def error(self, text: str) -> None:
        self.say(f"error: {text}")

    def wrote(self, path: object) -> None:
        self.say(f"wrote {path}")

    # --- the reporter: while a step runs ------------------------------------------------------

    def started(self, task: str, *, title: str, total: int | None = None) -> None:
        with self._lock:
            again = self._running.pop(task, None)  # a task started over (a retried upload)
            live = any(shown.live for shown in self._running.values())
            if self._err_is_terminal():
                display = display_for(task, title, total, self.err, may_live=not live)
            else:
                display = plain_display(task, title, self.say)
            self._running[task] = display
        if again is not None:
            again.stop()
        display.start()

    def advanced(self, task: str, *, item: str = "", size: int = 0) -> None:
        display = self._running.get(task)
        if display is not None:
            display.advance(item, size)

    def finished(self, task: str) -> None:
        with self._lock:
            display = self._running.pop(task, None)
            held, self._held = (self._held, []) if not self._running else ([], self._held)
        if display is not None:
            display.stop()
        for message in held:
            self.say(f"warning: {message}")

    def notice(self, message: str) -> None:
        self.notices += 1
        self.say(message)

    def warning(self, message: str) -> None:
        self.notices += 1
        with self._lock:
            if message in self._said:
                return
            self._said.add(message)
            if self._running:  # said once the task ends
                self._held.append(message)
                return
        self.say(f"warning: {message}")

    def output(self, line: str) -> None:
        if self.wants_output:
            self.say(output_line(line))

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

    def packaged(self, run: PackageRun) -> None:
        plan = run.plan
        if plan is None:
            return
        for warning in plan.warnings:
            self.warning(warning)
        if run.report is not None:
            megabytes = run.report.size / 1e6
            self.say(
                f"wrote {plan.output} ({len(plan.files)} files, {megabytes:.1f} MB, "
                f"sha256 {run.report.sha256})"
            )
        for note in plan.notes:
            self.say(f"note: {note}")

    def drifts(self, result: CheckResult, profile: Profile) -> None:
        """The check's drifts, each with its fix."""
        for drift in result.drifts:
            self.say(f"drift: {drift.what}\n  fix: {drift.fix}")
        if result.drifts:
            self.say(f"{len(result.drifts)} drifts for {profile.name}")
