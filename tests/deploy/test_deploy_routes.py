"""The Kudu side of `vendorer deploy` against the loopback stand-ins: each plan's route end to end,
the deployment followed to its end (its failure, a deadline, a conflict, a lost answer), Basic
and Bearer auth, the preflight that stops a deployment the site would undo, the health check."""

from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from tests.support.azure import AzureSite
from tests.support.dists import make_wheel
from tests.support.entra import SCM_AUDIENCE, StandInCredential, token_for
from tests.support.kudu import FlexKuduServer, KuduServer
from vendorer.deploy.deployments import (
    DeploymentConflict,
    DeploymentFailed,
    DeploymentOutcomeUnknown,
    DeploymentTimedOut,
)
from vendorer.deploy.health import HealthCheckFailed, HealthOptions, check_health
from vendorer.deploy.kudu import KuduClient, KuduError
from vendorer.deploy.kudu_credentials import Credentials, bearer_credentials
from vendorer.deploy.package import package_app
from vendorer.deploy.polling import WaitOptions
from vendorer.deploy.preflight import (
    PreflightFailed,
    ServerCleanup,
    SettingChange,
    clean_server,
    inspect_site,
    preflight,
    settings_changes,
)
from vendorer.deploy.routes import (
    NotAKuduRoute,
    deploy_package,
    route_for,
    site_through_kudu,
)
from vendorer.deploy.site import Site, SiteRef
from vendorer.errors import ConfigError, UsageError
from vendorer.install.vendor import vendor
from vendorer.report import Reporter
from vendorer.target.catalog import ProfileCatalog

PASSWORD = "s3cret-kudu-pw"
FAST = WaitOptions(interval=0.05, timeout=20, appear=3)
APP = {"app.py": b"app = 'hello'\n", "requirements.txt": b"tinywsgi\n"}
CATALOG = ProfileCatalog()
REF = SiteRef(name="standin-app", resource_group="standin-rg", subscription="sub-1")


class Recorder(Reporter):
    """Every call a step made, and every text it said (to look for secrets)."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.notices: list[str] = []
        self.warnings: list[str] = []
        self.sizes: list[int] = []
        self.started_tasks: list[str] = []
        self.finished_tasks: list[str] = []
        self._lock = threading.Lock()

    def started(self, task: str, *, title: str, total: int | None = None) -> None:
        self.started_tasks.append(task)
        self.items.append(title)

    def advanced(self, task: str, *, item: str = "", size: int = 0) -> None:
        with self._lock:
            if item:
                self.items.append(item)
            if size:
                self.sizes.append(size)

    def finished(self, task: str) -> None:
        self.finished_tasks.append(task)

    def notice(self, message: str) -> None:
        self.notices.append(message)

    def warning(self, message: str) -> None:
        self.warnings.append(message)

    def said(self) -> str:
        return "\n".join(self.items + self.notices + self.warnings)


def make_zip(folder: Path, files: dict[str, bytes], name: str = "app.zip") -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    path = folder / name
    path.write_bytes(buffer.getvalue())
    return path


def tree(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}


def posts(server: KuduServer) -> list[str]:
    return [path for method, path in server.requests if method == "POST"]


def basic(server: KuduServer) -> KuduClient:
    credentials = Credentials(url=server.url, user="$site", password=PASSWORD)
    return KuduClient(credentials, backoff=0)


def site_of(server: KuduServer, plan: str, **fields: object) -> Site:
    values: dict[str, object] = {
        "name": "standin-app",
        "plan": plan,
        "scm_url": server.url,
        "settings": dict(server.settings),
    }
    values.update(fields)
    return Site(**values)  # type: ignore[arg-type]


@pytest.fixture
def kudu(tmp_path: Path) -> Iterator[KuduServer]:
    with KuduServer(tmp_path / "home", password=PASSWORD) as server:
        yield server


@pytest.fixture
def flex(tmp_path: Path) -> Iterator[tuple[FlexKuduServer, str]]:
    token = token_for(SCM_AUDIENCE)
    with FlexKuduServer(tmp_path / "home", tokens=[token]) as server:
        yield server, token


def vendored_app(tmp_path: Path, profile_name: str, lib_dir: str, files: dict[str, str]) -> Path:
    """An app whose lib folder the vendor step filled, with the app's own files."""
    app = tmp_path / "app"
    for name, text in files.items():
        (app / name).parent.mkdir(parents=True, exist_ok=True)
        (app / name).write_text(text, encoding="utf-8")
    wheel = make_wheel(
        tmp_path / "dists", "tinywsgi", "1.0", files={"tinywsgi/__init__.py": "NAME = 'tiny'\n"}
    )
    profile = CATALOG.load(profile_name)
    vendor({canonicalize_name("tinywsgi"): wheel}, profile, app / lib_dir, lock_hash="sha256:0")
    return app


