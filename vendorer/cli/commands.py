"""The command line: parse arguments, load settings, run a command, map errors to exit codes."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import tomli_w
from packaging.version import Version
from rich import filesize
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from vendorer import __version__
from vendorer._util.files import write_text_atomic
from vendorer._util.tail import output_line
from vendorer._util.tomlfile import decode_text, kind_of, parse_json, read_input
from vendorer._util.urls import find_links_problem, redact, scrub_credentials, url_problem
from vendorer.deploy.hooks import install_pre_push_hook
from vendorer.errors import ConfigError, UsageError, VendorerError
from vendorer.inputs.options import INDEX_STRATEGIES, KEYRING_PROVIDERS, LockOptions
from vendorer.inputs.settings import Settings, load_settings
from vendorer.install.libfolder import lib_dir_in_app, lib_folder
from vendorer.install.vendor import vendor, wheels_for
from vendorer.lock.changes import lock_changes
from vendorer.lock.export import export_requirements
from vendorer.lock.pylock import lock_path, read_lock
from vendorer.lock.why import explain
from vendorer.target.capture import capture_script, profile_from_capture
from vendorer.target.catalog import ProfileCatalog
from vendorer.target.layout import pythonpath_entry
from vendorer.target.profile import Profile, profile_to_dict
from vendorer.wheelhouse.native_plan import plan_for, sdists_without_wheel

if TYPE_CHECKING:
    from vendorer.app.locking import LockResult
    from vendorer.check import CheckResult
    from vendorer.deploy.kudu import KuduClient

# The commands' engines (resolver, index client, builder) are imported by the commands that use
# them, so `vendorer check` and `vendorer profiles` start quickly.

__all__ = ["main"]

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run vendorer; returns the exit code (0 ok, 1 failure, 2 usage or configuration error)."""
    parser = _parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        _check_paths(args)
        return handler(args)
    except VendorerError as error:
        _stderr().print(f"error: {scrub_credentials(str(error))}", markup=False, highlight=False)
        return error.exit_code
    except OSError as error:  # a file vendorer needs cannot be read or written
        _stderr().print(f"error: {scrub_credentials(str(error))}", markup=False, highlight=False)
        return 1
    except KeyboardInterrupt:
        _stderr().print("interrupted: nothing was left half-written", markup=False)
        return 130
    except Exception as error:  # the last line of defence: a bug in vendorer
        return _internal_error(error)


def _check_paths(args: argparse.Namespace) -> None:
    """Before anything is read or written: the app's folder must be one, and an output file's
    folder must exist (vendorer creates neither)."""
    app: Path | None = getattr(args, "app", None)
    if app is not None and not app.is_dir():
        what = "is a file, not a folder" if app.exists() else "does not exist"
        raise UsageError(
            f"--app {app} {what}; give the app's folder (where its pyproject.toml and "
            "requirements are)"
        )
    output: Path | None = getattr(args, "output", None)
    if output is not None and output.is_dir():
        raise UsageError(f"-o {output} is a folder; name the file to write")
    if output is not None and not output.parent.is_dir():
        raise UsageError(f"-o {output}: the folder {output.parent} does not exist; create it first")


def _internal_error(error: Exception) -> int:
    """An exception vendorer did not expect: a bug, said in one short block (the traceback only
    with VENDORER_DEBUG=1); no URL's credentials in either."""
    err = _stderr()
    if os.environ.get("VENDORER_DEBUG", "") not in {"", "0"}:
        err.print(
            scrub_credentials("".join(traceback.format_exception(error))).rstrip(), markup=False
        )
    lines = scrub_credentials(str(error)).strip().splitlines()
    what = f"{type(error).__name__}: {lines[0][:300]}" if lines else type(error).__name__
    err.print(
        f"error: internal error: {what}\n"
        "  this is a bug in vendorer: please report it (VENDORER_DEBUG=1 shows the traceback)",
        markup=False,
        highlight=False,
    )
    return 1


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--app",
        type=Path,
        default=Path(),
        metavar="DIR",
        help="the app's folder: where pyproject.toml, requirements and profiles/ are (default: .)",
    )
    parser = argparse.ArgumentParser(
        prog="vendorer",
        description="Resolve, build and vendor Python libraries for a fixed target interpreter.",
    )
    parser.add_argument("--version", action="version", version=f"vendorer {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    _add_profile_commands(commands, common)
    _add_project_commands(commands, common)
    return parser


def _add_profile_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    profiles = commands.add_parser("profiles", help="list, show and capture target profiles")
    profile_commands = profiles.add_subparsers(title="profile commands", metavar="COMMAND")
    listing = profile_commands.add_parser(
        "list", parents=[common], help="a table of every profile: built-in and the app's own"
    )
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(handler=_profiles_list)
    show = profile_commands.add_parser(
        "show", parents=[common], help="everything a profile says, with its derived tags"
    )
    show.add_argument("name", help="a profile name, or a path to a profile file")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_profiles_show)
    capture = profile_commands.add_parser(
        "capture",
        parents=[common],
        help="print the capture script, or turn its output into a profile (--from)",
        description=(
            "Without --from: print a stdlib-only script (Python 2.7 and 3.x) to run with the "
            "target's interpreter. With --from FILE NAME: write the exact profile NAME from that "
            "script's output, to profiles/NAME.toml in the app."
        ),
    )
    capture.add_argument("name", nargs="?", help="name of the profile to write (with --from)")
    capture.add_argument(
        "--from",
        dest="from_file",
        type=Path,
        metavar="FILE",
        help="the capture script's JSON output",
    )
    capture.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="PATH",
        help="where to write the profile (default: <app>/profiles/NAME.toml)",
    )
    capture.add_argument("--force", action="store_true", help="replace an existing profile file")
    capture.add_argument(
        "--site-root",
        help="the app's folder on the server (default: $HOME/site/wwwroot as captured)",
    )
    capture.add_argument("--lib-dir", help="folder for vendored libraries inside the app")
    capture.add_argument("--site-extension", help="the App Service site extension id")
    capture.add_argument(
        "--publish-profile",
        type=Path,
        metavar="FILE",
        help="run the script on the site through Kudu, with this .PublishSettings",
    )
    capture.add_argument(
        "--python",
        metavar="PATH",
        help="with --publish-profile: the server's python (default: the profile NAME's, if it "
        "is a known profile, else python)",
    )
    capture.set_defaults(handler=_profiles_capture)


