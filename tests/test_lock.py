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

from vendorer.catalog import ProfileCatalog
from vendorer.errors import LockError, UsageError
from vendorer.lock import (
    Lock,
    LockedFile,
    LockedPackage,
    export_requirements,
    lock_changes,
    lock_path,
    read_lock,
    render_lock,
)
from vendorer.tomlfile import parse_toml
from vendorer.why import explain

SHA = "a" * 64


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
        required_by=("requirements.txt:1 (flask)", "webapp 1.0 (flask>=2)"),
        newer=("2.1.0: Requires-Python >=3.7",),
    )
    click = LockedPackage(
        name=canonicalize_name("click"),
        version=Version("8.0.4"),
        file=LockedFile(
            filename="click-8.0.4.tar.gz", path="wheels/click-8.0.4.tar.gz", sha256=SHA
        ),
        required_by=("flask 2.0.3 (click>=7.1.2)",),
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
