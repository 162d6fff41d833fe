"""Target profiles: a foreign interpreter described completely, as data.

A profile holds what vendorer must know about the server's Python without running there: its PEP 508
marker environment, its compatible wheel tags (most specific first) and the server's layout. Nothing
in this module reads the running interpreter.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, get_args

from packaging import tags as pytags
from packaging.version import InvalidVersion, Version

from vendorer._util.tomlfile import read_toml
from vendorer.errors import ProfileError

__all__ = [
    "MARKER_KEYS",
    "Launcher",
    "Profile",
    "PythonSpec",
    "ServerLayout",
    "derive_tags",
    "is_host_built",
    "load_profile_file",
    "manylinux_platforms",
    "profile_from_dict",
    "profile_to_dict",
    "version_problem",
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
class PythonSpec:
    """The interpreter: implementation, full version, and ABIs + platforms or explicit tags."""

    implementation: str
    version: Version
    abis: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    explicit_tags: tuple[str, ...] = ()


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


def manylinux_platforms(glibc: tuple[int, int], arch: str) -> list[str]:
    """The platform tags a Linux target with glibc `glibc` on `arch` accepts, best first.

    Every `manylinux_2_N` from the target's glibc down to the oldest defined for the architecture,
    each legacy alias (`manylinux2014`, `manylinux2010`, `manylinux1`) right after its PEP 600
    equal, as `packaging.tags` lists them; then `linux_<arch>`, last (see `is_host_built`).
    """
    major, minor = glibc
    if major != 2:
        return [f"linux_{arch}"]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    oldest = 5 if arch in {"x86_64", "i686"} else 17
    platforms = []
    for glibc_minor in range(minor, oldest - 1, -1):
        platforms.append(f"manylinux_2_{glibc_minor}_{arch}")
        alias = legacy.get(glibc_minor)
        if alias and (glibc_minor == 17 or arch in {"x86_64", "i686"}):
            platforms.append(f"{alias}_{arch}")
    return [*platforms, f"linux_{arch}"]


def is_host_built(tag: pytags.Tag) -> bool:
    """Whether `tag` is `linux_<arch>`: a wheel built on some Linux machine, with no promise.

    packaging (26.3 and later) ranks `linux_<arch>` first for the interpreter running it, because
    such a wheel there was built on that very machine. A profile describes another machine: the
    `linux_<arch>` wheels vendorer finds were built elsewhere (often on the developer's host) and
    promise nothing about the target's glibc, while a manylinux wheel does. So for a profile they
    rank last, as packaging ranked them before 26.3, and the lock step warns when it takes one.
    """
    return tag.platform.startswith("linux_")


def derive_tags(python: PythonSpec) -> tuple[pytags.Tag, ...]:
    """The ordered compatible tags of `python`, as packaging computes them for a running one,
    except that `linux_<arch>` ranks after the other platforms (`is_host_built`), in derived and
    explicit lists alike (profiles captured before this rule listed it first)."""
    if python.explicit_tags:
        ordered: list[pytags.Tag] = []
        for text in python.explicit_tags:
            ordered.extend(pytags.parse_tag(text))
        return _host_built_last(dict.fromkeys(ordered))
    version = (python.version.major, python.version.minor)
    interpreter = f"{python.implementation}{version[0]}{version[1]}"
    if python.implementation == "cp":
        specific = pytags.cpython_tags(version, python.abis, python.platforms)
    else:
        specific = pytags.generic_tags(interpreter, python.abis, python.platforms)
    general = pytags.compatible_tags(version, interpreter, python.platforms)
    return _host_built_last(dict.fromkeys([*specific, *general]))


def _host_built_last(tags: Iterable[pytags.Tag]) -> tuple[pytags.Tag, ...]:
    """Within each run of tags of one interpreter and ABI, `linux_<arch>` after the others."""
    ordered: list[pytags.Tag] = []
    for _, run in itertools.groupby(tags, key=lambda tag: (tag.interpreter, tag.abi)):
        members = list(run)
        ordered += [tag for tag in members if not is_host_built(tag)]
        ordered += [tag for tag in members if is_host_built(tag)]
    return tuple(ordered)


def version_problem(version: Version) -> str | None:
    """Why `version` cannot be a target Python's full version (the end of a sentence that starts
    with it); None when it can. Tags are derived for every minor version below it: 3.99999999
    would take all the memory there is."""
    if len(version.release) != 3:
        return "must be a full version (3.6.1)"
    if version.major > 9 or version.minor > 99:
        return "is not a Python version (such as 3.6.1)"
    return None


def load_profile_file(path: Path, *, source: str | None = None) -> Profile:
    """Read and validate a profile file; every problem is reported at once."""
    data = read_toml(path)
    return profile_from_dict(data, origin=str(path), source=source or str(path))


def profile_from_dict(data: Mapping[str, Any], *, origin: str, source: str = "") -> Profile:
    """Validate `data` (a parsed profile) and build the model, or raise ProfileError."""
    problems = _Problems()
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
        _check_agreement(python, markers, profile_tags, problems)
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


class _Problems:
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
            self.add(key, f"must be a table, not {_kind(value)}")
        else:
            return value
        return None

    def string(self, data: Mapping[str, Any], key: str, *, path: str = "") -> str:
        value = data.get(key)
        where = f"{path}{key}"
        if value is None:
            self.add(where, "missing")
        elif not isinstance(value, str):
            self.add(where, f"must be a string, not {_kind(value)}")
        elif not value.strip():
            self.add(where, "must not be empty")
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
        else:
            return tuple(value)
        return ()

    def unknown_keys(self, data: Mapping[str, Any], path: str, known: set[str]) -> None:
        for key in sorted(set(data) - known):
            self.add(f"{path}{key}", f"unknown key (known: {', '.join(sorted(known))})")


def _kind(value: object) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _python_spec(table: Mapping[str, Any] | None, problems: _Problems) -> PythonSpec | None:
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


def _markers(table: Mapping[str, Any] | None, problems: _Problems) -> dict[str, str] | None:
    if table is None:
        return None
    markers: dict[str, str] = {}
    for key in MARKER_KEYS:
        value = table.get(key)
        if value is None:
            problems.add(f"markers.{key}", "missing")
        elif not isinstance(value, str):
            problems.add(f"markers.{key}", f"must be a string, not {_kind(value)}")
        else:
            markers[key] = value  # may be empty: implementation_name is "" on Python 2
    problems.unknown_keys(table, "markers.", set(MARKER_KEYS))
    return markers if len(markers) == len(MARKER_KEYS) else None


def _server(table: Mapping[str, Any] | None, problems: _Problems) -> ServerLayout | None:
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


def _check_agreement(
    python: PythonSpec,
    markers: Mapping[str, str],
    profile_tags: tuple[pytags.Tag, ...],
    problems: _Problems,
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
