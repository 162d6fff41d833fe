"""Vendoring: the wheelhouse's wheels unpacked into the app's lib folder, for the target.

`installer` writes each wheel with the target's layout: purelib and platlib into the lib folder,
console scripts as the target's launchers (Windows `.exe` for win-amd64 profiles) in `bin/`, data
in `data/`, headers in `include/`, and no bytecode (it would be the host's). The new tree is
staged in the state folder beside the lib folder, unchanged distributions hard-linked into it,
then the two are swapped in one atomic step: a killed run leaves the previous tree whole (see
`libfolder`). A manifest lists every file vendorer owns; anything else in the folder (files,
folders, links) is the user's, carried over as it is and reported.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Final

from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.exceptions import InstallerError
from installer.records import RecordEntry
from installer.sources import WheelContentElement, WheelFile, WheelSource
from installer.utils import Scheme
from packaging.utils import parse_wheel_filename

from vendorer._util.files import HashCache, sha256_of, write_text_atomic
from vendorer.inputs.options import cache_dir
from vendorer.install.libfolder import (
    LOCK_WAIT,
    Foreign,
    VendorError,
    carry,
    held_run_lock,
    leftovers,
    link_file,
    replace_tree,
    run_in_progress,
    run_lock_path,
    scan_tree,
    sweep,
    writing,
)
from vendorer.lock.model import Lock
from vendorer.target.profile import Profile
from vendorer.wheelhouse.fill import locked_wheels

__all__ = [
    "MANIFEST",
    "LibFolderError",
    "ManifestError",
    "VendorError",
    "VendorReport",
    "lib_dir_in_app",
    "lib_folder",
    "parse_manifest",
    "pythonpath_entry",
    "read_manifest",
    "run_lock_path",
    "vendor",
    "wheels_for",
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


class LibFolderError(VendorError):
    """The lib folder asked for cannot be one (outside the app, or a file). Exit code 2."""

    exit_code = 2


@dataclass(slots=True)
class VendorReport:
    folder: Path
    installed: list[str] = field(default_factory=list)  # "name version"
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)  # the user's; a folder ends with "/"
    pth_files: list[str] = field(default_factory=list)  # never processed from a lib folder
    leftovers: list[Path] = field(default_factory=list)  # of killed runs: removed (would be)
    changed: bool = False


def lib_folder(app: Path, lib_dir: str) -> Path:
    """The lib folder inside the app; one that points outside it, or a file, is refused."""
    folder = (app / lib_dir).resolve()
    root = app.resolve()
    if folder == root or root not in folder.parents:
        raise LibFolderError(
            f"lib folder {lib_dir!r} is not inside the app ({root}); choose a folder such as lib"
        )
    if folder.exists() and not folder.is_dir():
        raise LibFolderError(
            f"lib folder {lib_dir!r} is a file, not a folder; move it away or choose another "
            "--lib-dir"
        )
    return folder


def lib_dir_in_app(app: Path, lib_dir: str) -> str:
    """The lib folder as a relative POSIX path inside the app, as the server layout needs it: an
    absolute path inside the app is made relative; one outside it is refused."""
    return lib_folder(app, lib_dir).relative_to(app.resolve()).as_posix()


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The vendored tree's manifest; None when nothing was vendored there yet."""
    path = folder / MANIFEST
    try:
        return parse_manifest(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ManifestError(path, error.strerror or str(error)) from None
    except ValueError as error:
        raise ManifestError(path, str(error)) from None


def parse_manifest(text: str) -> dict[str, Any]:
    """A manifest's data; ValueError says what is wrong with it."""
    try:
        data: object = json.loads(text)
    except ValueError as error:
        raise ValueError(f"not JSON: {error}") from None
    found = data.get("format") if isinstance(data, dict) else None
    if isinstance(found, int) and found > FORMAT:
        raise ValueError(f"written by a newer vendorer, format {found}: upgrade")
    if not isinstance(data, dict) or found != FORMAT:
        raise ValueError(f"not a vendorer manifest of format {FORMAT}")
    fields = {"version": str, "wheel": str, "wheel_sha256": str, "files": dict}
    distributions = data.get("distributions")
    if not isinstance(distributions, dict) or not all(
        isinstance(entry, dict)
        and all(isinstance(entry.get(key), kind) for key, kind in fields.items())
        and all(isinstance(sha, str) for sha in entry["files"].values())
        for entry in distributions.values()
    ):
        raise ValueError("its distributions are malformed")
    return data


def vendor(
    wheels: Mapping[str, Path],
    profile: Profile,
    folder: Path,
    *,
    lock_hash: str,
    slim: bool = False,
    dry_run: bool = False,
    locked_sha256: Mapping[str, str] | None = None,
    wait_seconds: float = LOCK_WAIT,
    on_wait: Callable[[], None] | None = None,
) -> VendorReport:
    """Make `folder` hold exactly `wheels` (canonical name -> wheel file), incrementally.

    A wheel whose sha256 differs from `locked_sha256[name]` (the lock's) is refused. One run at a
    time vendors into a folder: another one waits for it (`on_wait` is told), up to
    `wait_seconds`. Each run first removes what killed runs left; a dry run only lists it.
    """
    options = _Options(lock_hash=lock_hash, slim=slim, locked=locked_sha256 or {})
    if dry_run:
        report = _survey(wheels, profile, folder, options).report
        report.leftovers = [] if run_in_progress(folder) else leftovers(folder)
        return report
    with held_run_lock(folder, wait_seconds=wait_seconds, on_wait=on_wait):
        swept = sweep(folder)
        report = _vendor(wheels, profile, folder, options)
        report.leftovers = swept
        return report


@dataclass(frozen=True, slots=True, kw_only=True)
class _Options:
    lock_hash: str
    slim: bool
    locked: Mapping[str, str]  # name -> the lock's sha256 of its wheel


@dataclass(frozen=True, slots=True, kw_only=True)
class _Survey:
    """What a run finds before it changes anything."""

    report: VendorReport
    plan: _Plan
    hashes: HashCache


def _survey(
    wheels: Mapping[str, Path], profile: Profile, folder: Path, options: _Options
) -> _Survey:
    report = VendorReport(folder=folder)
    old = read_manifest(folder) or {"distributions": {}}
    old_dists: dict[str, Any] = old["distributions"]
    wanted = _wanted(wheels, options.locked)
    scan = scan_tree(folder, _owned(old))
    hashes = HashCache(hash_cache_path(folder))
    actual = {
        relative: hashes.sha256(folder / relative)
        for entry in old_dists.values()
        for relative in entry["files"]
        if relative in scan.regular  # a file behind a link, or turned into one, is not vendorer's
    }
    hashes.save()

    def unchanged(name: str) -> bool:
        """Same wheel, same options, and every file as vendorer wrote it (hand edits undone)."""
        entry = old_dists.get(name)
        return (
            entry is not None
            and name in wanted
            and wanted[name][1] == entry["wheel_sha256"]
            and old.get("slim") == options.slim
            and all(actual.get(rel) == sha for rel, sha in entry["files"].items())
        )

    kept = frozenset(name for name in wanted if unchanged(name))
    report.removed = [f"{n} {e['version']}" for n, e in old_dists.items() if n not in kept]
    for name, (path, _) in wanted.items():
        version = parse_wheel_filename(path.name)[1]
        (report.kept if name in kept else report.installed).append(f"{name} {version}")
    report.foreign = [str(entry) for entry in scan.foreign]
    retagged = old.get("lock_hash") != options.lock_hash or old.get("profile") != profile.name
    report.changed = bool(report.installed or report.removed or retagged)
    plan = _Plan(wanted=wanted, old=old, kept=kept, foreign=scan.foreign, profile=profile,
                 lock_hash=options.lock_hash, slim=options.slim)  # fmt: skip
    return _Survey(report=report, plan=plan, hashes=hashes)


def _wanted(wheels: Mapping[str, Path], locked: Mapping[str, str]) -> dict[str, tuple[Path, str]]:
    """name -> (wheel, sha256); a wheel that is not the one the lock names is refused."""
    wanted = {name: (path, sha256_of(path)) for name, path in sorted(wheels.items())}
    unlocked = [
        path.name for name, (path, sha) in wanted.items() if name in locked and locked[name] != sha
    ]
    if unlocked:
        raise VendorError(
            f"{', '.join(unlocked)}: not the file the lock names (its sha256 differs); nothing "
            "was changed. Run `vendorer wheelhouse` to fetch the locked files again"
        )
    return wanted


def _vendor(
    wheels: Mapping[str, Path], profile: Profile, folder: Path, options: _Options
) -> VendorReport:
    started = time.time_ns()
    survey = _survey(wheels, profile, folder, options)
    report = survey.report
    manifest = survey.plan.old
    if report.changed:
        replace_tree(folder, lambda staging: _stage(staging, folder, survey.plan))
        manifest = read_manifest(folder) or {}
        _remember_hashes(survey.hashes, folder, manifest, before=started - TIMESTAMP_SLACK_NS)
    report.pth_files = _pth_files(manifest)
    return report


# Some filesystems keep mtimes to 2 s: a file written up to 2 s after a moment may show an mtime
# before it.
TIMESTAMP_SLACK_NS: Final = 2_000_000_000


def _remember_hashes(
    hashes: HashCache, folder: Path, manifest: Mapping[str, Any], *, before: int
) -> None:
    """Remember the new tree's hashes where they are known to hold: linking and unlinking changed
    every kept file's ctime, which would otherwise cost a full re-hash on the next run. A file
    modified since `before` (the files installed now, or one edited meanwhile) is left out."""
    for entry in manifest.get("distributions", {}).values():
        for relative, sha in entry["files"].items():
            hashes.remember(folder / relative, sha, modified_before=before)
    hashes.save()


def _pth_files(manifest: Mapping[str, Any]) -> list[str]:
    """Top-level `.pth` files: Python reads them only in site directories, and a lib folder on
    PYTHONPATH or sys.path is not one, so what they set up does not happen on the server."""
    return sorted(
        relative
        for entry in manifest.get("distributions", {}).values()
        for relative in entry["files"]
        if "/" not in relative and relative.endswith(".pth")
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Plan:
    wanted: Mapping[str, tuple[Path, str]]  # name -> (wheel, sha256)
    old: Mapping[str, Any]
    kept: frozenset[str]  # distributions linked over as they are
    foreign: tuple[Foreign, ...]  # the user's entries, carried over as they are
    profile: Profile
    lock_hash: str
    slim: bool


def _stage(staging: Path, folder: Path, plan: _Plan) -> None:
    """Build the new tree in `staging`: the user's entries and unchanged files linked, the rest
    installed.

    Distributions are staged on several threads: creating files is what takes the time, and the
    filesystem serves several at once. Two distributions writing the same path are refused.
    """

    def stage_one(name: str) -> dict[str, Any]:
        path, sha = plan.wanted[name]
        if name not in plan.kept:
            return _install(path, sha, staging, plan.profile, plan.slim)
        entry: dict[str, Any] = plan.old["distributions"][name]
        for relative in entry["files"]:
            with writing(staging / relative):
                link_file(folder / relative, staging / relative)
        return entry

    for foreign in plan.foreign:  # first: a wheel that would write over one of them is refused
        with writing(staging / foreign.relative):
            carry(foreign, folder, staging)
    with ThreadPoolExecutor(max_workers=8) as pool:
        entries = list(pool.map(stage_one, plan.wanted))
    distributions = dict(zip(plan.wanted, entries, strict=True))
    owners: dict[str, str] = {}
    for name, entry in distributions.items():
        for relative in entry["files"]:
            other = owners.setdefault(relative, name)
            if other != name:
                raise VendorError(f"{name} and {other} both write {relative}; nothing was changed")
    with writing(staging / GITATTRIBUTES):
        write_text_atomic(staging / GITATTRIBUTES, GITATTRIBUTES_TEXT)
    manifest = {
        "format": FORMAT,
        "profile": plan.profile.name,
        "lock_hash": plan.lock_hash,
        "slim": plan.slim,
        "distributions": distributions,
    }
    with writing(staging / MANIFEST):
        write_text_atomic(staging / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def _install(wheel: Path, sha: str, target: Path, profile: Profile, slim: bool) -> dict[str, Any]:
    """Install one wheel into `target`; the files it wrote and their hashes."""
    name, version, _, _ = parse_wheel_filename(wheel.name)
    scheme = {
        "purelib": str(target),
        "platlib": str(target),
        "scripts": str(target / "bin"),
        "data": str(target / "data"),
        "headers": str(target / "include" / name),
    }
    destination = _Recording(
        scheme, interpreter=profile.server.python, script_kind=profile.server.launcher
    )
    try:
        with WheelFile.open(wheel) as source:
            source.validate_record(validate_contents=True)
            install(_Slimmed(source) if slim else source, destination, {"INSTALLER": b"vendorer\n"})
    except _Taken as taken:
        raise VendorError(taken.explain(wheel.name, target)) from None
    except VendorError:  # a write that failed: said as what it is
        raise
    except BROKEN_WHEEL as error:
        raise VendorError(
            f"{wheel.name} cannot be vendored: {error}. Nothing was changed in the lib folder; "
            "the wheel is broken or unsafe (its RECORD does not match its files, or it writes "
            "outside its folders): rebuild or replace it"
        ) from None
    except OSError as error:  # writes are WriteErrors: this is reading the wheel
        raise VendorError(
            f"cannot read {wheel}: {error.strerror or error}. Nothing was changed in the lib "
            "folder; check that file (or run `vendorer wheelhouse` to fetch it again)"
        ) from None
    files = {
        path.relative_to(target).as_posix(): sha256_of(path) for path in sorted(destination.written)
    }
    return {"version": str(version), "wheel": wheel.name, "wheel_sha256": sha, "files": files}


# What reading a wheel that is not sound raises (zlib and EOFError: a damaged or cut member).
BROKEN_WHEEL: Final = (
    InstallerError,
    ValueError,
    KeyError,
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
)


class _Taken(Exception):  # internal: _install turns it into a VendorError
    """A wheel's file would go where something already is, or through a link."""

    def __init__(self, path: Path, link: Path | None = None) -> None:
        super().__init__(str(path))
        self.path = path
        self.link = link

    def explain(self, wheel: str, root: Path) -> str:
        shown = self.path.relative_to(root).as_posix()
        if self.link is not None:
            return (
                f"{wheel} writes {shown} through {self.link.relative_to(root).as_posix()}, a link "
                "of yours; nothing was changed. vendorer never writes through a link: move it "
                "out of the lib folder"
            )
        return (
            f"{wheel} writes {shown}, which another distribution or a file of yours already "
            "has; nothing was changed"
        )


class _Recording(SchemeDictionaryDestination):
    """installer's destination, remembering every path it wrote (RECORD included); it writes
    over nothing and through no link, and says which path a failed write was for."""

    written: set[Path]

    def write_to_fs(
        self, scheme: Scheme, path: str, stream: BinaryIO, is_executable: bool
    ) -> RecordEntry:
        target = self._path_with_destdir(scheme, path)  # refuses a path outside its folder
        root = Path(self.scheme_dict["purelib"])
        folder = root
        for part in target.relative_to(root).parts[:-1]:
            folder = folder / part
            if folder.is_symlink():
                raise _Taken(target, folder)
        if os.path.lexists(target):
            raise _Taken(target)
        with writing(target):
            return super().write_to_fs(scheme, path, stream, is_executable)

    def finalize_installation(
        self, scheme: Scheme, record_file_path: str, records: Iterable[tuple[Scheme, RecordEntry]]
    ) -> None:
        entries = list(records)
        super().finalize_installation(scheme, record_file_path, entries)
        self.written = {Path(self.scheme_dict[s]) / entry.path for s, entry in entries}
        self.written.add(Path(self.scheme_dict[scheme]) / record_file_path)


class _Slimmed(WheelSource):
    """A wheel as installer reads it, minus what --slim leaves out (see `_slimmed`)."""

    def __init__(self, source: WheelFile) -> None:
        super().__init__(source.distribution, source.version)
        self._source = source

    @property
    def dist_info_filenames(self) -> list[str]:
        return self._source.dist_info_filenames

    def read_dist_info(self, filename: str) -> str:
        return self._source.read_dist_info(filename)

    def validate_record(self) -> None:
        self._source.validate_record()

    def get_contents(self) -> Iterator[WheelContentElement]:
        for element in self._source.get_contents():
            (path, _, _), _, _ = element
            if not _slimmed(path):
                yield element


SLIM_DIRECTORIES: Final = frozenset({"tests", "test", "__pycache__"})


def _slimmed(path: str) -> bool:
    """--slim leaves out: test suites (a `tests` or `test` folder inside a package),
    `__pycache__` folders and compiled bytecode, and type stubs (`*.pyi`)."""
    parts = PurePosixPath(path).parts
    in_package = parts[1:-1]  # folders below the top-level one, above the file
    return (
        bool(SLIM_DIRECTORIES & set(in_package))
        or "__pycache__" in parts
        or path.endswith((".pyc", ".pyi"))
    )


def _owned(manifest: Mapping[str, Any]) -> set[str]:
    owned = {MANIFEST, GITATTRIBUTES}
    for entry in manifest.get("distributions", {}).values():
        owned.update(entry["files"])
    return owned


def wheels_for(lock: Lock, folder: Path) -> dict[str, Path]:
    """The wheelhouse's wheel for every locked package (canonical name -> path)."""
    found = locked_wheels(lock, folder)
    missing = [f"{p.name} {p.version}" for p in lock.packages if p.name not in found]
    if missing:
        raise VendorError(
            f"the wheelhouse {folder} has no wheel for {', '.join(missing)}; "
            "run `vendorer wheelhouse` (or `vendorer build`) first"
        )
    return found


# Folders the platform puts on sys.path by itself: Azure Functions' host, and Oryx's startup
# script on App Service on Linux (when the app has no antenv virtualenv).
SELF_LOADED: Final = frozenset({".python_packages/lib/site-packages", "__oryx_packages__"})


def hash_cache_path(folder: Path) -> Path:
    """Where the hashes of a vendored tree's files are remembered: vendorer's cache, outside the
    app (a lost or foreign cache only costs time)."""
    key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:24]
    path = cache_dir() / "tree-hashes" / f"{key}.json"
    with contextlib.suppress(OSError):  # a cache that cannot be written costs time, no more
        path.parent.mkdir(parents=True, exist_ok=True)
    return path


def pythonpath_entry(profile: Profile, lib_dir: str) -> str | None:
    """The lib folder as the server sees it, for PYTHONPATH; None when the platform loads it."""
    if lib_dir in SELF_LOADED and not profile.is_windows:
        return None
    separator = "\\" if profile.is_windows else "/"
    return profile.server.site_root + separator + lib_dir.replace("/", separator)
