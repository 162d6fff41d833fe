"""The wheelhouse for a compiler-less target, against a real index on loopback."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support.cli import make_app, vendorer
from tests.support.dists import make_native_sdist, make_sdist, make_wheel, tool_env
from tests.support.index import PypiServer, StaticIndex
from tests.support.reporter import Recorder
from tests.support.scenario import LINUX312, WIN36
from vendorer._util.guard import BusyError
from vendorer._util.tomlfile import parse_toml
from vendorer.index.finder import Finder
from vendorer.inputs.options import IndexSettings
from vendorer.lock.model import LockedFile, LockedPackage
from vendorer.lock.pylock import lock_path, read_lock
from vendorer.target.catalog import ProfileCatalog
from vendorer.wheelhouse.fill import WheelhouseContext, build_wheelhouse
from vendorer.wheelhouse.native_plan import cibuildwheel_identifier, plan_for

TAGS_36 = ("--platform", "win_amd64", "--python-version", "3.6", "--implementation", "cp",
           "--abi", "cp36m", "--only-binary=:all:")  # fmt: skip


def _distributions(dists: Path) -> Path:
    """Wheels for several tags, a pure sdist, a native sdist with a C extension."""
    make_wheel(dists, "webfw", "2.0", requires_dist=["nativelib", "puresdist"])
    make_wheel(dists, "nativelib", "1.0", tag=WIN36)
    make_wheel(dists, "nativelib", "1.0", tag=LINUX312)
    make_sdist(dists, "puresdist", "1.0", metadata_version="2.2")
    make_native_sdist(dists, "cext", "1.0")
    make_wheel(dists, "extra", "1.0")
    return dists


@pytest.fixture
def index(tmp_path: Path, static_index: Callable[..., StaticIndex]) -> StaticIndex:
    return static_index(_distributions(tmp_path / "dists"))


@pytest.fixture
def app(tmp_path: Path, index: StaticIndex) -> Path:
    folder = make_app(tmp_path / "app", index.url, "webfw")
    return folder


def _wheels(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.glob("*.whl"))


@pytest.mark.parametrize("server", ["static index", "pypiserver"])
def test_wheels_downloaded_pure_sdists_built_and_the_export_installs_offline(
    server: str,
    tmp_path: Path,
    static_index: Callable[..., StaticIndex],
    pypi_server: Callable[[Path], PypiServer],
) -> None:
    start = static_index if server == "static index" else pypi_server
    app = make_app(tmp_path / "app", start(_distributions(tmp_path / "dists")).url, "webfw")
    result = vendorer("build", cwd=app)
    assert result.returncode == 0, result.stderr
    folder = app / "wheelhouse" / "python361x64"
    assert _wheels(folder) == [
        "nativelib-1.0-cp36-cp36m-win_amd64.whl",  # the target's tag, not the Linux one
        "puresdist-1.0-py3-none-any.whl",  # built from its sdist
        "webfw-2.0-py3-none-any.whl",
    ]
    assert "3 wheels (2 downloaded, 1 built, 0 supplied by you)" in result.stderr
    export = (folder / "requirements.txt").read_text(encoding="utf-8")
    assert export.count("--hash=sha256:") == 3 and "puresdist==1.0 \\" in export
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-index", "--find-links", str(folder),
         "-r", str(folder / "requirements.txt"), "--target", str(tmp_path / "server"), *TAGS_36],
        capture_output=True, text=True, check=False, env=tool_env(),
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    assert (tmp_path / "server" / "nativelib" / "__init__.py").exists()
    assert (tmp_path / "server" / "puresdist" / "__init__.py").exists()


def test_a_warm_rebuild_does_no_network_io(app: Path, index: StaticIndex) -> None:
    assert vendorer("build", cwd=app).returncode == 0
    index.requests.clear()
    again = vendorer("build", cwd=app)
    assert again.returncode == 0, again.stderr
    assert "(0 downloaded, 0 built, 0 supplied by you)" in again.stderr  # nothing new
    assert index.requests == []


def test_native_sdists_are_reported_with_routes_and_user_wheels_accepted(
    app: Path, tmp_path: Path
) -> None:
    (app / "requirements.txt").write_text("cext\n", encoding="utf-8")
    result = vendorer("wheelhouse", cwd=app)
    assert result.returncode == 1
    assert "cext 1.0 needs a compiler the target does not have: it compiles code" in result.stderr
    assert "python -m pip wheel --no-deps cext==1.0" in result.stderr
    assert "vendorer native-plan --profile python361x64" in result.stderr
    folder = app / "wheelhouse" / "python361x64"
    assert _wheels(folder) == []  # never a host wheel
    wrong = make_wheel(folder, "cext", "1.0", tag="cp311-cp311-linux_x86_64")
    refused = vendorer("wheelhouse", cwd=app)
    assert refused.returncode == 1
    assert f"{wrong.name}: built for other tags than the target's" in refused.stderr
    wrong.unlink()
    make_wheel(folder, "cext", "1.0", tag=WIN36)  # built on a machine like the target
    accepted = vendorer("wheelhouse", cwd=app)
    assert accepted.returncode == 0, accepted.stderr
    assert "1 wheels (0 downloaded, 0 built, 1 supplied by you)" in accepted.stderr
    assert _wheels(folder) == ["cext-1.0-cp36-cp36m-win_amd64.whl"]
    assert "cext==1.0 \\" in (folder / "requirements.txt").read_text(encoding="utf-8")


def test_a_find_links_folder_with_a_target_wheel_is_locked_as_such(
    app: Path, tmp_path: Path
) -> None:
    (app / "requirements.txt").write_text("cext\n", encoding="utf-8")
    make_wheel(tmp_path / "built-on-windows", "cext", "1.0", tag=WIN36)
    result = vendorer("build", "-f", str(tmp_path / "built-on-windows"), cwd=app)
    assert result.returncode == 0, result.stderr
    lock = (app / "pylock.python361x64.toml").read_text(encoding="utf-8")
    assert 'path = "../built-on-windows/cext-1.0-cp36-cp36m-win_amd64.whl"' in lock
    assert _wheels(app / "wheelhouse" / "python361x64") == ["cext-1.0-cp36-cp36m-win_amd64.whl"]


def test_a_private_index_with_keyring_credentials_serves_lock_wheels_and_builds(
    tmp_path: Path,
    static_index: Callable[..., StaticIndex],
    keyring_store: Callable[[str, str, str], None],
) -> None:
    dists = tmp_path / "private"
    make_wheel(dists, "buildhelper", "1.0")
    make_sdist(dists, "privsdist", "1.0", build_requires=["buildhelper"])
    index = static_index(dists, auth=("VssSessionToken", "t0ken"))
    keyring_store(index.url, "VssSessionToken", "t0ken")
    app = make_app(tmp_path / "app", index.url.replace("//", "//VssSessionToken@"), "privsdist")
    refused = vendorer("build", cwd=app)
    assert refused.returncode == 1 and "--keyring-provider subprocess" in refused.stderr
    result = vendorer("build", "--keyring-provider", "subprocess", cwd=app)
    assert result.returncode == 0, result.stderr
    assert _wheels(app / "wheelhouse" / "python361x64") == ["privsdist-1.0-py3-none-any.whl"]
    # The isolated build's pip got the build requirement from the private index through keyring
    # (vendorer sets PIP_KEYRING_PROVIDER=subprocess; pip's own "auto" finds keyring here too).
    assert any(
        path.startswith("/files/buildhelper-1.0") and status == 200
        for path, status in index.statuses
    )
    assert "t0ken" not in result.stderr + (app / "pylock.python361x64.toml").read_text("utf-8")


def test_a_build_requirement_from_a_find_links_folder_with_a_space_in_its_path(
    tmp_path: Path, static_index: Callable[..., StaticIndex]
) -> None:
    links = tmp_path / "my wheels"
    make_wheel(links, "spacedhelper", "1.0")
    make_sdist(links, "spacedsdist", "1.0", metadata_version="2.2",
               build_requires=["spacedhelper"])  # fmt: skip
    (tmp_path / "empty").mkdir()
    app = make_app(tmp_path / "app", static_index(tmp_path / "empty").url, "spacedsdist")
    result = vendorer("build", "--find-links", str(links), cwd=app)
    assert result.returncode == 0, result.stderr
    assert _wheels(app / "wheelhouse" / "python361x64") == ["spacedsdist-1.0-py3-none-any.whl"]


def test_a_wheel_with_the_wrong_hash_is_never_used(app: Path, index: StaticIndex) -> None:
    assert vendorer("lock", cwd=app).returncode == 0
    index.serve_wrong_bytes("webfw-2.0-py3-none-any.whl")
    result = vendorer("wheelhouse", cwd=app)
    assert result.returncode == 1
    assert "webfw-2.0-py3-none-any.whl: sha256" in result.stderr
    assert "does not match the lock's" in result.stderr and "Traceback" not in result.stderr
    folder = app / "wheelhouse" / "python361x64"
    assert "webfw-2.0-py3-none-any.whl" not in _wheels(folder)
    assert not [p for p in folder.iterdir() if p.name.endswith((".tmp", ".part"))]


def test_a_dropped_download_leaves_no_partial_wheel(app: Path, index: StaticIndex) -> None:
    assert vendorer("lock", cwd=app).returncode == 0
    index.drop_connection("webfw-2.0-py3-none-any.whl")
    result = vendorer("wheelhouse", "--timeout", "2", cwd=app)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    folder = app / "wheelhouse" / "python361x64"
    assert "webfw-2.0-py3-none-any.whl" not in _wheels(folder)
    assert not [p for p in folder.iterdir() if p.name.endswith((".tmp", ".part"))]


def _contents(folder: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_vendor_takes_the_locked_wheel_and_refuses_any_other(app: Path) -> None:
    assert vendorer("build", cwd=app).returncode == 0
    folder, lib = app / "wheelhouse" / "python361x64", app / "lib"
    locked = folder / "webfw-2.0-py3-none-any.whl"
    (folder / "WebFW-2.0-py3-none-any.whl").write_bytes(b"")  # same release, not the locked file
    (lib / "webfw" / "__init__.py").unlink()  # so that vendor installs webfw again
    taken = vendorer("vendor", cwd=app)
    assert taken.returncode == 0, taken.stderr  # from the locked file, not the empty one
    assert (lib / "webfw" / "__init__.py").exists()
    before = _contents(lib)
    locked.write_bytes(locked.read_bytes()[:-10] + b"0123456789")  # the locked name, other bytes
    refused = vendorer("vendor", cwd=app)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "webfw-2.0-py3-none-any.whl: not the file the lock names" in refused.stderr
    locked.unlink()  # only the empty wheel is left for webfw 2.0
    other = vendorer("vendor", cwd=app)
    assert other.returncode == 1 and "Traceback" not in other.stderr
    assert "WebFW-2.0-py3-none-any.whl: not the file the lock names" in other.stderr
    assert vendorer("wheelhouse", cwd=app).returncode == 0  # fetches webfw again
    (folder / "WebFW-2.0-py3-none-any.whl").unlink()
    built = folder / "puresdist-1.0-py3-none-any.whl"  # no sha256 in the lock: built here
    built.write_bytes(b"not a zip")
    broken = vendorer("vendor", cwd=app)
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    assert "puresdist-1.0-py3-none-any.whl cannot be vendored: File is not a zip file" in (
        broken.stderr
    )
    assert _contents(lib) == before  # nothing changed


def test_a_built_wheel_that_changed_is_built_again_and_a_broken_supplied_one_refused(
    app: Path,
) -> None:
    assert vendorer("wheelhouse", cwd=app).returncode == 0
    folder = app / "wheelhouse" / "python361x64"
    built = folder / "puresdist-1.0-py3-none-any.whl"
    built.write_bytes(b"not a zip")
    drift = vendorer("check", cwd=app)
    assert drift.returncode == 1
    assert f"drift: wheelhouse: {built.name} changed since vendorer built it" in drift.stderr
    again = vendorer("wheelhouse", cwd=app)
    assert again.returncode == 0, again.stderr
    assert "(0 downloaded, 1 built, 0 supplied by you, 1 removed)" in again.stderr
    with zipfile.ZipFile(built) as rebuilt:
        assert rebuilt.testzip() is None
    (app / "requirements.txt").write_text("cext\n", encoding="utf-8")
    supplied = folder / "cext-1.0-cp36-cp36m-win_amd64.whl"
    supplied.write_bytes(b"PK\x03\x04 truncated")  # the right name and tags, broken inside
    refused = vendorer("wheelhouse", cwd=app)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert f"{supplied.name} is a broken wheel" in refused.stderr
    assert supplied.exists()  # the user's file: reported, not deleted


def _downloads(index: StaticIndex) -> list[str]:
    return [path for path in index.paths("/files/") if path.endswith(".whl")]


def test_an_interrupted_run_starts_no_more_downloads_and_writes_no_wheel(
    app: Path, index: StaticIndex
) -> None:
    assert vendorer("lock", cwd=app).returncode == 0
    index.delay(2)  # every answer takes 2 s: the downloads are all in flight when Ctrl-C comes
    index.requests.clear()
    run = subprocess.Popen(
        [sys.executable, "-m", "vendorer", "wheelhouse"], cwd=app, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while not _downloads(index) and time.monotonic() < deadline:
        time.sleep(0.05)  # until the downloads are asked for
    assert _downloads(index), "no download started"
    run.send_signal(signal.SIGINT)
    _, stderr = run.communicate(timeout=30)
    index.delay(0)
    assert run.returncode == 130, stderr
    assert "interrupted: nothing was left half-written" in stderr and "Traceback" not in stderr
    folder = app / "wheelhouse" / "python361x64"
    assert not list(folder.glob("*.whl")) and not list(folder.glob(".*.tmp"))


def test_pruning_removes_only_what_vendorer_put_there(app: Path) -> None:
    assert vendorer("build", cwd=app).returncode == 0
    assert vendorer("build", cwd=app).returncode == 0  # the built wheel stays vendorer's
    folder = app / "wheelhouse" / "python361x64"
    (folder / "notes.txt").write_text("mine\n", encoding="utf-8")
    (app / "requirements.txt").write_text("extra\n", encoding="utf-8")
    result = vendorer("build", cwd=app)
    assert result.returncode == 0, result.stderr
    assert _wheels(folder) == ["extra-1.0-py3-none-any.whl"]
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "mine\n"
    assert (
        "3 removed" in result.stderr and "left alone (not vendorer's): notes.txt" in result.stderr
    )


def test_two_runs_at_once_do_not_share_the_folder(app: Path) -> None:
    """The second run waits for the first (it used to give up at once) and says so, once."""
    assert vendorer("lock", cwd=app).returncode == 0
    folder = app / "wheelhouse" / "python361x64"
    folder.mkdir(parents=True)
    with FileLock(folder / ".vendorer.lock"):
        run = subprocess.Popen([sys.executable, "-m", "vendorer", "wheelhouse"], cwd=app,
                               text=True, stderr=subprocess.PIPE)  # fmt: skip
        assert run.stderr is not None
        said = next((line for line in iter(run.stderr.readline, "") if "waiting" in line), "")
        assert said == "waiting for another vendorer run on wheelhouse/python361x64 to finish\n"
        time.sleep(0.5)
        assert run.poll() is None and _wheels(folder) == []  # nothing done while it waits
    rest = run.communicate(timeout=120)[1]
    assert run.returncode == 0, rest
    assert "waiting" not in rest and "in use by another vendorer run" not in rest
    assert len(_wheels(folder)) == 3


def test_a_run_that_waits_too_long_gives_up_and_changes_nothing(app: Path) -> None:
    assert vendorer("build", cwd=app).returncode == 0
    folder = app / "wheelhouse" / "python361x64"
    before = sorted(path.name for path in folder.iterdir())
    lock = read_lock(lock_path(app / "requirements.txt", "python361x64"))
    recorder = Recorder()
    heard = recorder.notices
    with Finder(index_urls=[]) as finder, FileLock(folder / ".vendorer.lock"):
        context = WheelhouseContext(lock_dir=app, downloader=finder, indexes=IndexSettings(),
                                    reporter=recorder, wait_seconds=0.2)  # fmt: skip
        (folder / "webfw-2.0-py3-none-any.whl").unlink()  # work the run would do
        with pytest.raises(BusyError) as raised:
            build_wheelhouse(lock, ProfileCatalog().load("python361x64"), app / "wheelhouse",
                             context)  # fmt: skip
    assert str(raised.value) == (
        f"{folder} is still in use by another vendorer run after 0.2 s; run again once it has "
        "finished"
    )
    assert "in use by another vendorer run" in str(raised.value)  # as before it waited
    assert heard == [f"waiting for another vendorer run on {folder} to finish"]
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        set(before) - {"webfw-2.0-py3-none-any.whl"}
    )


def test_two_builds_at_once_on_one_app_take_turns(
    tmp_path: Path, static_index: Callable[..., StaticIndex]
) -> None:
    """Finding (issue 10): the second `vendorer build` failed at the wheelhouse step."""
    dists = _distributions(tmp_path / "dists")
    # its build takes a second or so: the second run comes while the first fills the wheelhouse
    make_sdist(dists, "bulk", "1.0", files={"bulk/data.bin": os.urandom(32 << 20)})
    app = make_app(tmp_path / "app", static_index(dists).url, "extra")
    assert vendorer("build", cwd=app).returncode == 0
    (app / "requirements.txt").write_text("webfw\nbulk\n", encoding="utf-8")  # work for both
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "vendorer", "build"], cwd=app, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    errors = [run.communicate(timeout=300)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], errors
    assert not any("Traceback" in text for text in errors)
    waiting = "waiting for another vendorer run on wheelhouse/python361x64 to finish"
    assert [waiting in text for text in errors].count(True) == 1, errors  # they met there
    assert _wheels(app / "wheelhouse" / "python361x64") == [
        "bulk-1.0-py3-none-any.whl",
        "nativelib-1.0-cp36-cp36m-win_amd64.whl",
        "puresdist-1.0-py3-none-any.whl",
        "webfw-2.0-py3-none-any.whl",
    ]
    assert vendorer("check", cwd=app).returncode == 0


def test_native_plan_writes_a_cibuildwheel_config_and_workflow(app: Path) -> None:
    (app / "requirements.txt").write_text("cext\nwebfw\n", encoding="utf-8")
    assert vendorer("build", cwd=app).returncode == 1  # cext is native: no wheel yet
    result = vendorer("native-plan", cwd=app)
    assert result.returncode == 0, result.stderr
    config = parse_toml(
        (app / ".vendorer" / "cibuildwheel.python361x64.toml").read_text(encoding="utf-8"),
        origin="config",
    )
    assert config["tool"]["cibuildwheel"]["build"] == "cp36-win_amd64"
    workflow = (app / ".github/workflows/vendorer-native-python361x64.yml").read_text()
    assert 'sdist: ["cext==1.0"]' in workflow  # puresdist already has its wheel
    assert "runs-on: windows-latest" in workflow
    assert 'python -m pip install "cibuildwheel<3"' in workflow  # 3.0 dropped CPython 3.6


def test_cibuildwheel_identifiers_for_linux_targets() -> None:
    linux = ProfileCatalog().load("linux-python312")
    assert cibuildwheel_identifier(linux) == "cp312-manylinux_x86_64"
    plan = plan_for(linux, [_package("cext", "1.0")])
    assert 'manylinux-x86_64-image = "manylinux_2_28"' in plan.config
    assert "runs-on: ubuntu-latest" in plan.workflow
    assert cibuildwheel_identifier(ProfileCatalog().load("python2713x86")) == "cp27-win32"


def _package(name: str, version: str) -> LockedPackage:
    return LockedPackage(
        name=canonicalize_name(name),
        version=Version(version),
        file=LockedFile(filename=f"{name}-{version}.tar.gz", url="https://x/", sha256="0" * 64),
    )


def test_a_pinned_native_version_is_routed_to_the_newest_version_with_a_wheel(
    app: Path, tmp_path: Path, index: StaticIndex
) -> None:
    make_wheel(index.root, "cext", "0.9", tag=WIN36)
    (app / "requirements.txt").write_text("cext==1.0\n", encoding="utf-8")
    result = vendorer("wheelhouse", cwd=app)
    assert result.returncode == 1
    assert "pin the newest version with a wheel for cp36-cp36m-win_amd64: cext==0.9" in (
        result.stderr
    )


def test_a_failing_build_shows_the_backend_output_and_how_to_reproduce(
    app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (app / "requirements.txt").write_text("cext\n", encoding="utf-8")
    monkeypatch.setenv("CC", "false")  # the fixture backend compiles with $CC
    result = vendorer("wheelhouse", cwd=app)
    assert result.returncode == 1
    assert "cext 1.0 needs a compiler the target does not have: its build failed" in result.stderr
    assert "reproduce with: tar xf" in result.stderr and "-m build --wheel" in result.stderr
    assert "Traceback (most recent call last)" not in result.stderr.split("last lines")[0]


# --- what a build backend prints ------------------------------------------------------------------


def _chatty_app(tmp_path: Path, static_index: Callable[..., StaticIndex], **sdist: Any) -> Path:
    dists = tmp_path / "dists"
    make_sdist(dists, "chatty", "1.0", noise=30, **sdist)  # metadata 2.1: built, not read
    index = static_index(dists, metadata=False)  # so that the lock asks the backend for it
    return make_app(tmp_path / "app", index.url, "chatty")


def test_a_backend_is_silent_when_it_succeeds_and_heard_with_verbose(
    tmp_path: Path, static_index: Callable[..., StaticIndex]
) -> None:
    app = _chatty_app(tmp_path, static_index)
    locked = vendorer("lock", cwd=app)  # builds the metadata
    assert locked.returncode == 0, locked.stderr
    filled = vendorer("wheelhouse", cwd=app)  # builds the wheel
    assert filled.returncode == 0, filled.stderr
    assert _wheels(app / "wheelhouse" / "python361x64") == ["chatty-1.0-py3-none-any.whl"]
    for quiet in (locked, filled):
        assert "backend-noise" not in quiet.stdout + quiet.stderr
    loud = vendorer("lock", "--force", "-v", cwd=app)
    assert loud.returncode == 0, loud.stderr
    for line in (
        "backend-noise stdout get_requires_for_build_wheel 29",
        "backend-noise stderr prepare_metadata_for_build_wheel 0",
        "backend-noise warning prepare_metadata_for_build_wheel",
    ):
        assert line in loud.stderr
    shutil.rmtree(app / "wheelhouse")
    loud = vendorer("wheelhouse", "--verbose", cwd=app)
    assert loud.returncode == 0, loud.stderr
    assert "backend-noise stderr build_wheel 29" in loud.stderr
    assert "backend-noise warning build_wheel" in loud.stderr


@pytest.mark.parametrize(
    ("hook", "command", "step"),
    [
        ("get_requires_for_build_wheel", "lock", "listing its build requirements"),
        ("prepare_metadata_for_build_wheel", "lock", "preparing its metadata"),
        ("build_wheel", "wheelhouse", "building its wheel"),
    ],
)
def test_a_failing_backend_is_named_as_the_cause_with_its_last_lines(
    tmp_path: Path, static_index: Callable[..., StaticIndex], hook: str, command: str, step: str
) -> None:
    app = _chatty_app(tmp_path, static_index, fail_in=hook)
    result = vendorer(command, cwd=app)
    assert result.returncode == 1
    assert f"the build backend of chatty-1.0.tar.gz failed while {step}" in result.stderr
    assert "last lines of its output:" in result.stderr
    assert f"  | RuntimeError: backend-failure in {hook}" in result.stderr
    assert f"backend-noise stdout {hook} 0" not in result.stderr  # the last lines only
    assert "reproduce with: tar xf" in result.stderr
    assert "index-url" not in result.stderr  # not an index problem
    assert "Traceback" not in result.stderr.split("last lines")[0]


def test_a_host_built_linux_wheel_is_taken_with_a_warning(app: Path, tmp_path: Path) -> None:
    links = tmp_path / "linux-wheels"
    make_wheel(links, "hostonly", "1.0", tag="cp312-cp312-linux_x86_64")
    (app / "requirements.txt").write_text("cext\nhostonly\n", encoding="utf-8")
    supplied = make_wheel(  # for the native sdist, built on the developer's machine
        app / "wheelhouse" / "linux-python312", "cext", "1.0", tag="cp312-cp312-linux_x86_64"
    )
    result = vendorer("wheelhouse", "-p", "linux-python312", "-f", str(links), cwd=app)
    assert result.returncode == 0, result.stderr
    for wheel in ("hostonly-1.0-cp312-cp312-linux_x86_64.whl", supplied.name):
        assert f"warning: {wheel} is a linux_x86_64 wheel" in result.stderr
    again = vendorer("lock", "-p", "linux-python312", "-f", str(links), cwd=app)
    assert "up to date" in again.stderr
    assert "warning: hostonly-1.0-cp312-cp312-linux_x86_64.whl" in again.stderr


def test_native_plan_matches_wheels_by_name_and_version_as_the_wheelhouse_does(
    app: Path, index: StaticIndex
) -> None:
    make_native_sdist(index.root, "zope.interface", "5.0")
    (app / "requirements.txt").write_text("cext\nzope.interface\n", encoding="utf-8")
    assert vendorer("lock", cwd=app).returncode == 0
    folder = app / "wheelhouse" / "python361x64"
    make_wheel(folder, "cext", "0.9", tag=WIN36)  # a stale wheel of an older version
    dotted = make_wheel(folder, "zope_interface", "5.0", tag=WIN36)  # built for the target,
    dotted.rename(folder / "zope.interface-5.0-cp36-cp36m-win_amd64.whl")  # named the old way
    make_wheel(folder, "cext", "1.0", tag="cp311-cp311-linux_x86_64")  # not for the target
    result = vendorer("native-plan", "--print", cwd=app)
    assert result.returncode == 0, result.stderr
    assert 'sdist: ["cext==1.0"]' in result.stdout


def test_the_advice_for_a_native_sdist_follows_the_rules_of_resolution(
    tmp_path: Path, static_index: Callable[..., StaticIndex]
) -> None:
    dists, links = _distributions(tmp_path / "dists"), tmp_path / "links"
    make_wheel(dists, "cext", "0.9", tag=WIN36)  # the one to pin
    make_wheel(dists, "cext", "0.95rc1", tag=WIN36)  # a pre-release
    make_wheel(dists, "cext", "0.96", tag=WIN36)  # yanked
    make_wheel(links, "cext", "0.97", tag=WIN36, requires_python=">=3.7")  # only its file says
    index = static_index(dists, yanked={"cext-0.96-cp36-cp36m-win_amd64.whl": "broken"})
    app = make_app(tmp_path / "app", index.url, "cext==1.0")
    result = vendorer("wheelhouse", "-f", str(links), cwd=app)
    assert result.returncode == 1
    assert "pin the newest version with a wheel for cp36-cp36m-win_amd64: cext==0.9 " in (
        result.stderr
    )
    (app / "requirements.txt").write_text("--pre\ncext==1.0\n", encoding="utf-8")
    with_pre = vendorer("wheelhouse", "-f", str(links), cwd=app)  # the lock's own --pre
    assert "cext==0.95rc1 in your requirements" in with_pre.stderr
