"""The lib folder on disk: where it may be, its state folder, and the atomic swap.

The lib folder is a folder inside the app. Beside it (in its parent) lives `.vendorer-state/`: a
`.gitignore` of `*` (git never sees it), the lock that keeps two runs on one lib folder apart
(whatever their caches), and the staging folders of the running run. A new tree is built there,
then swapped with the lib folder in one atomic step, so a killed run leaves the previous tree
whole. What a killed run left is swept by the next run, under the lock, so a running run's
staging is never touched.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import stat
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Final, Literal, TypeVar

from vendorer._util.guard import RUN_WAIT_SECONDS, exclusive, held_elsewhere
from vendorer._util.text import has_control
from vendorer.install.errors import VendorError, writing
from vendorer.report import NULL_REPORTER, Reporter

__all__ = [
    "LOCK_WAIT",
    "STATE_DIR",
    "LibFolderError",
    "held_run_lock",
    "leftovers",
    "lib_dir_in_app",
    "lib_folder",
    "ready_folder_path",
    "remove_tree",
    "replace_tree",
    "run_in_progress",
    "run_lock_path",
    "state_folder",
    "sweep",
]

STATE_DIR: Final = ".vendorer-state"
LOCK_WAIT: Final = RUN_WAIT_SECONDS  # seconds a run waits for another one on the same lib folder
T = TypeVar("T")


class LibFolderError(VendorError):
    """The lib folder asked for cannot be one (outside the app, or a file). Exit code 2."""

    exit_code = 2


def lib_folder(app: Path, lib_dir: str) -> Path:
    """The lib folder inside the app; an empty name, one with a control character, one that
    points outside the app or at vendorer's state folder, or a file, is refused."""
    if not lib_dir.strip():
        raise LibFolderError("the lib folder's name is empty; name a folder such as lib")
    if has_control(lib_dir):
        raise LibFolderError(
            f"lib folder {lib_dir!r} holds a control character (a line break or tab?); "
            "choose a folder such as lib"
        )
    folder = (app / lib_dir).resolve()
    root = app.resolve()
    if folder == root or root not in folder.parents:
        raise LibFolderError(
            f"lib folder {lib_dir!r} is not inside the app ({root}); choose a folder such as lib"
        )
    state = root / STATE_DIR
    if folder == state or state in folder.parents:
        raise LibFolderError(
            f"lib folder {lib_dir!r} is vendorer's state folder ({STATE_DIR}); choose a folder "
            "such as lib"
        )
    if folder.exists() and not folder.is_dir():
        raise LibFolderError(
            f"lib folder {lib_dir!r} is a file, not a folder; move it away or choose another "
            "--lib-dir"
        )
    return folder


def lib_dir_in_app(app: Path, lib_dir: str) -> str:
    """The lib folder as a relative POSIX path inside the app, as the server layout needs it: an
    absolute path inside the app is made relative; one outside it is refused."""
    return lib_folder(app, lib_dir).relative_to(app.resolve()).as_posix()


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
    folder: Path,
    *,
    shown: str | None = None,
    wait_seconds: float = LOCK_WAIT,
    reporter: Reporter = NULL_REPORTER,
) -> Iterator[None]:
    """Hold the lock of `folder`'s runs; while another run holds it, wait (saying so to
    `reporter`) up to `wait_seconds`. `shown`: the folder in messages (default: its path)."""
    _ensure_state_folder(folder)
    path = run_lock_path(folder)
    with contextlib.ExitStack() as held:
        with writing(path):  # taking the lock writes; what the block does is its own
            held.enter_context(
                exclusive(
                    path,
                    what=shown or str(folder),
                    doing="being vendored",
                    wait_seconds=wait_seconds,
                    reporter=reporter,
                    error=VendorError,
                )
            )
        yield


def run_in_progress(folder: Path) -> bool:
    """Whether a vendorer run holds `folder`'s lock now (a probe that creates nothing)."""
    return held_elsewhere(run_lock_path(folder))


# --- leftovers of killed runs -------------------------------------------------------------------


def _staging_name(folder: Path, kind: Literal["new", "old", "ready"]) -> str:
    return f"{folder.name}.{kind}-{secrets.token_hex(8)}"


def ready_folder_path(folder: Path) -> Path:
    """A new name in `folder`'s state folder (made if need be) for the folder of one wheel
    unpacked before the vendor step takes its files (a killed run leaves it for the next one to
    sweep)."""
    return _ensure_state_folder(folder) / _staging_name(folder, "ready")


def leftovers(folder: Path) -> list[Path]:
    """Staging folders (half-built new trees, or old ones not yet removed) that runs left."""
    own = re.compile(re.escape(folder.name) + r"\.(new|old|ready)-[0-9a-f]{16}")
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


def sweep(folder: Path, keep: Collection[Path] = ()) -> list[Path]:
    """Remove what killed runs left (call it holding the run lock), but the folders of this run
    in `keep`; the paths removed.

    A leftover that cannot be removed is an error that names it."""
    swept = [path for path in leftovers(folder) if path not in keep]
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


# --- the swap -----------------------------------------------------------------------------------


def replace_tree(folder: Path, build: Callable[[Path], T]) -> T:
    """Build the new tree in the state folder, then swap it with `folder` in one atomic step;
    what `build` returned.

    A failed build leaves `folder` as it was; a previous tree that cannot be removed afterwards is
    an error naming it (the new tree is in place by then)."""
    staging = state_folder(folder) / _staging_name(folder, "new")
    with writing(staging):
        staging.mkdir()  # the mode the umask gives, like every folder vendorer makes
    try:
        built = build(staging)
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
    return built


def _exchange(first: Path, second: Path) -> None:
    """Swap two directories atomically (Linux renameat2, macOS renamex_np)."""
    import ctypes.util  # only when a tree changes

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