def _add_project_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    targeted = argparse.ArgumentParser(add_help=False, parents=[common])
    targeted.add_argument(
        "-p", "--profile", help="target profile name or file (default: [tool.vendorer] profile)"
    )
    targeted.add_argument(
        "-r",
        "--requirements",
        type=Path,
        metavar="FILE",
        help="requirements file, next to which the lock sits "
        "(default: requirements.txt, or requirements.in)",
    )
    resolving = argparse.ArgumentParser(add_help=False, parents=[targeted])
    resolving.add_argument(
        "-i",
        "--index-url",
        type=_index_url,
        metavar="URL",
        help="package index (PEP 503/691; default: PyPI)",
    )
    resolving.add_argument(
        "--extra-index-url",
        action="append",
        type=_index_url,
        default=[],
        metavar="URL",
        dest="extra_index_urls",
        help="another index to search (repeatable)",
    )
    resolving.add_argument(
        "-f",
        "--find-links",
        action="append",
        type=_find_link,
        default=[],
        metavar="DIR|URL",
        help="a folder or HTML page of distributions (repeatable)",
    )
    resolving.add_argument(
        "--index-strategy",
        choices=INDEX_STRATEGIES,
        help="unsafe-best-match (default, as pip): every index's files of a project compete; "
        "first-index (as uv): only the first index that has the project, so a public index "
        "cannot shadow a private one",
    )
    resolving.add_argument(
        "--prefer-newest",
        action="store_true",
        help="take the newest version even when only its sdist fits the target",
    )
    resolving.add_argument("--pre", action="store_true", help="allow pre-release versions")
    resolving.add_argument(
        "--offline",
        action="store_true",
        help="no network: answer from vendorer's HTTP and file caches only",
    )
    resolving.add_argument(
        "-U",
        "--upgrade",
        action="store_true",
        help="resolve again to the newest versions that fit, keeping none of the lock's",
    )
    resolving.add_argument(
        "-P",
        "--upgrade-package",
        dest="upgrade_packages",
        action="append",
        default=[],
        metavar="NAME",
        help="resolve again, moving NAME to its newest fitting version, or within a bound "
        "(NAME==VERSION, 'NAME<SPEC'); repeatable; the lock's other versions are kept where they "
        "still fit",
    )
    resolving.add_argument(
        "--refresh",
        action="store_true",
        help="ask the index again for every page, even one whose Cache-Control max-age lasts",
    )
    resolving.add_argument(
        "--keyring-provider",
        choices=KEYRING_PROVIDERS,
        help="subprocess: ask the `keyring` command for the password of an index URL that names "
        "only a user (https://user@host/simple/), as pip and uv do (default: disabled)",
    )
    resolving.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show what build backends and pip print while sdists are built (otherwise only the "
        "last lines of a failed build are shown)",
    )
    resolving.add_argument(
        "--timeout",
        type=_timeout,
        default=15.0,
        metavar="SECONDS",
        help=f"network timeout per request (default: 15; at most {MAX_TIMEOUT})",
    )
    wheelhouse_option = argparse.ArgumentParser(add_help=False)
    wheelhouse_option.add_argument(
        "--wheelhouse",
        type=Path,
        metavar="DIR",
        help="the wheelhouse root (default: <app>/wheelhouse)",
    )
    lib_option = argparse.ArgumentParser(add_help=False)
    lib_option.add_argument(
        "--lib-dir", metavar="PATH", help="the lib folder inside the app (default: the profile's)"
    )
    native_option = argparse.ArgumentParser(add_help=False)
    native_option.add_argument(
        "--native",
        choices=["report", "cibuildwheel"],
        default="report",
        help="what to do with sdists that compile code: report their routes (default), or "
        "build them here with cibuildwheel (Linux targets, needs docker or podman)",
    )
    vendoring = argparse.ArgumentParser(add_help=False, parents=[lib_option])
    vendoring.add_argument(
        "--slim", action="store_true", help="leave out test suites, __pycache__ and type stubs"
    )
    vendoring.add_argument(
        "--dry-run",
        action="store_true",
        help="show what vendoring would change in the lib folder, and change nothing there",
    )

    lock = commands.add_parser(
        "lock",
        parents=[resolving],
        help="resolve the requirements for a profile into a lock",
        description="Resolve the requirements for the target profile and write "
        "pylock.<profile>.toml (PEP 751) next to the requirements file. A lock whose inputs have "
        "not changed is kept as it is.",
    )
    lock.add_argument(
        "--dry-run",
        dest="lock_dry_run",  # `build --dry-run` is vendor's
        action="store_true",
        help="resolve and show what would move, without writing the lock",
    )
    lock.add_argument(
        "--force",
        action="store_true",
        help="resolve again even if the lock is current (its versions are kept where they fit)",
    )
    lock.add_argument(
        "--export",
        choices=["requirements"],
        help="also write the lock as a requirements file pinned with --hash lines "
        "(pip 8+, e.g. pip 9 on 3.6.1)",
    )
    lock.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="where --export writes (default: stdout)"
    )
    lock.set_defaults(handler=_lock)
    commands.add_parser(
        "wheelhouse",
        parents=[resolving, wheelhouse_option, native_option],
        help="fill wheelhouse/<profile>/ with a wheel for every locked package",
        description="Lock if stale, then download every locked wheel (verified by sha256), build "
        "pure sdists into wheels, accept wheels built elsewhere, and write requirements.txt "
        "pinned with --hash lines for pip on the server. Native sdists are reported with routes "
        "to a real wheel.",
    ).set_defaults(handler=_wheelhouse)
    commands.add_parser(
        "build",
        parents=[resolving, wheelhouse_option, native_option, vendoring],
        help="the one command: lock if stale, fill the wheelhouse, vendor into the app",
        description="Lock if stale, fill the wheelhouse, then vendor the libraries into the app's "
        "lib folder. Each step is skipped when its inputs have not changed.",
    ).set_defaults(handler=_build)
    commands.add_parser(
        "vendor",
        parents=[targeted, wheelhouse_option, vendoring],
        help="install the wheelhouse into the app's lib folder, for the target",
        description="Install every wheel of the profile's wheelhouse into the app's lib folder "
        "with installer (the target's layout and launchers, no bytecode), incrementally and "
        "atomically, with a manifest of every file vendorer owns.",
    ).set_defaults(handler=_vendor)
    native = commands.add_parser(
        "native-plan",
        parents=[targeted, wheelhouse_option],
        help="write a cibuildwheel configuration and CI workflow for the native sdists",
        description="For every locked sdist that still has no wheel in wheelhouse/<profile>/, "
        "write .vendorer/cibuildwheel.<profile>.toml and "
        ".github/workflows/vendorer-native-<profile>.yml, which build wheels for the target "
        "(CIBW_BUILD from the profile, e.g. cp36-win_amd64) on a CI runner of its kind.",
    )
    native.add_argument(
        "--print",
        action="store_true",
        dest="print_only",
        help="print the files instead of writing them",
    )
    native.set_defaults(handler=_native_plan)
    commands.add_parser(
        "check",
        parents=[targeted, wheelhouse_option, lib_option],
        help="offline: do the lock, wheelhouse and vendored tree still match? (for hooks and CI)",
        description="Verify, offline, that the lock matches the requirements, the wheelhouse "
        "matches the lock (skipped when there is no wheelhouse) and the vendored tree matches "
        "its manifest. Prints each drift with the command that fixes it; exit code 1 on drift.",
    ).set_defaults(handler=_check)
    hook = commands.add_parser("hook", help="git hooks that run `vendorer check`")
    hook_commands = hook.add_subparsers(title="hook commands", metavar="COMMAND")
    install_hook = hook_commands.add_parser(
        "install", parents=[common], help="install a git pre-push hook that runs `vendorer check`"
    )
    install_hook.add_argument(
        "--force", action="store_true", help="replace a pre-push hook vendorer did not write"
    )
    install_hook.set_defaults(handler=_hook_install)
    _add_server_commands(commands, targeted, lib_option)
    why = commands.add_parser(
        "why",
        parents=[targeted],
        help="why a package is in the lock, and why at that version",
    )
    why.add_argument("name", help="the package")
    why.set_defaults(handler=_why)


