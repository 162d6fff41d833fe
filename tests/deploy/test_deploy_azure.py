"""The Azure side of `vendorer deploy` (vendorer/deploy/azure_*.py, run_from_package.py) against the
loopback stand-ins: the ARM stand-in through the real azure-mgmt-web, the Kudu and app servers
tied to it (tests/support/azure.py), Azurite through the real azure-storage-blob, and Entra ID as
an injected credential or the fake `az` through the real azure-identity."""

from __future__ import annotations

import hashlib
import io
import logging
import re
import socket
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.core.exceptions import ServiceRequestError
from azure.identity import AzureCliCredential
from azure.storage.blob import BlobServiceClient

from tests.support.arm import ArmServer
from tests.support.azure import AzureSite
from tests.support.azurite import Azurite
from tests.support.entra import (
    ARM_AUDIENCE,
    SCM_AUDIENCE,
    SUBSCRIPTION,
    FakeAz,
    StandInCredential,
    token_for,
)
from vendorer.deploy.azure_arm import ArmSession
from vendorer.deploy.azure_auth import (
    ScmToken,
    azure_cloud,
    default_credential,
    subscription_for,
)
from vendorer.deploy.azure_errors import (
    ArmError,
    AzureError,
    AzureSignInError,
    StorageError,
    hide_secrets,
)
from vendorer.deploy.azure_settings import (
    SettingsChange,
    build_settings_fix,
    change_settings,
    fix_build_settings,
    read_settings,
    sync_triggers,
    wait_until_scm_sees,
    write_settings,
)
from vendorer.deploy.azure_site import UnsupportedSite, find_site, open_arm, plan_of, python_of
from vendorer.deploy.run_from_package import (
    CONTAINER,
    blob_name,
    publish_run_from_package,
    storage_account,
)
from vendorer.deploy.site import PLANS, Plan, SiteRef
from vendorer.errors import ConfigError, UsageError
from vendorer.report import Reporter

APP = {"function_app.py": b"import azure.functions as func\n", "host.json": b"{}\n"}
PLAN_OF_STANDIN: dict[str, Plan] = {
    "linux": "app-service-linux",
    "windows": "app-service-windows",
    "functions-dedicated": "functions-dedicated",
    "functions-premium": "functions-premium",
    "functions-consumption": "functions-consumption",
    "functions-flex": "functions-flex",
}


