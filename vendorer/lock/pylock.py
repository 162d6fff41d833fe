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
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Final, TypeAlias

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
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from vendorer._util.tomlfile import read_toml
from vendorer.errors import ConfigError, LockError
from vendorer.target.profile import Profile

__all__ = [
    "BEST_MATCH",
    "FIRST_INDEX",
    "INDEX_STRATEGIES",
    "FromFile",
    "FromPackage",
    "Lock",
    "LockedFile",
    "LockedPackage",
    "RequiredBy",
    "export_requirements",
    "lock_changes",
    "lock_path",
    "pinned_requirements",
    "read_lock",
    "relative_posix",
    "render_lock",
]

LOCK_VERSION: Final = Version("1.0")
# vendorer's tool.vendorer layout. `required-by` entries became tables, and `content-hash` came,
# within format 1: a reader tells both apart, and the inputs hash, which includes FORMAT, stays.
FORMAT: Final = 1
# Which index a project's files come from: pip's way, every index merged and the best file wins
# (a public index can then shadow a private one), or uv's default, the first index that has it.
BEST_MATCH: Final = "unsafe-best-match"
FIRST_INDEX: Final = "first-index"
INDEX_STRATEGIES: Final = (BEST_MATCH, FIRST_INDEX)


@dataclass(frozen=True, slots=True, kw_only=True)
class LockedFile:
    filename: str
    url: str | None = None  # a remote file
    path: str | None = None  # a local file, relative to the lock's folder (POSIX separators)
    sha256: str
    size: int | None = None

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")


@dataclass(frozen=True, slots=True, kw_only=True)
class FromFile:
    """A requirement the user wrote: `file` (relative to the lock's folder), line `line`."""

    file: str
    line: int
    requirement: str  # as written, without its marker

    @property
    def parent(self) -> str:
        return f"{self.file}:{self.line}"

    def __str__(self) -> str:
        return f"{self.parent} ({self.requirement})"


@dataclass(frozen=True, slots=True, kw_only=True)
class FromPackage:
    """A requirement of a package's metadata (`Requires-Dist`, or its Requires-Python)."""

    package: NormalizedName
    version: Version
    requirement: str  # as written, without its marker

    @property
    def parent(self) -> str:
        return f"{self.package} {self.version}"

    def __str__(self) -> str:
        return f"{self.parent} ({self.requirement})"


RequiredBy: TypeAlias = FromFile | FromPackage  # one link of a requirement chain


@dataclass(frozen=True, slots=True, kw_only=True)
class LockedPackage:
    name: NormalizedName
    version: Version
    file: LockedFile  # the wheel for the target, or the sdist to build
    index: str | None = None
    requires_python: SpecifierSet | None = None
    dependencies: tuple[NormalizedName, ...] = ()
    required_by: tuple[RequiredBy, ...] = ()
    newer: tuple[str, ...] = ()  # "2.1.0: Requires-Python >=3.7"

    @property
    def needs_build(self) -> bool:
        return not self.file.is_wheel


@dataclass(frozen=True, slots=True, kw_only=True)
class Lock:
    profile: str
    inputs_hash: str
    packages: tuple[LockedPackage, ...]
    prefer_newest: bool = False  # the choices it was made with, so `check` can recompute the hash
    pre: bool = False
    index_strategy: str = BEST_MATCH
    # Read from a file whose content no longer matches the content-hash vendorer wrote in it.
    edited: bool = field(default=False, compare=False)

    def package(self, name: str) -> LockedPackage | None:
        wanted = canonicalize_name(name)
        return next((p for p in self.packages if p.name == wanted), None)


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


def lock_changes(old: Lock, new: Lock) -> list[str]:
    """What moved between two locks, a line each: `+ name version`, `- name version`,
    `~ name old -> new` (uv and pip-tools users read theirs in the diff)."""
    before = {package.name: package.version for package in old.packages}
    after = {package.name: package.version for package in new.packages}
    lines = []
    for name in sorted(before.keys() | after.keys()):
        if name not in before:
            lines.append(f"+ {name} {after[name]}")
        elif name not in after:
            lines.append(f"- {name} {before[name]}")
        elif before[name] != after[name]:
            lines.append(f"~ {name} {before[name]} -> {after[name]}")
    return lines


