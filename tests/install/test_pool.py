"""Unpacking on worker processes (`install/pool.py`): the same tree as on threads, errors said the
same way, and a run stopped by Ctrl-C or killed leaves the previous tree whole and no worker
behind. VENDORER_UNPACK_PROCESSES=2 puts these small wheels on the processes that only big
trees get by default."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.support.dists import make_wheel
from vendorer.install.errors import VendorError
from vendorer.install.libfolder import leftovers
from vendorer.install.manifest import MANIFEST, read_manifest
from vendorer.install.pool import PROCESSES_ENV
from vendorer.install.vendor import vendor
from vendorer.target.catalog import ProfileCatalog

WINDOWS = ProfileCatalog().load("python361x64")


def _wheels(folder: Path, count: int, files: int = 5) -> dict[str, Path]:
    wheels = {}
    for i in range(count):
        wheels[f"pkg{i}"] = make_wheel(
            folder, f"pkg{i}", "1.0", entry_points={"console_scripts": {f"run{i}": "m:main"}},
            files={f"pkg{i}/data{n}.py": f"x = {n}\n" * 200 for n in range(files)},
        )  # fmt: skip
    return wheels


def _tree(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and ".vendorer" not in path.parts
    }


def _descendants(pid: int) -> set[int]:
    """Every process below `pid`, read from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_processes_write_the_tree_threads_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheels = _wheels(tmp_path / "w", 4)
    monkeypatch.setenv(PROCESSES_ENV, "0")
    vendor(wheels, WINDOWS, tmp_path / "threads", lock_hash="h")
    monkeypatch.setenv(PROCESSES_ENV, "2")
    report = vendor(wheels, WINDOWS, tmp_path / "processes", lock_hash="h")
    assert report.installed == [f"pkg{i} 1.0" for i in range(4)]
    assert _tree(tmp_path / "processes") == _tree(tmp_path / "threads")
    assert "bin/run3.exe" in _tree(tmp_path / "processes")  # the profile reached the workers
    manifest = read_manifest(tmp_path / "processes")
    assert manifest == read_manifest(tmp_path / "threads")


def test_a_broken_wheel_on_a_worker_is_said_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PROCESSES_ENV, "2")
    lib = tmp_path / "lib"
    vendor(_wheels(tmp_path / "old", 2), WINDOWS, lib, lock_hash="old")
    before = _tree(lib)
    wheels = _wheels(tmp_path / "new", 3)
    with zipfile.ZipFile(wheels["pkg1"], "a") as archive:
        archive.writestr("pkg1/extra.py", "not in RECORD\n")
    with pytest.raises(VendorError, match=r"pkg1-1\.0-py3-none-any\.whl cannot be vendored"):
        vendor(wheels, WINDOWS, lib, lock_hash="new")
    assert _tree(lib) == before
    assert not leftovers(lib)


def test_a_setting_that_is_not_a_number_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PROCESSES_ENV, "many")
    with pytest.raises(VendorError, match=f"{PROCESSES_ENV}='many' is not a number"):
        vendor(_wheels(tmp_path / "w", 2), WINDOWS, tmp_path / "lib", lock_hash="h")
    assert not (tmp_path / "lib" / MANIFEST).exists()


# A script with no `if __name__ == "__main__"` guard: workers must not run it again.
RUN = """
import sys
from pathlib import Path
from vendorer.target.catalog import ProfileCatalog
from vendorer.install.vendor import vendor
wheels = {p.name.split("-")[0]: p for p in Path(sys.argv[1]).glob("*.whl")}
try:
    vendor(wheels, ProfileCatalog().load("python361x64"), Path(sys.argv[2]), lock_hash="new")
except KeyboardInterrupt:
    sys.exit(130)
"""


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT])
def test_a_stopped_run_leaves_the_old_tree_and_no_worker(
    tmp_path: Path, stop: signal.Signals
) -> None:
    lib = tmp_path / "lib"
    vendor(_wheels(tmp_path / "old", 2), WINDOWS, lib, lock_hash="old")
    before = _tree(lib)
    new = tmp_path / "new"
    _wheels(new, 40, files=100)  # 4,000 files: about a second of work on two processes
    script = tmp_path / "run.py"
    script.write_text(RUN)
    env = {**os.environ, PROCESSES_ENV: "2"}
    process = subprocess.Popen([sys.executable, str(script), str(new), str(lib)], env=env)
    deadline = time.monotonic() + 30
    while len(workers := _descendants(process.pid)) < 2:
        assert process.poll() is None and time.monotonic() < deadline, "no worker started"
        time.sleep(0.01)
    time.sleep(0.2)  # the workers are writing
    process.send_signal(stop)
    code = process.wait(timeout=30)
    assert code == (-signal.SIGKILL if stop == signal.SIGKILL else 130)
    deadline = time.monotonic() + 10
    while alive := [pid for pid in workers if _alive(pid)]:
        assert time.monotonic() < deadline, f"workers {alive} outlived the run"
        time.sleep(0.05)
    assert json.loads((lib / MANIFEST).read_text())["lock_hash"] == "old"
    assert _tree(lib) == before
    wheels = {p.name.split("-")[0]: p for p in new.glob("*.whl")}
    vendor(wheels, WINDOWS, lib, lock_hash="new")  # sweeps what the stopped run left
    assert sorted(read_manifest(lib).distributions) == sorted(wheels)  # type: ignore[union-attr]
    assert not leftovers(lib)
