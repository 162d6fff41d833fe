"""Writing files so that a reader, or a killed run, never sees half of one."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["HashCache", "copy_atomic", "sha256_of", "write_bytes_atomic", "write_text_atomic"]

CHUNK = 1 << 20


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, flush it, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        Path(temporary).chmod(0o644)  # mkstemp makes 0600; these files are meant to be shared
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


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
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    temporary = Path(name)
    try:
        shutil.copyfile(source, temporary)
        temporary.chmod(0o644)
        temporary.replace(target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


class HashCache:
    """sha256 of files, remembered with their size, mtime and inode (as git's index does), so an
    unchanged file is not read again. Kept outside the tree it describes; a lost cache costs time.
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
                if isinstance(entry, list) and len(entry) == 4 and isinstance(entry[3], str)
            }

    def sha256(self, path: Path) -> str | None:
        """The file's sha256, or None when it is missing."""
        try:
            stat = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        signature = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
        key = str(path)
        known = self.entries.get(key)
        if known is not None and known[:3] == signature:
            return str(known[3])
        try:
            digest = sha256_of(path)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        self.entries[key] = [*signature, digest]
        self.changed = True
        return digest

    def save(self) -> None:
        if self.path is not None and self.changed:
            write_text_atomic(self.path, json.dumps(self.entries))
            self.changed = False