def export_requirements(lock: Lock, *, source: str) -> str:
    """The lock as a requirements file pinned with --hash lines, readable by pip 8 and newer."""
    header = (
        f"# Exported by vendorer from {source} for the target profile {lock.profile}.",
        "# Every package is pinned with its hash: pip installs exactly these files.",
    )
    return pinned_requirements(lock, header=header)


def pinned_requirements(
    lock: Lock, *, header: Sequence[str], hashes: Mapping[NormalizedName, str] | None = None
) -> str:
    """Every locked package as `name==version` with its `--hash`.

    `hashes` (canonical name -> sha256) replaces the lock's own, e.g. with built wheels' hashes;
    a package it does not name becomes a comment.
    """
    lines = list(header)
    for package in lock.packages:
        sha = package.file.sha256 if hashes is None else hashes.get(package.name)
        if sha is None:
            lines.append(f"# {package.name}=={package.version}: no wheel yet")
            continue
        lines.append(f"{package.name}=={package.version} \\")
        lines.append(f"    --hash=sha256:{sha}")
        lines.extend(_via(package.required_by))
    return "\n".join(lines) + "\n"


def _via(required_by: Iterable[RequiredBy]) -> list[str]:
    """pip-compile's `# via` comment: what requires a package (`-r FILE`: a requirements file)."""
    parents = {
        f"-r {entry.file}" if isinstance(entry, FromFile) else str(entry.package)
        for entry in required_by
    }
    if len(parents) == 1:
        return [f"    # via {parents.pop()}"]
    return ["    # via", *(f"    #   {parent}" for parent in sorted(parents))] if parents else []


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
        tool["required-by"] = [_required_by_table(entry) for entry in package.required_by]
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
        required_by=tuple(_required_by_entry(entry) for entry in tool.get("required-by", ())),
        newer=tuple(tool.get("newer", ())),
    )


def _required_by_table(entry: RequiredBy) -> dict[str, Any]:
    if isinstance(entry, FromFile):
        return {"file": entry.file, "line": entry.line, "requirement": entry.requirement}
    return {
        "package": entry.package,
        "version": str(entry.version),
        "requirement": entry.requirement,
    }


def _required_by_entry(entry: object) -> RequiredBy:
    """A `required-by` entry: a table, or the text a lock written before tables holds."""
    if isinstance(entry, str):
        return _legacy_required_by(entry)
    if not isinstance(entry, Mapping):
        raise TypeError(f"a required-by entry must be a table, not {entry!r}")
    requirement = _text(entry, "requirement")
    if "file" in entry:
        line = entry.get("line")
        if not isinstance(line, int) or isinstance(line, bool) or line < 1:
            raise ValueError(f"required-by line must be a positive integer, not {line!r}")
        return FromFile(file=_text(entry, "file"), line=line, requirement=requirement)
    return FromPackage(
        package=canonicalize_name(_text(entry, "package"), validate=True),
        version=Version(_text(entry, "version")),
        requirement=requirement,
    )


def _text(table: Mapping[str, Any], key: str) -> str:
    value = table[key]
    if not isinstance(value, str):
        raise TypeError(f"required-by {key} must be a string, not {value!r}")
    return value


# How vendorer wrote `required-by` before entries were tables: "flask 2.0.3 (click>=7.1.2)" and
# "requirements.txt:3 (flask)". A project name and a version hold no space, colon or parenthesis.
_LEGACY_PACKAGE: Final = re.compile(
    r"(?P<name>[A-Za-z0-9._-]+) (?P<version>[^\s:()]+) \((?P<req>.*)\)"
)
_LEGACY_FILE: Final = re.compile(r"(?P<file>.+):(?P<line>[0-9]+) \((?P<req>.*)\)")


def _legacy_required_by(text: str) -> RequiredBy:
    if match := _LEGACY_PACKAGE.fullmatch(text):
        return FromPackage(
            package=canonicalize_name(match["name"]),
            version=Version(match["version"]),
            requirement=match["req"],
        )
    if match := _LEGACY_FILE.fullmatch(text):
        return FromFile(file=match["file"], line=int(match["line"]), requirement=match["req"])
    raise ValueError(f"required-by entry {text!r} is not one vendorer writes")


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