# --- each route end to end -------------------------------------------------------------------


def test_app_service_linux_end_to_end_with_a_bearer_token(
    tmp_path: Path, azure_site: Callable[..., AzureSite], azure_credential: StandInCredential
) -> None:
    """A vendored app packaged, checked, sent by OneDeploy with an Entra ID token, followed to
    its end; the app restarts (503 while it starts) and then answers 200."""
    app = vendored_app(tmp_path, "linux-python311", "__oryx_packages__", {"app.py": "app = 1\n"})
    profile = CATALOG.load("linux-python311")
    package = package_app(app, profile, "__oryx_packages__", tmp_path / "app.zip").plan.output
    azure = azure_site("linux", python="3.11")
    azure.app.starting_requests = 2
    asked: list[str] = []

    def token() -> str:
        asked.append("token")
        return azure_credential.token(SCM_AUDIENCE)

    site = app_site(azure, startup_command="", ref=REF)
    assert site.linux_fx_version == "PYTHON|3.11"
    reporter = Recorder()
    with KuduClient(bearer_credentials(azure.kudu.url, token)) as client:
        problems = inspect_site(client, site, package, python="3.11", lib_dir="__oryx_packages__")
        assert problems == ()
        result = deploy_package(client, site, package, options=FAST, reporter=reporter)
    assert (result.plan, result.route, result.deployment.status) == (
        "app-service-linux", "OneDeploy", 4
    )  # fmt: skip
    assert not result.answer_lost
    assert posts(azure.kudu) == ["/api/publish?type=zip&async=true&clean=true"]
    assert set(azure.kudu.auth_schemes) == {"Bearer"} and len(asked) == len(azure.kudu.requests)
    assert tree(azure.kudu.wwwroot) == set(zipfile.ZipFile(package).namelist()) - {
        name for name in zipfile.ZipFile(package).namelist() if name.endswith("/")
    }
    assert "__oryx_packages__/tinywsgi/__init__.py" in tree(azure.kudu.wwwroot)
    assert sum(reporter.sizes) == package.stat().st_size
    assert any("Deployment successful" in item for item in reporter.items)
    assert reporter.started_tasks == ["deploy", "upload"] == reporter.finished_tasks[::-1]
    health = check_health(site, HealthOptions(interval=0.05, timeout=10), reporter)
    assert (health.status, health.tries, health.ok) == (200, 3, True)
    assert azure.app.requests == ["/", "/", "/"] and azure.app.restarts == 1
    assert "503" in reporter.notices[0]
    assert azure_credential.token(SCM_AUDIENCE) not in reporter.said()


def test_app_service_windows_takes_zipdeploy_with_basic_auth(
    tmp_path: Path, kudu: KuduServer
) -> None:
    package = make_zip(tmp_path, {**APP, "web.config": b"<configuration/>"})
    reporter = Recorder()
    with basic(kudu) as client:
        result = deploy_package(
            client, site_of(kudu, "app-service-windows"), package, options=FAST, reporter=reporter
        )
    assert (result.route, result.deployment.status) == ("zipdeploy", 4)
    assert posts(kudu) == ["/api/zipdeploy?isAsync=true"]
    assert set(kudu.auth_schemes) == {"Basic"}
    assert tree(kudu.wwwroot) == {*APP, "web.config"}
    assert PASSWORD not in reporter.said()


