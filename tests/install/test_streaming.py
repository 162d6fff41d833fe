"""Big wheels unpacked while they download (`install/ahead.py` with `install/growing.py`): the
build's tree is the one the checked wheels give, whatever the index does meanwhile; a wheel whose
end changed between the Range requests and the download, or whose bytes read while it downloaded
were not the checked ones, is unpacked again from the checked file; a download abandoned ends
its unpacking and the run leaves nothing behind. VENDORER_UNPACK_PROCESSES=2 starts the workers
even on a machine with one CPU."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.install.test_ahead import built_without_workers
from tests.install.test_growing import _growing
from tests.install.test_pool import _alive, _descendants, _tree
from tests.support.cli import make_app, vendorer
from tests.support.dists import make_wheel
from tests.support.index import StaticIndex
from vendorer.install.ahead import UnpackAhead
from vendorer.install.libfolder import leftovers, run_in_progress, state_folder
from vendorer.install.pool import PROCESSES_ENV
from vendorer.install.vendor import vendor
from vendorer.target.catalog import ProfileCatalog

WINDOWS = ProfileCatalog().load("python361x64")
WHEEL = "streamy-1.0-py3-none-any.whl"


@pytest.fixture(autouse=True)
def _two_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROCESSES_ENV, "2")


def _streamy(folder: Path, late: bytes | None = None) -> Path:
    """A big wheel whose first half holds whole files, its second half most of `late.bin`."""
    files: dict[str, str | bytes] = {f"streamy/early/m{n:03d}.py": f"n = {n}\n" for n in range(50)}
    files["streamy/early.bin"] = b"e" * 1000 + os.urandom(300_000)
    files["streamy/late.bin"] = late if late is not None else os.urandom(900_000)
    return make_wheel(folder, "streamy", "1.0", files=files, requires_dist=["helper"])


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def app(tmp_path: Path, static_index: Callable[..., StaticIndex]) -> tuple[Path, StaticIndex]:
    dists = tmp_path / "dists"
    _streamy(dists)
    make_wheel(dists, "helper", "1.0")
    index = static_index(dists, metadata=False)  # as this machine's index: Range requests
    return make_app(tmp_path / "app", index.url, "streamy"), index


def test_a_big_wheel_is_unpacked_while_it_downloads(
    app: tuple[Path, StaticIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index sends half of the wheel and waits: the files of that half are unpacked
    meanwhile; once the rest came, the build's tree is the one the checked wheel gives."""
    folder, index = app
    index.pause(WHEEL)
    try:
        pipe = subprocess.PIPE
        command = [sys.executable, "-m", "vendorer", "build"]
        run = subprocess.Popen(command, cwd=folder, stdout=pipe, stderr=pipe, text=True)
        early = state_folder(folder / "lib").glob("lib.ready-*/files/streamy/early.bin")
        deadline = time.monotonic() + 30
        while not (found := next(iter(early), None)) and time.monotonic() < deadline:
            time.sleep(0.01)
            early = state_folder(folder / "lib").glob("lib.ready-*/files/streamy/early.bin")
        assert found is not None, "nothing was unpacked while the wheel downloaded"
        assert run.poll() is None  # the download still waits for its second half
    finally:
        index.release()
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 0, stderr
    wheel = index.root / WHEEL
    assert (folder / "lib" / "streamy" / "late.bin").read_bytes() == _member(wheel, "late.bin")
    ranged = [h.get("Range") for _, p, h in index.requests if p == f"/files/{WHEEL}"]
    assert ranged.count(None) == 1 and len(ranged) > 1  # its end by Range, the wheel once
    assert leftovers(folder / "lib") == []
    assert vendorer("check", cwd=folder).returncode == 0
    assert _tree(folder / "lib") == built_without_workers(folder, monkeypatch)


