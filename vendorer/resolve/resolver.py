"""Resolution for the target: resolvelib does the search, this module supplies the packaging facts.

Every marker is evaluated in the profile's environment, every Requires-Python against the
profile's full version, and every file is judged by the profile's tags (see `candidates`). Nothing
here reads the host interpreter. Failures become `ResolutionError`s that explain themselves.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from packaging.metadata import Metadata
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version
from resolvelib import BaseReporter, ResolutionImpossible, Resolver
from resolvelib.providers import AbstractProvider
from resolvelib.resolvers import RequirementInformation, ResolutionTooDeep

from vendorer.errors import ResolutionError, VendorerError
from vendorer.index.models import DistFile
from vendorer.lock.pylock import FromFile, FromPackage, RequiredBy
from vendorer.resolve.candidates import (
    FilePolicy,
    Rejection,
    VersionChoice,
    choose_versions,
    newest_usable,
    release_allowed,
    summarize,
)
from vendorer.target.profile import Profile

__all__ = [
    "PackageSource",
    "Resolution",
    "ResolvedPackage",
    "RootRequirement",
    "resolve_for",
]

PYTHON = "<python>"  # the virtual project whose one candidate is the target's interpreter
_PYTHON = NormalizedName(PYTHON)
DEFAULT_POLICY = FilePolicy()


class PackageSource(Protocol):
    """Where files and metadata come from (the Finder, in production)."""

    def project_files(self, name: str) -> list[DistFile]: ...

    def metadata(self, file: DistFile) -> Metadata | None: ...


MetadataBuilder = Callable[[DistFile], Metadata]


@dataclass(frozen=True, slots=True, kw_only=True)
class RootRequirement:
    """A requirement the user wrote, with where it was written and its --hash values."""

    requirement: Requirement
    written_in: str  # its requirements file, relative to the lock's folder (or an option's name)
    line: int = 0  # its line in that file
    hashes: frozenset[str] = frozenset()
    file: DistFile | None = None  # a direct reference: exactly this file


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedPackage:
    name: NormalizedName
    version: Version
    choice: VersionChoice
    requires_python: SpecifierSet | None
    dependencies: tuple[NormalizedName, ...]
    required_by: tuple[RequiredBy, ...]  # each requirement that named it, and who wrote it
    newer: tuple[Rejection, ...]  # newer versions not chosen, each with its reason


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolution:
    packages: tuple[ResolvedPackage, ...]  # sorted by name


# --- the resolvelib model -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Req:
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
class _Candidate:
    name: NormalizedName
    version: Version
    extras: frozenset[str] = frozenset()
    choice: VersionChoice | None = field(default=None, compare=False)

    @property
    def identifier(self) -> str:
        return _identifier(self.name, self.extras)


def _requires_python(specifier: SpecifierSet, parent: _Candidate) -> _Req:
    """A package's Requires-Python, as a requirement on the target's interpreter."""
    asked_by = FromPackage(
        package=parent.name, version=parent.version, requirement=f"Requires-Python {specifier}"
    )
    return _Req(_PYTHON, frozenset(), specifier, asked_by)


def _identifier(name: str, extras: frozenset[str]) -> str:
    return f"{name}[{','.join(sorted(extras))}]" if extras else name


def _exact_pins(reqs: Iterable[_Req]) -> list[Version]:
    """The versions named exactly (`==1.2.3`, `===1.2.3`) by any of `reqs`."""
    pins = []
    for req in reqs:
        for spec in req.specifier:
            if spec.operator in {"==", "==="} and "*" not in spec.version:
                with contextlib.suppress(InvalidVersion):
                    pins.append(Version(spec.version))
    return pins


def _written(requirement: Requirement) -> str:
    """The requirement as written, without its marker."""
    return str(requirement).split(";")[0].strip()


def _root_requirement(root: RootRequirement) -> _Req:
    requirement = root.requirement
    asked_by = FromFile(file=root.written_in, line=root.line, requirement=_written(requirement))
    return _Req(
        canonicalize_name(requirement.name),
        frozenset(requirement.extras),
        requirement.specifier,
        asked_by,
        root.hashes,
        root.file,
    )


def _dependency(requirement: Requirement, parent: _Candidate) -> _Req:
    asked_by = FromPackage(
        package=parent.name, version=parent.version, requirement=_written(requirement)
    )
    return _Req(
        canonicalize_name(requirement.name),
        frozenset(requirement.extras),
        requirement.specifier,
        asked_by,
    )


class _Provider(AbstractProvider[_Req, _Candidate, str]):
    def __init__(
        self,
        profile: Profile,
        source: PackageSource,
        policy: FilePolicy,
        constraints: Mapping[NormalizedName, SpecifierSet],
        build_metadata: MetadataBuilder | None,
        *,
        preferred: Mapping[NormalizedName, Version],
    ) -> None:
        self.profile = profile
        self.preferred = preferred  # the previous lock's versions: tried first, kept if they fit
        self.source = source
        self.policy = policy
        self.constraints = constraints
        self.build_metadata = build_metadata
        self.environment = profile.marker_environment()
        self.tag_rank = {tag: rank for rank, tag in enumerate(profile.tags)}
        self.rejections: dict[NormalizedName, list[Rejection]] = {}
        self.usable: dict[NormalizedName, list[VersionChoice]] = {}
        self.asked_by: dict[NormalizedName, _Req] = {}  # the first requirement naming a project
        self.requires_python: dict[tuple[str, Version], SpecifierSet | None] = {}
        self._metadata: dict[tuple[str, Version], Metadata] = {}
        self._prefetcher = ThreadPoolExecutor(max_workers=8, thread_name_prefix="prefetch")

    def close(self) -> None:
        self._prefetcher.shutdown(wait=False, cancel_futures=True)

    # resolvelib's interface

    def identify(self, requirement_or_candidate: _Req | _Candidate) -> str:
        return requirement_or_candidate.identifier

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, _Candidate],
        candidates: Mapping[str, Iterator[_Candidate]],
        information: Mapping[str, Iterator[RequirementInformation[_Req, _Candidate]]],
        backtrack_causes: Sequence[RequirementInformation[_Req, _Candidate]],
    ) -> tuple[bool, bool, bool, str]:
        pinned = bool(_exact_pins(info.requirement for info in information[identifier]))
        causes = {cause.requirement.name for cause in backtrack_causes}
        # Work first on: the interpreter, exact pins, backtrack causes; then by name for stability.
        return (identifier != PYTHON, not pinned, identifier not in causes, identifier)

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[_Req]],
        incompatibilities: Mapping[str, Iterator[_Candidate]],
    ) -> list[_Candidate]:
        reqs = list(requirements[identifier])
        bad = {candidate.version for candidate in incompatibilities[identifier]}
        if identifier == PYTHON:
            version = self.profile.python.version
            fits = all(req.specifier.contains(version, prereleases=True) for req in reqs)
            return [_Candidate(_PYTHON, version)] if fits and version not in bad else []
        name, extras = reqs[0].name, frozenset().union(*(req.extras for req in reqs))
        choices = self._choices(name, reqs)
        constraint = self.constraints.get(name, SpecifierSet())
        matches = []
        for choice in choices:
            if choice.version in bad:
                continue
            allowed = all(
                req.specifier.contains(choice.version, prereleases=self.allows_pre(req))
                for req in reqs
            ) and constraint.contains(choice.version, prereleases=True)
            if allowed and release_allowed(choice.version, pre=self.allows_pre(*reqs)):
                matches.append(_Candidate(name, choice.version, extras, choice))
        kept = self.preferred.get(name)
        matches.sort(key=lambda candidate: candidate.version != kept)  # stable: the rest in order
        if matches:
            self.prefetch_metadata(matches[0])
        return matches

    def is_satisfied_by(self, requirement: _Req, candidate: _Candidate) -> bool:
        if candidate.name == PYTHON:
            return requirement.specifier.contains(candidate.version, prereleases=True)
        if requirement.file is not None and candidate.choice is not None:
            return requirement.file in candidate.choice.files
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate: _Candidate) -> list[_Req]:
        if candidate.name == PYTHON:
            return []
        metadata = self._metadata_of(candidate)
        dependencies: list[_Req] = []
        if metadata.requires_python is not None:
            self.requires_python[(candidate.name, candidate.version)] = metadata.requires_python
            dependencies.append(_requires_python(metadata.requires_python, candidate))
        if candidate.extras:  # an extra's candidate depends on its base at the same version
            base = Requirement(f"{candidate.name}=={candidate.version}")
            dependencies.append(_dependency(base, candidate))
        wanted = {""} | set(candidate.extras)
        for requirement in metadata.requires_dist or []:
            marker = requirement.marker
            if marker is None or any(
                marker.evaluate({**self.environment, "extra": extra}) for extra in wanted
            ):
                dependencies.append(_dependency(requirement, candidate))
        for dependency in dependencies:
            self.asked_by.setdefault(dependency.name, dependency)
        self.prefetch_projects(req.name for req in dependencies if req.name != PYTHON)
        return dependencies

    # helpers

    def allows_pre(self, *reqs: _Req) -> bool:
        return self.policy.pre or any(req.specifier.prereleases for req in reqs)

    def _choices(self, name: NormalizedName, reqs: list[_Req]) -> list[VersionChoice]:
        direct = [req.file for req in reqs if req.file is not None]
        files = direct[:1] if direct else self.source.project_files(name)
        pinned = _exact_pins(reqs)
        allowed_hashes = frozenset().union(*(req.hashes for req in reqs))
        choices, rejections = choose_versions(
            files,
            self.profile,
            policy=self.policy,
            tag_rank=self.tag_rank,
            pinned=pinned,
            allowed_hashes=allowed_hashes,
        )
        self.rejections[name] = rejections
        self.usable[name] = choices
        return choices

    def _metadata_of(self, candidate: _Candidate) -> Metadata:
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
            self._prefetcher.submit(self.source.project_files, name)

    def prefetch_metadata(self, candidate: _Candidate) -> None:
        choice = candidate.choice
        if choice is not None and choice.wheel is not None:
            self._prefetcher.submit(self.source.metadata, choice.wheel)


class _Reporter(BaseReporter[_Req, _Candidate, str]):
    def __init__(self, on_pin: Callable[[str, Version], None] | None) -> None:
        self.on_pin = on_pin

    def pinning(self, candidate: _Candidate) -> None:
        if self.on_pin is not None and candidate.name != PYTHON:
            self.on_pin(candidate.identifier, candidate.version)


# --- the entry point ----------------------------------------------------------------------------


def resolve_for(
    profile: Profile,
    requirements: Sequence[RootRequirement],
    source: PackageSource,
    *,
    constraints: Sequence[RootRequirement] = (),
    policy: FilePolicy = DEFAULT_POLICY,
    build_metadata: MetadataBuilder | None = None,
    on_pin: Callable[[str, Version], None] | None = None,
    preferred: Mapping[NormalizedName, Version] | None = None,
) -> Resolution:
    """The exact set of versions and files that satisfies `requirements` on `profile`'s target.

    `preferred` versions (the previous lock's) are tried first, so a changed requirement moves
    only what it must, as pip-tools and uv do.
    """
    environment = {**profile.marker_environment(), "extra": ""}
    roots = [
        _root_requirement(root)
        for root in requirements
        if root.requirement.marker is None or root.requirement.marker.evaluate(environment)
    ]
    constraint_specs: dict[NormalizedName, SpecifierSet] = {}
    for constraint in constraints:
        marker = constraint.requirement.marker
        if marker is None or marker.evaluate(environment):
            name = canonicalize_name(constraint.requirement.name)
            constraint_specs[name] = constraint_specs.get(name, SpecifierSet()) & (
                constraint.requirement.specifier
            )
    provider = _Provider(
        profile, source, policy, constraint_specs, build_metadata, preferred=preferred or {}
    )
    for root in roots:
        provider.asked_by.setdefault(root.name, root)
    provider.prefetch_projects(root.name for root in roots)
    try:
        result = Resolver(provider, _Reporter(on_pin)).resolve(roots, max_rounds=2000)
    except ResolutionImpossible as error:
        raise ResolutionError(_explain_impossible(error.causes, provider)) from None
    except ResolutionTooDeep:
        raise ResolutionError(
            "resolution gave up after 2000 rounds of backtracking; pin the packages named in "
            "your requirements more tightly"
        ) from None
    finally:
        provider.close()
    return _collect(result.mapping, result.criteria, provider)


def _collect(
    mapping: Mapping[str, _Candidate], criteria: Mapping[str, object], provider: _Provider
) -> Resolution:
    required_by: dict[NormalizedName, list[RequiredBy]] = {}
    dependencies: dict[NormalizedName, set[NormalizedName]] = {}
    for identifier, criterion in criteria.items():
        if identifier == PYTHON or identifier not in mapping:
            continue
        name = mapping[identifier].name
        for info in criterion.information:  # type: ignore[attr-defined]
            req: _Req = info.requirement
            parent = info.parent
            if parent is not None and parent.name == name:
                continue  # an extra's candidate requiring its own base
            required_by.setdefault(name, []).append(req.asked_by)
            if parent is not None:
                dependencies.setdefault(parent.name, set()).add(name)
    packages = [
        ResolvedPackage(
            name=candidate.name,
            version=candidate.version,
            choice=candidate.choice,
            requires_python=provider.requires_python.get((candidate.name, candidate.version)),
            dependencies=tuple(sorted(dependencies.get(candidate.name, set()) - {candidate.name})),
            required_by=tuple(sorted(set(required_by.get(candidate.name, [])), key=str)),
            newer=_newer_versions(candidate, provider),
        )
        for candidate in mapping.values()
        if candidate.name != PYTHON and not candidate.extras and candidate.choice is not None
    ]
    return Resolution(packages=tuple(sorted(packages, key=lambda package: package.name)))


def _newer_versions(candidate: _Candidate, provider: _Provider) -> tuple[Rejection, ...]:
    """Every version newer than the chosen one, with the reason it was not taken."""
    rejected = [
        r for r in provider.rejections.get(candidate.name, []) if r.version > candidate.version
    ]
    chose_wheel = candidate.choice is not None and not candidate.choice.needs_build
    kept = provider.preferred.get(candidate.name) == candidate.version

    def reason(choice: VersionChoice) -> str:
        if choice.needs_build and chose_wheel:
            return "only an sdist fits the target (wheel-first: the chosen version has a wheel)"
        if kept:
            return (
                f"the lock keeps {candidate.version} (`vendorer lock --upgrade-package "
                f"{candidate.name}` moves it)"
            )
        return "excluded by the other requirements"

    passed_over = [
        Rejection(version=choice.version, reason=reason(choice))
        for choice in provider.usable.get(candidate.name, [])
        if choice.version > candidate.version
    ]
    return tuple(sorted(rejected + passed_over, key=lambda r: r.version, reverse=True))


def _explain_impossible(
    causes: Collection[RequirementInformation[_Req, _Candidate]], provider: _Provider
) -> str:
    """Name the requirements that cannot all hold, with the chain that brought each in."""
    by_identifier: dict[str, list[_Req]] = {}
    for cause in causes:
        by_identifier.setdefault(cause.requirement.identifier, []).append(cause.requirement)
    lines: list[str] = []
    target = provider.profile.python.version
    for identifier, all_reqs in by_identifier.items():
        reqs = list({(req.text, req.parent): req for req in all_reqs}.values())
        if identifier == PYTHON:
            continue
        name = reqs[0].name
        if len(reqs) > 1:
            lines.append(f"conflicting requirements for {name}:")
            lines.extend(f"  {_chain(req, provider)}" for req in reqs)
        else:
            lines.append(f"no usable version of {name} matches {_chain(reqs[0], provider)}")
        lines.extend(_explain_versions(name, reqs, provider))
    python_reqs = by_identifier.get(PYTHON, [])
    if python_reqs:
        lines.append("ruled out by Requires-Python:" if lines else "Requires-Python:")
        lines.extend(
            f"  {req.parent} needs Python {req.specifier}, the target has {target} "
            f"({_chain(req, provider).split(' <- ', 2)[-1]})"
            for req in {(req.parent, str(req.specifier)): req for req in python_reqs}.values()
        )
    return f"cannot resolve the requirements for {provider.profile.name}:\n" + "\n".join(
        f"  {line}" for line in lines
    )


def _chain(req: _Req, provider: _Provider) -> str:
    """`click>=8.1 <- flask 2.0.3 <- requirements.txt:1 (flask)`."""
    links = [req.text, req.parent]
    seen = {req.name}
    parent = req.parent_name
    while parent is not None and parent not in seen and parent in provider.asked_by:
        seen.add(parent)
        upper = provider.asked_by[parent]
        links.append(upper.parent)
        parent = upper.parent_name
    return " <- ".join(links)


def _explain_versions(name: NormalizedName, reqs: Sequence[_Req], provider: _Provider) -> list[str]:
    """Why the versions were rejected, and the newest version that would work on the target."""
    rejections = provider.rejections.get(name, [])
    usable = provider.usable.get(name, [])
    summary = summarize(rejections)
    lines = [f"    {line}" for line in summary[:8]]
    if len(summary) > 8:
        lines.append(f"    ... and {len(summary) - 8} older groups of versions")
    newest = newest_usable(
        usable, provider.profile, provider.readable_metadata, pre=provider.allows_pre(*reqs)
    )
    if newest is not None:
        kind = "an sdist to build" if newest.needs_build else "a wheel"
        lines.append(
            f"    newest version usable on {provider.profile.name}: {newest.version} ({kind}); "
            f"requirements must allow {name}=={newest.version}"
        )
    elif not rejections and not any(req.file for req in reqs):
        lines.append(f"    {name} has no files on the configured indexes and find-links")
    else:
        lines.append(f"    no version of {name} is usable on {provider.profile.name}")
    return lines
