"""Big files go through in chunks: memory does not grow with a wheel's or an upload's size."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from tests.support.cli import make_app, vendorer
from tests.support.dists import make_wheel
from tests.support.index import PypiServer, StaticIndex
from tests.support.kudu import KuduServer
from tests.support.reporter import Recorder
from vendorer.app.locking import make_lock
from vendorer.app.workflow import make_wheelhouse
from vendorer.inputs.options import LockOptions, cache_dir
from vendorer.target.catalog import ProfileCatalog

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
    recorder = Recorder()
    chunks = recorder.sizes  # what the progress bar is told
    tracemalloc.start()
    try:
        result = make_wheelhouse(profile, app / "wheelhouse", options, lock=lock, reporter=recorder)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    wheel = app / "wheelhouse" / "python361x64" / "bigwheel-1.0-py3-none-any.whl"
    assert result.report.downloaded == [wheel.name] and wheel.stat().st_size > SIZE
    assert sum(chunks) == wheel.stat().st_size and len(chunks) > 1
    assert peak < SIZE // 4, f"peak {peak >> 20} MiB of Python memory for a {SIZE >> 20} MiB wheel"


MAX_RSS = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, capture_output=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def test_an_upload_is_zipped_to_disk_and_sent_in_chunks(
    tmp_path: Path, static_index: Callable[..., StaticIndex]
) -> None:
    dists = tmp_path / "dists"
    make_wheel(dists, "bigwheel", "1.0", files={"bigwheel/blob.bin": os.urandom(SIZE * 2)})
    make_wheel(dists, "smallwheel", "1.0")
    index = static_index(dists)
    with KuduServer(tmp_path / "home", password="pw") as kudu:
        environ = {"VENDORER_KUDU_URL": kudu.url, "VENDORER_KUDU_USER": "$site",
                   "VENDORER_KUDU_PASSWORD": "pw"}  # fmt: skip
        peaks = {}
        for name in ("smallwheel", "bigwheel"):
            app = make_app(tmp_path / name, index.url, name)
            assert vendorer("build", cwd=app).returncode == 0
            command = [sys.executable, "-m", "vendorer", "upload", "--app", str(app)]
            measured = subprocess.run(
                [sys.executable, "-c", MAX_RSS, *command],
                env={**os.environ, **environ}, capture_output=True, text=True, check=True,
            )  # fmt: skip
            peaks[name] = int(measured.stdout) << 10  # ru_maxrss is in KiB on Linux
        assert (kudu.home / "site/wwwroot/lib/bigwheel/blob.bin").stat().st_size == SIZE * 2
    growth = peaks["bigwheel"] - peaks["smallwheel"]
    assert growth < SIZE // 2, f"uploading {SIZE >> 19} MiB more took {growth >> 20} MiB more RSS"
