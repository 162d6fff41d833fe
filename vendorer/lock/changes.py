"""What moved between two locks, as uv and pip-tools users read it in their diffs."""

from __future__ import annotations

from vendorer.lock.model import Lock

__all__ = ["lock_changes"]


def lock_changes(old: Lock, new: Lock) -> list[str]:
    """What moved between two locks, a line each: `+ name version`, `- name version`,
    `~ name old -> new` (uv and pip-tools users read theirs in the diff)."""
    before = {package.name: package.version for package in old.packages}
    after = {package.name: package.version for package in new.packages}
    lines = []
    for name in sorted(before.keys() | after.keys()):
        if name not in before:
            lines.append(f"+ {name} {after[name]}")
        elif name not in after:
            lines.append(f"- {name} {before[name]}")
        elif before[name] != after[name]:
            lines.append(f"~ {name} {before[name]} -> {after[name]}")
    return lines
