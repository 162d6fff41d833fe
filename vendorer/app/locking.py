"""`vendorer lock`: requirements + profile -> resolution -> `pylock.<profile>.toml`.

The one place that wires the parts together: it reads the requirements, asks the finder for files,
runs the resolver, makes sure every chosen file has a sha256, and replaces the lock only once the
new one is complete.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import Version

from vendorer._util.files import write_text_atomic
from vendorer._util.urls import file_url_path, redact
from vendorer.app.index_session import IndexSession, open_finder
from vendorer.errors import UsageError
from vendorer.inputs.options import IndexSettings, LockOptions, cache_dir, indexes_for
from vendorer.inputs.requirements import RequirementLine, RequirementsFile, parse_requirements
from vendorer.lock.inputs_hash import inputs_hash
from vendorer.lock.model import Lock, LockedFile, LockedPackage
from vendorer.lock.pylock import lock_path, read_lock_as_written, relative_posix, render_lock
from vendorer.report import NULL_REPORTER, RESOLVE, Reporter, running
from vendorer.resolve.candidates import FilePolicy, VersionChoice, summarize
from vendorer.target.profile import Profile
from vendorer.target.tags import is_host_built

if TYPE_CHECKING:  # resolving, reading indexes and building: imported when a lock is made
    from packaging.metadata import Metadata

    from vendorer.index.finder import Finder
    from vendorer.index.models import DistFile
    from vendorer.resolve.resolver import ResolvedPackage, RootRequirement

__all__ = [
    "LockResult",
    "host_built_warning",
    "lock_indexes",
    "make_lock",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class LockResult:
    lock: Lock
    path: Path
    changed: bool  # False: the existing lock was current and nothing was resolved
    indexes: IndexSettings  # where its files came from (the next steps fetch and build from there)
    policy: FilePolicy  # the binary, pre-release and wheel-first rules it was resolved with
    previous: Lock | None = None  # the lock this one replaced, if there was a readable one
    warnings: tuple[str, ...] = ()  # what the user should look at, though the lock is made


def make_lock(
    profile: Profile,
    requirements_path: Path,
    options: LockOptions,
    *,
    force: bool = False,
    upgrade: bool = False,
    upgrade_packages: Collection[str] = (),
    dry_run: bool = False,
    reporter: Reporter = NULL_REPORTER,
    finder: IndexSession | None = None,
) -> LockResult:
    """Resolve `requirements_path` for `profile` and write its lock, unless the lock is current.

    The previous lock's versions are kept where they still fit (as pip-tools and uv do), except
    with `upgrade` (none kept) or for the `upgrade_packages` named; either resolves again. With
    `dry_run` the new lock is made but not written. All of it is the RESOLVE task of `reporter`,
    which hears each pin, what build backends print while they prepare metadata (with -v;
    otherwise only a failure shows their last lines), and as warnings what the user should hear
    about (options the requirements file gives in vain, what the index client skipped): none
    when the lock is current. `finder`, when given, is the run's index client (for the same
    indexes); it stays open.
    """
    with running(reporter, RESOLVE, title=f"resolving for {profile.name}"):
        requirements = parse_requirements(requirements_path)
        indexes = indexes_for(requirements, options)
        digest = inputs_hash(profile, requirements, indexes, options)
        path = lock_path(requirements_path, profile.name)
        policy = _policy(requirements, options)
        previous = _read_if_valid(path)  # None when missing or unreadable
        current = None if force or upgrade or upgrade_packages else _if_current(previous, digest)
        if current is not None:
            return LockResult(
                lock=current,
                path=path,
                changed=False,
                indexes=indexes,
                policy=policy,
                warnings=_host_built_wheels(current, profile),
            )
        for option in requirements.ignored_options:
            reporter.warning(_ignored(option))
        targets = [_upgrade_target(text) for text in upgrade_packages]
        kept = {} if upgrade else _kept_versions(previous, options, targets)
        opened = nullcontext(finder.finder) if finder else open_finder(indexes, options, reporter)
        with opened as using:
            packages = _resolved(
                profile,
                requirements,
                targets,
                using,
                policy=policy,
                build=_metadata_builder(using, indexes, reporter),
                reporter=reporter,
                kept=kept,
                lock_dir=path.parent,
                fetch_ahead=finder.fetch_ahead if finder and not dry_run else None,
            )
        lock = Lock(
            profile=profile.name,
            inputs_hash=digest,
            packages=packages,
            prefer_newest=options.prefer_newest,
            pre=options.pre,
            index_strategy=options.index_strategy,
        )
        if not dry_run:
            write_text_atomic(path, render_lock(lock, profile))  # the old lock stays until then
    return LockResult(
        lock=lock,
        path=path,
        changed=True,
        indexes=indexes,
        policy=policy,
        previous=previous,
        warnings=_host_built_wheels(lock, profile),
    )


def _policy(requirements: RequirementsFile, options: LockOptions) -> FilePolicy:
    """The binary, pre-release and wheel-first rules: the options' and the requirements'."""
    return FilePolicy(
        only_binary=requirements.only_binary,
        no_binary=requirements.no_binary,
        pre=options.pre or requirements.pre,
        prefer_newest=options.prefer_newest,
    )


def _resolved(
    profile: Profile,
    requirements: RequirementsFile,
    targets: Collection[Requirement],
    finder: Finder,
    *,
    policy: FilePolicy,
    build: Callable[[DistFile], Metadata],
    reporter: Reporter,
    kept: Mapping[NormalizedName, Version],
    lock_dir: Path,
    fetch_ahead: Callable[[DistFile], None] | None,
) -> tuple[LockedPackage, ...]:
    """Resolve the requirements (with the constraints and the --upgrade-package bounds) and
    pin every chosen file with its sha256. With `fetch_ahead` (a wheelhouse is filled next,
    from the same index client), each wheel resolution takes up starts downloading while it
    goes on."""
    from vendorer.resolve.resolver import RootRequirement, resolve_for

    roots = [_root(line, finder) for line in requirements.requirements]
    constraints = [
        *(_root(line, finder) for line in requirements.constraints),
        *(RootRequirement(requirement=t, written_in="--upgrade-package") for t in targets),
    ]
    resolution = resolve_for(
        profile,
        roots,
        finder,
        constraints=constraints,
        policy=policy,
        build_metadata=build,
        reporter=reporter,
        preferred=kept,
        on_choice=_fetch_wheel_ahead(fetch_ahead) if fetch_ahead else None,
    )
    return tuple(_locked(package, finder, lock_dir) for package in resolution.packages)


def _fetch_wheel_ahead(fetch: Callable[[DistFile], None]) -> Callable[[VersionChoice], None]:
    """Each wheel resolution takes up starts downloading (once): a big one such as pandas'
    is on its way as soon as its page is read, not only once its metadata is (0.2-0.3 s later).
    One that resolution then passes over is downloaded for nothing, and kept in the cache."""
    started: set[str] = set()

    def fetch_wheel(choice: VersionChoice) -> None:
        if choice.wheel is not None and choice.wheel.url not in started:
            started.add(choice.wheel.url)
            fetch(choice.wheel)

    return fetch_wheel


def lock_indexes(requirements_path: Path, options: LockOptions) -> IndexSettings:
    """Where the lock of `requirements_path` takes its files from: the index client to open for
    a run that locks and then fills the wheelhouse."""
    return indexes_for(parse_requirements(requirements_path), options)


def _kept_versions(
    previous: Lock | None, options: LockOptions, targets: Collection[Requirement]
) -> dict[NormalizedName, Version]:
    """The previous lock's versions to keep where they still fit: none when it was made with
    other choices, and not those of the packages asked to move."""
    if previous is None or (previous.prefer_newest, previous.pre, previous.index_strategy) != (
        options.prefer_newest,
        options.pre,
        options.index_strategy,
    ):
        return {}
    moving = {canonicalize_name(target.name) for target in targets}
    return {p.name: p.version for p in previous.packages if p.name not in moving}


def host_built_warning(filename: str, profile: Profile) -> str | None:
    """A warning when the target would take the wheel `filename` only for a `linux_<arch>` tag:
    built on some Linux machine, it promises nothing about the target's glibc."""
    try:
        tags = parse_wheel_filename(filename)[3] & frozenset(profile.tags)
    except InvalidWheelFilename:
        return None
    if not tags or not all(is_host_built(tag) for tag in tags):
        return None
    platform = next(iter(tags)).platform
    return (
        f"{filename} is a {platform} wheel: it was built on some Linux machine and, unlike a "
        f"manylinux wheel, promises nothing about the glibc of {profile.name}; make sure it was "
        "built on a machine like the target (a glibc no newer than the target's), or use a "
        "manylinux wheel of that release"
    )


