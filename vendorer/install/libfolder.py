"""The lib folder on disk: what in it is vendorer's, its state folder, and the atomic swap.

Beside the lib folder (in its parent) lives `.vendorer-state/`: a `.gitignore` of `*` (git never
sees it), the lock that keeps two runs on one lib folder apart (whatever their caches), and the
staging folders of the running run. What a killed run left there is swept by the next run, under
the lock, so a running run's staging is never touched.

Anything the manifest does not list (files, folders, links to either, empty or not) is the user's:
it is found without following a link, and carried into every new tree as it is.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import re
import secrets
import shutil
import stat
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from filelock import FileLock, Timeout

from vendorer.errors import VendorerError

__all__ = [
    "STATE_DIR",
    "Foreign",
    "TreeScan",
    "VendorError",
    "WriteError",
    "carry",
    "held_run_lock",
    "leftovers",
    "link_file",
    "replace_tree",
    "run_in_progress",
    "run_lock_path",
    "scan_tree",
    "state_folder",
    "sweep",
    "writing",
]

STATE_DIR: Final = ".vendorer-state"
LOCK_WAIT: Final = 300.0  # seconds a run waits for another one on the same lib folder


class VendorError(VendorerError):
    """A wheel cannot be vendored safely, or the lib folder cannot be updated."""


_ADVICE: Final = {
    errno.ENOSPC: "the disk is full: free some space on it, then run again",
    errno.EDQUOT: "your disk quota is used up: free some space or raise the quota, then run again",
    errno.EROFS: "that filesystem is read-only: mount it read-write, or choose another --lib-dir",
    errno.EACCES: "you may not write there: run as the folder's owner or fix its permissions",
    errno.EPERM: "you may not write there: run as the folder's owner or fix its permissions",
    errno.EMFILE: "too many open files: raise the limit (`ulimit -n`), then run again",
    errno.ENFILE: "too many open files on the system: close some, then run again",
}


class WriteError(VendorError):
    """Writing into the app failed (disk full, quota, permissions, read-only filesystem ...)."""

    def __init__(self, path: Path, error: OSError, outcome: str) -> None:
        reason = error.strerror or str(error)
        advice = _ADVICE.get(error.errno or 0, "fix that, then run again")
        super().__init__(f"cannot write {path}: {reason}. {outcome}; {advice}")
        self.path = path
        self.errno = error.errno


@contextlib.contextmanager
def writing(path: Path, outcome: str = "Nothing was changed in the lib folder") -> Iterator[None]:
    """Report an OSError raised inside as the WriteError it is, naming the path."""
    try:
        yield
    except OSError as error:
        named = Path(os.fsdecode(error.filename)) if error.filename else path
        raise WriteError(named, error, outcome) from None


# --- where the state lives ----------------------------------------------------------------------


def state_folder(folder: Path) -> Path:
    return folder.parent / STATE_DIR


def run_lock_path(folder: Path) -> Path:
    """The file lock that keeps two vendor runs on `folder` apart (beside it, with the app)."""
    return state_folder(folder) / f"{folder.name}.lock"


def _ensure_state_folder(folder: Path) -> Path:
    state = state_folder(folder)
    ignore = state / ".gitignore"
    with writing(state):
        state.mkdir(parents=True, exist_ok=True)
        try:
            current = ignore.read_text(encoding="utf-8")
        except FileNotFoundError:
            current = None
        if current != "*\n":  # git ignores the folder, this file included. Written in place (a
            # killed write is redone by the next run): a temporary file could be left behind.
            ignore.write_text("*\n", encoding="utf-8")
    return state


@contextlib.contextmanager
def held_run_lock(
    folder: Path, *, wait_seconds: float = LOCK_WAIT, on_wait: Callable[[], None] | None = None
) -> Iterator[None]:
    """Hold the lock of `folder`'s runs; while another run holds it, wait (saying so through
    `on_wait`) up to `wait_seconds`."""
    _ensure_state_folder(folder)
    path = run_lock_path(folder)
    guard = FileLock(path)
    with writing(path):
        try:
            guard.acquire(timeout=0)
        except Timeout:
            if on_wait is not None:
                on_wait()
            try:
                guard.acquire(timeout=wait_seconds)
            except Timeout:
                raise VendorError(
                    f"{folder} is still being vendored by another vendorer run after "
                    f"{wait_seconds:g} s; run again once it has finished"
                ) from None
    try:
        yield
    finally:
        guard.release()


def run_in_progress(folder: Path) -> bool:
    """Whether a vendorer run holds `folder`'s lock now (a probe that creates nothing)."""
    path = run_lock_path(folder)
    if not path.exists():
        return False
    probe = FileLock(path)
    try:
        probe.acquire(timeout=0)
    except Timeout:
        return True
    except OSError:  # cannot tell (a read-only checkout): nothing runs there then
        return False
    probe.release()
    return False


# --- leftovers of killed runs -------------------------------------------------------------------


def _staging_name(folder: Path, kind: Literal["new", "old"]) -> str:
    return f"{folder.name}.{kind}-{secrets.token_hex(8)}"


