"""Which of a project's files fit the target, version by version, and why the others do not.

A version is usable on the target when one of its wheels carries a tag the profile supports, or
when it has an sdist (which then needs a build). Versions come out in preference order: the
compiler-less target wants a version with a wheel before a newer one that has only an sdist.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import NormalizedName
from packaging.version import Version

from vendorer.index.listing import Listing
from vendorer.index.models import DistFile
from vendorer.target.profile import Profile

if TYPE_CHECKING:
    from packaging.metadata import Metadata

__all__ = [
    "FilePolicy",
    "Rejection",
    "VersionChoice",
    "VersionTable",
    "choose_versions",
    "newest_usable",
    "release_allowed",
    "summarize",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionChoice:
    """One version of a project as the target would get it."""

    project: NormalizedName
    version: Version
    wheel: DistFile | None  # the wheel whose best tag ranks highest on the target
    sdist: DistFile | None

    @property
    def needs_build(self) -> bool:
        return self.wheel is None

    @property
    def files(self) -> tuple[DistFile, ...]:
        """What the lock records: the chosen wheel, or the sdist to build."""
        return (self.wheel,) if self.wheel else (self.sdist,) if self.sdist else ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejection:
    version: Version
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FilePolicy:
    """The user's choices about files: pip's --only-binary / --no-binary / --pre and wheel-first."""

    only_binary: frozenset[str] = frozenset()  # canonical names, or ":all:"
    no_binary: frozenset[str] = frozenset()
    pre: bool = False
    prefer_newest: bool = False

    def wheels_allowed(self, project: str) -> bool:
        return not ({project, ":all:"} & self.no_binary) or project in self.only_binary

    def sdists_allowed(self, project: str) -> bool:
        return not ({project, ":all:"} & self.only_binary) or project in self.no_binary


@dataclass(slots=True)
class _Files:
    wheels: list[DistFile] = field(default_factory=list)
    sdists: list[DistFile] = field(default_factory=list)


def choose_versions(
    files: Iterable[DistFile],
    profile: Profile,
    *,
    policy: FilePolicy,
    tag_rank: Mapping[Tag, int],
    pinned: Sequence[Version] = (),
    allowed_hashes: frozenset[str] = frozenset(),
) -> tuple[list[VersionChoice], list[Rejection]]:
    """Every usable version in preference order, and why each other version was rejected.

    `pinned` are versions the user named exactly (`==1.2.3`): only those may come from yanked
    files. `allowed_hashes` ("sha256:<hex>"), when given, admits only files with one of them.
    """
    table = VersionTable(
        Listing.of(files),
        profile,
        policy=policy,
        tag_rank=tag_rank,
        pinned=pinned,
        allowed_hashes=allowed_hashes,
    )
    return list(table.ordered()), table.rejections()


class VersionTable:
    """A project's versions, each judged by the rule of `choose_versions` only when first
    reached: resolution mostly takes one of the newest, and a project such as numpy lists
    hundreds of versions in thousands of files (flask, pandas and requests: 1,220 versions,
    13,841 files, 55-65 ms of the lock's own thread when all were judged)."""

    def __init__(
        self,
        listing: Listing,
        profile: Profile,
        *,
        policy: FilePolicy,
        tag_rank: Mapping[Tag, int],
        pinned: Sequence[Version] = (),
        allowed_hashes: frozenset[str] = frozenset(),
    ) -> None:
        self._listing = listing
        self._newest_first = sorted(listing.versions, reverse=True)
        self._judged: dict[Version, tuple[VersionChoice | None, str]] = {}
        self._judge = functools.partial(
            _choose,
            profile=profile,
            policy=policy,
            tag_rank=tag_rank,
            allowed_hashes=allowed_hashes,
        )
        self._pinned = frozenset(pinned)
        self.prefer_newest = policy.prefer_newest

    def choice(self, version: Version) -> VersionChoice | None:
        """`version` as the target would get it; None when it is not usable (or not listed)."""
        if version not in self._judged:
            group = _Files()
            for file in self._listing.files(version):
                (group.wheels if file.is_wheel else group.sdists).append(file)
            if not group.wheels and not group.sdists:  # none of its files could be read
                self._judged[version] = (None, "")
            else:
                self._judged[version] = self._judge(group, pinned=version in self._pinned)
        return self._judged[version][0]

    def ordered(self) -> Iterator[VersionChoice]:
        """The usable versions in preference order, judged as they are reached: newest first,
        or (wheel-first) every one with a wheel before those that need a build."""
        needs_build: list[VersionChoice] = []
        for version in self._newest_first:
            choice = self.choice(version)
            if choice is None:
                continue
            if choice.needs_build and not self.prefer_newest:
                needs_build.append(choice)
            else:
                yield choice
        yield from needs_build

    def usable(self, newer_than: Version | None = None) -> list[VersionChoice]:
        """Every usable version (newer than `newer_than`), newest first."""
        listed = (self.choice(version) for version in self._newer(newer_than))
        return [choice for choice in listed if choice is not None]

    def rejections(self, newer_than: Version | None = None) -> list[Rejection]:
        """Why each version (newer than `newer_than`) that is not usable was rejected, newest
        first."""
        found = []
        for version in self._newer(newer_than):
            if self.choice(version) is None and (reason := self._judged[version][1]):
                found.append(Rejection(version=version, reason=reason))
        return found

    def _newer(self, than: Version | None) -> list[Version]:
        versions = self._newest_first
        return versions if than is None else [v for v in versions if v > than]


def _choose(
    group: _Files,
    profile: Profile,
    policy: FilePolicy,
    tag_rank: Mapping[Tag, int],
    *,
    pinned: bool,
    allowed_hashes: frozenset[str],
) -> tuple[VersionChoice | None, str]:
    candidates = group.wheels + group.sdists
    project, version = candidates[0].project, candidates[0].version
    reasons: list[str] = []

    def keep(file: DistFile) -> bool:
        if file.yanked is not None and not pinned:
            reasons.append(f"yanked{': ' + file.yanked if file.yanked else ''}")
            return False
        if not _python_ok(file.requires_python, profile):
            reasons.append(f"Requires-Python {file.requires_python}")
            return False
        if allowed_hashes and not _hash_allowed(file, allowed_hashes):
            reasons.append("no file matches the --hash values given")
            return False
        return True

    wheels = [w for w in group.wheels if keep(w)] if policy.wheels_allowed(project) else []
    sdists = [s for s in group.sdists if keep(s)] if policy.sdists_allowed(project) else []
    ranked = sorted(
        ((min((tag_rank[t] for t in w.tags if t in tag_rank), default=None), w) for w in wheels),
        key=lambda pair: (pair[0] is None, pair[0] or 0),
    )
    best = ranked[0][1] if ranked and ranked[0][0] is not None else None
    if best is None and not sdists:
        if reasons and len(reasons) == len(candidates):
            return None, "; ".join(dict.fromkeys(reasons))
        return None, _no_file_reason(group, profile, policy)
    return VersionChoice(
        project=project, version=version, wheel=best, sdist=next(iter(sdists), None)
    ), ""


def newest_usable(
    choices: Iterable[VersionChoice],
    profile: Profile,
    metadata_of: Callable[[VersionChoice], Metadata | None],
    *,
    pre: bool,
    wheel_only: bool = False,
) -> VersionChoice | None:
    """The newest of `choices` that resolution could take for the target.

    `choices` come from `choose_versions`, so the user's binary options, the yanked rule and the
    index's Requires-Python are already applied. On top: no pre-release unless `pre`, only a
    wheel with `wheel_only`, and the version's own metadata must admit the target's Python (an
    index may not say Requires-Python). `metadata_of` gives None when it cannot be read: such a
    version is not named.
    """
    for choice in sorted(choices, key=lambda choice: choice.version, reverse=True):
        if not release_allowed(choice.version, pre=pre) or (wheel_only and choice.needs_build):
            continue
        metadata = metadata_of(choice)
        if metadata is not None and _python_ok(metadata.requires_python, profile):
            return choice
    return None


def release_allowed(version: Version, *, pre: bool) -> bool:
    """A pre-release is taken only with --pre (or a requirement that names one)."""
    return pre or not version.is_prerelease


def _python_ok(requires_python: SpecifierSet | None, profile: Profile) -> bool:
    return requires_python is None or _admits(requires_python, profile.python.version)


@functools.lru_cache(maxsize=4096)
def _admits(requires_python: SpecifierSet, version: Version) -> bool:
    """Asked for each of a project's files (thousands for numpy) with a few distinct answers."""
    return requires_python.contains(version, prereleases=True)


def _hash_allowed(file: DistFile, allowed: frozenset[str]) -> bool:
    return any(f"{name}:{value}" in allowed for name, value in file.hashes.items())


def _no_file_reason(group: _Files, profile: Profile, policy: FilePolicy) -> str:
    project = (group.wheels + group.sdists)[0].project
    wheel_tags = sorted({str(tag) for wheel in group.wheels for tag in wheel.tags})
    shown = ", ".join(wheel_tags[:6]) + (", ..." if len(wheel_tags) > 6 else "")
    has = f"its wheels are for {shown}" if wheel_tags else "it has no wheels"
    if group.sdists and not policy.sdists_allowed(project):
        return f"no wheel for {profile.tags[0]} ({has}); its sdist is excluded by --only-binary"
    if group.wheels and not policy.wheels_allowed(project):
        return "its wheels are excluded by --no-binary and it has no sdist"
    return f"no wheel for {profile.tags[0]} ({has}) and no sdist"


def summarize(rejections: Sequence[Rejection]) -> list[str]:
    """One line per run of versions rejected for the same reason, newest first.

    `8.0: Requires-Python >=3.7`, or `8.1.0 to 8.3.2 (7 versions): Requires-Python >=3.10`.
    """
    lines: list[str] = []
    run: list[Rejection] = []
    for rejection in [*rejections, None]:
        if run and (rejection is None or rejection.reason != run[0].reason):
            newest, oldest = run[0].version, run[-1].version
            span = f"{oldest} to {newest} ({len(run)} versions)" if len(run) > 1 else f"{newest}"
            lines.append(f"{span}: {run[0].reason}")
            run = []
        if rejection is not None:
            run.append(rejection)
    return lines
