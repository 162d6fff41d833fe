"""The lib folder is shared with its user: what vendorer does not own survives and is reported,
what a killed run left is swept and reported, one run at a time whatever its cache, the modes the
umask gives, and a failed write said as what it is."""

from __future__ import annotations

import json
import os
import random
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from tests.support.cli import make_app, vendorer
from tests.support.dists import make_wheel
from tests.support.index import StaticIndex
from vendorer._util.files import HashCache, sha256_of
from vendorer.install.errors import VendorError
from vendorer.install.manifest import read_manifest
from vendorer.install.tree import hash_cache_path
from vendorer.install.vendor import vendor
from vendorer.target.catalog import ProfileCatalog

WINDOWS = ProfileCatalog().load("python361x64")
STATE = ".vendorer-state"


def _wheels(folder: Path, version: str = "1.0") -> dict[str, Path]:
    hello = make_wheel(
        folder, "hello", version, entry_points={"console_scripts": {"hello": "hello:main"}},
        files={"hello/__init__.py": f"def main():\n    print('{version}')\n"},
    )  # fmt: skip
    other = make_wheel(folder, "other-lib", "2.0")
    return {canonicalize_name("hello"): hello, canonicalize_name("other-lib"): other}


def _tree(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): sha256_of(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def _leftovers(app: Path) -> list[str]:
    """Staging folders left in the app: vendorer's state folder, and the old place beside lib."""
    staged = [p.name for p in (app / STATE).glob("*") if ".new-" in p.name or ".old-" in p.name]
    return sorted(staged + [p.name for p in app.glob(".vendorer-new-*")])


# --- finding 1: folders and links of the user's ------------------------------------------------


def test_the_users_folders_and_links_survive_and_are_reported(tmp_path: Path) -> None:
    app = tmp_path / "app"
    lib = app / "lib"
    vendor(_wheels(tmp_path / "w1"), WINDOWS, lib, lock_hash="h1")
    (app / "src" / "pkg").mkdir(parents=True)
    (app / "src" / "pkg" / "mod.py").write_text("# mine\n")
    (lib / "emptydir").mkdir()
    userdir = lib / "hello" / "userdir"  # inside a vendored package's folder
    (userdir / "deeper").mkdir(parents=True)
    (userdir / "deeper" / "x.txt").write_text("x\n")
    userdir.chmod(0o750)
    os.utime(userdir, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    (lib / "srcdir").symlink_to("../src")  # a link to a folder: never walked into
    (lib / "notes.py").symlink_to("../src/pkg/mod.py")  # a link to a file
    (lib / "dangling").symlink_to("../nowhere")
    expected = ["dangling", "emptydir/", "hello/userdir/", "notes.py", "srcdir"]

    dry = vendor(_wheels(tmp_path / "w2", "1.1"), WINDOWS, lib, lock_hash="h2", dry_run=True)
    assert dry.changed and dry.foreign == expected
    report = vendor(_wheels(tmp_path / "w2", "1.1"), WINDOWS, lib, lock_hash="h2")
    assert report.installed == ["hello 1.1"] and report.foreign == expected
    assert "print('1.1')" in (lib / "hello" / "__init__.py").read_text()
    assert (lib / "emptydir").is_dir() and not list((lib / "emptydir").iterdir())
    assert (userdir / "deeper" / "x.txt").read_text() == "x\n"
    assert stat.S_IMODE(userdir.stat().st_mode) == 0o750
    assert userdir.stat().st_mtime_ns == 1_600_000_000_000_000_000
    links = [(lib / name).readlink().as_posix() for name in ("srcdir", "notes.py", "dangling")]
    assert links == ["../src", "../src/pkg/mod.py", "../nowhere"]
    assert sorted(p.name for p in (app / "src").rglob("*")) == ["mod.py", "pkg"]  # untouched

    # A distribution that goes away leaves the user's files in its folder, and their folders.
    report = vendor({"other-lib": _wheels(tmp_path / "w2")["other-lib"]}, WINDOWS, lib,
                    lock_hash="h3")  # fmt: skip
    assert report.removed == ["hello 1.1"] and "hello/userdir/" in report.foreign
    assert (userdir / "deeper" / "x.txt").read_text() == "x\n"
    assert sorted(p.name for p in (lib / "hello").iterdir()) == ["userdir"]
    again = vendor({"other-lib": _wheels(tmp_path / "w2")["other-lib"]}, WINDOWS, lib,
                   lock_hash="h3")  # fmt: skip
    assert not again.changed and again.foreign == ["dangling", "emptydir/", "hello/", "notes.py",
                                                   "srcdir"]  # fmt: skip
    assert _leftovers(app) == []


def test_a_wheel_never_writes_through_a_link_of_yours(tmp_path: Path) -> None:
    app = tmp_path / "app"
    lib = app / "lib"
    (app / "src").mkdir(parents=True)
    lib.mkdir()
    (lib / "hello").symlink_to("../src")
    with pytest.raises(VendorError, match=r"writes hello/\S+ through hello, a link of yours"):
        vendor(_wheels(tmp_path / "w"), WINDOWS, lib, lock_hash="h1")
    assert list((app / "src").iterdir()) == []
    assert (lib / "hello").readlink() == Path("../src")
    (lib / "hello").unlink()
    (lib / "hello").mkdir()
    (lib / "hello" / "__init__.py").symlink_to("../../outside.py")  # dangling
    with pytest.raises(VendorError, match=r"writes hello/__init__\.py, which another distribution"):
        vendor(_wheels(tmp_path / "w"), WINDOWS, lib, lock_hash="h1")
    assert not (app / "outside.py").exists()
    assert _leftovers(app) == []


# --- finding 4: modes -------------------------------------------------------------------------

VENDOR = """
import sys
from pathlib import Path
from vendorer.target.catalog import ProfileCatalog
from vendorer.install.vendor import vendor
wheels = {p.name.split("-")[0]: p for p in Path(sys.argv[1]).glob("*.whl")}
vendor(wheels, ProfileCatalog().load("linux-python312"), Path(sys.argv[2]), lock_hash=sys.argv[3])
"""


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_folders_and_files_get_the_modes_the_umask_gives(tmp_path: Path, umask: int) -> None:
    lib = tmp_path / "app" / "lib"
    script = tmp_path / "vendor.py"
    script.write_text(VENDOR)
    folders, files, scripts = 0o777 & ~umask, 0o666 & ~umask, 0o777 & ~umask | 0o111
    for version in ("1.0", "1.1"):  # the first tree, then one swapped in
        wheels = tmp_path / f"w{version}"
        _wheels(wheels, version)
        subprocess.run([sys.executable, str(script), str(wheels), str(lib), version], check=True,
                       umask=umask)  # fmt: skip
        modes = {
            path.relative_to(tmp_path / "app").as_posix(): stat.S_IMODE(path.stat().st_mode)
            for path in [lib, *lib.rglob("*"), *(tmp_path / "app" / STATE).glob("*")]
            if not path.name.endswith(".lock")  # filelock's own business
        }
        expected = {
            relative: folders if (tmp_path / "app" / relative).is_dir()
            else scripts if relative == "lib/bin/hello" else files
            for relative in modes
        }  # fmt: skip
        assert modes == expected
        assert {"lib", "lib/.vendorer-manifest.json", f"{STATE}/.gitignore"} <= set(modes)


# --- finding 7: leftovers ---------------------------------------------------------------------


def test_what_killed_runs_left_is_removed_by_the_next_run_even_with_nothing_to_do(
    tmp_path: Path,
) -> None:
    app = tmp_path / "app"
    lib = app / "lib"
    wheels = _wheels(tmp_path / "w")
    vendor(wheels, WINDOWS, lib, lock_hash="h1")
    staged = app / STATE / f"lib.new-{'a' * 16}"
    previous = app / STATE / f"lib.old-{'b' * 16}"
    legacy = app / ".vendorer-new-lib-k2x_9abc"  # where vendorer staged before
    for leftover in (staged, previous, legacy):
        (leftover / "pkg" / "sub").mkdir(parents=True)
        (leftover / "pkg" / "sub" / "x.py").write_text("x = 1\n")
        (leftover / "pkg" / "sub").chmod(0o555)
    others = [app / STATE / f"lib2.new-{'c' * 16}", app / ".vendorer-new-lib2-abcdefgh"]
    for other in others:  # another lib folder's: not this one's to sweep
        other.mkdir()
    dry = vendor(wheels, WINDOWS, lib, lock_hash="h1", dry_run=True)
    assert dry.leftovers == sorted([staged, previous, legacy]) and staged.exists()
    report = vendor(wheels, WINDOWS, lib, lock_hash="h1")
    assert not report.changed and report.leftovers == sorted([staged, previous, legacy])
    assert not staged.exists() and not previous.exists() and not legacy.exists()
    assert all(other.exists() for other in others)


def _unprivileged() -> list[str]:
    """A command prefix that takes away root's power to ignore permissions (none needed when not
    root): without CAP_DAC_OVERRIDE and CAP_FOWNER, a folder root cannot write is really so."""
    if os.geteuid() != 0:
        return []
    prefix = ["setpriv", "--bounding-set=-all", "--inh-caps=-all"]
    usable = (
        shutil.which("setpriv") and subprocess.run([*prefix, "true"], check=False).returncode == 0
    )
    if not usable:
        pytest.skip("needs setpriv (util-linux) and CAP_SETPCAP to drop root's capabilities")
    return prefix


def _vendorer_as(prefix: list[str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, sys.executable, "-m", "vendorer", *args], cwd=cwd,
                          capture_output=True, text=True, check=False)  # fmt: skip


@pytest.fixture
def app(tmp_path: Path, static_index: Callable[..., StaticIndex]) -> Path:
    """A built app whose requirements just gained `extra`: a change waits to be vendored."""
    dists = tmp_path / "dists"
    make_wheel(dists, "webfw", "2.0", requires_dist=["helper"])
    make_wheel(dists, "helper", "1.0")
    make_wheel(dists, "extra", "1.0")
    folder = make_app(tmp_path / "app", static_index(dists).url, "webfw")
    built = vendorer("build", cwd=folder)
    assert built.returncode == 0, built.stderr
    (folder / "requirements.txt").write_text("webfw\nextra\n", encoding="utf-8")
    fetched = vendorer("wheelhouse", cwd=folder)
    assert fetched.returncode == 0, fetched.stderr
    return folder


def test_a_read_only_folder_of_yours_is_carried_and_its_old_copy_removed(app: Path) -> None:
    mine = app / "lib" / "mydata"
    mine.mkdir()
    (mine / "table.csv").write_text("a,b\n", encoding="utf-8")
    mine.chmod(0o555)  # the old tree's copy cannot be emptied as it is
    result = _vendorer_as(_unprivileged(), "vendor", cwd=app)
    assert result.returncode == 0, result.stderr
    assert "left alone (not vendorer's): mydata/" in result.stderr
    assert (app / "lib" / "extra").is_dir() and (mine / "table.csv").read_text() == "a,b\n"
    assert stat.S_IMODE(mine.stat().st_mode) == 0o555
    assert _leftovers(app) == []


def test_a_leftover_that_cannot_be_removed_is_an_error_that_names_it(app: Path) -> None:
    """The old tree holds a folder another user owns (say, one a container made): without root's
    capabilities its file cannot be unlinked, nor the folder made writable, so removing the old
    tree really fails."""
    prefix = _unprivileged()
    if os.geteuid() != 0:
        pytest.skip("giving a folder to another user needs root")
    theirs = app / "lib" / "theirs"
    theirs.mkdir()
    (theirs / "f.txt").write_text("theirs\n", encoding="utf-8")
    shutil.chown(theirs / "f.txt", "nobody")
    shutil.chown(theirs, "nobody")
    result = _vendorer_as(prefix, "vendor", cwd=app)
    assert result.returncode == 1, result.stderr
    (left,) = _leftovers(app)
    assert f"error: cannot remove {(app / STATE / left).resolve()}, a copy of the lib folder" in (
        result.stderr
    )
    assert "Permission denied" in result.stderr and "Traceback" not in result.stderr
    assert (app / "lib" / "extra").is_dir() and (theirs / "f.txt").read_text() == "theirs\n"
    check = vendorer("check", cwd=app)
    assert check.returncode == 1
    assert f"drift: {STATE}/{left}: left by an interrupted vendorer run" in check.stderr
    again = _vendorer_as(prefix, "vendor", cwd=app)  # the sweep fails too, and says so
    assert again.returncode == 1 and "error: cannot remove" in again.stderr
    fixed = vendorer("vendor", cwd=app)  # as a user who may
    assert fixed.returncode == 0, fixed.stderr
    assert f"remove {STATE}/{left} (an interrupted run left it)" in fixed.stderr
    assert _leftovers(app) == []


# --- finding 8: two runs, two caches, one lib folder -------------------------------------------


def test_two_runs_with_their_own_caches_take_turns(
    tmp_path: Path, static_index: Callable[..., StaticIndex]
) -> None:
    dists = tmp_path / "dists"
    make_wheel(dists, "webfw", "2.0")
    for index in range(2):  # 2,000 files each: a run takes long enough to be caught
        make_wheel(dists, f"bulk{index}", "1.0", files={f"bulk{index}/m{n}.py": "x = 1\n" * 50
                                                        for n in range(2000)})  # fmt: skip
    folder = make_app(tmp_path / "app", static_index(dists).url, "webfw")
    assert vendorer("build", cwd=folder).returncode == 0
    waited = 0
    for index in range(2):
        (folder / "requirements.txt").write_text(f"webfw\nbulk{index}\n", encoding="utf-8")
        assert vendorer("wheelhouse", cwd=folder).returncode == 0
        runs = [
            subprocess.Popen([sys.executable, "-m", "vendorer", "vendor"], cwd=folder, text=True,
                             stderr=subprocess.PIPE, env={**os.environ, "VENDORER_CACHE_DIR":
                                                          str(tmp_path / f"cache{n}")})
            for n in range(2)
        ]  # fmt: skip
        errors = [run.communicate()[1] for run in runs]
        assert [run.returncode for run in runs] == [0, 0], errors
        assert not any("Traceback" in text for text in errors)
        waited += sum("waiting for another vendorer run on lib to finish" in e for e in errors)
        manifest = read_manifest(folder / "lib")
        assert manifest is not None and sorted(manifest.distributions) == ["bulk" + str(index),
                                                                          "webfw"]  # fmt: skip
        assert _leftovers(folder) == []
    assert waited, "the two runs never overlapped: make the bulk distributions bigger"
    assert vendorer("check", cwd=folder).returncode == 0


# --- finding 11: a failed write is not a broken wheel ------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs: a full disk for real."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)],
                             capture_output=True, text=True, check=False)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def _big_wheel(folder: Path) -> Path:
    noise = random.Random(0).randbytes(1_500_000).hex()  # does not compress: 3 MB on disk
    files = {"hello/__init__.py": "", "hello/data.py": f"x = '{noise}'\n"}
    return make_wheel(folder, "hello", "2.0", files=files)


@pytest.mark.parametrize("fill", [False, True], ids=["a-big-wheel", "at-0-kb-free"])
def test_a_full_disk_is_said_with_the_path_and_changes_nothing(
    tmp_path: Path, small_disk: Path, fill: bool
) -> None:
    lib = small_disk / "app" / "lib"
    wheels = _wheels(tmp_path / "w")
    vendor(wheels, WINDOWS, lib, lock_hash="h1")
    before = _tree(lib)
    if fill:
        with (small_disk / "filler").open("wb", buffering=0) as filler, pytest.raises(OSError):
            while True:
                filler.write(b"\0" * 4096)
        new = _wheels(tmp_path / "w2", "1.1")
    else:
        new = {**wheels, "hello": _big_wheel(tmp_path / "big")}
    with pytest.raises(VendorError) as raised:
        vendor(new, WINDOWS, lib, lock_hash="h2")
    message = str(raised.value)
    assert "No space left on device" in message and "the disk is full" in message
    assert f"cannot write {small_disk}/app/" in message
    assert "broken or unsafe" not in message
    assert _tree(lib) == before
    assert _leftovers(small_disk / "app") == []


def test_a_read_only_filesystem_is_said_as_such(tmp_path: Path, small_disk: Path) -> None:
    lib = small_disk / "app" / "lib"
    vendor(_wheels(tmp_path / "w"), WINDOWS, lib, lock_hash="h1")
    before = _tree(lib)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    with pytest.raises(VendorError) as raised:
        vendor(_wheels(tmp_path / "w2", "1.1"), WINDOWS, lib, lock_hash="h2")
    message = str(raised.value)
    assert f"cannot write {small_disk}/app/" in message
    assert "Read-only file system" in message and "mount it read-write" in message
    assert _tree(lib) == before


# --- finding 19: ctime -------------------------------------------------------------------------


def test_an_edit_whose_mtime_was_put_back_is_seen(tmp_path: Path) -> None:
    lib = tmp_path / "app" / "lib"
    wheels = _wheels(tmp_path / "w")
    vendor(wheels, WINDOWS, lib, lock_hash="h1")
    assert not vendor(wheels, WINDOWS, lib, lock_hash="h1").changed  # the hashes are cached
    module = lib / "hello" / "__init__.py"
    original, times = module.read_text(), module.stat()
    module.write_text(original.replace("print", "PRINT"))  # same size
    os.utime(module, ns=(times.st_atime_ns, times.st_mtime_ns))
    report = vendor(wheels, WINDOWS, lib, lock_hash="h1")
    assert report.installed == ["hello 1.0"] and module.read_text() == original


def test_a_cache_entry_without_ctime_is_hashed_again(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_text("true content\n")
    stat_ = path.stat()
    cache = tmp_path / "cache.json"
    cache.write_text(
        f'{{"{path}": [{stat_.st_size}, {stat_.st_mtime_ns}, {stat_.st_ino}, "{"0" * 64}"]}}'
    )
    assert HashCache(cache).sha256(path) == sha256_of(path)


def test_a_change_keeps_the_known_hashes_of_the_files_it_linked(tmp_path: Path) -> None:
    """Linking and unlinking change a kept file's ctime: the run remembers its hash anew, so the
    next run does not read the whole tree again."""
    lib = tmp_path / "app" / "lib"
    wheels = _wheels(tmp_path / "w")
    vendor(wheels, WINDOWS, lib, lock_hash="h1")
    kept = [path for path in lib.glob("other_lib*/**/*") if path.is_file()]
    for path in kept:  # written long before the next run: no edit can hide in its mtime
        os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    report = vendor({**wheels, "hello": _wheels(tmp_path / "w2", "1.1")["hello"]}, WINDOWS, lib,
                    lock_hash="h2")  # fmt: skip
    assert report.kept == ["other-lib 2.0"]
    entries = json.loads(hash_cache_path(lib).read_text(encoding="utf-8"))
    for path in kept:
        now = path.stat()
        signature = [now.st_size, now.st_mtime_ns, now.st_ino, now.st_ctime_ns]
        assert entries[str(path)] == [*signature, sha256_of(path)]