def test_functions_dedicated_takes_zipdeploy_without_a_build(
    tmp_path: Path, kudu: KuduServer
) -> None:
    kudu.settings.update(FUNCTIONS_EXTENSION_VERSION="~4", FUNCTIONS_WORKER_RUNTIME="python")
    vendored = ".python_packages/lib/site-packages/tinywsgi/__init__.py"
    package = make_zip(tmp_path, {"function_app.py": b"", "host.json": b"{}", vendored: b""})
    with basic(kudu) as client:
        site = site_through_kudu(client, "functions-dedicated")
        assert inspect_site(client, site, package, python="3.11", lib_dir=None) == ()
        result = deploy_package(client, site, package, options=FAST)
    assert (result.route, result.deployment.status) == ("zipdeploy", 4)
    assert posts(kudu) == ["/api/zipdeploy?isAsync=true"]
    assert (kudu.wwwroot / vendored).exists() and not (kudu.wwwroot / "oryx-manifest.toml").exists()


def test_functions_flex_publishes_without_remote_build_through_early_404s(
    tmp_path: Path, flex: tuple[FlexKuduServer, str]
) -> None:
    server, token = flex
    server.early_404s, server.build_seconds = 2, 0.2
    (server.wwwroot / "stale.py").parent.mkdir(parents=True)
    (server.wwwroot / "stale.py").write_text("from the last package")
    package = make_zip(tmp_path, {"function_app.py": b"", "host.json": b"{}"})
    reporter = Recorder()
    with KuduClient(bearer_credentials(server.url, lambda: token)) as client:
        site = site_of(server, "functions-flex", python_version="3.11")
        result = deploy_package(client, site, package, options=FAST, reporter=reporter)
    assert (result.route, result.deployment.status) == ("Flex Consumption publish", 4)
    assert posts(server) == ["/api/publish?RemoteBuild=false"]
    polled = [path for method, path in server.requests if method == "GET"]
    assert polled[1:3] == [f"/api/deployments/{result.deployment.id}"] * 2  # the early 404s
    assert server.deployments.records[0].remote_build is False
    assert tree(server.wwwroot) == {"function_app.py", "host.json"}
    assert token not in reporter.said()


@pytest.mark.parametrize(("status", "name"), [(-1, "Cancelled"), (3, "Failed"), (5, "Conflict"),
                                              (6, "PartialSuccess")])  # fmt: skip
def test_flex_ends_other_than_success_are_failures(
    tmp_path: Path, flex: tuple[FlexKuduServer, str], status: int, name: str
) -> None:
    server, token = flex
    server.flex_final_status = status
    package = make_zip(tmp_path, {"function_app.py": b""})
    with KuduClient(bearer_credentials(server.url, lambda: token)) as client:
        site = site_of(server, "functions-flex")
        with pytest.raises(DeploymentFailed, match=f"status {status} {name}") as failed:
            deploy_package(client, site, package, options=FAST)
    assert failed.value.exit_code == 1


# --- the deployment followed to its end ------------------------------------------------------


def test_a_failed_build_is_a_failure_that_shows_its_log(tmp_path: Path, kudu: KuduServer) -> None:
    kudu.deploy_failure = "Oryx build failed"
    kudu.deploy_failure_details = [
        "ERROR: No matching distribution found for numpy==9",
        f"Looking in indexes: https://ci:{PASSWORD}@pypi.example/simple",
    ]
    package = make_zip(tmp_path, APP)
    reporter = Recorder()
    with basic(kudu) as client, pytest.raises(DeploymentFailed) as failed:
        deploy_package(
            client, site_of(kudu, "app-service-linux"), package, options=FAST, reporter=reporter
        )
    text = str(failed.value)
    assert "status 3 Failed" in text and failed.value.exit_code == 1
    assert "  Oryx build failed\n    ERROR: No matching distribution found for numpy==9" in text
    assert failed.value.errors == (
        "Oryx build failed", "  ERROR: No matching distribution found for numpy==9",
        "  Looking in indexes: https://pypi.example/simple",
    )  # fmt: skip
    assert any("Fetching changes" in item for item in reporter.items)  # progress came first
    assert len(posts(kudu)) == 1 and PASSWORD not in text


