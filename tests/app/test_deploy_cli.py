"""`vendorer package` and `vendorer deploy` as a user runs them: a real process, an app built by
`vendorer build` from a loopback index, and one site per plan on loopback (the ARM stand-in
through the real azure-mgmt-web and azure-identity's Azure CLI credential with a fake `az`, the
Kudu stand-in, the app's own server, Azurite for run-from-package)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.arm import ArmServer
from tests.support.azure import AzureSite
from tests.support.azurite import Azurite
from tests.support.cli import vendorer
from tests.support.dists import make_wheel
from tests.support.entra import SCM_AUDIENCE, FakeAz, StandInCredential
from tests.support.index import StaticIndex
from tests.support.kudu import KuduServer

APP_PY = "from tinywsgi import App\n\napp = App('hello')\n"
FUNCTION_APP = "import azure.functions as func\n\napp = func.FunctionApp()\n"
FUNCTIONS_FILES = {"function_app.py": FUNCTION_APP, "host.json": '{"version": "2.0"}\n'}


@pytest.fixture
def index(dist_dir: Path, static_index: Callable[..., StaticIndex]) -> StaticIndex:
    make_wheel(dist_dir, "tinywsgi", "1.0", files={"tinywsgi/__init__.py": "App = dict\n"})
    return static_index(dist_dir)


@pytest.fixture
def signed_in(fake_az: FakeAz, arm_server: ArmServer, monkeypatch: pytest.MonkeyPatch) -> ArmServer:
    """`az login` done (the fake az), ARM on loopback, the subscription in the environment."""
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "AzureCliCredential")
    monkeypatch.setenv("VENDORER_ARM_ENDPOINT", arm_server.url)
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", arm_server.subscription)
    for name in ("VENDORER_KUDU_URL", "VENDORER_KUDU_USER", "VENDORER_KUDU_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return arm_server


def built_app(folder: Path, index: StaticIndex, profile: str, files: dict[str, str]) -> Path:
    """An app with `files`, built by `vendorer build` for `profile`."""
    files = {
        "pyproject.toml": f'[tool.vendorer]\nprofile = "{profile}"\nindex-url = "{index.url}"\n',
        "requirements.txt": "tinywsgi\n",
        **files,
    }
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    done = vendorer("build", "--app", str(folder))
    assert done.returncode == 0, done.stderr
    return folder


def deploy(app: Path, site: AzureSite, *more: str) -> subprocess.CompletedProcess[str]:
    return vendorer(
        "deploy", "--app", str(app), "--site", site.name, "-g", site.resource_group,
        "--health-timeout", "20", *more,
    )  # fmt: skip


def shown(done: subprocess.CompletedProcess[str], *secrets: str) -> str:
    """What the run printed, with no traceback and none of `secrets` in it."""
    text = done.stdout + done.stderr
    assert "Traceback" not in text, text
    for secret in secrets:
        assert secret not in text, text
    return text


def files_in(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}


def posts(site: AzureSite) -> list[str]:
    return [path for method, path in site.kudu.requests if method == "POST"]


# --- vendorer package ----------------------------------------------------------------------------


def test_package_writes_the_zip_beside_the_wheelhouse_and_lists_what_stays_out(
    tmp_path: Path, index: StaticIndex
) -> None:
    app = built_app(tmp_path / "app", index, "linux-python311", {"app.py": APP_PY, ".env": "K=1"})
    listed = vendorer("package", "--app", str(app), "--list")
    assert listed.returncode == 0, listed.stderr
    names = listed.stdout.split()
    assert "app.py" in names and "__oryx_packages__/tinywsgi/__init__.py" in names
    assert "left out .env: " in listed.stderr and "left out wheelhouse/: " in listed.stderr
    assert not (app / "wheelhouse" / "linux-python311.zip").exists()  # --list writes nothing
    done = vendorer("package", "--app", str(app))
    assert done.returncode == 0, done.stderr
    package = app / "wheelhouse" / "linux-python311.zip"
    assert f"wrote {package} (" in shown(done)
    assert set(zipfile.ZipFile(package).namelist()) >= set(names)
    again = vendorer("package", "--app", str(app), "-o", str(tmp_path / "again.zip"))
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "again.zip").read_bytes() == package.read_bytes()  # reproducible


def test_package_refuses_a_lib_folder_that_drifted(tmp_path: Path, index: StaticIndex) -> None:
    app = built_app(tmp_path / "app", index, "linux-python311", {"app.py": APP_PY})
    (app / "__oryx_packages__" / "tinywsgi" / "__init__.py").write_text("App = list\n")
    done = vendorer("package", "--app", str(app))
    assert done.returncode == 1
    assert "nothing was packaged: fix the drifts above" in shown(done)
    assert not (app / "wheelhouse" / "linux-python311.zip").exists()
    forced = vendorer("package", "--app", str(app), "--no-check")
    assert forced.returncode == 0, forced.stderr


# --- vendorer deploy, one plan after another -----------------------------------------------------


def test_app_service_linux_by_onedeploy_then_a_page(
    tmp_path: Path,
    index: StaticIndex,
    signed_in: ArmServer,
    azure_site: Callable[..., AzureSite],
    azure_credential: StandInCredential,
) -> None:
    app = built_app(tmp_path / "app", index, "linux-python311", {"app.py": APP_PY})
    site = azure_site("linux", python="3.11")
    site.app.starting_requests = 1
    done = deploy(app, site)
    text = shown(done, azure_credential.token(SCM_AUDIENCE))
    assert done.returncode == 0, text
    assert posts(site) == ["/api/publish?type=zip&async=true&clean=true"]
    assert set(site.kudu.auth_schemes) == {"Bearer"}
    assert {"app.py", "__oryx_packages__/tinywsgi/__init__.py"} <= files_in(site.kudu.wwwroot)
    assert f"deployed to {site.name} (app-service-linux) by OneDeploy (" in text
    assert f"{site.app.url}/ answered HTTP 200 after" in text
    said = [
        text.index("wrote "),  # the package, before anything is sent
        text.index(f"deploying linux-python311.zip to {site.name} (OneDeploy)"),
        text.index("  Deployment successful"),  # the deployment's own progress, a line a step
        text.index("deployed to "),
    ]
    assert said == sorted(said), text
    assert site.app.requests == ["/", "/"]  # 503 while it started, then the page


def test_a_site_that_would_build_is_left_alone_unless_fix_settings(
    tmp_path: Path, index: StaticIndex, signed_in: ArmServer, azure_site: Callable[..., AzureSite]
) -> None:
    app = built_app(tmp_path / "app", index, "linux-python311", {"app.py": APP_PY})
    site = azure_site("linux", python="3.11", settings={"SCM_DO_BUILD_DURING_DEPLOYMENT": "true"})
    (site.kudu.wwwroot / "antenv" / "bin").mkdir(parents=True)  # a past Oryx build's
    refused = deploy(app, site)
    text = shown(refused)
    assert refused.returncode == 1
    assert "the site would undo the deployment, so nothing was sent" in text
    assert "--fix-settings takes care of: SCM_DO_BUILD_DURING_DEPLOYMENT, " in text
    assert "/home/site/wwwroot/antenv on the server" in text
    assert posts(site) == [] and site.site.settings["SCM_DO_BUILD_DURING_DEPLOYMENT"] == "true"
    fixed = deploy(app, site, "--fix-settings")
    text = shown(fixed)
    assert fixed.returncode == 0, text
    assert site.site.settings["SCM_DO_BUILD_DURING_DEPLOYMENT"] == "false"
    assert "app setting SCM_DO_BUILD_DURING_DEPLOYMENT=false (" in text
    assert "removed site/wwwroot/antenv from the site" in text
    assert not (site.kudu.wwwroot / "antenv").exists()  # removed, and no Oryx build ran
    assert "__oryx_packages__/tinywsgi/__init__.py" in files_in(site.kudu.wwwroot)


def test_a_site_with_another_python_is_refused_with_the_command_that_changes_it(
    tmp_path: Path, index: StaticIndex, signed_in: ArmServer, azure_site: Callable[..., AzureSite]
) -> None:
    app = built_app(tmp_path / "app", index, "linux-python311", {"app.py": APP_PY})
    site = azure_site("linux", python="3.12")
    for options in ((), ("--fix-settings",)):
        done = deploy(app, site, *options)
        text = shown(done)
        assert done.returncode == 1 and posts(site) == []
        assert "linuxFxVersion says Python 3.12" in text
        assert "--linux-fx-version 'PYTHON|3.11'" in text


@pytest.mark.parametrize(
    ("standin", "route", "sent"),
    [
        ("functions-flex", "Flex Consumption publish", "/api/publish?RemoteBuild=false"),
        ("functions-dedicated", "zipdeploy", "/api/zipdeploy?isAsync=true"),
    ],
)
def test_functions_by_the_plans_kudu_route(
    tmp_path: Path,
    index: StaticIndex,
    *,
    signed_in: ArmServer,
    azure_site: Callable[..., AzureSite],
    standin: str,
    route: str,
    sent: str,
) -> None:
    app = built_app(tmp_path / "app", index, "functions-python311", FUNCTIONS_FILES)
    site = azure_site(standin, python="3.11", settings={"ENABLE_ORYX_BUILD": "true"})
    done = deploy(app, site, "--fix-settings", "--health-path", "/api/hello")
    text = shown(done)
    assert done.returncode == 0, text
    assert posts(site) == [sent]
    assert f"by {route} (" in text
    assert "ENABLE_ORYX_BUILD" not in site.site.settings
    assert site.app.requests[-1] == "/api/hello"


@pytest.mark.parametrize("standin", ["functions-premium", "functions-consumption"])
def test_functions_premium_and_consumption_run_from_a_blob(
    tmp_path: Path,
    index: StaticIndex,
    *,
    signed_in: ArmServer,
    azure_site: Callable[..., AzureSite],
    module_azurite: Azurite,
    standin: str,
) -> None:
    app = built_app(tmp_path / "app", index, "functions-python311", FUNCTIONS_FILES)
    storage = module_azurite.connection_string
    site = azure_site(standin, python="3.11", storage=storage)
    done = deploy(app, site)
    text = shown(done, storage, "sig=")
    assert done.returncode == 0, text
    assert posts(site) == [] and site.site.syncs == ["host/default/sync"]
    assert f"by run-from-package ({module_azurite.blob_endpoint}/function-releases/" in text
    assert site.app.package_status == 200
    assert ".python_packages/lib/site-packages/tinywsgi/__init__.py" in site.app.package_files


def test_windows_site_extension_by_zipdeploy_with_a_publish_profile(
    tmp_path: Path, index: StaticIndex, signed_in: ArmServer
) -> None:
    app = built_app(tmp_path / "app", index, "python361x64", {"app.py": APP_PY})
    assert vendorer("webconfig", "--app", str(app), "--wsgi-handler", "app.app").returncode == 0
    with KuduServer(tmp_path / "home", password="Pa55-w0rd-kudu") as kudu:
        settings = tmp_path / "site.PublishSettings"
        settings.write_text(
            '<publishData><publishProfile publishMethod="MSDeploy" '
            f'publishUrl="{kudu.url}" userName="$site" userPWD="Pa55-w0rd-kudu" /></publishData>'
        )
        done = vendorer(
            "deploy", "--app", str(app), "--publish-profile", str(settings), "--no-health-check"
        )
        text = shown(done, "Pa55-w0rd-kudu")
        assert done.returncode == 0, text
        assert [path for method, path in kudu.requests if method == "POST"] == [
            "/api/zipdeploy?isAsync=true"
        ]
        assert {"web.config", "lib/tinywsgi/__init__.py"} <= files_in(kudu.wwwroot)
        assert "by zipdeploy (" in text


# --- what is refused before anything is sent ------------------------------------------------------


def test_a_profile_for_another_platform_is_refused(
    tmp_path: Path, index: StaticIndex, signed_in: ArmServer, azure_site: Callable[..., AzureSite]
) -> None:
    app = built_app(tmp_path / "app", index, "linux-python311", {"app.py": APP_PY})
    site = azure_site("functions-flex", python="3.11")
    done = deploy(app, site)
    text = shown(done)
    assert done.returncode == 1 and posts(site) == []
    assert f"site {site.name} is on functions-flex, but linux-python311 is a profile for " in text


def test_a_drifted_app_is_not_sent(
    tmp_path: Path, index: StaticIndex, signed_in: ArmServer, azure_site: Callable[..., AzureSite]
) -> None:
    app = built_app(tmp_path / "app", index, "linux-python311", {"app.py": APP_PY})
    (app / "requirements.txt").write_text("tinywsgi\nflask\n")
    site = azure_site("linux", python="3.11")
    done = deploy(app, site)
    assert done.returncode == 1 and posts(site) == []
    assert "nothing was packaged: fix the drifts above" in shown(done)


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ((), "which site? --site NAME --resource-group RG"),
        (("--site", "web"), "--site needs --resource-group"),
        (("--site", "web", "-g", "rg", "--plan", "functions-flex"), "--plan is for a site named"),
        (("--timeout", "soon"), "'soon' is not a number of seconds"),
        (("--publish-profile", "x", "--plan", "app-service-mac"), "functions-flex: Flex Consu"),
        (("--health-path", "https://elsewhere/"), "give a path on the site"),
    ],
)
def test_options_that_name_no_site_are_usage_errors(
    tmp_path: Path,
    index: StaticIndex,
    signed_in: ArmServer,
    options: tuple[str, ...],
    said: str,
) -> None:
    app = built_app(tmp_path / "app", index, "linux-python311", {"app.py": APP_PY})
    if said.startswith("give a path"):
        options = ("--site", "nosuchsite", "-g", "rg", *options)
    done = vendorer("deploy", "--app", str(app), *options)
    assert done.returncode == 2, shown(done)
    assert said in shown(done)


def test_a_site_or_group_that_is_not_there_is_named(
    tmp_path: Path, index: StaticIndex, signed_in: ArmServer, azure_site: Callable[..., AzureSite]
) -> None:
    app = built_app(tmp_path / "app", index, "linux-python311", {"app.py": APP_PY})
    group = azure_site("linux", python="3.11").resource_group
    done = vendorer("deploy", "--app", str(app), "--site", "nosuchsite", "-g", group)
    assert done.returncode == 1
    assert "nosuchsite" in shown(done) and "--site" in shown(done)
    done = vendorer("deploy", "--app", str(app), "--site", "nosuchsite", "-g", "nosuchgroup")
    assert done.returncode == 1
    assert "resource group nosuchgroup not found" in shown(done)


def test_one_settings_write_for_the_fix_and_the_package_on_run_from_package(
    tmp_path: Path,
    index: StaticIndex,
    signed_in: ArmServer,
    azure_site: Callable[..., AzureSite],
    module_azurite: Azurite,
) -> None:
    app = built_app(tmp_path / "app", index, "functions-python311", FUNCTIONS_FILES)
    build = {"SCM_DO_BUILD_DURING_DEPLOYMENT": "1", "XDG_CACHE_HOME": "/tmp/.cache"}
    site = azure_site(
        "functions-premium", python="3.11", storage=module_azurite.connection_string, settings=build
    )
    assert deploy(app, site).returncode == 1  # the build setting: nothing sent
    assert not any(request.method == "PUT" for request in signed_in.requests)
    done = deploy(app, site, "--fix-settings")
    assert done.returncode == 0, shown(done)
    assert [request.method for request in signed_in.requests].count("PUT") == 1  # one restart
    settings = site.site.settings
    assert "SCM_DO_BUILD_DURING_DEPLOYMENT" not in settings  # removed, as Core Tools does
    assert "XDG_CACHE_HOME" not in settings
    assert settings["WEBSITE_RUN_FROM_PACKAGE"].startswith(module_azurite.blob_endpoint)


def test_a_site_that_does_not_start_fails_the_deploy_with_where_to_look(
    tmp_path: Path, index: StaticIndex, signed_in: ArmServer, azure_site: Callable[..., AzureSite]
) -> None:
    app = built_app(tmp_path / "app", index, "linux-python311", {"app.py": APP_PY})
    site = azure_site("linux", python="3.11")
    site.app.status = 500
    done = vendorer(
        "deploy", "--app", str(app), "--site", site.name, "-g", site.resource_group,
        "--health-timeout", "1",
    )  # fmt: skip
    text = shown(done)
    assert done.returncode == 1 and len(posts(site)) == 1  # deployed, but it does not start
    assert "still answered HTTP 500" in text and "az webapp log tail --name" in text


def test_a_linux_site_through_its_publish_profile(
    tmp_path: Path, index: StaticIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = built_app(tmp_path / "app", index, "linux-python311", {"app.py": APP_PY})
    with KuduServer(tmp_path / "home", password="Pa55-w0rd-kudu") as kudu:
        monkeypatch.setenv("VENDORER_KUDU_URL", kudu.url)
        monkeypatch.setenv("VENDORER_KUDU_USER", "$site")
        monkeypatch.setenv("VENDORER_KUDU_PASSWORD", "Pa55-w0rd-kudu")
        kudu.settings["SCM_DO_BUILD_DURING_DEPLOYMENT"] = "true"
        refused = vendorer("deploy", "--app", str(app), "--fix-settings", "--no-health-check")
        text = shown(refused, "Pa55-w0rd-kudu")
        assert refused.returncode == 1 and "only for a site named through Azure" in text
        del kudu.settings["SCM_DO_BUILD_DURING_DEPLOYMENT"]
        done = vendorer("deploy", "--app", str(app), "--no-health-check")
        text = shown(done, "Pa55-w0rd-kudu")
        assert done.returncode == 0, text
        assert "by OneDeploy (" in text and "appCommandLine" not in text  # Oryx finds app.py
        assert "__oryx_packages__/tinywsgi/__init__.py" in files_in(kudu.wwwroot)


def test_package_never_creates_the_folder_of_an_output_it_is_given(
    tmp_path: Path, index: StaticIndex
) -> None:
    app = built_app(tmp_path / "app", index, "linux-python311", {"app.py": APP_PY})
    done = vendorer("package", "--app", str(app), "-o", str(tmp_path / "nowhere" / "app.zip"))
    assert done.returncode == 2 and not (tmp_path / "nowhere").exists()
    assert "does not exist; create it first" in shown(done)


def test_windows_site_extension_through_azure(
    tmp_path: Path, index: StaticIndex, signed_in: ArmServer, azure_site: Callable[..., AzureSite]
) -> None:
    app = built_app(tmp_path / "app", index, "python361x64", {"app.py": APP_PY})
    assert vendorer("webconfig", "--app", str(app), "--wsgi-handler", "app.app").returncode == 0
    site = azure_site("windows", settings={"SCM_DO_BUILD_DURING_DEPLOYMENT": "1"})
    done = deploy(app, site, "--fix-settings")
    text = shown(done)
    assert done.returncode == 0, text
    assert posts(site) == ["/api/zipdeploy?isAsync=true"]
    assert site.site.settings["SCM_DO_BUILD_DURING_DEPLOYMENT"] == "false"
    assert "lib" in (site.kudu.wwwroot / "web.config").read_text()
    assert "lib/tinywsgi/__init__.py" in files_in(site.kudu.wwwroot)


# --- upload and kudu run through Azure ----------------------------------------------------------


def test_upload_through_azure_sends_a_token_and_restarts_through_arm(
    tmp_path: Path,
    index: StaticIndex,
    signed_in: ArmServer,
    azure_site: Callable[..., AzureSite],
    azure_credential: StandInCredential,
) -> None:
    """Basic auth is off on the stand-in's SCM site, as on new apps: only the token gets in."""
    app = built_app(tmp_path / "app", index, "linux-python311", {"app.py": APP_PY})
    site = azure_site("linux", python="3.11", settings={"SCM_DO_BUILD_DURING_DEPLOYMENT": "1"})
    done = vendorer(
        "upload", "--app", str(app), "--site", site.name, "-g", site.resource_group, "--restart"
    )
    text = shown(done, azure_credential.token(SCM_AUDIENCE))
    assert done.returncode == 0, text
    assert set(site.kudu.auth_schemes) == {"Bearer"}
    assert (site.kudu.wwwroot / "__oryx_packages__" / "tinywsgi" / "__init__.py").is_file()
    assert "restarted the site through Azure Resource Manager" in text
    assert site.site.restarts == 1 and site.app.restarts == 1 and posts(site) == []
    ran = vendorer(
        "kudu", "run", "--site", site.name, "-g", site.resource_group, "--", "echo", "hello"
    )
    assert ran.returncode == 0, shown(ran)
    assert [command["command"] for command in site.kudu.commands] == ["echo hello"]


