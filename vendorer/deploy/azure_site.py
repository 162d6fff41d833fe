"""The site as Azure Resource Manager describes it: found by name, read into a `Site`, its plan.

`open_arm(name, resource_group, subscription)` signs in (an injected credential, else
DefaultAzureCredential) and opens an `ArmSession`; `find_site(session)` reads the site, its app
settings and configuration (and its App Service plan when the site does not say its SKU) into a
`Site` whose `plan` decides the deployment route.

The plan, as Core Tools decides it (`Site.cs`: the site's `properties.sku`; research §6) and az cli
(the plan's SKU tier): a `functionapp` on Linux is Flex Consumption (sku `FlexConsumption`, or a
`functionAppConfig`), Linux Consumption (`Dynamic`), Elastic Premium (`ElasticPremium`), or else
Dedicated (an App Service plan); any other site is App Service on Linux (`linux` in its kind) or
on Windows (kind `app`). Containers, Logic Apps and Windows function apps have no route here: an
error says so and lists the routes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from vendorer._util.urls import may_carry_credentials
from vendorer.deploy.azure_arm import (
    READ_CONFIG,
    READ_PLAN,
    READ_SETTINGS,
    READ_SITE,
    RESTART,
    ArmSession,
)
from vendorer.deploy.azure_auth import azure_cloud, default_credential, subscription_for
from vendorer.deploy.azure_errors import AzureError
from vendorer.deploy.site import Plan, Site, SiteRef

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

__all__ = [
    "ROUTES",
    "UnsupportedSite",
    "find_site",
    "open_arm",
    "plan_of",
    "python_of",
    "restart_site",
]

ROUTES: Final[dict[Plan, str]] = {
    "app-service-linux": "App Service on Linux: OneDeploy (/api/publish?type=zip)",
    "app-service-windows": "App Service on Windows (a Python site extension): zipdeploy",
    "functions-dedicated": "Functions on a Dedicated (App Service) plan, Linux: zipdeploy",
    "functions-premium": "Functions Elastic Premium (Linux): run-from-package from a blob",
    "functions-consumption": "Functions Linux Consumption: run-from-package from a blob",
    "functions-flex": "Functions Flex Consumption: /api/publish",
}
_CONTAINER_STACKS = ("DOCKER|", "COMPOSE|", "KUBE|")
_WINDOWS_KINDS = frozenset({"app", "api", "windows", "webapp"})


class UnsupportedSite(AzureError):
    """The site runs on something vendorer has no deployment route for."""

    def __init__(self, name: str, what: str) -> None:
        routes = "\n".join(f"  {route}" for route in ROUTES.values())
        super().__init__(f"site {name} {what}; vendorer deploys to:\n{routes}")


def open_arm(
    name: str,
    resource_group: str,
    subscription: str | None = None,
    *,
    credential: TokenCredential | None = None,
    arm_endpoint: str | None = None,
    retries: int = 3,
) -> ArmSession:
    """An ARM session for the site `--site NAME --resource-group RG [--subscription ID]`: the
    subscription as `subscription_for` finds it, the cloud as `azure_cloud` says, the credential
    given or DefaultAzureCredential."""
    cloud = azure_cloud(arm_endpoint)
    ref = SiteRef(
        name=name.strip(),
        resource_group=resource_group.strip(),
        subscription=subscription_for(subscription),
    )
    return ArmSession(ref, credential or default_credential(), cloud, retries=retries)


def find_site(session: ArmSession) -> Site:
    """The site `session.ref` names, read through ARM: plan, SCM and app URLs, app settings,
    linuxFxVersion and startup command, Python version."""
    ref, web = session.ref, session.web
    found = session.call(READ_SITE, web.web_apps.get, ref.resource_group, ref.name)
    kind, site_sku = found.kind, found.sku
    flex_config = found.function_app_config
    plan_tier = None
    if not site_sku and flex_config is None and "functionapp" in _kinds(kind):
        plan_tier = _plan_tier(session, found.server_farm_id)
    config = session.call(READ_CONFIG, web.web_apps.get_configuration, ref.resource_group, ref.name)
    fx_version = config.linux_fx_version or None
    plan = plan_of(
        ref.name,
        kind=kind,
        site_sku=site_sku,
        plan_tier=plan_tier,
        linux_fx_version=fx_version,
        flex=flex_config is not None,
    )
    listed = session.call(
        READ_SETTINGS, web.web_apps.list_application_settings, ref.resource_group, ref.name
    )
    runtime = flex_config.runtime if flex_config is not None else None
    return Site(
        name=found.name or ref.name,
        plan=plan,
        scm_url=_site_url(_scm_host(found, ref.name)),
        default_url=_site_url(found.default_host_name) if found.default_host_name else None,
        settings={str(key): str(value) for key, value in (listed.properties or {}).items()},
        linux_fx_version=fx_version,
        startup_command=config.app_command_line or None,
        python_version=python_of(
            fx_version, runtime.name if runtime else None, runtime.version if runtime else None
        ),
        ref=ref,
    )


def restart_site(session: ArmSession) -> None:
    """Restart the site (ARM `POST .../restart`, what `az webapp restart` calls)."""
    ref = session.ref
    session.call(RESTART, session.web.web_apps.restart, ref.resource_group, ref.name)


def plan_of(
    name: str,
    *,
    kind: str | None,
    site_sku: str | None,
    plan_tier: str | None = None,
    linux_fx_version: str | None = None,
    flex: bool = False,
) -> Plan:
    """The plan a site is on (see the module docstring); UnsupportedSite when it has no route."""
    kinds = _kinds(kind)
    if "container" in kinds or (linux_fx_version or "").upper().startswith(_CONTAINER_STACKS):
        raise UnsupportedSite(name, "runs a container image (vendorer deploys code, not images)")
    if "workflowapp" in kinds:
        raise UnsupportedSite(name, "is a Logic App")
    if "functionapp" in kinds:
        if "linux" not in kinds:
            raise UnsupportedSite(name, "is a function app on Windows (Python runs on Linux only)")
        return _functions_plan(name, (site_sku or plan_tier or "").lower(), flex)
    if "linux" in kinds:
        return "app-service-linux"
    if kinds <= _WINDOWS_KINDS:
        return "app-service-windows"
    raise UnsupportedSite(name, f"is of a kind vendorer does not know ({kind})")


def _functions_plan(name: str, sku: str, flex: bool) -> Plan:
    if flex or sku == "flexconsumption":
        return "functions-flex"
    if sku == "dynamic":
        return "functions-consumption"
    if sku == "elasticpremium":
        return "functions-premium"
    if sku:
        return "functions-dedicated"
    raise UnsupportedSite(name, "is a function app whose plan ARM does not say")


def python_of(
    linux_fx_version: str | None,
    runtime_name: str | None = None,
    runtime_version: str | None = None,
) -> str | None:
    """The Python version a site runs: Flex's functionAppConfig runtime (name python), else the
    `PYTHON|3.12` of linuxFxVersion; None for anything else."""
    if (runtime_name or "").lower() == "python":
        return str(runtime_version) if runtime_version else None
    stack, _, version = (linux_fx_version or "").partition("|")
    if stack.strip().lower() != "python":
        return None
    return version.strip() or None


def _kinds(kind: str | None) -> set[str]:
    """A site's kind as a set of words ("functionapp,linux"); none said means a Windows app."""
    words = {word.strip().lower() for word in (kind or "app").split(",")}
    return words - {""} or {"app"}