def test_a_deployment_that_never_completes_meets_the_deadline(
    tmp_path: Path, kudu: KuduServer
) -> None:
    kudu.deploy_hangs = True
    package = make_zip(tmp_path, APP)
    with basic(kudu) as client, pytest.raises(DeploymentTimedOut) as late:
        options = WaitOptions(interval=0.05, timeout=0.6, appear=0.6)
        deploy_package(client, site_of(kudu, "app-service-linux"), package, options=options)
    assert "did not finish within 0.6 s" in str(late.value)
    assert f"{kudu.url}/api/deployments/latest" in str(late.value)
    assert len(posts(kudu)) == 1


def test_a_running_deployment_is_one_409_never_sent_again(tmp_path: Path, kudu: KuduServer) -> None:
    kudu.deploy_hangs = True
    package = make_zip(tmp_path, APP)
    with basic(kudu) as client:
        started = client.post_package("zipdeploy?isAsync=true", package)
        assert started.status == 202
        with pytest.raises(DeploymentConflict, match="another deployment runs") as busy:
            deploy_package(client, site_of(kudu, "app-service-linux"), package, options=FAST)
    assert "currently in progress" in str(busy.value) and busy.value.exit_code == 1
    assert len(posts(kudu)) == 2  # the one running, and ours once


def test_an_answer_cut_after_the_upload_is_found_on_the_site_not_resent(
    tmp_path: Path, kudu: KuduServer
) -> None:
    kudu.cut_uploads = 1
    package = make_zip(tmp_path, APP)
    reporter = Recorder()
    with basic(kudu) as client:
        result = deploy_package(
            client, site_of(kudu, "app-service-linux"), package, options=FAST, reporter=reporter
        )
    assert result.answer_lost and result.deployment.status == 4
    assert len(posts(kudu)) == 1
    assert tree(kudu.wwwroot) == set(APP)
    assert "does not send it again" in reporter.warnings[0]


def test_a_cut_flex_answer_is_found_through_latest(
    tmp_path: Path, flex: tuple[FlexKuduServer, str]
) -> None:
    server, token = flex
    (server.wwwroot).mkdir(parents=True)
    package = make_zip(tmp_path, {"function_app.py": b""})
    with KuduClient(bearer_credentials(server.url, lambda: token)) as client:
        first = deploy_package(client, site_of(server, "functions-flex"), package, options=FAST)
        server.cut_uploads = 1
        again = deploy_package(client, site_of(server, "functions-flex"), package, options=FAST)
    assert again.answer_lost and again.deployment.id != first.deployment.id
    assert len(posts(server)) == 2


def test_a_package_the_site_never_received_is_an_unknown_outcome(
    tmp_path: Path, kudu: KuduServer
) -> None:
    """The connection drops after the body went out and nothing deployed: not sent again, and
    the site shows no new deployment: the user hears so."""
    package = make_zip(tmp_path, APP)
    with basic(kudu) as client:
        deploy_package(client, site_of(kudu, "app-service-linux"), package, options=FAST)
        kudu.drops = {kudu.count + 2}  # after the snapshot of the latest deployment
        with pytest.raises(DeploymentOutcomeUnknown, match="shows no new deployment"):
            options = WaitOptions(interval=0.05, timeout=5, appear=0.5)
            deploy_package(client, site_of(kudu, "app-service-linux"), package, options=options)
    assert len(posts(kudu)) == 2


# --- auth ----------------------------------------------------------------------------------------


def test_an_expired_token_is_asked_again_once_and_a_refused_one_is_said_without_it(
    tmp_path: Path, kudu: KuduServer
) -> None:
    good, expired = token_for(SCM_AUDIENCE), token_for("https://expired.example")
    kudu.tokens = {good}
    handed = [expired, good]
    with KuduClient(bearer_credentials(kudu.url, lambda: handed.pop(0) if handed else good)) as c:
        assert c.settings() == {}
    assert kudu.auth_schemes == ["Bearer", "Bearer"]
    refusal = pytest.raises(KuduError, match="refused the Entra ID token")
    with KuduClient(bearer_credentials(kudu.url, lambda: expired)) as client, refusal as refused:
        client.settings()
    assert expired not in str(refused.value) and len(kudu.auth_schemes) == 3


