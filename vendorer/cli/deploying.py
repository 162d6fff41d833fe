"""`vendorer package | deploy`: the app as one zip, and that zip on its site."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from vendorer.cli.options import Commands, OptionGroups, project_of, seconds_type, site_choice
from vendorer.cli.output import Output
from vendorer.deploy.site import PLANS

_seconds = seconds_type(86399, "300")  # a deployment, or a site's start: less than a day

if TYPE_CHECKING:
    from vendorer.app.packaging import PackageRequest, PackageRun
    from vendorer.app.project import Project

__all__ = ["add_deploy_commands"]


def add_deploy_commands(commands: Commands, groups: OptionGroups) -> None:
    package = commands.add_parser(
        "package",
        parents=[groups.targeted, groups.lib, groups.wheelhouse],
        help="write the deployable zip of the app and its vendored libraries",
        description="A reproducible zip of the whole app (the same files give the same bytes) "
        "with the vendored lib folder where the target loads it; the wheelhouse, virtual "
        "environments, caches, version control, locks and secrets kept beside the app "
        "(.env, local.settings.json, *.PublishSettings) stay out, as do [tool.vendorer] "
        "exclude patterns. Nothing is written when `vendorer check` finds drift.",
    )
    _add_package_options(package)
    package.add_argument(
        "--list",
        action="store_true",
        help="say what goes in and what stays out (and why), write nothing",
    )
    package.set_defaults(handler=_package)
    deploy = commands.add_parser(
        "deploy",
        parents=[groups.targeted, groups.lib, groups.wheelhouse, groups.credentials],
        help="package the app and deploy it the way the site's plan takes it",
        description="Write the package (as `vendorer package`), find the site and its plan "
        "(through Azure Resource Manager with --site and --resource-group, or through its SCM "
        "site with a publish profile), stop if the site would undo the deployment (a build on "
        "the server, a run-from-package URL, another Python, no startup command Oryx can do "
        "without), send the package by the plan's route (OneDeploy, zipdeploy, Flex publish, "
        "run-from-package), wait for it and ask the site for a page.",
    )
    _add_package_options(deploy)
    _add_site_options(deploy)
    deploy.set_defaults(handler=_deploy)


def _add_package_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="the zip to write (default: <wheelhouse>/<profile>.zip)",
    )
    parser.add_argument(
        "--no-check",
        action="store_true",
        help="package even if `vendorer check` finds drift (by default nothing is written then)",
    )


def _add_site_options(deploy: argparse.ArgumentParser) -> None:
    deploy.add_argument(
        "--plan",
        metavar="PLAN",
        help=f"with a publish profile: the site's plan, one of {', '.join(PLANS)} (default: "
        "app-service-linux for linux-* profiles, functions-flex for functions-*, "
        "app-service-windows for site extensions)",
    )
    deploy.add_argument(
        "--fix-settings",
        action="store_true",
        help="change what would undo the deployment (app settings through Azure, an Oryx "
        "build's leftovers through Kudu) instead of stopping",
    )
    deploy.add_argument(
        "--health-path",
        default="/",
        metavar="PATH",
        help="the page to ask for after the deployment (default: /)",
    )
    deploy.add_argument(
        "--health-timeout",
        type=_seconds,
        default=300.0,
        metavar="SECONDS",
        help="how long the site may answer 5xx (or nothing) while it starts (default: 300)",
    )
    deploy.add_argument(
        "--no-health-check", action="store_true", help="do not ask the site for a page"
    )
    deploy.add_argument(
        "--timeout",
        type=_seconds,
        default=900.0,
        metavar="SECONDS",
        help="how long the deployment may take on the site (default: 900)",
    )


def _package_request(args: argparse.Namespace, *, list_only: bool = False) -> PackageRequest:
    from vendorer.app.packaging import PackageRequest

    return PackageRequest(output=args.output, check=not args.no_check, list_only=list_only)


def _project(args: argparse.Namespace, out: Output) -> Project:
    return project_of(args, out, lib_dir=args.lib_dir, wheelhouse=args.wheelhouse)


def _package(args: argparse.Namespace) -> int:
    from vendorer.app.packaging import package_project

    out = Output()
    project = _project(args, out)
    run = package_project(project, _package_request(args, list_only=args.list), out)
    if _refused(out, run, project):
        return 1
    assert run.plan is not None
    if args.list:
        for name in run.plan.files:
            out.result(name)
        for exclusion in run.plan.excluded:
            out.say(f"left out {exclusion.path}: {exclusion.reason}")
    return 0


def _refused(out: Output, run: PackageRun, project: Project) -> bool:
    if not run.refused:
        return False
    assert run.check is not None  # refused for its drifts
    out.drifts(run.check, project.profile)
    out.say("nothing was packaged: fix the drifts above, or pass --no-check to package as it is")
    return True


def _deploy(args: argparse.Namespace) -> int:
    from vendorer.app.deploying import DeployRequest, deploy_project
    from vendorer.deploy.health import HealthOptions
    from vendorer.deploy.polling import WaitOptions

    out = Output()
    project = _project(args, out)
    request = DeployRequest(
        where=site_choice(args),
        plan=args.plan,
        fix_settings=args.fix_settings,
        health=None
        if args.no_health_check
        else HealthOptions(path=args.health_path, timeout=args.health_timeout),
        wait=WaitOptions(timeout=args.timeout),
        package=_package_request(args),
    )
    run = deploy_project(project, request, out)
    if _refused(out, run.package, project):
        return 1
    assert run.site is not None  # not refused: sent
    said = f" ({run.deployment})" if run.deployment else ""
    out.say(f"deployed to {run.site.name} ({run.site.plan}) by {run.route}{said}")
    if run.health is not None:
        answer = run.health
        out.say(f"{answer.url} answered HTTP {answer.status} after {answer.seconds:.0f} s")
        if not answer.ok:
            out.warning(f"{answer.url} did not answer with a page: is --health-path right?")
    return 0
