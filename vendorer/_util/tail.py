"""How vendorer shows what another program printed: its last lines, each behind a bar.

A build backend, pip (here or on the server) and cibuildwheel all fail the same way for a user:
a message, then the last lines of the program's output, so that the cause is in view without the
whole log.
"""

from __future__ import annotations

from typing import Final

from vendorer._util.urls import scrub_credentials

__all__ = ["TAIL_LINES", "output_line", "output_tail"]

TAIL_LINES: Final = 15  # how many of a failed program's last lines a message shows


def output_line(line: str) -> str:
    """One line another program printed, as vendorer shows it: `  | <line>`, without any URL's
    credentials (a backend may print its environment, and PIP_INDEX_URL carries the index's)."""
    return f"  | {scrub_credentials(line)}"


def output_tail(text: str, lines: int = TAIL_LINES) -> str:
    """The last `lines` lines of `text` (blank ones around it dropped), each an `output_line`;
    "" when the program printed nothing."""
    return "\n".join(output_line(line) for line in text.strip().splitlines()[-lines:])
