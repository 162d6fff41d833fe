"""The lock as a requirements file: every package pinned with its `--hash`, and pip-compile's
`# via` comments (what the server's old pip can install exactly)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from packaging.utils import NormalizedName

from vendorer.lock.model import Lock
from vendorer.resolve.chains import FromFile, RequiredBy

__all__ = ["export_requirements", "pinned_requirements"]


def export_requirements(lock: Lock, *, source: str) -> str:
    """The lock as a requirements file pinned with --hash lines, readable by pip 8 and newer."""
    header = (
        f"# Exported by vendorer from {source} for the target profile {lock.profile}.",
        "# Every package is pinned with its hash: pip installs exactly these files.",
    )
    return pinned_requirements(lock, header=header)


def pinned_requirements(
    lock: Lock, *, header: Sequence[str], hashes: Mapping[NormalizedName, str] | None = None
) -> str:
    """Every locked package as `name==version` with its `--hash`.

    `hashes` (canonical name -> sha256) replaces the lock's own, e.g. with built wheels' hashes;
    a package it does not name becomes a comment.
    """
    lines = list(header)
    for package in lock.packages:
        sha = package.file.sha256 if hashes is None else hashes.get(package.name)
        if sha is None:
            lines.append(f"# {package.name}=={package.version}: no wheel yet")
            continue
        lines.append(f"{package.name}=={package.version} \\")
        lines.append(f"    --hash=sha256:{sha}")
        lines.extend(_via(package.required_by))
    return "\n".join(lines) + "\n"


def _via(required_by: Iterable[RequiredBy]) -> list[str]:
    """pip-compile's `# via` comment: what requires a package (`-r FILE`: a requirements file)."""
    parents = {
        f"-r {entry.file}" if isinstance(entry, FromFile) else str(entry.package)
        for entry in required_by
    }
    if len(parents) == 1:
        return [f"    # via {parents.pop()}"]
    return ["    # via", *(f"    #   {parent}" for parent in sorted(parents))] if parents else []
