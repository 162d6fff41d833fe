"""`vendorer check`: offline, is everything still true? Requirements -> lock -> wheelhouse -> lib.

Every drift comes back with the command that fixes it; what is worth knowing but no drift is a
reporter's notice. Nothing here touches the network or writes a file, so it suits pre-commit,
pre-push and pre-deploy hooks and CI.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from vendorer._util.files import HashCache
from vendorer.errors import VendorerError
from vendorer.inputs.options import LockOptions
from vendorer.install.libfolder import leftovers, run_in_progress
from vendorer.install.manifest import (
    MANIFEST,
    Manifest,
    ManifestError,
    owned_paths,
    read_manifest,
)
from vendorer.install.tree import hash_cache_path, scan_tree
from vendorer.lock.inputs_hash import current_inputs_hash
from vendorer.lock.model import Lock
from vendorer.lock.pylock import lock_path, read_lock
from vendorer.report import NULL_REPORTER, Reporter
from vendorer.target.layout import ORYX_BUILD_OUTPUTS, ORYX_LIB, platform_of
from vendorer.target.profile import Profile
from vendorer.wheelhouse.contents import (
    EXPORT_FILE,
    export_text,
    locked_wheels,
    owned_wheels,
    wheel_sha256s,
)

__all__ = ["CheckResult", "Drift", "check_app", "oryx_build_drifts"]


@dataclass(frozen=True, slots=True)
class Drift:
    what: str
    fix: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckResult:
    drifts: tuple[Drift, ...]
    distributions: int


def check_app(
    profile: Profile,
    requirements: Path,
    options: LockOptions,
    *,
    wheelhouse: Path,
    lib: Path | None,
    lib_dir: str | None = None,
    app: Path | None = None,
    reporter: Reporter = NULL_REPORTER,
) -> CheckResult:
    """Compare requirements, lock, wheelhouse and vendored tree (unless `lib` is None); return
    each difference, and tell `reporter` what it could not check. `lib_dir` is the lib folder as
    the app names it (default: its name); `app`, when given, is also looked at for what would
    make the target ignore the lib folder."""
    path = lock_path(requirements, profile.name)
    lock_fix = f"vendorer lock --profile {profile.name}"
    try:
        lock = read_lock(path)
    except VendorerError as error:
        return CheckResult(drifts=(Drift(str(error), lock_fix),), distributions=0)
    drifts: list[Drift] = []
    if current_inputs_hash(profile, requirements, lock, options) != lock.inputs_hash:
        drifts.append(
            Drift(f"{path.name} is stale: the requirements, profile or indexes changed", lock_fix)
        )
    wheel_hashes = _check_wheelhouse(lock, profile, wheelhouse / profile.name, drifts, reporter)
    if lib is not None:
        shown = lib_dir or lib.name
        drifts.extend(_check_leftovers(lib, shown, profile, reporter))
        drifts.extend(_check_lib(lock, profile, lib, shown, wheel_hashes))
    if app is not None:
        drifts.extend(oryx_build_drifts(app, profile, lib_dir or (lib.name if lib else "")))
    return CheckResult(drifts=tuple(drifts), distributions=len(lock.packages))


def _check_wheelhouse(
    lock: Lock, profile: Profile, folder: Path, drifts: list[Drift], reporter: Reporter
) -> dict[str, str]:
    """sha256 of each locked package's wheel (from the wheelhouse, or the lock when absent)."""
    from_lock: dict[str, str] = {p.name: p.file.sha256 for p in lock.packages if not p.needs_build}
    if not folder.is_dir():
        reporter.notice(
            f"note: no wheelhouse at {folder}: checked the lib folder against the lock alone"
        )
        return from_lock
    fix = f"vendorer wheelhouse --profile {profile.name}"
    wheels = locked_wheels(lock, folder)
    sha256 = wheel_sha256s(wheels.values())
    found = {name: (wheel.name, sha256[wheel]) for name, wheel in wheels.items()}
    built = owned_wheels(folder)
    for package in lock.packages:
        entry = found.get(package.name)
        if entry is None:
            drifts.append(Drift(f"wheelhouse: no wheel for {package.name} {package.version}", fix))
        elif not package.needs_build and entry[1] != package.file.sha256:
            drifts.append(Drift(f"wheelhouse: {entry[0]} does not match the lock's sha256", fix))
        elif package.needs_build and built.get(entry[0]) not in (None, entry[1]):
            drifts.append(Drift(f"wheelhouse: {entry[0]} changed since vendorer built it", fix))
    export = folder / EXPORT_FILE
    expected = export_text(lock, dict(found.values()))
    if not export.exists() or export.read_text(encoding="utf-8") != expected:
        drifts.append(Drift(f"wheelhouse: {EXPORT_FILE} does not pin the lock's wheels", fix))
    return {name: sha for name, (_, sha) in found.items()}


