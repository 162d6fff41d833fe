"""A reproducible zip: the same members give the same bytes, whatever the umask or the clock.

- Entries are sorted by name; folders are stored only when they are to exist empty.
- Modes are fixed: 0644 for files, 0755 for files executable here (launchers in the lib's
  `bin/`) and for folders; `create_system` is Unix (3); no extra fields.
- Deflate at level 6 (zlib's default). The bytes depend on the zlib that compresses: hosts with
  the same zlib give the same package.
- Timestamps come from each file's content, not from the clock or its mtime: a moment between
  1980-01-01 (a zip cannot go earlier) and 2020-01-01, taken from the file's sha256. One fixed
  date for every file would be reproducible too, but a deployment would then miss changes:
  Kudu's extractor gives each file its entry's time (KuduLite `ZipArchiveExtensions.Extract`),
  KuduSync copies a file into wwwroot only when that time differs from the deployed copy's
  (KuduSync.NET), or its time or size (the node KuduSync, which then gives the copy the same
  time), and Python reuses a `__pycache__` entry whose source has the same mtime and size. A
  time that changes with the content is right for all three. Folders get 1980-01-01.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Final

from vendorer._util.files import CHUNK
from vendorer.errors import VendorerError

__all__ = ["DEFLATE_LEVEL", "Known", "UnreadableFile", "ZipMember", "content_time", "write_zip"]

DEFLATE_LEVEL: Final = 6
ZIP_EPOCH: Final = datetime(1980, 1, 1)
TIME_SLOTS: Final = int((datetime(2020, 1, 1) - ZIP_EPOCH).total_seconds()) // 2  # 2 s apart
FILE_MODE: Final = 0o100644
EXECUTABLE_MODE: Final = 0o100755
FOLDER_MODE: Final = 0o040755
MSDOS_FOLDER: Final = 0x10
UNIX: Final = 3


class UnreadableFile(VendorerError):
    """A file that goes into the package cannot be read."""

    def __init__(self, path: Path, error: OSError) -> None:
        super().__init__(
            f"cannot read {path}: {error.strerror or error}; make it readable, or add it to "
            "[tool.vendorer] exclude if it should stay out of the package"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ZipMember:
    """One entry: a file read from `source`, bytes given as `data`, or a folder (name ends /)."""

    name: str
    source: Path | None = None
    data: bytes | None = None
    executable: bool = False


def content_time(digest: bytes) -> tuple[int, int, int, int, int, int]:
    """The entry time for content whose sha256 is `digest` (even seconds: a zip keeps no odd)."""
    slot = int.from_bytes(digest[:8], "big") % TIME_SLOTS
    moment = ZIP_EPOCH + timedelta(seconds=2 * slot)
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)


Known = Callable[[Path], str | None]  # a file's sha256 (hex) when it is known, else None


def write_zip(
    members: Iterable[ZipMember], stream: BinaryIO, known: Known = lambda path: None
) -> None:
    """Write the zip of `members` to `stream` (seekable), sorted by name. A file whose sha256
    `known` gives is read once (its time comes from that sha256), others twice."""
    with zipfile.ZipFile(stream, "w", allowZip64=True) as archive:
        for member in sorted(members, key=lambda member: member.name):
            if member.name.endswith("/"):
                archive.writestr(_info(member.name, (1980, 1, 1, 0, 0, 0), FOLDER_MODE), b"")
            elif member.data is not None:
                when = content_time(hashlib.sha256(member.data).digest())
                archive.writestr(_info(member.name, when, _mode(member)), member.data)
            else:
                assert member.source is not None
                _write_file(archive, member, member.source, known(member.source))


def _write_file(
    archive: zipfile.ZipFile, member: ZipMember, source: Path, sha256: str | None
) -> None:
    """Stream `source` into the archive, never held in memory whole; read twice when its
    `sha256` is not known (it gives the entry's time). A failure to read is the source's; one
    to write, the caller's."""
    try:
        stream = source.open("rb")
    except OSError as error:
        raise UnreadableFile(source, error) from None
    with stream:
        if sha256 is None:
            digest = hashlib.sha256()
            while chunk := _read(stream, source):
                digest.update(chunk)
            sha256 = digest.hexdigest()
        info = _info(member.name, content_time(bytes.fromhex(sha256)), _mode(member))
        info.file_size = os.fstat(stream.fileno()).st_size  # decides zip64 up front
        stream.seek(0)
        with archive.open(info, "w") as entry:
            while chunk := _read(stream, source):
                entry.write(chunk)


def _read(stream: BinaryIO, source: Path) -> bytes:
    try:
        return stream.read(CHUNK)
    except OSError as error:
        raise UnreadableFile(source, error) from None


def _mode(member: ZipMember) -> int:
    return EXECUTABLE_MODE if member.executable else FILE_MODE


def _info(name: str, when: tuple[int, int, int, int, int, int], mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when)
    info.create_system = UNIX
    info.external_attr = mode << 16
    if name.endswith("/"):
        info.external_attr |= MSDOS_FOLDER
        info.compress_type = zipfile.ZIP_STORED
    else:
        info.compress_type = zipfile.ZIP_DEFLATED
        info._compresslevel = DEFLATE_LEVEL  # type: ignore[attr-defined]  # compress_level from 3.13
    return info
