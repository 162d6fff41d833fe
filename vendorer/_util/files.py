"""Writing files so that a reader, or a killed run, never sees half of one; reading the files a
user gives with a bound (a link to /dev/zero must not take all the memory)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from stat import S_ISREG
from typing import Any

__all__ = [
    "MAX_INPUT_BYTES",
    "HashCache",
    "copy_atomic",
    "copy_bytes",
    "copy_to_new_file",
    "naming",
    "open_to_read",
    "read_bounded",
    "sha256_of",
    "write_bytes_atomic",
    "write_text_atomic",
    "write_text_if_changed",
]

CHUNK = 1 << 20
# copy_file_range refused: across filesystems (before Linux 5.3), or not on this one
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP}
_READ = os.O_RDONLY | getattr(os, "O_BINARY", 0)
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
MAX_INPUT_BYTES = 64 << 20  # a lock, manifest or requirements file is a few MB at most


def copy_bytes(source: int, target: int, size: int) -> int:
    """Up to `size` bytes of `source` written to `target`, in the kernel where it can
    (`copy_file_range`, which clones where the filesystem can); how many."""
    done = 0
    kernel = hasattr(os, "copy_file_range")
    while done < size:
        try:
            count = os.copy_file_range(source, target, size - done) if kernel else 0
        except OSError as error:
            if error.errno not in _NO_KERNEL_COPY:
                raise
            kernel, count = False, 0
        if not kernel:
            data = os.read(source, min(size - done, CHUNK))
            count = len(data)
            view = memoryview(data)
            while view:
                view = view[os.write(target, view) :]
        if count == 0:
            break
        done += count
    return done


def open_to_read(path: str) -> int:
    """A file descriptor reading `path` (binary on Windows too)."""
    return os.open(path, _READ)


def copy_to_new_file(source: int, status: os.stat_result, path: str) -> int:
    """The bytes of the open file `source` (`status`: what `os.fstat` says of it) copied into
    the new file `path`, with its mode (an executable's bits as they are, whatever the umask);
    how many bytes were copied. A file already at `path` raises FileExistsError."""
    new = os.open(path, _NEW, status.st_mode & 0o777)
    try:
        if status.st_mode & 0o111 and os.chmod in os.supports_fd:
            os.chmod(new, status.st_mode & 0o777)  # noqa: PTH101 (a descriptor)
        return copy_bytes(source, new, status.st_size)
    finally:
        os.close(new)


def read_bounded(path: Path, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of `path`, a file a user gave or may have replaced; an OSError (EFBIG) when it
    holds more than `limit` bytes (a device such as /dev/zero, or not the file it should be)."""
    with path.open("rb") as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise OSError(
            errno.EFBIG, f"it holds over {limit >> 20} MiB: it is not the file it should be"
        )
    return data


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, flush it, then rename it into place.

    The file gets the mode the umask gives (644 with 022), as any file a program creates."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = _new_temporary(path)
    try:
        with naming(path), os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def naming(path: Path) -> Iterator[None]:
    """An OSError that names no file (a full disk says ENOSPC, and nothing of where) is raised
    again naming `path`, the file being written."""
    try:
        yield
    except OSError as error:
        if error.filename is not None:
            raise
        raise OSError(error.errno, error.strerror, str(path)) from error


def _new_temporary(path: Path) -> tuple[int, Path]:
    """A new empty file beside `path`, open for writing; unlike mkstemp's 600, its mode is the
    one the umask gives."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    while True:
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:
            continue


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_text_if_changed(path: Path, text: str) -> bool:
    """`write_text_atomic`, unless the file holds `text` already (a run that changed nothing
    writes nothing); whether it wrote."""
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False
    except OSError:  # missing or unreadable: written
        pass
    write_bytes_atomic(path, data)
    return True


def sha256_of(path: Path) -> str:
    """The file's sha256, read in chunks (wheels can be gigabytes)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def copy_atomic(source: Path, target: Path) -> None:
    """Copy `source` to a temporary file beside `target`, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = _new_temporary(target)
    os.close(fd)
    try:
        shutil.copyfile(source, temporary)
        temporary.replace(target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


class HashCache:
    """sha256 of files, remembered with their size, mtime, inode and ctime (as git's index does),
    so an unchanged file is not read again. The ctime catches an edit whose mtime was put back
    (only the kernel sets it; a checkout or a link changes it too, which costs one re-hash). Kept
    outside the tree it describes; a lost cache costs time.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, list[Any]] = {}
        self.changed = False
        if path is not None:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {}
            self.entries = {  # what another version or a damaged file left is dropped
                key: entry
                for key, entry in (data.items() if isinstance(data, dict) else ())
                if _valid_entry(entry)
            }

    def sha256(self, path: Path | str) -> str | None:
        """The file's sha256, or None when it is missing or not a regular file (a folder, a
        fifo, which would block the read, or a device). A str is taken as `str(path)` spells it
        (the cache's key): many files are looked up without making a Path for each."""
        key = path if isinstance(path, str) else str(path)
        try:
            stat = os.stat(key)  # noqa: PTH116  # a str: no Path per file
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not S_ISREG(stat.st_mode):
            return None
        signature = _signature(stat)
        known = self.entries.get(key)
        if known is not None and known[:4] == signature:
            return str(known[4])
        try:
            digest = sha256_of(Path(key))
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        self.entries[key] = [*signature, digest]
        self.changed = True
        return digest

    def remember(self, path: Path, digest: str, *, modified_before: int) -> None:
        """Record `digest`, known to be the file's content at the time `modified_before` (ns since
        the epoch), unless its mtime says it may have changed since."""
        try:
            stat = path.stat()
        except OSError:
            return
        if stat.st_mtime_ns < modified_before:
            self.entries[str(path)] = [*_signature(stat), digest]
            self.changed = True

    def save(self) -> None:
        """Write the cache; one that cannot be written (a full disk, a read-only home) is only
        time lost on the next run."""
        if self.path is not None and self.changed:
            with contextlib.suppress(OSError):
                write_text_atomic(self.path, json.dumps(self.entries))
            self.changed = False


def _valid_entry(entry: object) -> bool:
    """[size, mtime_ns, inode, ctime_ns, sha256]; spelt out, as it runs for every file."""
    return (
        isinstance(entry, list)
        and len(entry) == 5
        and isinstance(entry[0], int)
        and isinstance(entry[1], int)
        and isinstance(entry[2], int)
        and isinstance(entry[3], int)
        and isinstance(entry[4], str)
    )


def _signature(stat: os.stat_result) -> list[int]:
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns]
