"""The steps from requirements to a vendored lib folder: lock, wheelhouse, vendor, and build.

`build` runs the others in turn with one index client for the lock and the wheelhouse; each step
is skipped when its inputs have not changed, so `vendorer build` on an unchanged app does no
network I/O.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from vendorer.app.core_tools import core_tools_files, keep_core_tools_files
from vendorer.app.project import Project, ResolveChoices
from vendorer.inputs.options import unpacked_cache
from vendorer.install.libfolder import lib_folder
from vendorer.install.manifest import ManifestError, read_manifest
from vendorer.install.vendor import VendorReport, vendor, wheels_for
from vendorer.target.layout import load_conditions, never_loaded, pythonpath_entry

# Resolving and fetching are imported by the steps that do them: a run that only vendors never
# loads them.
if TYPE_CHECKING:
    from vendorer.app.index_session import IndexSession
    from vendorer.app.locking import LockResult
    from vendorer.app.reporting import StepReporter
    from vendorer.app.workflow import WheelhouseResult
    from vendorer.install.ahead import UnpackAhead
    from vendorer.report import Reporter

__all__ = [
    "BuildRequest",
    "BuildRun",
    "LockRequest",
    "LockRun",
    "VendorRequest",
    "VendorRun",
    "WheelhouseRequest",
    "build_app",
    "build_reads",
    "fill_wheelhouse",
    "lock_app",
    "lock_for",
    "vendor_app",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class LockRequest:
    resolve: ResolveChoices = field(default_factory=ResolveChoices)
    force: bool = False  # resolve again even if the lock is current
    upgrade: bool = False  # keep none of the lock's versions
    upgrade_packages: tuple[str, ...] = ()  # move these (NAME, or NAME and a bound)
    dry_run: bool = False  # make the lock, do not write it
    export: bool = False  # also render it as pinned requirements with --hash lines
    export_to: Path | None = None  # and write them there (None: returned, for stdout)


@dataclass(frozen=True, slots=True, kw_only=True)
class LockRun:
    lock: LockResult
    export: str | None = None  # the pinned requirements, when asked for


@dataclass(frozen=True, slots=True, kw_only=True)
class WheelhouseRequest:
    lock: LockRequest = field(default_factory=LockRequest)
    native: Literal["report", "cibuildwheel"] = "report"


@dataclass(frozen=True, slots=True, kw_only=True)
class VendorRequest:
    slim: bool = False  # leave out test suites, __pycache__ and type stubs
    dry_run: bool = False  # say what would change, change nothing


@dataclass(frozen=True, slots=True, kw_only=True)
class VendorRun:
    report: VendorReport
    lib_dir: str  # as the app names it
    distributions: int
    pythonpath: str | None  # what PYTHONPATH must include on the server (None: on sys.path)
    dry_run: bool
    loaded_while: tuple[str, ...] = ()  # when the platform loads it by itself: what must hold
    never_loaded: str | None = None  # why the platform never loads it (then vendor elsewhere)
    core_tools: tuple[str, ...] = ()  # Functions: what was done to .funcignore and the md5 file


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildRequest:
    wheelhouse: WheelhouseRequest = field(default_factory=WheelhouseRequest)
    vendor: VendorRequest = field(default_factory=VendorRequest)


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildRun:
    wheelhouse: WheelhouseResult
    vendored: VendorRun | None = None  # None: native sdists are left, nothing was vendored

    @property
    def did_nothing(self) -> bool:
        """Nothing was resolved, fetched, built, removed or written."""
        report, vendored = self.wheelhouse.report, self.vendored
        return (
            vendored is not None
            and not self.wheelhouse.lock.changed
            and not (report.downloaded or report.built or report.accepted or report.removed)
            and not (vendored.report.changed or vendored.report.leftovers or vendored.core_tools)
        )


def lock_for(
    project: Project,
    request: LockRequest,
    reporter: StepReporter,
    *,
    finder: IndexSession | None = None,
) -> LockResult:
    """Lock if stale (or as `request` asks); say what happened. `finder`: the run's index
    client, if it has one (else one is opened when resolving)."""
    from vendorer.app.locking import make_lock

    result = make_lock(
        project.profile,
        project.requirements,
        project.lock_options(request.resolve),
        force=request.force,
        upgrade=request.upgrade,
        upgrade_packages=request.upgrade_packages,
        dry_run=request.dry_run,
        reporter=reporter,
        finder=finder,
    )
    reporter.locked(result, dry_run=request.dry_run)
    return result


def lock_app(project: Project, request: LockRequest, reporter: StepReporter) -> LockRun:
    """`vendorer lock`: the lock, and its export when asked for (written to `export_to`)."""
    from vendorer._util.files import write_text_atomic
    from vendorer.lock.export import export_requirements

    result = lock_for(project, request, reporter)
    if not request.export:
        return LockRun(lock=result)
    text = export_requirements(result.lock, source=result.path.name)
    if request.export_to is not None:
        write_text_atomic(request.export_to, text)
    return LockRun(lock=result, export=text)


def fill_wheelhouse(
    project: Project,
    request: WheelhouseRequest,
    reporter: StepReporter,
    ahead: UnpackAhead | None = None,
) -> WheelhouseResult:
    """`vendorer wheelhouse`: lock if stale, then fill wheelhouse/<profile>/, with one index
    client for both; `ahead` unpacks the wheels resolution pins while it goes on."""
    from vendorer.app.index_session import IndexSession
    from vendorer.app.locking import lock_indexes
    from vendorer.app.workflow import make_wheelhouse

    options = project.lock_options(request.lock.resolve)
    indexes = lock_indexes(project.requirements, options)
    with IndexSession(indexes, options, reporter, ahead=ahead) as finder:
        lock = lock_for(project, request.lock, reporter, finder=finder)
        result = make_wheelhouse(
            project.profile,
            project.wheelhouse_root,
            options,
            lock=lock,
            native=request.native,
            reporter=reporter,
            finder=finder,
        )
    reporter.filled(result, project.profile)
    return result


def vendor_app(
    project: Project,
    request: VendorRequest,
    reporter: Reporter,
    ahead: UnpackAhead | None = None,
    checked: Mapping[str, str] | None = None,
) -> VendorRun:
    """`vendorer vendor`: install the wheelhouse's wheels of the lock into the lib folder (those
    `ahead` unpacked already moved in; `checked`: the sha256 of the wheelhouse's files, by name,
    as the run's wheelhouse step found them)."""
    profile = project.profile
    lock = project.read_lock()
    lib_dir = project.lib_dir
    folder = lib_folder(project.app, lib_dir)
    wheels = wheels_for(lock, project.wheelhouse)
    known = checked or {}
    report = vendor(
        wheels,
        profile,
        folder,
        lock_hash=lock.inputs_hash,
        slim=request.slim,
        dry_run=request.dry_run,
        locked_sha256={p.name: p.file.sha256 for p in lock.packages if not p.needs_build},
        reporter=reporter,
        shown=lib_dir,
        ahead=ahead,
        checked={path: known[path.name] for path in wheels.values() if path.name in known},
        unpacked_cache=unpacked_cache(),
    )
    return VendorRun(
        report=report,
        lib_dir=lib_dir,
        distributions=len(wheels),
        pythonpath=pythonpath_entry(profile, lib_dir),
        dry_run=request.dry_run,
        loaded_while=load_conditions(profile, lib_dir),
        never_loaded=never_loaded(profile, lib_dir),
        core_tools=tuple(keep_core_tools_files(project, dry_run=request.dry_run)),
    )