def _plan_tier(session: ArmSession, farm_id: str | None) -> str | None:
    """The SKU tier of the App Service plan `farm_id` names (its resource group may differ)."""
    parts = (farm_id or "").strip("/").split("/")
    lowered = [part.lower() for part in parts]
    if "resourcegroups" not in lowered or "serverfarms" not in lowered:
        return None
    group = parts[lowered.index("resourcegroups") + 1]
    farm = parts[lowered.index("serverfarms") + 1]
    plan = session.call(READ_PLAN, session.web.app_service_plans.get, group, farm)
    return plan.sku.tier if plan.sku is not None else None


def _scm_host(found: Any, name: str) -> str:
    """The SCM (Kudu) host: the hostNameSslStates entry of type Repository (az cli), else the
    first enabled host name with `.scm.` (Core Tools)."""
    for state in found.host_name_ssl_states or []:
        if (state.host_type or "").lower() == "repository" and state.name:
            return str(state.name)
    for host in found.enabled_host_names or []:
        if ".scm." in host:
            return str(host)
    raise UnsupportedSite(name, "has no SCM (Kudu) host name in ARM")


def _site_url(host: str) -> str:
    """https://host; plain http only for a host on this machine (the tests' stand-ins)."""
    loopback = may_carry_credentials(f"http://{host}")
    return f"{'http' if loopback else 'https'}://{host}".rstrip("/")
