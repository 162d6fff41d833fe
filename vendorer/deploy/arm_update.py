"""`vendorer arm --template FILE` for a Linux profile: the site in an existing ARM template updated
with what vendorer owns (`arm_site.SiteFacts`), everything else kept.

vendorer sets the site's `kind` and `reserved`, `siteConfig.linuxFxVersion` and (when needed)
`appCommandLine`, and its own app settings in `siteConfig.appSettings` (a setting of the same name
takes vendorer's value; the others stay, in their order); on Flex Consumption it takes out the
settings Flex refuses and `linuxFxVersion`, sets `functionAppConfig.runtime`, and adds a
deployment storage (a new parameter) and the scale settings only where the template has none.
A plan of the template that the site names in `serverFarmId` gets `reserved: true` (Linux).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, Final, cast

from vendorer.deploy.arm import dump_template, find_site
from vendorer.deploy.arm_site import (
    API_VERSION,
    DEPLOYMENT_CONTAINER,
    FLEX_UNSUPPORTED_SETTINGS,
    SiteFacts,
    flex_config,
)
from vendorer.deploy.template_model import Param, arm_value
from vendorer.errors import ConfigError

__all__ = ["update_site_template"]

FUNCTION_APP_CONFIG_SINCE: Final = "2023-12-01"  # the first api-version with functionAppConfig


def update_site_template(text: str, facts: SiteFacts, site_param: str, *, origin: str) -> str:
    """`text` (an ARM template) with the Linux site named by `parameters(site_param)` updated."""
    template, site = find_site(text, site_param, origin=origin)
    site["kind"] = facts.kind
    properties = _object(site, "properties", origin)
    properties["reserved"] = True
    config = _object(properties, "siteConfig", origin)
    if facts.linux_fx_version:
        config["linuxFxVersion"] = facts.linux_fx_version
    else:
        config.pop("linuxFxVersion", None)
    if facts.startup_command:
        config["appCommandLine"] = facts.startup_command
    _update_settings(config, facts, origin)
    if facts.flex and facts.runtime is not None:
        _update_flex(template, site, properties, facts.runtime, origin)
    _reserve_plan(template, properties)
    return dump_template(template, origin=origin)


def _object(parent: MutableMapping[str, Any], key: str, origin: str) -> MutableMapping[str, Any]:
    found = parent.setdefault(key, {})
    if not isinstance(found, MutableMapping):
        raise ConfigError(f"{origin}: the site's {key} is not an object")
    return found


def _update_settings(config: MutableMapping[str, Any], facts: SiteFacts, origin: str) -> None:
    settings = config.setdefault("appSettings", [])
    if not isinstance(settings, list):
        raise ConfigError(f"{origin}: the site's siteConfig.appSettings is not a list")
    ours = dict(facts.settings)
    dropped = set(FLEX_UNSUPPORTED_SETTINGS) if facts.flex else set()
    kept = []
    for entry in settings:
        name = entry.get("name") if isinstance(entry, MutableMapping) else None
        if name in dropped:
            continue
        if isinstance(entry, MutableMapping) and name in ours:
            entry["value"] = ours.pop(str(name))
        kept.append(entry)
    kept += [{"name": key, "value": value} for key, value in facts.settings if key in ours]
    config["appSettings"] = kept


def _update_flex(
    template: dict[str, Any],
    site: MutableMapping[str, Any],
    properties: MutableMapping[str, Any],
    runtime: dict[str, str],
    origin: str,
) -> None:
    if str(site.get("apiVersion", "")) < FUNCTION_APP_CONFIG_SINCE:
        site["apiVersion"] = API_VERSION
    config = _object(properties, "functionAppConfig", origin)
    fresh = cast(dict[str, Any], arm_value(flex_config(runtime, Param(DEPLOYMENT_CONTAINER)), {}))
    config["runtime"] = fresh["runtime"]
    if "deployment" not in config:
        config["deployment"] = fresh["deployment"]
        parameters = template.setdefault("parameters", {})
        if isinstance(parameters, MutableMapping):
            parameters.setdefault(DEPLOYMENT_CONTAINER, {"type": "string"})
        site.setdefault("identity", {"type": "SystemAssigned"})
    config.setdefault("scaleAndConcurrency", fresh["scaleAndConcurrency"])


def _reserve_plan(template: dict[str, Any], properties: MutableMapping[str, Any]) -> None:
    """`reserved: true` on the template's plan that the site's serverFarmId names."""
    farm = str(properties.get("serverFarmId", ""))
    for resource in template.get("resources", []):
        if not isinstance(resource, MutableMapping):
            continue
        name = str(resource.get("name") or "")
        named = name[1:-1] if name.startswith("[") else f"'{name}'"  # as serverFarmId has it
        if resource.get("type") == "Microsoft.Web/serverfarms" and name and named in farm:
            plan_properties = resource.setdefault("properties", {})
            if isinstance(plan_properties, MutableMapping):
                plan_properties["reserved"] = True
