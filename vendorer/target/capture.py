"""Turning the capture script's output (facts read on the target itself) into an exact profile."""

from __future__ import annotations

import importlib.resources
import ntpath
import posixpath
import re
from collections.abc import Mapping
from typing import Any, Final

from packaging import tags as pytags
from packaging.version import InvalidVersion, Version

from vendorer._util.tomlfile import kind_of
from vendorer.errors import ConfigError
from vendorer.target.profile import MARKER_KEYS, Launcher, Profile, profile_from_dict
from vendorer.target.tags import PythonSpec, derive_tags, manylinux_platforms
from vendorer.target.validation import version_problem

__all__ = ["capture_script", "profile_from_capture"]

_SITE_EXTENSION = re.compile(r"^python\d+x(64|86)$", re.IGNORECASE)
# The type of each fact the script prints. A fact may be missing (an older script prints fewer),
# but one of another type is refused: the profile would be wrong without a word.
_FACT_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "markers": (dict,),
    "version_info": (list,),
    "executable": (str,),
    "prefix": (str,),
    "maxsize": (int,),
    "maxunicode": (int,),
    "debug_build": (bool,),
    "sysconfig_platform": (str,),
    "config_vars": (dict,),
    "purelib": (str, type(None)),
    "platlib": (str, type(None)),
    "glibc": (str,),
    "mac_ver": (str,),
    "home": (str, type(None)),
    "app_service": (bool,),
    "functions": (bool,),
    "wfastcgi": (bool,),
}


def capture_script() -> str:
    """The stdlib-only script to run with the target's interpreter (Python 2.7 or 3.x)."""
    return (importlib.resources.files("vendorer.target") / "capture_script.py").read_text("utf-8")


def profile_from_capture(
    facts: Mapping[str, Any],
    name: str,
    *,
    origin: str,
    site_root: str | None = None,
    lib_dir: str | None = None,
    site_extension: str | None = None,
) -> Profile:
    """A profile with the exact tags of the captured interpreter, computed with packaging.tags."""
    try:
        return _profile(
            facts,
            name,
            origin=origin,
            site_root=site_root,
            lib_dir=lib_dir,
            site_extension=site_extension,
        )
    except (AttributeError, KeyError, TypeError, ValueError) as error:  # a fact of the wrong shape
        raise ConfigError(
            f"{origin}: the capture script's output is malformed ({type(error).__name__}: "
            f"{error}); run the script on the target again and pass its whole output"
        ) from None


def _profile(
    facts: Mapping[str, Any],
    name: str,
    *,
    origin: str,
    site_root: str | None,
    lib_dir: str | None,
    site_extension: str | None,
) -> Profile:
    if facts.get("vendorer_capture") != 1 or not isinstance(facts.get("markers"), Mapping):
        raise ConfigError(
            f"{origin}: not the output of vendorer's capture script "
            "(run `vendorer profiles capture > capture.py` and run that on the target)"
        )
    problems = _mistyped(facts)
    if problems:
        raise ConfigError(
            f"{origin}: the capture script's output is malformed ({'; '.join(problems)}); run the "
            "script on the target again and pass its whole output"
        )
    markers = {key: str(facts["markers"].get(key, "")) for key in MARKER_KEYS}
    try:
        version = Version(markers["python_full_version"])
    except InvalidVersion:
        raise ConfigError(f"{origin}: python_full_version is not a version") from None
    problem = version_problem(version)
    if problem:
        raise ConfigError(f"{origin}: python_full_version {str(version)!r} {problem}")
    windows = markers["os_name"] == "nt"
    path = ntpath if windows else posixpath
    implementation = _implementation(markers["platform_python_implementation"])
    python = PythonSpec(
        implementation=implementation,
        version=version,
        abis=(_abi(facts, version) if implementation == "cp" else "none",),
        platforms=tuple(_platforms(facts, markers, windows)),
    )
    home = str(facts.get("home") or "")
    prefix = str(facts.get("prefix", ""))
    folder = path.basename(path.normpath(prefix))
    if site_extension is None and facts.get("wfastcgi") and _SITE_EXTENSION.match(folder):
        site_extension = folder.lower()
    site_root = site_root or (path.join(home, "site", "wwwroot") if home else "")
    default_lib = (
        ".python_packages/lib/site-packages"
        if facts.get("functions")
        else "__oryx_packages__"
        if facts.get("app_service") and not windows
        else "lib"
    )
    data: dict[str, Any] = {
        "name": name,
        "description": f"Captured from {facts.get('executable')} {version}",
        "python": {
            "implementation": implementation,
            "version": str(version),
            "tags": [str(tag) for tag in derive_tags(python)],
        },
        "markers": markers,
        "server": {
            "python": str(facts.get("executable", "")),
            "site_packages": str(facts.get("purelib", "")),
            "site_root": site_root,
            "launcher": _launcher(windows, int(facts.get("maxsize", 0))),
            "lib_dir": lib_dir or default_lib,
            "wfastcgi": path.join(prefix, "wfastcgi.py") if facts.get("wfastcgi") else None,
            "site_extension": site_extension,
        },
    }
    data["server"] = {key: value for key, value in data["server"].items() if value is not None}
    return profile_from_dict(data, origin=origin)