def test_a_post_refused_for_an_expired_token_is_sent_again_with_a_fresh_one(
    tmp_path: Path, kudu: KuduServer
) -> None:
    """A 401 is the front end's refusal before Kudu saw the request: the one case a deployment's
    POST goes out twice, and the site deploys once."""
    good, expired = token_for(SCM_AUDIENCE), token_for("https://expired.example")
    kudu.tokens = {good}
    handed = iter([good, expired])  # the snapshot's GET, then the POST with an expired token
    package = make_zip(tmp_path, APP)
    site = site_of(kudu, "app-service-linux")
    with KuduClient(bearer_credentials(kudu.url, lambda: next(handed, good))) as client:
        result = deploy_package(client, site, package, options=FAST)
    assert result.deployment.status == 4 and not result.answer_lost
    assert len(posts(kudu)) == 2 and len(kudu.deployments.records) == 1


def test_a_5xx_answer_to_the_post_is_not_retried(tmp_path: Path, kudu: KuduServer) -> None:
    package = make_zip(tmp_path, APP)
    kudu.failures = {2: 503}  # the POST, after the snapshot; answered without deploying
    reporter = Recorder()
    with basic(kudu) as client, pytest.raises(DeploymentOutcomeUnknown) as unknown:
        options = WaitOptions(interval=0.05, timeout=5, appear=0.3)
        deploy_package(
            client, site_of(kudu, "app-service-linux"), package, options=options, reporter=reporter
        )
    assert len(posts(kudu)) == 1 and "never received" in str(unknown.value)
    assert "HTTP 503" in reporter.warnings[0]


def test_a_token_the_site_echoes_is_never_shown(kudu: KuduServer) -> None:
    token = token_for(SCM_AUDIENCE)
    kudu.tokens = {token}
    kudu.failures, kudu.failure_message = {1: 400}, f"bad request from Bearer {token}"
    with KuduClient(bearer_credentials(kudu.url, lambda: token)) as client:
        with pytest.raises(KuduError) as refused:
            client.settings()
        kudu.failures, kudu.failure_message = {2: 400}, "x" * 180 + token  # cut at 200
        with pytest.raises(KuduError) as cut:
            client.settings()
    assert token not in str(refused.value) and "Bearer ***" in str(refused.value)
    assert token[:20] not in str(cut.value) and str(cut.value).endswith("x***")


def test_a_token_goes_only_over_https_or_to_loopback() -> None:
    with pytest.raises(ConfigError, match="only sent over HTTPS"):
        bearer_credentials("http://example.com", lambda: "t")
    with pytest.raises(ConfigError, match="leave the user and password out"):
        bearer_credentials("https://u:p@site.scm.azurewebsites.net", lambda: "t")
    assert bearer_credentials("site.scm.azurewebsites.net:443", lambda: "t").url == (
        "https://site.scm.azurewebsites.net"
    )
    assert "token" not in repr(bearer_credentials("https://a.scm.b", lambda: "secret-tok"))


def test_a_token_source_that_fails_is_one_config_error(kudu: KuduServer) -> None:
    def no_login() -> str:
        raise RuntimeError("Please run 'az login' to setup account.\nmore lines")

    failure = pytest.raises(ConfigError, match=r"no token for the SCM site \(RuntimeError: Please")
    with KuduClient(bearer_credentials(kudu.url, no_login)) as client, failure:
        client.settings()
    assert kudu.requests == []


def test_wrong_basic_credentials_are_refused_without_the_password(kudu: KuduServer) -> None:
    credentials = Credentials(url=kudu.url, user="$site", password="wrong-password-1")
    with KuduClient(credentials) as client, pytest.raises(KuduError, match="refused") as refused:
        client.settings()
    assert "wrong-password-1" not in str(refused.value)


def test_a_password_the_site_quotes_at_the_cut_is_still_hidden(kudu: KuduServer) -> None:
    """Messages quote at most 200 characters of an answer: scrubbed before the cut, else the
    password's beginning would show."""
    kudu.failures, kudu.failure_message = {1: 400}, "y" * 190 + PASSWORD
    with basic(kudu) as client, pytest.raises(KuduError) as refused:
        client.write_file("site/x.txt", b"x")
    assert PASSWORD[:8] not in str(refused.value) and str(refused.value).endswith("y***")


