"""Requirement chains as data: who asked for a package, and who asked for that one.

A link is a line of a requirements file (`FromFile`) or a requirement in a package's metadata
(`FromPackage`). The resolver records them; the lock stores them (`required-by`), and `why` and
the failure explanations walk them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from packaging.utils import NormalizedName
from packaging.version import Version

__all__ = ["Chain", "FromFile", "FromPackage", "RequiredBy"]


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
class Chain:
    """A requirement and the links that brought it in, nearest first, up to the user's file."""

    requirement: str  # as written, without its marker
    links: tuple[RequiredBy, ...]

    @property
    def parents(self) -> tuple[str, ...]:
        """`flask 2.0.3`, then `requirements.txt:1`: who asked, and who asked for that."""
        return tuple(link.parent for link in self.links)

    def __str__(self) -> str:
        """`click>=8.1 <- flask 2.0.3 <- requirements.txt:1`."""
        return " <- ".join((self.requirement, *self.parents))
