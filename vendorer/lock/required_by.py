"""`required-by` in the lock's `tool.vendorer` package tables: requirement chain links as TOML.

A link is a table (`{file, line, requirement}` or `{package, version, requirement}`); a lock
written before tables holds the text `flask 2.0.3 (click>=7.1.2)` or `requirements.txt:3 (flask)`,
which is still read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from packaging.utils import canonicalize_name
from packaging.version import Version

from vendorer.resolve.chains import FromFile, FromPackage, RequiredBy

__all__ = ["required_by_entry", "required_by_table"]


def required_by_table(entry: RequiredBy) -> dict[str, Any]:
    if isinstance(entry, FromFile):
        return {"file": entry.file, "line": entry.line, "requirement": entry.requirement}
    return {
        "package": entry.package,
        "version": str(entry.version),
        "requirement": entry.requirement,
    }


def required_by_entry(entry: object) -> RequiredBy:
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
