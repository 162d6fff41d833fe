"""How vendorer reads a wheel for installer: its contents checked against RECORD as they are
read (one pass: each member is decompressed once, not once to validate and again to write), and
--slim's view of it without tests, bytecode and stubs."""

from __future__ import annotations

import base64
import hashlib
import shutil
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import BinaryIO, Final, cast

from installer.exceptions import InstallerError
from installer.records import RecordEntry
from installer.sources import WheelContentElement, WheelSource
from installer.utils import copyfileobj_with_hashing

__all__ = [
    "SLIM_DIRECTORIES",
    "Checked",
    "ContentMismatch",
    "Slimmed",
    "copy_hashing",
    "slimmed",
]

SLIM_DIRECTORIES: Final = frozenset({"tests", "test", "__pycache__"})


class ContentMismatch(ValueError, InstallerError):
    """A member's bytes are not what the wheel's RECORD says (hash or size)."""


class _Forwarding(WheelSource):
    """A wheel source that reads through another one."""

    def __init__(self, source: WheelSource) -> None:
        super().__init__(source.distribution, source.version)
        self._source = source

    @property
    def dist_info_filenames(self) -> list[str]:
        return self._source.dist_info_filenames

    def read_dist_info(self, filename: str) -> str:
        return self._source.read_dist_info(filename)

    def validate_record(self) -> None:
        self._source.validate_record()

    def get_contents(self) -> Iterator[WheelContentElement]:
        return self._source.get_contents()


class Checked(_Forwarding):
    """Each member's stream checks its hash and size against RECORD when it reaches its end."""

    def get_contents(self) -> Iterator[WheelContentElement]:
        for element in self._source.get_contents():
            record, stream, is_executable = element
            entry = RecordEntry.from_elements(*record)
            if entry.hash_ is None or entry.size is None:  # RECORD itself
                yield element
            else:
                checked = cast("BinaryIO", _CheckedStream(stream, entry))  # read() is all it needs
                yield record, checked, is_executable


class _CheckedStream:
    """A member's stream, hashed as it is read; at its end, checked against its RECORD entry."""

    def __init__(self, stream: BinaryIO, entry: RecordEntry) -> None:
        assert entry.hash_ is not None
        self._stream = stream
        self._entry = entry
        self.algorithm = entry.hash_.name
        self._hasher = hashlib.new(entry.hash_.name)
        self._size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if data:
            self._hasher.update(data)
            self._size += len(data)
        elif not self._matches():
            raise ContentMismatch(f"hash / size of {self._entry.path} didn't match RECORD")
        return data

    def _matches(self) -> bool:
        assert self._entry.hash_ is not None
        return self._size == self._entry.size and self.digest() == self._entry.hash_.value

    def digest(self) -> str:
        """What was read so far: its digest, as RECORD spells it (urlsafe base64, unpadded)."""
        return base64.urlsafe_b64encode(self._hasher.digest()).decode("ascii").rstrip("=")

    @property
    def size(self) -> int:
        return self._size


def copy_hashing(stream: BinaryIO, output: BinaryIO, algorithm: str) -> tuple[str, int]:
    """installer's `copyfileobj_with_hashing`, but a stream already checked against RECORD with
    `algorithm` is not hashed a second time (for pandas and numpy: 0.06 s of sha256)."""
    if isinstance(stream, _CheckedStream) and stream.algorithm == algorithm:
        shutil.copyfileobj(stream, output)  # to the end: a mismatch raises there
        return stream.digest(), stream.size
    return copyfileobj_with_hashing(stream, output, algorithm)


class Slimmed(_Forwarding):
    """A wheel as installer reads it, minus what --slim leaves out (see `slimmed`)."""

    def get_contents(self) -> Iterator[WheelContentElement]:
        for element in self._source.get_contents():
            (path, _, _), _, _ = element
            if not slimmed(path):
                yield element


def slimmed(path: str) -> bool:
    """--slim leaves out: test suites (a `tests` or `test` folder inside a package),
    `__pycache__` folders and compiled bytecode, and type stubs (`*.pyi`)."""
    parts = PurePosixPath(path).parts
    in_package = parts[1:-1]  # folders below the top-level one, above the file
    return (
        bool(SLIM_DIRECTORIES & set(in_package))
        or "__pycache__" in parts
        or path.endswith((".pyc", ".pyi"))
    )