def _add_server_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    targeted: argparse.ArgumentParser,
    lib_option: argparse.ArgumentParser,
) -> None:
    webconfig = commands.add_parser(
        "webconfig",
        parents=[targeted, lib_option],
        help="write web.config for the site extension (FastCGI or HttpPlatform)",
        description="Render web.config from the profile, or update the elements vendorer owns in "
        "an existing one (the Python handler, PYTHONPATH and WSGI_* app settings, httpPlatform); "
        "everything else in the file stays. On Linux profiles, print the startup command and "
        "PYTHONPATH app setting to use instead.",
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
        help="fastcgi: the WSGI app, module.attr or module.func()",
    )
    webconfig.add_argument("--wsgi-log", metavar="PATH", help="fastcgi: WSGI_LOG, wfastcgi's log")
    webconfig.add_argument(
        "--restart-regex",
        metavar="REGEX",
        help="fastcgi: WSGI_RESTART_FILE_REGEX (empty turns restarts off)",
    )
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
    arm = commands.add_parser(
        "arm",
        parents=[targeted],
        help="the ARM siteextensions resource that installs the profile's Python",
        description="Print the siteextensions resource to nest in the Microsoft.Web/sites "
        "resource, or add/update it inside an existing template (--template).",
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
    arm.set_defaults(handler=_arm)
    credentials = argparse.ArgumentParser(add_help=False)
    credentials.add_argument(
        "--publish-profile",
        type=Path,
        metavar="FILE",
        help="the site's .PublishSettings (else VENDORER_KUDU_URL, _USER and _PASSWORD)",
    )
    upload = commands.add_parser(
        "upload",
        parents=[targeted, lib_option, credentials],
        help="send the vendored libraries (or the wheelhouse) to the site through Kudu",
        description="--mode vendored (default): send the lib folder with PUT /api/zip, only the "
        "distributions that changed since the server's manifest, delete the ones that went "
        "away, and write the manifest last. --mode wheelhouse: send wheelhouse/<profile>/ and "
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
    upload.set_defaults(handler=_upload)
    kudu = commands.add_parser("kudu", help="talk to the site's Kudu")
    kudu_commands = kudu.add_subparsers(title="kudu commands", metavar="COMMAND")
    run = kudu_commands.add_parser(
        "run", parents=[credentials], help="run a console command on the site: kudu run -- CMD"
    )
    run.add_argument("--dir", default="site/wwwroot", help="folder below HOME to run it in")
    run.add_argument("words", nargs=argparse.REMAINDER, metavar="COMMAND")
    run.set_defaults(handler=_kudu_run)


MAX_TIMEOUT = 3600  # seconds; far more than any index needs, and within what sockets accept


def _timeout(text: str) -> float:
    """--timeout: a number of seconds above 0 (0 would mean non-blocking sockets)."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_TIMEOUT):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds above 0 and at most {MAX_TIMEOUT} (e.g. 15)"
        )
    return seconds


def _index_url(text: str) -> str:
    """-i / --extra-index-url: a URL that parses, without unexpanded ${VAR} credentials."""
    problem = url_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"index URL {redact(text)!r} {problem}")
    return text


def _find_link(text: str) -> str:
    """-f: a folder, or a URL that parses."""
    problem = find_links_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"find-links {redact(text)!r} {problem}")
    return text


def _stdout() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _catalog(args: argparse.Namespace) -> ProfileCatalog:
    return ProfileCatalog(args.app)


def _load_profile(args: argparse.Namespace, name: str) -> Profile:
    catalog = _catalog(args)
    profile = catalog.load(name)
    for notice in catalog.notices:
        _stderr().print(notice, markup=False)
    return profile


def _profiles_list(args: argparse.Namespace) -> int:
    rows = []
    for entry in _catalog(args).entries():
        profile = _load_profile(args, entry.name)
        source = entry.source + (" (shadows built-in)" if entry.shadows_builtin else "")
        platform = profile.tags[0].platform  # the most specific: the manylinux level on Linux
        rows.append((profile.name, str(profile.python.version), platform, source))
    if args.json:
        keys = ("name", "python", "platform", "source")
        print(json.dumps([dict(zip(keys, row, strict=True)) for row in rows], indent=2))
        return 0
    table = Table("name", "python", "platform", "source", box=None, pad_edge=False)
    for row in rows:
        table.add_row(*row)
    _stdout().print(table)
    return 0


def _profile_document(profile: Profile) -> dict[str, object]:
    return {
        **profile_to_dict(profile),
        "tags": [str(tag) for tag in profile.tags],
        "source": profile.source,
    }


def _profiles_show(args: argparse.Namespace) -> int:
    profile = _load_profile(args, args.name)
    document = _profile_document(profile)
    if args.json:
        print(json.dumps(document, indent=2))
        return 0
    out = _stdout()
    out.print(f"[bold]{profile.name}[/bold]: {profile.description}")
    out.print(f"source: {profile.source}", markup=False)
    for section in ("python", "markers", "server"):
        out.print(f"\n[bold]{section}[/bold]")
        for key, value in document[section].items():  # type: ignore[attr-defined]
            out.print(f"  {key} = {json.dumps(value)}", markup=False)
    out.print(f"\n[bold]tags[/bold] ({len(profile.tags)}, most specific first)")
    for tag in profile.tags:
        out.print(f"  {tag}", markup=False)
    return 0


def _profiles_capture(args: argparse.Namespace) -> int:
    if args.from_file is None and args.publish_profile is None:
        if args.name:
            raise UsageError("profiles capture NAME needs --from FILE (the script's output)")
        sys.stdout.write(capture_script())
        return 0
    if not args.name:
        raise UsageError("profiles capture needs the NAME of the profile to write")
    if args.publish_profile is not None:
        text, origin = _capture_on_server(args), f"the site of {args.publish_profile.name}"
    else:
        origin = str(args.from_file)
        text = decode_text(read_input(args.from_file), origin)  # PowerShell's `>` writes UTF-16
    facts = parse_json(text, origin=origin, what="the capture script's JSON output")
    if not isinstance(facts, dict):
        raise ConfigError(
            f"{origin}: not the capture script's JSON output, but {kind_of(facts, in_json=True)}"
        )
    profile = profile_from_capture(
        facts,
        args.name,
        origin=origin,
        site_root=args.site_root,
        lib_dir=args.lib_dir,
        site_extension=args.site_extension,
    )
    output: Path = args.output or args.app / "profiles" / f"{args.name}.toml"
    if os.path.lexists(output) and not args.force:
        raise UsageError(f"{output} exists; pass --force to replace it")
    header = f"# vendorer target profile, captured from {origin}\n"
    write_text_atomic(_write_target(output), header + tomli_w.dumps(profile_to_dict(profile)))
    _stdout().print(
        f"wrote {output}: {profile.python.version}, {len(profile.tags)} tags, "
        f"first {profile.tags[0]}",
        markup=False,
    )
    return 0


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(
        args.app,
        {
            "profile": getattr(args, "profile", None),
            "requirements": getattr(args, "requirements", None),
            "index_url": getattr(args, "index_url", None),
            "extra_index_urls": tuple(getattr(args, "extra_index_urls", ())),
            "find_links": tuple(getattr(args, "find_links", ())),
            "keyring_provider": getattr(args, "keyring_provider", None),
            "index_strategy": getattr(args, "index_strategy", None),
        },
    )


def _profile_of(args: argparse.Namespace, settings: Settings) -> Profile:
    if not settings.profile:
        pyproject = args.app / "pyproject.toml"
        missing = "" if pyproject.exists() else f" ({pyproject} does not exist: is --app right?)"
        raise UsageError(
            "no target profile: pass --profile NAME or set profile in [tool.vendorer] "
            f"(`vendorer profiles list` shows them){missing}"
        )
    return _load_profile(args, settings.profile)


def _lock_options(args: argparse.Namespace, settings: Settings) -> LockOptions:
    return LockOptions(
        index_url=settings.index_url,
        extra_index_urls=settings.extra_index_urls,
        find_links=settings.find_links,
        prefer_newest=args.prefer_newest,
        pre=args.pre,
        index_strategy=settings.index_strategy,
        timeout=args.timeout,
        offline=args.offline,
        refresh=args.refresh,
        keyring=settings.keyring_provider == "subprocess",
    )


@contextlib.contextmanager
def _warnings_after(console: Console, warnings: list[str]) -> Iterator[None]:
    """Print what a step adds to `warnings` (a list it fills) once it ends, failed or not."""
    start = len(warnings)
    try:
        yield
    finally:
        for message in dict.fromkeys(warnings[start:]):
            console.print(f"warning: {message}", markup=False)


def _locked(
    args: argparse.Namespace, settings: Settings, profile: Profile, warnings: list[str]
) -> LockResult:
    """Lock if stale, with a status line while resolving; say what happened."""
    from vendorer.app.locking import make_lock

    err = _stderr()
    with _warnings_after(err, warnings), err.status(f"resolving for {profile.name}") as status:
        pinned: list[str] = []

        def on_pin(name: str, version: Version) -> None:
            pinned.append(name)
            status.update(f"resolving for {profile.name}: {len(pinned)} pinned, {name} {version}")

        result = make_lock(
            profile,
            settings.requirements,
            _lock_options(args, settings),
            force=getattr(args, "force", False),
            upgrade=args.upgrade,
            upgrade_packages=args.upgrade_packages,
            dry_run=getattr(args, "lock_dry_run", False),
            on_pin=on_pin,
            on_build_output=_build_output(args, err),
            warnings=warnings,
        )
    dry = getattr(args, "lock_dry_run", False)
    verb = "up to date:" if not result.changed else "would write" if dry else "wrote"
    builds = sum(package.needs_build for package in result.lock.packages)
    note = f", {builds} to build from sdist" if builds else ""
    err.print(f"{verb} {result.path} ({len(result.lock.packages)} packages{note})", markup=False)
    if result.previous is not None:
        for line in lock_changes(result.previous, result.lock):
            err.print(f"  {line}", markup=False)
    for warning in result.warnings:
        err.print(f"warning: {warning}", markup=False)
    return result


def _build_output(args: argparse.Namespace, console: Console) -> Callable[[str], None] | None:
    """With -v, a build backend's output (and pip's) as it comes, each line marked."""
    if not args.verbose:
        return None
    return lambda line: console.print(output_line(line), markup=False, highlight=False)


def _lock(args: argparse.Namespace) -> int:
    settings = _settings(args)
    result = _locked(args, settings, _profile_of(args, settings), [])
    if args.export:
        text = export_requirements(result.lock, source=result.path.name)
        if args.output:
            write_text_atomic(args.output, text)
            _stderr().print(f"wrote {args.output}", markup=False)
        else:
            sys.stdout.write(text)
    return 0


def _why(args: argparse.Namespace) -> int:
    settings = _settings(args)
    profile = _profile_of(args, settings)
    lock = read_lock(lock_path(settings.requirements, profile.name))
    for line in explain(lock, args.name):
        print(line)
    return 0


def _build(args: argparse.Namespace) -> int:
    status = _wheelhouse(args)
    return status if status else _vendor(args)


def _wheelhouse_root(args: argparse.Namespace, settings: Settings) -> Path:
    return Path(args.app / args.wheelhouse if args.wheelhouse else settings.wheelhouse)


def _lib_dir(args: argparse.Namespace, settings: Settings, profile: Profile) -> str:
    """The lib folder as a relative path inside the app (an absolute one is made relative; one
    outside the app is refused): what the server's paths are made of."""
    return lib_dir_in_app(args.app, args.lib_dir or settings.lib_dir or profile.server.lib_dir)


def _vendor(args: argparse.Namespace) -> int:
    settings = _settings(args)
    profile = _profile_of(args, settings)
    lock = read_lock(lock_path(settings.requirements, profile.name))
    lib_dir = _lib_dir(args, settings, profile)
    folder = lib_folder(args.app, lib_dir)
    wheels = wheels_for(lock, _wheelhouse_root(args, settings) / profile.name)
    err = _stderr()
    report = vendor(
        wheels,
        profile,
        folder,
        lock_hash=lock.inputs_hash,
        slim=args.slim,
        dry_run=args.dry_run,
        locked_sha256={p.name: p.file.sha256 for p in lock.packages if not p.needs_build},
        on_wait=lambda: err.print(
            f"waiting for another vendorer run on {lib_dir} to finish", markup=False
        ),
    )
    prefix = "would " if args.dry_run else ""
    for path in report.leftovers:
        left = path.relative_to(args.app.resolve()).as_posix()
        err.print(f"  {prefix}remove {left} (an interrupted run left it)", markup=False)
    for line in report.installed:
        err.print(f"  {prefix}install {line}", markup=False)
    for line in report.removed:
        err.print(f"  {prefix}remove {line}", markup=False)
    if report.changed:
        verb = "would change" if args.dry_run else "vendored into"
        err.print(f"{verb} {lib_dir}: {len(wheels)} distributions", markup=False)
    else:
        err.print(f"up to date: {lib_dir} ({len(wheels)} distributions)", markup=False)
    if report.foreign:
        err.print(f"left alone (not vendorer's): {', '.join(report.foreign)}", markup=False)
    if report.pth_files:
        err.print(
            f"note: {', '.join(report.pth_files)} will not run on the server: .pth files work "
            f"only in site-packages, and {lib_dir} is a plain path entry; check that those "
            "packages import without them",
            markup=False,
        )
    entry = pythonpath_entry(profile, lib_dir)
    if entry is None:
        err.print(f"on the server, {lib_dir} is on sys.path by itself", markup=False)
    else:
        err.print(f"on the server, PYTHONPATH must include {entry}", markup=False)
    return 0


def _wheelhouse(args: argparse.Namespace) -> int:
    from vendorer.app.workflow import describe_native, make_wheelhouse

    settings = _settings(args)
    profile = _profile_of(args, settings)
    warnings: list[str] = []  # the lock's and the wheelhouse's, each shown once
    lock = _locked(args, settings, profile, warnings)
    root = _wheelhouse_root(args, settings)
    err = _stderr()
    with (
        _warnings_after(err, warnings),
        _file_progress(err, len(lock.lock.packages)) as (on_file, on_bytes),
    ):
        result = make_wheelhouse(
            profile,
            root,
            _lock_options(args, settings),
            lock=lock,
            on_file=on_file,
            on_bytes=on_bytes,
            native=args.native,
            on_build_output=_build_output(args, err),
            on_wait=lambda message: err.print(message, markup=False),
            warnings=warnings,
        )
    report = result.report
    summary = (
        f"{len(report.downloaded)} downloaded, {len(report.built)} built, "
        f"{len(report.accepted)} supplied by you"
        + (f", {len(report.removed)} removed" if report.removed else "")
    )
    err.print(f"wheelhouse {report.folder}: {len(report.wheels)} wheels ({summary})", markup=False)
    if report.foreign:
        err.print(f"left alone (not vendorer's): {', '.join(report.foreign)}", markup=False)
    for warning in result.warnings:
        err.print(f"warning: {warning}", markup=False)
    for advice in result.native:
        for line in describe_native(advice, profile, report.folder):
            err.print(line, markup=False)
    return 1 if result.native else 0


@contextlib.contextmanager
def _file_progress(
    console: Console, total: int
) -> Iterator[tuple[Callable[[str], None], Callable[[int], None] | None]]:
    """(on_file, on_bytes): a bar of files and bytes downloaded on a terminal, a plain line per
    file otherwise."""
    if not console.is_terminal:
        yield (lambda name: console.print(f"  {name}", markup=False)), None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[received]}"))  # fmt: skip
    received = 0
    lock = threading.Lock()
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("wheels", total=total, received="")

        def on_bytes(size: int) -> None:
            nonlocal received
            with lock:
                received += size
                progress.update(task, received=f"{filesize.decimal(received)} downloaded")

        yield (lambda name: progress.update(task, advance=1, description=name)), on_bytes


