"""The wheelhouse: `wheelhouse/<profile>/`, one wheel per locked package, plus a pinned export.

Wheels from the index are verified against the lock's sha256 before they are moved into place;
pure sdists are built into `*-none-any` wheels; native sdists are never shipped as host wheels but
reported with their routes to a real wheel. A wheel someone built on a matching machine and
dropped into the folder (or a --find-links folder) is accepted once its name, version and tags
check out. Only files vendorer put there are ever removed; two runs on one folder take turns.
What the folder holds is read in `contents`; how an sdist becomes a wheel, in `builder`.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from vendorer._util.files import HashCache, copy_atomic, sha256_of, write_text_if_changed
from vendorer._util.guard import RUN_WAIT_SECONDS, exclusive
from vendorer.errors import VendorerError
from vendorer.inputs.options import IndexSettings, hash_cache_path
from vendorer.lock.model import Lock, LockedPackage
from vendorer.report import DOWNLOAD, NULL_REPORTER, Reporter
from vendorer.target.profile import Profile
from vendorer.wheelhouse.contents import (
    EXPORT_FILE,
    export_text,
    owned_wheels,
    write_owned_wheels,
)

__all__ = [
    "Downloader",
    "HashMismatchError",
    "NativeRoute",
    "WheelhouseContext",
    "WheelhouseReport",
    "build_wheelhouse",
    "verified_file",
]

LOCK_FILE = ".vendorer.lock"


class WheelhouseFolderError(VendorerError):
    """The wheelhouse folder, or a wheel's place in it, is taken by something else."""


class HashMismatchError(VendorerError):
    """A file's bytes do not match the sha256 the lock recorded."""