def leftovers(folder: Path) -> list[Path]:
    """Staging folders (half-built new trees, or old ones not yet removed) that runs left."""
    own = re.compile(re.escape(folder.name) + r"\.(new|old)-[0-9a-f]{16}")
    # where earlier versions staged, beside the lib folder: .vendorer-new-lib-XXXXXXXX[-old]
    legacy = re.compile(r"\.vendorer-new-" + re.escape(folder.name) + r"-[a-z0-9_]{8}(-old)?")
    found = [
        path
        for place, pattern in ((state_folder(folder), own), (folder.parent, legacy))
        for path in _listing(place)
        if pattern.fullmatch(path.name)
    ]
    return sorted(found)


def _listing(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []


def sweep(folder: Path) -> list[Path]:
    """Remove what killed runs left (call it holding the run lock); the paths removed.

    A leftover that cannot be removed is an error that names it."""
    swept = leftovers(folder)
    previous = [
        path
        for path in swept
        if path.name.startswith(f"{folder.name}.old-") or path.name.endswith("-old")
    ]
    if previous and not folder.exists():  # killed between the two renames of a non-atomic swap
        with writing(folder):
            previous[0].rename(folder)
        swept.remove(previous[0])
    for path in swept:
        _remove_leftover(path, "Nothing was changed in the lib folder")
    return swept


def _remove_leftover(path: Path, outcome: str) -> None:
    try:
        remove_tree(path)
    except OSError as error:
        where = os.fsdecode(error.filename) if error.filename else str(path)
        raise VendorError(
            f"cannot remove {path}, a copy of the lib folder that a vendorer run left: "
            f"{error.strerror or error} ({where}). {outcome}; remove it yourself (`rm -rf "
            f"{path}`, as a user who may), then run again"
        ) from None


def remove_tree(path: Path) -> None:
    """Remove a folder of vendorer's; its read-only folders are made writable first if needed.

    Only folders are chmod-ed (never files: a file may be hard-linked into the live tree)."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
        return
    try:
        shutil.rmtree(path)
    except PermissionError:
        _make_folders_writable(path)
        shutil.rmtree(path)


def _make_folders_writable(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not ours to change: the rmtree that follows names it
        folder.chmod(stat.S_IMODE(folder.lstat().st_mode) | stat.S_IRWXU)
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                _make_folders_writable(Path(entry.path))


# --- what in the tree is whose ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class Foreign:
    """An entry of the lib folder the manifest does not list: the user's."""

    relative: str  # POSIX, below the lib folder
    kind: Literal["file", "link", "folder"]

    def __str__(self) -> str:
        return self.relative + "/" if self.kind == "folder" else self.relative


@dataclass(frozen=True, slots=True, kw_only=True)
class TreeScan:
    regular: frozenset[str]  # owned paths that are plain files, reached without a link
    foreign: tuple[Foreign, ...]  # the user's entries, outermost only (a folder, not its files)


def scan_tree(folder: Path, owned: Collection[str]) -> TreeScan:
    """Sort the lib folder's entries into vendorer's and the user's, following no link."""
    owned_files = set(owned)
    owned_folders = {relative[:index] for relative in owned_files for index in _slashes(relative)}
    regular: list[str] = []
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
                    regular.append(relative)
                # else an owned path turned into a link: not as vendorer wrote it

    if folder.is_dir():
        visit(str(folder), "")
    return TreeScan(regular=frozenset(regular), foreign=tuple(sorted(foreign)))


def _slashes(relative: str) -> Iterator[int]:
    index = relative.find("/")
    while index != -1:
        yield index
        index = relative.find("/", index + 1)


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


# --- the swap -----------------------------------------------------------------------------------


def replace_tree(folder: Path, build: Callable[[Path], None]) -> None:
    """Build the new tree in the state folder, then swap it with `folder` in one atomic step.

    A failed build leaves `folder` as it was; a previous tree that cannot be removed afterwards is
    an error naming it (the new tree is in place by then)."""
    staging = state_folder(folder) / _staging_name(folder, "new")
    with writing(staging):
        staging.mkdir()  # the mode the umask gives, like every folder vendorer makes
    try:
        build(staging)
        with writing(folder):
            if folder.exists():
                _exchange(staging, folder)  # staging now holds the previous tree
            else:
                staging.rename(folder)
    except BaseException:
        with contextlib.suppress(OSError):  # else the next run sweeps it, and check reports it
            remove_tree(staging)
        raise
    _remove_leftover(staging, f"{folder.name} was vendored")


def _exchange(first: Path, second: Path) -> None:
    """Swap two directories atomically (Linux renameat2, macOS renamex_np)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    a, b = os.fsencode(first), os.fsencode(second)
    if hasattr(libc, "renameat2"):
        at_fdcwd, rename_exchange = -100, 2
        result = libc.renameat2(at_fdcwd, a, at_fdcwd, b, rename_exchange)
    elif hasattr(libc, "renamex_np"):
        rename_swap = 2
        result = libc.renamex_np(a, b, rename_swap)
    else:  # no atomic swap here: two renames, with the old tree kept until the second is done
        backup = first.with_name(_staging_name(second, "old"))
        second.rename(backup)
        first.rename(second)
        backup.rename(first)
        return
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), os.fsdecode(b))
