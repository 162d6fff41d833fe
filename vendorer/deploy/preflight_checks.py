"""The preflight's checks, as pure functions over data: a `Site`, the package's file names, and
what Kudu shows of wwwroot (`ServerState`); each finding is a `Problem` naming the setting, why,
the az CLI command that changes it, and the fix `--fix-settings` makes, if any.

Sources: notes/azure-deploy-research.md §1, §3, §5, §7 (see `vendorer.deploy.preflight`).
Setting values are never shown, except those that cannot be secrets (a build switch, PYTHONPATH).
"""

from __future__ import annotations

import shlex
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Final

from packaging.version import Version

from vendorer.deploy.build_settings import RUN_FROM_PACKAGE, SHOWN, build_settings_fix
from vendorer.deploy.oryx import FLASK_FILES, detect_in
from vendorer.deploy.site import Site
from vendorer.install.manifest import MANIFEST
from vendorer.target.layout import ORYX_LIB

__all__ = ["Problem", "ServerCleanup", "ServerState", "SettingChange", "preflight"]

WWWROOT: Final = "/home/site/wwwroot"


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingChange:
    name: str
    value: str | None  # None: remove the setting


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerCleanup:
    path: str  # below HOME: site/wwwroot/antenv
    folder: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    setting: str  # what to change: an app setting, linuxFxVersion, a path in wwwroot
    reason: str  # what it would do to the deployment
    how: str  # the command that changes it
    fix: SettingChange | ServerCleanup | None = None  # what --fix-settings does
    blocking: bool = True  # False: vendorer cannot tell for sure, it warns

    def describe(self) -> str:
        return f"{self.setting} {self.reason}\n    change it: {self.how}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerState:
    """What Kudu shows before the deployment."""

    wwwroot: frozenset[str] = frozenset()  # top-level names in wwwroot, folders with a "/"
    functions_lib: frozenset[str] | None = None  # what .python_packages/... holds; None: absent


def preflight(
    site: Site,
    package_files: Collection[str],
    *,
    python: str | None,
    server: ServerState | None = None,
    lib_dir: str | None = None,
) -> tuple[Problem, ...]:
    """Every problem found: `package_files` are the package's names (POSIX, relative), `python`
    the profile's "X.Y", `lib_dir` the vendored folder in the package (App Service on Linux
    needs a PYTHONPATH setting for any other than `__oryx_packages__`)."""
    return (
        *_build_settings(site),
        *_python_version(site, python),
        *_startup(site, package_files, python),
        *_lib_path(site, lib_dir),
        *_leftovers(site, server),
    )


# --- the checks ----------------------------------------------------------------------------------


def _build_settings(site: Site) -> Iterator[Problem]:
    """The settings `build_settings_fix` would change (the one rule the ARM side writes)."""
    change = build_settings_fix(site.settings, site.plan)
    fixes = [*change.updates.items(), *((name, None) for name in change.removals)]
    for name, value in fixes:
        current = _setting(site, name) or ""
        said = f"is {current}" if name.upper() in SHOWN else "is set"
        if name.upper() == RUN_FROM_PACKAGE and site.plan != "functions-flex":
            said = "is a URL"
        what = "remove it" if value is None else f"set it to {value}"
        yield Problem(
            setting=name,
            reason=f"{said}: {change.reasons[name]}; {what}",
            how=_set_setting(site, name, value),
            fix=SettingChange(name=name, value=value),
        )


def _python_version(site: Site, python: str | None) -> Iterator[Problem]:
    if python is None or site.plan == "app-service-windows":
        return
    functions = site.plan.startswith("functions")
    stack_name = "Python" if functions else "PYTHON"
    if site.plan == "functions-flex":
        setting, have = "functionAppConfig.runtime.version", site.python_version
        how = _az(site, ["runtime", "config", "set"], ["--runtime-version", _minor(python)])
    else:
        setting, fx = "linuxFxVersion", site.linux_fx_version or ""
        stack, _, have = fx.partition("|")
        how = _az(site, ["config", "set"], ["--linux-fx-version", f"{stack_name}|{_minor(python)}"])
        if fx and stack.strip().upper() != "PYTHON":
            yield Problem(setting=setting, reason=f"is {fx}: the site does not run Python", how=how)
            return
    if have and _minor(have) != _minor(python):
        yield Problem(
            setting=setting,
            reason=(
                f"says Python {have.strip()}, but the package's libraries are for Python "
                f"{_minor(python)}; change the site's Python, or vendor with a profile for "
                f"{_minor(have)}"
            ),
            how=how,
        )