def _check_leftovers(
    lib: Path, shown: str, profile: Profile, reporter: Reporter
) -> Iterator[Drift]:
    """Copies of the lib folder that killed runs left beside it (unless a run is going on)."""
    found = leftovers(lib)
    if not found:
        return
    if run_in_progress(lib):
        reporter.notice(
            f"note: a vendorer run is updating {shown} now; check again once it has finished"
        )
        return
    base = posixpath.dirname(shown)
    for path in found:
        where = posixpath.join(base, path.relative_to(lib.parent).as_posix())
        yield Drift(
            f"{where}: left by an interrupted vendorer run (a copy of {shown}, not used)",
            f"vendorer vendor --profile {profile.name} removes it (or: rm -rf {where})",
        )


def _check_lib(
    lock: Lock, profile: Profile, lib: Path, shown: str, wheel_hashes: dict[str, str]
) -> Iterator[Drift]:
    fix = f"vendorer vendor --profile {profile.name}"
    try:
        manifest = read_manifest(lib)
    except ManifestError as error:
        restore = f"git checkout -- {shown}/{MANIFEST}, or move {shown}/ away and run {fix}"
        yield Drift(f"{shown}/{MANIFEST}: {error.reason}", restore)
        return
    if manifest is None:
        yield Drift(f"{shown}: nothing vendored yet (no {MANIFEST})", fix)
        return
    if manifest.profile != profile.name:
        yield Drift(f"{shown}: vendored for {manifest.profile}, not {profile.name}", fix)
    distributions = manifest.distributions
    for package in lock.packages:
        entry = distributions.get(package.name)
        if entry is None or entry.version != str(package.version):
            yield Drift(f"{shown}: {package.name} {package.version} is not vendored", fix)
        elif package.name in wheel_hashes and entry.wheel_sha256 != wheel_hashes[package.name]:
            yield Drift(f"{shown}: {package.name} was vendored from another wheel", fix)
    locked = {package.name for package in lock.packages}
    for name in sorted(set(distributions) - locked):
        yield Drift(f"{shown}: {name} is vendored but no longer locked", fix)
    yield from _check_files(lib, shown, manifest, fix)


ADDED: Final = {
    "file": "added by hand",
    "folder": "folder added by hand",
    "link": "link added by hand",
}


def _check_files(lib: Path, shown: str, manifest: Manifest, fix: str) -> Iterator[Drift]:
    """No file vendorer wrote is missing or changed, and nothing (file, folder, link) was added
    beside them."""
    expected = manifest.files()
    scan = scan_tree(lib, owned_paths(manifest))
    hashes = HashCache(hash_cache_path(lib))
    for relative, sha in expected.items():
        path = scan.regular.get(relative)
        if path is None:
            replaced = os.path.lexists(lib / relative)
            what = "replaced by hand (a link, a folder, or in a linked folder)"
            yield Drift(f"{shown}/{relative}: {what if replaced else 'missing'}", fix)
        elif hashes.sha256(path) != sha:
            yield Drift(f"{shown}/{relative}: changed by hand", fix)
    hashes.save()
    for entry in scan.foreign:
        yield Drift(
            f"{shown}/{entry}: {ADDED[entry.kind]}",
            f"move it out of {shown}/ (vendorer owns that folder), then {fix}",
        )


def oryx_build_drifts(app: Path, profile: Profile, lib_dir: str) -> list[Drift]:
    """What an Oryx build leaves, found at the top of the app folder of an App Service on Linux
    profile: deployed with the app, it makes Oryx's startup script pass over the lib folder."""
    if platform_of(profile) != "linux":
        return []
    found = [name for name in ORYX_BUILD_OUTPUTS if os.path.lexists(app / name)]
    drifts = []
    if "antenv" in found and lib_dir == ORYX_LIB:
        drifts.append(
            Drift(
                "antenv: a virtual environment at the top of the app; in wwwroot, Oryx's startup "
                f"script uses it and does not load {ORYX_LIB}",
                "delete it (rm -rf antenv), or keep your virtual environment under another name "
                "(vendorer package leaves it out; other ways of deploying ship it)",
            )
        )
    if "oryx-manifest.toml" in found:
        drifts.append(
            Drift(
                "oryx-manifest.toml: an Oryx build's manifest at the top of the app; in wwwroot, "
                f"Oryx's startup script follows it (that build's packages, not {lib_dir})",
                "delete it: vendorer's libraries need no Oryx build "
                "(SCM_DO_BUILD_DURING_DEPLOYMENT=false)",
            )
        )
    return drifts
