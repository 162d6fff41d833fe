"""The resolvelib provider: the packaging facts of the target, supplied to resolvelib's search.

Every marker is evaluated in the profile's environment, every Requires-Python against the
profile's full version (a requirement on the virtual project `<python>`, whose one candidate is
the target's interpreter), and every file is judged by the profile's tags (see `candidates`).
Nothing here reads the host interpreter, and nothing here speaks HTTP: files and metadata come
from a `PackageSource`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from packaging.metadata import Metadata
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version
from resolvelib import BaseReporter
from resolvelib.providers import AbstractProvider
from resolvelib.resolvers import RequirementInformation

from vendorer.errors import ResolutionError, VendorerError
from vendorer.index.listing import Listing
from vendorer.index.models import DistFile
from vendorer.report import RESOLVE, Reporter
from vendorer.resolve.candidates import FilePolicy, VersionChoice, VersionTable, release_allowed
from vendorer.resolve.chains import FromPackage, RequiredBy
from vendorer.target.profile import Profile

__all__ = [
    "PYTHON",
    "Candidate",
    "MetadataBuilder",
    "PackageSource",
    "PinReporter",
    "Req",
    "TargetProvider",
    "as_written",
    "dependency",
]

PYTHON = "<python>"  # the virtual project whose one candidate is the target's interpreter
_PYTHON = NormalizedName(PYTHON)


class PackageSource(Protocol):
    """Where files and metadata come from (the Finder, in production)."""

    def project_listing(self, name: str) -> Listing: ...

    def metadata(self, file: DistFile) -> Metadata | None: ...


MetadataBuilder = Callable[[DistFile], Metadata]


@dataclass(frozen=True, slots=True)
class Req:
    """A requirement as resolvelib sees it: one project (with extras), and who asked for it."""

    name: NormalizedName
    extras: frozenset[str]
    specifier: SpecifierSet
    asked_by: RequiredBy  # who asked (a line of a requirements file, or a package), and how
    hashes: frozenset[str] = frozenset()
    file: DistFile | None = None

    @property
    def identifier(self) -> str:
        return _identifier(self.name, self.extras)

    @property
    def text(self) -> str:
        """The requirement as written, without its marker."""
        return self.asked_by.requirement

    @property
    def parent(self) -> str:
        """Who asked: `requirements.txt:3` or `flask 2.0.3`."""
        return self.asked_by.parent

    @property
    def parent_name(self) -> NormalizedName | None:
        """The package that asked; None when the user did."""
        return self.asked_by.package if isinstance(self.asked_by, FromPackage) else None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A version of a project (with extras) the target can take; `<python>`'s is the target."""

    name: NormalizedName
    version: Version
    extras: frozenset[str] = frozenset()
    choice: VersionChoice | None = field(default=None, compare=False)

    @property
    def identifier(self) -> str:
        return _identifier(self.name, self.extras)


def _requires_python(specifier: SpecifierSet, parent: Candidate) -> Req:
    """A package's Requires-Python, as a requirement on the target's interpreter."""
    asked_by = FromPackage(
        package=parent.name, version=parent.version, requirement=f"Requires-Python {specifier}"
    )
    return Req(_PYTHON, frozenset(), specifier, asked_by)


def _identifier(name: str, extras: frozenset[str]) -> str:
    return f"{name}[{','.join(sorted(extras))}]" if extras else name


def _exact_pins(reqs: Iterable[Req]) -> list[Version]:
    """The versions named exactly (`==1.2.3`, `===1.2.3`) by any of `reqs`."""
    pins = []
    for req in reqs:
        for spec in req.specifier:
            if spec.operator in {"==", "==="} and "*" not in spec.version:
                with contextlib.suppress(InvalidVersion):
                    pins.append(Version(spec.version))
    return pins


def as_written(requirement: Requirement) -> str:
    """The requirement as written, without its marker."""
    return str(requirement).split(";")[0].strip()