def _startup(site: Site, files: Collection[str], python: str | None) -> Iterator[Problem]:
    if site.plan != "app-service-linux" or (site.startup_command or "").strip():
        return
    if _oryx_finds_app(files, python):
        return
    known = site.ref is not None  # through Kudu alone, the startup command cannot be seen
    reason = (
        "is empty, and Oryx would not find the app in the package: no top-level folder with "
        f"wsgi.py (Django), none of {', '.join(FLASK_FILES)} at the top "
        "(started as <module>:app); App Service would serve its default page"
    )
    command = "gunicorn --bind=0.0.0.0 --timeout 600 <module>:<app>"
    yield Problem(
        setting="appCommandLine (the startup command)",
        reason=reason if known else f"cannot be seen through Kudu; if it {reason}",
        how=_az(site, ["config", "set"], ["--startup-file", command]),
        blocking=known,
    )


def _oryx_finds_app(files: Collection[str], python: str | None) -> bool:
    """Oryx's detection (research §7, `deploy.oryx`): Django's `<folder>/wsgi.py`, Flask's
    modules, and on Python 3.14+ FastAPI's (whose content Oryx reads: vendorer gives it the
    benefit)."""
    numbers = _version_tuple(python) if python else ()
    version = Version(".".join(map(str, numbers))) if numbers else None
    return detect_in(files, version) is not None


def _lib_path(site: Site, lib_dir: str | None) -> Iterator[Problem]:
    if site.plan != "app-service-linux" or lib_dir is None:
        return
    if lib_dir == ORYX_LIB:
        if _setting(site, "PYTHONNOUSERSITE"):
            yield Problem(
                setting="PYTHONNOUSERSITE",
                reason=f"is set: it turns off the user site, where Oryx names {ORYX_LIB}",
                how=_set_setting(site, "PYTHONNOUSERSITE", None),
                fix=SettingChange(name="PYTHONNOUSERSITE", value=None),
            )
        return
    entry = f"{WWWROOT}/{lib_dir.strip('/')}"
    current = _setting(site, "PYTHONPATH") or ""
    if entry in current.split(":"):
        return
    value = f"{current}:{entry}" if current else entry
    yield Problem(
        setting="PYTHONPATH",
        reason=f"does not name {entry}: the app would not import the vendored libraries",
        how=_set_setting(site, "PYTHONPATH", value),
        fix=SettingChange(name="PYTHONPATH", value=value),
    )


def _leftovers(site: Site, server: ServerState | None) -> Iterator[Problem]:
    if server is None:
        return
    if site.plan == "app-service-linux":
        for name, folder, what in (
            ("antenv", True, "a virtual environment an Oryx build left: Oryx prefers it"),
            ("oryx-manifest.toml", False, "an Oryx build's manifest: it can name another venv"),
        ):
            if (name + "/" if folder else name) in server.wwwroot:
                yield _leftover(site, name, folder, f"{what} and ignores {ORYX_LIB}")
    lib = server.functions_lib
    if site.plan == "functions-dedicated" and lib is not None and MANIFEST not in lib:
        what = (
            "holds packages vendorer did not put there (a remote build's): zipdeploy writes "
            "the package over them and deletes none, so versions would mix"
        )
        yield _leftover(site, ".python_packages", True, what)


def _leftover(site: Site, name: str, folder: bool, what: str) -> Problem:
    ssh = _az(site, ["ssh"], [], group="webapp")  # function apps too: /home is shared
    return Problem(
        setting=f"{WWWROOT}/{name} on the server",
        reason=f"is {what}; remove it",
        how=f"rm -rf {WWWROOT}/{name} in an SSH console on the site ({ssh})",
        fix=ServerCleanup(path=f"site/wwwroot/{name}", folder=folder),
    )


# --- helpers -------------------------------------------------------------------------------------


def _setting(site: Site, name: str) -> str | None:
    """An app setting's value; names are matched without regard to case, as Azure does."""
    if name in site.settings:
        return site.settings[name]
    folded = name.casefold()
    return next((v for k, v in site.settings.items() if k.casefold() == folded), None)


def _minor(version: str) -> str:
    return ".".join(version.strip().split(".")[:2])


def _version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in _minor(version).split("."))
    except ValueError:
        return ()


def _set_setting(site: Site, name: str, value: str | None) -> str:
    if value is None:
        return _az(site, ["config", "appsettings", "delete"], ["--setting-names", name])
    return _az(site, ["config", "appsettings", "set"], ["--settings", f"{name}={value}"])


def _az(site: Site, command: list[str], options: list[str], group: str | None = None) -> str:
    """The az CLI command for the site (`functionapp` or `webapp`), values quoted for a shell."""
    group = group or ("functionapp" if site.plan.startswith("functions") else "webapp")
    ref = site.ref
    words = ["az", group, *command, "--name", shlex.quote(site.name), "--resource-group"]
    words.append(shlex.quote(ref.resource_group) if ref else "<resource-group>")
    if ref and ref.subscription:
        words += ["--subscription", shlex.quote(ref.subscription)]
    return " ".join(words + [shlex.quote(option) for option in options])
