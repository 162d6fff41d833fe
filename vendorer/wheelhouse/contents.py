"""What a wheelhouse folder holds, as fill writes it and check and vendor read it.

The wheel for each locked package, the files vendorer put there (its state file, so that only
those are ever removed), and the pinned export the server's pip installs from.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from vendorer._util.files import HashCache, sha256_of, write_text_if_changed
from vendorer.inputs.options import hash_cache_path
from vendorer.lock.export import pinned_requirements
from vendorer.lock.model import Lock

__all__ = [
    "EXPORT_FILE",
    "STATE_FILE",
    "export_text",
    "locked_wheels",
    "owned_wheels",
    "wheel_sha256s",
    "write_owned_wheels",
]

STATE_FILE: Final = ".vendorer-wheelhouse.json"
EXPORT_FILE: Final = "requirements.txt"


def locked_wheels(lock: Lock, folder: Path) -> dict[str, Path]:
    """The wheel in `folder` for each locked package that has one (canonical name -> path).

    A package whose lock names a wheel gets that very file; one built from its sdist, or supplied
    by the user, gets the wheel with its name and version (the first, sorted, if several).
    """
    by_release: dict[tuple[str, str], Path] = {}
    for path in sorted(folder.glob("*.whl")):
        if not path.is_file():  # a folder, a broken link, a fifo: not a wheel
            continue
        try:
            name, version, _, _ = parse_wheel_filename(path.name)
        except InvalidWheelFilename:
            continue
        by_release.setdefault((name, str(version)), path)
    found: dict[str, Path] = {}
    for package in lock.packages:
        named = folder / package.file.filename
        if package.file.is_wheel and named.is_file():
            found[package.name] = named
        elif (wheel := by_release.get((package.name, str(package.version)))) is not None:
            found[package.name] = wheel
    return found


def export_text(lock: Lock, wheels: Mapping[str, str]) -> str:
    """The wheelhouse's requirements.txt; `wheels` maps each wheel's file name to its sha256."""
    header = (
        f"# The wheelhouse of {lock.profile}, written by vendorer. On the server:",
        "#   python -m pip install --no-index --find-links <this folder> -r requirements.txt",
    )
    hashes = {canonicalize_name(parse_wheel_filename(name)[0]): sha for name, sha in wheels.items()}
    return pinned_requirements(lock, header=header, hashes=hashes)


def owned_wheels(folder: Path) -> dict[str, str | None]:
    """The files vendorer put in `folder`, with their sha256 (None where it was not recorded)."""
    try:
        owned = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))["owned"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    if isinstance(owned, list):  # the first format: names only
        return {str(name): None for name in owned}
    if isinstance(owned, dict):
        return {str(name): sha if isinstance(sha, str) else None for name, sha in owned.items()}
    return {}


def write_owned_wheels(folder: Path, owned: Mapping[str, str]) -> None:
    """Record the files vendorer put in `folder` (file name -> sha256)."""
    text = json.dumps({"owned": dict(sorted(owned.items()))}, indent=1) + "\n"
    write_text_if_changed(folder / STATE_FILE, text)


def wheel_sha256s(wheels: Iterable[Path]) -> dict[Path, str]:
    """The sha256 of each wheel file, remembered (by its size, times and inode) in the hash
    cache of its folder: a wheelhouse that did not change is not read again."""
    found: dict[Path, str] = {}
    by_folder: dict[Path, list[Path]] = {}
    for wheel in wheels:
        by_folder.setdefault(wheel.parent, []).append(wheel)
    for folder, paths in by_folder.items():
        hashes = HashCache(hash_cache_path(folder))
        for path in paths:
            found[path] = hashes.sha256(path) or sha256_of(path)  # sha256_of: it is gone: raise
        hashes.save()
    return found
