"""Wheels unpacked while a build still resolves and downloads, for its vendor step to take.

Each big wheel that resolution pins is downloaded at once (`Finder.fetch_ahead`); once it is on
disk and checked, it is unpacked on worker processes into a folder of its own in the lib
folder's state folder, while the lock goes on in this process. The vendor step then moves those
files into its new tree (a rename each: the same filesystem) instead of unpacking the wheel again.
A wheel resolution passed over, or one already vendored, is left alone or removed at the end.

The run takes the lib folder's run lock as its first wheel starts downloading (so that no other
run sweeps these folders) and holds it to its end; when another run holds it, nothing is
unpacked ahead and the vendor step waits as it would.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Collection
from concurrent.futures import Future
from pathlib import Path
from typing import Final

from vendorer.install.errors import VendorError, writing
from vendorer.install.libfolder import held_run_lock, ready_folder_path, remove_tree
from vendorer.install.pool import Crew, Files, Unpack, crew_size
from vendorer.target.profile import Profile

__all__ = ["UnpackAhead"]

MIN_BYTES: Final = 1 << 20  # a smaller wheel is unpacked by the vendor step in no time
FILES: Final = "files"

_Ready = tuple[Path, "Future[Files]", str]  # its folder, the files unpacked there, the wheel


class UnpackAhead:
    """Unpacking ahead for the lib folder `folder` (None: nothing is, as for a dry run)."""

    def __init__(
        self, folder: Path | None, profile: Profile, *, slim: bool, vendored: Collection[str]
    ) -> None:
        self._folder, self._profile, self._slim = folder, profile, slim
        self._skip = set(vendored)  # sha256s of the wheels the lib folder holds already
        self._ready: dict[str, _Ready] = {}  # by the wheel's sha256
        self._made: list[Path] = []  # every ready folder, listed before it is made
        self._crew: Crew | None = None
        self._guard = threading.Lock()
        self._held = contextlib.ExitStack()
        self._tried = folder is None or crew_size(None) < 2  # then nothing is unpacked ahead
        self.holds_run_lock = False

    def expect(self, size: int | None = None) -> bool:
        """Whether a wheel of `size` bytes (None: not known) that starts downloading is unpacked
        ahead: not when it is known to be small. The first other call (on the run's thread)
        takes the run lock, unless another run holds it, and starts the workers (they import
        what unpacking needs while the downloads go on)."""
        if size is not None and size < MIN_BYTES:
            return False
        if not self._tried:
            self._tried = True
            assert self._folder is not None
            try:
                self._held.enter_context(held_run_lock(self._folder, wait_seconds=0))
                self._crew = Crew(crew_size(None))
                self.holds_run_lock = True
            except (VendorError, OSError):  # another run has it, the folder is not writable,
                self._held.close()  # or no process could start
        return self.holds_run_lock

    @property
    def crew(self) -> Crew | None:
        """The workers, once the first wheel started downloading (the vendor step hands them its
        other wheels too)."""
        return self._crew

    @property
    def folders(self) -> list[Path]:
        """The ready folders this run made (whatever was interrupted)."""
        with self._guard:
            return list(self._made)

    def add(self, wheel: Path, sha256: str, filename: str) -> None:
        """Start unpacking the wheel `filename`, at `wheel` and checked against `sha256`, unless
        it is small, is vendored already, or nothing is unpacked ahead. It is unpacked into
        `files/` of a ready folder, through a link there named as the wheel (installer reads
        the name). Never raises: this is only a head start."""
        with self._guard:
            known = sha256 in self._ready or sha256 in self._skip
            if not self.holds_run_lock or known or Path(filename).name != filename:
                return
            try:
                if wheel.stat().st_size < MIN_BYTES:
                    return
                assert self._folder is not None and self._crew is not None
                ready = ready_folder_path(self._folder)
                self._made.append(ready)  # first: removed at the end whatever happens next
                with writing(ready):
                    (ready / FILES).mkdir(parents=True)
                    (ready / filename).symlink_to(wheel)
            except (OSError, VendorError):
                return
            job = Unpack(ready / filename, sha256, ready / FILES, self._profile, self._slim)
            self._ready[sha256] = (ready, self._crew.submit(job), filename)

    def has(self, sha256: str) -> bool:
        with self._guard:
            return sha256 in self._ready

    def move_into(self, sha256: str, staging: Path) -> Files:
        """The files of the wheel `sha256` (waiting for its unpacking to end), moved into
        `staging`; its unpacking's error, if it failed. A path taken in `staging` already (a
        file of the user's, another distribution's) is refused, as unpacking there would be."""
        with self._guard:
            ready, files, wheel = self._ready.pop(sha256)
        try:
            written = files.result()
            _move_into(ready / FILES, staging, ready / FILES, wheel)
        finally:
            with contextlib.suppress(OSError):
                remove_tree(ready)
        return written

    def close(self) -> None:
        """End the workers, remove what was unpacked and not taken, and let the run lock go."""
        with self._guard:
            self.holds_run_lock = False  # a download that ends now adds nothing
        if self._crew is not None:
            self._crew.stop()
        for folder in self.folders:
            with contextlib.suppress(OSError):  # else the next run sweeps it
                remove_tree(folder)
        self._held.close()

    def __enter__(self) -> UnpackAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _move_into(source: Path, target: Path, root: Path, wheel: str) -> None:
    """Move every entry of `source` into `target`, merging the folders both have."""
    with os.scandir(source) as entries:
        for entry in entries:
            destination = target / entry.name
            if not os.path.lexists(destination):
                with writing(destination):
                    Path(entry.path).rename(destination)
            elif entry.is_dir(follow_symlinks=False) and _real_folder(destination):
                _move_into(Path(entry.path), destination, root, wheel)
            else:
                shown = Path(entry.path).relative_to(root).as_posix()
                raise VendorError(
                    f"{wheel} writes {shown}, which another distribution or a file of yours "
                    "already has; nothing was changed"
                )


def _real_folder(path: Path) -> bool:
    """A folder, not a link to one (vendorer never writes through a link)."""
    return path.is_dir() and not path.is_symlink()
