"""The ARM template's `siteextensions` resource that installs the profile's Python on the site."""

from __future__ import annotations

import json
import re
from collections.abc import MutableMapping
from typing import Any

from vendorer._util.tomlfile import parse_json
from vendorer.deploy.template_model import Param, Parameter, Resource, Template
from vendorer.errors import ConfigError, UsageError
from vendorer.target.profile import Profile

__all__ = [
    "SITES",
    "add_to_template",
    "check_site_param",
    "dump_template",
    "find_site",
    "site_extension_resource",
]

API_VERSION = "2015-08-01"
SITE_API_VERSION = "2024-04-01"
SITES = "Microsoft.Web/sites"
_PARAMETER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def check_site_param(site_param: str) -> None:
    """A UsageError unless `site_param` can name a template parameter."""
    if not _PARAMETER.fullmatch(site_param):  # it goes inside an expression: [parameters('x')]
        raise UsageError(
            f"--site-param {site_param!r} is not a template parameter name (letters, digits, _ "
            "and -)"
        )


def site_extension_resource(profile: Profile, site_param: str) -> dict[str, Any]:
    """The resource to nest in the `Microsoft.Web/sites` resource's `resources`."""
    check_site_param(site_param)
    extension = profile.server.site_extension
    if not extension:
        raise UsageError(
            f"{profile.name} has no site extension: only the App Service Windows profiles "
            "install Python as one"
        )
    return {
        "apiVersion": API_VERSION,
        "name": extension,
        "type": "siteextensions",
        "dependsOn": [f"[resourceId('{SITES}', parameters('{site_param}'))]"],
        "properties": {},
    }


def site_extension_template(profile: Profile, site_param: str) -> Template:
    """The site extension as a template of its own (for Bicep): the existing site, and the
    extension nested in it."""
    resource = site_extension_resource(profile, site_param)
    site = Resource(
        symbol="site",
        type=SITES,
        api_version=SITE_API_VERSION,
        name=Param(site_param),
        existing=True,
    )
    extension = Resource(
        symbol="pythonExtension",
        type=f"{SITES}/siteextensions",
        api_version=API_VERSION,
        name=str(resource["name"]),
        parent="site",
    )
    return Template(
        parameters=(Parameter(name=site_param, description="The site's name"),),
        resources=(site, extension),
    )


def find_site(
    text: str, site_param: str, *, origin: str
) -> tuple[dict[str, Any], MutableMapping[str, Any]]:
    """The ARM template `text` parsed, and its one `Microsoft.Web/sites` resource named by
    `parameters(site_param)`."""
    template = parse_json(text, origin=origin)
    resources = template.get("resources", []) if isinstance(template, dict) else None
    if not isinstance(template, dict) or not isinstance(resources, list):
        raise ConfigError(f"{origin}: not an ARM template (no list of resources)")
    sites = [
        resource
        for resource in resources
        if isinstance(resource, MutableMapping)
        and resource.get("type") == SITES
        and f"parameters('{site_param}')" in str(resource.get("name", ""))
    ]
    if len(sites) != 1:
        raise ConfigError(
            f"{origin}: found {len(sites)} {SITES} resources named by parameters('{site_param}'); "
            "pass the --site-param that names your site"
        )
    return template, sites[0]


def dump_template(template: dict[str, Any], *, origin: str) -> str:
    """The template as text again (two-space indents, a final newline)."""
    try:
        return json.dumps(template, indent=2) + "\n"
    except RecursionError:  # read, but deeper than the writer goes (Python 3.12 reads deeper)
        raise ConfigError(f"{origin}: cannot be rewritten: nested too deeply") from None


def add_to_template(text: str, profile: Profile, site_param: str, *, origin: str) -> str:
    """`text` (an ARM template) with the site extension added to, or updated in, the site."""
    template, site = find_site(text, site_param, origin=origin)
    nested = site.setdefault("resources", [])
    if not isinstance(nested, list):
        raise ConfigError(f"{origin}: the site's resources are not a list")
    resource = site_extension_resource(profile, site_param)
    for index, existing in enumerate(nested):
        if (
            isinstance(existing, MutableMapping)
            and existing.get("type") == "siteextensions"
            and _is_python(str(existing.get("name", "")))
        ):
            nested[index] = {**existing, **resource}
            break
    else:
        nested.append(resource)
    return dump_template(template, origin=origin)


def _is_python(name: str) -> bool:
    """A Python site extension id (python361x64, azureappservice-python364x64, ...)."""
    return name.removeprefix("azureappservice-").startswith("python")