def test_a_url_the_site_gives_is_followed_on_the_site_only(kudu: KuduServer) -> None:
    with basic(kudu) as client:
        answer = client.get_json("https://elsewhere.example/api/deployments/latest?x=1")
        assert answer.status == 404  # asked of the stand-in, which has no deployment yet
        assert kudu.requests[-1] == ("GET", "/api/deployments/latest?x=1")
        client.get_json(f"{kudu.url}/deployments")  # the form without /api
        assert kudu.requests[-1] == ("GET", "/api/deployments")


# --- preflight -----------------------------------------------------------------------------------


def test_a_site_that_would_build_is_stopped_before_anything_is_sent(
    tmp_path: Path, kudu: KuduServer
) -> None:
    kudu.settings.update(
        SCM_DO_BUILD_DURING_DEPLOYMENT="True",
        WEBSITE_RUN_FROM_PACKAGE="https://store.example/app.zip?sv=2&sig=SAS-SECRET",
        AzureWebJobsStorage="DefaultEndpointsProtocol=https;AccountKey=KEY-SECRET",
    )
    package = make_zip(tmp_path, APP)
    with basic(kudu) as client:
        site = site_through_kudu(client, "app-service-linux")
        problems = inspect_site(client, site, package, python="3.11", lib_dir="__oryx_packages__")
    assert settings_changes(problems) == {
        "SCM_DO_BUILD_DURING_DEPLOYMENT": "false", "WEBSITE_RUN_FROM_PACKAGE": None,
    }  # fmt: skip
    stopped = PreflightFailed(problems, settings_fixable=False)
    text = str(stopped)
    assert "nothing was sent" in text and stopped.exit_code == 1
    assert (
        "az webapp config appsettings set --name 127 --resource-group <resource-group> "
        "--settings SCM_DO_BUILD_DURING_DEPLOYMENT=false" in text
    )
    assert "--setting-names WEBSITE_RUN_FROM_PACKAGE" in text
    assert "Change SCM_DO_BUILD_DURING_DEPLOYMENT, WEBSITE_RUN_FROM_PACKAGE yourself" in text
    assert "through Azure Resource Manager" in text and "not with a publish profile alone" in text
    assert "SAS-SECRET" not in text and "KEY-SECRET" not in text
    assert posts(kudu) == []


def test_an_antenv_on_the_server_is_found_and_removed_with_fix_settings(
    tmp_path: Path, kudu: KuduServer
) -> None:
    (kudu.wwwroot / "antenv/lib/python3.11/site-packages").mkdir(parents=True)
    (kudu.wwwroot / "oryx-manifest.toml").write_text('virtualEnvName = "antenv"\n')
    package = make_zip(tmp_path, APP)
    with basic(kudu) as client:
        site = site_of(kudu, "app-service-linux", ref=REF)
        problems = inspect_site(client, site, package, python="3.11", lib_dir="__oryx_packages__")
        assert [problem.fix for problem in problems] == [
            ServerCleanup(path="site/wwwroot/antenv", folder=True),
            ServerCleanup(path="site/wwwroot/oryx-manifest.toml", folder=False),
        ]
        assert "az webapp ssh --name standin-app --resource-group standin-rg" in problems[0].how
        stopped = str(PreflightFailed(problems, settings_fixable=False))
        assert "--fix-settings takes care of: /home/site/wwwroot/antenv on the server, " in stopped
        reporter = Recorder()
        assert clean_server(client, problems, reporter) == [
            "site/wwwroot/antenv", "site/wwwroot/oryx-manifest.toml"
        ]  # fmt: skip
        assert inspect_site(client, site, package, python="3.11", lib_dir="__oryx_packages__") == ()
    assert not (kudu.wwwroot / "antenv").exists()
    assert reporter.notices == [
        "removed site/wwwroot/antenv from the site",
        "removed site/wwwroot/oryx-manifest.toml from the site",
    ]


def test_a_remote_builds_python_packages_on_a_dedicated_functions_site(
    tmp_path: Path, kudu: KuduServer
) -> None:
    lib = kudu.wwwroot / ".python_packages/lib/site-packages"
    lib.mkdir(parents=True)
    (lib / "ORYX_INSTALLED.txt").write_text("numpy\n")
    package = make_zip(tmp_path, {"function_app.py": b""})
    with basic(kudu) as client:
        site = site_of(kudu, "functions-dedicated")
        problems = inspect_site(client, site, package, python="3.11", lib_dir=None)
        assert [problem.fix for problem in problems] == [
            ServerCleanup(path="site/wwwroot/.python_packages", folder=True)
        ]
        (lib / ".vendorer-manifest.json").write_text("{}")  # vendorer's own: no problem
        assert inspect_site(client, site, package, python="3.11", lib_dir=None) == ()


