"""Resolution for the target: `resolve_for` runs resolvelib with the target's provider and
collects the result, each package with who required it and why newer versions were not taken.

The packaging facts come from `provider`, failures are explained by `explain`. Nothing here reads
the host interpreter or speaks HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version
from resolvelib import ResolutionImpossible, Resolver
from resolvelib.resolvers import ResolutionTooDeep

from vendorer.index.models import DistFile
from vendorer.report import NULL_REPORTER, Reporter
from vendorer.resolve.candidates import FilePolicy, Rejection, VersionChoice
from vendorer.resolve.chains import FromFile, RequiredBy
from vendorer.resolve.explain import MAX_ROUNDS, Unresolvable, too_deep, unsatisfiable
from vendorer.resolve.provider import (
    PYTHON,
    Candidate,
    MetadataBuilder,
    PackageSource,
    PinReporter,
    Req,
    TargetProvider,
    as_written,
)
from vendorer.target.profile import Profile

__all__ = [
    "PackageSource",
    "Resolution",
    "ResolvedPackage",
    "RootRequirement",
    "resolve_for",
]

DEFAULT_POLICY = FilePolicy()


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


def resolve_for(
    profile: Profile,
    requirements: Sequence[RootRequirement],
    source: PackageSource,
    *,
    constraints: Sequence[RootRequirement] = (),
    policy: FilePolicy = DEFAULT_POLICY,
    build_metadata: MetadataBuilder | None = None,
    reporter: Reporter = NULL_REPORTER,
    preferred: Mapping[NormalizedName, Version] | None = None,
    on_choice: Callable[[VersionChoice], None] | None = None,
) -> Resolution:
    """The exact set of versions and files that satisfies `requirements` on `profile`'s target.

    `preferred` versions (the previous lock's) are tried first, so a changed requirement moves
    only what it must, as pip-tools and uv do. Each project pinned is RESOLVE progress for
    `reporter` (whose caller runs that task). `on_choice` is told of each version resolution
    takes up first for a project (as soon as its page is read) and of each it pins: mostly the
    same one, and either may yet be passed over (backtracking).
    """
    environment = {**profile.marker_environment(), "extra": ""}
    roots = [
        _root_requirement(root)
        for root in requirements
        if root.requirement.marker is None or root.requirement.marker.evaluate(environment)
    ]
    provider = TargetProvider(
        profile,
        source,
        policy,
        _constraint_specifiers(constraints, environment),
        build_metadata,
        preferred=preferred or {},
        on_choice=on_choice,
    )
    for root in roots:
        provider.asked_by.setdefault(root.name, root)
    provider.prefetch_projects(root.name for root in roots)
    try:
        resolver = Resolver(provider, PinReporter(reporter, on_choice))
        result = resolver.resolve(roots, max_rounds=MAX_ROUNDS)
    except ResolutionImpossible as error:
        raise Unresolvable(unsatisfiable(error.causes, provider)) from None
    except ResolutionTooDeep:
        raise too_deep() from None
    finally:
        provider.close()
    return _collect(result.mapping, result.criteria, provider)


def _root_requirement(root: RootRequirement) -> Req:
    requirement = root.requirement
    asked_by = FromFile(file=root.written_in, line=root.line, requirement=as_written(requirement))
    return Req(
        canonicalize_name(requirement.name),
        frozenset(requirement.extras),
        requirement.specifier,
        asked_by,
        root.hashes,
        root.file,
    )


def _constraint_specifiers(
    constraints: Sequence[RootRequirement], environment: Mapping[str, str]
) -> dict[NormalizedName, SpecifierSet]:
    """Each constrained project's specifiers joined, for the constraints whose marker holds."""
    specifiers: dict[NormalizedName, SpecifierSet] = {}
    for constraint in constraints:
        marker = constraint.requirement.marker
        if marker is None or marker.evaluate(environment):
            name = canonicalize_name(constraint.requirement.name)
            specifiers[name] = specifiers.get(name, SpecifierSet()) & (
                constraint.requirement.specifier
            )
    return specifiers


def _collect(
    mapping: Mapping[str, Candidate], criteria: Mapping[str, object], provider: TargetProvider
) -> Resolution:
    required_by: dict[NormalizedName, list[RequiredBy]] = {}
    dependencies: dict[NormalizedName, set[NormalizedName]] = {}
    for identifier, criterion in criteria.items():
        if identifier == PYTHON or identifier not in mapping:
            continue
        name = mapping[identifier].name
        for info in criterion.information:  # type: ignore[attr-defined]
            req: Req = info.requirement
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


def _newer_versions(candidate: Candidate, provider: TargetProvider) -> tuple[Rejection, ...]:
    """Every version newer than the chosen one, with the reason it was not taken."""
    table = provider.versions.get(candidate.name)
    rejected = table.rejections(newer_than=candidate.version) if table else []
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
        for choice in (table.usable(newer_than=candidate.version) if table else [])
    ]
    return tuple(sorted(rejected + passed_over, key=lambda r: r.version, reverse=True))
