"""Unpacking ahead (`install/ahead.py`): the wheels a build downloads while it resolves are
unpacked meanwhile and moved into the vendor step's tree, which is the tree a vendor step alone
writes; what is not taken is removed, a run holding the lib folder turns it off, and a killed
run's ready folders are swept. VENDORER_UNPACK_PROCESSES=2 starts the workers even on a machine
with one CPU."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from tests.install.test_pool import _alive, _descendants, _tree
from tests.support.cli import make_app, vendorer
from tests.support.dists import make_wheel
from tests.support.index import StaticIndex
from vendorer.app.building import BuildRequest, build_app
from vendorer.app.project import ProjectChoices, load_project
from vendorer.app.reporting import StepReporter
from vendorer.install.ahead import MIN_BYTES, UnpackAhead
from vendorer.install.errors import VendorError
from vendorer.install.libfolder import held_run_lock, leftovers, run_in_progress, state_folder
from vendorer.install.manifest import read_manifest
from vendorer.install.pool import PROCESSES_ENV, Crew
from vendorer.install.vendor import vendor
from vendorer.target.catalog import ProfileCatalog
from vendorer.wheelhouse.contents import wheel_sha256s

WINDOWS = ProfileCatalog().load("python361x64")


@pytest.fixture(autouse=True)
def _two_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROCESSES_ENV, "2")


def _big_wheel(folder: Path, name: str, version: str = "1.0", **options: object) -> Path:
    """A wheel over MIN_BYTES (incompressible data), with a console script and a nested package."""
    return make_wheel(
        folder, name, version, entry_points={"console_scripts": {f"{name}-run": f"{name}:main"}},
        files={f"{name}/__init__.py": "def main(): pass\n", f"{name}/sub/mod.py": "y = 2\n",
               f"{name}/blob.bin": os.urandom(MIN_BYTES + 1024)},
        **options,  # type: ignore[arg-type]
    )  # fmt: skip


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def built_without_workers(folder: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The lib folder a build of the app in `folder` writes with nothing unpacked ahead."""
    without = folder.parent / "without"
    without.mkdir()
    for name in ("requirements.txt", "pyproject.toml"):
        (without / name).write_bytes((folder / name).read_bytes())
    monkeypatch.setenv(PROCESSES_ENV, "0")  # threads: nothing unpacked ahead
    assert vendorer("build", cwd=without).returncode == 0
    return _tree(without / "lib")


def _vendored(wheels: dict[str, Path], lib: Path, ahead: UnpackAhead | None = None) -> None:
    vendor(wheels, WINDOWS, lib, lock_hash="h", ahead=ahead)


def test_what_was_unpacked_ahead_is_moved_into_the_tree_a_vendor_step_writes(
    tmp_path: Path,
) -> None:
    wheels = {
        "big": _big_wheel(tmp_path / "d", "big"),
        "other": _big_wheel(tmp_path / "d", "other"),
    }
    _vendored(wheels, tmp_path / "plain" / "lib")
    lib = tmp_path / "app" / "lib"
    with UnpackAhead(lib, WINDOWS, slim=False, vendored=()) as ahead:
        assert ahead.expect()
        for wheel in wheels.values():
            ahead.add(wheel, _sha(wheel), wheel.name)
        assert all(ahead.has(_sha(wheel)) for wheel in wheels.values())
        assert len(ahead.folders) == 2
        _vendored(wheels, lib, ahead)
        assert not any(folder.exists() for folder in ahead.folders)  # taken
    assert _tree(lib) == _tree(tmp_path / "plain" / "lib")
    assert read_manifest(lib) == read_manifest(tmp_path / "plain" / "lib")
    assert (lib / "bin" / "big-run.exe").is_file()
    assert leftovers(lib) == []
    assert sorted(p.name for p in state_folder(lib).iterdir()) == [".gitignore", "lib.lock"]


def test_small_vendored_or_passed_over_wheels_are_not_kept(tmp_path: Path) -> None:
    big, passed_over = _big_wheel(tmp_path / "d", "big"), _big_wheel(tmp_path / "d", "gone")
    small = make_wheel(tmp_path / "d", "small", "1.0")
    lib = tmp_path / "app" / "lib"
    with UnpackAhead(lib, WINDOWS, slim=False, vendored=[_sha(big)]) as ahead:
        assert ahead.expect()
        for wheel in (big, small, passed_over):
            ahead.add(wheel, _sha(wheel), wheel.name)
        assert [ahead.has(_sha(w)) for w in (big, small, passed_over)] == [False, False, True]
        ahead.add(passed_over, _sha(passed_over), "../escape.whl")  # no name but a wheel's
        (ready,) = ahead.folders
        workers = _descendants(os.getpid())
    assert len(workers) >= 2
    assert not ready.exists()  # not taken: removed at the end
    assert not any(_alive(pid) for pid in workers)
    assert leftovers(lib) == []


