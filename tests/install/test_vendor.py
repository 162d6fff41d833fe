"""Vendoring into the app's tree: the target's layout, incremental, atomic, only what it owns."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pytest
from filelock import FileLock
from packaging.utils import canonicalize_name

from tests.support.dists import make_wheel, wheel_files
from tests.support.reporter import Recorder
from vendorer.install.errors import VendorError
from vendorer.install.libfolder import lib_folder, run_lock_path
from vendorer.install.manifest import MANIFEST, read_manifest
from vendorer.install.vendor import vendor
from vendorer.target.catalog import ProfileCatalog

WINDOWS = ProfileCatalog().load("python361x64")
LINUX = ProfileCatalog().load("linux-python312")
SCRIPTS = {"console_scripts": {"hello": "hello:main"}}


def _wheels(folder: Path, version: str = "1.0") -> dict[str, Path]:
    hello = make_wheel(
        folder, "hello", version, entry_points=SCRIPTS,
        files={"hello/__init__.py": f"def main():\n    print('{version}')\n",
               "hello/tests/test_hello.py": "def test(): pass\n",
               "hello/__init__.pyi": "def main() -> None: ...\n"},
    )  # fmt: skip
    other = make_wheel(folder, "other-lib", "2.0")
    return {canonicalize_name("hello"): hello, canonicalize_name("other-lib"): other}


def _tree(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _stats(paths: Iterable[Path]) -> dict[Path, tuple[int, int]]:
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in paths}


def test_a_windows_profile_gets_exe_launchers_and_no_bytecode(tmp_path: Path) -> None:
    lib = tmp_path / "app" / "lib"
    report = vendor(_wheels(tmp_path / "w"), WINDOWS, lib, lock_hash="h1")
    assert report.installed == ["hello 1.0", "other-lib 2.0"]
    launcher = lib / "bin" / "hello.exe"
    assert launcher.read_bytes().startswith(b"MZ")  # a Windows executable
    assert b"#!D:\\home\\python361x64\\python.exe" in launcher.read_bytes()
    assert not list(lib.rglob("*.pyc"))
    assert (lib / "hello" / "__init__.py").exists()
    assert (lib / ".gitattributes").read_text().count("linguist-vendored=true") == 1
    manifest = read_manifest(lib)
    assert manifest is not None and manifest.profile == "python361x64"
    files = manifest.distributions["hello"].files
    assert (
        files["hello/__init__.py"]
        == hashlib.sha256((lib / "hello/__init__.py").read_bytes()).hexdigest()
    )
    assert "bin/hello.exe" in files


def test_windows_launchers_are_the_same_bytes_on_every_run(tmp_path: Path) -> None:
    lib = tmp_path / "app" / "lib"
    vendor(_wheels(tmp_path / "w"), WINDOWS, lib, lock_hash="h1")
    data = (lib / "bin" / "hello.exe").read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:  # the script the stub runs
        (member,) = archive.infolist()
        assert member.filename == "__main__.py"
        assert member.date_time == (1980, 1, 1, 0, 0, 0)  # not the time of the run
        assert b"from hello" in archive.read(member) or b"import" in archive.read(member)
    assert data.startswith(b"MZ") and b"#!D:\\home\\python361x64\\python.exe" in data


def test_a_linux_profile_gets_posix_scripts(tmp_path: Path) -> None:
    lib = tmp_path / "app" / "lib"
    vendor(_wheels(tmp_path / "w"), LINUX, lib, lock_hash="h1")
    script = (lib / "bin" / "hello").read_text()
    assert script.startswith(f"#!{LINUX.server.python}")
    assert os.access(lib / "bin" / "hello", os.X_OK)


def test_a_second_run_changes_nothing(tmp_path: Path) -> None:
    lib = tmp_path / "app" / "lib"
    wheels = _wheels(tmp_path / "w")
    vendor(wheels, WINDOWS, lib, lock_hash="h1")
    stats = {p: p.stat().st_mtime_ns for p in lib.rglob("*") if p.is_file()}
    report = vendor(wheels, WINDOWS, lib, lock_hash="h1")
    assert not report.changed and report.installed == [] and report.removed == []
    assert stats == {p: p.stat().st_mtime_ns for p in lib.rglob("*") if p.is_file()}


def test_two_runs_give_byte_identical_trees(tmp_path: Path) -> None:
    wheels = _wheels(tmp_path / "w")
    first, second = tmp_path / "a" / "lib", tmp_path / "b" / "lib"
    vendor(wheels, WINDOWS, first, lock_hash="h1")
    vendor(wheels, WINDOWS, second, lock_hash="h1")
    assert _tree(first) == _tree(second)


def test_a_one_package_upgrade_touches_only_its_files(tmp_path: Path) -> None:
    lib = tmp_path / "app" / "lib"
    wheels = _wheels(tmp_path / "w1")
    vendor(wheels, WINDOWS, lib, lock_hash="h1")
    other = _stats(lib.glob("other_lib*/**/*"))
    upgraded = {**wheels, "hello": _wheels(tmp_path / "w2", "1.1")["hello"]}
    report = vendor(upgraded, WINDOWS, lib, lock_hash="h2")
    assert report.installed == ["hello 1.1"] and report.removed == ["hello 1.0"]
    assert report.kept == ["other-lib 2.0"]
    assert other == {
        p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in lib.glob("other_lib*/**/*")
    }
    assert "print('1.1')" in (lib / "hello" / "__init__.py").read_text()
    assert not (lib / "hello-1.0.dist-info").exists()


def test_foreign_files_survive_and_are_reported(tmp_path: Path) -> None:
    lib = tmp_path / "app" / "lib"
    wheels = _wheels(tmp_path / "w")
    vendor(wheels, WINDOWS, lib, lock_hash="h1")
    (lib / "my_patch.py").write_text("# mine\n")
    report = vendor({"hello": wheels["hello"]}, WINDOWS, lib, lock_hash="h2")
    assert report.foreign == ["my_patch.py"]
    assert (lib / "my_patch.py").read_text() == "# mine\n"
    assert report.removed == ["other-lib 2.0"] and not list(lib.glob("other_lib*"))


def test_slim_leaves_out_tests_and_stubs_and_says_so(tmp_path: Path) -> None:
    lib = tmp_path / "app" / "lib"
    vendor(_wheels(tmp_path / "w"), WINDOWS, lib, lock_hash="h1", slim=True)
    assert not (lib / "hello" / "tests").exists()
    assert not (lib / "hello" / "__init__.pyi").exists()
    assert (lib / "hello" / "__init__.py").exists()
    manifest = read_manifest(lib)
    assert manifest is not None and manifest.slim is True


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    lib = tmp_path / "app" / "lib"
    report = vendor(_wheels(tmp_path / "w"), WINDOWS, lib, lock_hash="h1", dry_run=True)
    assert report.installed == ["hello 1.0", "other-lib 2.0"]
    assert not lib.exists()


def test_two_runs_at_once_do_not_share_the_lib_folder(tmp_path: Path) -> None:
    lib = tmp_path / "app" / "lib"
    wheels = _wheels(tmp_path / "w")
    vendor(wheels, WINDOWS, lib, lock_hash="h1")
    before = _tree(lib)
    recorder = Recorder()
    with (
        FileLock(run_lock_path(lib)),
        pytest.raises(VendorError, match="is still being vendored by another vendorer run after"),
    ):
        vendor(_wheels(tmp_path / "w2", "2.0"), WINDOWS, lib, lock_hash="h2", wait_seconds=0.2,
               reporter=recorder)  # fmt: skip
    waited = [True for _ in recorder.notices]
    assert waited == [True]
    assert _tree(lib) == before
    assert vendor(_wheels(tmp_path / "w2", "2.0"), WINDOWS, lib, lock_hash="h2").installed


def test_a_lib_folder_outside_the_app_is_refused(tmp_path: Path) -> None:
    with pytest.raises(VendorError, match="is not inside the app"):
        lib_folder(tmp_path / "app", "../elsewhere")
    assert lib_folder(tmp_path / "app", "lib") == (tmp_path / "app" / "lib").resolve()


def test_a_lib_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "lib").write_text("my notes\n")
    with pytest.raises(VendorError, match="'lib' is a file, not a folder"):
        lib_folder(tmp_path / "app", "lib")
    assert (tmp_path / "app" / "lib").read_text() == "my notes\n"


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        ("{", "not JSON"),
        ('{"format": 1, "distributions": {"hello": {"files": []}}}', "distributions are malformed"),
        ('{"format": 7, "distributions": {}}', "written by a newer vendorer, format 7"),
    ],
)
def test_a_broken_manifest_stops_vendoring_and_changes_nothing(
    tmp_path: Path, manifest: str, reason: str
) -> None:
    lib = tmp_path / "app" / "lib"
    vendor(_wheels(tmp_path / "w"), WINDOWS, lib, lock_hash="h1")
    (lib / MANIFEST).write_text(manifest)
    before = _tree(lib)
    with pytest.raises(VendorError, match=reason) as raised:
        vendor(_wheels(tmp_path / "w2", "2.0"), WINDOWS, lib, lock_hash="h2")
    assert f"git checkout -- lib/{MANIFEST}" in str(raised.value)
    assert _tree(lib) == before


def test_a_file_of_yours_in_a_wheels_way_is_named(tmp_path: Path) -> None:
    lib = tmp_path / "app" / "lib"
    (lib / "hello").mkdir(parents=True)
    (lib / "hello" / "__init__.py").write_text("# mine\n")
    with pytest.raises(VendorError, match=r"writes hello/__init__.py, which another distribution"):
        vendor(_wheels(tmp_path / "w"), WINDOWS, lib, lock_hash="h1")
    assert (lib / "hello" / "__init__.py").read_text() == "# mine\n"


def _evil_wheel(folder: Path, member: str) -> Path:
    members = wheel_files(
        "evil", "1.0", tag="py3-none-any",
        metadata="Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n",
        files={member: "boom\n"},
    )  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "evil-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_a_wheel_that_writes_outside_its_folder_is_refused(tmp_path: Path) -> None:
    lib = tmp_path / "app" / "lib"
    vendor(_wheels(tmp_path / "w"), WINDOWS, lib, lock_hash="h1")
    before = _tree(lib)
    evil = _evil_wheel(tmp_path / "evil", "../../escaped.py")
    with pytest.raises(VendorError, match="cannot be vendored"):
        vendor({"evil": evil}, WINDOWS, lib, lock_hash="h2")
    assert _tree(lib) == before
    assert not (tmp_path / "app" / "escaped.py").exists() and not (tmp_path / "escaped.py").exists()


def test_a_wheel_whose_record_lies_is_refused(tmp_path: Path) -> None:
    lib = tmp_path / "app" / "lib"
    wheel = make_wheel(tmp_path / "w", "liar", "1.0")
    with zipfile.ZipFile(wheel, "a") as archive:
        archive.writestr("liar/extra.py", "not in RECORD\n")
    with pytest.raises(VendorError, match=r"liar-1\.0-py3-none-any\.whl cannot be vendored"):
        vendor({"liar": wheel}, WINDOWS, lib, lock_hash="h1")
    assert not lib.exists()


KILLER = """
import sys
from pathlib import Path
from vendorer.target.catalog import ProfileCatalog
from vendorer.install.vendor import vendor
wheels = {p.name.split("-")[0]: p for p in Path(sys.argv[1]).glob("*.whl")}
vendor(wheels, ProfileCatalog().load("python361x64"), Path(sys.argv[2]), lock_hash="new")
"""


def test_a_killed_run_leaves_the_old_tree_and_the_next_run_completes(tmp_path: Path) -> None:
    lib = tmp_path / "app" / "lib"
    old = _wheels(tmp_path / "old")
    vendor(old, WINDOWS, lib, lock_hash="old")
    before = _tree(lib)
    new = tmp_path / "new"
    for index in range(40):  # 4,000 files: the run takes about a second here, long enough to be
        # caught at 0.3 s (with 800 files it took 0.31-0.35 s and sometimes ended first)
        make_wheel(new, f"pkg{index}", "1.0", files={f"pkg{index}/data{n}.py": "x = 1\n" * 200
                                                     for n in range(100)})  # fmt: skip
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    killed = 0
    for delay in (0.3, 0.5, 0.8):
        process = subprocess.Popen([sys.executable, str(script), str(new), str(lib)])
        time.sleep(delay)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.wait()
        manifest = json.loads((lib / MANIFEST).read_text())
        if manifest["lock_hash"] == "old":
            assert _tree(lib) == before  # untouched, whole
        else:
            break  # that run finished before it could be killed
    assert killed, "no run was slow enough to be killed: raise the number of distributions"
    wheels = {p.name.split("-")[0]: p for p in new.glob("*.whl")}
    vendor(wheels, WINDOWS, lib, lock_hash="new")
    assert sorted(read_manifest(lib).distributions) == sorted(wheels)  # type: ignore[union-attr]
    assert not list(lib.parent.glob(".vendorer-new-*"))


def test_pth_files_are_reported(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path / "w", "pthpkg", "1.0",
        files={"pthpkg/__init__.py": "", "pthpkg-init.pth": "import pthpkg\n"},
    )  # fmt: skip
    report = vendor({"pthpkg": wheel}, LINUX, tmp_path / "app" / "lib", lock_hash="h1")
    assert report.pth_files == ["pthpkg-init.pth"]
    again = vendor({"pthpkg": wheel}, LINUX, tmp_path / "app" / "lib", lock_hash="h1")
    assert not again.changed and again.pth_files == ["pthpkg-init.pth"]
