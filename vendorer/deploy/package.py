"""`vendorer package`: the deployable zip of the whole app, the vendored lib folder included.

The app's files go in at their own paths, so the lib folder lands where the target loads it:
`__oryx_packages__` (or the lib folder named by a `PYTHONPATH` app setting) on App Service on
Linux, `.python_packages/lib/site-packages` on Azure Functions, `lib` beside a `web.config` whose
PYTHONPATH names it on the Windows site extensions (`package_webconfig`). What stays out, and
why, is in `package_rules` and `package_select`; how the bytes stay the same, in `package_zip`.

`plan_package` decides (and reads nothing but the app), `write_package` writes the zip atomically:
a stopped run leaves the previous package as it was.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from vendorer._util.files import HashCache, sha256_of
from vendorer.deploy.funcignore import FuncIgnore, parse_funcignore, read_funcignore
from vendorer.deploy.package_rules import PackageRules, compile_excludes, secret_reason
from vendorer.deploy.package_select import Exclusion, Selection, select_files
from vendorer.deploy.package_webconfig import packaged_webconfig
from vendorer.deploy.package_zip import Known, UnreadableFile, ZipMember, write_zip
from vendorer.errors import ConfigError, UsageError, VendorerError
from vendorer.inputs.options import hash_cache_path
from vendorer.install.libfolder import lib_dir_in_app, lib_folder
from vendorer.install.manifest import MANIFEST, read_manifest
from vendorer.target.layout import (
    ORYX_LIB,
    Platform,
    never_loaded,
    platform_of,
    server_path,
)
from vendorer.target.profile import Profile

__all__ = [
    "Exclusion",
    "PackageOptions",
    "PackagePlan",
    "PackageReport",
    "Platform",
    "package_app",
    "plan_package",
    "platform_of",
    "write_package",
]

FUNCIGNORE: Final = ".funcignore"
WEBCONFIG: Final = "web.config"
SECRET_ADVICE: Final = "add it to [tool.vendorer] exclude if it should stay out"


@dataclass(frozen=True, slots=True, kw_only=True)
class PackagePlan:
    """What a package holds and why, before a byte is written."""

    app: Path
    profile: str
    platform: Platform
    lib_dir: str
    output: Path
    members: tuple[ZipMember, ...]  # sorted by name
    excluded: tuple[Exclusion, ...]
    warnings: tuple[str, ...]  # secrets that go in, links and odd files that stay out
    notes: tuple[str, ...]  # what the target still needs (an app setting, a web.config update)

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(member.name for member in self.members if not member.name.endswith("/"))


@dataclass(frozen=True, slots=True, kw_only=True)
class PackageReport:
    plan: PackagePlan
    sha256: str
    size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PackageOptions:
    wheelhouse: Path | None = None  # the wheelhouse root; None: <app>/wheelhouse
    excludes: tuple[str, ...] = ()  # the patterns of `[tool.vendorer] exclude`


def package_app(
    app: Path, profile: Profile, lib_dir: str, output: Path, options: PackageOptions | None = None
) -> PackageReport:
    """Write the package of `app` for `profile` to `output`: plan, then write."""
    return write_package(plan_package(app, profile, lib_dir, output, options))


def plan_package(
    app: Path, profile: Profile, lib_dir: str, output: Path, options: PackageOptions | None = None
) -> PackagePlan:
    """Decide what the package of `app` holds. `lib_dir` is the vendored folder (relative to the
    app, or absolute inside it); `output` stays out of the package when it is inside the app."""
    options = options or PackageOptions()
    root = app.resolve()
    lib_dir = lib_dir_in_app(app, lib_dir)
    platform = platform_of(profile)
    owned = _vendored_files(app, profile, lib_dir)
    rules = PackageRules(
        functions=platform == "functions",
        wheelhouse=_inside(root, options.wheelhouse or app / "wheelhouse"),
        output=_inside(root, output),
        patterns=compile_excludes(options.excludes),
        lib_dir=lib_dir,
    )
    funcignore = _funcignore(root) if platform == "functions" else None
    selection = select_files(root, rules, funcignore)
    _check_lib_selected(selection, lib_dir)
    warnings = list(selection.warnings) + _secret_warnings(selection, owned)
    notes: list[str] = []
    members = [
        ZipMember(name=name, source=path, executable=_executable(path))
        for name, path in selection.files.items()
    ]
    members += [ZipMember(name=name) for name in selection.empty_folders]
    if platform == "windows":
        members = _with_webconfig(members, selection, profile, lib_dir, notes)
    warnings += _platform_warnings(platform, selection)
    notes += _platform_notes(platform, profile, lib_dir)
    return PackagePlan(
        app=root,
        profile=profile.name,
        platform=platform,
        lib_dir=lib_dir,
        output=output,
        members=tuple(sorted(members, key=lambda member: member.name)),
        excluded=selection.excluded,
        warnings=tuple(warnings),
        notes=tuple(notes),
    )


def write_package(plan: PackagePlan) -> PackageReport:
    """Write the planned zip to `plan.output` through a temporary file beside it."""
    output = plan.output
    try:
        temporary, descriptor = _new_temporary(output)
    except OSError as error:
        raise _write_error(output, error) from None
    try:
        with os.fdopen(descriptor, "wb") as stream:
            write_zip(plan.members, stream, _vendored_hashes(plan))
            stream.flush()
            os.fsync(stream.fileno())
        temporary.replace(output)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise _write_error(output, error) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return PackageReport(plan=plan, sha256=sha256_of(output), size=output.stat().st_size)


def _vendored_hashes(plan: PackagePlan) -> Known:
    """The sha256 of the lib folder's files from its hash cache (which `check` has just brought
    up to date): those files are read once, not twice. A file changed since is hashed again."""
    folder = lib_folder(plan.app, plan.lib_dir)
    hashes = HashCache(hash_cache_path(folder))

    def known(path: Path) -> str | None:
        return hashes.sha256(path) if path.is_relative_to(folder) else None

    return known


def _new_temporary(output: Path) -> tuple[Path, int]:
    """A new file beside `output`, named as `PackageRules` recognizes a partial package, with
    the mode the umask gives (as any file a program creates)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    while True:
        temporary = output.with_name(f".{output.name}.{secrets.token_hex(4)}.tmp")
        try:
            return temporary, os.open(temporary, flags, 0o666)
        except FileExistsError:
            continue


