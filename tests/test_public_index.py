"""Against the public index (opt-in: `pytest -m network`): real projects for the real target."""

from __future__ import annotations

from pathlib import Path

import pytest

from vendorer.catalog import ProfileCatalog
from vendorer.locking import LockOptions, make_lock

pytestmark = pytest.mark.network


def _lock(tmp_path: Path, *requirements: str, profile: str = "python361x64") -> dict[str, str]:
    path = tmp_path / "requirements.txt"
    path.write_text("\n".join(requirements) + "\n", encoding="utf-8")
    lock = make_lock(ProfileCatalog().load(profile), path, LockOptions()).lock
    return {package.name: str(package.version) for package in lock.packages}


def test_flask_click_and_pytest_for_python361x64(tmp_path: Path) -> None:
    versions = _lock(tmp_path, "flask", "click", "pytest")
    for windows_or_36_only in ("colorama", "dataclasses", "importlib-metadata", "atomicwrites"):
        assert windows_or_36_only in versions, windows_or_36_only
    assert versions["flask"].startswith("2.0.")  # the last Flask for Python 3.6
    assert versions["click"] == "8.0.4"
    assert versions["colorama"] == "0.4.5"  # 0.4.6 excludes 3.6.*
    assert versions["markupsafe"] == "2.0.1"  # has cp36-win_amd64 wheels


def test_the_same_app_for_linux_python312(tmp_path: Path) -> None:
    versions = _lock(tmp_path, "flask", "click", "pytest", profile="linux-python312")
    assert "colorama" not in versions and "dataclasses" not in versions
    assert int(versions["flask"].split(".")[0]) >= 3
