"""Wheels unpacked while a build still resolves and downloads, for its vendor step to take.

Each big wheel that resolution takes up is downloaded at once (`Finder.fetch_ahead`) and
unpacked on worker processes into a folder of its own in the lib folder's state folder, while
the lock goes on in this process: as it downloads, where the index serves its end by Range
requests (see `growing`), else once it is on disk and checked. The vendor step then moves those
files into its new tree (a rename each: the same filesystem) instead of unpacking the wheel
again; a wheel unpacked as it downloaded is taken only once its download was checked and ends as
the end read ahead did (else it is unpacked again, from the checked file). A wheel resolution
passed over, or one already vendored or kept unpacked in the cache (see `cached`), is left alone
or removed at the end.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from vendorer.install.cached import UnpackedCache
from vendorer.install.errors import VendorError, writing
from vendorer.install.growing import STREAMS, Growing, same_tail
from vendorer.install.libfolder import held_run_lock, ready_folder_path, remove_tree
from vendorer.install.pool import Crew, Files, Unpack, crew_size
from vendorer.target.profile import Profile

__all__ = ["UnpackAhead"]

MIN_BYTES: Final = 1 << 20  # a smaller wheel is unpacked by the vendor step in no time
FILES: Final = "files"


@dataclass(slots=True)
class _Ready:
    """A wheel being unpacked into `folder`/files: read through the link `folder`/`filename`
    (installer reads the name), as it downloads if `growing`; `checked` once its download is."""

    folder: Path
    filename: str
    files: Future[Files]
    growing: Growing | None = None
    checked: bool = True


class UnpackAhead:
    """Unpacking ahead for the lib folder `folder` (None: nothing is, as for a dry run)."""

    def __init__(
        self,
        folder: Path | None,
        profile: Profile,
        *,
        slim: bool,
        vendored: Collection[str],
        cache: UnpackedCache | None = None,
    ) -> None:
        self._folder, self._profile, self._slim, self._cache = folder, profile, slim, cache
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
        """The wheel `filename` is at `wheel`, checked against `sha256`: one unpacked as it
        downloaded is taken if it ended as its end read ahead (else it is unpacked again);
        another starts unpacking, unless it is small, is vendored already, or nothing is
        unpacked ahead. Never raises: this is only a head start."""
        with self._guard:
            ready = self._ready.get(sha256)
            if ready is not None and not ready.checked:
                assert ready.growing is not None
                if same_tail(wheel, ready.growing):
                    ready.checked = True
                    return
                del self._ready[sha256]  # another wheel's bytes: its folder goes at the end
            with contextlib.suppress(OSError):
                if wheel.stat().st_size >= MIN_BYTES:
                    self._start(wheel, sha256, filename)

    def stream(self, growing: Growing, kept: Path, sha256: str, filename: str) -> None:
        """The wheel `filename` is downloading (see `growing`), to be renamed to `kept` once
        checked against `sha256`: start unpacking it, unless it is small, known already, or
        nothing is unpacked ahead (nor on Windows). Never raises."""
        if STREAMS and growing.size >= MIN_BYTES:
            with self._guard:
                self._start(kept, sha256, filename, growing)

    def _start(
        self, wheel: Path, sha256: str, filename: str, growing: Growing | None = None
    ) -> None:
        known = sha256 in self._ready or sha256 in self._skip
        known = known or (self._cache is not None and self._cache.has(sha256))
        if not self.holds_run_lock or known or Path(filename).name != filename:
            return
        assert self._folder is not None and self._crew is not None
        try:
            folder = ready_folder_path(self._folder)
            self._made.append(folder)  # first: removed at the end whatever happens next
            with writing(folder):
                (folder / FILES).mkdir(parents=True)
                (folder / filename).symlink_to(wheel)
        except (OSError, VendorError):
            return
        job = Unpack(folder / filename, sha256, folder / FILES, self._profile, self._slim, growing)
        files = self._crew.submit(job)
        self._ready[sha256] = _Ready(folder, filename, files, growing, checked=growing is None)

    def has(self, sha256: str) -> bool:
        """Whether the wheel `sha256` is unpacked ahead, or being unpacked, from a checked file."""
        with self._guard:
            ready = self._ready.get(sha256)
            return ready is not None and ready.checked

    def move_into(self, sha256: str, staging: Path) -> Files:
        """The files of the wheel `sha256` (waiting for its unpacking to end), moved into
        `staging`; its unpacking's error, if it failed (one unpacked as it downloaded is then
        unpacked again into `staging`, from its checked file). A path taken in `staging`
        already (a file of the user's, another distribution's) is refused, as unpacking there
        would be."""
        with self._guard:
            ready = self._ready.pop(sha256)
        try:
            try:
                written = ready.files.result()
            except Exception:
                if ready.growing is None or self._crew is None:
                    raise
                job = Unpack(ready.folder / ready.filename, sha256, staging, self._profile,
                             self._slim)  # fmt: skip
                return self._crew.submit(job).result()
            _move_into(ready.folder / FILES, staging, ready.folder / FILES, ready.filename)
        finally:
            with contextlib.suppress(OSError):
                remove_tree(ready.folder)
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
