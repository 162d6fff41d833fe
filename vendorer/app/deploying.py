"""`vendorer deploy`: the app's package on its site, the way the site's plan takes it.

1. the package (`vendorer package`: checked first, refused on drift unless asked);
2. the site: through Azure Resource Manager (`--site`, `--resource-group`: its plan, app settings,
   Python and startup command; the SCM site with an Entra ID token), or through its SCM (Kudu)
   site alone (a publish profile, or VENDORER_KUDU_URL and friends; the plan from `--plan` or the
   profile);
3. the preflight: what on the site would undo the deployment (a build, a run-from-package URL, a
   Python version, a missing startup command, leftovers of a build); nothing is sent while any
   stands, unless `--fix-settings` may fix them all (app settings through ARM, leftovers through
   Kudu);
4. the plan's route (`deploy.routes`: OneDeploy, zipdeploy, Flex publish; run-from-package from a
   blob for Elastic Premium and Linux Consumption), waited for;
5. the health check: a page of the site, asked until it answers something other than a 5xx.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

from vendorer.app.packaging import PackageRequest, PackageRun, package_project
from vendorer.app.project import Project
from vendorer.app.reporting import StepReporter
from vendorer.app.sites import SiteChoice, connect, open_kudu
from vendorer.deploy.health import HealthAnswer, HealthOptions, page_url
from vendorer.deploy.polling import WaitOptions
from vendorer.deploy.preflight import Problem, ServerCleanup, SettingChange
from vendorer.deploy.routes import RUN_FROM_PACKAGE_PLANS, route_for
from vendorer.deploy.site import PLANS, Plan, Site, plans_for
from vendorer.errors import UsageError, VendorerError
from vendorer.report import Reporter
from vendorer.target.profile import Profile

if TYPE_CHECKING:
    from vendorer.deploy.azure_arm import ArmSession
    from vendorer.deploy.build_settings import SettingsChange
    from vendorer.deploy.kudu import KuduClient

__all__ = ["DeployInterrupted", "DeployRequest", "DeployRun", "deploy_project"]


class DeployInterrupted(VendorerError):
    """Interrupted (Ctrl-C) while the package went to the site or the site deployed it."""

    exit_code = 130


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployRequest:
    where: SiteChoice = field(default_factory=SiteChoice)
    plan: str | None = None  # through Kudu alone: the site's plan (default: the profile's)
    fix_settings: bool = False
    health: HealthOptions | None = field(default_factory=HealthOptions)  # None: no check
    wait: WaitOptions = field(default_factory=WaitOptions)
    package: PackageRequest = field(default_factory=PackageRequest)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployRun:
    package: PackageRun
    site: Site | None = None  # None: refused by the check, nothing sent
    route: str = ""
    deployment: str = ""  # the deployment's id, or the blob's URL (without its SAS)
    health: HealthAnswer | None = None


@dataclass(frozen=True, slots=True)
class _Target:
    """The site, with the ARM session (None: known through its SCM site alone) and the client
    of its SCM site."""

    site: Site
    session: ArmSession | None
    client: KuduClient


def deploy_project(project: Project, request: DeployRequest, reporter: StepReporter) -> DeployRun:
    """The whole deployment (see the module docstring)."""
    _check_request(project.profile, request)
    packaged = package_project(project, request.package, reporter)
    if packaged.report is None:  # refused by the check
        return DeployRun(package=packaged)
    package = packaged.report.plan.output
    with ExitStack() as stack:
        target = _open_site(project.profile, request, stack)
        site = target.site
        _check_plan(project.profile, site)
        problems = _preflight(project, target, package)
        for problem in problems:
            if not problem.blocking:
                reporter.warning(problem.describe())
        changed = _fix(problems, request, target, reporter)
        try:
            route, deployment = _send(target, package, changed, request, reporter)
        except KeyboardInterrupt:
            raise DeployInterrupted(_interrupted(site)) from None
    health = None
    if request.health is not None:
        from vendorer.deploy.health import check_health

        health = check_health(site, request.health, reporter)
    return DeployRun(
        package=packaged,
        site=site,
        route=route,
        deployment=deployment,
        health=health,
    )


def _interrupted(site: Site) -> str:
    if site.plan in RUN_FROM_PACKAGE_PLANS:
        where = "the app setting WEBSITE_RUN_FROM_PACKAGE (vendorer sets it last)"
    else:
        where = f"{site.scm_url}/api/deployments/latest (or the portal's Deployment Center)"
    return (
        f"interrupted while deploying to {site.name}: what reached the site may go on there; "
        f"look at {where} before deploying again"
    )


def _check_request(profile: Profile, request: DeployRequest) -> None:
    """The options that name the site, before anything is made."""
    request.where.check_named()
    if request.where.through_azure and request.plan:
        raise UsageError("--plan is for a site named by its SCM site alone; --site reads it")
    if request.plan is not None and request.plan not in PLANS:
        route_for(request.plan)  # the UsageError that lists every plan and its route
    if request.health is not None:
        page_url("https://site", request.health.path)  # a path, or a UsageError before anything
    if not plans_for(profile):
        raise UsageError(
            f"{profile.name} is not the profile of an Azure site (no deployment route): copy "
            "the app with its lib folder yourself, or use `vendorer package`"
        )


def _open_site(profile: Profile, request: DeployRequest, stack: ExitStack) -> _Target:
    """The site as the request names it (see `_Target`)."""
    from vendorer.deploy.routes import site_through_kudu

    if request.where.through_azure:
        connection = connect(request.where, stack)
        return _Target(connection.site, connection.session, connection.client)
    plan = cast(Plan, request.plan or plans_for(profile)[0])  # one of PLANS: _check_request
    if plan in RUN_FROM_PACKAGE_PLANS:
        raise UsageError(
            f"{plan} deploys through Azure Resource Manager and Storage: name the site with "
            "--site and --resource-group (signed in with az login)"
        )
    client = open_kudu(request.where, stack)
    return _Target(site_through_kudu(client, plan), None, client)


def _check_plan(profile: Profile, site: Site) -> None:
    """The site runs what the profile describes."""
    plans = plans_for(profile)
    if site.plan not in plans:
        raise VendorerError(
            f"site {site.name} is on {site.plan}, but {profile.name} is a profile for "
            f"{' or '.join(plans)}: vendor with a profile for the site (vendorer profiles list), "
            "or deploy to another site"
        )


def _preflight(project: Project, target: _Target, package: Path) -> tuple[Problem, ...]:
    from vendorer.deploy.preflight import package_names, preflight, read_server_state

    version = project.profile.python.version
    python = f"{version.major}.{version.minor}" if version else None
    server = read_server_state(target.client, target.site)
    return preflight(
        target.site, package_names(package), python=python, server=server, lib_dir=project.lib_dir
    )


def _fix(
    problems: Sequence[Problem],
    request: DeployRequest,
    target: _Target,
    reporter: Reporter,
) -> SettingsChange:
    """Nothing when no problem blocks; else, with --fix-settings and every fix possible here,
    the leftovers removed (each said as it goes) and the settings change (written now for a
    Kudu route, with the package's setting for run-from-package); else PreflightFailed."""
    from vendorer.deploy.build_settings import SettingsChange
    from vendorer.deploy.preflight import PreflightFailed, clean_server

    site, session, client = target.site, target.session, target.client
    blocking = [problem for problem in problems if problem.blocking]
    if not blocking:
        return SettingsChange()

    def fixable(problem: Problem) -> bool:
        if isinstance(problem.fix, SettingChange):
            return session is not None
        return isinstance(problem.fix, ServerCleanup)

    if not request.fix_settings or not all(fixable(problem) for problem in blocking):
        raise PreflightFailed(blocking, settings_fixable=session is not None)
    fixes = [(p.fix, p.reason) for p in blocking if isinstance(p.fix, SettingChange)]
    change = SettingsChange(
        updates={fix.name: fix.value for fix, _ in fixes if fix.value is not None},
        removals=tuple(fix.name for fix, _ in fixes if fix.value is None),
        reasons={fix.name: reason for fix, reason in fixes},
    )
    clean_server(client, blocking, reporter)
    if change and session is not None and site.plan not in RUN_FROM_PACKAGE_PLANS:
        _write_settings(session, client, change, reporter)  # else written with the package's
    return change


def _write_settings(
    session: ArmSession, client: KuduClient, change: SettingsChange, reporter: Reporter
) -> None:
    """Write the change through ARM and wait until the SCM site sees it (as Core Tools does)."""
    from vendorer.deploy.azure_settings import change_settings, wait_until_scm_sees

    change_settings(session, change, reporter)  # said as it happens: a later failure leaves it
    wait_until_scm_sees(change, client.settings, reporter=reporter)


def _send(
    target: _Target,
    package: Path,
    change: SettingsChange,
    request: DeployRequest,
    reporter: Reporter,
) -> tuple[str, str]:
    """(the route taken, the deployment's id or the blob's URL)."""
    site, session, client = target.site, target.session, target.client
    if site.plan in RUN_FROM_PACKAGE_PLANS:
        from vendorer.deploy.run_from_package import publish_run_from_package

        assert session is not None
        done = publish_run_from_package(session, site, package, reporter=reporter, also=change)
        return "run-from-package", done.blob_url
    from vendorer.deploy.routes import deploy_package

    result = deploy_package(client, site, package, options=request.wait, reporter=reporter)
    return result.route, result.deployment.id or ""