class Recorder(Reporter):
    """Every call a step makes to its reporter, as text."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def started(self, task: str, *, title: str, total: int | None = None) -> None:
        self.calls.append(f"started {task} {title} {total}")

    def advanced(self, task: str, *, item: str = "", size: int = 0) -> None:
        self.calls.append(f"advanced {task} {item} {size}")

    def finished(self, task: str) -> None:
        self.calls.append(f"finished {task}")

    def notice(self, message: str) -> None:
        self.calls.append(f"notice {message}")

    def warning(self, message: str) -> None:
        self.calls.append(f"warning {message}")

    @property
    def notices(self) -> list[str]:
        return [call.removeprefix("notice ") for call in self.calls if call.startswith("notice ")]


@dataclass
class Azure:
    """The ARM stand-in, the credential it takes, and `site(plan, **options)` (azure_site)."""

    arm: ArmServer
    credential: StandInCredential
    site: Callable[..., AzureSite]

    def session(self, site: AzureSite, credential: Any = None, **ref: str) -> ArmSession:
        """An ArmSession for `site` (or another name, group, subscription), no retries."""
        site_ref = SiteRef(
            name=ref.get("name", site.name),
            resource_group=ref.get("resource_group", site.resource_group),
            subscription=ref.get("subscription", self.arm.subscription),
        )
        chosen = self.credential if credential is None else credential
        return ArmSession(site_ref, chosen, azure_cloud(self.arm.url), retries=0)

    @property
    def puts(self) -> int:
        return sum(request.method == "PUT" for request in self.arm.requests)


@pytest.fixture
def azure(
    azure_site: Callable[..., AzureSite], arm_server: ArmServer, azure_credential: StandInCredential
) -> Azure:
    return Azure(arm_server, azure_credential, azure_site)


def make_zip(files: Mapping[str, bytes], folder: Path) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    path = folder / "app.zip"
    path.write_bytes(buffer.getvalue())
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- finding the site and its plan --------------------------------------------------------------


@pytest.mark.parametrize("standin", list(PLAN_OF_STANDIN))
def test_find_site_reads_each_plan_with_its_urls_settings_and_python(
    azure: Azure,
    standin: str,
) -> None:
    site = azure.site(standin, python="3.11", settings={"CUSTOM": "kept"})
    with azure.session(site) as session:
        found = find_site(session)
    assert found.plan == PLAN_OF_STANDIN[standin]
    assert found.name == site.name
    assert found.scm_url == site.kudu.url and found.default_url == site.app.url
    assert dict(found.settings) == site.site.settings and found.settings["CUSTOM"] == "kept"
    assert found.python_version == (None if standin == "windows" else "3.11")
    expected_fx = {"linux": "PYTHON|3.11", "windows": None, "functions-flex": None}
    assert found.linux_fx_version == expected_fx.get(standin, "Python|3.11")
    assert found.startup_command is None
    assert found.ref == SiteRef(
        name=site.name, resource_group=site.resource_group, subscription=azure.arm.subscription
    )
    assert all(request.authorization == "Bearer" for request in azure.arm.requests)
    assert not any("serverfarms" in request.path for request in azure.arm.requests)
    assert "CUSTOM" not in repr(found) and "kept" not in repr(found)  # settings stay out of repr


@pytest.mark.parametrize(
    ("standin", "plan"),
    [
        ("functions-premium", "functions-premium"),
        ("functions-consumption", "functions-consumption"),
        ("functions-dedicated", "functions-dedicated"),
    ],
)
def test_without_the_site_sku_the_plan_tier_decides(
    azure: Azure,
    standin: str,
    plan: Plan,
) -> None:
    site = azure.site(standin)
    site.site.sku = ""
    with azure.session(site) as session:
        assert find_site(session).plan == plan
    assert any(
        request.path.endswith(f"/serverfarms/{site.name}-plan") for request in azure.arm.requests
    )


def test_the_startup_command_is_read_from_the_configuration(
    azure: Azure,
) -> None:
    site = azure.site("linux")
    site.site.app_command_line = "gunicorn --bind=0.0.0.0 project.wsgi"
    with azure.session(site) as session:
        assert find_site(session).startup_command == "gunicorn --bind=0.0.0.0 project.wsgi"


PLAN_CASES: list[tuple[str | None, str | None, str | None, str | None, bool, Plan]] = [
    # kind, site sku, plan tier, linuxFxVersion, functionAppConfig present, plan
    ("app,linux", "Basic", None, "PYTHON|3.12", False, "app-service-linux"),
    ("app", "Standard", None, None, False, "app-service-windows"),
    (None, None, None, None, False, "app-service-windows"),
    ("api", "Basic", None, None, False, "app-service-windows"),
    ("functionapp,linux", "Basic", None, None, False, "functions-dedicated"),
    ("functionapp,linux", "PremiumV3", None, None, False, "functions-dedicated"),
    ("FunctionApp,Linux", "elasticpremium", None, None, False, "functions-premium"),
    ("functionapp,linux", "Dynamic", None, None, False, "functions-consumption"),
    ("functionapp,linux", None, "Dynamic", None, False, "functions-consumption"),
    ("functionapp,linux", None, "ElasticPremium", None, False, "functions-premium"),
    ("functionapp,linux", "FlexConsumption", None, None, False, "functions-flex"),
    ("functionapp,linux", None, None, None, True, "functions-flex"),
]


@pytest.mark.parametrize("case", PLAN_CASES)
def test_plan_of(case: tuple[str | None, str | None, str | None, str | None, bool, Plan]) -> None:
    kind, site_sku, tier, fx, flex, plan = case
    found = plan_of(
        "app", kind=kind, site_sku=site_sku, plan_tier=tier, linux_fx_version=fx, flex=flex
    )
    assert found == plan


@pytest.mark.parametrize(
    ("kind", "fx", "words"),
    [
        ("app,linux,container", "DOCKER|nginx", "container image"),
        ("app,linux", "DOCKER|nginx", "container image"),
        ("functionapp,linux,container", None, "container image"),
        ("functionapp,workflowapp", None, "Logic App"),
        ("functionapp", None, "on Windows"),
        ("mobileapp,strange", None, "kind vendorer does not know (mobileapp,strange)"),
        ("functionapp,linux", None, "plan ARM does not say"),
    ],
)
def test_a_site_without_a_route_is_an_error_that_lists_the_routes(
    kind: str, fx: str | None, words: str
) -> None:
    with pytest.raises(UnsupportedSite) as refused:
        plan_of("odd-site", kind=kind, site_sku=None, linux_fx_version=fx)
    message = str(refused.value)
    assert message.startswith("site odd-site ") and words in message
    assert message.count("\n  ") == len(PLANS)  # every route, one a line


def test_python_of() -> None:
    assert python_of("PYTHON|3.12") == "3.12"
    assert python_of("Python|3.11") == "3.11"
    assert python_of("NODE|20-lts") is None
    assert python_of(None) is None
    assert python_of(None, "python", "3.13") == "3.13"
    assert python_of(None, "node", "20") is None


# -- ARM failures --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "words"),
    [
        ({"name": "no-such-site"}, ["no site no-such-site", "check --site", "az webapp list"]),
        (
            {"resource_group": "no-such-rg"},
            ["resource group no-such-rg not found", "--resource-group"],
        ),
        (
            {"subscription": "11111111-0000-0000-0000-000000000000"},
            ["subscription 11111111-0000-0000-0000-000000000000 not found", "--subscription"],
        ),
    ],
)
def test_an_unknown_site_group_or_subscription_says_which_option_to_check(
    azure: Azure,
    ref: dict[str, str],
    words: list[str],
) -> None:
    site = azure.site("linux")
    with (
        azure.session(site, **ref) as session,
        pytest.raises(ArmError) as missing,
    ):
        find_site(session)
    for word in words:
        assert word in str(missing.value)
    assert "Traceback" not in str(missing.value)


def test_a_refused_token_says_sign_in_again(
    azure: Azure,
) -> None:
    site = azure.site("linux")
    forged = StandInCredential({"https://management.azure.com": token_for("https://forged")})
    with azure.session(site, forged) as session, pytest.raises(ArmError) as refused:
        find_site(session)
    message = str(refused.value)
    assert "refused the token (401 InvalidAuthenticationToken)" in message and "az login" in message
    assert forged.tokens["https://management.azure.com"] not in message


def test_a_credential_without_a_token_is_one_sign_in_error(
    azure: Azure,
) -> None:
    site = azure.site("linux")
    with (
        azure.session(site, StandInCredential()) as session,
        pytest.raises(AzureSignInError) as refused,
    ):
        find_site(session)
    message = str(refused.value)
    assert message.startswith("no Microsoft Entra ID token for https://management.azure.com (")
    assert "az login" in message and "AZURE_CLIENT_SECRET" in message
    assert azure.arm.requests == []


@pytest.mark.parametrize(
    ("request_number", "status", "words"),
    [
        (
            1,
            403,
            [
                "not allowed to read the site standin-app (resource group standin-rg, subscription",
                "it needs Microsoft.Web/sites/read; ask for the Website Contributor role",
            ],
        ),
        (
            3,
            403,
            ["not allowed to read the app settings of standin-app", "sites/config/list/action"],
        ),
        (2, 500, ["could not read the configuration of standin-app", "answered 500 Internal"]),
    ],
)
def test_arm_refusals_name_the_call_and_what_to_do(
    azure: Azure,
    request_number: int,
    status: int,
    words: list[str],
) -> None:
    site = azure.site("linux")
    azure.arm.failures[request_number] = status
    with (
        azure.session(site) as session,
        pytest.raises(ArmError) as refused,
    ):
        find_site(session)
    for word in words:
        assert word in str(refused.value)


def test_an_arm_that_does_not_answer_is_named_with_its_endpoint(
    azure: Azure,
) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    ref = SiteRef(name="app", resource_group="rg", subscription=SUBSCRIPTION)
    with (
        ArmSession(ref, azure.credential, azure_cloud(endpoint), retries=0) as session,
        pytest.raises(ArmError) as failed,
    ):
        find_site(session)
    message = str(failed.value)
    assert message.startswith(f"could not read the site app: Azure Resource Manager at {endpoint} ")
    assert "did not answer" in message and "VENDORER_ARM_ENDPOINT" in message


# -- the cloud, the credential, the subscription --------------------------------------------------


def test_the_cloud_gives_arm_and_scm_scopes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VENDORER_ARM_ENDPOINT", raising=False)
    public = azure_cloud()
    assert public.arm_endpoint == "https://management.azure.com" and not public.loopback
    assert public.arm_scope == "https://management.azure.com/.default"
    assert public.scm_scope == "https://appservice.azure.com/.default"
    monkeypatch.setenv("AZURE_SDK_CLOUD_CONF", "AZURE_CHINA_CLOUD")
    china = azure_cloud()
    assert china.arm_endpoint == "https://management.chinacloudapi.cn"
    assert china.scm_scope == "https://management.core.chinacloudapi.cn/.default"
    monkeypatch.setenv("AZURE_SDK_CLOUD_CONF", "AZURE_MARS_CLOUD")
    with pytest.raises(ConfigError, match="AZURE_SDK_CLOUD_CONF"):
        azure_cloud()


def test_an_arm_endpoint_carries_tokens_over_https_or_to_loopback_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VENDORER_ARM_ENDPOINT", "http://127.0.0.1:8080/")
    assert azure_cloud().arm_endpoint == "http://127.0.0.1:8080" and azure_cloud().loopback
    assert azure_cloud("https://arm.example.test").loopback is False
    for endpoint in ("http://arm.example.test", "http://10.0.0.5:8080"):
        monkeypatch.setenv("VENDORER_ARM_ENDPOINT", endpoint)
        with pytest.raises(ConfigError, match=r"VENDORER_ARM_ENDPOINT: .* over https only"):
            azure_cloud()
    with pytest.raises(ConfigError, match="arm_endpoint: the ARM endpoint has no host"):
        azure_cloud("https://")


def test_the_subscription_comes_from_the_option_the_environment_or_az(
    fake_az: FakeAz, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "from-environment")
    assert subscription_for(" given ") == "given"
    assert subscription_for(None) == "from-environment"
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID")
    fake_az.subscription = "from-az"
    fake_az.save()
    assert subscription_for(None) == "from-az"
    assert fake_az.calls[-1]["argv"] == ["account", "show", "--output", "json"]
    fake_az.logged_in = False
    fake_az.save()
    with pytest.raises(UsageError) as missing:
        subscription_for(None)
    assert "the Azure CLI is not signed in" in str(missing.value)
    assert "--subscription" in str(missing.value) and "az login" in str(missing.value)


def test_without_az_the_subscription_must_be_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    with pytest.raises(UsageError, match=r"the Azure CLI is not installed\): give --subscription"):
        subscription_for(None)


def test_open_arm_with_the_default_credential_and_az(
    fake_az: FakeAz,
    azure: Azure,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No credential and no subscription given: DefaultAzureCredential finds `az login`, and the
    subscription is az's current one."""
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "AzureCliCredential")
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    site = azure.site("functions-premium")
    with open_arm(site.name, site.resource_group, arm_endpoint=azure.arm.url, retries=0) as session:
        assert session.ref.subscription == SUBSCRIPTION
        assert find_site(session).plan == "functions-premium"
    fake_az.logged_in = False
    fake_az.save()
    with (
        open_arm(
            site.name, site.resource_group, SUBSCRIPTION, arm_endpoint=azure.arm.url, retries=0
        ) as session,
        pytest.raises(AzureSignInError) as signed_out,
    ):
        read_settings(session)
    assert "(the Azure CLI is not signed in)" in str(signed_out.value)
    assert "az login" in str(signed_out.value)
    assert capsys.readouterr().err == ""  # azure-identity's long warning is not printed


