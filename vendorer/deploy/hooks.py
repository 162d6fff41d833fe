"""Git hooks that keep the vendored tree true: a plain pre-push hook running `vendorer check`.

(The pre-commit framework's hook is declared in the repository's `.pre-commit-hooks.yaml`.)
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

from vendorer._util.files import read_bounded, write_text_atomic
from vendorer.errors import UsageError

__all__ = ["MARKER", "install_pre_push_hook"]

MARKER = "# installed by `vendorer hook install`"


def install_pre_push_hook(app: Path, *, force: bool = False) -> Path:
    """Write `.git/hooks/pre-push` of the repository holding `app`; returns its path."""
    hooks = _hooks_dir(app)
    path = hooks / "pre-push"
    foreign = os.path.lexists(path) and not _ours(path)
    if foreign and not force:
        raise UsageError(
            f"{path} exists and is not vendorer's; pass --force to replace it, or add "
            "`vendorer check` to it yourself"
        )
    top = hooks.parent.parent if hooks.parent.name == ".git" else Path.cwd()
    relative = os.path.relpath(app.resolve(), top.resolve())
    script = (
        "#!/bin/sh\n"
        f"{MARKER}: refuse to push libraries that drifted from the lock.\n"
        f"exec vendorer check --app {shlex.quote(relative)}\n"
    )
    write_text_atomic(path, script)
    path.chmod(0o755)
    return path


def _hooks_dir(app: Path) -> Path:
    try:
        output = subprocess.run(
            ["git", "rev-parse", "--git-path", "hooks"],
            cwd=app,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except OSError:
        raise UsageError("git hooks need git, and no `git` command was found") from None
    except subprocess.CalledProcessError:
        raise UsageError(
            f"{app.resolve()} is not inside a git repository; run `git init` there first"
        ) from None
    return (app / output).resolve()


def _ours(path: Path) -> bool:
    """Whether the hook at `path` is one vendorer wrote: a regular file (not a folder, a fifo or
    a link to a device) holding the marker."""
    if path.is_symlink() or not path.is_file():
        return False
    try:
        return MARKER in read_bounded(path).decode("utf-8", errors="replace")
    except OSError:
        return False
