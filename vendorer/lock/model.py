"""The lock as data: every package the target gets, its one file, and why it is there.

`pylock` reads and writes it as `pylock.<profile>.toml`; `export` pins it as requirements.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from vendorer.inputs.options import BEST_MATCH
from vendorer.resolve.chains import RequiredBy

__all__ = ["Lock", "LockedFile", "LockedPackage"]


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