def _host_built_wheels(lock: Lock, profile: Profile) -> tuple[str, ...]:
    found = (host_built_warning(p.file.filename, profile) for p in lock.packages)
    return tuple(warning for warning in found if warning is not None)


def _upgrade_target(text: str) -> Requirement:
    """`-P NAME` or `-P "NAME<SPEC>"` (pip-tools accepts `django==4.2`): a name, maybe a bound."""
    try:
        return Requirement(text)
    except InvalidRequirement:
        raise UsageError(
            f"--upgrade-package {text!r}: give a project name, or a name and a version "
            "specifier (django, django==4.2, 'django<5')"
        ) from None


def _ignored(option: str) -> str:
    """'requirements.txt:3: --trusted-host' -> the warning that says why it does nothing."""
    why = _IGNORED_BECAUSE.get(option.rpartition(": ")[2], "vendorer has no use for it")
    return f"{option} is ignored: {why}"


_IGNORED_BECAUSE = {
    "--prefer-binary": "vendorer prefers wheels anyway",
    "--require-hashes": "vendorer checks every file's hash anyway",
    "--no-require-hashes": "vendorer checks every file's hash anyway",
    "--trusted-host": "vendorer checks every HTTPS certificate",
    "--use-feature": "pip's feature flags do not apply to vendorer",
}