# --- health --------------------------------------------------------------------------------------


def app_site(azure: AzureSite, **fields: object) -> Site:
    """The Site of an AzureSite trio on App Service on Linux, its app where the app server is."""
    values: dict[str, object] = {
        "name": azure.name, "plan": "app-service-linux", "scm_url": azure.kudu.url,
        "default_url": azure.app.url, "settings": dict(azure.kudu.settings),
        "linux_fx_version": azure.site.linux_fx_version,
    }  # fmt: skip
    values.update(fields)
    return Site(**values)  # type: ignore[arg-type]


def test_a_site_that_answers_500_fails_the_health_check_with_advice(
    azure_site: Callable[..., AzureSite],
) -> None:
    azure = azure_site("linux")
    azure.app.status = 500
    site = app_site(azure, ref=REF)
    options = HealthOptions(path="/api/hello?code=KEY-SECRET", interval=0.05, timeout=0.3)
    with pytest.raises(HealthCheckFailed) as failed:
        check_health(site, options)
    text = str(failed.value)
    assert "still answered HTTP 500" in text and failed.value.exit_code == 1
    assert "az webapp log tail --name standin-app --resource-group standin-rg" in text
    assert f"{azure.app.url}/api/hello " in text and "KEY-SECRET" not in text
    assert len(azure.app.requests) >= 2


def test_a_health_check_reports_a_non_5xx_answer_as_it_is(
    azure_site: Callable[..., AzureSite],
) -> None:
    azure = azure_site("linux")
    azure.app.status = 404
    site = app_site(azure)
    answer = check_health(site, HealthOptions(path="health"))
    assert (answer.status, answer.ok, answer.tries, answer.url) == (
        404, False, 1, f"{azure.app.url}/health"
    )  # fmt: skip


def test_a_health_path_must_be_a_path() -> None:
    site = Site(name="a", plan="app-service-linux", scm_url="https://a.scm.azurewebsites.net")
    with pytest.raises(UsageError, match="give a path on the site"):
        check_health(site, HealthOptions(path="https://elsewhere.example/"))


# --- the routes ----------------------------------------------------------------------------------


def test_an_unknown_plan_lists_the_routes_and_run_from_package_is_elsewhere() -> None:
    with pytest.raises(UsageError) as unknown:
        route_for("app-service-mac")
    text = str(unknown.value)
    assert "app-service-linux: OneDeploy (POST /api/publish?type=zip&async=true" in text
    assert "functions-premium: run-from-package" in text and unknown.value.exit_code == 2
    with pytest.raises(NotAKuduRoute, match="run-from-package"):
        route_for("functions-consumption")


def test_setting_changes_use_the_functions_way_on_functions_plans(kudu: KuduServer) -> None:
    kudu.settings.update(SCM_DO_BUILD_DURING_DEPLOYMENT="1", ENABLE_ORYX_BUILD="true")
    with basic(kudu) as client:
        site = site_through_kudu(client, "functions-dedicated", name="fn")
    problems = preflight(site, ["function_app.py"], python="3.11")
    assert [problem.fix for problem in problems] == [
        SettingChange(name="SCM_DO_BUILD_DURING_DEPLOYMENT", value=None),
        SettingChange(name="ENABLE_ORYX_BUILD", value=None),
    ]
    assert problems[0].how.startswith("az functionapp config appsettings delete --name fn")


