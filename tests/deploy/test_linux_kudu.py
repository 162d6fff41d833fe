"""Kudu and a Linux site (issue 12): the routes that run in Kudu's own container are refused with
the way that works, an upload of the lib folder says what undoes it and that the app reads it at
start, and `--restart` restarts the site through OneDeploy's restart. Against the project's
Kudu-compatible server on loopback, with real `python -m vendorer` processes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.cli import make_app, vendorer
from tests.support.dists import make_wheel
from tests.support.index import StaticIndex
from tests.support.kudu import KuduServer

PASSWORD = "s3cret-kudu"
ORYX = "site/wwwroot/__oryx_packages__"


@pytest.fixture
def kudu(tmp_path: Path) -> Iterator[KuduServer]:
    with KuduServer(tmp_path / "home", password=PASSWORD) as server:
        yield server


def _app(
    tmp_path: Path, static_index: Callable[..., StaticIndex], kudu: KuduServer, profile: str
) -> Path:
    """An app of webfw 2.0 (and helper 1.0) for `profile`, built, with a publish profile."""
    dists = tmp_path / "dists"
    make_wheel(dists, "webfw", "2.0", requires_dist=["helper"])
    make_wheel(dists, "helper", "1.0")
    folder = make_app(tmp_path / "app", static_index(dists).url, "webfw", profile=profile)
    (folder / "site.PublishSettings").write_text(
        '<publishData><publishProfile profileName="site - Web Deploy" publishMethod="MSDeploy" '
        f'publishUrl="{kudu.url}" userName="$site" userPWD="{PASSWORD}" /></publishData>',
        encoding="utf-8",
    )
    built = vendorer("build", cwd=folder)
    assert built.returncode == 0, built.stderr
    return folder


@pytest.fixture
def app(tmp_path: Path, static_index: Callable[..., StaticIndex], kudu: KuduServer) -> Path:
    return _app(tmp_path, static_index, kudu, "linux-python312")


def _run(folder: Path, *args: str) -> tuple[int, str]:
    result = vendorer(*args, cwd=folder)
    output = result.stdout + result.stderr
    assert PASSWORD not in output and "Traceback" not in output
    return result.returncode, output


def _upload(folder: Path, *args: str) -> tuple[int, str]:
    return _run(folder, "upload", "--publish-profile", "site.PublishSettings", *args)


def test_wheelhouse_mode_is_refused_on_linux(app: Path, kudu: KuduServer) -> None:
    """pip through /api/command runs in Kudu's container: main sent the wheelhouse and ran it."""
    code, output = _upload(app, "--mode", "wheelhouse")
    assert code == 2, output
    assert "--mode wheelhouse does not work for linux-python312" in output
    assert "Kudu's console runs in a container of its own, not the app's" in output
    assert "vendorer deploy --site NAME --resource-group RG" in output
    assert kudu.count == 0 and kudu.commands == []  # nothing sent
    code, output = _upload(app, "--mode", "wheelhouse", "--print-commands")
    assert code == 2 and "pip install" not in output


def test_capture_through_kudu_is_refused_for_a_linux_profile(app: Path, kudu: KuduServer) -> None:
    code, output = _run(
        app, "profiles", "capture", "linux-python312", "--publish-profile", "site.PublishSettings"
    )
    assert code == 2, output
    assert "linux-python312 is a Linux profile" in output
    assert "az webapp ssh" in output and "profiles capture --from capture.json NAME" in output
    assert kudu.count == 0 and not (kudu.home / "data/vendorer").exists()


def test_capture_through_kudu_is_refused_with_a_linux_python(app: Path, kudu: KuduServer) -> None:
    code, output = _run(app, "profiles", "capture", "mysite", "--publish-profile",
                        "site.PublishSettings", "--python", "/opt/python/3/bin/python")  # fmt: skip
    assert code == 2 and "/opt/python/3/bin/python is a path on Linux" in output
    assert kudu.count == 0


def test_capture_through_kudu_that_finds_linux_writes_nothing(app: Path, kudu: KuduServer) -> None:
    """Neither the name nor the python tell: the script's own answer does."""
    facts = vendorer("profiles", "capture", cwd=app).stdout  # the script, run here (Linux)
    script = app / "capture.py"
    script.write_text(facts, encoding="utf-8")
    kudu.command_result = {
        "Output": subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, check=True
        ).stdout,
        "Error": "",
        "ExitCode": 0,
    }
    code, output = _run(
        app, "profiles", "capture", "mysite", "--publish-profile", "site.PublishSettings"
    )
    assert code == 2, output
    assert "the script ran on linux: nothing was written" in output
    assert not (app / "profiles" / "mysite.toml").exists()


