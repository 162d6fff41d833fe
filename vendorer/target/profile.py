"""Target profiles: a foreign interpreter described completely, as data.

A profile holds what vendorer must know about the server's Python without running there: its PEP 508
marker environment, its compatible wheel tags (most specific first) and the server's layout. Nothing
in this module reads the running interpreter. This module holds the model and its file form;
`tags` derives the tags, `validation` checks the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, get_args

from packaging import tags as pytags
from packaging.version import InvalidVersion, Version

from vendorer._util.text import CONTROL_PROBLEM, has_control
from vendorer._util.tomlfile import read_toml
from vendorer.errors import ProfileError
from vendorer.target.tags import PythonSpec, derive_tags
from vendorer.target.validation import Problems, check_agreement, kind, version_problem

__all__ = [
    "MARKER_KEYS",
    "Launcher",
    "Profile",
    "PythonSpec",
    "ServerLayout",
    "load_profile_file",
    "profile_from_dict",
    "profile_to_dict",
]

MARKER_KEYS: Final = (
    "os_name",
    "sys_platform",
    "platform_machine",
    "platform_python_implementation",
    "platform_release",
    "platform_system",
    "platform_version",
    "python_version",
    "python_full_version",
    "implementation_name",
    "implementation_version",
)

Launcher = Literal["win-amd64", "win-ia32", "posix"]

LAUNCHERS: Final = get_args(Launcher)

NAME_PATTERN: Final = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerLayout:
    """Where things live on the server, and how the app carries its libraries."""

    python: str
    site_packages: str
    site_root: str
    launcher: Launcher
    lib_dir: str
    wfastcgi: str | None = None
    site_extension: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """A target interpreter. `tags` is derived once, at load time, most specific first."""

    name: str
    description: str
    python: PythonSpec
    markers: Mapping[str, str]
    server: ServerLayout
    tags: tuple[pytags.Tag, ...]
    source: str = ""

    def marker_environment(self) -> dict[str, str]:
        """A fresh copy of the PEP 508 environment, for `Marker.evaluate(environment=...)`."""
        return dict(self.markers)

    @property
    def is_windows(self) -> bool:
        return self.markers["sys_platform"] == "win32"


def load_profile_file(path: Path, *, source: str | None = None) -> Profile:
    """Read and validate a profile file; every problem is reported at once."""
    data = read_toml(path)
    return profile_from_dict(data, origin=str(path), source=source or str(path))


def profile_from_dict(data: Mapping[str, Any], *, origin: str, source: str = "") -> Profile:
    """Validate `data` (a parsed profile) and build the model, or raise ProfileError."""
    problems = Problems()
    name = problems.string(data, "name")
    if name and not NAME_PATTERN.match(name):
        problems.add("name", f"{name!r} is not a valid name (lowercase letters, digits, _ and -)")
    description = problems.string(data, "description")
    python = _python_spec(problems.table(data, "python"), problems)
    markers = _markers(problems.table(data, "markers"), problems)
    server = _server(problems.table(data, "server"), problems)
    problems.unknown_keys(data, "", {"name", "description", "python", "markers", "server"})
    profile_tags: tuple[pytags.Tag, ...] = ()
    if python is not None:
        try:
            profile_tags = derive_tags(python)
        except ValueError as error:  # packaging rejects the tag text
            problems.add("python.tags", str(error))
    if python is not None and markers is not None:
        check_agreement(python, markers, profile_tags, problems)
    if problems or python is None or markers is None or server is None:
        raise ProfileError(origin, problems.items)
    return Profile(
        name=name,
        description=description,
        python=python,
        markers=markers,
        server=server,
        tags=profile_tags,
        source=source,
    )


def profile_to_dict(profile: Profile) -> dict[str, Any]:
    """The file form of `profile` (what `profile_from_dict` reads back)."""
    python: dict[str, Any] = {
        "implementation": profile.python.implementation,
        "version": str(profile.python.version),
    }
    if profile.python.explicit_tags:
        python["tags"] = list(profile.python.explicit_tags)
    else:
        python["abis"] = list(profile.python.abis)
        python["platforms"] = list(profile.python.platforms)
    server = {
        "python": profile.server.python,
        "site_packages": profile.server.site_packages,
        "site_root": profile.server.site_root,
        "wfastcgi": profile.server.wfastcgi,
        "site_extension": profile.server.site_extension,
        "launcher": profile.server.launcher,
        "lib_dir": profile.server.lib_dir,
    }
    return {
        "name": profile.name,
        "description": profile.description,
        "python": python,
        "markers": {key: profile.markers[key] for key in MARKER_KEYS},
        "server": {key: value for key, value in server.items() if value is not None},
    }


def _python_spec(table: Mapping[str, Any] | None, problems: Problems) -> PythonSpec | None:
    if table is None:
        return None
    implementation = problems.string(table, "implementation", path="python.")
    version_text = problems.string(table, "version", path="python.")
    version: Version | None = None
    if version_text:
        try:
            version = Version(version_text)
        except InvalidVersion:
            problems.add("python.version", f"{version_text!r} is not a version")
        else:
            problem = version_problem(version)
            if problem:
                problems.add("python.version", f"{version_text!r} {problem}")
                version = None  # no tags are derived from it
    problems.unknown_keys(
        table, "python.", {"implementation", "version", "abis", "platforms", "tags"}
    )
    if "tags" in table:
        if "abis" in table or "platforms" in table:
            problems.add("python.tags", "give either tags, or abis and platforms, not both")
        explicit = problems.strings(table, "tags", path="python.")
        abis: tuple[str, ...] = ()
        platforms: tuple[str, ...] = ()
    else:
        explicit = ()
        abis = problems.strings(table, "abis", path="python.")
        platforms = problems.strings(table, "platforms", path="python.")
    if not implementation or version is None:
        return None
    return PythonSpec(
        implementation=implementation,
        version=version,
        abis=abis,
        platforms=platforms,
        explicit_tags=explicit,
    )


def _markers(table: Mapping[str, Any] | None, problems: Problems) -> dict[str, str] | None:
    if table is None:
        return None
    markers: dict[str, str] = {}
    for key in MARKER_KEYS:
        value = table.get(key)
        if value is None:
            problems.add(f"markers.{key}", "missing")
        elif not isinstance(value, str):
            problems.add(f"markers.{key}", f"must be a string, not {kind(value)}")
        else:
            if has_control(value):
                problems.add(f"markers.{key}", CONTROL_PROBLEM)
            markers[key] = value  # may be empty: implementation_name is "" on Python 2
    problems.unknown_keys(table, "markers.", set(MARKER_KEYS))
    return markers if len(markers) == len(MARKER_KEYS) else None


def _server(table: Mapping[str, Any] | None, problems: Problems) -> ServerLayout | None:
    if table is None:
        return None
    path = "server."
    python = problems.string(table, "python", path=path)
    site_packages = problems.string(table, "site_packages", path=path)
    site_root = problems.string(table, "site_root", path=path)
    launcher = problems.string(table, "launcher", path=path)
    if launcher and launcher not in LAUNCHERS:
        problems.add("server.launcher", f"{launcher!r} is not one of {', '.join(LAUNCHERS)}")
    lib_dir = problems.string(table, "lib_dir", path=path)
    if lib_dir and (
        lib_dir.startswith(("/", "\\")) or ":" in lib_dir or ".." in lib_dir.split("/")
    ):
        problems.add("server.lib_dir", f"{lib_dir!r} must be a relative path inside the app")
    wfastcgi = problems.optional_string(table, "wfastcgi", path=path)
    site_extension = problems.optional_string(table, "site_extension", path=path)
    problems.unknown_keys(
        table,
        path,
        {
            "python",
            "site_packages",
            "site_root",
            "launcher",
            "lib_dir",
            "wfastcgi",
            "site_extension",
        },
    )
    if not (python and site_packages and site_root and lib_dir) or launcher not in LAUNCHERS:
        return None
    return ServerLayout(
        python=python,
        site_packages=site_packages,
        site_root=site_root,
        launcher=launcher,  # type: ignore[arg-type]  # checked against LAUNCHERS above
        lib_dir=lib_dir,
        wfastcgi=wfastcgi,
        site_extension=site_extension,
    )
