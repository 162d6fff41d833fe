"""Vendoring: the wheelhouse's wheels unpacked into the app's lib folder, for the target.

`installer` writes each wheel with the target's layout: purelib and platlib into the lib folder,
console scripts as the target's launchers (Windows `.exe` for win-amd64 profiles) in `bin/`, data
in `data/`, headers in `include/`, and no bytecode (it would be the host's). The new tree is
staged beside the old one, unchanged distributions hard-linked into it, then the two are swapped
in one atomic step: a killed run leaves the previous tree whole. A manifest lists every file
vendorer owns; anything else in the folder is carried over untouched and reported.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Final

from filelock import FileLock, Timeout
from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.exceptions import InstallerError
from installer.records import RecordEntry
from installer.sources import WheelContentElement, WheelFile, WheelSource
from installer.utils import Scheme
from packaging.utils import parse_wheel_filename

from vendorer.errors import VendorerError
from vendorer.fileio import HashCache, sha256_of, write_text_atomic
from vendorer.inputs import cache_dir
from vendorer.lock import Lock
from vendorer.profile import Profile
from vendorer.wheelhouse import locked_wheels

__all__ = [
    "MANIFEST",
    "ManifestError",
    "VendorError",
    "VendorReport",
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


class VendorError(VendorerError):
    """A wheel cannot be vendored safely."""


class ManifestError(VendorError):
    """The manifest of a vendored tree is there but cannot be used."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"{path} cannot be used ({reason}); nothing was changed. Restore it (`git checkout "
            f"-- {path.parent.name}/{MANIFEST}`), or move the folder away and run `vendorer vendor`"
        )
        self.reason = reason


@dataclass(slots=True)
class VendorReport:
    folder: Path
    installed: list[str] = field(default_factory=list)  # "name version"
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    pth_files: list[str] = field(default_factory=list)  # never processed from a lib folder
    changed: bool = False


def lib_folder(app: Path, lib_dir: str) -> Path:
    """The lib folder inside the app; one that points outside it, or a file, is refused."""
    folder = (app / lib_dir).resolve()
    root = app.resolve()
    if folder == root or root not in folder.parents:
        raise VendorError(
            f"lib folder {lib_dir!r} is not inside the app ({root}); choose a folder such as lib"
        )
    if folder.exists() and not folder.is_dir():
        raise VendorError(
            f"lib folder {lib_dir!r} is a file, not a folder; move it away or choose another "
            "--lib-dir"
        )
    return folder


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
) -> VendorReport:
    """Make `folder` hold exactly `wheels` (canonical name -> wheel file), incrementally.

    A wheel whose sha256 differs from `locked_sha256[name]` (the lock's) is refused. One run at a
    time vendors into a folder; another one is told to wait.
    """
    guard = FileLock(run_lock_path(folder), timeout=0)
    try:
        guard.acquire()
    except Timeout:
        raise VendorError(
            f"{folder} is being vendored by another vendorer run; wait for it to finish"
        ) from None
    try:
        return _vendor(
            wheels,
            profile,
            folder,
            lock_hash=lock_hash,
            slim=slim,
            dry_run=dry_run,
            locked=locked_sha256 or {},
        )
    finally:
        guard.release()


def _vendor(
    wheels: Mapping[str, Path],
    profile: Profile,
    folder: Path,
    *,
    lock_hash: str,
    slim: bool,
    dry_run: bool,
    locked: Mapping[str, str],
) -> VendorReport:
    report = VendorReport(folder=folder)
    old = read_manifest(folder) or {"distributions": {}}
    old_dists: dict[str, Any] = old["distributions"]
    wanted = {name: (path, sha256_of(path)) for name, path in sorted(wheels.items())}
    unlocked = [
        path.name for name, (path, sha) in wanted.items() if name in locked and locked[name] != sha
    ]
    if unlocked:
        raise VendorError(
            f"{', '.join(unlocked)}: not the file the lock names (its sha256 differs); nothing "
            "was changed. Run `vendorer wheelhouse` to fetch the locked files again"
        )

    hashes = HashCache(hash_cache_path(folder))
    actual = {
        folder / relative: hashes.sha256(folder / relative)
        for entry in old_dists.values()
        for relative in entry["files"]
    }
    hashes.save()

    def unchanged(name: str) -> bool:
        """Same wheel, same options, and every file as vendorer wrote it (hand edits undone)."""
        entry = old_dists.get(name)
        return (
            entry is not None
            and name in wanted
            and wanted[name][1] == entry["wheel_sha256"]
            and old.get("slim") == slim
            and all(actual[folder / rel] == sha for rel, sha in entry["files"].items())
        )

    report.removed = [f"{n} {e['version']}" for n, e in old_dists.items() if not unchanged(n)]
    for name, (path, _) in wanted.items():
        version = parse_wheel_filename(path.name)[1]
        (report.kept if unchanged(name) else report.installed).append(f"{name} {version}")
    owned = _owned(old)
    report.foreign = sorted(
        str(path.relative_to(folder).as_posix())
        for path in _files(folder)
        if path.relative_to(folder).as_posix() not in owned
    )
    manifest_changed = old.get("lock_hash") != lock_hash or old.get("profile") != profile.name
    report.changed = bool(report.installed or report.removed or manifest_changed)
    if dry_run:
        return report
    if report.changed:
        plan = _Plan(wanted=wanted, old=old, profile=profile, lock_hash=lock_hash, slim=slim)
        _replace_tree(folder, lambda staging: _stage(staging, folder, plan, report))
    report.pth_files = _pth_files(read_manifest(folder) or {})
    return report


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
    profile: Profile
    lock_hash: str
    slim: bool


