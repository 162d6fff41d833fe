"""How a package goes to a site through its SCM (Kudu) site, per plan (issue 12's table).

| plan | route |
|---|---|
| app-service-linux | OneDeploy `POST /api/publish?type=zip&async=true&clean=true`, polled |
| app-service-windows | zipdeploy `POST /api/zipdeploy?isAsync=true`, polled |
| functions-dedicated | zipdeploy, polled (the build settings off: see `preflight`) |
| functions-flex | `POST /api/publish?RemoteBuild=false` (202, the id as a JSON string), polled |
| functions-premium, functions-consumption | run-from-package through ARM and Storage: not here |

A deployment's POST is sent once (the transport's `may_resend`): when its answer is lost (a cut
connection, a 5xx) after the package went out, vendorer does not send it again but looks for it
on the site, from the latest deployment seen before sending (`previous`) onwards. A 409 (another
deployment runs) is one clear error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Final, cast
from urllib.parse import quote, urlsplit

from vendorer.deploy.deployments import DeploymentConflict, DeploymentRecord
from vendorer.deploy.kudu import CommandOutcomeUnknown, KuduAnswer, KuduClient
from vendorer.deploy.polling import WaitOptions, wait_for_deployment
from vendorer.deploy.site import PLANS, Plan, Site
from vendorer.errors import UsageError, VendorerError
from vendorer.report import DEPLOY, NULL_REPORTER, UPLOAD, Reporter

__all__ = [
    "ROUTES",
    "RUN_FROM_PACKAGE_PLANS",
    "DeployResult",
    "KuduRoute",
    "NotAKuduRoute",
    "deploy_package",
    "route_for",
    "route_lines",
    "site_through_kudu",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class KuduRoute:
    name: str  # what the user reads: "OneDeploy"
    path: str  # below /api/, with the query
    answers_id: bool = False  # Flex: the 202's body is the deployment id

    def describe(self) -> str:
        return f"{self.name} (POST /api/{self.path}, polled)"


ONEDEPLOY: Final = KuduRoute(name="OneDeploy", path="publish?type=zip&async=true&clean=true")
ZIPDEPLOY: Final = KuduRoute(name="zipdeploy", path="zipdeploy?isAsync=true")
FLEX_PUBLISH: Final = KuduRoute(
    name="Flex Consumption publish", path="publish?RemoteBuild=false", answers_id=True
)  # false said, as az cli says its choice: the package holds the libraries
ROUTES: Final[Mapping[str, KuduRoute]] = MappingProxyType(
    {
        "app-service-linux": ONEDEPLOY,
        "app-service-windows": ZIPDEPLOY,
        "functions-dedicated": ZIPDEPLOY,
        "functions-flex": FLEX_PUBLISH,
    }
)
RUN_FROM_PACKAGE_PLANS: Final = frozenset({"functions-premium", "functions-consumption"})
RUN_FROM_PACKAGE: Final = (
    "run-from-package (the package in a blob of the app's storage account, "
    "WEBSITE_RUN_FROM_PACKAGE=<its SAS URL>, then a trigger sync, through ARM and Storage)"
)


class NotAKuduRoute(VendorerError):
    """The plan deploys through run-from-package (ARM and Storage), not through Kudu."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployResult:
    plan: str
    route: str  # KuduRoute.name
    deployment: DeploymentRecord  # as it ended (status 4)
    answer_lost: bool = False  # the POST's answer was lost; the deployment was found on the site


def route_lines() -> list[str]:
    """One line per plan: the route it takes."""
    return [
        f"{plan}: {ROUTES[plan].describe() if plan in ROUTES else RUN_FROM_PACKAGE}"
        for plan in PLANS
    ]


def route_for(plan: str) -> KuduRoute:
    """The Kudu route of `plan`; NotAKuduRoute for the run-from-package plans, UsageError (with
    every route) for a plan vendorer does not know."""
    if plan in ROUTES:
        return ROUTES[plan]
    if plan in RUN_FROM_PACKAGE_PLANS:
        raise NotAKuduRoute(f"{plan} deploys through {RUN_FROM_PACKAGE}, not through Kudu")
    routes = "\n".join(f"  {line}" for line in route_lines())
    raise UsageError(f"unknown plan {plan!r}; the plans and their routes:\n{routes}")


def site_through_kudu(client: KuduClient, plan: str, *, name: str | None = None) -> Site:
    """The site as its SCM site alone shows it (a publish profile): the app settings from
    `/api/settings`; its Python version and startup command are not shown there."""
    route_for(plan)  # a plan with a Kudu route, or the error that lists them
    scm_url = client.base.removesuffix("/api/")
    host = urlsplit(scm_url).hostname or scm_url
    return Site(
        name=name or host.split(".")[0],
        plan=cast(Plan, plan),
        scm_url=scm_url,
        settings=client.settings(),
    )


def deploy_package(
    client: KuduClient,
    site: Site,
    package: Path,
    *,
    options: WaitOptions | None = None,
    reporter: Reporter = NULL_REPORTER,
) -> DeployResult:
    """Send `package` (a zip) to `site` by its plan's route and wait until the deployment ended:
    its result when it succeeded; a KuduError subclass (DeploymentFailed with the log's errors,
    DeploymentConflict, DeploymentTimedOut, DeploymentOutcomeUnknown) when not."""
    route = route_for(site.plan)
    reporter.started(DEPLOY, title=f"deploying {package.name} to {site.name} ({route.name})")
    try:
        previous = _latest_id(client)
        where, lost = _send(client, route, package, reporter)
        record = wait_for_deployment(
            client, where, previous=previous, options=options, reporter=reporter
        )
    finally:
        reporter.finished(DEPLOY)
    return DeployResult(plan=site.plan, route=route.name, deployment=record, answer_lost=lost)


def _latest_id(client: KuduClient) -> str | None:
    """The id of the site's latest deployment before ours (None when it has none)."""
    record = DeploymentRecord.from_json(client.get_json("deployments/latest").data)
    return record.id if record and record.id else None


def _send(
    client: KuduClient, route: KuduRoute, package: Path, reporter: Reporter
) -> tuple[str, bool]:
    """POST the package once: where to follow the deployment, and whether the answer was lost."""
    reporter.started(UPLOAD, title=f"sending {package.name}", total=package.stat().st_size)
    try:
        answer = client.post_package(route.path, package, reporter)
    except CommandOutcomeUnknown as lost:
        reporter.warning(
            f"{route.name}: {lost.reason} after the package was sent; vendorer does not send it "
            "again: it looks for the deployment on the site"
        )
        return "deployments/latest", True
    finally:
        reporter.finished(UPLOAD)
    if answer.status == 409:
        raise DeploymentConflict(_conflict(client, answer))
    if route.answers_id and isinstance(answer.data, str) and answer.data.strip():
        return f"deployments/{quote(answer.data.strip(), safe='')}", False
    return answer.location or "deployments/latest", False


def _conflict(client: KuduClient, answer: KuduAnswer) -> str:
    data = answer.data
    said = client.scrub(str(data.get("Message", data) if isinstance(data, dict) else data or ""))
    said = said[:300]
    if "WEBSITE_RUN_FROM_PACKAGE" in said:
        return (
            f"the site refused the deployment (HTTP 409: {said}); remove the app setting "
            "WEBSITE_RUN_FROM_PACKAGE (vendorer deploy --fix-settings does) and deploy again"
        )
    return (
        f"another deployment runs on the site (HTTP 409: {said or 'conflict'}); vendorer does "
        f"not send the package again by itself: wait until it ends (see "
        f"{client.base}deployments/latest), then deploy again"
    )
