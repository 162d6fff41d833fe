"""The Linux site as a template: App Service on Linux and Azure Functions, from the profile.

Resource shapes from Microsoft's references and samples (read 2026-12): `Microsoft.Web/sites` and
`Microsoft.Web/serverfarms` at api-version 2024-04-01 (learn.microsoft.com/azure/templates/
microsoft.web/2024-04-01/sites; `functionAppConfig` exists from 2023-12-01 on), the Flex
Consumption samples (Azure-Samples/azure-functions-flex-consumption-samples, IaC/armtemplate and
IaC/bicep: plan sku FC1/FlexConsumption with `reserved`, `functionAppConfig.deployment.storage`
of type `blobContainer`, `runtime` name and version, `scaleAndConcurrency`), azure-mgmt-web's
models for the property names and values (FunctionsRuntime, FunctionsDeploymentStorage,
AuthenticationType), and the Functions host's wiki for `linuxFxVersion` (`Python|3.11`).

What vendorer puts there is what it knows: the runtime (`linuxFxVersion`, or Flex's
`functionAppConfig.runtime`), the app settings that keep a build from replacing the vendored
libraries (`startup.BUILD_OFF`; Flex takes no build settings), a `PYTHONPATH` setting for a lib
folder Oryx does not load, the startup command when Oryx would not find the app, and Functions'
runtime settings. Storage accounts, monitoring and role assignments stay the user's: their names
come in as parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from vendorer.deploy.site import plans_for
from vendorer.deploy.startup import BUILD_OFF
from vendorer.deploy.template_model import (
    Call,
    IdOf,
    Param,
    Parameter,
    Resource,
    Template,
    Text,
    Value,
)
from vendorer.errors import UsageError
from vendorer.target.layout import platform_of, pythonpath_entry
from vendorer.target.profile import Profile

__all__ = [
    "API_VERSION",
    "FLEX_UNSUPPORTED_SETTINGS",
    "SiteChoices",
    "SiteFacts",
    "site_facts",
    "site_template",
]

API_VERSION: Final = "2024-04-01"
# Flex Consumption refuses these app settings (its runtime is in functionAppConfig, it never
# builds unless asked, and it runs from its deployment storage).
FLEX_UNSUPPORTED_SETTINGS: Final = (
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD",
    "WEBSITE_RUN_FROM_PACKAGE",
)
_PLAN_SHAPES: Final[dict[str, tuple[str, dict[str, Value]]]] = {  # kind, sku
    "app-service-linux": ("linux", {"name": Param("planSku")}),
    "functions-dedicated": ("linux", {"name": Param("planSku")}),
    "functions-premium": ("elastic", {"name": Param("planSku"), "tier": "ElasticPremium"}),
    "functions-consumption": ("functionapp", {"name": "Y1", "tier": "Dynamic"}),
    "functions-flex": ("functionapp", {"name": "FC1", "tier": "FlexConsumption"}),
}
_PLAN_SKUS: Final = {
    "app-service-linux": "B1",
    "functions-dedicated": "B1",
    "functions-premium": "EP1",
}
STORAGE: Final = "storageAccountName"
DEPLOYMENT_CONTAINER: Final = "deploymentStorageContainerUrl"


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteChoices:
    site_param: str = "siteName"
    plan: str | None = None  # one of the profile's `plans_for` (None: the first)
    startup_command: str | None = None  # App Service on Linux: appCommandLine


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteFacts:
    """What the site resource says, whatever the template around it."""

    plan: str
    kind: str  # "app,linux", "functionapp,linux"
    linux_fx_version: str | None  # None on Flex (its runtime is in functionAppConfig)
    settings: tuple[tuple[str, str], ...]  # the app settings vendorer owns, in order
    startup_command: str | None
    runtime: dict[str, str] | None  # Flex: functionAppConfig.runtime

    @property
    def flex(self) -> bool:
        return self.plan == "functions-flex"


def site_facts(profile: Profile, lib_dir: str, choices: SiteChoices) -> SiteFacts:
    """The site's settings for `profile`, on the plan `choices.plan`."""
    platform = platform_of(profile)
    plans = plans_for(profile) if platform in ("linux", "functions") else None
    if not plans:
        raise UsageError(f"{profile.name} is not a Linux profile: no Linux site to render")
    plan = choices.plan or plans[0]
    if plan not in plans:
        raise UsageError(f"--plan {plan} does not fit {profile.name}: use {', '.join(plans)}")
    version = f"{profile.python.version.major}.{profile.python.version.minor}"
    if platform == "linux":
        settings = list(BUILD_OFF)
        entry = pythonpath_entry(profile, lib_dir)
        if entry is not None:
            settings.append(("PYTHONPATH", entry))
        return SiteFacts(
            plan=plan,
            kind="app,linux",
            linux_fx_version=f"PYTHON|{version}",
            settings=tuple(settings),
            startup_command=choices.startup_command,
            runtime=None,
        )
    flex = plan == "functions-flex"
    runtime = (("FUNCTIONS_EXTENSION_VERSION", "~4"), ("FUNCTIONS_WORKER_RUNTIME", "python"))
    return SiteFacts(
        plan=plan,
        kind="functionapp,linux",
        linux_fx_version=None if flex else f"Python|{version}",
        settings=() if flex else (*runtime, *BUILD_OFF),
        startup_command=None,
        runtime={"name": "python", "version": version} if flex else None,
    )


