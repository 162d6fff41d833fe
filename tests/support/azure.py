"""One Azure site on loopback: its ARM record, its SCM (Kudu) server and the app's own server.

`AzureSite(arm, home, "linux")` starts a Kudu stand-in (`FlexKuduServer` for Flex) over `home`
and an AppServer, and registers the site and its plan with the ArmServer: the site's
`defaultHostName` is the app server's `127.0.0.1:<port>`, its SCM host (hostNameSslStates
`hostType: Repository`, and the second enabledHostNames entry) the Kudu server's. They are tied
as on App Service:
- app settings written through ARM reach the SCM site's `settings` (what `/api/settings` and
  the deployments see) after `settings_lag` seconds (0: at once; Core Tools polls `/api/settings`
  until a change shows, research §6), and restart the app;
- `update_scm_allowed` turns Basic auth on the SCM site on or off;
- a deployment that restarts the site restarts the app server.

`PLANS` names the targets (one per row of issue 12's table):
| key | site kind | site sku | plan sku/tier |
|---|---|---|---|
| `linux` | `app,linux` | Basic | B1 Basic |
| `windows` | `app` | Basic | B1 Basic (not reserved) |
| `functions-dedicated` | `functionapp,linux` | Basic | B1 Basic |
| `functions-premium` | `functionapp,linux` | ElasticPremium | EP1 ElasticPremium |
| `functions-consumption` | `functionapp,linux` | Dynamic | Y1 Dynamic |
| `functions-flex` | `functionapp,linux` | FlexConsumption | FC1 FlexConsumption |
Functions apps carry `FUNCTIONS_EXTENSION_VERSION=~4`, `FUNCTIONS_WORKER_RUNTIME=python` and
`AzureWebJobsStorage` (the `storage` connection string given, e.g. Azurite's); Flex carries only
`AzureWebJobsStorage`, and its runtime and deployment container in `functionAppConfig`.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from tests.support.appserver import AppServer
from tests.support.arm import ArmPlan, ArmServer, ArmSite
from tests.support.kudu import FlexKuduServer, KuduServer

PLACEHOLDER_STORAGE = (
    "DefaultEndpointsProtocol=https;AccountName=standinstorage;AccountKey=c3RhbmRpbg==;"
    "EndpointSuffix=core.windows.net"
)


@dataclass(frozen=True)
class Plan:
    kind: str
    site_sku: str
    plan_sku: str
    tier: str
    plan_kind: str
    linux: bool = True
    functions: bool = False

    @property
    def flex(self) -> bool:
        return self.site_sku == "FlexConsumption"


PLANS = {
    "linux": Plan("app,linux", "Basic", "B1", "Basic", "linux"),
    "windows": Plan("app", "Basic", "B1", "Basic", "app", linux=False),
    "functions-dedicated": Plan(
        "functionapp,linux", "Basic", "B1", "Basic", "linux", functions=True
    ),
    "functions-premium": Plan(
        "functionapp,linux", "ElasticPremium", "EP1", "ElasticPremium", "elastic", functions=True
    ),
    "functions-consumption": Plan(
        "functionapp,linux", "Dynamic", "Y1", "Dynamic", "functionapp", functions=True
    ),
    "functions-flex": Plan(
        "functionapp,linux",
        "FlexConsumption",
        "FC1",
        "FlexConsumption",
        "functionapp",
        functions=True,
    ),
}


def initial_settings(plan: Plan, storage: str) -> dict[str, str]:
    if plan.flex:
        return {"AzureWebJobsStorage": storage}
    if plan.functions:
        return {
            "FUNCTIONS_EXTENSION_VERSION": "~4",
            "FUNCTIONS_WORKER_RUNTIME": "python",
            "AzureWebJobsStorage": storage,
        }
    return {}


def flex_config(python: str, container_url: str) -> dict[str, Any]:
    return {
        "deployment": {
            "storage": {
                "type": "blobContainer",
                "value": container_url,
                "authentication": {"type": "SystemAssignedIdentity"},
            }
        },
        "runtime": {"name": "python", "version": python},
        "scaleAndConcurrency": {"maximumInstanceCount": 100, "instanceMemoryMB": 2048},
    }


class AzureSite:
    """A site of `PLANS[plan]` on loopback; see the module docstring."""

    def __init__(
        self,
        arm: ArmServer,
        home: Path,
        plan: str,
        *,
        name: str = "standin-app",
        resource_group: str = "standin-rg",
        python: str = "3.12",
        scm_tokens: tuple[str, ...] = (),
        basic_auth: bool = False,
        storage: str = PLACEHOLDER_STORAGE,
        settings: dict[str, str] | None = None,
        settings_lag: float = 0.0,
    ) -> None:
        self.plan = PLANS[plan]
        self.arm = arm
        self.settings_lag = settings_lag
        server = FlexKuduServer if self.plan.flex else KuduServer
        start = {**initial_settings(self.plan, storage), **(settings or {})}
        self.kudu = server(home, settings=dict(start), tokens=scm_tokens, basic_auth=basic_auth)
        self.kudu.python_version = python
        self.app = AppServer()
        self.site = ArmSite(
            name,
            resource_group,
            self.plan.kind,
            self.plan.site_sku,
            ArmPlan(
                f"{name}-plan",
                resource_group,
                self.plan.plan_sku,
                self.plan.tier,
                self.plan.plan_kind,
                self.plan.linux,
            ),
            settings=dict(start),
            scm_allowed=basic_auth,
        )
        self.app.settings = self.site.settings
        self._fill_config(python)
        self._stack = ExitStack()

    def _fill_config(self, python: str) -> None:
        plan, site = self.plan, self.site
        if plan.flex:
            site.function_app_config = flex_config(
                python, "https://standinstorage.blob.core.windows.net/app-package-standin"
            )
        elif plan.linux:
            site.linux_fx_version = f"{'Python' if plan.functions else 'PYTHON'}|{python}"

    def __enter__(self) -> Self:
        self._stack.enter_context(self.app)
        self._stack.enter_context(self.kudu)
        self.site.default_host_name = self.app.host
        self.site.scm_host_name = self.kudu.url.removeprefix("http://")
        self.site.on_settings.append(self._settings_changed)
        self.site.on_scm_allowed.append(self._scm_allowed)
        self.site.on_restart.append(self.app.restart)
        self.kudu.on_restart.append(self.app.restart)
        self.arm.add_site(self.site)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stack.close()

    def _settings_changed(self, new: dict[str, str]) -> None:
        def reach_scm() -> None:
            self.kudu.settings.clear()
            self.kudu.settings.update(new)

        if self.settings_lag > 0:
            timer = threading.Timer(self.settings_lag, reach_scm)
            timer.daemon = True
            timer.start()
        else:
            reach_scm()
        self.app.restart()

    def _scm_allowed(self, allowed: bool) -> None:
        self.kudu.basic_auth = allowed

    @property
    def name(self) -> str:
        return self.site.name

    @property
    def resource_group(self) -> str:
        return self.site.resource_group