def build_reads(project: Project) -> list[str]:
    """Every file and folder a `build_app` with nothing to do reads or looks for: the check's,
    and the files Core Tools reads beside a Functions app."""
    from vendorer.app.offline import check_reads

    core_tools = {os.path.abspath(path) for path in core_tools_files(project)}  # noqa: PTH100
    return sorted({*check_reads(project), *core_tools, *map(os.path.dirname, core_tools)})


def build_app(project: Project, request: BuildRequest, reporter: StepReporter) -> BuildRun:
    """`vendorer build`: lock if stale, fill the wheelhouse, then vendor, unless native sdists
    are left without a wheel. The big wheels resolution pins are unpacked as they arrive, while
    it goes on (`vendorer.install.ahead`)."""
    with _unpacking_ahead(project, request) as ahead:
        filled = fill_wheelhouse(project, request.wheelhouse, reporter, ahead)
        if not filled.complete:
            return BuildRun(wheelhouse=filled)
        vendored = vendor_app(project, request.vendor, reporter, ahead, filled.report.wheels)
    return BuildRun(wheelhouse=filled, vendored=vendored)


def _unpacking_ahead(project: Project, request: BuildRequest) -> UnpackAhead:
    """Unpacking ahead into the lib folder, but for the wheels it holds already; none for a dry
    run."""
    from vendorer.install.ahead import UnpackAhead  # its workers: only when a build locks
    from vendorer.install.cached import UnpackedCache

    dry_run = request.vendor.dry_run or request.wheelhouse.lock.dry_run
    folder = None if dry_run else lib_folder(project.app, project.lib_dir)
    try:
        manifest = read_manifest(folder) if folder is not None else None
    except ManifestError:  # the vendor step says what is wrong with it
        manifest = None
    vendored = [entry.wheel_sha256 for entry in manifest.distributions.values()] if manifest else []
    slim = request.vendor.slim
    cache = UnpackedCache(unpacked_cache(), project.profile, slim=slim)
    return UnpackAhead(folder, project.profile, slim=slim, vendored=vendored, cache=cache)