def test_a_wheel_the_index_says_is_small_starts_nothing(tmp_path: Path) -> None:
    lib = tmp_path / "app" / "lib"
    with UnpackAhead(lib, WINDOWS, slim=False, vendored=()) as ahead:
        assert not ahead.expect(MIN_BYTES - 1)
        assert ahead.crew is None and not state_folder(lib).exists()  # no lock, no workers
        assert ahead.expect(MIN_BYTES) and ahead.crew is not None


def test_a_run_holding_the_lib_folder_turns_it_off(tmp_path: Path) -> None:
    wheel = _big_wheel(tmp_path / "d", "big")
    lib = tmp_path / "app" / "lib"
    with held_run_lock(lib), UnpackAhead(lib, WINDOWS, slim=False, vendored=()) as ahead:
        assert not ahead.expect()
        ahead.add(wheel, _sha(wheel), wheel.name)
        assert not ahead.has(_sha(wheel))
    assert not UnpackAhead(None, WINDOWS, slim=False, vendored=()).expect()  # a dry run


def test_a_file_of_the_users_where_an_unpacked_wheel_writes_is_refused(tmp_path: Path) -> None:
    wheel = _big_wheel(tmp_path / "d", "big")
    lib = tmp_path / "app" / "lib"
    _vendored({}, lib)
    (lib / "big").mkdir()
    (lib / "big" / "__init__.py").write_text("mine\n", encoding="utf-8")
    with UnpackAhead(lib, WINDOWS, slim=False, vendored=()) as ahead:
        assert ahead.expect()
        ahead.add(wheel, _sha(wheel), wheel.name)
        with pytest.raises(VendorError, match=r"big-1.0-py3-none-any.whl writes big/__init__.py"):
            _vendored({"big": wheel}, lib, ahead)
    assert (lib / "big" / "__init__.py").read_text(encoding="utf-8") == "mine\n"
    assert not (lib / "big" / "blob.bin").exists()
    assert leftovers(lib) == []


def test_a_broken_wheel_unpacked_ahead_is_said_as_the_vendor_step_says_it(tmp_path: Path) -> None:
    wheel = _big_wheel(tmp_path / "d", "big")
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\0" * 64  # inside the blob: a bad CRC
    wheel.write_bytes(bytes(data))
    lib = tmp_path / "app" / "lib"
    with UnpackAhead(lib, WINDOWS, slim=False, vendored=()) as ahead:
        assert ahead.expect()
        ahead.add(wheel, _sha(wheel), wheel.name)
        with pytest.raises(VendorError, match=r"big-1\.0-py3-none-any\.whl cannot be vendored"):
            _vendored({"big": wheel}, lib, ahead)
    assert not lib.exists()
    assert leftovers(lib) == []


def test_a_killed_runs_ready_folder_is_swept_and_checked(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "d", "small", "1.0")
    lib = tmp_path / "app" / "lib"
    _vendored({"small": wheel}, lib)
    left = state_folder(lib) / "lib.ready-0123456789abcdef"
    (left / "files" / "pkg").mkdir(parents=True)
    assert leftovers(lib) == [left]
    _vendored({"small": wheel}, lib)
    assert not left.exists()


# --- a build ----------------------------------------------------------------------------------


@pytest.fixture
def big_app(tmp_path: Path, static_index: Callable[..., StaticIndex]) -> tuple[Path, StaticIndex]:
    dists = tmp_path / "dists"
    _big_wheel(dists, "webfw", requires_dist=["blobs", "helper"])
    _big_wheel(dists, "blobs")
    make_wheel(dists, "helper", "1.0")
    index = static_index(dists)
    return make_app(tmp_path / "app", index.url, "webfw"), index