def test_a_bad_token_credentials_setting_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "nosuchcredential")
    with pytest.raises(ConfigError, match="Azure credentials: Invalid value for AZURE_TOKEN"):
        default_credential()


def test_an_az_that_is_logged_out_gives_one_error(fake_az: FakeAz) -> None:
    fake_az.logged_in = False
    fake_az.save()
    scm = ScmToken(AzureCliCredential(), azure_cloud("https://management.azure.com"))
    with pytest.raises(AzureSignInError) as refused:
        scm()
    message = str(refused.value)
    assert message.startswith(
        "no Microsoft Entra ID token for https://appservice.azure.com (the Azure CLI is not "
        "signed in): sign in with `az login`"
    )
    assert len(message.splitlines()) == 1


# -- SCM tokens -----------------------------------------------------------------------------------


def test_scm_tokens_are_for_app_service_cached_and_accepted_by_the_scm_site(
    azure: Azure,
) -> None:
    site = azure.site("functions-flex")
    scm = ScmToken(azure.credential, azure_cloud(azure.arm.url))
    first = scm()
    assert first == azure.credential.token(SCM_AUDIENCE) and scm() == first
    assert azure.credential.asked == [("https://appservice.azure.com/.default",)]
    assert first not in repr(scm)
    answer = httpx.get(
        f"{site.kudu.url}/api/settings", headers={"Authorization": f"Bearer {scm()}"}
    )
    assert answer.status_code == 200
    assert scm.use_arm_audience() and not scm.use_arm_audience()
    assert scm() == azure.credential.token(ARM_AUDIENCE)
    assert scm.scope == "https://management.azure.com/.default"


