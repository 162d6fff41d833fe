"""The cache of unpacked wheels (`install/cached.py`): a wheel unpacked a second time is kept,
and the trees that need it later get copies of its files, byte for byte and mode for mode what
unpacking writes, under the same rules; a kept file changed since is seen and the wheel unpacked
from its file again; what is not used for a month goes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.install.test_ahead import _big_wheel
from tests.install.test_pool import _tree
from tests.support.cli import make_app, vendorer
from tests.support.dists import make_wheel
from tests.support.index import StaticIndex
from vendorer.install.ahead import MIN_BYTES, UnpackAhead
from vendorer.install.cached import FILES, NOTES, RECORD, UnpackedCache
from vendorer.install.errors import VendorError
from vendorer.install.manifest import read_manifest
from vendorer.install.pool import PROCESSES_ENV
from vendorer.install.vendor import vendor
from vendorer.target.catalog import ProfileCatalog

LINUX = ProfileCatalog().load("linux-python312")


def _wheels(folder: Path) -> dict[str, Path]:
    return {
        "hello": make_wheel(
            folder, "hello", "1.0", entry_points={"console_scripts": {"hello": "hello:main"}},
            files={"hello/__init__.py": "def main(): pass\n", "hello/data/x.txt": "x\n"},
        ),
        "other": make_wheel(folder, "other", "2.0"),
    }  # fmt: skip


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _modes(folder: Path) -> dict[str, int]:
    return {
        path.relative_to(folder).as_posix(): stat.S_IMODE(path.stat().st_mode)
        for path in folder.rglob("*")
        if path.is_file() and ".vendorer" not in path.parts
    }


class _Run:
    """Fresh trees vendored from `wheels` with the cache in `root`; `checked`: the wheels'
    sha256s as a run that just checked them passes them (the files are then not read for
    them)."""

    def __init__(self, tmp_path: Path, wheels: dict[str, Path]) -> None:
        self.tmp_path, self.wheels, self.root = tmp_path, wheels, tmp_path / "cache"
        self.checked = {path: _sha(path) for path in wheels.values()}
        self.sha = {name: self.checked[path] for name, path in wheels.items()}
        self.count = 0

    def add(self, name: str, wheel: Path) -> None:
        self.wheels[name] = wheel
        self.checked[wheel] = self.sha[name] = _sha(wheel)

    def tree(self) -> Path:
        self.count += 1
        lib = self.tmp_path / f"app{self.count}" / "lib"
        vendor(self.wheels, LINUX, lib, lock_hash="h", checked=self.checked,
               unpacked_cache=self.root)  # fmt: skip
        return lib

    def entry(self, name: str) -> Path:
        return self.root / UnpackedCache(self.root, LINUX, slim=False)._key(self.sha[name])


def test_a_wheel_is_kept_the_second_time_it_is_unpacked_and_copied_from_then_on(
    tmp_path: Path,
) -> None:
    run = _Run(tmp_path, _wheels(tmp_path / "w"))
    first = run.tree()
    assert not run.entry("hello").exists()  # the first time: only noted
    assert (run.root / NOTES / run.entry("hello").name).is_file()
    second = run.tree()
    assert (run.entry("hello") / RECORD).is_file()
    for wheel in run.wheels.values():  # from now on the wheels themselves are not read
        wheel.write_bytes(b"not a zip")
    third = run.tree()
    assert _tree(third) == _tree(second) == _tree(first)
    assert _modes(third) == _modes(first)
    assert os.access(third / "bin" / "hello", os.X_OK)
    assert read_manifest(third) == read_manifest(first)
    assert (third / "hello" / "__init__.py").stat().st_ino != (
        run.entry("hello") / FILES / "hello" / "__init__.py"
    ).stat().st_ino  # a copy, never a link: an edit in one tree changes no other


def test_each_entry_is_for_one_target_and_one_slim_setting(tmp_path: Path) -> None:
    run = _Run(tmp_path, _wheels(tmp_path / "w"))
    run.tree()
    run.tree()
    sha = run.sha["hello"]
    assert UnpackedCache(run.root, LINUX, slim=False).has(sha)
    assert not UnpackedCache(run.root, LINUX, slim=True).has(sha)
    windows = ProfileCatalog().load("python361x64")
    assert not UnpackedCache(run.root, windows, slim=False).has(sha)


@pytest.mark.parametrize("change", ["append", "same size", "remove", "record"])
def test_a_kept_entry_changed_since_is_seen_and_the_wheel_unpacked_again(
    tmp_path: Path, change: str
) -> None:
    run = _Run(tmp_path, _wheels(tmp_path / "w"))
    expected = _tree(run.tree())
    run.tree()
    kept = run.entry("hello") / FILES / "hello" / "__init__.py"
    if change == "append":
        kept.write_text(kept.read_text() + "import os\n")
    elif change == "same size":
        kept.write_text(kept.read_text().replace("pass", "PASS"))
    elif change == "remove":
        kept.unlink()
    else:
        (run.entry("hello") / RECORD).write_text("{")
    assert _tree(run.tree()) == expected
    record = json.loads((run.entry("hello") / RECORD).read_text())  # kept again, from the wheel
    manifest = read_manifest(run.tree())  # a copy of what was kept again
    assert manifest is not None and sorted(record) == sorted(manifest.distributions["hello"].files)
    assert kept.read_text() == "def main(): pass\n"


def test_an_entry_restored_from_a_backup_is_checked_by_its_hashes_and_signed_anew(
    tmp_path: Path,
) -> None:
    run = _Run(tmp_path, _wheels(tmp_path / "w"))
    expected = _tree(run.tree())
    run.tree()
    shutil.copytree(run.root, tmp_path / "backup")  # new inodes and times, as a CI cache's
    shutil.rmtree(run.root)
    (tmp_path / "backup").rename(run.root)
    for wheel in run.wheels.values():  # the copies are what the trees get
        wheel.write_bytes(b"not a zip")
    restored = (run.entry("hello") / RECORD).read_text()
    assert _tree(run.tree()) == expected
    signed = (run.entry("hello") / RECORD).read_text()
    assert signed != restored
    assert _tree(run.tree()) == expected
    assert (run.entry("hello") / RECORD).read_text() == signed  # the signatures held


def test_a_path_taken_in_the_tree_is_refused_as_unpacking_refuses_it(tmp_path: Path) -> None:
    run = _Run(tmp_path, _wheels(tmp_path / "w"))
    run.tree()
    run.tree()
    lib = tmp_path / "mine" / "lib"
    (lib / "hello").mkdir(parents=True)
    (lib / "hello" / "__init__.py").write_text("# mine\n")
    with pytest.raises(VendorError, match=r"writes hello/__init__.py, which another distribution"):
        vendor(run.wheels, LINUX, lib, lock_hash="h", checked=run.checked,
               unpacked_cache=run.root)  # fmt: skip
    assert (lib / "hello" / "__init__.py").read_text() == "# mine\n"
    assert sorted(p.name for p in lib.iterdir()) == ["hello"]
    (lib / "hello" / "__init__.py").unlink()
    (lib / "hello").rmdir()
    (lib.parent / "elsewhere").mkdir()
    lib.rmdir()
    (lib.parent / "elsewhere" / "hello").mkdir()
    lib.mkdir()
    (lib / "hello").symlink_to(lib.parent / "elsewhere" / "hello")
    with pytest.raises(VendorError, match=r"through hello, a link of yours"):
        vendor(run.wheels, LINUX, lib, lock_hash="h", checked=run.checked,
               unpacked_cache=run.root)  # fmt: skip
    assert list((lib.parent / "elsewhere" / "hello").iterdir()) == []


def test_a_cache_that_cannot_be_written_costs_time_no_more(tmp_path: Path) -> None:
    wheels = _wheels(tmp_path / "w")
    expected = _tree(_Run(tmp_path / "plain", wheels).tree())
    run = _Run(tmp_path, wheels)
    run.root.write_text("a file, not a folder")
    assert _tree(run.tree()) == expected
    assert _tree(run.tree()) == expected
    assert run.root.read_text() == "a file, not a folder"


def test_entries_unused_for_a_month_and_what_killed_runs_left_go(tmp_path: Path) -> None:
    run = _Run(tmp_path, _wheels(tmp_path / "w"))
    run.tree()
    run.tree()  # both wheels kept
    month_ago = time.time() - 31 * 86400
    old_entry = run.entry("other")
    os.utime(old_entry / RECORD, (month_ago, month_ago))
    left = run.root / ".tmp-0123456789abcdef"
    (left / FILES).mkdir(parents=True)
    os.utime(left, (time.time() - 2 * 86400,) * 2)
    fresh_left = run.root / ".tmp-fedcba9876543210"  # a run keeping an entry now
    fresh_left.mkdir()
    old_note = run.root / NOTES / ("0" * 32)
    old_note.touch()
    os.utime(old_note, (month_ago, month_ago))
    del run.wheels["other"]  # not used from now on
    run.add("new", make_wheel(tmp_path / "w", "new", "1.0"))
    run.tree()  # "new" only noted: nothing kept, nothing swept
    assert old_entry.exists() and left.exists() and old_note.exists()
    run.tree()  # keeps "new": sweeps first
    assert (run.entry("new") / RECORD).is_file()
    assert not left.exists() and not old_note.exists() and fresh_left.exists()
    assert not old_entry.exists()
    assert (run.entry("hello") / RECORD).is_file()  # used by these runs


def test_a_kept_wheel_is_not_unpacked_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PROCESSES_ENV, "2")
    big = _big_wheel(tmp_path / "w", "big")
    assert big.stat().st_size >= MIN_BYTES
    run = _Run(tmp_path, {"big": big})
    run.tree()
    run.tree()
    lib = tmp_path / "ahead" / "lib"
    cache = UnpackedCache(run.root, LINUX, slim=False)
    with UnpackAhead(lib, LINUX, slim=False, vendored=(), cache=cache) as ahead:
        assert ahead.expect()
        ahead.add(big, run.checked[big], big.name)
        assert not ahead.has(run.checked[big])
        vendor(run.wheels, LINUX, lib, lock_hash="h", checked=run.checked, ahead=ahead,
               unpacked_cache=run.root)  # fmt: skip
    assert _tree(lib) == _tree(tmp_path / "app1" / "lib")


def test_builds_of_three_apps_note_keep_then_copy(
    tmp_path: Path, static_index: Callable[..., StaticIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`vendorer build` of the same requirements in three apps: the first notes each wheel, the
    second keeps it (big wheels unpacked ahead too), the third's tree is copied from the cache
    (each entry's record is touched as it is used) and is the first's."""
    monkeypatch.setenv(PROCESSES_ENV, "2")
    dists = tmp_path / "dists"
    _big_wheel(dists, "webfw", requires_dist=["blobs", "helper"])
    _big_wheel(dists, "blobs")
    make_wheel(dists, "helper", "1.0")
    url = static_index(dists).url
    apps = [make_app(tmp_path / f"app{n}", url, "webfw", profile=LINUX.name) for n in (1, 2, 3)]
    cache = Path(os.environ["VENDORER_CACHE_DIR"]) / "unpacked"
    assert vendorer("build", cwd=apps[0]).returncode == 0
    assert [p.name for p in cache.iterdir()] == [NOTES]
    assert len(list((cache / NOTES).iterdir())) == 3
    assert vendorer("build", cwd=apps[1]).returncode == 0
    records = sorted(cache.glob(f"*/{RECORD}"))
    assert len(records) == 3
    day_ago = time.time() - 86400
    for record in records:
        os.utime(record, (day_ago, day_ago))
    assert vendorer("build", cwd=apps[2]).returncode == 0
    assert all(record.stat().st_mtime > day_ago + 3600 for record in records)
    trees = [_tree(app / LINUX.server.lib_dir) for app in apps]
    assert "webfw/blob.bin" in trees[0] and trees[2] == trees[1] == trees[0]
    assert vendorer("check", cwd=apps[2]).returncode == 0