class Downloader(Protocol):
    """Streams a locked file into a local store, verified (the finder, in production)."""

    def verified_file(
        self, url: str, filename: str, sha256: str, reporter: Reporter = NULL_REPORTER
    ) -> Path:
        """The file, verified; the bytes that arrive are `reporter`'s DOWNLOAD progress."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class NativeRoute:
    """A locked sdist that compiles code: what the user can do to get a real wheel."""

    name: str
    version: str
    reason: str


@dataclass(slots=True)
class WheelhouseReport:
    folder: Path
    wheels: dict[str, str] = field(default_factory=dict)  # filename -> sha256
    downloaded: list[str] = field(default_factory=list)
    built: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # user-supplied wheels
    removed: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)  # files vendorer did not put there
    native: list[NativeRoute] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class WheelhouseContext:
    """Where the locked files come from and where they go."""

    lock_dir: Path  # the lock's folder: local paths in the lock are relative to it
    downloader: Downloader
    indexes: IndexSettings  # for isolated builds of sdists
    find_links: Sequence[Path] = ()  # folders that may hold user-built wheels
    native_builds: Sequence[Path] = ()  # folders of wheels vendorer built with cibuildwheel
    # DOWNLOAD progress (each file in place, the bytes that arrive), a build backend's output
    # (-v), and once, that another run holds the folder
    reporter: Reporter = NULL_REPORTER
    wait_seconds: float = RUN_WAIT_SECONDS  # how long to wait for that run before giving up
    max_workers: int = 8


def build_wheelhouse(
    lock: Lock, profile: Profile, root: Path, context: WheelhouseContext
) -> WheelhouseReport:
    """Make `root/<profile>/` hold exactly the lock's wheels; report what it did. While another
    run fills the same folder, this one waits for it (`context.reporter` hears so)."""
    folder = root / profile.name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise WheelhouseFolderError(
            f"the wheelhouse {folder} cannot be a folder: it, or a folder above it, is a file "
            "(or a broken link); move that away, or choose another --wheelhouse"
        ) from None
    with exclusive(
        folder / LOCK_FILE,
        what=str(folder),
        wait_seconds=context.wait_seconds,
        reporter=context.reporter,
    ):
        return _fill(lock, profile, folder, context)


def _fill(
    lock: Lock, profile: Profile, folder: Path, context: WheelhouseContext
) -> WheelhouseReport:
    report = WheelhouseReport(folder=folder)
    owned = owned_wheels(folder)
    tags = frozenset(profile.tags)
    _fetch_wheels([p for p in lock.packages if not p.needs_build], folder, context, report)
    for package in (p for p in lock.packages if p.needs_build):
        if _take_supplied(package, tags, folder, owned=owned, context=context, report=report):
            continue
        built = _build(package, profile, folder, context, report)
        if built is not None:
            report.wheels[built.name] = sha256_of(built)
            report.built.append(built.name)
            context.reporter.advanced(DOWNLOAD, item=built.name)
    _prune(folder, owned, report)
    write_text_if_changed(folder / EXPORT_FILE, export_text(lock, report.wheels))
    ours = {name: sha for name, sha in report.wheels.items() if name not in report.accepted}
    write_owned_wheels(folder, ours)
    return report


def _fetch_wheels(
    packages: Sequence[LockedPackage],
    folder: Path,
    context: WheelhouseContext,
    report: WheelhouseReport,
) -> None:
    """Put in `folder` the wheel each of `packages` locks, downloading those not there yet."""
    hashes = HashCache(hash_cache_path(folder))  # a wheel unchanged since it was hashed: not read
    present = {p.name for p in packages if hashes.sha256(folder / p.file.filename) == p.file.sha256}
    hashes.save()

    def fetch(package: LockedPackage) -> tuple[str, str, bool]:
        """(filename, sha256, downloaded) for a package whose lock names a wheel."""
        target = folder / package.file.filename
        sha = package.file.sha256
        if package.name in present:
            return target.name, sha, False
        if target.is_dir():
            raise WheelhouseFolderError(
                f"{target} is a folder, not the wheel the lock names; move it out of the "
                "wheelhouse, then run again"
            )
        copy_atomic(verified_file(package, context), target)
        context.reporter.advanced(DOWNLOAD, item=target.name)
        return target.name, sha, True

    if all(p.name in present for p in packages):  # nothing to download: no threads
        for filename, sha, _ in map(fetch, packages):
            report.wheels[filename] = sha
        return
    pool = ThreadPoolExecutor(max_workers=context.max_workers)
    try:
        for filename, sha, downloaded in pool.map(fetch, packages):
            report.wheels[filename] = sha
            if downloaded:
                report.downloaded.append(filename)
    finally:  # interrupted: start no more downloads (the running ones are told to stop)
        pool.shutdown(wait=False, cancel_futures=True)


def _take_supplied(
    package: LockedPackage,
    tags: frozenset[object],
    folder: Path,
    *,
    owned: Mapping[str, str | None],
    context: WheelhouseContext,
    report: WheelhouseReport,
) -> bool:
    """Put in place the wheel given for a package to build: one in the wheelhouse already, one
    vendorer built with cibuildwheel, or one in a --find-links folder. False when none is."""
    sources = [folder, *context.native_builds, *context.find_links]
    found = _supplied_wheel(package, tags, sources)
    recorded = owned.get(found.name) if found is not None and found.parent == folder else None
    if found is not None and recorded and sha256_of(found) != recorded:  # changed since built
        found.unlink()
        report.removed.append(found.name)
        found = _supplied_wheel(package, tags, sources)
    if found is None:
        return False
    target = folder / found.name
    if found.parent not in context.native_builds and target.name not in owned:
        _check_zip(found)  # a wheel someone else supplied
    if found.parent != folder:
        copy_atomic(found, target)
    report.wheels[target.name] = sha256_of(target)
    if found.parent in context.native_builds:
        report.built.append(target.name)
    elif found.parent != folder or target.name not in owned:  # not one vendorer built
        report.accepted.append(target.name)
    return True


def verified_file(package: LockedPackage, context: WheelhouseContext) -> Path:
    """The locked file on disk (downloaded in chunks if need be), checked against the lock's
    sha256; a local wheel also against its zip's CRCs. (A download is the very file the index
    listed when the lock was made, and already read as a zip: reading every member again cost
    0.3 s for pandas and numpy, and vendoring checks each member against RECORD.)"""
    sha = package.file.sha256
    if package.file.path is None:
        assert package.file.url is not None
        return context.downloader.verified_file(
            package.file.url, package.file.filename, sha, context.reporter
        )
    path = context.lock_dir / package.file.path
    if (actual := sha256_of(path)) != sha:
        raise HashMismatchError(
            f"{path}: sha256 {actual} does not match the lock's {sha}; it was not used. If "
            "you rebuilt it on purpose, run `vendorer lock --force` and review the change"
        )
    if package.file.is_wheel:
        _check_zip(path, shown=package.file.filename)
    return path


def _check_zip(path: Path, *, shown: str = "") -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()
    except zipfile.BadZipFile:
        broken = "(not a zip file)"
    if broken is not None:
        raise VendorerError(
            f"{shown or path.name} is a broken wheel: {broken}; delete it and run again"
        )


def _supplied_wheel(
    package: LockedPackage, tags: frozenset[object], folders: Iterable[Path]
) -> Path | None:
    """A wheel for exactly this name and version with a tag the target supports, if given."""
    refused: list[str] = []
    for folder in folders:
        for path in sorted(folder.glob("*.whl")):
            try:
                name, version, _, wheel_tags = parse_wheel_filename(path.name)
            except InvalidWheelFilename:
                continue
            if name != package.name or version != package.version:
                continue
            if wheel_tags & tags:
                return path
            refused.append(path.name)
    if refused:
        raise VendorerError(
            f"{', '.join(refused)}: built for other tags than the target's; "
            f"{package.name} {package.version} needs a wheel for one of the profile's tags "
            f"(`vendorer profiles show`), e.g. built with the target's Python on its platform"
        )
    return None


def _build(
    package: LockedPackage,
    profile: Profile,
    folder: Path,
    context: WheelhouseContext,
    report: WheelhouseReport,
) -> Path | None:
    from vendorer.wheelhouse.builder import (  # only when there is something to build
        BuildError,
        build_wheel,
        unusable_reason,
    )

    source = verified_file(package, context)
    with tempfile.TemporaryDirectory(prefix="vendorer-build-") as work:
        sdist = Path(work) / package.file.filename
        shutil.copyfile(source, sdist)
        try:
            wheel = build_wheel(
                sdist, Path(work) / "out", context.indexes, reporter=context.reporter
            )
            reason = unusable_reason(wheel, profile)
        except BuildError as error:
            reason = f"its build failed: {error}"
        if reason:
            route = NativeRoute(name=package.name, version=str(package.version), reason=reason)
            report.native.append(route)
            return None
        target = folder / wheel.name
        copy_atomic(wheel, target)
        return target


def _prune(folder: Path, owned: Collection[str], report: WheelhouseReport) -> None:
    for path in sorted(folder.iterdir()):
        name = path.name
        if name in report.wheels or name.startswith(".") or name in {EXPORT_FILE}:
            continue
        if name in owned:
            path.unlink()
            report.removed.append(name)
        else:
            report.foreign.append(name)