def _write_error(output: Path, error: OSError) -> VendorerError:
    return VendorerError(
        f"cannot write {output}: {error.strerror or error}; nothing was written (a previous "
        "package there is as it was)"
    )


def _inside(root: Path, path: Path | None) -> str | None:
    """`path` relative to the app, when it is inside it."""
    if path is None:
        return None
    resolved = path.resolve()
    return resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else None


def _vendored_files(app: Path, profile: Profile, lib_dir: str) -> set[str]:
    """The files vendorer vendored into `lib_dir` for `profile` (paths in the app), or why the
    package cannot be made from that folder."""
    problem = never_loaded(profile, lib_dir)
    if problem is not None:
        raise UsageError(
            f"{problem}: vendor there (leave out --lib-dir, or lib-dir in [tool.vendorer])"
        )
    manifest = read_manifest(lib_folder(app, lib_dir))
    build = f"vendorer build --profile {profile.name}"
    if manifest is None:
        raise VendorerError(
            f"{lib_dir} holds no vendored libraries (no {MANIFEST}): run `{build}` first"
        )
    if manifest.profile != profile.name:
        raise VendorerError(
            f"{lib_dir} was vendored for {manifest.profile}, not {profile.name}: run "
            f"`{build}` first"
        )
    return {f"{lib_dir}/{name}" for name in manifest.files()}


def _check_lib_selected(selection: Selection, lib_dir: str) -> None:
    """The lib folder must go in; a rule that leaves it out is the user's to change."""
    manifest = f"{lib_dir}/{MANIFEST}"
    if manifest in selection.files:
        return
    reason = next(
        (
            f"{exclusion.reason} leaves out {exclusion.path}"
            for exclusion in selection.excluded
            if manifest == exclusion.path or manifest.startswith(exclusion.path.rstrip("/") + "/")
        ),
        f"{manifest} is not a file vendorer can package",
    )
    raise ConfigError(
        f"the package needs the vendored libraries in {lib_dir}, but {reason}: change that rule"
    )


def _funcignore(root: Path) -> FuncIgnore | None:
    text = read_funcignore(root / FUNCIGNORE)
    return None if text is None else parse_funcignore(text)


def _executable(path: Path) -> bool:
    try:
        return path.stat().st_mode & 0o111 != 0
    except OSError as error:  # gone since the walk saw it
        raise UnreadableFile(path, error) from None


def _secret_warnings(selection: Selection, owned: set[str]) -> list[str]:
    """A warning for each file that looks like a secret and goes in; the vendored libraries'
    own files (certifi's cacert.pem) are not the app's secrets."""
    warnings = []
    for name, path in sorted(selection.files.items()):
        if name in owned:
            continue
        try:
            reason = secret_reason(name, path)
        except OSError as error:
            raise UnreadableFile(path, error) from None
        if reason:
            warnings.append(
                f"{name} looks like a secret ({reason}) and goes into the package: {SECRET_ADVICE}"
            )
    return warnings


def _with_webconfig(
    members: list[ZipMember], selection: Selection, profile: Profile, lib_dir: str, notes: list[str]
) -> list[ZipMember]:
    """The app's web.config (as it goes into the package: never read through a link out of the
    app) with vendorer's elements updated."""
    path = selection.files.get(WEBCONFIG)
    try:
        existing = path.read_bytes() if path is not None else None
    except OSError as error:
        raise UnreadableFile(path or Path(WEBCONFIG), error) from None
    text = packaged_webconfig(profile, lib_dir, existing, str(path or WEBCONFIG))
    data = text.encode("utf-8")
    if data != existing:
        notes.append(
            f"{WEBCONFIG}: the package holds it with vendorer's elements updated for {lib_dir}; "
            f"`vendorer webconfig --profile {profile.name}` updates your copy the same way"
        )
    kept = [member for member in members if member.name != WEBCONFIG]
    return [*kept, ZipMember(name=WEBCONFIG, data=data)]


def _platform_warnings(platform: Platform, selection: Selection) -> list[str]:
    if platform == "functions" and "host.json" not in selection.files:
        return ["the package has no host.json at its top: the Functions host needs one"]
    if platform == "linux" and "oryx-manifest.toml" in selection.files:
        return [
            "oryx-manifest.toml goes into the package: Oryx reads it at start, and one that "
            f"names a virtual environment makes it ignore {ORYX_LIB}"
        ]
    return []


def _platform_notes(platform: Platform, profile: Profile, lib_dir: str) -> list[str]:
    if platform == "linux" and lib_dir != ORYX_LIB:  # only that folder is loaded by itself
        return [f"on the server, set the app setting PYTHONPATH={server_path(profile, lib_dir)}"]
    if platform == "other":
        return [f"on the server, put {server_path(profile, lib_dir)} on PYTHONPATH"]
    return []
