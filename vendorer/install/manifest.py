"""The manifest of a vendored tree: what vendorer owns in the lib folder, as a frozen model.

Its text is JSON with sorted keys and a one-space indent, in the lib folder as `MANIFEST`; the
same inputs give the same bytes. `Manifest.from_dict` reports every problem it finds at once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from vendorer._util.files import read_bounded
from vendorer.install.errors import VendorError

__all__ = [
    "FORMAT",
    "GITATTRIBUTES",
    "GITATTRIBUTES_TEXT",
    "MANIFEST",
    "InvalidManifest",
    "Manifest",
    "ManifestError",
    "VendoredDistribution",
    "manifest_text",
    "parse_manifest",
    "read_manifest",
]

MANIFEST: Final = ".vendorer-manifest.json"
GITATTRIBUTES: Final = ".gitattributes"
FORMAT: Final = 1
GITATTRIBUTES_TEXT: Final = (
    "# Written by vendorer: vendored libraries, not the app's own code.\n"
    "* linguist-vendored=true\n"
    "* linguist-generated=true\n"
)


class ManifestError(VendorError):
    """The manifest of a vendored tree is there but cannot be used."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"{path} cannot be used ({reason}); nothing was changed. Restore it (`git checkout "
            f"-- {path.parent.name}/{MANIFEST}`), or move the folder away and run `vendorer vendor`"
        )
        self.reason = reason


class InvalidManifest(ValueError):
    """A manifest's data that vendorer cannot use; `problems` names each thing wrong with it, as
    `key.path: what is wrong` (or a single line about the whole: not JSON, another format)."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        whole = [problem for problem in problems if not problem.startswith("distributions")]
        inner = [problem for problem in problems if problem.startswith("distributions")]
        if inner:
            whole.append("its distributions are malformed: " + "; ".join(inner))
        super().__init__("; ".join(whole))


@dataclass(frozen=True, slots=True, kw_only=True)
class VendoredDistribution:
    """One distribution in the lib folder: the wheel it came from and the files it wrote."""

    version: str
    wheel: str  # the wheel's file name
    wheel_sha256: str
    files: Mapping[str, str]  # POSIX path below the lib folder -> sha256

    def __post_init__(self) -> None:
        object.__setattr__(self, "files", MappingProxyType(dict(self.files)))

    @classmethod
    def from_dict(cls, data: object) -> VendoredDistribution:
        """The entry `data` holds; InvalidManifest names every problem with it."""
        problems: list[str] = []
        entry = _distribution(data, "", problems)
        if entry is None:
            raise InvalidManifest(problems)
        return entry

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "wheel": self.wheel,
            "wheel_sha256": self.wheel_sha256,
            "files": dict(self.files),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Manifest:
    """What vendorer wrote into a lib folder, for which profile, lock and options."""

    profile: str  # the profile's name
    lock_hash: str  # the lock's inputs hash
    slim: bool
    distributions: Mapping[str, VendoredDistribution]  # canonical name -> entry

    def __post_init__(self) -> None:
        object.__setattr__(self, "distributions", MappingProxyType(dict(self.distributions)))

    @classmethod
    def from_dict(cls, data: object) -> Manifest:
        """The manifest `data` holds; InvalidManifest names every problem with it."""
        table = _of_this_format(data)
        problems: list[str] = []
        profile = _take(table, "profile", str, "", problems)
        lock_hash = _take(table, "lock_hash", str, "", problems)
        slim = _take(table, "slim", bool, "", problems)
        distributions: dict[str, VendoredDistribution] = {}
        for name, value in (_take(table, "distributions", dict, "", problems) or {}).items():
            entry = _distribution(value, f"distributions.{name}", problems)
            if entry is not None:
                distributions[name] = entry
        if problems or profile is None or lock_hash is None or slim is None:
            raise InvalidManifest(problems)
        return cls(profile=profile, lock_hash=lock_hash, slim=slim, distributions=distributions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "profile": self.profile,
            "lock_hash": self.lock_hash,
            "slim": self.slim,
            "distributions": {name: entry.to_dict() for name, entry in self.distributions.items()},
        }

    def files(self) -> dict[str, str]:
        """Every file the distributions wrote (path below the lib folder -> sha256)."""
        return {
            relative: sha
            for entry in self.distributions.values()
            for relative, sha in entry.files.items()
        }


def owned_paths(manifest: Manifest | None) -> frozenset[str]:
    """The paths of a lib folder that are vendorer's (with no manifest yet: the two it writes)."""
    files = () if manifest is None else manifest.files()
    return frozenset({MANIFEST, GITATTRIBUTES, *files})


