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


def make_app(
    folder: Path, index_url: str, *requirements: str, profile: str = "python361x64", more: str = ""
) -> Path:
    """An app folder with its requirements, locking for `profile` from `index_url`; `more`: other
    `[tool.vendorer]` lines."""
    folder.mkdir(parents=True)
    (folder / "requirements.txt").write_text("".join(f"{r}\n" for r in requirements), "utf-8")
    (folder / "pyproject.toml").write_text(
        f'[tool.vendorer]\nprofile = "{profile}"\nindex-url = "{index_url}"\n{more}', "utf-8"
    )
    return folder