@pytest.mark.parametrize("late_size", [900_000, 1_000_000], ids=["same-size", "bigger"])
def test_a_wheel_whose_end_changed_is_unpacked_again_from_the_checked_file(
    app: tuple[Path, StaticIndex], monkeypatch: pytest.MonkeyPatch, late_size: int
) -> None:
    """The index answers Range requests out of another build of the wheel (the same names,
    other bytes in late.bin, as many or more): what the build vendors is the checked wheel."""
    folder, index = app
    other = _streamy(folder.parent / "other", late=os.urandom(late_size))
    index.serve_other_ranges(WHEEL, other.read_bytes())
    result = vendorer("build", cwd=folder)
    assert result.returncode == 0, result.stderr
    wheel = index.root / WHEEL
    assert (folder / "lib" / "streamy" / "late.bin").read_bytes() == _member(wheel, "late.bin")
    ranged = [h.get("Range") for _, p, h in index.requests if p == f"/files/{WHEEL}"]
    assert any(ranged), "the wheel's end was not read: nothing was unpacked as it downloaded"
    assert vendorer("check", cwd=folder).returncode == 0
    assert leftovers(folder / "lib") == []
    index.serve_other_ranges(WHEEL, wheel.read_bytes())  # the build without workers: no matter
    assert _tree(folder / "lib") == built_without_workers(folder, monkeypatch)


def test_an_abandoned_download_ends_its_unpacking_and_leaves_nothing(
    app: tuple[Path, StaticIndex],
) -> None:
    """Every try of the wheel is cut at its half: the build fails as a download does, at once
    (its unpacking, waiting for the rest, is not waited for), with no worker, no ready folder
    and no partial download left."""
    folder, index = app
    index.drop_connection(WHEEL)
    pipe = subprocess.PIPE
    command = [sys.executable, "-m", "vendorer", "build"]
    run = subprocess.Popen(command, cwd=folder, stdout=pipe, stderr=pipe, text=True)
    deadline = time.monotonic() + 30
    workers: set[int] = set()
    while run.poll() is None and time.monotonic() < deadline:
        workers |= _descendants(run.pid)
        time.sleep(0.01)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 1, stderr
    assert "streamy-1.0" in stderr and "Traceback" not in stderr
    ranged = [h.get("Range") for _, p, h in index.requests if p == f"/files/{WHEEL}"]
    assert any(ranged), "the wheel's end was not read: nothing was unpacked as it downloaded"
    assert not any(_alive(pid) for pid in workers)
    assert leftovers(folder / "lib") == [] and not run_in_progress(folder / "lib")
    assert not list(Path(os.environ["VENDORER_CACHE_DIR"]).rglob("*.part"))


def test_bytes_read_while_downloading_that_were_not_the_checked_ones_are_not_vendored(
    tmp_path: Path,
) -> None:
    """The download read as it came was damaged in its middle (a first try, say); the checked
    wheel ends the same: the unpacking's error sends the vendor step to the checked file."""
    wheel = _streamy(tmp_path / "d")
    damaged = tmp_path / "download.part"
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\0" * 64
    damaged.write_bytes(bytes(data))
    kept = tmp_path / "store" / _sha(wheel)
    kept.parent.mkdir()
    lib = tmp_path / "app" / "lib"
    with UnpackAhead(lib, WINDOWS, slim=False, vendored=()) as ahead:
        assert ahead.expect()
        ahead.stream(_growing(wheel, damaged), kept, _sha(wheel), wheel.name)
        assert len(ahead.folders) == 1  # unpacking as it downloads
        assert not ahead.has(_sha(wheel))  # not taken before its download is checked
        shutil.copyfile(wheel, kept)
        ahead.add(kept, _sha(wheel), wheel.name)
        assert ahead.has(_sha(wheel)) and len(ahead.folders) == 1  # the same end: not again
        vendor({"streamy": wheel}, WINDOWS, lib, lock_hash="h", ahead=ahead)
    plain = tmp_path / "plain"
    vendor({"streamy": wheel}, WINDOWS, plain, lock_hash="h")
    assert _tree(lib) == _tree(plain)
    assert leftovers(lib) == []


def _member(wheel: Path, name: str) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(f"streamy/{name}")
