"""`vendorer profiles list | show | capture`: the target profiles."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vendorer.app.project import load_profile
from vendorer.cli.options import Commands, OptionGroups
from vendorer.cli.output import Output
from vendorer.errors import UsageError
from vendorer.target.profile import Profile, profile_to_dict

__all__ = ["add_profile_commands"]


def add_profile_commands(commands: Commands, groups: OptionGroups) -> None:
    profiles = commands.add_parser("profiles", help="list, show and capture target profiles")
    profile_commands = profiles.add_subparsers(title="profile commands", metavar="COMMAND")
    listing = profile_commands.add_parser(
        "list", parents=[groups.common], help="a table of every profile: built-in and the app's own"
    )
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(handler=_profiles_list)
    show = profile_commands.add_parser(
        "show", parents=[groups.common], help="everything a profile says, with its derived tags"
    )
    show.add_argument("name", help="a profile name, or a path to a profile file")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_profiles_show)
    _add_capture_command(profile_commands, groups)


def _add_capture_command(profile_commands: Commands, groups: OptionGroups) -> None:
    capture = profile_commands.add_parser(
        "capture",
        parents=[groups.common],
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
        help="run the script on the site through Kudu, with this .PublishSettings (Windows "
        "sites: on Linux, Kudu's console is not in the app's container)",
    )
    capture.add_argument(
        "--python",
        metavar="PATH",
        help="with --publish-profile: the server's python (default: the profile NAME's, if it "
        "is a known profile, else python)",
    )
    capture.set_defaults(handler=_profiles_capture)


def _profiles_list(args: argparse.Namespace) -> int:
    from rich.table import Table

    from vendorer.app.profiles import list_profiles

    out = Output()
    rows = []
    for entry, profile in list_profiles(args.app, out):
        source = entry.source + (" (shadows built-in)" if entry.shadows_builtin else "")
        platform = profile.tags[0].platform  # the most specific: the manylinux level on Linux
        rows.append((profile.name, str(profile.python.version), platform, source))
    if args.json:
        keys = ("name", "python", "platform", "source")
        out.result(json.dumps([dict(zip(keys, row, strict=True)) for row in rows], indent=2))
        return 0
    table = Table("name", "python", "platform", "source", box=None, pad_edge=False)
    for row in rows:
        table.add_row(*row)
    out.out.print(table)
    return 0


def _profile_document(profile: Profile) -> dict[str, object]:
    return {
        **profile_to_dict(profile),
        "tags": [str(tag) for tag in profile.tags],
        "source": profile.source,
    }


def _profiles_show(args: argparse.Namespace) -> int:
    out = Output()
    profile = load_profile(args.app, args.name, out)
    document = _profile_document(profile)
    if args.json:
        out.result(json.dumps(document, indent=2))
        return 0
    console = out.out
    console.print(f"[bold]{profile.name}[/bold]: {profile.description}")
    console.print(f"source: {profile.source}", markup=False)
    for section in ("python", "markers", "server"):
        console.print(f"\n[bold]{section}[/bold]")
        for key, value in document[section].items():  # type: ignore[attr-defined]
            console.print(f"  {key} = {json.dumps(value)}", markup=False)
    console.print(f"\n[bold]tags[/bold] ({len(profile.tags)}, most specific first)")
    for tag in profile.tags:
        console.print(f"  {tag}", markup=False)
    return 0


def _profiles_capture(args: argparse.Namespace) -> int:
    from vendorer.app.profiles import CaptureRequest, capture_profile, capture_script

    if args.from_file is None and args.publish_profile is None:
        if args.name:
            raise UsageError("profiles capture NAME needs --from FILE (the script's output)")
        sys.stdout.write(capture_script())
        return 0
    if not args.name:
        raise UsageError("profiles capture needs the NAME of the profile to write")
    out = Output()
    request = CaptureRequest(
        app=args.app,
        name=args.name,
        from_file=args.from_file,
        publish_profile=args.publish_profile,
        python=args.python,
        output=args.output,
        force=args.force,
        site_root=args.site_root,
        lib_dir=args.lib_dir,
        site_extension=args.site_extension,
    )
    captured = capture_profile(request, out)
    profile = captured.profile
    out.show(
        f"wrote {captured.path}: {profile.python.version}, {len(profile.tags)} tags, "
        f"first {profile.tags[0]}"
    )
    return 0
