"""A file on an index, read by HTTP Range requests: for zipfile to read a wheel's core metadata
without downloading the wheel, where the index serves no PEP 658 metadata file (as uv does, and
pip with fast-deps).

zipfile asks for the end of the file first (the end-of-central-directory record, and with it,
mostly, the central directory), then the METADATA member (its local header and compressed
bytes): for numpy's 16 MB wheel, three requests and about 140 KB, 0.02 s here against 0.06-0.09 s
for the whole file. What is read this way has no hash to check (the index gives none for it); the
wheel itself is checked against its sha256 when it is downloaded.

`wheel_tail` reads a wheel's end the same way, from its first `.dist-info` member: what installer
reads before the wheel's files (RECORD, WHEEL, the entry points, the central directory), so that
they can be unpacked while the rest downloads (`vendorer.install.growing`). For a big wheel it is
read out of the parts its metadata's read brought, kept for it (`Ranges`): the gaps between
them are one request more.
"""

from __future__ import annotations

import contextlib
import io
import threading
import zipfile
from collections.abc import Callable, Iterator
from typing import Final
from urllib.parse import urljoin

from vendorer._util.sized import SizedReader
from vendorer.errors import IndexError_
from vendorer.index.client import IndexClient, Part
from vendorer.index.models import MAX_DOCUMENT, DistFile

__all__ = ["BLOCK", "Ranges", "RangesRefused", "RemoteFile", "metadata_by_ranges", "wheel_tail"]

BLOCK: Final = 64 << 10  # the least asked for at once: the end of a wheel holds its directory
MOST_TAIL: Final = 4 << 20  # a wheel's end read ahead of its download: at most this much
KEPT_FROM: Final = 1 << 20  # what was read of a wheel this big is kept for its end
TAIL_WAIT_SECONDS: Final = 1.0  # the longest a wheel's end waits for its metadata's reading


class Ranges:
    """Range requests through `client` to the servers that answer them: a server that answers
    one with the whole file is not asked again (by its origin), nor is any when offline. What
    was read of a big wheel for its metadata is kept for its end (`tail`), which is then one
    request more instead of three."""

    def __init__(self, client: IndexClient) -> None:
        self._client = client
        self._refused: set[str] = set()
        self._read: dict[str, RemoteFile] = {}  # big wheels, by URL: their parts read so far
        self._reading: dict[str, threading.Event] = {}  # metadata being read, by URL
        self._lock = threading.Lock()

    def metadata(self, file: DistFile) -> bytes | None:
        """The METADATA of the remote wheel `file` (see `metadata_by_ranges`)."""
        done = threading.Event()
        with self._lock:
            self._reading[file.url] = done
        try:
            remote = self._remote(file.url, MAX_DOCUMENT)
            if remote is None:
                return None
            data = metadata_by_ranges(remote, file)
            if file.size is not None and file.size >= KEPT_FROM:
                with self._lock:
                    self._read[file.url] = remote
            return data
        finally:
            with self._lock:
                del self._reading[file.url]
            done.set()

    def tail(self, url: str) -> Part | None:
        """The end of the remote wheel at `url` (see `wheel_tail`), out of what was read of it
        for its metadata where that is done, or being done (waited for, a little)."""
        with self._lock:
            reading = self._reading.get(url)
        if reading is not None:
            reading.wait(TAIL_WAIT_SECONDS)
        with self._lock:
            remote = self._read.pop(url, None)
        remote = remote or self._remote(url, MOST_TAIL)
        return None if remote is None else wheel_tail(remote)

    def _remote(self, url: str, limit: int) -> RemoteFile | None:
        """The file at `url` read by ranges, at most `limit` bytes (its end is read at once);
        None when its server serves no ranges, or not well."""
        origin = urljoin(url, "/")
        with self._lock:
            if self._client.offline or origin in self._refused:
                return None

        def fetch(wanted: str) -> Part | None:
            part = self._client.fetch_range(url, wanted)
            if part is None:  # it answers with whole files: not asked for ranges again
                with self._lock:
                    self._refused.add(origin)
            return part

        try:
            return RemoteFile(fetch, limit=limit)
        except (RangesRefused, IndexError_):  # BrokenDownloadError among them
            return None


