"""The files Azure Functions Core Tools reads beside a vendored Functions app, kept right each time
vendorer vendors for a Functions profile:

- `.funcignore` gets a line for the wheelhouse (when it is inside the app and not left out yet):
  `func azure functionapp publish` packages every file the file does not name, wheels included.
  The user's lines stay as they are (`deploy.funcignore`).
- `.python_packages/requirements.txt.md5`: base64 of the MD5 of `requirements.txt`, as Core Tools
  computes it (`PythonHelpers.ArePackagesInSync`, `SecurityHelpers.CalculateMd5`). While it
  matches, `func azure functionapp publish --build local` keeps the vendored tree instead of
  deleting it and installing with the host's pip. Written only when the requirements vendorer
  locks are the app's own `requirements.txt` and the lib folder is the one the worker loads.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Final

from vendorer._util.files import write_text_atomic
from vendorer.app.files import write_user_file
from vendorer.app.project import Project
from vendorer.deploy.funcignore import leaves_out, read_funcignore, with_ignored
from vendorer.target.layout import FUNCTIONS_LIB, platform_of

__all__ = ["REQUIREMENTS_MD5", "core_tools_files", "keep_core_tools_files", "requirements_md5"]

FUNCIGNORE: Final = ".funcignore"
REQUIREMENTS_MD5: Final = ".python_packages/requirements.txt.md5"


def requirements_md5(data: bytes) -> str:
    """What Core Tools compares with the md5 file: base64 of the MD5 of the file's bytes."""
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode("ascii")


def keep_core_tools_files(project: Project, *, dry_run: bool = False) -> list[str]:
    """Update `.funcignore` and the requirements md5 for a Functions profile (nothing for other
    profiles); what was (or, with `dry_run`, would be) done, as lines to say."""
    if platform_of(project.profile) != "functions":
        return []
    said = _funcignore(project, dry_run)
    said += _requirements_md5(project, dry_run)
    return said


def core_tools_files(project: Project) -> list[Path]:
    """The files `keep_core_tools_files` reads, and may write."""
    return [project.app / FUNCIGNORE, project.app / REQUIREMENTS_MD5]


def _funcignore(project: Project, dry_run: bool) -> list[str]:
    app = project.app.resolve()
    wheelhouse = project.wheelhouse_root.resolve()
    if not wheelhouse.is_relative_to(app) or wheelhouse == app:
        return []
    folder = wheelhouse.relative_to(app).as_posix()
    probe = f"{folder}/{project.profile.name}/requirements.txt"
    path = project.app / FUNCIGNORE
    text = read_funcignore(path)
    if leaves_out(text, probe):
        return []
    updated = with_ignored(text, folder)
    if not leaves_out(updated, probe):
        return [
            f"{FUNCIGNORE} keeps {folder}/ in the package whatever vendorer adds (a line starting "
            "with ! wins): Core Tools would publish the wheels; remove that line"
        ]
    if not dry_run:
        had_bom = text is not None and path.read_bytes().startswith(b"\xef\xbb\xbf")
        bom = "\ufeff" if had_bom else ""
        write_user_file(path, bom + updated)
    verb = "would add" if dry_run else "added"
    return [f"{verb} {folder} to {FUNCIGNORE}: Core Tools leaves it out of what it publishes"]


def _requirements_md5(project: Project, dry_run: bool) -> list[str]:
    requirements = project.app / "requirements.txt"
    if project.lib_dir != FUNCTIONS_LIB or project.requirements.resolve() != requirements.resolve():
        return []
    path = project.app / REQUIREMENTS_MD5
    digest = requirements_md5(requirements.read_bytes())
    try:
        if path.read_text(encoding="ascii") == digest:
            return []
    except (OSError, UnicodeDecodeError):
        pass  # none yet (or not one Core Tools could match): written below
    if not dry_run:
        write_text_atomic(path, digest)  # no newline: Core Tools compares the text as it is
    verb = "would write" if dry_run else "wrote"
    return [
        f"{verb} {REQUIREMENTS_MD5}: `func azure functionapp publish --build local` then keeps "
        "the vendored libraries"
    ]
