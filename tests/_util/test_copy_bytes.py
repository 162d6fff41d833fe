"""`copy_bytes`: a file's bytes copied in the kernel where it can, else read and written, and
never more than the size asked for."""

from __future__ import annotations

import os
from pathlib import Path

from vendorer._util.files import copy_bytes


def _copied(source: Path, target: Path, size: int) -> int:
    with source.open("rb") as reading, target.open("wb") as writing:
        return copy_bytes(reading.fileno(), writing.fileno(), size)


def test_a_file_is_copied_whole(tmp_path: Path) -> None:
    data = os.urandom(3 << 20)  # more than one read of the fallback
    (tmp_path / "a").write_bytes(data)
    assert _copied(tmp_path / "a", tmp_path / "b", len(data)) == len(data)
    assert (tmp_path / "b").read_bytes() == data


def test_a_file_shorter_than_said_gives_what_it_has(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"12345")
    assert _copied(tmp_path / "a", tmp_path / "b", 10) == 5
    assert (tmp_path / "b").read_bytes() == b"12345"


def test_where_the_kernel_cannot_copy_the_bytes_are_read_and_written(tmp_path: Path) -> None:
    data = os.urandom(40_000)  # fits in a pipe's buffer
    (tmp_path / "a").write_bytes(data)
    reading, writing = os.pipe()  # copy_file_range refuses a pipe (EINVAL)
    try:
        with (tmp_path / "a").open("rb") as source:
            assert copy_bytes(source.fileno(), writing, len(data)) == len(data)
        os.close(writing)
        received = b""
        while chunk := os.read(reading, 65536):
            received += chunk
    finally:
        os.close(reading)
    assert received == data