def _native_plan(args: argparse.Namespace) -> int:
    settings = _settings(args)
    profile = _profile_of(args, settings)
    lock = read_lock(lock_path(settings.requirements, profile.name))
    folder = _wheelhouse_root(args, settings) / profile.name
    plan = plan_for(profile, sdists_without_wheel(lock, folder, profile))
    files = {plan.config_path: plan.config, plan.workflow_path: plan.workflow}
    for path, text in files.items():
        if args.print_only:
            print(f"# --- {path}\n{text}")
        else:
            write_text_atomic(args.app / path, text)
            _stderr().print(f"wrote {path}", markup=False)
    return 0


def _check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    profile = _profile_of(args, settings)
    lib_dir = _lib_dir(args, settings, profile)
    result = _checked(args, settings, profile, lib_folder(args.app, lib_dir), lib_dir)
    if result.drifts:
        return 1
    _stderr().print(
        f"all true for {profile.name}: lock, wheelhouse and {lib_dir} match "
        f"({result.distributions} distributions)",
        markup=False,
    )
    return 0


def _checked(
    args: argparse.Namespace,
    settings: Settings,
    profile: Profile,
    lib: Path | None,
    lib_dir: str | None = None,
) -> CheckResult:
    """`vendorer check` (without the lib folder when `lib` is None), its drifts printed."""
    from vendorer.check import check_app

    options = LockOptions(
        index_url=settings.index_url,
        extra_index_urls=settings.extra_index_urls,
        find_links=settings.find_links,
    )
    wheelhouse = _wheelhouse_root(args, settings)
    result = check_app(
        profile, settings.requirements, options, wheelhouse=wheelhouse, lib=lib, lib_dir=lib_dir
    )
    err = _stderr()
    for note in result.notes:
        err.print(f"note: {note}", markup=False)
    for drift in result.drifts:
        err.print(f"drift: {drift.what}\n  fix: {drift.fix}", markup=False)
    if result.drifts:
        err.print(f"{len(result.drifts)} drifts for {profile.name}", markup=False)
    return result


