"""The steps a user runs, wired together: lock (if stale), then the wheelhouse.

Each step reads its inputs from the previous one's output on disk and is skipped when those have
not changed, so `vendorer build` on an unchanged app does no network I/O.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from packaging.utils import canonicalize_name

from vendorer.app.index_session import IndexSession
from vendorer.app.locking import LockResult, host_built_warning
from vendorer.errors import VendorerError
from vendorer.inputs.options import LockOptions
from vendorer.report import DOWNLOAD, NULL_REPORTER, Reporter, running
from vendorer.resolve.candidates import FilePolicy, VersionChoice, choose_versions, newest_usable
from vendorer.target.profile import Profile
from vendorer.wheelhouse.fill import (
    NativeRoute,
    WheelhouseContext,
    WheelhouseReport,
    build_wheelhouse,
    verified_file,
)
from vendorer.wheelhouse.native_build import CibuildwheelError, build_with_cibuildwheel

if TYPE_CHECKING:
    from packaging.metadata import Metadata

    from vendorer.index.finder import Finder

__all__ = [
    "NativeAdvice",
    "WheelhouseResult",
    "describe_native",
    "make_wheelhouse",
    "native_advice",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class NativeAdvice:
    """A native sdist and the routes to a real wheel for it."""

    route: NativeRoute
    older_with_wheel: str | None  # the newest version that has a wheel for the target


@dataclass(frozen=True, slots=True, kw_only=True)
class WheelhouseResult:
    lock: LockResult
    report: WheelhouseReport
    native: tuple[NativeAdvice, ...]
    warnings: tuple[str, ...] = ()  # about wheels supplied by the user

    @property
    def complete(self) -> bool:
        """Every locked package has its wheel: no native sdist is left without one."""
        return not self.native


def make_wheelhouse(
    profile: Profile,
    wheelhouse_root: Path,
    options: LockOptions,
    *,
    lock: LockResult,
    native: Literal["report", "cibuildwheel"] = "report",
    reporter: Reporter = NULL_REPORTER,
    finder: IndexSession | None = None,
) -> WheelhouseResult:
    """Fill `wheelhouse_root/<profile>/` from `lock`; advise on any native sdist left over.

    All of it is the DOWNLOAD task of `reporter`: each wheel in place, the bytes that arrive,
    what build backends print (with -v; otherwise only a failure's last lines), once that
    another run is filling the same folder (this one waits for it), and what the index client
    skipped or could not use. `finder`, when given, is the run's index client (the one the lock
    was made with); it stays open."""
    indexes = lock.indexes
    local_links = [Path(link) for link in indexes.find_links if "://" not in link]
    total = len(lock.lock.packages)
    opened = nullcontext(finder) if finder is not None else IndexSession(indexes, options, reporter)
    with running(reporter, DOWNLOAD, title="wheels", total=total), opened as using:
        context = WheelhouseContext(
            lock_dir=lock.path.parent,
            downloader=using,
            indexes=indexes,
            find_links=local_links,
            reporter=reporter,
        )
        report = build_wheelhouse(lock.lock, profile, wheelhouse_root, context)
        if native == "cibuildwheel" and report.native:
            with tempfile.TemporaryDirectory(prefix="vendorer-native-") as work:
                built, failures = _cibuildwheel(lock, profile, report, context, Path(work))
                context = dataclasses.replace(context, native_builds=[built])
                report = build_wheelhouse(lock.lock, profile, wheelhouse_root, context)
            if failures:  # raised once the wheels that did build are in the wheelhouse
                raise CibuildwheelError("\n".join(failures))
        advice = tuple(
            native_advice(route, profile, using.finder, lock.policy) for route in report.native
        )
    host_built = (host_built_warning(name, profile) for name in report.accepted)
    return WheelhouseResult(
        lock=lock,
        report=report,
        native=advice,
        warnings=tuple(warning for warning in host_built if warning is not None),
    )


def _cibuildwheel(
    lock: LockResult,
    profile: Profile,
    report: WheelhouseReport,
    context: WheelhouseContext,
    work: Path,
) -> tuple[Path, list[str]]:
    """Build the native sdists' wheels with cibuildwheel: the folder that holds them, and the
    builds that failed."""
    sdists = []
    for route in report.native:
        package = lock.lock.package(route.name)
        assert package is not None
        sdist = work / "sdists" / package.file.filename
        sdist.parent.mkdir(exist_ok=True)
        shutil.copyfile(verified_file(package, context), sdist)
        sdists.append(sdist)
    output = work / "wheels"
    failures = build_with_cibuildwheel(profile, sdists, output, lock.indexes, context.reporter)
    return output, failures


def native_advice(
    route: NativeRoute, profile: Profile, finder: Finder, policy: FilePolicy
) -> NativeAdvice:
    """The newest version of the project with a wheel the target can load, by the rules the lock
    was resolved with (`policy`: binary options, pre-releases; yanked files; Requires-Python
    from the index and from the wheel's own metadata)."""
    tag_rank = {tag: rank for rank, tag in enumerate(profile.tags)}
    choices, _ = choose_versions(
        finder.project_files(route.name), profile, policy=policy, tag_rank=tag_rank
    )

    def metadata_of(choice: VersionChoice) -> Metadata | None:
        assert choice.wheel is not None  # wheel_only
        try:
            return finder.metadata(choice.wheel)
        except VendorerError:
            return None

    with_wheel = newest_usable(choices, profile, metadata_of, pre=policy.pre, wheel_only=True)
    return NativeAdvice(
        route=route, older_with_wheel=str(with_wheel.version) if with_wheel else None
    )


def describe_native(advice: NativeAdvice, profile: Profile, folder: Path) -> list[str]:
    """The routes to a real wheel, as lines for the user."""
    route = advice.route
    name = canonicalize_name(route.name)
    lines = [f"{name} {route.version} needs a compiler the target does not have: {route.reason}"]
    if advice.older_with_wheel:
        lines.append(
            f"  - pin the newest version with a wheel for {profile.tags[0]}: "
            f"{name}=={advice.older_with_wheel} in your requirements"
        )
    lines.append(
        f"  - or build the wheel on a machine like the target (CPython {profile.python.version}, "
        f"{profile.tags[0].platform}): `python -m pip wheel --no-deps {name}=={route.version}`, "
        f"and put it in {folder}/ or a --find-links folder"
    )
    lines.append(
        f"  - or let CI build it: `vendorer native-plan --profile {profile.name}` writes a "
        "cibuildwheel configuration and workflow for it"
    )
    return lines