def test_upload_restart_through_arm_still_refuses_a_site_oryx_would_pass_over(
    tmp_path: Path, index: StaticIndex, signed_in: ArmServer, azure_site: Callable[..., AzureSite]
) -> None:
    app = built_app(tmp_path / "app", index, "linux-python311", {"app.py": APP_PY})
    site = azure_site("linux", python="3.11")
    (site.kudu.wwwroot / "antenv").mkdir(parents=True)
    done = vendorer(
        "upload", "--app", str(app), "--site", site.name, "-g", site.resource_group, "--restart"
    )
    assert done.returncode == 2 and "wwwroot holds antenv" in shown(done)
    assert site.site.restarts == 0 and not (site.kudu.wwwroot / "__oryx_packages__").exists()


def test_a_site_is_named_one_way(tmp_path: Path) -> None:
    settings = tmp_path / "site.PublishSettings"
    for options, said in (
        (
            ("--site", "web", "-g", "rg", "--publish-profile", str(settings)),
            "name the site one way",
        ),
        (("-g", "rg"), "--resource-group and --subscription go with --site NAME"),
        (("--site", " ", "-g", "rg"), "--site ' ': a site's name is 1 to 60 letters"),
        (("--site", "a/../b", "-g", "rg"), "--site 'a/../b': a site's name is"),
        (("--site", "web\x01", "-g", "rg"), "a site's name is"),
        (("--site", "web", "-g", "rg."), "--resource-group 'rg.': a resource group's name"),
        (("--site", "web", "-g", "rg", "--subscription", "mine"), "a subscription is its ID"),
    ):
        done = vendorer("kudu", "run", *options, "--", "echo")
        assert done.returncode == 2 and said in shown(done)


def test_an_interrupted_deploy_says_the_site_may_go_on(
    tmp_path: Path, index: StaticIndex, signed_in: ArmServer, azure_site: Callable[..., AzureSite]
) -> None:
    app = built_app(tmp_path / "app", index, "linux-python311", {"app.py": APP_PY})
    site = azure_site("linux", python="3.11")
    site.kudu.deploy_hangs = True  # the deployment never ends: vendorer polls until interrupted
    command = [sys.executable, "-m", "vendorer", "deploy", "--app", str(app), "--site", site.name,
               "-g", site.resource_group]  # fmt: skip
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as run:
        deadline = time.monotonic() + 60
        while not posts(site) and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.05)
        time.sleep(0.5)  # polling now
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=60)
    assert run.returncode == 130, err
    assert "Traceback" not in out + err
    assert f"interrupted while deploying to {site.name}: what reached the site may go on" in err
    assert f"{site.kudu.url}/api/deployments/latest" in err
