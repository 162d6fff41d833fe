"""The application layer: one project per command, one index client per run, steps that say what
they did as they go; against a real index on loopback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import make_app, vendorer
from tests.support.dists import make_native_sdist, make_wheel
from tests.support.index import StaticIndex
from tests.support.scenario import WIN36
from vendorer.app.building import BuildRequest, build_app
from vendorer.app.locking import LockResult
from vendorer.app.project import ProjectChoices, load_project
from vendorer.app.reporting import StepReporter
from vendorer.app.workflow import WheelhouseResult
from vendorer.errors import UsageError
from vendorer.report import DOWNLOAD, NULL_REPORTER, RESOLVE
from vendorer.target.profile import Profile


def _native_index(tmp_path: Path, static_index: Callable[..., StaticIndex]) -> StaticIndex:
    """cext 1.0 only as a native sdist; 0.9 has a wheel for the target."""
    dists = tmp_path / "dists"
    make_native_sdist(dists, "cext", "1.0")
    make_wheel(dists, "cext", "0.9", tag=WIN36)
    make_wheel(dists, "webfw", "2.0", requires_dist=["cext==1.0"])
    return static_index(dists)


def test_a_run_asks_the_index_for_a_page_once(
    tmp_path: Path, static_index: Callable[..., StaticIndex]
) -> None:
    """The lock and the wheelhouse share one index client: the page the lock read serves the
    advice for the native sdist too (two clients ask twice)."""
    index = _native_index(tmp_path, static_index)
    app = make_app(tmp_path / "app", index.url, "webfw")
    result = vendorer("build", cwd=app)
    assert result.returncode == 1
    assert "pin the newest version with a wheel for cp36-cp36m-win_amd64: cext==0.9" in (
        result.stderr
    )
    assert index.paths("/simple/cext/") == ["/simple/cext/"]
    assert index.paths("/simple/webfw/") == ["/simple/webfw/"]


class Recorder(StepReporter):
    """A reporter that remembers what the steps told it, in order."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def started(self, task: str, *, title: str, total: int | None = None) -> None:
        if task == RESOLVE:
            self.events.append(title)
        elif task == DOWNLOAD:
            self.events.append(f"filling {total}")

    def advanced(self, task: str, *, item: str = "", size: int = 0) -> None:
        if task == RESOLVE:
            self.events.append(f"pin {item}")
        elif item:
            self.events.append(f"file {item}")

    def locked(self, result: LockResult, *, dry_run: bool) -> None:
        self.events.append(f"locked {len(result.lock.packages)} changed={result.changed}")

    def filled(self, result: WheelhouseResult, profile: Profile) -> None:
        self.events.append(f"filled {len(result.report.wheels)} complete={result.complete}")

    def notice(self, message: str) -> None:
        self.events.append(message)


def test_build_says_each_step_as_it_ends_and_skips_vendoring_with_native_sdists_left(
    tmp_path: Path, static_index: Callable[..., StaticIndex]
) -> None:
    index = _native_index(tmp_path, static_index)
    app = make_app(tmp_path / "app", index.url, "webfw")
    project = load_project(ProjectChoices(app=app), NULL_REPORTER)
    recorder = Recorder()
    run = build_app(project, BuildRequest(), recorder)
    assert run.vendored is None and not run.wheelhouse.complete
    assert recorder.events[0] == "resolving for python361x64"
    assert "pin webfw 2.0" in recorder.events and "pin cext 1.0" in recorder.events
    assert recorder.events[-4:] == [
        "locked 2 changed=True",
        "filling 2",
        "file webfw-2.0-py3-none-any.whl",
        "filled 1 complete=False",
    ]
    assert not (app / "lib").exists()


def test_the_lib_dir_comes_from_the_command_line_then_the_config_then_the_profile(
    tmp_path: Path,
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    pyproject = app / "pyproject.toml"
    pyproject.write_text('[tool.vendorer]\nprofile = "python361x64"\n', encoding="utf-8")

    def lib_dir(given: str | None) -> str:
        return load_project(ProjectChoices(app=app, lib_dir=given), NULL_REPORTER).lib_dir

    assert lib_dir(None) == "lib"  # the profile's
    pyproject.write_text(
        '[tool.vendorer]\nprofile = "python361x64"\nlib-dir = "vendored"\n', encoding="utf-8"
    )
    assert lib_dir(None) == "vendored"
    assert lib_dir("site/libs") == "site/libs"
    assert lib_dir(str(app / "abs")) == "abs"  # an absolute path inside the app: made relative
    with pytest.raises(UsageError, match="no target profile"):
        load_project(ProjectChoices(app=tmp_path), NULL_REPORTER)


def test_a_lib_dir_outside_the_app_fails_only_the_steps_that_use_it(
    tmp_path: Path, dist_dir: Path, static_index: Callable[..., StaticIndex]
) -> None:
    index = static_index(dist_dir)
    app = make_app(tmp_path / "app", index.url)
    with (app / "pyproject.toml").open("a", encoding="utf-8") as file:
        file.write('lib-dir = "../elsewhere"\n')
    assert vendorer("lock", cwd=app).returncode == 0
    check = vendorer("check", cwd=app)
    assert check.returncode == 2 and "is not inside the app" in check.stderr