def metadata_by_ranges(remote: RemoteFile, file: DistFile) -> bytes | None:
    """The METADATA of the wheel `file`, read out of `remote`; None when the server serves no
    ranges, or not well (a download of the whole wheel then says what is wrong). A wheel
    without one METADATA of its own is a MetadataError, as it is downloaded."""
    from vendorer.index.metadata import wheel_metadata  # packaging's parser: when one is read

    try:
        with remote.buffered() as buffered:
            return wheel_metadata(buffered, file)
    except (RangesRefused, IndexError_):  # BrokenDownloadError among them
        return None


def wheel_tail(remote: RemoteFile) -> Part | None:
    """The end of the wheel `remote` reads: from its first `.dist-info` member on (from its
    central directory, where that member is not near the end); None when the server serves no
    ranges (or not well), the file is no zip, or the end is over `MOST_TAIL`."""
    try:
        with remote.buffered() as buffered, zipfile.ZipFile(buffered) as archive:
            directory = archive.start_dir
            offsets = [
                member.header_offset
                for member in archive.infolist()
                if member.filename.partition("/")[0].endswith(".dist-info")
            ]
        start = min(offsets, default=directory)
        start = start if directory - start < MOST_TAIL // 2 else directory
        if remote.size - start > MOST_TAIL:
            return None
        return remote.span(start)
    except (RangesRefused, IndexError_, zipfile.BadZipFile, OSError, EOFError, ValueError):
        return None


class RangesRefused(Exception):  # internal: read the whole file instead
    """The server serves no ranges, or not the ones asked for, or too much was asked for."""


class RemoteFile(SizedReader):
    """A seekable, read-only file whose bytes come from `fetch` (a Range header's value -> the
    `Part` the server sent, None when it serves no ranges), at most `limit` bytes in all."""

    def __init__(self, fetch: Callable[[str], Part | None], *, limit: int) -> None:
        tail = fetch(f"-{BLOCK}")
        if tail is None or tail.offset + len(tail.data) != tail.size:
            raise RangesRefused
        super().__init__(tail.size)
        self._fetch, self._limit = fetch, limit
        self._parts, self._fetched = [tail], len(tail.data)

    @contextlib.contextmanager
    def buffered(self) -> Iterator[io.BufferedReader[RemoteFile]]:
        """This file read through a buffer (zipfile's small reads), left open at the end: its
        parts may serve another read (the wheel's end, after its metadata)."""
        buffered = io.BufferedReader(self)
        try:
            yield buffered
        finally:
            buffered.detach()

    def read_at(self, position: int, view: memoryview) -> None:
        count = len(view)
        part = self._holding(position, count) or self._get(position, count)
        start = position - part.offset
        view[:] = part.data[start : start + count]

    def span(self, start: int) -> Part:
        """The file from `start` to its end, as one part: out of the parts read so far, what
        lies between them asked for in one request."""
        missing, position = [], start
        for part in sorted(self._parts, key=lambda held: held.offset):
            if part.offset > position:
                missing.append((position, part.offset))
            position = max(position, part.offset + len(part.data))
        if position < self.size:
            missing.append((position, self.size))
        if missing:
            self._get(missing[0][0], missing[-1][1] - missing[0][0])
        data, position = bytearray(), start
        while position < self.size:
            part = self._holding(position, 1) or self._get(position, 1)
            data += part.data[position - part.offset :]
            position = part.offset + len(part.data)
        return Part(offset=start, data=bytes(data[: self.size - start]), size=self.size)

    def _holding(self, start: int, count: int) -> Part | None:
        for part in self._parts:
            if part.offset <= start and start + count <= part.offset + len(part.data):
                return part
        return None

    def _get(self, start: int, count: int) -> Part:
        end = min(self.size, start + max(count, BLOCK)) - 1
        if self._fetched + end - start + 1 > self._limit:
            raise RangesRefused
        part = self._fetch(f"{start}-{end}")
        if part is None or part.offset != start or len(part.data) < count:
            raise RangesRefused
        self._parts.append(part)
        self._fetched += len(part.data)
        return part
