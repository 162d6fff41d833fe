"""What in the lib folder is whose, how the user's entries are carried into a new tree, and
where the hashes of vendorer's files are remembered.

Anything the manifest does not list (files, folders, links to either, empty or not) is the user's:
it is found without following a link, and carried into every new tree as it is.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from vendorer.inputs.options import hash_cache_path

__all__ = ["Foreign", "TreeScan", "carry", "hash_cache_path", "link_file", "scan_tree"]


@dataclass(frozen=True, slots=True, order=True)
class Foreign:
    """An entry of the lib folder the manifest does not list: the user's."""

    relative: str  # POSIX, below the lib folder
    kind: Literal["file", "link", "folder"]

    def __str__(self) -> str:
        return self.relative + "/" if self.kind == "folder" else self.relative


@dataclass(frozen=True, slots=True, kw_only=True)
class TreeScan:
    # owned paths that are plain files, reached without a link -> the file's path (the lib
    # folder's path joined with it, as str(folder / relative) spells it)
    regular: Mapping[str, str]
    foreign: tuple[Foreign, ...]  # the user's entries, outermost only (a folder, not its files)


def scan_tree(folder: Path, owned: Collection[str]) -> TreeScan:
    """Sort the lib folder's entries into vendorer's and the user's, following no link."""
    owned_files = set(owned)
    owned_folders = _folders_of(owned_files)
    regular: dict[str, str] = {}
    foreign: list[Foreign] = []

    def visit(directory: str, prefix: str) -> None:
        with os.scandir(directory) as entries:
            for entry in entries:
                relative = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    if relative in owned_folders:
                        visit(entry.path, relative + "/")
                    else:
                        foreign.append(Foreign(relative, "folder"))
                elif relative not in owned_files:
                    foreign.append(Foreign(relative, "link" if entry.is_symlink() else "file"))
                elif entry.is_file(follow_symlinks=False):
                    regular[relative] = entry.path
                # else an owned path turned into a link: not as vendorer wrote it

    if folder.is_dir():
        visit(str(folder), "")
    return TreeScan(regular=regular, foreign=tuple(sorted(foreign)))


def _folders_of(files: Collection[str]) -> set[str]:
    """Every folder above `files` (POSIX relative paths): each climbs until a known one."""
    folders: set[str] = set()
    for relative in files:
        index = relative.rfind("/")
        while index != -1 and (parent := relative[:index]) not in folders:
            folders.add(parent)
            index = relative.rfind("/", 0, index)
    return folders


def carry(entry: Foreign, source: Path, target: Path) -> None:
    """Recreate one of the user's entries of `source` in `target`, as it is: a file hard-linked,
    a link as a link (never followed), a folder rebuilt with its contents, mode and times."""
    origin, copy = source / entry.relative, target / entry.relative
    copy.parent.mkdir(parents=True, exist_ok=True)
    if entry.kind == "folder":
        _copy_folder(origin, copy)
    else:
        link_file(origin, copy)


def _copy_folder(origin: Path, copy: Path) -> None:
    copy.mkdir()
    with os.scandir(origin) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                _copy_folder(Path(entry.path), copy / entry.name)
            else:
                link_file(Path(entry.path), copy / entry.name)
    shutil.copystat(origin, copy, follow_symlinks=False)  # last: the mode may forbid writing


def link_file(source: Path, target: Path) -> None:
    """Hard-link `source` (a link itself, not what it points to) as `target`, or copy it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target, follow_symlinks=False)
    except (OSError, NotImplementedError):  # no hard links here: a copy does
        shutil.copy2(source, target, follow_symlinks=False)
