"""A wheel unpacked while it downloads (`install/growing.py`): its end is known ahead, the rest
is read out of a file another thread writes; the tree is the one the whole wheel gives, what is
not there yet is waited for, and a download abandoned ends the unpacking with a VendorError."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
import zipfile
from pathlib import Path

import pytest

from tests.install.test_pool import _tree
from tests.support.dists import make_wheel
from vendorer.install.errors import VendorError
from vendorer.install.growing import Growing, same_tail
from vendorer.install.unpack import unpack_wheel
from vendorer.target.catalog import ProfileCatalog

LINUX = ProfileCatalog().load("linux-python312")


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    """A wheel whose first half holds whole files (`early/`, `early.bin`), its second half most
    of `late.bin`."""
    files: dict[str, str | bytes] = {f"streamy/early/m{n:03d}.py": f"n = {n}\n" for n in range(50)}
    files["streamy/early.bin"] = os.urandom(300_000)
    files["streamy/late.bin"] = os.urandom(900_000)
    return make_wheel(tmp_path / "dists", "streamy", "1.0", files=files)


def _growing(wheel: Path, part: Path) -> Growing:
    """What the index's Range requests would tell of `wheel`: its end from its first
    `.dist-info` member."""
    with zipfile.ZipFile(wheel) as archive:
        start = min(m.header_offset for m in archive.infolist() if ".dist-info/" in m.filename)
    data = wheel.read_bytes()
    return Growing(part, size=len(data), tail_offset=start, tail=data[start:])


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _link(tmp_path: Path, wheel: Path, kept: Path) -> Path:
    """A link named as the wheel (installer reads the name) to where it will be kept."""
    link = tmp_path / "ready" / wheel.name
    link.parent.mkdir()
    link.symlink_to(kept)
    return link


def test_a_wheel_is_unpacked_as_it_downloads_into_the_tree_the_whole_wheel_gives(
    tmp_path: Path, wheel: Path
) -> None:
    """The writer sends the first half, then waits for a file of it to be unpacked before it
    sends the rest (and renames the file into place, as the download cache does)."""
    data = wheel.read_bytes()
    part, kept = tmp_path / "download.part", tmp_path / "store" / "kept"
    kept.parent.mkdir()
    part.write_bytes(b"")
    target = tmp_path / "lib"
    seen_midway: list[bool] = []

    def download() -> None:
        with part.open("r+b", buffering=0) as stream:
            stream.write(data[: len(data) // 2])
            deadline = time.monotonic() + 20
            while not (target / "streamy" / "early.bin").is_file():
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            seen_midway.append((target / "streamy" / "early.bin").is_file())
            for start in range(len(data) // 2, len(data), 65536):
                stream.write(data[start : start + 65536])
        part.rename(kept)

    writer = threading.Thread(target=download)
    writer.start()
    growing = _growing(wheel, part)
    entry = unpack_wheel(
        _link(tmp_path, wheel, kept), _sha(wheel), target, LINUX, slim=False, growing=growing
    )
    writer.join()
    assert seen_midway == [True], "nothing was unpacked before the download ended"
    whole = tmp_path / "whole"
    assert unpack_wheel(wheel, _sha(wheel), whole, LINUX, slim=False) == entry
    assert _tree(target) == _tree(whole)
    assert same_tail(kept, growing)


def test_a_wheel_downloaded_already_is_read_where_it_was_kept(tmp_path: Path, wheel: Path) -> None:
    kept = tmp_path / "kept"
    shutil.copyfile(wheel, kept)
    growing = _growing(wheel, tmp_path / "gone.part")
    target = tmp_path / "lib"
    unpack_wheel(_link(tmp_path, wheel, kept), _sha(wheel), target, LINUX, slim=False,
                 growing=growing)  # fmt: skip
    assert (target / "streamy" / "late.bin").read_bytes() == _member(wheel, "streamy/late.bin")


def test_an_abandoned_download_ends_the_unpacking(tmp_path: Path, wheel: Path) -> None:
    """The download cache removes a download that failed: the reader waiting for its bytes
    says so at once instead of waiting on."""
    data = wheel.read_bytes()
    part = tmp_path / "download.part"
    part.write_bytes(data[: len(data) // 2])
    growing = _growing(wheel, part)
    threading.Timer(0.3, part.unlink).start()
    started = time.monotonic()
    with pytest.raises(VendorError, match=r"download of .* was abandoned"):
        unpack_wheel(_link(tmp_path, wheel, tmp_path / "never"), _sha(wheel), tmp_path / "lib",
                     LINUX, slim=False, growing=growing)  # fmt: skip
    assert time.monotonic() - started < 10


def test_a_download_shorter_than_its_end_said_ends_the_unpacking(
    tmp_path: Path, wheel: Path
) -> None:
    """The end was read off a bigger build of the wheel (its late.bin is longer): once the
    download is complete (renamed into place) the bytes waited for never come, and the reader
    says so instead of waiting on."""
    with zipfile.ZipFile(wheel) as archive:
        files = {
            name: archive.read(name) for name in archive.namelist() if ".dist-info" not in name
        }
    files["streamy/late.bin"] += os.urandom(100_000)
    bigger = make_wheel(tmp_path / "bigger", "streamy", "1.0", files=files)
    data = wheel.read_bytes()
    part, kept = tmp_path / "download.part", tmp_path / "kept"
    part.write_bytes(data[: len(data) // 2])

    def finish() -> None:
        with part.open("ab") as stream:
            stream.write(data[len(data) // 2 :])
        part.rename(kept)

    threading.Timer(0.3, finish).start()
    started = time.monotonic()
    with pytest.raises(VendorError, match="ended before the bytes its end was read for"):
        unpack_wheel(_link(tmp_path, wheel, kept), _sha(wheel), tmp_path / "lib", LINUX,
                     slim=False, growing=_growing(bigger, part))  # fmt: skip
    assert time.monotonic() - started < 10


def test_the_end_read_ahead_must_be_the_downloaded_files_end(tmp_path: Path, wheel: Path) -> None:
    growing = _growing(wheel, tmp_path / "part")
    assert same_tail(wheel, growing)
    changed = tmp_path / "changed.whl"
    data = bytearray(wheel.read_bytes())
    data[-30] ^= 0xFF  # in the central directory's end
    changed.write_bytes(bytes(data))
    assert not same_tail(changed, growing)
    longer = tmp_path / "longer.whl"
    longer.write_bytes(b"\0" + wheel.read_bytes())
    assert not same_tail(longer, growing)
    assert not same_tail(tmp_path / "missing.whl", growing)


def _member(wheel: Path, name: str) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(name)