def dependency(requirement: Requirement, parent: Candidate) -> Req:
    """A requirement of `parent`'s metadata."""
    asked_by = FromPackage(
        package=parent.name, version=parent.version, requirement=as_written(requirement)
    )
    return Req(
        canonicalize_name(requirement.name),
        frozenset(requirement.extras),
        requirement.specifier,
        asked_by,
    )


class TargetProvider(AbstractProvider[Req, Candidate, str]):
    """resolvelib's provider for one target; it remembers what it saw, to explain the result."""

    def __init__(
        self,
        profile: Profile,
        source: PackageSource,
        policy: FilePolicy,
        constraints: Mapping[NormalizedName, SpecifierSet],
        build_metadata: MetadataBuilder | None,
        *,
        preferred: Mapping[NormalizedName, Version],
        on_choice: Callable[[VersionChoice], None] | None = None,
    ) -> None:
        self.profile = profile
        self.preferred = preferred  # the previous lock's versions: tried first, kept if they fit
        self.on_choice = on_choice  # told of each project's first candidate (resolve_for)
        self.source = source
        self.policy = policy
        self.constraints = constraints
        self.build_metadata = build_metadata
        self.environment = profile.marker_environment()
        self.tag_rank = {tag: rank for rank, tag in enumerate(profile.tags)}
        self.versions: dict[NormalizedName, VersionTable] = {}  # as last asked for
        self.asked_by: dict[NormalizedName, Req] = {}  # the first requirement naming a project
        self.requires_python: dict[tuple[str, Version], SpecifierSet | None] = {}
        self._metadata: dict[tuple[str, Version], Metadata] = {}
        self._prefetcher = ThreadPoolExecutor(max_workers=8, thread_name_prefix="prefetch")

    def close(self) -> None:
        self._prefetcher.shutdown(wait=False, cancel_futures=True)

    # resolvelib's interface

    def identify(self, requirement_or_candidate: Req | Candidate) -> str:
        return requirement_or_candidate.identifier

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[RequirementInformation[Req, Candidate]]],
        backtrack_causes: Sequence[RequirementInformation[Req, Candidate]],
    ) -> tuple[bool, bool, bool, str]:
        pinned = bool(_exact_pins(info.requirement for info in information[identifier]))
        causes = {cause.requirement.name for cause in backtrack_causes}
        # Work first on: the interpreter, exact pins, backtrack causes; then by name for stability.
        return (identifier != PYTHON, not pinned, identifier not in causes, identifier)

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Req]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> list[Candidate] | Callable[[], Iterator[Candidate]]:
        reqs = list(requirements[identifier])
        bad = {candidate.version for candidate in incompatibilities[identifier]}
        if identifier == PYTHON:
            version = self.profile.python.version
            fits = all(req.specifier.contains(version, prereleases=True) for req in reqs)
            return [Candidate(_PYTHON, version)] if fits and version not in bad else []
        name, extras = reqs[0].name, frozenset().union(*(req.extras for req in reqs))
        table = self._versions(name, reqs)
        constraint = self.constraints.get(name, SpecifierSet())
        pre = self.allows_pre(*reqs)

        def allowed(choice: VersionChoice) -> bool:
            return (
                choice.version not in bad
                and all(
                    req.specifier.contains(choice.version, prereleases=self.allows_pre(req))
                    for req in reqs
                )
                and constraint.contains(choice.version, prereleases=True)
                and release_allowed(choice.version, pre=pre)
            )

        kept = self.preferred.get(name)  # the version the lock had goes first where it fits

        def matches() -> Iterator[Candidate]:
            first = table.choice(kept) if kept is not None else None
            if first is not None and allowed(first):
                yield Candidate(name, first.version, extras, first)
            for choice in table.ordered():
                if choice.version != kept and allowed(choice):
                    yield Candidate(name, choice.version, extras, choice)

        first = next(matches(), None)
        if first is not None:
            self.prefetch_metadata(first)
            if self.on_choice is not None and first.choice is not None:
                self.on_choice(first.choice)
        return matches  # a factory: resolvelib judges versions only as far as it looks

    def is_satisfied_by(self, requirement: Req, candidate: Candidate) -> bool:
        if candidate.name == PYTHON:
            return requirement.specifier.contains(candidate.version, prereleases=True)
        if requirement.file is not None and candidate.choice is not None:
            return requirement.file in candidate.choice.files
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate: Candidate) -> list[Req]:
        if candidate.name == PYTHON:
            return []
        metadata = self._metadata_of(candidate)
        dependencies: list[Req] = []
        if metadata.requires_python is not None:
            self.requires_python[(candidate.name, candidate.version)] = metadata.requires_python
            dependencies.append(_requires_python(metadata.requires_python, candidate))
        if candidate.extras:  # an extra's candidate depends on its base at the same version
            base = Requirement(f"{candidate.name}=={candidate.version}")
            dependencies.append(dependency(base, candidate))
        wanted = {""} | set(candidate.extras)
        for requirement in metadata.requires_dist or []:
            marker = requirement.marker
            if marker is None or any(
                marker.evaluate({**self.environment, "extra": extra}) for extra in wanted
            ):
                dependencies.append(dependency(requirement, candidate))
        for each in dependencies:
            self.asked_by.setdefault(each.name, each)
        self.prefetch_projects(req.name for req in dependencies if req.name != PYTHON)
        return dependencies

    # helpers

    def allows_pre(self, *reqs: Req) -> bool:
        return self.policy.pre or any(req.specifier.prereleases for req in reqs)

    def _versions(self, name: NormalizedName, reqs: list[Req]) -> VersionTable:
        direct = [req.file for req in reqs if req.file is not None]
        table = VersionTable(
            Listing.of(direct[:1]) if direct else self.source.project_listing(name),
            self.profile,
            policy=self.policy,
            tag_rank=self.tag_rank,
            pinned=_exact_pins(reqs),
            allowed_hashes=frozenset().union(*(req.hashes for req in reqs)),
        )
        self.versions[name] = table
        return table

    def _metadata_of(self, candidate: Candidate) -> Metadata:
        key = (candidate.name, candidate.version)
        if key not in self._metadata:
            assert candidate.choice is not None
            self._metadata[key] = self.fetch_metadata(candidate.choice)
        return self._metadata[key]

    def readable_metadata(self, choice: VersionChoice) -> Metadata | None:
        """`fetch_metadata`, or None when it cannot be had."""
        try:
            return self.fetch_metadata(choice)
        except VendorerError:
            return None

    def fetch_metadata(self, choice: VersionChoice) -> Metadata:
        for file in (choice.wheel, choice.sdist):
            if file is None:
                continue
            metadata = self.source.metadata(file)
            if metadata is not None:
                return metadata
        sdist = choice.sdist
        if sdist is None or self.build_metadata is None:
            raise ResolutionError(
                f"{choice.project} {choice.version}: no metadata could be read from its files"
            )
        return self.build_metadata(sdist)

    def prefetch_projects(self, names: Iterable[str]) -> None:
        for name in names:
            self._prefetcher.submit(self.source.project_listing, name)

    def prefetch_metadata(self, candidate: Candidate) -> None:
        choice = candidate.choice
        if choice is not None and choice.wheel is not None:
            self._prefetcher.submit(self.source.metadata, choice.wheel)


class PinReporter(BaseReporter[Req, Candidate, str]):
    """Tells `reporter` of each project pinned (the interpreter aside), as resolution goes: an
    item of RESOLVE, "name version"; and `on_pin`, if given, of the version chosen."""

    def __init__(
        self, reporter: Reporter, on_pin: Callable[[VersionChoice], None] | None = None
    ) -> None:
        self.reporter = reporter
        self.on_pin = on_pin

    def pinning(self, candidate: Candidate) -> None:
        if candidate.name != PYTHON:
            self.reporter.advanced(RESOLVE, item=f"{candidate.identifier} {candidate.version}")
        if self.on_pin is not None and candidate.choice is not None:
            self.on_pin(candidate.choice)