def test_scm_tokens_fall_back_to_the_arm_audience(azure: Azure) -> None:
    credential = StandInCredential.for_audiences(ARM_AUDIENCE)
    scm = ScmToken(credential, azure_cloud(azure.arm.url))
    assert scm() == credential.token(ARM_AUDIENCE)
    assert credential.asked == [
        ("https://appservice.azure.com/.default",),
        ("https://management.azure.com/.default",),
    ]
    assert scm() == credential.token(ARM_AUDIENCE) and len(credential.asked) == 2  # cached
    with pytest.raises(AzureSignInError, match=r"for https://appservice\.azure\.com "):
        ScmToken(StandInCredential(), azure_cloud(azure.arm.url))()


class OfflineCredential:
    """A credential whose Entra ID cannot be reached."""

    def get_token(self, *scopes: str, **options: Any) -> Any:
        raise ServiceRequestError("<urllib3 connection>: Failed to establish a new connection")


def test_an_entra_id_that_does_not_answer_is_said() -> None:
    with pytest.raises(AzureSignInError) as failed:
        ScmToken(OfflineCredential(), azure_cloud("https://management.azure.com"))()
    assert "(Microsoft Entra ID did not answer: check the network)" in str(failed.value)


def test_an_expiring_scm_token_is_fetched_again(azure: Azure) -> None:
    credential = StandInCredential.for_audiences(SCM_AUDIENCE)
    scm = ScmToken(credential, azure_cloud(azure.arm.url))
    scm()
    scm._expires = 0.0  # as if the hour had passed
    scm()
    assert len(credential.asked) == 2


