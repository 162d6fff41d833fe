"""The profile steps: every profile of the catalog, and a profile captured from a real server.

A captured profile comes from the capture script's JSON output, read from a file or got by running
the script on the site through Kudu; it is validated and written to the app's `profiles/`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from vendorer._util.tomlfile import decode_text, kind_of, parse_json, read_input
from vendorer.app.files import write_user_file
from vendorer.app.project import load_profile
from vendorer.deploy.kudu_linux import refuse_capture_through_kudu
from vendorer.errors import ConfigError, UsageError
from vendorer.report import Reporter
from vendorer.target.capture import capture_script, profile_from_capture
from vendorer.target.catalog import CatalogEntry, ProfileCatalog
from vendorer.target.profile import Profile, profile_to_dict

__all__ = [
    "CaptureRequest",
    "CapturedProfile",
    "capture_profile",
    "capture_script",
    "list_profiles",
]


def list_profiles(app: Path, reporter: Reporter) -> list[tuple[CatalogEntry, Profile]]:
    """Every profile, built-in and the app's own (which wins over a built-in of its name)."""
    return [
        (entry, load_profile(app, entry.name, reporter)) for entry in ProfileCatalog(app).entries()
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class CaptureRequest:
    app: Path
    name: str  # of the profile to write
    from_file: Path | None = None  # the capture script's output
    publish_profile: Path | None = None  # or: run the script on the site, with these credentials
    python: str | None = None  # the server's python (default: the profile NAME's, or python)
    output: Path | None = None  # default: <app>/profiles/NAME.toml
    force: bool = False  # replace an existing file
    site_root: str | None = None
    lib_dir: str | None = None
    site_extension: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CapturedProfile:
    path: Path
    profile: Profile


def _platform(facts: dict[str, object]) -> str:
    markers = facts.get("markers")
    return str(markers.get("sys_platform", "")) if isinstance(markers, dict) else ""


def capture_profile(request: CaptureRequest, reporter: Reporter) -> CapturedProfile:
    """`vendorer profiles capture --from FILE NAME` (or `--publish-profile FILE NAME`): the exact
    profile of the captured interpreter, written to its file."""
    if request.publish_profile is not None:
        from vendorer.app.server import capture_on_server

        origin = f"the site of {request.publish_profile.name}"
        text = capture_on_server(
            request.app, request.publish_profile, request.name, request.python, reporter
        )
    elif request.from_file is not None:
        origin = str(request.from_file)
        text = decode_text(read_input(request.from_file), origin)  # PowerShell's `>`: UTF-16
    else:
        raise UsageError("profiles capture NAME needs --from FILE (the script's output)")
    facts = parse_json(text, origin=origin, what="the capture script's JSON output")
    if not isinstance(facts, dict):
        raise ConfigError(
            f"{origin}: not the capture script's JSON output, but {kind_of(facts, in_json=True)}"
        )
    if request.publish_profile is not None and _platform(facts) != "win32":
        raise refuse_capture_through_kudu(
            f"the script ran on {_platform(facts) or 'an unknown platform'}: nothing was written"
        )
    profile = profile_from_capture(
        facts,
        request.name,
        origin=origin,
        site_root=request.site_root,
        lib_dir=request.lib_dir,
        site_extension=request.site_extension,
    )
    output = request.output or request.app / "profiles" / f"{request.name}.toml"
    if os.path.lexists(output) and not request.force:
        raise UsageError(f"{output} exists; pass --force to replace it")
    header = f"# vendorer target profile, captured from {origin}\n"
    write_user_file(output, header + tomli_w.dumps(profile_to_dict(profile)))
    return CapturedProfile(path=output, profile=profile)
