"""`--native cibuildwheel`: cibuildwheel run for real, in a container, from the loopback index.

The image comes from `.ci/test-image` (a manylinux-style Debian 11 with CPython 3.9; quay.io's
images cannot be pulled here) and is named by VENDORER_TEST_IMAGE; `.ci/run` makes it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import make_app, vendorer
from tests.support.dists import make_native_sdist, make_sdist, make_wheel
from tests.support.index import StaticIndex
from vendorer.target.catalog import ProfileCatalog
from vendorer.wheelhouse.native_build import cibuildwheel_settings

IMAGE = os.environ.get("VENDORER_TEST_IMAGE", "")
needs_image = pytest.mark.skipif(
    not IMAGE, reason="no container image: VENDORER_TEST_IMAGE=$(.ci/test-image) (root, ~1 min)"
)
HELPER = "vendorer-test-buildhelper"  # a build requirement only the loopback index has
LOCAL_HELPER = "vendorer-test-localhelper"  # one only a local --find-links folder has


@pytest.fixture
def index(tmp_path: Path, static_index: Callable[..., StaticIndex]) -> StaticIndex:
    dists = tmp_path / "dists"
    make_wheel(dists, HELPER, "1.0")
    make_native_sdist(dists, "cext", "1.0", build_requires=[HELPER, LOCAL_HELPER])
    return static_index(dists)


@pytest.fixture
def app(tmp_path: Path, index: StaticIndex, monkeypatch: pytest.MonkeyPatch) -> Path:
    if IMAGE:
        monkeypatch.setenv("CIBW_MANYLINUX_X86_64_IMAGE", IMAGE)
    links = tmp_path / "local-links"
    make_wheel(links, LOCAL_HELPER, "1.0")
    return make_app(tmp_path / "app", index.url, f"--find-links {links}", "cext")


@needs_image
def test_cibuildwheel_builds_a_manylinux_wheel_the_target_python_loads(
    app: Path, index: StaticIndex
) -> None:
    result = vendorer("build", "--profile", "linux-python39", "--native", "cibuildwheel", cwd=app)
    assert result.returncode == 0, result.stderr
    assert "  cext-1.0.tar.gz (cibuildwheel)\n" in result.stderr  # a line as it starts
    assert "1 wheels (0 downloaded, 1 built, 0 supplied by you)" in result.stderr
    folder = app / "wheelhouse" / "linux-python39"
    [wheel] = folder.glob("*.whl")
    assert wheel.name.startswith("cext-1.0-cp39-cp39-manylinux"), wheel.name  # auditwheel's tag
    assert "--hash=sha256:" in (folder / "requirements.txt").read_text(encoding="utf-8")
    # The container's pip took the build requirements from the lock's index, on loopback, and
    # from its local find-links folder (through /host): the build would have failed otherwise.
    helper_agents = [
        headers.get("User-Agent", "")
        for _, path, headers in index.requests
        if path.startswith("/files/vendorer_test_buildhelper-1.0")
    ]
    assert any('"python":"3.9.' in agent for agent in helper_agents), helper_agents
    # The vendored extension loads in the target's CPython 3.9.
    lib = app / "__oryx_packages__"
    assert next(lib.glob("cext/_native.cpython-39-*.so"))
    loaded = subprocess.run(
        ["podman", "run", "--rm", f"--volume={lib}:/app:ro", "--env=PYTHONPATH=/app", IMAGE,
         "/usr/bin/python3", "-c", "from cext import _native; print(_native.answer())"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert loaded.stdout == "42\n", loaded.stderr
    again = vendorer("build", "--profile", "linux-python39", "--native", "cibuildwheel", cwd=app)
    assert again.returncode == 0, again.stderr
    assert "(0 downloaded, 0 built, 0 supplied by you)" in again.stderr  # kept, not rebuilt


@needs_image
def test_a_failing_cibuildwheel_run_shows_its_last_lines_and_how_to_reproduce(app: Path) -> None:
    result = vendorer("wheelhouse", "--profile", "linux-python312", "--native", "cibuildwheel",
                      cwd=app)  # fmt: skip
    assert result.returncode == 1
    assert "cibuildwheel failed to build cext-1.0.tar.gz for linux-python312:" in result.stderr
    assert "/opt/python/cp312-cp312/bin/python' executable doesn't exist" in result.stderr
    assert (
        "reproduce it with: python -m pip download --no-deps --no-binary :all: cext==1.0 && "
        "CIBW_BUILD=cp312-manylinux_x86_64 "
    ) in result.stderr
    assert "Traceback" not in result.stderr
    assert list((app / "wheelhouse" / "linux-python312").glob("*.whl")) == []


@needs_image
def test_a_failed_build_does_not_lose_the_wheels_that_did_build(
    app: Path, index: StaticIndex
) -> None:
    make_sdist(index.root, "cbroken", "1.0", native=True, metadata_version="2.2",
               build_requires=["vendorer-test-nowhere"])  # fmt: skip # no index has it
    requirements = app / "requirements.txt"
    requirements.write_text(requirements.read_text("utf-8") + "cbroken\n", encoding="utf-8")
    result = vendorer("wheelhouse", "--profile", "linux-python39", "--native", "cibuildwheel",
                      cwd=app)  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "cibuildwheel failed to build cbroken-1.0.tar.gz for linux-python39:" in result.stderr
    assert "cibuildwheel failed to build cext" not in result.stderr
    wheels = [p.name for p in (app / "wheelhouse" / "linux-python39").glob("*.whl")]
    assert [name.split("-")[0] for name in wheels] == ["cext"], wheels


def test_native_cibuildwheel_for_a_windows_target_points_to_ci(app: Path) -> None:
    result = vendorer("wheelhouse", "--native", "cibuildwheel", cwd=app)
    assert result.returncode == 2
    assert "cibuildwheel builds win_amd64 wheels only on a machine of that kind" in result.stderr
    assert "vendorer native-plan --profile python361x64" in result.stderr


def test_native_cibuildwheel_without_a_container_engine_says_so(
    app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIBW_CONTAINER_ENGINE", "no-such-engine; create_args: --network=host")
    result = vendorer("wheelhouse", "--profile", "linux-python312", "--native", "cibuildwheel",
                      cwd=app)  # fmt: skip
    assert result.returncode == 1
    assert "needs a running container engine (no-such-engine)" in result.stderr


def test_the_users_engine_and_image_settings_win() -> None:
    profile = ProfileCatalog().load("linux-python312")
    ours = cibuildwheel_settings(profile, "podman", {})
    assert ours["CIBW_BUILD"] == "cp312-manylinux_x86_64"
    assert ours["CIBW_CONTAINER_ENGINE"] == "podman; create_args: --network=host"
    assert ours["CIBW_MANYLINUX_X86_64_IMAGE"] == "manylinux_2_28"  # glibc 2.31 on the target
    theirs = cibuildwheel_settings(
        profile,
        "podman",
        {"CIBW_CONTAINER_ENGINE": "docker", "CIBW_MANYLINUX_X86_64_IMAGE": "my/image:1"},
    )
    assert theirs["CIBW_CONTAINER_ENGINE"] == "docker"
    assert theirs["CIBW_MANYLINUX_X86_64_IMAGE"] == "my/image:1"