def _hook_install(args: argparse.Namespace) -> int:
    path = install_pre_push_hook(args.app, force=args.force)
    _stderr().print(f"installed {path}: `git push` now runs `vendorer check` first", markup=False)
    return 0


def _webconfig(args: argparse.Namespace) -> int:
    from vendorer.deploy.webconfig import WebConfig, linux_instructions, render_webconfig

    settings = _settings(args)
    profile = _profile_of(args, settings)
    lib_dir = _lib_dir(args, settings, profile)
    if not profile.is_windows:
        for line in linux_instructions(profile, lib_dir, args.wsgi_handler):
            print(line)
        return 0
    environment = dict(_pair(item) for item in args.env)
    config = WebConfig(
        handler=args.server_handler,
        lib_dir=lib_dir,
        wsgi_handler=args.wsgi_handler,
        wsgi_log=args.wsgi_log,
        restart_regex=args.restart_regex,
        entry=args.entry,
        arguments=args.args,
        environment=environment,
        startup_time_limit=args.startup_time_limit,
        processes=args.processes,
    )
    path: Path = args.output or args.app / "web.config"
    existing = read_input(path) if os.path.lexists(path) else None  # XML says its encoding
    text = render_webconfig(profile, config, existing, origin=str(path))
    if args.check:
        current = existing == text.encode("utf-8")
        _stderr().print(f"{path}: {'current' if current else 'out of date'}", markup=False)
        return 0 if current else 1
    write_text_atomic(_write_target(path), text)
    _stderr().print(f"{'updated' if existing else 'wrote'} {path}", markup=False)
    return 0