# -- app settings ---------------------------------------------------------------------------------


def test_settings_are_read_and_written_whole(
    azure: Azure,
) -> None:
    site = azure.site("functions-dedicated", settings={"UNKNOWN_TO_VENDORER": "x"})
    with azure.session(site) as session:
        settings = read_settings(session)
        assert settings == site.site.settings and settings["UNKNOWN_TO_VENDORER"] == "x"
        write_settings(session, {**settings, "NEW": "1"})
        assert site.site.settings == {**settings, "NEW": "1"} == site.kudu.settings
        change = SettingsChange(
            updates={"new": "2", "ADDED": "y"}, removals=("unknown_to_vendorer",)
        )
        after = change_settings(session, change)
        puts = [r for r in azure.arm.requests if r.method == "PUT"]
        assert change_settings(session, change) == after  # nothing changes: nothing written
        assert [r for r in azure.arm.requests if r.method == "PUT"] == puts
    assert site.site.settings == after
    assert after == {**{k: v for k, v in settings.items() if k != "UNKNOWN_TO_VENDORER"},
                     "new": "2", "ADDED": "y"}  # fmt: skip
    assert "AzureWebJobsStorage" in after and "FUNCTIONS_WORKER_RUNTIME" in after


BUILD, ORYX, RUN = "SCM_DO_BUILD_DURING_DEPLOYMENT", "ENABLE_ORYX_BUILD", "WEBSITE_RUN_FROM_PACKAGE"
URL = "https://x.blob.core.windows.net/c/p.zip?sig=1"
BUILD_CASES: list[tuple[Plan, dict[str, str], dict[str, str], tuple[str, ...]]] = [
    # plan, settings, updates, removals
    ("app-service-linux", {BUILD: "True"}, {BUILD: "false"}, ()),
    ("app-service-linux", {BUILD: "false"}, {}, ()),
    ("app-service-linux", {BUILD: "yes"}, {}, ()),  # not true-like for Kudu
    ("app-service-linux", {RUN: URL}, {}, (RUN,)),
    ("app-service-windows", {RUN: "1"}, {}, ()),
    ("functions-dedicated",
     {BUILD: "1", ORYX: "TRUE", "BUILD_FLAGS": "UseExpressBuild", "XDG_CACHE_HOME": "/tmp/.cache"},
     {}, (BUILD, ORYX, "BUILD_FLAGS", "XDG_CACHE_HOME")),
    ("functions-dedicated",
     {"BUILD_FLAGS": "Other", "XDG_CACHE_HOME": "/home/cache", ORYX: "false", RUN: "1"}, {}, ()),
    ("functions-premium", {RUN: URL, ORYX: "true"}, {}, (ORYX,)),
    ("functions-consumption", {BUILD.lower(): "true"}, {}, (BUILD.lower(),)),
    ("functions-flex", {BUILD: "false", ORYX: "false", RUN: "1", "BUILD_FLAGS": "Other"},
     {}, (BUILD, ORYX, RUN)),
]  # fmt: skip


@pytest.mark.parametrize(("plan", "settings", "updates", "removals"), BUILD_CASES)
def test_the_build_settings_fix_per_plan(
    plan: Plan, settings: dict[str, str], updates: dict[str, str], removals: tuple[str, ...]
) -> None:
    change = build_settings_fix({**settings, "OTHER": "kept"}, plan)
    assert (dict(change.updates), change.removals) == (updates, removals)
    assert bool(change) == bool(updates or removals)
    assert set(change.reasons) == {*updates, *removals}
    applied = change.applied_to({**settings, "OTHER": "kept"})
    assert applied["OTHER"] == "kept" and not set(removals) & set(applied)


def test_fix_build_settings_writes_the_fix_once_and_says_what(
    azure: Azure,
) -> None:
    old_url = "https://old.example/p.zip?sv=1&sig=OLDSIGNATURE"
    build = {BUILD: "1", ORYX: "true", "BUILD_FLAGS": "UseExpressBuild",
             "XDG_CACHE_HOME": "/tmp/.cache", RUN: old_url}  # fmt: skip
    site = azure.site("functions-dedicated", settings=build)
    reporter = Recorder()
    with azure.session(site) as session:
        change = fix_build_settings(session, "functions-dedicated", reporter=reporter)
        assert not fix_build_settings(session, "functions-dedicated", reporter=reporter)
    assert change.names == (
        "SCM_DO_BUILD_DURING_DEPLOYMENT", "ENABLE_ORYX_BUILD", "BUILD_FLAGS", "XDG_CACHE_HOME",
        "WEBSITE_RUN_FROM_PACKAGE",
    )  # fmt: skip
    assert site.site.settings == {
        "FUNCTIONS_EXTENSION_VERSION": "~4",
        "FUNCTIONS_WORKER_RUNTIME": "python",
        "AzureWebJobsStorage": site.site.settings["AzureWebJobsStorage"],
    }
    assert [r.method for r in azure.arm.requests].count("PUT") == 1
    assert reporter.notices[0].startswith("app setting SCM_DO_BUILD_DURING_DEPLOYMENT removed (")
    assert "app setting WEBSITE_RUN_FROM_PACKAGE removed (the site runs a package from a URL" in (
        "\n".join(reporter.notices)
    )
    assert "OLDSIGNATURE" not in "\n".join(reporter.calls)


