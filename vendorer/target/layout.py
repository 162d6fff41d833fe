"""The server's layout: paths on the server in its own spelling, the lib folder's PYTHONPATH entry,
the lib folders the platform puts on sys.path by itself, and what must hold for it to do so.

Where a profile's Python runs (`platform_of`) decides all of it: App Service on Linux (Oryx's
startup script loads `__oryx_packages__`), Azure Functions (the worker loads
`.python_packages/lib/site-packages`, and replaces PYTHONPATH), the App Service Windows site
extensions (web.config's PYTHONPATH), or another host.
"""

from __future__ import annotations

import ntpath
import posixpath
from typing import Final, Literal

from vendorer.target.profile import Profile

__all__ = [
    "FUNCTIONS_LIB",
    "ORYX_BUILD_OUTPUTS",
    "ORYX_LIB",
    "SELF_LOADED",
    "Platform",
    "load_conditions",
    "never_loaded",
    "platform_of",
    "pythonpath_entry",
    "server_path",
]

Platform = Literal["linux", "functions", "windows", "other"]
FUNCTIONS_LIB: Final = ".python_packages/lib/site-packages"
ORYX_LIB: Final = "__oryx_packages__"
# Folders the platform puts on sys.path by itself: Azure Functions' host, and Oryx's startup
# script on App Service on Linux (when the app has no antenv virtualenv).
SELF_LOADED: Final = frozenset({FUNCTIONS_LIB, ORYX_LIB})
# What an Oryx build leaves in wwwroot (microsoft/Oryx scriptgenerator.go,
# getPackageSetupCommand): while either is there, Oryx's startup script uses that build's
# virtual environment and does not load __oryx_packages__.
ORYX_BUILD_OUTPUTS: Final = ("antenv", "oryx-manifest.toml")

_ORYX_CONDITIONS: Final = (
    "wwwroot holds no antenv folder and no oryx-manifest.toml (an Oryx build writes both: "
    "keep the build off, SCM_DO_BUILD_DURING_DEPLOYMENT=false)",
    f"{ORYX_LIB} is there when the container starts (Oryx looks once: restart the site after "
    "changing it)",
    "Python's user site is on (no PYTHONNOUSERSITE, no python -s): Oryx puts the folder on "
    "sys.path through a .pth file there",
)
_FUNCTIONS_CONDITIONS: Final = (
    "the package is published as it is: `func azure functionapp publish --no-build` (a remote "
    "build, or --build local with a stale .python_packages/requirements.txt.md5, replaces the "
    "folder), or `vendorer deploy`",
)


def platform_of(profile: Profile) -> Platform:
    """Where a profile's Python runs: an App Service Windows site extension (it names wfastcgi),
    Azure Functions (its profiles vendor into the folder the Functions worker loads), App Service
    on Linux, or another Windows host."""
    if profile.is_windows:
        return "windows" if profile.server.wfastcgi else "other"
    return "functions" if profile.server.lib_dir == FUNCTIONS_LIB else "linux"


def server_path(profile: Profile, *parts: str) -> str:
    """An absolute path on the server below the site root, in the server's own spelling."""
    path = ntpath if profile.is_windows else posixpath
    pieces = [piece.replace("/", "\\") if profile.is_windows else piece for piece in parts]
    return str(path.join(profile.server.site_root, *pieces))


def pythonpath_entry(profile: Profile, lib_dir: str) -> str | None:
    """The lib folder as the server sees it, for PYTHONPATH; None when the platform loads it by
    itself (App Service on Linux `__oryx_packages__`, Functions `.python_packages/...`, each only
    its own)."""
    if lib_dir == _loaded_by_itself(profile):
        return None
    separator = "\\" if profile.is_windows else "/"
    return profile.server.site_root + separator + lib_dir.replace("/", separator)


def never_loaded(profile: Profile, lib_dir: str) -> str | None:
    """Why the platform never loads `lib_dir`, whatever PYTHONPATH says; None when it can."""
    if platform_of(profile) == "functions" and lib_dir != FUNCTIONS_LIB:
        return (
            f"the Functions worker loads only {FUNCTIONS_LIB} (it replaces PYTHONPATH), not "
            f"{lib_dir}"
        )
    return None


def _loaded_by_itself(profile: Profile) -> str | None:
    return {"linux": ORYX_LIB, "functions": FUNCTIONS_LIB}.get(platform_of(profile))


def load_conditions(profile: Profile, lib_dir: str) -> tuple[str, ...]:
    """What must hold for the platform to put `lib_dir` on sys.path by itself (nothing when it
    does not load the folder by itself: then a PYTHONPATH entry does it)."""
    if pythonpath_entry(profile, lib_dir) is not None:
        return ()
    return _FUNCTIONS_CONDITIONS if lib_dir == FUNCTIONS_LIB else _ORYX_CONDITIONS