def _mistyped(facts: Mapping[str, Any]) -> list[str]:
    """Each fact whose type is not the one the script prints."""
    problems = [
        f"{key} must be {' or '.join(_kind(kind()) for kind in kinds)}, not {_kind(facts[key])}"
        for key, kinds in _FACT_TYPES.items()
        if key in facts and not _is(facts[key], kinds)
    ]
    markers = facts["markers"]
    problems += [
        f"markers.{key} must be a string, not {_kind(markers[key])}"
        for key in MARKER_KEYS
        if key in markers and not isinstance(markers[key], str)
    ]
    config = facts.get("config_vars")
    problems += [
        f"config_vars.{key} must be a string, a number or null, not {_kind(value)}"
        for key, value in (config.items() if isinstance(config, Mapping) else ())
        if not _is(value, (str, int, bool, type(None)))
    ]
    return problems


def _is(value: object, kinds: tuple[type, ...]) -> bool:
    """isinstance, where a boolean is not a number (JSON's true is not 1)."""
    return isinstance(value, kinds) and (bool in kinds or not isinstance(value, bool))


def _kind(value: object) -> str:
    return kind_of(value, in_json=True)


def _implementation(name: str) -> str:
    return {"CPython": "cp", "PyPy": "pp", "IronPython": "ip", "Jython": "jy"}.get(name, name)


def _abi(facts: Mapping[str, Any], version: Version) -> str:
    """The CPython ABI tag, by the rules packaging applies to a running interpreter."""
    config = facts.get("config_vars") or {}
    soabi = config.get("SOABI") or ""
    if soabi.startswith("cpython-"):
        return "cp" + soabi.split("-")[1]
    flags = ""
    if config.get("Py_GIL_DISABLED"):
        flags += "t"
    if config.get("Py_DEBUG") or facts.get("debug_build"):
        flags += "d"
    pymalloc = config.get("WITH_PYMALLOC")
    if version < Version("3.8") and (pymalloc is None or pymalloc):  # unknown counts as on
        flags += "m"
    if version < Version("3.3") and (
        config.get("Py_UNICODE_SIZE") == 4 or facts.get("maxunicode") == 0x10FFFF
    ):
        flags += "u"
    return f"cp{version.major}{version.minor}{flags}"


def _platforms(facts: Mapping[str, Any], markers: Mapping[str, str], windows: bool) -> list[str]:
    platform = str(facts.get("sysconfig_platform", "")).replace("-", "_").replace(".", "_")
    is_64bit = int(facts.get("maxsize", 0)) > 2**32
    if windows:
        return [platform]
    if markers["sys_platform"] == "darwin":
        release, arch = str(facts.get("mac_ver", "")), markers["platform_machine"]
        major, minor = (int(part) for part in [*release.split("."), "0"][:2])
        if major > 99 or minor > 99:  # packaging lists every version down to 10.0
            raise ValueError(f"mac_ver {release!r} is not a macOS version")
        return list(pytags.mac_platforms((major, minor), arch))
    arch = markers["platform_machine"]
    if arch == "x86_64" and not is_64bit:
        arch = "i686"
    glibc = re.fullmatch(r"glibc (\d+)\.(\d+)", str(facts.get("glibc", "")))
    if glibc and int(glibc[2]) > 200:  # every manylinux_2_N down to 2.5 is listed
        raise ValueError(f"{facts['glibc']!r} is not a glibc version")
    if glibc:
        return manylinux_platforms((int(glibc[1]), int(glibc[2])), arch)
    return [f"linux_{arch}"]


def _launcher(windows: bool, maxsize: int) -> Launcher:
    if not windows:
        return "posix"
    return "win-amd64" if maxsize > 2**32 else "win-ia32"
