"""A wheel's end read by Range requests (`index/remotefile.py`, `wheel_tail`), for its files to
be unpacked while the rest downloads: from the first `.dist-info` member on, or only the central
directory where the `.dist-info` files come first; nothing from a server that serves no ranges."""

from __future__ import annotations

import os
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

from tests.support.dists import make_wheel, write_zip
from tests.support.index import StaticIndex
from vendorer.index.client import IndexClient
from vendorer.index.finder import Finder
from vendorer.index.remotefile import KEPT_FROM, MOST_TAIL, Ranges


def _many_files_wheel(folder: Path) -> Path:
    """A wheel of over `KEPT_FROM` bytes whose central directory (about 130 KB) is more than
    the first Range request brings: its metadata takes three requests."""
    files: dict[str, str | bytes] = {
        f"big/m{n:04d}_with_a_long_name.py": "x = 1\n" for n in range(1500)
    }
    files["big/blob.bin"] = os.urandom(KEPT_FROM)
    return make_wheel(folder, "big", "1.0", files=files, requires_dist=["beta"])


def _first_dist_info(wheel: Path) -> int:
    with zipfile.ZipFile(wheel) as archive:
        return min(m.header_offset for m in archive.infolist() if ".dist-info/" in m.filename)


def test_the_end_of_a_wheel_from_its_first_dist_info_member(
    tmp_path: Path, static_index: Callable[..., StaticIndex]
) -> None:
    # 1,500 files: a central directory of about 130 KB, more than the first request brings
    files: dict[str, str | bytes] = {
        f"big/m{n:04d}_with_a_long_name.py": "x = 1\n" for n in range(1500)
    }
    files["big/blob.bin"] = os.urandom(500_000)
    wheel = make_wheel(tmp_path / "dists", "big", "1.0", files=files)
    index = static_index(tmp_path / "dists")
    url = f"{index.base}/files/{wheel.name}"
    with closing(IndexClient()) as client:
        tail = Ranges(client).tail(url)
    data = wheel.read_bytes()
    assert tail is not None
    assert (tail.offset, tail.size) == (_first_dist_info(wheel), len(data))
    assert tail.data == data[tail.offset :]
    ranges = [
        headers.get("Range")
        for _, path, headers in index.requests
        if path == url[len(index.base) :]
    ]
    assert None not in ranges and len(ranges) <= 3, ranges  # never the whole wheel


def test_the_end_of_a_big_wheel_is_read_out_of_what_its_metadata_read_brought(
    tmp_path: Path, static_index: Callable[..., StaticIndex]
) -> None:
    """Its metadata read by ranges (the end, the central directory, the METADATA member), the
    wheel's end asks only for what lies between those parts, once; a small wheel's read is not
    kept."""
    wheel = _many_files_wheel(tmp_path / "dists")
    make_wheel(tmp_path / "dists", "small", "1.0")
    index = static_index(tmp_path / "dists", metadata=False)
    with Finder(index_urls=[index.url]) as finder:
        (big,) = finder.project_files("big")
        (small,) = finder.project_files("small")
    with closing(IndexClient()) as client:
        ranges = Ranges(client)
        metadata = ranges.metadata(big)
        assert metadata is not None and b"Requires-Dist: beta" in metadata
        asked_before = len(index.requests)
        tail = ranges.tail(big.url)
        assert ranges.metadata(small) is not None
        small_before = len(index.requests)
        assert ranges.tail(small.url) is not None
    data = wheel.read_bytes()
    assert tail is not None and tail.data == data[tail.offset :]
    assert tail.offset == _first_dist_info(wheel)
    assert len(index.requests) - small_before == 1  # the small wheel's end: read anew
    between = index.requests[asked_before:small_before]
    assert [path for _, path, _ in between].count(f"/files/{wheel.name}") <= 1


def test_the_end_asked_while_the_metadata_is_read_waits_for_that_read(
    tmp_path: Path, static_index: Callable[..., StaticIndex]
) -> None:
    """The index holds the wheel's Range answers: its end, asked for while its metadata's read
    waits there, waits for that read and takes its parts (not three requests of its own)."""
    wheel = _many_files_wheel(tmp_path / "dists")
    index = static_index(tmp_path / "dists", metadata=False)
    with Finder(index_urls=[index.url]) as finder:
        (big,) = finder.project_files("big")
    path = f"/files/{wheel.name}"
    index.hold(path)
    try:
        with closing(IndexClient()) as client, ThreadPoolExecutor(2) as pool:
            ranges = Ranges(client)
            metadata = pool.submit(ranges.metadata, big)
            deadline = time.monotonic() + 10
            while not index.paths(path) and time.monotonic() < deadline:
                time.sleep(0.01)
            tail = pool.submit(ranges.tail, big.url)
            time.sleep(0.2)
            assert not tail.done()
            index.release()
            assert metadata.result(timeout=10) is not None
            end = tail.result(timeout=10)
    finally:
        index.release()
    assert end is not None and end.data == wheel.read_bytes()[end.offset :]
    assert len(index.paths(path)) <= 4  # the metadata's three reads, the gaps between them


def test_dist_info_files_far_from_the_end_are_not_read_ahead(
    tmp_path: Path, static_index: Callable[..., StaticIndex]
) -> None:
    """A wheel written with its `.dist-info` first: only the central directory is read (the
    `.dist-info` files come early in the download anyway)."""
    source = make_wheel(tmp_path / "made", "early", "1.0")
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    ordered = {n: d for n, d in members.items() if ".dist-info/" in n}
    ordered |= {n: d for n, d in members.items() if ".dist-info/" not in n}
    ordered["early/blob.bin"] = os.urandom(MOST_TAIL // 2 + 1024)  # not in RECORD: unread here
    wheel = tmp_path / "dists" / source.name
    wheel.parent.mkdir()
    write_zip(wheel, ordered)
    index = static_index(tmp_path / "dists")
    with closing(IndexClient()) as client:
        tail = Ranges(client).tail(f"{index.base}/files/{wheel.name}")
    with zipfile.ZipFile(wheel) as archive:
        directory = archive.start_dir
    assert _first_dist_info(wheel) == 0
    assert tail is not None and tail.offset == directory
    assert tail.data == wheel.read_bytes()[directory:]


def test_a_server_without_ranges_is_asked_once(
    tmp_path: Path, static_index: Callable[..., StaticIndex]
) -> None:
    make_wheel(tmp_path / "dists", "one", "1.0")
    make_wheel(tmp_path / "dists", "two", "1.0")
    index = static_index(tmp_path / "dists", ranges=False)
    with closing(IndexClient()) as client:
        ranges = Ranges(client)
        assert ranges.tail(f"{index.base}/files/one-1.0-py3-none-any.whl") is None
        assert ranges.tail(f"{index.base}/files/two-1.0-py3-none-any.whl") is None
    assert index.paths("/files/") == ["/files/one-1.0-py3-none-any.whl"]


def test_what_is_no_zip_has_no_end_to_read(
    tmp_path: Path, static_index: Callable[..., StaticIndex]
) -> None:
    folder = tmp_path / "dists"
    folder.mkdir()
    (folder / "junk-1.0-py3-none-any.whl").write_bytes(b"<html>an error page</html>" * 100)
    index = static_index(folder)
    with closing(IndexClient()) as client:
        assert Ranges(client).tail(f"{index.base}/files/junk-1.0-py3-none-any.whl") is None