# What copying kept wheels never needs: installer (and the email parser it loads), nor resolving,
# fetching or reading requirements.
NOT_FOR_COPIES = ("installer", "email", "httpx", "resolvelib", "vendorer.install.unpack",
                  "vendorer.resolve.resolver", "vendorer.index.finder", "vendorer.app.locking",
                  "vendorer.inputs.requirements")  # fmt: skip


def test_a_tree_copied_from_the_cache_imports_only_what_copying_needs(
    tmp_path: Path, static_index: Callable[..., StaticIndex]
) -> None:
    dists = tmp_path / "dists"
    make_wheel(dists, "helper", "1.0")
    app = make_app(tmp_path / "app", static_index(dists).url, "helper", profile=LINUX.name)
    lib = app / LINUX.server.lib_dir
    assert vendorer("build", cwd=app).returncode == 0  # noted
    script = (
        "import json, sys\n"
        "from vendorer.cli.program import main\n"
        "code = main(['vendor'])\n"
        f"print(json.dumps([code, sorted(m for m in {NOT_FOR_COPIES!r} if m in sys.modules)]))"
    )
    loaded = []
    for _ in range(2):  # unpacked and kept, then copied
        shutil.rmtree(lib)
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                cwd=app, check=False)  # fmt: skip
        assert result.returncode == 0, result.stderr
        loaded.append(json.loads(result.stdout.splitlines()[-1]))
    assert loaded[0] == [0, ["email", "installer", "vendorer.install.unpack"]]  # it unpacked
    assert loaded[1] == [0, []]
    assert (lib / "helper" / "__init__.py").is_file()
