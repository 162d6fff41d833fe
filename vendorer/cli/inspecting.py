"""`vendorer native-plan | check | why`: offline, from the lock and what is on disk."""

from __future__ import annotations

import argparse

from vendorer.cli.options import Commands, OptionGroups, project_of
from vendorer.cli.output import Output

__all__ = ["add_check_commands", "add_why_command"]


def add_check_commands(commands: Commands, groups: OptionGroups) -> None:
    native = commands.add_parser(
        "native-plan",
        parents=[groups.targeted, groups.wheelhouse],
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
        parents=[groups.targeted, groups.wheelhouse, groups.lib],
        help="offline: do the lock, wheelhouse and vendored tree still match? (for hooks and CI)",
        description="Verify, offline, that the lock matches the requirements, the wheelhouse "
        "matches the lock (skipped when there is no wheelhouse) and the vendored tree matches "
        "its manifest. Prints each drift with the command that fixes it; exit code 1 on drift.",
    ).set_defaults(handler=_check)


def add_why_command(commands: Commands, groups: OptionGroups) -> None:
    why = commands.add_parser(
        "why",
        parents=[groups.targeted],
        help="why a package is in the lock, and why at that version",
    )
    why.add_argument("name", help="the package")
    why.set_defaults(handler=_why)


def _native_plan(args: argparse.Namespace) -> int:
    from vendorer.app.offline import native_plan

    out = Output()
    project = project_of(args, out, wheelhouse=args.wheelhouse)
    files = native_plan(project, write=not args.print_only, on_written=out.wrote)
    if args.print_only:
        for path, text in files.items():
            out.result(f"# --- {path}\n{text}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from vendorer._util.answers import keep
    from vendorer.app.offline import check_project, check_reads

    out = Output()
    project = project_of(args, out, lib_dir=args.lib_dir, wheelhouse=args.wheelhouse)
    run = check_project(project, out)
    out.drifts(run.result, project.profile)
    if run.drifted:
        return 1
    out.say(
        f"all true for {project.profile.name}: lock, wheelhouse and {run.lib_dir} match "
        f"({run.result.distributions} distributions)"
    )
    if not out.notices:  # a notice may not hold next time (another run going on)
        keep(args.arguments, lambda: check_reads(project), out.transcript)
    return 0


def _why(args: argparse.Namespace) -> int:
    from vendorer.app.offline import why

    out = Output()
    for line in why(project_of(args, out), args.name):
        out.result(line)
    return 0
