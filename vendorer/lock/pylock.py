"""The lock: `pylock.<profile>.toml` (PEP 751), read, written and validated with packaging.pylock.

vendorer's own facts ride in the `tool.vendorer` tables PEP 751 reserves for tools: the profile,
the hash of the inputs (so a stale lock is detected), the hash of the lock's own content (so a
lock edited by hand is detected), and per package whether it needs a build, who required it (as
data: a line of a requirements file, or a locked package's dependency) and why newer versions
were not taken.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any, Final

import tomli_w
from packaging.markers import Marker
from packaging.pylock import (
    Package,
    PackageSdist,
    PackageWheel,
    Pylock,
    PylockValidationError,
)
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from vendorer._util.tomlfile import read_toml
from vendorer.errors import ConfigError, LockError
from vendorer.inputs.options import BEST_MATCH, FIRST_INDEX
from vendorer.lock.model import Lock, LockedFile, LockedPackage
from vendorer.lock.required_by import required_by_entry, required_by_table
from vendorer.target.profile import Profile

__all__ = [
    "FORMAT",
    "lock_path",
    "read_lock",
    "read_lock_as_written",
    "relative_posix",
    "render_lock",
]

LOCK_VERSION: Final = Version("1.0")
# vendorer's tool.vendorer layout. `required-by` entries became tables, and `content-hash` came,
# within format 1: a reader tells both apart, and the inputs hash, which includes FORMAT, stays.
FORMAT: Final = 1


def lock_path(requirements: Path, profile_name: str) -> Path:
    """`pylock.<profile>.toml` next to the requirements file it was made from."""
    return requirements.parent / f"pylock.{profile_name}.toml"


def render_lock(lock: Lock, profile: Profile) -> str:
    """The lock as PEP 751 TOML, validated by packaging before it is returned."""
    pylock = Pylock(
        lock_version=LOCK_VERSION,
        environments=[Marker(_environment_marker(profile))],
        requires_python=SpecifierSet(f"=={profile.python.version}"),
        created_by="vendorer",
        packages=[_to_package(package) for package in lock.packages],
        tool={
            "vendorer": {
                "format": FORMAT,
                "profile": lock.profile,
                "inputs-hash": lock.inputs_hash,
                "prefer-newest": lock.prefer_newest,
                "pre": lock.pre,
                **({} if lock.index_strategy == BEST_MATCH else {"index-strategy": FIRST_INDEX}),
                "best-tag": str(profile.tags[0]),
            }
        },
    )
    try:
        pylock.validate()
    except PylockValidationError as error:  # a bug in vendorer, not in the user's input
        raise LockError(f"vendorer produced an invalid lock ({error}); please report it") from None
    header = (
        f"# Locked by vendorer for the target profile {lock.profile}; do not edit by hand.\n"
        f"# Regenerate with: vendorer lock --profile {lock.profile}\n"
    )
    document = _without_none(pylock.to_dict())
    document["tool"]["vendorer"]["content-hash"] = _content_hash(document)
    return header + tomli_w.dumps(document)


def read_lock(path: Path) -> Lock:
    """Read and validate a vendorer lock; a malformed one, or one edited by hand since vendorer
    wrote it, is a LockError that names the problem and the command that writes it again."""
    lock = read_lock_as_written(path)
    if lock.edited:
        raise LockError(
            f"{path}: edited by hand since vendorer wrote it (its content no longer matches its "
            f"content-hash); run `vendorer lock --profile {lock.profile}` to write it again (the "
            "versions it names are kept where they still fit)"
        )
    return lock


def read_lock_as_written(path: Path) -> Lock:
    """`read_lock`, but a lock edited by hand comes back marked `edited` instead of refused
    (the lock step keeps its versions where they fit, and never counts it as current)."""
    if not path.exists():
        raise LockError(f"{path}: no lock; run `vendorer lock` first")
    try:
        data = read_toml(path)
    except ConfigError as error:
        raise LockError(f"unreadable lock: {error}; run `vendorer lock` again") from None
    try:
        pylock = Pylock.from_dict(data)
    except PylockValidationError as error:
        raise LockError(f"{path}: invalid PEP 751 lock: {error}") from None
    tool = (pylock.tool or {}).get("vendorer")
    if not isinstance(tool, Mapping) or tool.get("format") != FORMAT:
        raise LockError(f"{path}: not a lock written by this vendorer; run `vendorer lock` again")
    recorded = tool.get("content-hash")  # None in a lock written before it existed
    try:
        return Lock(
            profile=str(tool["profile"]),
            inputs_hash=str(tool["inputs-hash"]),
            packages=tuple(_from_package(package) for package in pylock.packages),
            prefer_newest=bool(tool.get("prefer-newest", False)),
            pre=bool(tool.get("pre", False)),
            index_strategy=str(tool.get("index-strategy", BEST_MATCH)),
            edited=recorded is not None and recorded != _content_hash(data),
        )
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise LockError(
            f"{path}: malformed vendorer lock ({type(error).__name__}: {error}); "
            "run `vendorer lock --force` to write it again"
        ) from None


def _environment_marker(profile: Profile) -> str:
    keys = ("sys_platform", "platform_machine", "implementation_name", "python_full_version")
    return " and ".join(f"{key} == {profile.markers[key]!r}" for key in keys)


def _to_package(package: LockedPackage) -> Package:
    file = package.file
    fields: dict[str, Any] = {
        "name": file.filename,
        "url": file.url,
        "path": file.path,
        "size": file.size,
        "hashes": {"sha256": file.sha256},
    }
    tool: dict[str, Any] = {"needs-build": package.needs_build}
    if package.required_by:
        tool["required-by"] = [required_by_table(entry) for entry in package.required_by]
    if package.newer:
        tool["newer"] = list(package.newer)
    return Package(
        name=package.name,
        version=package.version,
        requires_python=package.requires_python,
        dependencies=[{"name": name} for name in package.dependencies] or None,
        index=package.index,
        wheels=[PackageWheel(**fields)] if file.is_wheel else None,
        sdist=None if file.is_wheel else PackageSdist(**fields),
        tool={"vendorer": tool},
    )


def _from_package(package: Package) -> LockedPackage:
    distribution: PackageWheel | PackageSdist | None = (
        package.wheels[0] if package.wheels else package.sdist
    )
    if distribution is None or package.version is None:
        raise ValueError(f"{package.name}: a locked package needs a version and one file")
    tool = (package.tool or {}).get("vendorer", {})
    return LockedPackage(
        name=package.name,
        version=package.version,
        file=LockedFile(
            filename=distribution.filename,
            url=distribution.url,
            path=distribution.path,
            sha256=distribution.hashes["sha256"],
            size=distribution.size,
        ),
        index=package.index,
        requires_python=package.requires_python,
        dependencies=tuple(
            canonicalize_name(dependency["name"]) for dependency in package.dependencies or []
        ),
        required_by=tuple(required_by_entry(entry) for entry in tool.get("required-by", ())),
        newer=tuple(tool.get("newer", ())),
    )


def _content_hash(document: Mapping[str, Any]) -> str:
    """sha256 of the lock's data (not its comments or layout), without the hash itself."""
    data = copy.deepcopy(dict(document))
    data.get("tool", {}).get("vendorer", {}).pop("content-hash", None)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _without_none(value: Any) -> Any:
    """TOML has no null: drop None values recursively."""
    if isinstance(value, Mapping):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(item) for item in value]
    return value


def relative_posix(path: Path, start: Path) -> str:
    """`path` relative to `start`, with forward slashes (how PEP 751 records local paths)."""
    return PurePosixPath(*Path(os.path.relpath(path.resolve(), start.resolve())).parts).as_posix()
