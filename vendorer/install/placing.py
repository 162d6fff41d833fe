"""Where a wheel's files go in a lib folder, and the rules every write there follows: inside the
folder, over nothing (O_EXCL), through no link. Unpacking (`vendorer.install.unpack`, through
installer) and copies out of the cache of unpacked wheels (`install_files`) both place files so;
the copies need no installer, which a run that only copies then never imports (0.03 s).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from vendorer._util.files import copy_to_new_file, open_to_read
from vendorer.install.errors import VendorError, writing

__all__ = ["Placing", "Taken", "broken", "install_files", "taken_said"]


class Taken(Exception):  # raised where a file is placed; said as a VendorError naming the wheel
    """A wheel's file would go where something already is, or through a link."""

    def __init__(self, path: Path, link: Path | None = None) -> None:
        super().__init__(str(path))
        self.path = path
        self.link = link

    def explain(self, wheel: str, root: Path) -> str:
        shown = self.path.relative_to(root).as_posix()
        if self.link is not None:
            return (
                f"{wheel} writes {shown} through {self.link.relative_to(root).as_posix()}, a link "
                "of yours; nothing was changed. vendorer never writes through a link: move it "
                "out of the lib folder"
            )
        return (
            f"{wheel} writes {shown}, which another distribution or a file of yours already "
            "has; nothing was changed"
        )


class Placing:
    """The folders of a lib folder (`root`) that a wheel's parts go to (`folders`: by scheme,
    each in the root), and the place of each file in them. Paths are strings here: making Paths
    for each file and folder was a third of the unpacking time (flask, pandas and requests on
    tmpfs: 0.38 s of 1.18 s)."""

    def __init__(self, root: Path, folders: Mapping[str, str]) -> None:
        self.root = os.path.abspath(root)
        self._folders = {scheme: os.path.abspath(folder) for scheme, folder in folders.items()}
        self._known_folders = {self.root}  # made or seen, none of them a link

    def target(self, scheme: str, path: str) -> str:
        """Where `path` goes in `scheme`'s folder; outside it, refused as installer refuses it."""
        folder = self._folders[scheme]
        target = os.path.abspath(os.path.join(folder, path))
        if not target.startswith(folder + os.sep):
            raise ValueError(f"Attempting to write {path} outside of the target directory")
        return target

    def relative(self, target: str) -> str:
        """`target` (a place in the root) as a POSIX path below the root."""
        return target[len(self.root) + 1 :].replace(os.sep, "/")

    def make_folders(self, target: str) -> None:
        """The folders above `target`, made where missing; one that is a link refuses it."""
        assert target.startswith(self.root + os.sep)  # every scheme's folder is in the root
        missing = []
        folder = os.path.dirname(target)
        while folder not in self._known_folders:
            missing.append(folder)
            folder = os.path.dirname(folder)
        for folder in reversed(missing):
            if os.path.islink(folder):
                raise Taken(Path(target), Path(folder))
            with writing(folder):
                os.makedirs(folder, exist_ok=True)
            self._known_folders.add(folder)


def install_files(
    source: Path,
    files: Iterable[str],
    target: Path,
    shown: str,
    copied: dict[str, os.stat_result | None],
) -> None:
    """Copy `files` (paths below `source`) into `target` under unpacking's rules (over nothing,
    through no link; each file's mode kept), adding each one to `copied` once it is there, with
    what `os.fstat` said of its source (None: it ended before that many bytes were copied).
    Opening a source raises its OSError; writing, the VendorError unpacking would raise for the
    wheel `shown`."""
    placing = Placing(target, {"purelib": str(target)})
    folder = os.fspath(source)
    with taken_said(shown, target):
        try:
            for relative in files:
                path = placing.target("purelib", relative)
                placing.make_folders(path)
                kept = open_to_read(os.path.join(folder, relative))
                try:
                    status = os.fstat(kept)
                    with writing(path):
                        try:
                            size = copy_to_new_file(kept, status, path)
                        except FileExistsError:
                            raise Taken(Path(path)) from None
                finally:
                    os.close(kept)
                copied[relative] = status if size == status.st_size else None
        except ValueError as error:  # a path outside the folder
            raise broken(shown, error) from None


@contextlib.contextmanager
def taken_said(shown: str, target: Path) -> Iterator[None]:
    """A place the wheel `shown` finds taken in `target`, said as the VendorError it is."""
    try:
        yield
    except Taken as taken:
        raise VendorError(taken.explain(shown, target)) from None


def broken(shown: str, error: Exception) -> VendorError:
    """What is said of the wheel `shown` that cannot be read as a wheel, or is unsafe."""
    return VendorError(
        f"{shown} cannot be vendored: {error}. Nothing was changed in the lib folder; the wheel "
        "is broken or unsafe (its RECORD does not match its files, or it writes outside its "
        "folders): rebuild or replace it"
    )
