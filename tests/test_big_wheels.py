"""A big wheel goes through the wheelhouse in chunks: memory does not grow with its size."""

from __future__ import annotations

import os
import shutil
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from tests.support.cli import make_app
from tests.support.dists import make_wheel
from tests.support.index import PypiServer
from vendorer.catalog import ProfileCatalog
from vendorer.inputs import LockOptions, cache_dir
from vendorer.locking import make_lock
from vendorer.workflow import make_wheelhouse

SIZE = 48 << 20  # random bytes: the wheel cannot be smaller than this


def test_a_big_wheel_is_downloaded_verified_and_copied_in_chunks(
    tmp_path: Path, pypi_server: Callable[[Path], PypiServer]
) -> None:
    dists = tmp_path / "dists"
    make_wheel(dists, "bigwheel", "1.0", files={"bigwheel/blob.bin": os.urandom(SIZE)})
    server = pypi_server(dists)  # its own process: what it holds is not counted here
    app = make_app(tmp_path / "app", server.url, "bigwheel")
    profile = ProfileCatalog().load("python361x64")
    options = LockOptions(index_url=server.url)
    lock = make_lock(profile, app / "requirements.txt", options)
    shutil.rmtree(cache_dir() / "http" / "files")  # the lock step read it: download it again
    tracemalloc.start()
    try:
        result = make_wheelhouse(profile, app / "wheelhouse", options, lock=lock)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    wheel = app / "wheelhouse" / "python361x64" / "bigwheel-1.0-py3-none-any.whl"
    assert result.report.downloaded == [wheel.name] and wheel.stat().st_size > SIZE
    assert peak < SIZE // 4, f"peak {peak >> 20} MiB of Python memory for a {SIZE >> 20} MiB wheel"
