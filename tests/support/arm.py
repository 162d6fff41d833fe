"""An Azure Resource Manager stand-in on loopback: the Microsoft.Web calls `azure-mgmt-web` makes.

Paths, verbs and JSON shapes from notes/azure-deploy-research.md §9 (azure-mgmt-web 11.0.1,
api-version 2025-05-01, checked against the real SDK by tests/test_standins.py); any api-version
is accepted (Core Tools sends 2015-08-01) and recorded. Under
`/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Web` (case-insensitive, as ARM):

- `web_apps.get`: GET `/sites/{name}`, the site (`ArmSite.to_json`);
- `app_service_plans.get`: GET `/serverfarms/{plan}`, the plan;
- `web_apps.list_application_settings`: POST `/sites/{n}/config/appsettings/list`,
  `{"properties": {...}}`; `update_application_settings`: PUT `/sites/{n}/config/appsettings`, a
  full replace;
- `web_apps.get_configuration` / `update_configuration`: GET / PATCH (or PUT)
  `/sites/{n}/config/web`, with `linuxFxVersion` and `appCommandLine`;
- `web_apps.get_scm_allowed` / `update_scm_allowed`: GET / PUT
  `/sites/{n}/basicPublishingCredentialsPolicies/scm`, `{"properties": {"allow": b}}`;
- `web_apps.sync_functions` (POST `/sites/{n}/host/default/sync`) and `sync_function_triggers`
  (POST `/sites/{n}/syncfunctiontriggers`): 204, recorded in `ArmSite.syncs`;
- `web_apps.restart`: POST `/sites/{n}/restart`, 200, counted in `ArmSite.restarts` (and
  `on_restart` called: the trio restarts the app);
- `web_apps.list_host_keys`: POST `/sites/{n}/host/default/listkeys`, master and function keys.

Errors are ARM's `{"error": {"code", "message"}}`: 404 `ResourceNotFound` / `ResourceGroupNotFound`
/ `SubscriptionNotFound`, 401 `AuthenticationFailed` (no token) or `InvalidAuthenticationToken`
(a token not in `tokens`) with a `WWW-Authenticate: Bearer` challenge that has no claims.

An app-settings write notifies `ArmSite.on_settings` (the trio in azure.py passes it to the Kudu
stand-in and restarts the app, as a settings change restarts the site on App Service). A Flex
Consumption site refuses settings its plan does not take (`FLEX_REFUSED_SETTINGS`, 400 with the
message Microsoft's docs show; the list is from the Flex Consumption docs' deprecations, not
from a source). Switches: `failures` (request number, 1-based, -> HTTP status, with an ARM error
body); `requests` records every request (`ArmRequest`).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from azure.core.credentials import TokenCredential
from azure.core.pipeline import PipelineRequest
from azure.core.rest import HttpRequest
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy
from azure.mgmt.web import WebSiteManagementClient

from tests.support.loopback import LoopbackServer

SUBSCRIPTION = "00000000-0000-0000-0000-00000000a2b1"
TENANT = "00000000-0000-0000-0000-0000000e4a11"
FLEX_REFUSED_SETTINGS = (
    "WEBSITE_RUN_FROM_PACKAGE",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD",
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_CONTENTSHARE",
)
_PATH = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)/providers/microsoft\.web/"
    r"(?P<kind>sites|serverfarms)/(?P<name>[^/]+)(?P<rest>/.*)?$",
    re.IGNORECASE,
)


@dataclass
class ArmPlan:
    """An App Service plan (`Microsoft.Web/serverfarms`)."""

    name: str
    resource_group: str
    sku_name: str  # B1, EP1, Y1, FC1 ...
    tier: str  # Basic, ElasticPremium, Dynamic, FlexConsumption ...
    kind: str = "linux"
    reserved: bool = True  # Linux
    location: str = "westeurope"

    def resource_id(self, subscription: str) -> str:
        return (
            f"/subscriptions/{subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Web/serverfarms/{self.name}"
        )

    def to_json(self, subscription: str) -> dict[str, Any]:
        return {
            "id": self.resource_id(subscription),
            "name": self.name,
            "type": "Microsoft.Web/serverfarms",
            "location": self.location,
            "kind": self.kind,
            "sku": {
                "name": self.sku_name,
                "tier": self.tier,
                "size": self.sku_name,
                "family": self.sku_name[:-1] or self.sku_name,
                "capacity": 1,
            },
            "properties": {"reserved": self.reserved, "status": "Ready", "numberOfSites": 1},
        }


@dataclass
class ArmSite:
    """A site (`Microsoft.Web/sites`): what ARM knows of it, and what its calls changed."""

    name: str
    resource_group: str
    kind: str  # "app,linux" | "functionapp,linux" | "app" (Windows) ...
    sku: str  # the site's properties.sku: Basic, ElasticPremium, Dynamic, FlexConsumption ...
    plan: ArmPlan
    default_host_name: str = ""
    scm_host_name: str = ""
    settings: dict[str, str] = field(default_factory=dict)
    linux_fx_version: str = ""
    app_command_line: str = ""
    scm_allowed: bool = False  # basic auth on the SCM site: off by default on new apps
    function_app_config: dict[str, Any] | None = None
    location: str = "westeurope"
    state: str = "Running"
    master_key: str = "master-key-standin"
    syncs: list[str] = field(default_factory=list)  # "host/default/sync" | "syncfunctiontriggers"
    restarts: int = 0  # POST /restart (`web_apps.restart`, what `az webapp restart` calls)
    on_restart: list[Callable[[], None]] = field(default_factory=list)
    on_settings: list[Callable[[dict[str, str]], None]] = field(default_factory=list)
    on_scm_allowed: list[Callable[[bool], None]] = field(default_factory=list)

    def resource_id(self, subscription: str) -> str:
        return (
            f"/subscriptions/{subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Web/sites/{self.name}"
        )

    def to_json(self, subscription: str) -> dict[str, Any]:
        hosts = [self.default_host_name, self.scm_host_name]
        properties: dict[str, Any] = {
            "name": self.name,
            "state": self.state,
            "hostNames": [self.default_host_name],
            "enabledHostNames": hosts,
            "hostNameSslStates": [
                {"name": self.default_host_name, "hostType": "Standard", "sslState": "Disabled"},
                {"name": self.scm_host_name, "hostType": "Repository", "sslState": "Disabled"},
            ],
            "defaultHostName": self.default_host_name,
            "serverFarmId": self.plan.resource_id(subscription),
            "reserved": "linux" in self.kind,
            "sku": self.sku,
            "resourceGroup": self.resource_group,
            "httpsOnly": True,
            # A GET returns a partial siteConfig (UNCONFIRMED which keys): read the rest with
            # get_configuration.
            "siteConfig": {
                "numberOfWorkers": 1,
                "linuxFxVersion": self.linux_fx_version,
                "appCommandLine": None,
                "alwaysOn": False,
            },
        }
        if self.function_app_config is not None:
            properties["functionAppConfig"] = self.function_app_config
        return {
            "id": self.resource_id(subscription),
            "name": self.name,
            "type": "Microsoft.Web/sites",
            "kind": self.kind,
            "location": self.location,
            "properties": properties,
        }

    def replace_settings(self, new: dict[str, str]) -> None:
        self.settings.clear()
        self.settings.update(new)
        for callback in self.on_settings:
            callback(dict(new))


@dataclass(frozen=True)
class ArmRequest:
    method: str
    path: str
    api_version: str | None
    body: Any
    authorization: str  # the scheme only ("Bearer", "" ...), never the token


class ArmServer:
    def __init__(self, *, tokens: Iterable[str], subscription: str = SUBSCRIPTION) -> None:
        self.tokens: set[str] = set(tokens)
        self.subscription = subscription
        self.sites: dict[tuple[str, str], ArmSite] = {}
        self.plans: dict[tuple[str, str], ArmPlan] = {}
        self.requests: list[ArmRequest] = []
        self.failures: dict[int, int] = {}
        self.flex_refused_settings: tuple[str, ...] = FLEX_REFUSED_SETTINGS
        self._lock = threading.Lock()
        self._http = LoopbackServer(self._handler())
        self.url = self._http.base

    def __enter__(self) -> Self:
        self._http.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._http.stop()

    def add_site(self, site: ArmSite) -> ArmSite:
        self.sites[(site.resource_group.lower(), site.name.lower())] = site
        self.plans[(site.plan.resource_group.lower(), site.plan.name.lower())] = site.plan
        return site

    def answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        """The ARM answer to one authorized request: (status, JSON or None)."""
        match = _PATH.match(path)
        if match is None:
            return 404, _error("NotFound", f"No route {path} in this stand-in.")
        if match["sub"].lower() != self.subscription.lower():
            return 404, _error(
                "SubscriptionNotFound", f"The subscription '{match['sub']}' could not be found."
            )
        group = match["rg"].lower()
        if not any(key[0] == group for key in [*self.sites, *self.plans]):
            return 404, _error(
                "ResourceGroupNotFound", f"Resource group '{match['rg']}' could not be found."
            )
        kind, name, rest = match["kind"].lower(), match["name"], (match["rest"] or "").lower()
        if kind == "serverfarms":
            plan = self.plans.get((group, name.lower()))
            if plan is None or rest or method != "GET":
                return _not_found("serverfarms", name, match["rg"])
            return 200, plan.to_json(self.subscription)
        site = self.sites.get((group, name.lower()))
        if site is None:
            return _not_found("sites", name, match["rg"])
        return self.site_answer(site, method, rest.rstrip("/"), body)

    def site_answer(self, site: ArmSite, method: str, rest: str, body: Any) -> tuple[int, Any]:
        route = (method, rest)
        if route == ("GET", ""):
            return 200, site.to_json(self.subscription)
        if route == ("POST", "/config/appsettings/list"):
            return 200, self.settings_json(site)
        if route == ("PUT", "/config/appsettings"):
            return self.put_settings(site, body)
        if rest == "/config/web" and method in ("GET", "PATCH", "PUT"):
            return 200, self.config_json(site, body if method != "GET" else None)
        if rest == "/basicpublishingcredentialspolicies/scm" and method in ("GET", "PUT"):
            return 200, self.scm_policy(site, body if method == "PUT" else None)
        if method == "POST" and rest in ("/host/default/sync", "/syncfunctiontriggers"):
            site.syncs.append(rest.lstrip("/"))
            return 204, None
        if route == ("POST", "/restart"):
            site.restarts += 1
            for callback in site.on_restart:
                callback()
            return 200, None
        if route == ("POST", "/host/default/listkeys"):
            keys = {"masterKey": site.master_key, "functionKeys": {"default": "function-key"}}
            return 200, {**keys, "systemKeys": {}}
        return 404, _error("NotFound", f"No route {method} {rest} for a site in this stand-in.")

    def settings_json(self, site: ArmSite) -> dict[str, Any]:
        return {
            "id": site.resource_id(self.subscription) + "/config/appsettings",
            "name": "appsettings",
            "type": "Microsoft.Web/sites/config",
            "location": site.location,
            "properties": dict(site.settings),
        }

    def put_settings(self, site: ArmSite, body: Any) -> tuple[int, Any]:
        properties = body.get("properties") if isinstance(body, dict) else None
        if not isinstance(properties, dict):
            return 400, _error("BadRequest", 'The request body must be {"properties": {...}}.')
        new = {str(key): str(value) for key, value in properties.items()}
        if site.sku == "FlexConsumption":
            for name in self.flex_refused_settings:
                if name in new:
                    message = (
                        f"The following app setting (Site.SiteConfig.AppSettings.{name}) "
                        "for Flex Consumption sites is invalid. Please remove or rename it "
                        "before retrying."
                    )
                    return 400, _error("BadRequest", message)
        site.replace_settings(new)
        return 200, self.settings_json(site)

    def config_json(self, site: ArmSite, patch: Any) -> dict[str, Any]:
        properties = patch.get("properties") if isinstance(patch, dict) else None
        if isinstance(properties, dict):
            if properties.get("linuxFxVersion") is not None:
                site.linux_fx_version = str(properties["linuxFxVersion"])
            if properties.get("appCommandLine") is not None:
                site.app_command_line = str(properties["appCommandLine"])
        return {
            "id": site.resource_id(self.subscription) + "/config/web",
            "name": "web",
            "type": "Microsoft.Web/sites/config",
            "location": site.location,
            "properties": {
                "numberOfWorkers": 1,
                "linuxFxVersion": site.linux_fx_version,
                "appCommandLine": site.app_command_line,
                "alwaysOn": False,
                "http20Enabled": True,
                "ftpsState": "FtpsOnly",
                "minTlsVersion": "1.2",
                "scmType": "None",
            },
        }

    def scm_policy(self, site: ArmSite, update: Any) -> dict[str, Any]:
        properties = update.get("properties") if isinstance(update, dict) else None
        if isinstance(properties, dict) and "allow" in properties:
            site.scm_allowed = bool(properties["allow"])
            for callback in site.on_scm_allowed:
                callback(site.scm_allowed)
        return {
            "id": site.resource_id(self.subscription) + "/basicPublishingCredentialsPolicies/scm",
            "name": "scm",
            "type": "Microsoft.Web/sites/basicPublishingCredentialsPolicies",
            "location": site.location,
            "properties": {"allow": site.scm_allowed},
        }

    def _handle(
        self, method: str, target: str, headers: Any, raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query))
        scheme, _, token = (headers.get("Authorization") or "").partition(" ")
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with self._lock:
            self.requests.append(
                ArmRequest(method, parts.path, query.get("api-version"), body, scheme)
            )
            number = len(self.requests)
        if scheme != "Bearer" or token not in self.tokens:
            return self._unauthorized(scheme)
        if number in self.failures:
            status = self.failures[number]
            return status, _error("InternalServerError", f"failure on purpose ({status})"), {}
        status, data = self.answer(method, parts.path, body)
        return status, data, {}

    def _unauthorized(self, scheme: str) -> tuple[int, Any, dict[str, str]]:
        challenge = (
            f'Bearer authorization_uri="https://login.microsoftonline.com/{TENANT}", '
            'error="invalid_token", error_description="The authentication failed."'
        )
        if scheme != "Bearer":
            data = _error(
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
            )
        else:
            data = _error("InvalidAuthenticationToken", "The access token is invalid.")
        return 401, data, {"WWW-Authenticate": challenge}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        arm = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _dispatch(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, data, headers = arm._handle(self.command, self.path, self.headers, raw)
                body = b"" if data is None else json.dumps(data).encode()
                self.send_response(status)
                if data is not None:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("x-ms-request-id", "standin")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _dispatch

        return Handler


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _not_found(kind: str, name: str, group: str) -> tuple[int, Any]:
    message = (
        f"The Resource 'Microsoft.Web/{kind}/{name}' under resource group '{group}' was not "
        "found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
    )
    return 404, _error("ResourceNotFound", message)


class LoopbackArmPolicy(ARMChallengeAuthenticationPolicy):
    """azure-core refuses a Bearer token over plain http unless the request's context says
    `enforce_https=False` (`_authentication.py` `_enforce_https`); this policy says so for
    every request, which only a client pointed at a loopback stand-in may do."""

    def on_request(self, request: PipelineRequest[HttpRequest]) -> None:
        request.context.options["enforce_https"] = False
        super().on_request(request)


def web_client(arm: ArmServer, credential: TokenCredential) -> WebSiteManagementClient:
    """The real `WebSiteManagementClient`, pointed at the stand-in (no retries)."""
    scope = "https://management.azure.com/.default"
    return WebSiteManagementClient(
        credential,
        arm.subscription,
        base_url=arm.url,
        authentication_policy=LoopbackArmPolicy(credential, scope),
        retry_total=0,
    )