def test_a_build_unpacks_big_wheels_as_they_arrive(
    big_app: tuple[Path, StaticIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build's tree is the one a build without workers writes (each wheel downloaded once),
    the two big wheels' files were moved in from ready folders, and the vendor step read no
    wheel the wheelhouse step had just checked."""
    folder, index = big_app
    moved: list[str] = []
    move_into = UnpackAhead.move_into

    def moving(ahead: UnpackAhead, sha256: str, staging: Path) -> dict[str, str]:
        files = move_into(ahead, sha256, staging)
        moved.extend(path for path in files if path.endswith("blob.bin"))
        return files

    monkeypatch.setattr(UnpackAhead, "move_into", moving)
    hashed: list[Path] = []

    def hashing(wheels: Iterable[Path]) -> dict[Path, str]:
        listed = list(wheels)
        hashed.extend(listed)
        return wheel_sha256s(listed)

    monkeypatch.setattr("vendorer.install.vendor.wheel_sha256s", hashing)
    reporter = StepReporter()
    project = load_project(ProjectChoices(app=folder), reporter)
    run = build_app(project, BuildRequest(), reporter)
    assert run.vendored is not None and run.vendored.report.changed
    assert sorted(moved) == ["blobs/blob.bin", "webfw/blob.bin"]
    assert hashed == []
    downloads = _whole_wheels_asked(index)
    assert len(downloads) == len(set(downloads)) == 3
    assert leftovers(folder / "lib") == []
    assert _tree(folder / "lib") == built_without_workers(folder, monkeypatch)
    assert vendorer("check", cwd=folder).returncode == 0


def test_a_build_of_small_wheels_starts_no_worker(
    tmp_path: Path, static_index: Callable[..., StaticIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index says each wheel's size (PEP 700): none is big, so no worker is started, as
    before there was unpacking ahead (with vendorer choosing how many)."""
    monkeypatch.delenv(PROCESSES_ENV)
    dists = tmp_path / "dists"
    make_wheel(dists, "webfw", "2.0", requires_dist=["helper"])
    make_wheel(dists, "helper", "1.0")
    folder = make_app(tmp_path / "app", static_index(dists).url, "webfw")
    started: list[int] = []
    crew_init = Crew.__init__

    def starting(crew: Crew, size: int) -> None:
        started.append(size)
        crew_init(crew, size)

    monkeypatch.setattr(Crew, "__init__", starting)
    reporter = StepReporter()
    run = build_app(load_project(ProjectChoices(app=folder), reporter), BuildRequest(), reporter)
    assert run.vendored is not None and run.vendored.report.installed == ["helper 1.0", "webfw 2.0"]
    assert started == []


def test_ctrl_c_while_wheels_unpack_ahead_leaves_nothing(
    big_app: tuple[Path, StaticIndex],
) -> None:
    """Interrupted while the build waits for blobs (its metadata and wheel are held back) and
    webfw's wheel is unpacked ahead: exit 130 at once (not when the held request times out), no
    ready folder, no worker left, no lib folder, the run lock free, no partial download."""
    folder, index = big_app
    index.hold("/files/blobs-")  # webfw is pinned once its dependencies' pages are listed
    try:
        command = [sys.executable, "-m", "vendorer", "build", "--timeout", "120"]
        pipe = subprocess.PIPE
        run = subprocess.Popen(command, cwd=folder, stdout=pipe, stderr=pipe, text=True)
        state = state_folder(folder / "lib")
        deadline = time.monotonic() + 30
        while not any(state.glob("lib.ready-*/files/*/blob.bin")) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert any(state.glob("lib.ready-*/files/*/blob.bin")), "nothing was unpacked ahead"
        workers = _descendants(run.pid)
        assert workers, "no worker was unpacking ahead"
        run.send_signal(signal.SIGINT)
        _, stderr = run.communicate(timeout=30)  # far less than the request's 120 s
    finally:
        index.release()
    assert run.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert not any(_alive(pid) for pid in workers)
    assert leftovers(folder / "lib") == []
    assert not (folder / "lib").exists()
    assert not run_in_progress(folder / "lib")
    assert not list(Path(os.environ["VENDORER_CACHE_DIR"]).rglob("*.part"))


def test_a_wheel_starts_downloading_before_its_version_is_pinned(
    big_app: tuple[Path, StaticIndex],
) -> None:
    """webfw's wheel is asked for while its metadata (which resolution needs to pin it) is held
    back at the index: the download starts as soon as resolution takes the version up."""
    folder, index = big_app
    wheel = "/files/webfw-1.0-py3-none-any.whl"
    index.hold(wheel + ".metadata")
    try:
        command = [sys.executable, "-m", "vendorer", "build"]
        pipe = subprocess.PIPE
        run = subprocess.Popen(command, cwd=folder, stdout=pipe, stderr=pipe, text=True)
        deadline = time.monotonic() + 30
        while wheel not in index.paths(wheel) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert wheel in index.paths(wheel), "the wheel was not asked for while its metadata waited"
        assert run.poll() is None  # still resolving: nothing was pinned without the metadata
    finally:
        index.release()
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 0, stderr
    assert _whole_wheels_asked(index).count(wheel) == 1  # downloaded once


def _whole_wheels_asked(index: StaticIndex) -> list[str]:
    """The wheels asked for whole (not their ends, which Range requests read: see `growing`)."""
    return [p for _, p, h in index.requests if p.endswith(".whl") and "Range" not in h]
