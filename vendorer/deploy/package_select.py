"""Which of the app's files go into its package: a walk of the app under `PackageRules`.

Links: a zip carries no links Kudu's extractor restores, so a link to a file inside the app that
itself goes into the package is stored as that file's content, under the link's name. Any other
link (to a folder, to something outside the app, to a file that stays out, or to nothing) stays
out, with a warning: following it could ship what the app never meant to (a key in your home
folder), and storing it would ship a link the server cannot use. The same goes for what is not a
regular file (a pipe, a socket) and for a name that is not UTF-8 (a zip entry's name is).

A folder is stored as an entry of its own only when nothing inside it goes into the package, so
that it exists on the server as it does here; other folders are implied by their files.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from vendorer.deploy.funcignore import FuncIgnore
from vendorer.deploy.package_rules import PackageRules

__all__ = ["Exclusion", "Selection", "select_files"]


@dataclass(frozen=True, slots=True)
class Exclusion:
    """Something that stays out of the package: its path (a folder's ends with `/`) and why."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    files: dict[str, Path]  # entry name -> the file whose bytes it holds (a link's target)
    empty_folders: tuple[str, ...]  # entry names, each ending with "/"
    excluded: tuple[Exclusion, ...]
    warnings: tuple[str, ...]


@dataclass(slots=True)
class _Walk:
    rules: PackageRules
    funcignore: FuncIgnore | None
    files: dict[str, Path] = field(default_factory=dict)
    folders: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    excluded: list[Exclusion] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def file_reason(self, path: str) -> str | None:
        reason = self.rules.file_reason(path)
        if reason is None and self.funcignore is not None:
            pattern = self.funcignore.denies(path)
            reason = f".funcignore: {pattern}" if pattern is not None else None
        return reason

    def leave_out(self, path: str, reason: str, *, warn: bool = False) -> None:
        self.excluded.append(Exclusion(path, reason))
        if warn:
            self.warnings.append(f"left out {path}: {reason}")


def select_files(root: Path, rules: PackageRules, funcignore: FuncIgnore | None) -> Selection:
    """Walk `root` (resolved) and decide for every entry; nothing is followed out of it."""
    walk = _Walk(rules, funcignore)
    pending = [""]
    while pending:
        folder = pending.pop()
        for entry in _entries(root / folder):
            path = f"{folder}/{entry.name}" if folder else entry.name
            _decide(entry, path, walk, pending)
    for path in walk.links:
        _decide_link(root, path, walk)
    holding = {parent for path in walk.files for parent in _parents(path)}
    empty = tuple(sorted(f"{f}/" for f in walk.folders if f not in holding))
    excluded = tuple(sorted(walk.excluded, key=lambda exclusion: exclusion.path))
    return Selection(
        files=walk.files, empty_folders=empty, excluded=excluded, warnings=tuple(walk.warnings)
    )


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as listing:
        return sorted(listing, key=lambda entry: entry.name)


def _decide(entry: os.DirEntry[str], path: str, walk: _Walk, pending: list[str]) -> None:
    if not _utf8(path):
        walk.leave_out(path, "its name is not UTF-8, which a zip entry's name must be", warn=True)
    elif entry.is_symlink():
        walk.links.append(path)
    elif entry.is_dir(follow_symlinks=False):
        reason = walk.rules.folder_reason(path, Path(entry.path))
        if reason:
            walk.leave_out(f"{path}/", reason)
        else:
            walk.folders.append(path)
            pending.append(path)
    elif entry.is_file(follow_symlinks=False):
        reason = walk.file_reason(path)
        if reason:
            walk.leave_out(path, reason)
        else:
            walk.files[path] = Path(entry.path)
    else:
        walk.leave_out(path, "not a regular file (a pipe, a socket or a device)", warn=True)


def _decide_link(root: Path, path: str, walk: _Walk) -> None:
    """A link goes in as the file it points to, when that file is in the app and goes in."""
    reason = walk.file_reason(path)
    if reason:  # left out by name, as a file of that name would be: nothing to warn about
        walk.leave_out(path, reason)
        return
    target = Path(os.path.realpath(root / path))
    inside = target.is_relative_to(root)
    shown = target.relative_to(root).as_posix() if inside else str(target)
    if not target.exists():
        walk.leave_out(path, f"a link to {shown}, which does not exist", warn=True)
    elif target.is_dir():
        walk.leave_out(path, f"a link to the folder {shown} (a zip has no links)", warn=True)
    elif not inside:
        walk.leave_out(path, f"a link to {shown}, outside the app", warn=True)
    elif shown not in walk.files:
        walk.leave_out(path, f"a link to {shown}, which stays out of the package", warn=True)
    else:
        walk.files[path] = target


def _utf8(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:  # os.scandir gives undecodable bytes as lone surrogates
        return False
    return True


def _parents(path: str) -> Iterator[str]:
    while "/" in path:
        path = path.rpartition("/")[0]
        yield path