def linux_site(**fields: object) -> Site:
    values: dict[str, object] = {
        "name": "web", "plan": "app-service-linux", "scm_url": "https://web.scm.azurewebsites.net",
        "linux_fx_version": "PYTHON|3.11", "ref": REF,
    }  # fmt: skip
    values.update(fields)
    return Site(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("files", "found"),
    [
        (["app.py"], True),
        (["application.py", "pkg/app.py"], True),
        (["mysite/wsgi.py", "manage.py"], True),  # Django: a folder with wsgi.py
        (["wsgi.py"], True),
        (["main.py"], False),  # FastAPI's name, detected only on Python 3.14
        (["pkg/app.py", "lib/a/wsgi.py"], False),  # not at the top / one level down
    ],
)
def test_a_startup_command_is_needed_only_where_oryx_finds_no_app(
    files: list[str], found: bool
) -> None:
    problems = preflight(linux_site(), files, python="3.11")
    assert [problem.setting for problem in problems] == (
        [] if found else ["appCommandLine (the startup command)"]
    )
    if not found:
        assert problems[0].blocking and problems[0].fix is None
        assert "--startup-file 'gunicorn --bind=0.0.0.0 --timeout 600 <module>:<app>'" in (
            problems[0].how
        )
    assert preflight(linux_site(startup_command="gunicorn x:y"), files, python="3.11") == ()


def test_through_kudu_alone_a_missing_startup_command_is_a_warning() -> None:
    problems = preflight(linux_site(ref=None), ["main.py"], python="3.11")
    assert not problems[0].blocking and "cannot be seen through Kudu" in problems[0].reason
    assert "--resource-group <resource-group>" in problems[0].how
    on_314 = linux_site(linux_fx_version="PYTHON|3.14")
    assert preflight(on_314, ["main.py"], python="3.14") == ()


@pytest.mark.parametrize(
    ("site", "setting", "command"),
    [
        (linux_site(linux_fx_version="PYTHON|3.12"), "linuxFxVersion",
         "az webapp config set --name web --resource-group standin-rg --subscription sub-1 "
         "--linux-fx-version 'PYTHON|3.11'"),
        (linux_site(linux_fx_version="NODE|20-lts"), "linuxFxVersion", "'PYTHON|3.11'"),
        (linux_site(plan="functions-dedicated", linux_fx_version="Python|3.10"), "linuxFxVersion",
         "az functionapp config set --name web"),
        (linux_site(plan="functions-flex", linux_fx_version=None, python_version="3.12"),
         "functionAppConfig.runtime.version",
         "az functionapp runtime config set --name web --resource-group standin-rg "
         "--subscription sub-1 --runtime-version 3.11"),
    ],
)  # fmt: skip
def test_the_sites_python_must_be_the_profiles(site: Site, setting: str, command: str) -> None:
    problems = preflight(site, ["app.py", "function_app.py"], python="3.11")
    assert [problem.setting for problem in problems] == [setting]
    assert command in problems[0].how and problems[0].fix is None
    assert preflight(linux_site(linux_fx_version="PYTHON|3.11"), ["app.py"], python="3.11") == ()


def test_run_from_package_and_lib_paths() -> None:
    flex = linux_site(plan="functions-flex", settings={"WEBSITE_RUN_FROM_PACKAGE": "1"})
    assert settings_changes(preflight(flex, [], python=None)) == {"WEBSITE_RUN_FROM_PACKAGE": None}
    local = linux_site(plan="functions-dedicated", settings={"WEBSITE_RUN_FROM_PACKAGE": "1"})
    assert preflight(local, [], python=None) == ()  # a zip stored by Kudu: no URL, no 409
    lib = linux_site(settings={"PYTHONPATH": "/opt/extra"})
    problems = preflight(lib, ["app.py"], python="3.11", lib_dir="lib")
    assert settings_changes(problems) == {"PYTHONPATH": "/opt/extra:/home/site/wwwroot/lib"}
    named = linux_site(settings={"PYTHONPATH": "/home/site/wwwroot/lib"})
    assert preflight(named, ["app.py"], python="3.11", lib_dir="lib") == ()
    nouser = linux_site(settings={"pythonnousersite": "1"})
    problems = preflight(nouser, ["app.py"], python="3.11", lib_dir="__oryx_packages__")
    assert settings_changes(problems) == {"PYTHONNOUSERSITE": None}
    switches = {"ENABLE_ORYX_BUILD": "true", "SCM_DO_BUILD_DURING_DEPLOYMENT": "yes"}
    windows = linux_site(plan="app-service-windows", settings=switches)
    assert preflight(windows, [], python="3.11") == ()  # Kudu reads only "1"/"true"; no Oryx
