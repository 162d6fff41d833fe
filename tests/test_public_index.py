"""Against the public index (opt-in: `pytest -m network`): real projects for the real target."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from vendorer.app.locking import make_lock
from vendorer.app.workflow import make_wheelhouse
from vendorer.inputs.options import LockOptions
from vendorer.target.catalog import ProfileCatalog

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


def test_pip_9_reads_the_wheelhouse_export(tmp_path: Path) -> None:
    """pip 9.0.1, the pip of the 3.6-era site extensions, installs exactly the wheelhouse."""
    python36 = next(iter(sorted(Path.home().glob(".pyenv/versions/3.6*/bin/python3.6"))), None)
    if python36 is None:
        pytest.skip("no Python 3.6 on this machine to run pip 9 with")
    app = tmp_path / "app"
    app.mkdir()
    (app / "requirements.txt").write_text("flask\n", encoding="utf-8")
    profile = ProfileCatalog().load("python361x64")
    lock = make_lock(profile, app / "requirements.txt", LockOptions())
    make_wheelhouse(profile, app / "wheelhouse", LockOptions(), lock=lock)
    venv = tmp_path / "pip9"
    subprocess.run([str(python36), "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    subprocess.run([*pip, "install", "-q", "pip==9.0.1"], check=True)
    folder = app / "wheelhouse" / "python361x64"
    result = subprocess.run(
        [*pip, "download", "--no-index", "--find-links", str(folder), "--no-deps",
         "-d", str(tmp_path / "got"), "--platform", "win_amd64", "--python-version", "36",
         "--implementation", "cp", "--abi", "cp36m", "--only-binary=:all:",
         "-r", str(folder / "requirements.txt")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in (tmp_path / "got").iterdir()) == sorted(
        p.name for p in folder.glob("*.whl")
    )
