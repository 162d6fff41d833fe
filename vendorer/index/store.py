"""Verified files: their digests, the check against the hashes an index (or a lock) gave, and the
store that keeps them by sha256 (`cache_dir/files`, or a private temporary folder).

A file enters the store only once its bytes are verified; a damaged one found there is removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from vendorer._util.files import sha256_of, write_bytes_atomic
from vendorer._util.urls import file_url_path
from vendorer.errors import IndexError_
from vendorer.index.errors import BrokenDownloadError, HashMismatchError
from vendorer.index.models import DistFile

__all__ = ["FileStore", "check_zip", "digests", "file_digests", "verified_local", "verify"]

CHUNK = 1 << 20
STALE_PART_SECONDS = 24 * 3600  # a partial download this old was left by a killed run


class FileStore:
    """Verified files named by their sha256: the disk cache, or a private temporary folder."""

    def __init__(self, root: Path | None) -> None:
        self._root = root
        self._temporary: tempfile.TemporaryDirectory[str] | None = None
        self._lock = threading.Lock()
        self._swept = False
        self._parts: set[Path] = set()  # temporaries not yet kept or dropped

    @property
    def root(self) -> Path:
        with self._lock:
            if self._root is None:
                # after Ctrl-C a download cut off may still be writing here
                self._temporary = tempfile.TemporaryDirectory(
                    prefix="vendorer-files-", ignore_cleanup_errors=True
                )
                self._root = Path(self._temporary.name)
            return self._root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def get(self, sha256: str) -> Path | None:
        """The stored file, if it is there and intact (a damaged one is removed)."""
        path = self.path(sha256)
        if not path.is_file():
            return None
        if sha256_of(path) == sha256:
            return path
        path.unlink(missing_ok=True)
        return None

    def put(self, sha256: str, data: bytes) -> None:
        write_bytes_atomic(self.path(sha256), data)

    def metadata(self, wheel_sha256: str) -> bytes | None:
        """The core metadata read off the index for the wheel whose sha256 is `wheel_sha256`
        (by Range requests: no hash of its own to check it against), if kept."""
        with contextlib.suppress(OSError):
            return self._metadata_path(wheel_sha256).read_bytes()
        return None

    def keep_metadata(self, wheel_sha256: str, data: bytes) -> None:
        with contextlib.suppress(OSError):  # a cache that cannot be written costs time, no more
            write_bytes_atomic(self._metadata_path(wheel_sha256), data)

    def _metadata_path(self, wheel_sha256: str) -> Path:
        return self.root / "metadata" / wheel_sha256[:2] / wheel_sha256

    def temporary(self) -> Path:
        """A new empty file in the store's folder, ready to be renamed into place."""
        folder = self.root / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if not self._swept:  # downloads a killed run left behind
                self._swept = True
                stale = time.time() - STALE_PART_SECONDS
                for part in folder.glob("*.part"):
                    with contextlib.suppress(OSError):
                        if part.stat().st_mtime < stale:
                            part.unlink()
        fd, name = tempfile.mkstemp(dir=folder, suffix=".part")
        os.close(fd)
        with self._lock:
            self._parts.add(Path(name))
        return Path(name)

    def keep(self, temporary: Path, sha256: str) -> Path:
        target = self.path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary.chmod(0o644)
        temporary.replace(target)
        with self._lock:
            self._parts.discard(temporary)
        return target

    def drop(self, temporary: Path) -> None:
        temporary.unlink(missing_ok=True)
        with self._lock:
            self._parts.discard(temporary)

    def close(self) -> None:
        """Remove the temporaries of downloads still running (after Ctrl-C or an error: their
        threads are not waited for), and a private folder."""
        with self._lock:
            parts, self._parts = self._parts, set()
        for part in parts:
            with contextlib.suppress(OSError):
                part.unlink(missing_ok=True)
        if self._temporary is not None:
            self._temporary.cleanup()


def file_digests(path: Path, hashes: Mapping[str, str]) -> dict[str, str]:
    with path.open("rb") as stream:
        return digests(iter(lambda: stream.read(CHUNK), b""), hashes)


def digests(chunks: Iterable[bytes], hashes: Mapping[str, str]) -> dict[str, str]:
    """sha256, plus every algorithm of `hashes` that hashlib always has."""
    names = {"sha256"} | {n for n in hashes if n in hashlib.algorithms_guaranteed}
    hashers = {name: hashlib.new(name) for name in names}
    for chunk in chunks:
        for hasher in hashers.values():
            hasher.update(chunk)
    return {name: hasher.hexdigest() for name, hasher in hashers.items()}


def verify(
    digests: Mapping[str, str],
    hashes: Mapping[str, str],
    *,
    what: str,
    deleted: bool,
    against: str = "the index's",
) -> None:
    """HashMismatchError unless every hash given that was computed matches."""
    for algorithm, expected in sorted(hashes.items()):
        actual = digests.get(algorithm)
        if actual is not None and actual != expected.lower():
            raise HashMismatchError(
                what, algorithm, expected, actual, deleted=deleted, against=against
            )


def verified_local(file: DistFile, *, against: str = "the index's") -> Path:
    """The local file a `file:` DistFile names, checked against its hashes (or, with none, as a
    zip)."""
    path = file_url_path(file.url)
    if not path.is_file():
        raise IndexError_(f"{path} does not exist (it was listed by {file.source})")
    if file.hashes:
        computed = file_digests(path, file.hashes)
        verify(computed, file.hashes, what=str(path), deleted=False, against=against)
    elif file.is_wheel:  # with a hash, a cut or foreign file fails it
        check_zip(path, file)
    return path


def check_zip(path: Path, file: DistFile) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            archive.namelist()
    except (zipfile.BadZipFile, OSError) as error:
        raise BrokenDownloadError(
            f"{file.filename} from {file.source or file.url}: not a zip archive ({error}); a "
            "truncated transfer or an error page instead of the wheel: try again"
        ) from None
