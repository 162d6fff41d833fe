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

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from vendorer._util.sized import SizedReader

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


class GrowingFile(SizedReader):
    """The wheel `growing` describes as a seekable file named `name` (installer reads the
    distribution's name and version off it). It is opened at `growing.part`, or at `kept` once
    the download was renamed there; a read of bytes not downloaded yet waits for them, and an
    OSError says that the download was abandoned, or ended, before they came."""

    def __init__(self, growing: Growing, kept: Path, name: str) -> None:
        super().__init__(growing.size)
        self.name = name
        self._growing = growing
        try:
            self._file = growing.part.open("rb", buffering=0)
        except FileNotFoundError:  # downloaded already
            self._file = kept.open("rb", buffering=0)

    def read_at(self, position: int, view: memoryview) -> None:
        tail = self._growing.tail_offset
        below = max(0, min(len(view), tail - position))  # what comes out of the download
        if below:
            self._read_downloaded(position, view[:below])
        if len(view) > below:
            offset = position + below - tail
            view[below:] = self._growing.tail[offset : offset + len(view) - below]

    def _read_downloaded(self, start: int, view: memoryview) -> None:
        """Fill `view` with the bytes from `start`, waiting for the download to bring them."""
        done, end = 0, start + len(view)
        while done < len(view):
            if os.fstat(self._file.fileno()).st_size >= end:
                self._file.seek(start + done)
                read = self._file.readinto(view[done:])
                if read:
                    done += read
                    continue
            ended = not self._growing.part.exists()  # renamed into place, or removed
            stat = os.fstat(self._file.fileno())  # looked at after: what the file is now
            if stat.st_nlink == 0:
                raise OSError(f"the download of {self.name} was abandoned")
            if ended and stat.st_size < end:
                raise OSError(f"{self.name} ended before the bytes its end was read for")
            if not ended:
                time.sleep(POLL_SECONDS)  # not there yet, or cut short by a try starting over

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()
