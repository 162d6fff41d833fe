"""Writing a file the user named (web.config, an ARM template, a profile): atomically, and through
a symbolic link to its target, so that the link stays."""

from __future__ import annotations

from pathlib import Path

from vendorer._util.files import write_text_atomic
from vendorer.errors import UsageError

__all__ = ["write_target", "write_user_file"]


def write_user_file(path: Path, text: str) -> None:
    """Replace `path` (or the file its link points to) with `text`, atomically."""
    write_text_atomic(write_target(path), text)


def write_target(path: Path) -> Path:
    """Where writing `path` goes: a symbolic link's target, so that the link stays."""
    if not path.is_symlink():
        return path
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError):  # RuntimeError: a loop, before Python 3.13
        raise UsageError(
            f"{path} is a symbolic link to {path.readlink()}, which does not exist; fix or "
            "remove the link"
        ) from None