def _stage(staging: Path, folder: Path, plan: _Plan, report: VendorReport) -> None:
    """Build the new tree in `staging`: foreign and unchanged files linked, the rest installed.

    Distributions are staged on several threads: creating files is what takes the time, and the
    filesystem serves several at once. Two distributions writing the same path are refused.
    """
    kept = {entry.split(" ")[0] for entry in report.kept}

    def stage_one(name: str) -> dict[str, Any]:
        path, sha = plan.wanted[name]
        if name not in kept:
            return _install(path, sha, staging, plan.profile, plan.slim)
        entry: dict[str, Any] = plan.old["distributions"][name]
        for relative in entry["files"]:
            _link(folder / relative, staging / relative)
        return entry

    for relative in report.foreign:
        _link(folder / relative, staging / relative)
    with ThreadPoolExecutor(max_workers=8) as pool:
        entries = list(pool.map(stage_one, plan.wanted))
    distributions = dict(zip(plan.wanted, entries, strict=True))
    owners: dict[str, str] = {}
    for name, entry in distributions.items():
        for relative in entry["files"]:
            other = owners.setdefault(relative, name)
            if other != name:
                raise VendorError(f"{name} and {other} both write {relative}; nothing was changed")
    write_text_atomic(staging / GITATTRIBUTES, GITATTRIBUTES_TEXT)
    manifest = {
        "format": FORMAT,
        "profile": plan.profile.name,
        "lock_hash": plan.lock_hash,
        "slim": plan.slim,
        "distributions": distributions,
    }
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
    except FileExistsError as error:  # installer's message: "File already exists: <path>"
        path = Path(str(error).rpartition(": ")[2])
        shown = path.relative_to(target) if path.is_relative_to(target) else path
        raise VendorError(
            f"{wheel.name} writes {shown}, which another distribution or a file of yours "
            "already has; nothing was changed"
        ) from None
    except (InstallerError, ValueError, KeyError, OSError, zipfile.BadZipFile) as error:
        raise VendorError(
            f"{wheel.name} cannot be vendored: {error}. Nothing was changed in the lib folder; "
            "the wheel is broken or unsafe (its RECORD does not match its files, or it writes "
            "outside its folders): rebuild or replace it"
        ) from None
    files = {
        path.relative_to(target).as_posix(): sha256_of(path) for path in sorted(destination.written)
    }
    return {"version": str(version), "wheel": wheel.name, "wheel_sha256": sha, "files": files}


class _Recording(SchemeDictionaryDestination):
    """installer's destination, remembering every path it wrote (RECORD included)."""

    written: set[Path]

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


def _files(folder: Path) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for root, _, names in os.walk(folder):
        for name in names:
            yield Path(root) / name


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


STAGING_PREFIX: Final = ".vendorer-new-"


def _replace_tree(folder: Path, build: Callable[[Path], None]) -> None:
    """Build the new tree beside `folder`, then swap the two in one atomic step."""
    parent = folder.parent
    parent.mkdir(parents=True, exist_ok=True)
    for leftover in parent.glob(f"{STAGING_PREFIX}{folder.name}-*"):  # from a killed run
        shutil.rmtree(leftover, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{folder.name}-", dir=parent))
    try:
        build(staging)
        if folder.exists():
            _exchange(staging, folder)  # staging now holds the previous tree
        else:
            staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _exchange(first: Path, second: Path) -> None:
    """Swap two directories atomically (Linux renameat2, macOS renamex_np)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    a, b = os.fsencode(first), os.fsencode(second)
    if hasattr(libc, "renameat2"):
        at_fdcwd, rename_exchange = -100, 2
        result = libc.renameat2(at_fdcwd, a, at_fdcwd, b, rename_exchange)
    elif hasattr(libc, "renamex_np"):
        rename_swap = 2
        result = libc.renamex_np(a, b, rename_swap)
    else:  # no atomic swap here: two renames, with the old tree kept until the second is done
        backup = first.with_name(first.name + "-old")
        second.rename(backup)
        first.rename(second)
        backup.rename(first)
        return
    if result != 0:
        error = ctypes.get_errno()
        raise VendorError(f"cannot swap {first} and {second}: {os.strerror(error)}")


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
    """Where the hashes of a vendored tree's files are remembered (outside the tree)."""
    return _state_path(folder, "tree-hashes", ".json")


def run_lock_path(folder: Path) -> Path:
    """The file lock that keeps two vendor runs on `folder` apart (outside the tree)."""
    return _state_path(folder, "locks", ".lock")


def _state_path(folder: Path, kind: str, suffix: str) -> Path:
    """A file of vendorer's about `folder`, kept in its cache, outside the app."""
    key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:24]
    path = cache_dir() / kind / f"{key}{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def pythonpath_entry(profile: Profile, lib_dir: str) -> str | None:
    """The lib folder as the server sees it, for PYTHONPATH; None when the platform loads it."""
    if lib_dir in SELF_LOADED and not profile.is_windows:
        return None
    separator = "\\" if profile.is_windows else "/"
    return profile.server.site_root + separator + lib_dir.replace("/", separator)
