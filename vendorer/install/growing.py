"""A wheel read while it is still downloading, for it to be unpacked meanwhile.

A wheel's end (its `.dist-info` files and central directory: what installer reads before the
files) is read ahead by Range requests (`vendorer.index.remotefile.wheel_tail`); the rest is read
out of the file being downloaded, waiting for each byte asked for to be there. zipfile parses it
and installer unpacks it as they do any wheel, each file checked against RECORD as it is read.
What was unpacked is used once the download is checked against its sha256 and its end is the end
that was read ahead (`vendorer.install.ahead`); a download that fails ends the reading.

POSIX only: on Windows a file open for reading cannot be renamed into the download cache.
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["STREAMS", "Growing", "GrowingFile", "same_tail"]

STREAMS: Final = os.name == "posix"  # whether wheels are unpacked as they download here
POLL_SECONDS: Final = 0.002  # how often the file being downloaded is looked at while it is short


@dataclass(frozen=True, slots=True)
class Growing:
    """A wheel of `size` bytes being downloaded into `part` (then renamed into place): its
    bytes from `tail_offset` on are `tail`."""

    part: Path
    size: int
    tail_offset: int
    tail: bytes


def same_tail(wheel: Path, growing: Growing) -> bool:
    """Whether the downloaded `wheel` ends as the wheel unpacked from `growing` did."""
    try:
        with wheel.open("rb") as stream:
            if os.fstat(stream.fileno()).st_size != growing.size:
                return False
            stream.seek(growing.tail_offset)
            return stream.read() == growing.tail
    except OSError:
        return False


class GrowingFile(io.RawIOBase):
    """The wheel `growing` describes as a seekable file named `name` (installer reads the
    distribution's name and version off it). It is opened at `growing.part`, or at `kept` once
    the download was renamed there; a read of bytes not downloaded yet waits for them, and an
    OSError says that the download was abandoned before they came."""

    def __init__(self, growing: Growing, kept: Path, name: str) -> None:
        super().__init__()
        self.name = name
        self._growing = growing
        try:
            self._file = growing.part.open("rb", buffering=0)
        except FileNotFoundError:  # downloaded already
            self._file = kept.open("rb", buffering=0)
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._growing.size}
        if base[whence] + offset < 0:
            raise OSError("seek before the start of the file")
        self._position = base[whence] + offset
        return self._position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        count = max(0, min(len(view), self._growing.size - self._position))
        start, tail = self._position, self._growing.tail_offset
        below = max(0, min(count, tail - start))  # what comes out of the download
        if below:
            self._read_downloaded(start, view[:below])
        if count > below:
            offset = start + below - tail
            view[below:count] = self._growing.tail[offset : offset + count - below]
        self._position += count
        return count

    def _read_downloaded(self, start: int, view: memoryview) -> None:
        """Fill `view` with the bytes from `start`, waiting for the download to bring them."""
        done = 0
        while done < len(view):
            stat = os.fstat(self._file.fileno())
            if stat.st_size >= start + len(view):
                self._file.seek(start + done)
                read = self._file.readinto(view[done:])
                if read:
                    done += read
                    continue
            if stat.st_nlink == 0:
                raise OSError(f"the download of {self.name} was abandoned")
            time.sleep(POLL_SECONDS)  # not there yet, or cut short by a download starting over

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()