def site_template(facts: SiteFacts, site_param: str) -> Template:
    """A template of its own: the plan and the site, with their parameters."""
    functions = facts.kind.startswith("functionapp")
    parameters = [
        Parameter(name=site_param, description="The app's name: <name>.azurewebsites.net"),
        Parameter(name="planName", default=Text((Param(site_param), "-plan"))),
        Parameter(name="location", default=Call("resourceGroup().location")),
    ]
    if facts.plan in _PLAN_SKUS:
        parameters.append(Parameter(name="planSku", default=_PLAN_SKUS[facts.plan]))
    if functions:
        parameters.append(
            Parameter(name=STORAGE, description="The storage account the Functions host uses")
        )
    if facts.flex:
        parameters.append(
            Parameter(
                name=DEPLOYMENT_CONTAINER,
                description="The blob container for the app's packages: "
                "https://<account>.blob.core.windows.net/<container>",
            )
        )
    kind, sku = _PLAN_SHAPES[facts.plan]
    plan = Resource(
        symbol="plan",
        type="Microsoft.Web/serverfarms",
        api_version=API_VERSION,
        name=Param("planName"),
        body={
            "location": Param("location"),
            "kind": kind,
            "sku": sku,
            "properties": {"reserved": True},
        },
    )
    site = Resource(
        symbol="site",
        type="Microsoft.Web/sites",
        api_version=API_VERSION,
        name=Param(site_param),
        body=_site_body(facts, functions),
    )
    return Template(parameters=tuple(parameters), resources=(plan, site))


def _site_body(facts: SiteFacts, functions: bool) -> dict[str, Value]:
    settings: list[Value] = [{"name": key, "value": value} for key, value in facts.settings]
    if functions:
        settings.append({"name": "AzureWebJobsStorage__accountName", "value": Param(STORAGE)})
    config: dict[str, Value] = {}
    if facts.linux_fx_version:
        config["linuxFxVersion"] = facts.linux_fx_version
    if facts.startup_command:
        config["appCommandLine"] = facts.startup_command
    config["appSettings"] = settings
    properties: dict[str, Value] = {
        "serverFarmId": IdOf("plan"),
        "reserved": True,
        "siteConfig": config,
    }
    if facts.flex and facts.runtime is not None:
        properties["functionAppConfig"] = flex_config(facts.runtime, Param(DEPLOYMENT_CONTAINER))
    body: dict[str, Value] = {"location": Param("location"), "kind": facts.kind}
    if functions:  # the host reaches its storage (and Flex its packages) with this identity
        body["identity"] = {"type": "SystemAssigned"}
    body["properties"] = properties
    return body


def flex_config(runtime: dict[str, str], container: Value) -> dict[str, Value]:
    """Flex Consumption's `functionAppConfig`: packages from `container`, read with the site's
    own identity; the runtime; Microsoft's sample's scale settings."""
    return {
        "deployment": {
            "storage": {
                "type": "blobContainer",
                "value": container,
                "authentication": {"type": "SystemAssignedIdentity"},
            }
        },
        "runtime": dict(runtime),
        "scaleAndConcurrency": {"maximumInstanceCount": 100, "instanceMemoryMB": 2048},
    }