def _if_current(lock: Lock | None, digest: str) -> Lock | None:
    """`lock` when it was made from the inputs whose hash is `digest`, and not edited since (by
    hand it is no longer what vendorer resolved)."""
    return lock if lock is not None and lock.inputs_hash == digest and not lock.edited else None


def _read_if_valid(path: Path) -> Lock | None:
    """The previous lock, even one edited by hand (its versions are kept where they fit, but
    it never counts as current)."""
    try:
        return read_lock_as_written(path)
    except Exception:  # any unreadable lock is simply replaced
        return None


def _root(line: RequirementLine, finder: Finder) -> RootRequirement:
    from vendorer.resolve.resolver import RootRequirement

    direct = None
    if line.path is not None:
        direct = finder.local_file(line.path)
    elif line.requirement.url:
        direct = finder.url_file(line.requirement.url, name=line.requirement.name)
    # `source` is "<file>:<line>", the file relative to the top file's folder (the lock's)
    written_in, _, number = line.source.rpartition(":")
    return RootRequirement(
        requirement=line.requirement,
        written_in=written_in,
        line=int(number),
        hashes=frozenset(line.hashes),
        file=direct,
    )


def _metadata_builder(
    finder: Finder, indexes: IndexSettings, reporter: Reporter
) -> Callable[[DistFile], Metadata]:
    def build(file: DistFile) -> Metadata:
        from vendorer.wheelhouse.builder import build_metadata

        sdist = finder.download(file, cache_dir() / "sdists")
        return build_metadata(sdist, indexes, reporter=reporter)

    return build


def _locked(package: ResolvedPackage, finder: Finder, lock_dir: Path) -> LockedPackage:
    file = package.choice.wheel or package.choice.sdist
    assert file is not None  # a VersionChoice always has one
    sha256 = finder.sha256(file)
    local = file.url.startswith("file:")
    return LockedPackage(
        name=canonicalize_name(package.name),
        version=package.version,
        file=LockedFile(
            filename=file.filename,
            url=None if local else redact(file.url),
            path=relative_posix(file_url_path(file.url), lock_dir) if local else None,
            sha256=sha256,
        ),
        index=None if local or file.source == file.url else redact(file.source),
        requires_python=package.requires_python,
        dependencies=package.dependencies,
        required_by=package.required_by,
        newer=tuple(summarize(package.newer)),
    )
