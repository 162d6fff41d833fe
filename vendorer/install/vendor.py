"""Vendoring: the wheelhouse's wheels unpacked into the app's lib folder, for the target.

A run first surveys the folder: which distributions are there unchanged (same wheel, same
options, every file as vendorer wrote it) and which are the user's entries. Then the new tree is
staged in the state folder, unchanged distributions and the user's entries hard-linked into it,
the rest unpacked (see `unpack`), and swapped in (see `libfolder`): a killed run leaves the
previous tree whole. The manifest lists every file vendorer owns; anything else in the folder
(files, folders, links) is the user's, carried over as it is and reported.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from packaging.utils import parse_wheel_filename

from vendorer._util.files import HashCache, write_text_atomic
from vendorer.install.cached import UnpackedCache
from vendorer.install.errors import VendorError, writing
from vendorer.install.libfolder import (
    LOCK_WAIT,
    held_run_lock,
    leftovers,
    replace_tree,
    run_in_progress,
    sweep,
)
from vendorer.install.manifest import (
    GITATTRIBUTES,
    GITATTRIBUTES_TEXT,
    MANIFEST,
    Manifest,
    VendoredDistribution,
    manifest_text,
    owned_paths,
    read_manifest,
)
from vendorer.install.pacing import paced_map
from vendorer.install.tree import Foreign, carry, hash_cache_path, link_file, scan_tree
from vendorer.lock.model import Lock
from vendorer.report import NULL_REPORTER, Reporter
from vendorer.target.profile import Profile
from vendorer.wheelhouse.contents import locked_wheels, wheel_sha256s

if TYPE_CHECKING:
    from vendorer.install.ahead import UnpackAhead

__all__ = ["VendorReport", "vendor", "wheels_for"]


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
    reporter: Reporter = NULL_REPORTER,
    shown: str | None = None,
    ahead: UnpackAhead | None = None,
    checked: Mapping[Path, str] | None = None,
    unpacked_cache: Path | None = None,
) -> VendorReport:
    """Make `folder` hold exactly `wheels` (canonical name -> wheel file), incrementally.

    A wheel whose sha256 differs from `locked_sha256[name]` (the lock's) is refused. One run at a
    time vendors into a folder: another one waits for it (`reporter` is told), up to
    `wait_seconds`; `shown` names the folder in what is said (default: its path). Each run
    first removes what killed runs left; a dry run only lists it. `ahead`: the wheels this run
    unpacked already (while it locked), whose files are taken from there; `checked`: the sha256
    of wheels this run has just checked (they are not read again); `unpacked_cache`: where
    unpacked wheels are kept, copied from the second time a wheel is unpacked (see `cached`).
    """
    cache = UnpackedCache(unpacked_cache, profile, slim=slim) if unpacked_cache else None
    options = _Options(lock_hash=lock_hash, slim=slim, locked=locked_sha256 or {}, ahead=ahead,
                       checked=checked or {}, cache=cache)  # fmt: skip
    if dry_run:
        report = _survey(wheels, profile, folder, options).report
        report.leftovers = [] if run_in_progress(folder) else leftovers(folder)
        return report
    held = ahead is not None and ahead.holds_run_lock  # since the run began
    with (
        contextlib.nullcontext()
        if held
        else held_run_lock(folder, shown=shown, wait_seconds=wait_seconds, reporter=reporter)
    ):
        swept = sweep(folder, keep=ahead.folders if ahead is not None else ())
        report = _vendor(wheels, profile, folder, options)
        report.leftovers = swept
        return report


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


@dataclass(frozen=True, slots=True, kw_only=True)
class _Options:
    lock_hash: str
    slim: bool
    locked: Mapping[str, str]  # name -> the lock's sha256 of its wheel
    ahead: UnpackAhead | None
    checked: Mapping[Path, str]  # wheel -> its sha256, as this run found it
    cache: UnpackedCache | None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Plan:
    wanted: Mapping[str, tuple[Path, str]]  # name -> (wheel, sha256)
    old: Manifest | None
    kept: frozenset[str]  # distributions linked over as they are
    foreign: tuple[Foreign, ...]  # the user's entries, carried over as they are
    profile: Profile
    lock_hash: str
    slim: bool
    ahead: UnpackAhead | None
    cache: UnpackedCache | None


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
    old = read_manifest(folder)
    old_dists = old.distributions if old is not None else {}
    wanted = _wanted(wheels, options.locked, options.checked)
    scan = scan_tree(folder, owned_paths(old))
    hashes = HashCache(hash_cache_path(folder))
    actual = {
        relative: hashes.sha256(scan.regular[relative])
        for entry in old_dists.values()
        for relative in entry.files
        if relative in scan.regular  # a file behind a link, or turned into one, is not vendorer's
    }
    hashes.save()

    def unchanged(name: str, entry: VendoredDistribution) -> bool:
        """Same wheel, same options, and every file as vendorer wrote it (hand edits undone)."""
        return (
            name in wanted
            and wanted[name][1] == entry.wheel_sha256
            and old is not None
            and old.slim == options.slim
            and all(actual.get(rel) == sha for rel, sha in entry.files.items())
        )

    kept = frozenset(name for name, entry in old_dists.items() if unchanged(name, entry))
    report.removed = [f"{n} {e.version}" for n, e in old_dists.items() if n not in kept]
    for name, (path, _) in wanted.items():
        version = parse_wheel_filename(path.name)[1]
        (report.kept if name in kept else report.installed).append(f"{name} {version}")
    report.foreign = [str(entry) for entry in scan.foreign]
    retagged = old is None or old.lock_hash != options.lock_hash or old.profile != profile.name
    report.changed = bool(report.installed or report.removed or retagged)
    plan = _Plan(wanted=wanted, old=old, kept=kept, foreign=scan.foreign, profile=profile,
                 lock_hash=options.lock_hash, slim=options.slim, ahead=options.ahead,
                 cache=options.cache)  # fmt: skip
    return _Survey(report=report, plan=plan, hashes=hashes)


def _wanted(
    wheels: Mapping[str, Path], locked: Mapping[str, str], checked: Mapping[Path, str]
) -> dict[str, tuple[Path, str]]:
    """name -> (wheel, sha256); a wheel that is not the one the lock names is refused."""
    sha256 = {**wheel_sha256s(w for w in wheels.values() if w not in checked), **checked}
    wanted = {name: (path, sha256[path]) for name, path in sorted(wheels.items())}
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
        manifest = replace_tree(folder, lambda staging: _stage(staging, folder, survey.plan))
        kept = {name: manifest.distributions[name] for name in survey.plan.kept}
        _remember_hashes(survey.hashes, folder, kept, before=started - TIMESTAMP_SLACK_NS)
    report.pth_files = _pth_files(manifest)
    return report


# Some filesystems keep mtimes to 2 s: a file written up to 2 s after a moment may show an mtime
# before it.
TIMESTAMP_SLACK_NS: Final = 2_000_000_000


def _remember_hashes(
    hashes: HashCache,
    folder: Path,
    kept: Mapping[str, VendoredDistribution],
    *,
    before: int,
) -> None:
    """Remember the hashes of the distributions kept where they are known to hold: linking and
    unlinking changed every kept file's ctime, which would otherwise cost a full re-hash on the
    next run. A file modified since `before` (one edited meanwhile) is left out, and so is every
    file installed now (its mtime is after `before`: not one would be remembered)."""
    for entry in kept.values():
        for relative, sha in entry.files.items():
            hashes.remember(folder / relative, sha, modified_before=before)
    hashes.save()


def _pth_files(manifest: Manifest | None) -> list[str]:
    """Top-level `.pth` files: Python reads them only in site directories, and a lib folder on
    PYTHONPATH or sys.path is not one, so what they set up does not happen on the server."""
    files = manifest.files() if manifest is not None else {}
    return sorted(
        relative for relative in files if "/" not in relative and relative.endswith(".pth")
    )


def _stage(staging: Path, folder: Path, plan: _Plan) -> Manifest:
    """Build the new tree in `staging`: the user's entries and unchanged files linked (on
    threads: linking releases the GIL), the rest copied from the cache of unpacked wheels (see
    `cached`), or moved in where the run unpacked it ahead (see `ahead`), or unpacked meanwhile
    (see `pool`); the manifest it was given. Two distributions writing the same path are
    refused."""
    from vendorer.install.pool import Unpack, cpus, unpack_all  # installer: when a tree changes

    def link_kept(name: str) -> VendoredDistribution:
        assert plan.old is not None  # kept: it was in the old tree
        entry = plan.old.distributions[name]
        for relative in entry.files:
            with writing(staging / relative):
                link_file(folder / relative, staging / relative)
        return entry

    def unpacked(name: str, files: dict[str, str]) -> VendoredDistribution:
        path, sha = plan.wanted[name]
        version = str(parse_wheel_filename(path.name)[1])
        return VendoredDistribution(version=version, wheel=path.name, wheel_sha256=sha, files=files)

    for foreign in plan.foreign:  # first: a wheel that would write over one of them is refused
        with writing(staging / foreign.relative):
            carry(foreign, folder, staging)

    ahead, cache = plan.ahead, plan.cache
    crew = ahead.crew if ahead is not None else None
    new = [name for name in plan.wanted if name not in plan.kept]
    early = [name for name in new if ahead is not None and ahead.has(plan.wanted[name][1])]
    cached = [n for n in new if n not in early and cache and cache.has(plan.wanted[n][1])]
    late = [name for name in new if name not in early and name not in cached]
    unpacked_now = early + late  # and those whose kept files did not read back

    def from_cache(name: str) -> dict[str, str]:
        """Copied from the cache, or unpacked where its entry does not read back."""
        wheel, sha = plan.wanted[name]
        files = cache.copy_into(sha, staging, wheel.name) if cache is not None else None
        if files is None:
            unpacked_now.append(name)
            files = unpack_all([Unpack(wheel, sha, staging, plan.profile, plan.slim)], crew)[0]
        return files

    def keep(name: str) -> Mapping[str, str]:
        """Noted in the cache, or kept the second time (see `cached`); the files copied."""
        assert cache is not None
        files = entries[name].files
        return files if cache.keep(plan.wanted[name][1], staging, files) else {}

    def size(name: str) -> int:
        return _size(plan.wanted[name][0])

    copiers = min(cpus(), 4)  # where the kernel is slow at making files (see `pacing`)
    jobs = [Unpack(*plan.wanted[name], staging, plan.profile, plan.slim) for name in late]
    with ThreadPoolExecutor(max_workers=8) as linker:
        linked = linker.map(link_kept, sorted(plan.kept))  # under way while the rest unpack
        copying = linker.submit(paced_map, from_cache, cached, size, copiers)
        unpacking = linker.submit(unpack_all, jobs, crew)
        entries = {
            name: unpacked(name, ahead.move_into(plan.wanted[name][1], staging))
            for name in early
            if ahead is not None
        }
        entries.update(zip(late, map(unpacked, late, unpacking.result()), strict=True))
        entries.update(zip(cached, map(unpacked, cached, copying.result()), strict=True))
        entries.update(zip(sorted(plan.kept), linked, strict=True))
    if cache is not None:  # each wheel unpacked now: noted, or kept the second time
        paced_map(keep, unpacked_now, size, copiers)
    distributions = {name: entries[name] for name in plan.wanted}
    _refuse_shared_files(distributions)
    with writing(staging / GITATTRIBUTES):
        write_text_atomic(staging / GITATTRIBUTES, GITATTRIBUTES_TEXT)
    manifest = Manifest(
        profile=plan.profile.name,
        lock_hash=plan.lock_hash,
        slim=plan.slim,
        distributions=distributions,
    )
    with writing(staging / MANIFEST):
        write_text_atomic(staging / MANIFEST, manifest_text(manifest))
    return manifest


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # said where it is read
        return 0


def _refuse_shared_files(distributions: Mapping[str, VendoredDistribution]) -> None:
    """Two distributions that write the same path are refused."""
    owners: dict[str, str] = {}
    for name, entry in distributions.items():
        for relative in entry.files:
            other = owners.setdefault(relative, name)
            if other != name:
                raise VendorError(f"{name} and {other} both write {relative}; nothing was changed")