def _of_this_format(data: object) -> Mapping[str, Any]:
    """`data` as a table, when it is a manifest of this vendorer's format."""
    found = data.get("format") if isinstance(data, dict) else None
    number = found if type(found) is int else None  # not true, not 1.0
    if number is not None and number > FORMAT:
        raise InvalidManifest([f"written by a newer vendorer, format {number}: upgrade"])
    if number != FORMAT or not isinstance(data, dict):
        raise InvalidManifest([f"not a vendorer manifest of format {FORMAT}"])
    return data


def _distribution(data: object, where: str, problems: list[str]) -> VendoredDistribution | None:
    """The entry `data` at key path `where`; None, with `problems` told why, if it is not one."""
    if not isinstance(data, dict):
        problems.append(f"{where or 'entry'}: must be an object, not {_kind(data)}")
        return None
    before = len(problems)
    version = _take(data, "version", str, where, problems)
    wheel = _take(data, "wheel", str, where, problems)
    sha = _take(data, "wheel_sha256", str, where, problems)
    files = _take(data, "files", dict, where, problems)
    prefix = f"{where}.files" if where else "files"
    for path, file_sha in (files or {}).items():
        if not isinstance(file_sha, str):
            problems.append(f"{prefix}.{path}: must be a string, not {_kind(file_sha)}")
    if len(problems) > before or version is None or wheel is None or sha is None or files is None:
        return None
    return VendoredDistribution(version=version, wheel=wheel, wheel_sha256=sha, files=files)


# What a JSON value is, as a reader of the file would name it (any other: a number).
_KINDS: Final[Mapping[type, str]] = {
    str: "a string",
    bool: "true or false",
    dict: "an object",
    list: "an array",
    type(None): "null",
}


def _kind(value: object) -> str:
    return _KINDS.get(type(value), "a number")


def _take(data: Mapping[str, Any], key: str, kind: type, where: str, problems: list[str]) -> Any:
    """`data[key]` when it is of `kind`; else None, and `problems` says why."""
    shown = f"{where}.{key}" if where else key
    if key not in data:
        problems.append(f"{shown}: missing")
        return None
    value = data[key]
    if not isinstance(value, kind):
        problems.append(f"{shown}: must be {_KINDS[kind]}, not {_kind(value)}")
        return None
    return value


def parse_manifest(text: str) -> Manifest:
    """The manifest in `text`; InvalidManifest (a ValueError) says what is wrong with it."""
    try:
        data: object = json.loads(text)
    except ValueError as error:
        raise InvalidManifest([f"not JSON: {error}"]) from None
    return Manifest.from_dict(data)


def manifest_text(manifest: Manifest) -> str:
    """The manifest's file text (what `parse_manifest` reads back)."""
    return json.dumps(manifest.to_dict(), indent=1, sort_keys=True) + "\n"


def read_manifest(folder: Path) -> Manifest | None:
    """The vendored tree's manifest; None when nothing was vendored there yet."""
    path = folder / MANIFEST
    try:
        return parse_manifest(read_bounded(path).decode("utf-8"))
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ManifestError(path, error.strerror or str(error)) from None
    except ValueError as error:
        raise ManifestError(path, str(error)) from None