def test_a_flex_site_loses_the_settings_flex_refuses(
    azure: Azure,
) -> None:
    site = azure.site("functions-flex", settings={"ENABLE_ORYX_BUILD": "false", "KEEP": "1"})
    with azure.session(site) as session:
        assert fix_build_settings(session, "functions-flex").removals == ("ENABLE_ORYX_BUILD",)
    assert "ENABLE_ORYX_BUILD" not in site.site.settings and site.site.settings["KEEP"] == "1"


def test_the_wait_ends_when_the_scm_site_sees_the_change(
    azure: Azure,
) -> None:
    site = azure.site(
        "linux", settings={"SCM_DO_BUILD_DURING_DEPLOYMENT": "true"}, settings_lag=0.4
    )
    token = ScmToken(azure.credential, azure_cloud(azure.arm.url))
    reads: list[dict[str, str]] = []

    def scm_settings() -> dict[str, str]:
        answer = httpx.get(
            f"{site.kudu.url}/api/settings", headers={"Authorization": f"Bearer {token()}"}
        )
        reads.append(answer.json())
        return reads[-1]

    reporter = Recorder()
    with azure.session(site) as session:
        change = fix_build_settings(session, "app-service-linux")
    wait_until_scm_sees(change, scm_settings, reporter=reporter, timeout=10, interval=0.05)
    assert reads[0] == {"SCM_DO_BUILD_DURING_DEPLOYMENT": "true"}
    assert reads[-1] == {"SCM_DO_BUILD_DURING_DEPLOYMENT": "false"} and len(reads) > 2
    assert reporter.notices == ["waiting for the SCM site to see the new app settings"]
    wait_until_scm_sees(SettingsChange(), scm_settings)  # nothing to wait for: no read
    assert reads[-1] == {"SCM_DO_BUILD_DURING_DEPLOYMENT": "false"}


def test_the_wait_gives_up_with_a_next_step() -> None:
    change = SettingsChange(removals=("ENABLE_ORYX_BUILD",))
    with pytest.raises(AzureError) as late:
        wait_until_scm_sees(change, lambda: {"ENABLE_ORYX_BUILD": "1"}, timeout=0.2, interval=0.05)
    assert str(late.value) == (
        "the SCM site still does not see the new app settings (ENABLE_ORYX_BUILD) after 0.2 s; "
        "nothing was deployed: run the deployment again in a few minutes"
    )


def test_a_refused_settings_write_names_the_setting_and_not_its_value(
    azure: Azure,
) -> None:
    site = azure.site("functions-flex")
    secret_url = "https://account.blob.core.windows.net/c/p.zip?sv=2025&sig=SECRETSIGNATURE"
    with (
        azure.session(site) as session,
        pytest.raises(ArmError) as refused,
    ):
        write_settings(session, {"WEBSITE_RUN_FROM_PACKAGE": secret_url})
    message = str(refused.value)
    assert message.startswith("could not write the app settings of standin-app")
    assert "400 BadRequest" in message and "WEBSITE_RUN_FROM_PACKAGE" in message
    assert "SECRETSIGNATURE" not in message


# -- trigger sync -----------------------------------------------------------------------------


def test_sync_triggers_calls_host_sync_and_takes_a_200(
    azure: Azure,
) -> None:
    site = azure.site("functions-premium")
    with azure.session(site) as session:
        sync_triggers(session)
        assert site.site.syncs == ["host/default/sync"]
        azure.arm.failures[len(azure.arm.requests) + 1] = 200  # the SDK takes only 204
        sync_triggers(session)
        azure.arm.failures[len(azure.arm.requests) + 1] = 502
        with pytest.raises(ArmError, match="could not sync the function triggers of standin-app"):
            sync_triggers(session)


# -- run-from-package (Azurite) ----------------------------------------------------------------


@pytest.fixture
def package(tmp_path: Path) -> Path:
    return make_zip(APP, tmp_path)


