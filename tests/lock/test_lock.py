"""The lock file: PEP 751 as packaging reads it, vendorer's tool data, the pip export, `why`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from packaging.pylock import Pylock
from packaging.utils import canonicalize_name
from packaging.version import Version

from vendorer._util.tomlfile import parse_toml
from vendorer.errors import LockError, UsageError
from vendorer.lock.changes import lock_changes
from vendorer.lock.export import export_requirements
from vendorer.lock.model import Lock, LockedFile, LockedPackage
from vendorer.lock.pylock import lock_path, read_lock, read_lock_as_written, render_lock
from vendorer.lock.why import explain
from vendorer.resolve.chains import FromFile, FromPackage
from vendorer.target.catalog import ProfileCatalog

SHA = "a" * 64
_name = canonicalize_name


def _lock() -> Lock:
    flask = LockedPackage(
        name=canonicalize_name("Flask"),
        version=Version("2.0.3"),
        file=LockedFile(
            filename="Flask-2.0.3-py3-none-any.whl",
            url="https://files.example/Flask-2.0.3-py3-none-any.whl",
            sha256=SHA,
        ),
        index="https://pypi.org/simple/",
        dependencies=(canonicalize_name("click"),),
        required_by=(
            FromFile(file="requirements.txt", line=1, requirement="flask"),
            FromPackage(package=_name("webapp"), version=Version("1.0"), requirement="flask>=2"),
        ),
        newer=("2.1.0: Requires-Python >=3.7",),
    )
    click = LockedPackage(
        name=canonicalize_name("click"),
        version=Version("8.0.4"),
        file=LockedFile(
            filename="click-8.0.4.tar.gz", path="wheels/click-8.0.4.tar.gz", sha256=SHA
        ),
        required_by=(
            FromPackage(
                package=_name("flask"), version=Version("2.0.3"), requirement="click>=7.1.2"
            ),
        ),
    )
    return Lock(profile="python361x64", inputs_hash="f" * 64, packages=(click, flask))


def test_render_gives_a_pep_751_lock_packaging_accepts(tmp_path: Path) -> None:
    profile = ProfileCatalog().load("python361x64")
    text = render_lock(_lock(), profile)
    data = parse_toml(text, origin="lock")
    pylock = Pylock.from_dict(data)
    pylock.validate()
    assert data["lock-version"] == "1.0"
    assert data["requires-python"] == "==3.6.1"
    assert 'python_full_version == "3.6.1"' in data["environments"][0]
    assert data["tool"]["vendorer"]["profile"] == "python361x64"
    flask = next(p for p in data["packages"] if p["name"] == "flask")
    assert flask["wheels"][0]["hashes"] == {"sha256": SHA}
    assert flask["dependencies"] == [{"name": "click"}]
    click = next(p for p in data["packages"] if p["name"] == "click")
    assert click["sdist"]["path"] == "wheels/click-8.0.4.tar.gz"
    assert click["tool"]["vendorer"]["needs-build"] is True


def test_read_gives_back_what_was_written(tmp_path: Path) -> None:
    profile = ProfileCatalog().load("python361x64")
    path = tmp_path / "pylock.python361x64.toml"
    path.write_text(render_lock(_lock(), profile), encoding="utf-8")
    assert read_lock(path) == _lock()


def test_a_broken_lock_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "pylock.x.toml"
    with pytest.raises(LockError, match="no lock; run `vendorer lock` first"):
        read_lock(path)
    path.write_text("lock-version = '1.0'\ncreated-by = 'x'\npackages = [{}]\n", encoding="utf-8")
    with pytest.raises(LockError, match="invalid PEP 751 lock"):
        read_lock(path)
    path.write_text("lock-version = '1.0'\ncreated-by = 'pdm'\npackages = []\n", encoding="utf-8")
    with pytest.raises(LockError, match="not a lock written by this vendorer"):
        read_lock(path)
    path.write_text("lock-version = ", encoding="utf-8")
    with pytest.raises(LockError, match="unreadable lock"):
        read_lock(path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["packages"][1]["dependencies"][0].update(name=5), "malformed vendorer lock"),
        (lambda d: d["packages"][0]["tool"].update(vendorer=5), "malformed vendorer lock"),
        (lambda d: d["tool"]["vendorer"].pop("profile"), "malformed vendorer lock"),
    ],
)
def test_a_lock_with_a_field_of_the_wrong_shape_is_a_clear_error(
    tmp_path: Path, edit: Callable[[dict[str, Any]], object], message: str
) -> None:
    data = parse_toml(render_lock(_lock(), ProfileCatalog().load("python361x64")), origin="x")
    edit(data)
    path = tmp_path / "pylock.python361x64.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    with pytest.raises(LockError, match=message):
        read_lock(path)


def test_lock_path_sits_next_to_the_requirements(tmp_path: Path) -> None:
    assert lock_path(tmp_path / "requirements.txt", "python361x64") == (
        tmp_path / "pylock.python361x64.toml"
    )


def test_export_pins_every_package_with_its_hash() -> None:
    lines = export_requirements(_lock(), source="pylock.python361x64.toml").splitlines()
    body = [line for line in lines if not line.startswith("#")]
    assert body == [
        "click==8.0.4 \\",
        f"    --hash=sha256:{SHA}",
        "    # via flask",  # pip-compile's annotations
        "flask==2.0.3 \\",
        f"    --hash=sha256:{SHA}",
        "    # via",
        "    #   -r requirements.txt",
        "    #   webapp",
    ]


def test_why_follows_the_chain_to_the_requirements_file() -> None:
    lines = list(explain(_lock(), "Click"))
    assert lines[0] == "click 8.0.4 (sdist, needs a build: click-8.0.4.tar.gz)"
    assert "  flask 2.0.3 (click>=7.1.2) <- requirements.txt:1 (flask)" in lines
    flask = list(explain(_lock(), "flask"))
    assert "  2.1.0: Requires-Python >=3.7" in flask
    with pytest.raises(UsageError, match="not in the lock"):
        list(explain(_lock(), "django"))


def test_lock_changes_name_what_was_added_removed_and_moved() -> None:
    old = _lock()
    click, flask = old.packages
    newer_flask = dataclasses.replace(flask, version=Version("2.0.4"))
    helper = dataclasses.replace(click, name=canonicalize_name("helper"))
    new = dataclasses.replace(old, packages=(newer_flask, helper))
    assert lock_changes(old, new) == ["- click 8.0.4", "~ flask 2.0.3 -> 2.0.4", "+ helper 8.0.4"]
    assert lock_changes(old, old) == []


def test_required_by_is_data_in_the_lock() -> None:
    data = parse_toml(render_lock(_lock(), ProfileCatalog().load("python361x64")), origin="x")
    flask = next(p for p in data["packages"] if p["name"] == "flask")
    assert flask["tool"]["vendorer"]["required-by"] == [
        {"file": "requirements.txt", "line": 1, "requirement": "flask"},
        {"package": "webapp", "version": "1.0", "requirement": "flask>=2"},
    ]


def test_a_lock_written_before_required_by_was_data_still_reads(tmp_path: Path) -> None:
    """Its entries are text, and it has no content-hash: read as they are, and kept current."""
    data = parse_toml(render_lock(_lock(), ProfileCatalog().load("python361x64")), origin="x")
    del data["tool"]["vendorer"]["content-hash"]
    click, flask = data["packages"]
    click["tool"]["vendorer"]["required-by"] = ["flask 2.0.3 (click>=7.1.2)"]
    flask["tool"]["vendorer"]["required-by"] = [
        "sub dir/base.txt:3 (flask)",  # a requirements file in a folder whose name has a space
        "webapp 1.0 (flask>=2)",
    ]
    path = tmp_path / "pylock.python361x64.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    lock = read_lock(path)
    assert lock.package("click") == _lock().package("click")
    read_flask = lock.package("flask")
    assert read_flask is not None and read_flask.required_by == (
        FromFile(file="sub dir/base.txt", line=3, requirement="flask"),
        FromPackage(package=_name("webapp"), version=Version("1.0"), requirement="flask>=2"),
    )
    assert "    #   -r sub dir/base.txt" in export_requirements(lock, source=path.name)
    flask["tool"]["vendorer"]["required-by"] = ["somewhere (flask)"]
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    with pytest.raises(LockError, match=r"malformed vendorer lock .*vendorer lock --force"):
        read_lock(path)


def test_a_lock_edited_by_hand_is_refused_with_the_command_that_writes_it_again(
    tmp_path: Path,
) -> None:
    path = tmp_path / "pylock.python361x64.toml"
    text = render_lock(_lock(), ProfileCatalog().load("python361x64"))
    path.write_text(text.replace("# Locked by", "# (a comment is not content)\n# Locked by"))
    assert read_lock(path) == _lock()
    path.write_text(text.replace(SHA, "b" * 64, 1), encoding="utf-8")
    with pytest.raises(LockError, match=r"edited by hand .*`vendorer lock --profile python361x64`"):
        read_lock(path)
    assert read_lock_as_written(path).edited