def _pair(item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep or not name:
        raise UsageError(f"--env {item!r}: expected NAME=VALUE")
    return name, value


def _arm(args: argparse.Namespace) -> int:
    from vendorer.deploy.arm import add_to_template, site_extension_resource

    settings = _settings(args)
    profile = _profile_of(args, settings)
    if args.template is None:
        print(json.dumps(site_extension_resource(profile, args.site_param), indent=2))
        return 0
    origin = str(args.template)
    text = decode_text(read_input(args.template), origin)  # the portal's exports have a BOM
    updated = add_to_template(text, profile, args.site_param, origin=origin)
    write_text_atomic(_write_target(args.template), updated)
    _stderr().print(f"updated {args.template}", markup=False)
    return 0


def _write_target(path: Path) -> Path:
    """Where writing `path` goes: a symbolic link's target, so that the link stays."""
    if not path.is_symlink():
        return path
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError):  # RuntimeError: a loop, before Python 3.13
        raise UsageError(
            f"{path} is a symbolic link to {path.readlink()}, which does not exist; fix or "
            "remove the link"
        ) from None


def _kudu_client(args: argparse.Namespace) -> KuduClient:
    from vendorer.deploy.kudu import KuduClient, credentials_from_environment, read_publish_profile

    path = args.publish_profile
    credentials = read_publish_profile(path) if path else credentials_from_environment()
    return KuduClient(credentials)


