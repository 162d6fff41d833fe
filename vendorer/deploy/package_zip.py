"""A reproducible zip: the same members give the same bytes, whatever the umask or the clock.

- Entries are sorted by name; folders are stored only when they are to exist empty.
- Modes are fixed: 0644 for files, 0755 for files executable here (launchers in the lib's
  `bin/`) and for folders; `create_system` is Unix (3); no extra fields.
- Deflate at level 6 (zlib's default). The bytes depend on the zlib that compresses: hosts with
  the same zlib give the same package. Files are deflated on several threads (zlib releases the
  GIL), the biggest first; the bytes are the same as one zipfile writing them in turn.
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
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
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
    `known` gives is read once (its time comes from that sha256), others twice.

    Files up to `AHEAD_BYTES` are read and deflated on threads, ahead of the one being written
    (zlib, hashing and reading release the GIL), and go in as zipfile would have written them;
    bigger ones are streamed in turn."""
    ordered = sorted(members, key=lambda member: member.name)
    sizes = [_size_ahead(member) for member in ordered]
    ahead: dict[int, Future[_Deflated]] = {}
    with (
        ThreadPoolExecutor(max_workers=_THREADS) as pool,
        zipfile.ZipFile(stream, "w", allowZip64=True) as archive,
    ):

        def go_ahead(index: int) -> None:
            if sizes[index] is not None and index not in ahead:
                ahead[index] = pool.submit(_deflate, ordered[index], known)

        held = 0  # the biggest files first: the others are done on the side meanwhile
        for index in sorted(range(len(ordered)), key=lambda i: -(sizes[i] or 0)):
            if (sizes[index] or 0) < _BIG or held + (sizes[index] or 0) > _HELD_BYTES:
                break
            go_ahead(index)
            held += sizes[index] or 0
        for index, member in enumerate(ordered):
            for later in range(index, min(index + _WINDOW, len(ordered))):
                go_ahead(later)
            if member.name.endswith("/"):
                archive.writestr(_info(member.name, (1980, 1, 1, 0, 0, 0), FOLDER_MODE), b"")
            elif member.data is not None:
                when = content_time(hashlib.sha256(member.data).digest())
                archive.writestr(_info(member.name, when, _mode(member)), member.data)
            elif index in ahead:
                _write_deflated(archive, stream, member, ahead.pop(index).result())
            else:
                assert member.source is not None
                _write_file(archive, member, member.source, known(member.source))


AHEAD_BYTES: Final = 64 << 20  # a bigger file is streamed, not held in memory
_BIG: Final = 1 << 20  # files this big are deflated first, up to _HELD_BYTES of them
_HELD_BYTES: Final = 256 << 20
_WINDOW: Final = 64  # the other files: this many ahead of the one being written
_THREADS: Final = max(1, min(os.cpu_count() or 1, 4))


@dataclass(frozen=True, slots=True)
class _Deflated:
    sha256: str
    size: int
    crc: int
    data: bytes  # raw deflate, as zipfile makes it (level 6, no zlib header)


def _size_ahead(member: ZipMember) -> int | None:
    """The size of a file to read and deflate ahead; None for one streamed in turn (a big one,
    or one that cannot be looked at: streaming it says what is wrong), or for what is no file."""
    if member.source is None or member.name.endswith("/"):
        return None
    try:
        size = member.source.stat().st_size
    except OSError:
        return None
    return size if size <= AHEAD_BYTES else None


def _deflate(member: ZipMember, known: Known) -> _Deflated:
    assert member.source is not None
    try:
        data = member.source.read_bytes()
    except OSError as error:
        raise UnreadableFile(member.source, error) from None
    sha256 = known(member.source) or hashlib.sha256(data).hexdigest()
    compressor = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)
    deflated = compressor.compress(data) + compressor.flush()
    return _Deflated(sha256=sha256, size=len(data), crc=zlib.crc32(data), data=deflated)


def _write_deflated(
    archive: zipfile.ZipFile, stream: BinaryIO, member: ZipMember, deflated: _Deflated
) -> None:
    """Put in the entry zipfile would have written: the deflated bytes go in as they are, then
    its local header is written again to say what they are (the central directory is written
    from the same ZipInfo when the archive closes)."""
    info = _info(member.name, content_time(bytes.fromhex(deflated.sha256)), _mode(member))
    info.compress_type = zipfile.ZIP_STORED
    with archive.open(info, "w") as entry:
        entry.write(deflated.data)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.CRC, info.file_size, info.compress_size = deflated.crc, deflated.size, len(deflated.data)
    end = stream.tell()
    stream.seek(info.header_offset)
    stream.write(info.FileHeader(zip64=False))
    stream.seek(end)


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