def test_a_vendored_upload_to_linux_says_what_undoes_it(app: Path, kudu: KuduServer) -> None:
    code, output = _upload(app)
    assert code == 0, output
    assert (kudu.home / ORYX / ".vendorer-manifest.json").is_file()
    assert "note: The next deployment undoes this upload: OneDeploy" in output
    assert "cleans wwwroot of what its zip lacks, and any build installs the requirements" in output
    assert "Oryx reads __oryx_packages__ when the container starts: restart the site" in output
    assert "vendorer upload --restart" in output
    assert kudu.restarts == 0


def test_restart_through_onedeploy(app: Path, kudu: KuduServer) -> None:
    (kudu.wwwroot / "app.py").parent.mkdir(parents=True, exist_ok=True)
    (kudu.wwwroot / "app.py").write_text("app = None\n")  # the app's own files stay
    code, output = _upload(app, "--restart")
    assert code == 0, output
    assert kudu.restarts == 1
    assert "restarted the site through Kudu (a OneDeploy of the lib folder's manifest" in output
    assert "Oryx has read __oryx_packages__ again" in output
    assert (kudu.wwwroot / "app.py").read_text() == "app = None\n"  # clean=false
    record = kudu.deployments.records[0]
    assert record.deployer == "OneDeploy" and record.files == [".vendorer-manifest.json"]
    assert (kudu.home / ORYX / "helper" / "__init__.py").is_file()
    local = (app / "__oryx_packages__" / ".vendorer-manifest.json").read_bytes()
    assert (kudu.home / ORYX / ".vendorer-manifest.json").read_bytes() == local


@pytest.mark.parametrize("value", ["true", "1", "True"])
def test_no_restart_through_a_deployment_that_would_build(
    app: Path, kudu: KuduServer, value: str
) -> None:
    kudu.settings["SCM_DO_BUILD_DURING_DEPLOYMENT"] = value
    code, output = _upload(app, "--restart")
    assert code == 2, output
    assert f"SCM_DO_BUILD_DURING_DEPLOYMENT={value} makes every deployment build" in output
    assert kudu.restarts == 0 and kudu.deployments.records == []
    assert not (kudu.wwwroot / "antenv").exists()
    assert not (kudu.home / ORYX).exists()  # refused before anything was sent


@pytest.mark.parametrize("leftover", ["antenv", "oryx-manifest.toml"])
def test_no_restart_while_an_oryx_build_is_in_wwwroot(
    app: Path, kudu: KuduServer, leftover: str
) -> None:
    kudu.wwwroot.mkdir(parents=True, exist_ok=True)
    if leftover == "antenv":
        (kudu.wwwroot / "antenv").mkdir()
    else:
        (kudu.wwwroot / leftover).write_text('virtualEnvName = "antenv"\n')
    code, output = _upload(app, "--restart")
    assert code == 2, output
    assert f"wwwroot holds {leftover}, what an Oryx build leaves" in output
    assert kudu.restarts == 0 and kudu.deployments.records == []
    assert not (kudu.home / ORYX).exists()
    assert (kudu.wwwroot / leftover).exists()  # a push deployment would have deleted the manifest


def test_no_restart_of_a_site_that_runs_from_a_package(app: Path, kudu: KuduServer) -> None:
    kudu.settings["WEBSITE_RUN_FROM_PACKAGE"] = "1"
    code, output = _upload(app, "--restart")
    assert code == 2 and "the site runs from a package (WEBSITE_RUN_FROM_PACKAGE)" in output
    assert kudu.restarts == 0


def test_restart_when_another_deployment_runs(app: Path, kudu: KuduServer) -> None:
    assert kudu.deployments.lock.acquire(blocking=False)  # a deployment holds the site
    try:
        code, output = _upload(app, "--restart")
    finally:
        kudu.deployments.lock.release()
    assert code == 1, output
    assert "another deployment is running on it" in output and "az webapp restart" in output


def test_restart_is_for_linux_sites(
    tmp_path: Path, static_index: Callable[..., StaticIndex], kudu: KuduServer
) -> None:
    folder = _app(tmp_path, static_index, kudu, "python361x64")
    code, output = _upload(folder, "--restart")
    assert code == 2 and "--restart is for --mode vendored on a Linux site" in output
    assert kudu.count == 0


def test_console_steps_for_linux_end_with_a_restart(app: Path) -> None:
    code, output = _run(app, "upload", "--print-commands")
    assert code == 0 and "3. restart the site" in output


def test_functions_upload_names_the_worker(
    tmp_path: Path, static_index: Callable[..., StaticIndex], kudu: KuduServer
) -> None:
    folder = _app(tmp_path, static_index, kudu, "functions-python311")
    code, output = _upload(folder)
    assert code == 0, output
    manifest = kudu.home / "site/wwwroot/.python_packages/lib/site-packages/.vendorer-manifest.json"
    assert json.loads(manifest.read_text())["profile"] == "functions-python311"
    assert (
        "The Functions worker reads .python_packages/lib/site-packages when the container" in output
    )
