"""`vendorer webconfig | arm | upload | kudu run`: the site, its setup and Kudu."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from vendorer.cli.options import Commands, OptionGroups, project_of, site_choice
from vendorer.cli.output import Output
from vendorer.deploy.site import PLANS
from vendorer.errors import UsageError

if TYPE_CHECKING:
    from vendorer.app.server import UploadRun

__all__ = ["add_server_commands"]


def add_server_commands(commands: Commands, groups: OptionGroups) -> None:
    _add_webconfig_command(commands, groups)
    _add_arm_command(commands, groups)
    _add_upload_command(commands, groups)
    kudu = commands.add_parser("kudu", help="talk to the site's Kudu")
    kudu_commands = kudu.add_subparsers(title="kudu commands", metavar="COMMAND")
    run = kudu_commands.add_parser(
        "run",
        parents=[groups.credentials],
        help="run a console command on the site: kudu run -- CMD",
    )
    run.add_argument("--dir", default="site/wwwroot", help="folder below HOME to run it in")
    run.add_argument("words", nargs=argparse.REMAINDER, metavar="COMMAND")
    run.set_defaults(handler=_kudu_run)


def _add_arm_command(commands: Commands, groups: OptionGroups) -> None:
    arm = commands.add_parser(
        "arm",
        parents=[groups.targeted],
        help="the site as a template: the Linux site and its plan, or the Windows site extension",
        description="Linux profiles: a template of the site (App Service on Linux, or a Functions "
        "app) and its plan, with the runtime, the app settings that keep a build off and the "
        "startup command when Oryx needs one. Windows site extension profiles: the "
        "siteextensions resource to nest in the Microsoft.Web/sites resource. --template updates "
        "an existing ARM template in place, keeping everything else; --format bicep prints Bicep.",
    )
    arm.add_argument(
        "--site-param",
        default="siteName",
        metavar="NAME",
        help="the template parameter that names the site (default: siteName)",
    )
    arm.add_argument(
        "--template",
        type=Path,
        metavar="FILE",
        help="an ARM template to update in place, keeping everything else",
    )
    arm.add_argument(
        "--format",
        dest="template_format",
        choices=["json", "bicep"],
        default="json",
        help="an ARM template (json, the default) or a Bicep file",
    )
    arm.add_argument(
        "--plan",
        choices=[plan for plan in PLANS if plan != "app-service-windows"],
        help="Linux profiles: the hosting plan (default: app-service-linux, or functions-flex "
        "for functions-* profiles)",
    )
    arm.add_argument(
        "--wsgi-handler",
        metavar="MODULE.ATTR",
        help="App Service on Linux: the WSGI app, for a startup command when Oryx would not "
        "find it",
    )
    arm.set_defaults(handler=_arm)


def _add_webconfig_command(commands: Commands, groups: OptionGroups) -> None:
    webconfig = commands.add_parser(
        "webconfig",
        parents=[groups.targeted, groups.lib],
        help="write web.config for the site extension (FastCGI or HttpPlatform)",
        description="Render web.config from the profile, or update the elements vendorer owns in "
        "an existing one (the Python handler, PYTHONPATH and WSGI_* app settings, httpPlatform); "
        "everything else in the file stays. On Linux profiles, print instead how the libraries "
        "load, the settings that keep a build off, and a startup command only where Oryx needs "
        "one (Functions: none).",
    )
    webconfig.add_argument(
        "--handler",
        dest="server_handler",
        choices=["fastcgi", "httpplatform"],
        default="fastcgi",
        help="FastCGI with wfastcgi (default), or the HttpPlatform handler",
    )
    webconfig.add_argument(
        "--wsgi-handler",
        metavar="MODULE.ATTR",
        help="fastcgi (and App Service on Linux): the WSGI app, module.attr or module.func()",
    )
    webconfig.add_argument("--wsgi-log", metavar="PATH", help="fastcgi: WSGI_LOG, wfastcgi's log")
    webconfig.add_argument(
        "--restart-regex",
        metavar="REGEX",
        help="fastcgi: WSGI_RESTART_FILE_REGEX (empty turns restarts off)",
    )
    _add_httpplatform_options(webconfig)
    webconfig.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="the file to write or update (default: <app>/web.config)",
    )
    webconfig.add_argument(
        "--check",
        action="store_true",
        help="only report whether the file is current (exit 1 if not)",
    )
    webconfig.set_defaults(handler=_webconfig)


def _add_httpplatform_options(webconfig: argparse.ArgumentParser) -> None:
    webconfig.add_argument(
        "--entry",
        metavar="SCRIPT",
        help="httpplatform: the script to run, relative to the site root",
    )
    webconfig.add_argument(
        "--args",
        default="--port %HTTP_PLATFORM_PORT%",
        metavar="ARGS",
        help="httpplatform: its arguments (default: --port %%HTTP_PLATFORM_PORT%%)",
    )
    webconfig.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="httpplatform: an environment variable (repeatable)",
    )
    webconfig.add_argument(
        "--startup-time-limit",
        type=int,
        default=60,
        metavar="SECONDS",
        help="httpplatform: startupTimeLimit (default 60)",
    )
    webconfig.add_argument(
        "--processes",
        type=int,
        default=1,
        metavar="N",
        help="httpplatform: processesPerApplication (default 1)",
    )


def _add_upload_command(commands: Commands, groups: OptionGroups) -> None:
    upload = commands.add_parser(
        "upload",
        parents=[groups.targeted, groups.lib, groups.credentials],
        help="send the vendored libraries (or the wheelhouse) to the site through Kudu",
        description="--mode vendored (default): send the lib folder with PUT /api/zip, only the "
        "distributions that changed since the server's manifest, delete the ones that went "
        "away, and write the manifest last. --mode wheelhouse (Windows site extensions only: on "
        "Linux, Kudu's console is not in the app's container): send wheelhouse/<profile>/ and "
        "run the profile's python -m pip install --no-index on the server.",
    )
    upload.add_argument(
        "--no-check",
        action="store_true",
        help="send even if `vendorer check` finds drift (by default nothing is sent then)",
    )
    upload.add_argument(
        "--mode",
        choices=["vendored", "wheelhouse"],
        default="vendored",
        help="what to send (default: vendored)",
    )
    upload.add_argument(
        "--wheelhouse", type=Path, metavar="DIR", help="wheelhouse root (default: <app>/wheelhouse)"
    )
    upload.add_argument(
        "--print-commands",
        action="store_true",
        help="show what to type in the Kudu console instead of doing it",
    )
    upload.add_argument(
        "--restart",
        action="store_true",
        help="Linux sites: restart the site afterwards (the app reads the lib folder at start)",
    )
    upload.set_defaults(handler=_upload)


def _webconfig(args: argparse.Namespace) -> int:
    from vendorer.app.site_setup import WebConfigRequest, write_webconfig

    out = Output()
    project = project_of(args, out, lib_dir=args.lib_dir)
    request = WebConfigRequest(
        handler=args.server_handler,
        wsgi_handler=args.wsgi_handler,
        wsgi_log=args.wsgi_log,
        restart_regex=args.restart_regex,
        entry=args.entry,
        arguments=args.args,
        environment=tuple(args.env),
        startup_time_limit=args.startup_time_limit,
        processes=args.processes,
        output=args.output,
        check=args.check,
    )
    run = write_webconfig(project, request)
    if run.path is None:  # a Linux profile
        for line in run.linux:
            out.result(line)
        return 0
    if args.check:
        out.say(f"{run.path}: {'current' if run.current else 'out of date'}")
        return 0 if run.current else 1
    out.say(f"{'updated' if run.updated else 'wrote'} {run.path}")
    return 0


def _arm(args: argparse.Namespace) -> int:
    from vendorer.app.site_setup import ArmRequest, arm_resource

    out = Output()
    project = project_of(args, out)
    request = ArmRequest(
        site_param=args.site_param,
        template=args.template,
        format=args.template_format,
        plan=args.plan,
        wsgi_handler=args.wsgi_handler,
    )
    run = arm_resource(project, request)
    if run.resource is not None:
        out.result(json.dumps(run.resource, indent=2))
    elif run.text is not None:
        sys.stdout.write(run.text)
    else:
        out.say(f"updated {run.template}")
    for note in run.notes:
        out.say(f"note: {note}")
    return 0


def _upload(args: argparse.Namespace) -> int:
    from vendorer.app.server import UploadRequest, upload_app

    out = Output()
    project = project_of(args, out, lib_dir=args.lib_dir, wheelhouse=args.wheelhouse)
    request = UploadRequest(
        mode=args.mode,
        where=site_choice(args),
        check=not args.no_check,
        print_commands=args.print_commands,
        restart=args.restart,
    )
    run = upload_app(project, request, out)
    if args.print_commands:
        out.result("\n".join(run.console_steps))
        return 0
    if run.refused:
        assert run.check is not None  # refused for its drifts
        out.drifts(run.check, project.profile)
        sent = "lib folder" if args.mode == "vendored" else "wheelhouse"
        out.say(
            "nothing was uploaded: fix the drifts above, or pass --no-check to send the "
            f"{sent} as it is"
        )
        return 1
    _print_uploaded(out, run)
    return 0


def _print_uploaded(out: Output, run: UploadRun) -> None:
    report = run.report
    assert report is not None  # neither printed nor refused: sent
    if report.output:
        out.say(report.output.rstrip())
    for line in report.sent:
        out.say(f"  sent {line}")
    for line in report.deleted:
        out.say(f"  deleted {line}")
    for kept in report.kept_folders:
        out.say(
            f"  kept {run.lib_dir}/{kept}/ on the server: it holds files vendorer did not write"
        )
    out.say(
        f"uploaded: {len(report.sent)} sent, {len(report.deleted)} deleted, "
        f"{len(report.unchanged)} unchanged"
    )
    if run.restarted is not None:
        out.say(f"restarted the site {run.restarted}")
    for note in run.notes:
        out.say(f"note: {note}")


def _kudu_run(args: argparse.Namespace) -> int:
    from vendorer.app.server import run_on_server

    words = args.words[1:] if args.words[:1] == ["--"] else args.words  # the command's own stay
    if not words:
        raise UsageError("kudu run needs a command: vendorer kudu run -- python --version")
    result = run_on_server(site_choice(args), words, args.dir)
    sys.stdout.write(result.output)
    sys.stderr.write(result.error)
    return result.exit_code