def _upload(args: argparse.Namespace) -> int:
    from vendorer.deploy.upload import console_steps, upload_vendored, upload_wheelhouse

    settings = _settings(args)
    profile = _profile_of(args, settings)
    lib_dir = _lib_dir(args, settings, profile)
    if args.print_commands:
        print("\n".join(console_steps(profile, args.mode, lib_dir)))
        return 0
    err = _stderr()
    lib = lib_folder(args.app, lib_dir)
    vendored = args.mode == "vendored"
    if not args.no_check and _checked(args, settings, profile, lib if vendored else None).drifts:
        err.print(
            "nothing was uploaded: fix the drifts above, or pass --no-check to send the "
            f"{'lib folder' if vendored else 'wheelhouse'} as it is",
            markup=False,
        )
        return 1
    with _kudu_client(args) as client, _byte_progress(err) as progress:
        if vendored:
            report = upload_vendored(client, profile, lib, lib_dir, progress)
        else:
            folder = _wheelhouse_root(args, settings) / profile.name
            report = upload_wheelhouse(client, profile, folder, progress)
    if report.output:
        err.print(report.output.rstrip(), markup=False)
    for line in report.sent:
        err.print(f"  sent {line}", markup=False)
    for line in report.deleted:
        err.print(f"  deleted {line}", markup=False)
    for kept in report.kept_folders:
        err.print(
            f"  kept {lib_dir}/{kept}/ on the server: it holds files vendorer did not write",
            markup=False,
        )
    err.print(
        f"uploaded: {len(report.sent)} sent, {len(report.deleted)} deleted, "
        f"{len(report.unchanged)} unchanged",
        markup=False,
    )
    return 0


