"""`vendorer lock | wheelhouse | build | vendor`: from requirements to a vendored lib folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from vendorer.cli.options import (
    Commands,
    OptionGroups,
    index_choices,
    project_of,
    resolve_choices,
)
from vendorer.cli.output import Output

if TYPE_CHECKING:
    from vendorer.app.building import LockRequest, VendorRun, WheelhouseRequest

# The steps (resolver, index client, builder) are imported by the commands that use them, so
# that `vendorer check` and `vendorer profiles` start quickly.

__all__ = ["add_building_commands"]


def add_building_commands(commands: Commands, groups: OptionGroups) -> None:
    _add_lock_command(commands, groups)
    commands.add_parser(
        "wheelhouse",
        parents=[groups.resolving, groups.wheelhouse, groups.native],
        help="fill wheelhouse/<profile>/ with a wheel for every locked package",
        description="Lock if stale, then download every locked wheel (verified by sha256), build "
        "pure sdists into wheels, accept wheels built elsewhere, and write requirements.txt "
        "pinned with --hash lines for pip on the server. Native sdists are reported with routes "
        "to a real wheel.",
    ).set_defaults(handler=_wheelhouse)
    commands.add_parser(
        "build",
        parents=[groups.resolving, groups.wheelhouse, groups.native, groups.vendoring],
        help="the one command: lock if stale, fill the wheelhouse, vendor into the app",
        description="Lock if stale, fill the wheelhouse, then vendor the libraries into the app's "
        "lib folder. Each step is skipped when its inputs have not changed.",
    ).set_defaults(handler=_build)
    commands.add_parser(
        "vendor",
        parents=[groups.targeted, groups.wheelhouse, groups.vendoring],
        help="install the wheelhouse into the app's lib folder, for the target",
        description="Install every wheel of the profile's wheelhouse into the app's lib folder "
        "with installer (the target's layout and launchers, no bytecode), incrementally and "
        "atomically, with a manifest of every file vendorer owns.",
    ).set_defaults(handler=_vendor)


def _add_lock_command(commands: Commands, groups: OptionGroups) -> None:
    lock = commands.add_parser(
        "lock",
        parents=[groups.resolving],
        help="resolve the requirements for a profile into a lock",
        description="Resolve the requirements for the target profile and write "
        "pylock.<profile>.toml (PEP 751) next to the requirements file. A lock whose inputs have "
        "not changed is kept as it is.",
    )
    lock.add_argument(
        "--dry-run",
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


def _lock_request(
    args: argparse.Namespace,
    *,
    force: bool = False,
    dry_run: bool = False,
    export: bool = False,
    export_to: Path | None = None,
) -> LockRequest:
    """The `resolving` group's choices as a lock step's request (with the lock command's own)."""
    from vendorer.app.building import LockRequest

    return LockRequest(
        resolve=resolve_choices(args),
        upgrade=args.upgrade,
        upgrade_packages=tuple(args.upgrade_packages),
        force=force,
        dry_run=dry_run,
        export=export,
        export_to=export_to,
    )


def _wheelhouse_request(args: argparse.Namespace) -> WheelhouseRequest:
    from vendorer.app.building import WheelhouseRequest

    return WheelhouseRequest(lock=_lock_request(args), native=args.native)


def _lock(args: argparse.Namespace) -> int:
    from vendorer.app.building import lock_app

    out = Output(verbose=args.verbose)
    project = project_of(args, out, indexes=index_choices(args))
    request = _lock_request(
        args,
        force=args.force,
        dry_run=args.dry_run,
        export=args.export is not None,
        export_to=args.output,
    )
    run = lock_app(project, request, out)
    if run.export is not None:
        if args.output:
            out.wrote(args.output)
        else:
            sys.stdout.write(run.export)
    return 0


def _wheelhouse(args: argparse.Namespace) -> int:
    from vendorer.app.building import fill_wheelhouse

    out = Output(verbose=args.verbose)
    project = project_of(args, out, indexes=index_choices(args), wheelhouse=args.wheelhouse)
    result = fill_wheelhouse(project, _wheelhouse_request(args), out)
    return 0 if result.complete else 1


def _build(args: argparse.Namespace) -> int:
    from vendorer._util.answers import keep
    from vendorer.app.building import BuildRequest, VendorRequest, build_app, build_reads

    out = Output(verbose=args.verbose)
    project = project_of(
        args,
        out,
        indexes=index_choices(args),
        lib_dir=args.lib_dir,
        wheelhouse=args.wheelhouse,
    )
    request = BuildRequest(
        wheelhouse=_wheelhouse_request(args),
        vendor=VendorRequest(slim=args.slim, dry_run=args.dry_run),
    )
    run = build_app(project, request, out)
    if run.vendored is None:  # native sdists left: said with their routes
        return 1
    _print_vendored(out, project.app, run.vendored)
    if run.did_nothing and not out.notices:  # a notice may not hold next time
        keep(args.arguments, lambda: build_reads(project), out.transcript)
    return 0


def _vendor(args: argparse.Namespace) -> int:
    from vendorer.app.building import VendorRequest, vendor_app

    out = Output()
    project = project_of(args, out, lib_dir=args.lib_dir, wheelhouse=args.wheelhouse)
    request = VendorRequest(slim=args.slim, dry_run=args.dry_run)
    _print_vendored(out, project.app, vendor_app(project, request, out))
    return 0


def _print_vendored(out: Output, app: Path, run: VendorRun) -> None:
    report, lib_dir = run.report, run.lib_dir
    prefix = "would " if run.dry_run else ""
    for path in report.leftovers:
        left = path.relative_to(app.resolve()).as_posix()
        out.say(f"  {prefix}remove {left} (an interrupted run left it)")
    for line in report.installed:
        out.say(f"  {prefix}install {line}")
    for line in report.removed:
        out.say(f"  {prefix}remove {line}")
    if report.changed:
        verb = "would change" if run.dry_run else "vendored into"
        out.say(f"{verb} {lib_dir}: {run.distributions} distributions")
    else:
        out.say(f"up to date: {lib_dir} ({run.distributions} distributions)")
    if report.foreign:
        out.say(f"left alone (not vendorer's): {', '.join(report.foreign)}")
    if report.pth_files:
        out.say(
            f"note: {', '.join(report.pth_files)} will not run on the server: .pth files work "
            f"only in site-packages, and {lib_dir} is a plain path entry; check that those "
            "packages import without them"
        )
    for line in run.core_tools:
        out.say(line)
    if run.never_loaded is not None:
        out.say(f"on the server, {run.never_loaded}: vendor there (leave out --lib-dir)")
    elif run.pythonpath is None:
        out.say(f"on the server, {lib_dir} is on sys.path by itself, while:")
        for condition in run.loaded_while:
            out.say(f"  - {condition}")
    else:
        out.say(f"on the server, PYTHONPATH must include {run.pythonpath}")
