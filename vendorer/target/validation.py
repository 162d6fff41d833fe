"""Checks of a profile's file form: problems collected as `key.path: what is wrong`, so that
every one is reported at once, and the rules that make a profile describe one interpreter (its
version, its tags and its marker environment agree).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from packaging import tags as pytags
from packaging.version import Version

from vendorer._util.text import CONTROL_PROBLEM, has_control
from vendorer.target.tags import PythonSpec

__all__ = ["Problems", "check_agreement", "kind", "version_problem"]


class Problems:
    """Collects validation problems as `key.path: what is wrong`."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def __bool__(self) -> bool:
        return bool(self.items)

    def add(self, key: str, problem: str) -> None:
        self.items.append(f"{key}: {problem}")

    def table(self, data: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
        value = data.get(key)
        if value is None:
            self.add(key, "missing")
        elif not isinstance(value, Mapping):
            self.add(key, f"must be a table, not {kind(value)}")
        else:
            return value
        return None

    def string(self, data: Mapping[str, Any], key: str, *, path: str = "") -> str:
        value = data.get(key)
        where = f"{path}{key}"
        if value is None:
            self.add(where, "missing")
        elif not isinstance(value, str):
            self.add(where, f"must be a string, not {kind(value)}")
        elif not value.strip():
            self.add(where, "must not be empty")
        elif has_control(value):
            self.add(where, CONTROL_PROBLEM)
        else:
            return value
        return ""

    def optional_string(self, data: Mapping[str, Any], key: str, *, path: str) -> str | None:
        if key not in data:
            return None
        return self.string(data, key, path=path) or None

    def strings(self, data: Mapping[str, Any], key: str, *, path: str) -> tuple[str, ...]:
        value = data.get(key)
        where = f"{path}{key}"
        if value is None:
            self.add(where, "missing")
        elif not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.add(where, "must be a list of strings")
        elif not value:
            self.add(where, "must not be empty")
        elif any(not item.strip() for item in value):
            self.add(where, "must not hold an empty string")
        elif any(has_control(item) for item in value):
            self.add(where, CONTROL_PROBLEM)
        else:
            return tuple(value)
        return ()

    def unknown_keys(self, data: Mapping[str, Any], path: str, known: set[str]) -> None:
        for key in sorted(set(data) - known):
            self.add(f"{path}{key}", f"unknown key (known: {', '.join(sorted(known))})")


def kind(value: object) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def version_problem(version: Version) -> str | None:
    """Why `version` cannot be a target Python's full version (the end of a sentence that starts
    with it); None when it can. Tags are derived for every minor version below it: 3.99999999
    would take all the memory there is."""
    if len(version.release) != 3:
        return "must be a full version (3.6.1)"
    if version.major > 9 or version.minor > 99:
        return "is not a Python version (such as 3.6.1)"
    return None


# Which platform_machine values a platform tag's architecture can report.
_MACHINES: Final = {
    "amd64": {"AMD64"},
    "win32": {"x86", "AMD64"},  # a 32-bit CPython under WOW64
    "arm64": {"ARM64", "arm64", "aarch64"},
    "x86_64": {"x86_64", "AMD64"},
    "i686": {"i686", "i386", "x86"},
    "aarch64": {"aarch64", "arm64"},
    "universal2": {"x86_64", "arm64"},
}


_PYTHON2_SYS_PLATFORMS: Final = {"linux2": "linux"}


def _platform_family(platform: str) -> tuple[str, str]:
    """(sys_platform, architecture) of a platform tag."""
    if platform.startswith("win"):
        return "win32", "win32" if platform == "win32" else platform.removeprefix("win_")
    if platform.startswith("macosx_"):
        return "darwin", platform.split("_", 3)[-1]
    if platform.startswith(("manylinux", "musllinux", "linux_")):
        arch = re.sub(r"^(manylinux\d*|musllinux|linux)(_\d+_\d+)?_", "", platform)
        return "linux", arch
    return "", ""


def check_agreement(
    python: PythonSpec,
    markers: Mapping[str, str],
    profile_tags: tuple[pytags.Tag, ...],
    problems: Problems,
) -> None:
    """The tags and the marker environment must describe the same interpreter."""
    version = python.version
    expected = {
        "python_full_version": str(version),
        "python_version": f"{version.major}.{version.minor}",
    }
    for key, value in expected.items():
        if markers[key] != value:
            problems.add(
                f"markers.{key}", f"{markers[key]!r} disagrees with python.version {str(version)!r}"
            )
    if python.implementation == "cp" and markers["platform_python_implementation"] != "CPython":
        problems.add("markers.platform_python_implementation", "must be 'CPython' for 'cp'")
    for platform in _platforms(profile_tags):
        sys_platform, arch = _platform_family(platform)
        if sys_platform and sys_platform != _PYTHON2_SYS_PLATFORMS.get(
            markers["sys_platform"], markers["sys_platform"]
        ):
            problems.add(
                "markers.sys_platform",
                f"{markers['sys_platform']!r} disagrees with platform tag {platform!r}",
            )
            return
        machines = _MACHINES.get(arch, {arch})
        if sys_platform and markers["platform_machine"] not in machines:
            problems.add(
                "markers.platform_machine",
                f"{markers['platform_machine']!r} disagrees with platform tag {platform!r}",
            )
            return
    interpreters = {tag.interpreter for tag in profile_tags}
    own = f"{python.implementation}{version.major}{version.minor}"
    if own not in interpreters:
        problems.add("python.tags", f"no tag names the interpreter {own!r}")


def _platforms(profile_tags: tuple[pytags.Tag, ...]) -> Iterator[str]:
    return iter(dict.fromkeys(tag.platform for tag in profile_tags if tag.platform != "any"))