def _kudu_run(args: argparse.Namespace) -> int:
    words = args.words[1:] if args.words[:1] == ["--"] else args.words  # the command's own stay
    if not words:
        raise UsageError("kudu run needs a command: vendorer kudu run -- python --version")
    with _kudu_client(args) as client:
        result = client.command(" ".join(words), args.dir)
    sys.stdout.write(result.output)
    sys.stderr.write(result.error)
    return result.exit_code


def _capture_on_server(args: argparse.Namespace) -> str:
    """Upload the capture script through Kudu, run it with the server's python, return its JSON."""
    from vendorer.deploy.kudu import KuduError

    python = args.python
    if python is None:
        known = {entry.name for entry in _catalog(args).entries()}
        python = _load_profile(args, args.name).server.python if args.name in known else "python"
    with _kudu_client(args) as client:
        client.write_file("data/vendorer/capture.py", capture_script().encode())
        result = client.command(f'"{python}" capture.py', "data/vendorer")
    if result.exit_code != 0:
        raise KuduError(
            f"the capture script failed on the server ({result.exit_code}): "
            f"{result.error.strip()[-300:]}"
        )
    return result.output


@contextlib.contextmanager
def _byte_progress(console: Console) -> Iterator[Callable[[int, int], None]]:
    """An upload bar (bytes sent of total) on a terminal; nothing otherwise."""
    if not console.is_terminal:
        yield lambda sent, total: None
        return
    columns = (TextColumn("uploading"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("upload", total=None)
        yield lambda sent, total: progress.update(task, completed=sent, total=total)
