"""Why a resolution failed, as data, and its rendering as the text the user reads.

`unsatisfiable` turns resolvelib's causes into an `Unsatisfiable`: for each project, the
requirements that cannot all hold (each with the chain that brought it in), why its versions were
rejected and the newest version the target could take; and the Requires-Python clauses the
target's interpreter fails. `render_unsatisfiable` is the one place that says it in words.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version
from resolvelib.resolvers import RequirementInformation

from vendorer.errors import ResolutionError
from vendorer.resolve.candidates import Rejection, VersionChoice, newest_usable, summarize
from vendorer.resolve.chains import Chain
from vendorer.resolve.provider import PYTHON, Candidate, Req, TargetProvider

__all__ = [
    "MAX_ROUNDS",
    "PythonMismatch",
    "Unresolvable",
    "Unsatisfiable",
    "UnsatisfiedProject",
    "render_unsatisfiable",
    "too_deep",
    "unsatisfiable",
]

MAX_ROUNDS = 2000  # of backtracking, before resolution gives up
MAX_GROUPS = 8  # groups of rejected versions shown per project


@dataclass(frozen=True, slots=True, kw_only=True)
class UnsatisfiedProject:
    """A project (with extras) no usable version of which meets every requirement on it."""

    name: NormalizedName
    chains: tuple[Chain, ...]  # the requirements on it; more than one: they conflict
    rejections: tuple[Rejection, ...]  # versions no file of which fits the target, and why
    newest: VersionChoice | None  # the newest version the target could take
    names_a_file: bool  # a requirement names one file (a path or URL), not the indexes


@dataclass(frozen=True, slots=True, kw_only=True)
class PythonMismatch:
    """A Requires-Python the target's interpreter does not meet."""

    requirer: str  # `flask 3.0.0`
    specifier: SpecifierSet
    chain: Chain  # `Requires-Python >=3.8 <- flask 3.0.0 <- requirements.txt:1`


@dataclass(frozen=True, slots=True, kw_only=True)
class Unsatisfiable:
    profile: str
    python: Version  # the target's interpreter
    projects: tuple[UnsatisfiedProject, ...]
    python_mismatches: tuple[PythonMismatch, ...]


class Unresolvable(ResolutionError):
    """The requirements cannot all hold on the target; `explanation` says why, as data."""

    def __init__(self, explanation: Unsatisfiable) -> None:
        super().__init__(render_unsatisfiable(explanation))
        self.explanation = explanation


def unsatisfiable(
    causes: Collection[RequirementInformation[Req, Candidate]], provider: TargetProvider
) -> Unsatisfiable:
    """The facts behind resolvelib's `ResolutionImpossible.causes`, from what `provider` saw."""
    by_identifier: dict[str, list[Req]] = {}
    for cause in causes:
        by_identifier.setdefault(cause.requirement.identifier, []).append(cause.requirement)
    projects = [
        _unsatisfied(list({(req.text, req.parent): req for req in reqs}.values()), provider)
        for identifier, reqs in by_identifier.items()
        if identifier != PYTHON
    ]
    python_reqs = by_identifier.get(PYTHON, [])
    mismatches = [
        PythonMismatch(requirer=req.parent, specifier=req.specifier, chain=_chain(req, provider))
        for req in {(req.parent, str(req.specifier)): req for req in python_reqs}.values()
    ]
    return Unsatisfiable(
        profile=provider.profile.name,
        python=provider.profile.python.version,
        projects=tuple(projects),
        python_mismatches=tuple(mismatches),
    )


def _unsatisfied(reqs: Sequence[Req], provider: TargetProvider) -> UnsatisfiedProject:
    name = reqs[0].name
    table = provider.versions.get(name)
    newest = newest_usable(
        table.usable() if table else [],
        provider.profile,
        provider.readable_metadata,
        pre=provider.allows_pre(*reqs),
    )
    return UnsatisfiedProject(
        name=name,
        chains=tuple(_chain(req, provider) for req in reqs),
        rejections=tuple(table.rejections() if table else []),
        newest=newest,
        names_a_file=any(req.file for req in reqs),
    )


def _chain(req: Req, provider: TargetProvider) -> Chain:
    """`req`, and who asked for it, up to a line of a requirements file (no package twice)."""
    links = [req.asked_by]
    seen = {req.name}
    parent = req.parent_name
    while parent is not None and parent not in seen and parent in provider.asked_by:
        seen.add(parent)
        upper = provider.asked_by[parent]
        links.append(upper.asked_by)
        parent = upper.parent_name
    return Chain(requirement=req.text, links=tuple(links))


def too_deep() -> ResolutionError:
    return ResolutionError(
        f"resolution gave up after {MAX_ROUNDS} rounds of backtracking; pin the packages named "
        "in your requirements more tightly"
    )


# --- the words ----------------------------------------------------------------------------------


def render_unsatisfiable(explanation: Unsatisfiable) -> str:
    """`cannot resolve the requirements for <profile>:` and a line for each fact."""
    lines: list[str] = []
    for project in explanation.projects:
        lines.extend(_project_lines(project, explanation.profile))
    if explanation.python_mismatches:
        lines.append("ruled out by Requires-Python:" if lines else "Requires-Python:")
        lines.extend(
            f"  {mismatch.requirer} needs Python {mismatch.specifier}, the target has "
            f"{explanation.python} ({_beyond_requirer(mismatch.chain)})"
            for mismatch in explanation.python_mismatches
        )
    return f"cannot resolve the requirements for {explanation.profile}:\n" + "\n".join(
        f"  {line}" for line in lines
    )


def _project_lines(project: UnsatisfiedProject, profile: str) -> list[str]:
    name = project.name
    if len(project.chains) > 1:
        lines = [f"conflicting requirements for {name}:"]
        lines.extend(f"  {chain}" for chain in project.chains)
    else:
        lines = [f"no usable version of {name} matches {project.chains[0]}"]
    summary = summarize(project.rejections)
    lines.extend(f"    {line}" for line in summary[:MAX_GROUPS])
    if len(summary) > MAX_GROUPS:
        lines.append(f"    ... and {len(summary) - MAX_GROUPS} older groups of versions")
    newest = project.newest
    if newest is not None:
        kind = "an sdist to build" if newest.needs_build else "a wheel"
        lines.append(
            f"    newest version usable on {profile}: {newest.version} ({kind}); "
            f"requirements must allow {name}=={newest.version}"
        )
    elif not project.rejections and not project.names_a_file:
        lines.append(f"    {name} has no files on the configured indexes and find-links")
    else:
        lines.append(f"    no version of {name} is usable on {profile}")
    return lines


def _beyond_requirer(chain: Chain) -> str:
    """Who asked for the package that requires the Python (`requirements.txt:1`), or that
    package itself when nobody is known to have asked."""
    parents = chain.parents
    return " <- ".join(parents[1:]) if len(parents) > 1 else parents[-1]
