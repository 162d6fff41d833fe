"""The site a deployment goes to, as data: its plan (which decides the route) and what it says.

Filled from Azure Resource Manager (the site, its plan, its app settings and configuration) when
vendorer has an Entra ID token (`vendorer.deploy.azure_site.find_site`), or from the Kudu (SCM)
site alone when it has only a publish profile (then `plan` comes from `--plan` or the profile, and
settings from Kudu's /api/settings).
App settings may hold secrets (connection strings, keys): they are never printed or written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal, get_args

from vendorer.target.layout import Platform, platform_of
from vendorer.target.profile import Profile

__all__ = ["PLANS", "PLANS_OF", "Plan", "Site", "SiteRef", "plans_for"]

# Where the app runs, as far as the deployment route is concerned (issue 12's table).
Plan = Literal[
    "app-service-linux",  # OneDeploy (/api/publish?type=zip), polled
    "app-service-windows",  # a Windows site extension: zipdeploy, web.config in the package
    "functions-dedicated",  # Functions on an App Service plan: zipdeploy, no remote build
    "functions-premium",  # Elastic Premium: run-from-package blob + trigger sync
    "functions-consumption",  # Linux Consumption: run-from-package blob + trigger sync
    "functions-flex",  # Flex Consumption: /api/publish?RemoteBuild=false, polled
]
PLANS: Final = get_args(Plan)
# The plans whose sites run what a profile's platform describes, the default first.
PLANS_OF: Final[Mapping[Platform, tuple[Plan, ...]]] = MappingProxyType(
    {
        "linux": ("app-service-linux",),
        "windows": ("app-service-windows",),
        "functions": (
            "functions-flex",
            "functions-dedicated",
            "functions-premium",
            "functions-consumption",
        ),
        "other": (),
    }
)


def plans_for(profile: Profile) -> tuple[Plan, ...]:
    """The plans whose sites run what `profile` describes (the first is the default)."""
    return PLANS_OF[platform_of(profile)]


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteRef:
    """How the user named the site: through ARM (`--site`, `--resource-group`, `--subscription`)."""

    name: str
    resource_group: str
    subscription: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    """What vendorer knows of the site before it sends anything."""

    name: str
    plan: Plan
    scm_url: str  # https://<name>.scm.azurewebsites.net (the Kudu site), no trailing slash
    default_url: str | None = None  # https://<defaultHostName>, where the app answers
    settings: Mapping[str, str] = field(default_factory=dict, repr=False)  # app settings
    linux_fx_version: str | None = None  # "PYTHON|3.12" (App Service and Functions on Linux)
    startup_command: str | None = None  # appCommandLine ("" or None: Oryx detects the app)
    python_version: str | None = None  # Flex: functionAppConfig.runtime; else linuxFxVersion's
    ref: SiteRef | None = None  # None: known through Kudu only (a publish profile)