@pytest.mark.parametrize("standin", ["functions-premium", "functions-consumption"])
def test_run_from_package_puts_the_package_in_a_blob_the_site_loads(
    module_azurite: Azurite,
    azure: Azure,
    package: Path,
    standin: str,
) -> None:
    mine = {"MINE": "1", BUILD: "1"}
    site = azure.site(standin, storage=module_azurite.connection_string, settings=mine)
    reporter = Recorder()
    with azure.session(site) as session:
        found = find_site(session)
        fix = build_settings_fix(found.settings, found.plan)
        result = publish_run_from_package(session, found, package, reporter=reporter, also=fix)
    assert azure.puts == 1  # the fix and the package in one write: one restart
    assert BUILD not in site.site.settings and site.app.restarts == 1
    prefix = f"{module_azurite.blob_endpoint}/{CONTAINER}/"
    assert result.blob_url.startswith(prefix) and "?" not in result.blob_url
    assert re.fullmatch(r"\d{14}-[0-9a-f-]{36}\.zip", result.blob_url.removeprefix(prefix))
    settings = site.site.settings
    sas_url = settings["WEBSITE_RUN_FROM_PACKAGE"]
    assert sas_url.startswith(result.blob_url + "?") and "sp=r&" in sas_url
    assert settings["MINE"] == "1" and "AzureWebJobsStorage" in settings
    assert ("WEBSITE_MOUNT_ENABLED" in settings) == (standin == "functions-consumption")
    assert (site.app.package_status, site.app.package_files) == (200, list(APP))
    assert httpx.get(site.app.url).status_code == 200
    assert site.site.syncs == ["host/default/sync"]
    assert result.md5 == hashlib.md5(package.read_bytes()).hexdigest()
    overwrite = httpx.put(sas_url, content=b"x", headers={"x-ms-blob-type": "BlockBlob"})
    assert overwrite.status_code == 403  # read only
    blob = BlobServiceClient.from_connection_string(module_azurite.connection_string)
    stored = blob.get_blob_client(CONTAINER, result.blob_url.removeprefix(prefix))
    assert stored.download_blob().readall() == package.read_bytes()
    assert (
        reporter.calls[0]
        == f"started upload uploading app.zip to {result.blob_url} {package.stat().st_size}"
    )
    assert f"advanced upload  {package.stat().st_size}" in reporter.calls
    assert any(
        f"WEBSITE_RUN_FROM_PACKAGE set ({result.blob_url}, through" in n for n in reporter.notices
    )
    assert "sig=" not in "\n".join(reporter.calls)


def test_blob_names_are_time_and_uuid() -> None:
    from datetime import UTC, datetime

    name = blob_name(datetime(2026, 12, 2, 7, 8, 9, tzinfo=UTC))
    assert re.fullmatch(r"20261202070809-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\.zip", name)
    assert blob_name() != blob_name()


STORAGE_CASES = [
    ({}, "the app setting AzureWebJobsStorage is missing"),
    ({"AzureWebJobsStorage__accountName": "acct"}, "uses an identity-based connection"),
    ({"AzureWebJobsStorage": "not a connection string"}, "is not a storage connection string"),
    (
        {"AzureWebJobsStorage": "BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=1&sig=abcdefgh"},
        "has no AccountKey",
    ),
    ({"AzureWebJobsStorage": "AccountName=acct;AccountKey=not-base64!!"}, "not base64"),
]  # fmt: skip


@pytest.mark.parametrize(("settings", "words"), STORAGE_CASES)
def test_a_storage_setting_that_cannot_sign_a_sas_is_said(
    settings: dict[str, str], words: str
) -> None:
    with pytest.raises(StorageError) as refused:
        storage_account(settings)
    message = str(refused.value)
    assert words in message and "az storage account show-connection-string" in message
    for value in settings.values():
        assert value not in message or value == "acct"


def test_a_missing_storage_setting_stops_before_anything_is_written(
    azure: Azure,
    package: Path,
) -> None:
    site = azure.site("functions-premium")
    del site.site.settings["AzureWebJobsStorage"]
    with azure.session(site) as session:
        found = find_site(session)
        with pytest.raises(StorageError, match="AzureWebJobsStorage is missing"):
            publish_run_from_package(session, found, package)
    assert not any(request.method == "PUT" for request in azure.arm.requests)


def test_a_wrong_account_key_is_refused_without_showing_it(
    module_azurite: Azurite,
    azure: Azure,
    package: Path,
) -> None:
    wrong_key = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXk="
    storage = module_azurite.connection_string.replace(module_azurite.key, wrong_key)
    site = azure.site("functions-consumption", storage=storage)
    with azure.session(site) as session:
        found = find_site(session)
        with pytest.raises(StorageError) as refused:
            publish_run_from_package(session, found, package, storage_retries=0)
    message = str(refused.value)
    assert "refused the account key (403" in message and "was the key rotated?" in message
    assert wrong_key not in message and storage not in message
    assert "WEBSITE_RUN_FROM_PACKAGE" not in site.site.settings and site.site.syncs == []


