"""The Azure stand-ins themselves (tests/support): Kudu's deployments, Flex, the app server, ARM
through the real azure-mgmt-web, Azurite through the real azure-storage-blob, and the fake `az`
through the real azure-identity."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)
from azure.identity import AzureCliCredential, CredentialUnavailableError
from azure.mgmt.web.models import (
    CsmPublishingCredentialsPoliciesEntity,
    CsmPublishingCredentialsPoliciesEntityProperties,
    SiteConfig,
    SiteConfigResource,
    StringDictionary,
)
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, generate_blob_sas

from tests.support.appserver import AppServer
from tests.support.arm import ArmServer, web_client
from tests.support.azure import AzureSite
from tests.support.azurite import Azurite
from tests.support.entra import ARM_AUDIENCE, SCM_AUDIENCE, FakeAz, StandInCredential, token_for
from tests.support.kudu import FlexKuduServer, KuduServer

PASSWORD = "pw-standin"
APP = {"app.py": b"app = 'hello'\n", "requirements.txt": b"flask\n", "pkg/__init__.py": b""}


def make_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tree(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}


@pytest.fixture
def kudu(tmp_path: Path) -> Iterator[KuduServer]:
    with KuduServer(tmp_path / "home", password=PASSWORD) as server:
        yield server


@pytest.fixture
def scm(kudu: KuduServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=kudu.url, auth=("$site", PASSWORD), timeout=30) as client:
        yield client


def poll(client: httpx.Client, url: str, done: Callable[[httpx.Response], bool]) -> httpx.Response:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answer = client.get(url)
        if done(answer):
            return answer
        time.sleep(0.05)
    raise AssertionError(f"{url} never finished")


def finished(answer: httpx.Response) -> bool:
    return answer.status_code == 200 and answer.json()["status"] in (3, 4)


# -- OneDeploy ------------------------------------------------------------------------------


def test_onedeploy_async_answers_202_with_location_and_cleans_wwwroot(
    kudu: KuduServer, scm: httpx.Client
) -> None:
    for name in ("old.py", "old/inner.txt", ".git/config", "deploy.sh"):
        (kudu.wwwroot / name).parent.mkdir(parents=True, exist_ok=True)
        (kudu.wwwroot / name).write_text("before")
    accepted = scm.post("/api/publish?type=zip&async=true", content=make_zip(APP))
    assert accepted.status_code == 202 and accepted.content == b""
    assert "Retry-After" not in accepted.headers
    location = accepted.headers["Location"]
    assert location.startswith(f"{kudu.url}/api/deployments/latest?deployer=OneDeploy&time=")
    result = poll(scm, location, finished).json()
    assert result["status"] == 4 and result["complete"] and result["active"]
    assert result["deployer"] == "OneDeploy" and not result["is_temp"]
    # clean=true by default for zips: exactly the zip, kudusync's ignored names aside
    assert tree(kudu.wwwroot) == {*APP, ".git/config", "deploy.sh"}
    assert kudu.restarts == 1
    assert scm.get(f"/api/deployments/{result['id']}").json()["status"] == 4


def test_onedeploy_clean_with_a_path_cleans_the_whole_wwwroot(
    kudu: KuduServer, scm: httpx.Client
) -> None:
    (kudu.wwwroot / "beside.txt").parent.mkdir(parents=True)
    (kudu.wwwroot / "beside.txt").write_text("deleted: the staging folder syncs to wwwroot")
    assert scm.post("/api/publish?type=zip&path=/sub/", content=make_zip(APP)).status_code == 200
    assert tree(kudu.wwwroot) == {f"sub/{name}" for name in APP}


def test_onedeploy_sync_with_clean_false_keeps_files_and_path_extracts_below(
    kudu: KuduServer, scm: httpx.Client
) -> None:
    (kudu.wwwroot / "keep.txt").parent.mkdir(parents=True)
    (kudu.wwwroot / "keep.txt").write_text("kept")
    answer = scm.post("/publish?type=ZIP&clean=false&restart=false&path=sub", content=make_zip(APP))
    assert answer.status_code == 200
    assert tree(kudu.wwwroot) == {"keep.txt", *(f"sub/{name}" for name in APP)}
    assert kudu.restarts == 0
    isasync = scm.post("/api/publish?type=zip&isAsync=true", content=make_zip(APP))
    assert isasync.status_code == 200  # OneDeploy knows `async`, not `isAsync`


def test_onedeploy_needs_a_known_type(scm: httpx.Client) -> None:
    missing = scm.post("/api/publish", content=make_zip(APP))
    assert (missing.status_code, missing.json()) == (400, "type='' not recognized")
    assert scm.post("/api/publish?type=bogus", content=b"x").status_code == 400


def test_a_deployment_while_one_runs_is_409_and_latest_is_202(
    kudu: KuduServer, scm: httpx.Client
) -> None:
    kudu.deploy_hangs = True
    assert scm.post("/api/publish?type=zip&async=true", content=make_zip(APP)).status_code == 202
    busy = scm.post("/api/zipdeploy", content=make_zip(APP))
    assert busy.status_code == 409
    assert (
        busy.json()
        == "There is a deployment currently in progress. Please try again when it completes."
    )
    latest = scm.get("/api/deployments/latest")
    assert latest.status_code == 202 and latest.json()["status"] == 0
    assert latest.headers["Location"] == f"{kudu.url}/api/deployments/latest"
    running = scm.get("/api/deployments").json()[0]
    assert running["complete"] is False
    assert scm.get(f"/api/deployments/{running['id']}").json()["status"] == 0  # the lock is held
    kudu.deploy_hangs = False
    assert poll(scm, "/api/deployments/latest", finished).json()["status"] == 4


def test_a_run_from_package_url_makes_every_deploy_409(kudu: KuduServer, scm: httpx.Client) -> None:
    kudu.settings["WEBSITE_RUN_FROM_PACKAGE"] = "https://example.invalid/app.zip?sv=1"
    for route in ("/api/publish?type=zip", "/api/zipdeploy"):
        answer = scm.post(route, content=make_zip(APP))
        assert answer.status_code == 409 and "WEBSITE_RUN_FROM_PACKAGE" in answer.json()
    assert scm.get("/api/settings").json() == kudu.settings


# -- zipdeploy ------------------------------------------------------------------------------


def test_zipdeploy_deletes_only_what_the_previous_deployment_wrote(
    kudu: KuduServer, scm: httpx.Client
) -> None:
    kudu.wwwroot.mkdir(parents=True)
    (kudu.wwwroot / "hostingstart.html").write_text("default page")
    (kudu.wwwroot / "user.txt").write_text("never deployed")
    kudu.retry_after = 1
    accepted = scm.post("/api/zipdeploy?isAsync=true", content=make_zip({**APP, "old.py": b""}))
    assert accepted.status_code == 202 and accepted.headers["Retry-After"] == "1"
    assert "deployer=Push-Deployer" in accepted.headers["Location"]
    poll(scm, accepted.headers["Location"], finished)
    assert tree(kudu.wwwroot) == {*APP, "old.py", "user.txt"}  # hostingstart.html went
    assert scm.post("/api/zipdeploy", content=make_zip(APP)).status_code == 200
    assert tree(kudu.wwwroot) == {*APP, "user.txt"}  # old.py was the last deployment's


def test_run_from_package_one_stores_the_zip_and_leaves_wwwroot(
    kudu: KuduServer, scm: httpx.Client
) -> None:
    kudu.settings["WEBSITE_RUN_FROM_PACKAGE"] = "1"
    assert scm.post("/api/zipdeploy", content=make_zip(APP)).status_code == 200
    packages = kudu.home / "data/SitePackages"
    name = (packages / "packagename.txt").read_text()
    assert zipfile.ZipFile(packages / name).namelist() == list(APP)
    assert not kudu.wwwroot.exists()


@pytest.mark.parametrize("functions", [False, True])
def test_the_build_setting_runs_an_oryx_build(
    kudu: KuduServer, scm: httpx.Client, functions: bool
) -> None:
    kudu.settings["SCM_DO_BUILD_DURING_DEPLOYMENT"] = "True"
    if functions:
        kudu.settings["FUNCTIONS_EXTENSION_VERSION"] = "~4"
    vendored = {".python_packages/lib/site-packages/flask/__init__.py": b""}
    assert scm.post("/api/zipdeploy", content=make_zip({**APP, **vendored})).status_code == 200
    assert (kudu.wwwroot / "oryx-manifest.toml").is_file()
    if functions:  # Oryx deletes .python_packages and installs afresh
        assert not (kudu.wwwroot / next(iter(vendored))).exists()
        assert (kudu.wwwroot / ".python_packages/lib/site-packages/ORYX_INSTALLED.txt").exists()
    else:
        assert (kudu.wwwroot / "antenv/lib/python3.12/site-packages").is_dir()
    deployment = scm.get("/api/deployments/latest").json()
    messages = [entry["message"] for entry in scm.get(deployment["log_url"]).json()]
    assert "Running oryx build..." in messages


def test_a_failed_deployment_is_status_3_with_error_details(
    kudu: KuduServer, scm: httpx.Client
) -> None:
    kudu.deploy_failure = "Oryx build failed"
    kudu.deploy_failure_details = ["ERROR: No matching distribution found for numpy==9"]
    assert scm.post("/api/publish?type=zip", content=make_zip(APP)).status_code == 200  # KuduLite
    result = scm.get("/api/deployments/latest").json()
    assert (result["status"], result["complete"], result["active"]) == (3, True, False)
    entries = scm.get(result["log_url"]).json()
    errors = [entry for entry in entries if entry["type"] == 2]
    assert errors[0]["message"] == "Oryx build failed"
    assert all(
        entry["details_url"] is None
        for entry in entries
        if entry not in errors and entry["message"] != "Fetching changes."
    )
    details = scm.get(errors[0]["details_url"]).json()
    assert details[0]["message"].startswith("ERROR: No matching distribution")
    assert kudu.restarts == 0
    assert scm.get(f"{result['log_url']}/nope").status_code == 404
    kudu.failed_sync_status = 500
    assert scm.post("/api/zipdeploy", content=make_zip(APP)).status_code == 500


def test_a_bad_zip_fails_the_deployment(scm: httpx.Client) -> None:
    assert scm.post("/api/publish?type=zip", content=b"not a zip").status_code == 500
    assert scm.get("/api/deployments/latest").json()["status"] == 3


def test_an_upload_cut_after_its_body_still_deploys(kudu: KuduServer, scm: httpx.Client) -> None:
    kudu.cut_uploads = 1
    with pytest.raises(httpx.RemoteProtocolError):
        scm.post("/api/publish?type=zip", content=make_zip(APP))
    assert poll(scm, "/api/deployments/latest", finished).json()["status"] == 4
    assert tree(kudu.wwwroot) == set(APP)


def test_the_front_end_limit_ends_a_slow_synchronous_deploy(
    kudu: KuduServer, scm: httpx.Client
) -> None:
    kudu.front_end_limit, kudu.build_seconds = 0.3, 2.0
    began = time.monotonic()
    answer = scm.post("/api/zipdeploy", content=make_zip(APP))
    assert answer.status_code == 500 and b"timed out" in answer.content
    assert time.monotonic() - began < 1.5
    assert scm.get("/api/deployments/latest").status_code == 202  # it goes on
    assert poll(scm, "/api/deployments/latest", finished).json()["status"] == 4


def test_bearer_tokens_and_basic_auth_turned_off(tmp_path: Path) -> None:
    token = token_for(SCM_AUDIENCE)
    with KuduServer(tmp_path / "home", tokens=[token], basic_auth=False) as server:
        bearer = httpx.get(
            f"{server.url}/api/settings", headers={"Authorization": f"Bearer {token}"}
        )
        assert bearer.status_code == 200
        wrong = httpx.get(f"{server.url}/api/settings", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        basic = httpx.get(f"{server.url}/api/settings", auth=(server.user, server.password))
        assert basic.status_code == 401
        assert server.auth_schemes == ["Bearer", "Bearer", "Basic"]


# -- Flex Consumption -----------------------------------------------------------------------


@pytest.fixture
def flex(tmp_path: Path) -> Iterator[tuple[FlexKuduServer, httpx.Client]]:
    token = token_for(ARM_AUDIENCE)
    with (
        FlexKuduServer(tmp_path / "home", tokens=[token]) as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client,
    ):
        yield server, client


def test_flex_publish_answers_the_id_and_its_status_progresses(
    flex: tuple[FlexKuduServer, httpx.Client],
) -> None:
    server, client = flex
    server.early_404s, server.build_seconds = 2, 0.3
    (server.wwwroot / "stale.py").parent.mkdir(parents=True)
    (server.wwwroot / "stale.py").write_text("from the last package")
    accepted = client.post(
        "/api/publish?RemoteBuild=true",
        content=make_zip(APP),
        headers={"Content-Type": "application/zip"},
    )
    assert accepted.status_code == 202
    deployment_id = accepted.json()
    assert isinstance(deployment_id, str)
    seen: list[int] = []
    while not seen or seen[-1] not in (-1, 3, 4, 5, 6):
        answer = client.get(f"/api/deployments/{deployment_id}")
        seen.append(answer.status_code if answer.status_code == 404 else answer.json()["status"])
        time.sleep(0.02)
    assert seen[:2] == [404, 404] and seen[-1] == 4
    assert 1 in seen and 2 in seen  # Building (a remote build was asked), Deploying
    final = client.get(f"/api/deployments/{deployment_id}").json()
    assert final["remoteBuild"] is True and final["build_summary"] == {"errors": [], "warnings": []}
    assert tree(server.wwwroot) >= set(APP) and "stale.py" not in tree(server.wwwroot)
    assert (server.wwwroot / "oryx-manifest.toml").exists()  # the remote build ran
    assert (
        httpx.get(f"{server.url}/api/settings", auth=(server.user, server.password)).status_code
        == 401
    )


@pytest.mark.parametrize("status", [-1, 3, 5, 6])
def test_flex_can_end_in_any_final_status(
    flex: tuple[FlexKuduServer, httpx.Client], status: int
) -> None:
    server, client = flex
    server.flex_final_status = status
    deployment_id = client.post("/api/publish", content=make_zip(APP)).json()
    server.wait_for_deployment()
    result = client.get(f"/api/deployments/{deployment_id}").json()
    assert (result["status"], result["complete"]) == (status, True)
    assert server.restarts == 0


def test_flex_refuses_a_second_deploy_and_run_from_package(
    flex: tuple[FlexKuduServer, httpx.Client],
) -> None:
    server, client = flex
    server.deploy_hangs = True
    assert client.post("/api/publish", content=make_zip(APP)).status_code == 202
    assert client.post("/api/publish", content=make_zip(APP)).status_code == 409
    server.deploy_hangs = False
    server.wait_for_deployment()
    server.settings["WEBSITE_RUN_FROM_PACKAGE"] = "1"
    assert client.post("/api/publish", content=make_zip(APP)).status_code == 400


# -- the app ----------------------------------------------------------------------------------


def test_the_app_answers_what_the_test_sets_and_503_while_starting() -> None:
    with AppServer() as app:
        app.starting_requests = 2
        app.restart()
        answers = [httpx.get(f"{app.url}/health").status_code for _ in range(3)]
        assert answers == [503, 503, 200]
        app.status = 500
        assert httpx.get(f"{app.url}/").status_code == 500
        assert app.requests == ["/health", "/health", "/health", "/"] and app.restarts == 1


# -- ARM through the real SDK -----------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        ("linux", "app,linux", "Basic", "Basic"),
        ("windows", "app", "Basic", "Basic"),
        ("functions-dedicated", "functionapp,linux", "Basic", "Basic"),
        ("functions-premium", "functionapp,linux", "ElasticPremium", "ElasticPremium"),
        ("functions-consumption", "functionapp,linux", "Dynamic", "Dynamic"),
        ("functions-flex", "functionapp,linux", "FlexConsumption", "FlexConsumption"),
    ],
)
def test_the_real_sdk_reads_the_site_and_its_plan(
    azure_site: Callable[..., AzureSite],
    arm_server: ArmServer,
    azure_credential: StandInCredential,
    case: tuple[str, str, str, str],
) -> None:
    plan, kind, sku, tier = case
    site = azure_site(plan)
    client = web_client(arm_server, azure_credential)
    found = client.web_apps.get(site.resource_group, site.name)
    assert (found.kind, found.sku, found.default_host_name) == (kind, sku, site.app.host)
    assert found.server_farm_id is not None
    scm = [
        state.name for state in found.host_name_ssl_states or [] if state.host_type == "Repository"
    ]
    assert scm == [site.kudu.url.removeprefix("http://")]
    farm = found.server_farm_id.rsplit("/", 1)[1]
    found_plan = client.app_service_plans.get(site.resource_group, farm)
    assert found_plan.sku is not None and found_plan.sku.tier == tier
    if plan == "functions-flex":
        assert found.function_app_config is not None
        assert found.function_app_config.runtime.name == "python"
        assert found.function_app_config.runtime.version == "3.12"
    else:
        assert found.function_app_config is None
    config = client.web_apps.get_configuration(site.resource_group, site.name)
    expected = {"linux": "PYTHON|3.12", "windows": "", "functions-flex": ""}
    assert config.linux_fx_version == expected.get(plan, "Python|3.12")
    assert azure_credential.asked[0] == ("https://management.azure.com/.default",)
    assert {request.api_version for request in arm_server.requests} == {"2025-05-01"}


def test_the_real_sdk_writes_settings_config_and_syncs(
    azure_site: Callable[..., AzureSite],
    arm_server: ArmServer,
    azure_credential: StandInCredential,
) -> None:
    site = azure_site("functions-premium", settings={"SCM_DO_BUILD_DURING_DEPLOYMENT": "1"})
    client = web_client(arm_server, azure_credential)
    rg, name = site.resource_group, site.name
    settings = client.web_apps.list_application_settings(rg, name).properties or {}
    assert settings["SCM_DO_BUILD_DURING_DEPLOYMENT"] == "1" and "AzureWebJobsStorage" in settings
    del settings["SCM_DO_BUILD_DURING_DEPLOYMENT"]
    written = client.web_apps.update_application_settings(
        rg, name, StringDictionary(properties=settings)
    )
    assert written.properties == settings == site.kudu.settings  # a full replace, seen by SCM
    assert site.app.restarts == 1
    updated = client.web_apps.update_configuration(
        rg, name, SiteConfigResource(properties=SiteConfig(app_command_line="startup.sh"))
    )
    assert updated.app_command_line == "startup.sh" == site.site.app_command_line
    assert client.web_apps.get_scm_allowed(rg, name).allow is False
    assert site.kudu.basic_auth is False
    allow = CsmPublishingCredentialsPoliciesEntityProperties(allow=True)
    client.web_apps.update_scm_allowed(
        rg, name, CsmPublishingCredentialsPoliciesEntity(properties=allow)
    )
    assert site.kudu.basic_auth is True
    client.web_apps.sync_functions(rg, name)
    client.web_apps.sync_function_triggers(rg, name)
    assert site.site.syncs == ["host/default/sync", "syncfunctiontriggers"]
    assert client.web_apps.list_host_keys(rg, name).master_key == site.site.master_key


def test_settings_reach_the_scm_site_after_the_lag(
    azure_site: Callable[..., AzureSite],
    arm_server: ArmServer,
    azure_credential: StandInCredential,
) -> None:
    site = azure_site("linux", settings_lag=0.5)
    client = web_client(arm_server, azure_credential)
    client.web_apps.update_application_settings(
        site.resource_group,
        site.name,
        StringDictionary(properties={"SCM_DO_BUILD_DURING_DEPLOYMENT": "false"}),
    )
    assert site.kudu.settings == {}
    deadline = time.monotonic() + 10
    while not site.kudu.settings and time.monotonic() < deadline:
        time.sleep(0.05)
    assert site.kudu.settings == {"SCM_DO_BUILD_DURING_DEPLOYMENT": "false"}


def test_a_deployment_to_a_site_restarts_its_app(
    azure_site: Callable[..., AzureSite],
    arm_server: ArmServer,
    azure_credential: StandInCredential,
) -> None:
    """The route a deploy takes: ARM names the SCM host, a Bearer token deploys, the app answers."""
    site = azure_site("linux")
    site.app.starting_requests = 1
    found = web_client(arm_server, azure_credential).web_apps.get(site.resource_group, site.name)
    repository = [s.name for s in found.host_name_ssl_states or [] if s.host_type == "Repository"]
    token = azure_credential.token(SCM_AUDIENCE)
    with httpx.Client(
        base_url=f"http://{repository[0]}", timeout=30, headers={"Authorization": f"Bearer {token}"}
    ) as scm:
        accepted = scm.post("/api/publish?type=zip&async=true", content=make_zip(APP))
        assert poll(scm, accepted.headers["Location"], finished).json()["status"] == 4
        assert scm.get("/api/settings").json() == {}
    assert tree(site.kudu.wwwroot) == set(APP) and site.app.restarts == 1
    page = f"http://{found.default_host_name}/"
    assert [httpx.get(page).status_code for _ in range(2)] == [503, 200]


def test_arm_errors_are_what_the_sdk_expects(
    azure_site: Callable[..., AzureSite],
    arm_server: ArmServer,
    azure_credential: StandInCredential,
) -> None:
    site = azure_site("functions-flex")
    client = web_client(arm_server, azure_credential)
    with pytest.raises(ResourceNotFoundError) as missing:
        client.web_apps.get(site.resource_group, "no-such-site")
    assert missing.value.status_code == 404
    assert missing.value.error is not None and missing.value.error.code == "ResourceNotFound"
    with pytest.raises(HttpResponseError) as refused:
        client.web_apps.update_application_settings(
            site.resource_group,
            site.name,
            StringDictionary(properties={"WEBSITE_RUN_FROM_PACKAGE": "1"}),
        )
    assert refused.value.status_code == 400 and "Flex Consumption" in str(refused.value)
    stranger = web_client(arm_server, StandInCredential({"https://management.azure.com": "forged"}))
    with pytest.raises(ClientAuthenticationError):
        stranger.web_apps.get(site.resource_group, site.name)
    arm_server.failures[len(arm_server.requests) + 1] = 500
    with pytest.raises(HttpResponseError) as failed:
        client.web_apps.get(site.resource_group, site.name)
    assert failed.value.status_code == 500
    assert all(request.authorization == "Bearer" for request in arm_server.requests)


# -- Azurite and the run-from-package chain ---------------------------------------------------


def read_sas(client: BlobServiceClient, azurite: Azurite, container: str, blob: str) -> str:
    now = datetime.now(UTC)
    sas = generate_blob_sas(
        azurite.account,
        container,
        blob,
        account_key=azurite.key,
        permission=BlobSasPermissions(read=True),
        start=now - timedelta(minutes=5),
        expiry=now + timedelta(days=3650),
    )
    return f"{client.get_blob_client(container, blob).url}?{sas}"


def test_azurite_takes_a_blob_and_a_read_sas_downloads_it(azurite: Azurite) -> None:
    client = BlobServiceClient.from_connection_string(azurite.connection_string)
    client.create_container("function-releases")
    package = make_zip(APP)
    client.get_blob_client("function-releases", "20260101000000-x.zip").upload_blob(package)
    url = read_sas(client, azurite, "function-releases", "20260101000000-x.zip")
    assert url.startswith("http://127.0.0.1:")
    assert httpx.get(url).content == package
    assert httpx.get(url.replace("sp=r", "sp=rw")).status_code == 403
    assert httpx.get(url.split("?")[0]).status_code in (403, 404)  # no anonymous access


def test_a_consumption_site_loads_its_package_from_the_sas_url(
    azurite: Azurite,
    azure_site: Callable[..., AzureSite],
    arm_server: ArmServer,
    azure_credential: StandInCredential,
) -> None:
    site = azure_site("functions-consumption", storage=azurite.connection_string)
    storage = BlobServiceClient.from_connection_string(site.site.settings["AzureWebJobsStorage"])
    storage.create_container("function-releases")
    storage.get_blob_client("function-releases", "app.zip").upload_blob(make_zip(APP))
    client = web_client(arm_server, azure_credential)
    settings = dict(site.site.settings)
    settings["WEBSITE_RUN_FROM_PACKAGE"] = read_sas(
        storage, azurite, "function-releases", "app.zip"
    )
    client.web_apps.update_application_settings(
        site.resource_group, site.name, StringDictionary(properties=settings)
    )
    assert (site.app.package_status, site.app.package_files) == (200, list(APP))
    assert httpx.get(f"{site.app.url}/api/hello").status_code == 200
    settings["WEBSITE_RUN_FROM_PACKAGE"] = settings["WEBSITE_RUN_FROM_PACKAGE"].replace(
        "sig=", "sig=x"
    )
    client.web_apps.update_application_settings(
        site.resource_group, site.name, StringDictionary(properties=settings)
    )
    assert site.app.package_status == 403
    assert httpx.get(f"{site.app.url}/api/hello").status_code == 503


# -- the fake az --------------------------------------------------------------------------------


def test_azure_cli_credential_gets_its_token_from_the_fake_az(
    fake_az: FakeAz, azure_credential: StandInCredential
) -> None:
    credential = AzureCliCredential()
    token = credential.get_token("https://management.azure.com/.default")
    assert token.token == azure_credential.token(ARM_AUDIENCE)
    assert token.expires_on > time.time() + 3000
    assert fake_az.calls[0]["resource"] == "https://management.azure.com"
    assert fake_az.calls[0]["argv"][:4] == ["account", "get-access-token", "--output", "json"]
    scm = credential.get_token("https://appservice.azure.com/.default")
    assert scm.token == azure_credential.token(SCM_AUDIENCE)
    fake_az.logged_in = False
    fake_az.save()
    with pytest.raises(CredentialUnavailableError, match="az login"):
        credential.get_token("https://management.azure.com/.default")


def test_an_sdk_client_with_the_az_credential_reaches_the_arm_stand_in(
    fake_az: FakeAz, azure_site: Callable[..., AzureSite], arm_server: ArmServer
) -> None:
    site = azure_site("linux")
    client = web_client(arm_server, AzureCliCredential())
    found = client.web_apps.get(site.resource_group, site.name)
    assert found.name == site.name
    assert [call["resource"] for call in fake_az.calls] == ["https://management.azure.com"]
