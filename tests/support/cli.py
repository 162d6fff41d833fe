"""Running vendorer as a user does: a real process, its exit code and its output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def vendorer(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vendorer", *args], capture_output=True, text=True, cwd=cwd,
        check=False,
    )  # fmt: skip
