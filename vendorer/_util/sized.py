"""A read-only file of a known size, read at a position: what zipfile needs of a wheel that is
not (all) on disk yet: one on an index (`index.remotefile`), one still downloading
(`install.growing`). A subclass reads `count` bytes at `position` into a buffer."""

from __future__ import annotations

import io

__all__ = ["SizedReader"]


class SizedReader(io.RawIOBase):
    """Seekable and read-only, `size` bytes long; `read_at` says how bytes are had."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self._position = 0

    def read_at(self, position: int, view: memoryview) -> None:
        """Fill `view` with the bytes from `position` (all of them: it is never past the end)."""
        raise NotImplementedError

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise OSError("seek before the start of the file")
        self._position = base + offset
        return self._position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = max(0, min(len(buffer), self.size - self._position))
        if count:
            self.read_at(self._position, memoryview(buffer).cast("B")[:count])
            self._position += count
        return count
