"""`vendorer why NAME`: the chain of requirements that brought a package in, from the lock alone."""

from __future__ import annotations

from collections.abc import Iterator

from vendorer.errors import UsageError
from vendorer.lock.model import Lock, LockedPackage
from vendorer.resolve.chains import FromPackage

__all__ = ["explain"]

MAX_DEPTH = 20


def explain(lock: Lock, name: str) -> Iterator[str]:
    """Lines that say why `name` is in the lock, at that version, and what newer versions lacked."""
    package = lock.package(name)
    if package is None:
        raise UsageError(
            f"{name} is not in the lock for {lock.profile}: no requirement brings it in on that "
            "target; if you just added one, run `vendorer lock` first"
        )
    kind = "sdist, needs a build" if package.needs_build else "wheel"
    yield f"{package.name} {package.version} ({kind}: {package.file.filename})"
    yield "required by:"
    for chain in _chains(lock, package, frozenset()):
        yield "  " + " <- ".join(chain)
    if package.newer:
        yield "newer versions not chosen:"
        yield from (f"  {line}" for line in package.newer)
    else:
        yield "it is the newest version usable on the target."


def _chains(lock: Lock, package: LockedPackage, seen: frozenset[str]) -> Iterator[list[str]]:
    """Each path from `package` up to a line of a requirements file, a link each:
    `flask 2.0.3 (click>=7.1.2)`, and `requirements.txt:1 (flask)` at the top."""
    for requirer in package.required_by:
        parent = lock.package(requirer.package) if isinstance(requirer, FromPackage) else None
        if parent is None or parent.name in seen or len(seen) >= MAX_DEPTH:
            yield [str(requirer)]
            continue
        for chain in _chains(lock, parent, seen | {package.name}):
            yield [str(requirer), *chain]
