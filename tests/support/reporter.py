"""A reporter that remembers what the steps told it, for tests that call a layer directly."""

from __future__ import annotations

import threading

from vendorer.report import Reporter


class Recorder(Reporter):
    """Everything reported, in order; thread-safe (downloads report from a pool)."""

    def __init__(self, *, wants_output: bool = False) -> None:
        self.wants_output = wants_output
        self.events: list[tuple[str, str, str]] = []  # (what, task or "", detail)
        self.items: list[str] = []  # every item advanced, whatever its task
        self.sizes: list[int] = []  # every size advanced, whatever its task
        self.notices: list[str] = []
        self.warnings: list[str] = []
        self.lines: list[str] = []  # tools' output
        self._lock = threading.Lock()

    def started(self, task: str, *, title: str, total: int | None = None) -> None:
        self._add("started", task, title)

    def advanced(self, task: str, *, item: str = "", size: int = 0) -> None:
        with self._lock:
            if item:
                self.items.append(item)
            if size:
                self.sizes.append(size)
            self.events.append(("advanced", task, item))

    def finished(self, task: str) -> None:
        self._add("finished", task, "")

    def notice(self, message: str) -> None:
        with self._lock:
            self.notices.append(message)

    def warning(self, message: str) -> None:
        with self._lock:
            self.warnings.append(message)

    def output(self, line: str) -> None:
        with self._lock:
            self.lines.append(line)

    def _add(self, what: str, task: str, detail: str) -> None:
        with self._lock:
            self.events.append((what, task, detail))