def test_a_storage_account_that_does_not_answer(
    azure: Azure,
    package: Path,
) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}/devstoreaccount1"
    key = "RGVhZEFjY291bnRLZXlEZWFkQWNjb3VudEtleQ=="
    storage = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={key};BlobEndpoint={endpoint};"
    )
    site = azure.site("functions-premium", storage=storage)
    with azure.session(site) as session:
        found = find_site(session)
        with pytest.raises(StorageError) as failed:
            publish_run_from_package(session, found, package, storage_retries=0)
    assert f"at {endpoint} did not answer" in str(failed.value) and key not in str(failed.value)


def test_a_refused_settings_write_after_the_upload_deletes_the_blob(
    module_azurite: Azurite,
    azure: Azure,
    package: Path,
) -> None:
    site = azure.site("functions-premium", storage=module_azurite.connection_string)
    before = dict(site.site.settings)
    blobs = BlobServiceClient.from_connection_string(module_azurite.connection_string)
    container = blobs.get_container_client(CONTAINER)
    existing = {b.name for b in container.list_blobs()} if container.exists() else set()
    with azure.session(site) as session:
        found = find_site(session)
        azure.arm.failures[len(azure.arm.requests) + 3] = 409  # list, list again, then PUT
        with pytest.raises(ArmError, match=r"could not write the app settings .* 409"):
            publish_run_from_package(session, found, package)
    assert site.site.settings == before and site.site.syncs == []
    assert {b.name for b in container.list_blobs()} == existing


def test_run_from_package_is_for_premium_and_consumption_only(
    azure: Azure,
    package: Path,
) -> None:
    site = azure.site("functions-dedicated")
    with azure.session(site) as session:
        found = find_site(session)
        with pytest.raises(AzureError, match="on functions-dedicated: run-from-package"):
            publish_run_from_package(session, found, package)


# -- no secret anywhere -------------------------------------------------------------------------


def test_hide_secrets() -> None:
    token = token_for(ARM_AUDIENCE)
    text = (
        f"Authorization: Bearer {token}; raw {token}; "
        "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=S3CRETKEY==;EndpointSuffix=x; "
        "https://a.blob.core.windows.net/c/b.zip?sv=1&sp=r&sig=SIGNATURE%3D; "
        "https://user:pw@host/x; known secret-value-123"
    )
    hidden = hide_secrets(text, ["secret-value-123", "pw"])
    for secret in (token, "S3CRETKEY", "SIGNATURE", "user:pw", "secret-value-123"):
        assert secret not in hidden
    assert "AccountName=a" in hidden and "sp=r" in hidden and "Bearer ***" in hidden


def test_no_secret_in_any_message_or_log(
    module_azurite: Azurite,
    azure: Azure,
    package: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The whole chain and its failures, with every logger at DEBUG: no token, account key,
    SAS signature or connection string in a log record, a reporter call or an error."""
    caplog.set_level(logging.DEBUG)
    reporter, errors = Recorder(), []
    site = azure.site("functions-consumption", storage=module_azurite.connection_string)
    with azure.session(site) as session:
        found = find_site(session)
        fix_build_settings(session, found.plan, reporter=reporter)
        publish_run_from_package(session, found, package, reporter=reporter)
        ScmToken(azure.credential, session.cloud)()
        azure.arm.failures[len(azure.arm.requests) + 1] = 403
        with pytest.raises(AzureError) as refused:
            read_settings(session)
        errors.append(str(refused.value))
    bad = module_azurite.connection_string.replace(module_azurite.key, "QmFkS2V5QmFkS2V5QmFkS2V5")
    site.site.settings["AzureWebJobsStorage"] = bad
    with (
        azure.session(site) as session,
        pytest.raises(AzureError) as refused,
    ):
        publish_run_from_package(session, found, package, reporter=reporter, storage_retries=0)
    errors.append(str(refused.value))
    with (
        azure.session(site, StandInCredential()) as session,
        pytest.raises(AzureError) as refused,
    ):
        find_site(session)
    errors.append(str(refused.value))
    sas = site.arm.sites[(site.resource_group, site.name)].settings
    secrets = {
        *azure.credential.tokens.values(),
        module_azurite.key,
        module_azurite.connection_string,
        bad,
        sas["WEBSITE_RUN_FROM_PACKAGE"].partition("sig=")[2],
    } - {""}
    said = "\n".join([*errors, *reporter.calls, *(r.getMessage() for r in caplog.records)])
    assert caplog.records and len(errors) == 3
    for secret in secrets:
        assert secret not in said
    assert "sig=" not in said.replace("sig=***", "").replace("sig=REDACTED", "")


@pytest.fixture(autouse=True)
def _no_ambient_azure(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Nothing from the machine's own Azure setup reaches a test."""
    for name in ("VENDORER_ARM_ENDPOINT", "AZURE_SDK_CLOUD_CONF", "AZURE_TOKEN_CREDENTIALS"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID"):
        monkeypatch.delenv(name, raising=False)
    yield
