"""The steps that talk to the site through Kudu: upload, a console command, the capture script.

The site is named through Azure (`--site`: an Entra ID token for its SCM site, and a restart
through ARM) or by its SCM site alone (a publish profile, or VENDORER_KUDU_URL, _USER and
_PASSWORD: see `app.sites`); nothing is sent before the local state has been checked (unless asked
not to).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from vendorer.app.offline import check_tree
from vendorer.app.project import Project, load_profile
from vendorer.app.sites import SiteChoice, open_kudu, open_scm
from vendorer.check import CheckResult
from vendorer.deploy.kudu import CommandResult, KuduClient, KuduError
from vendorer.deploy.kudu_linux import (
    refuse_capture_through_kudu,
    refuse_pip_through_kudu,
    upload_notes,
)
from vendorer.deploy.restart import ArmRestart, KuduRestart, SiteRestarter
from vendorer.deploy.upload import UploadReport, console_steps, upload_vendored, upload_wheelhouse
from vendorer.errors import UsageError
from vendorer.install.libfolder import lib_folder
from vendorer.report import Reporter
from vendorer.target.capture import capture_script
from vendorer.target.catalog import ProfileCatalog

__all__ = [
    "UploadRequest",
    "UploadRun",
    "capture_on_server",
    "run_on_server",
    "upload_app",
]

if TYPE_CHECKING:
    from vendorer.deploy.azure_arm import ArmSession

CAPTURE_FOLDER = "data/vendorer"  # below HOME, where the capture script is put and run


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadRequest:
    mode: Literal["vendored", "wheelhouse"] = "vendored"
    where: SiteChoice = field(default_factory=SiteChoice)
    check: bool = True  # send nothing if `vendorer check` finds drift
    print_commands: bool = False  # only say what to type in the Kudu console
    restart: bool = False  # restart the site once the lib folder is there (Linux sites)
    restarter: SiteRestarter | None = None  # how (None: through ARM with --site, else Kudu)


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadRun:
    lib_dir: str
    report: UploadReport | None = None  # None: nothing was sent
    console_steps: tuple[str, ...] = ()  # with print_commands
    check: CheckResult | None = None  # the check made before sending, if one was
    refused: bool = False  # the check found drift: nothing was sent
    restarted: str | None = None  # how the site was restarted, when it was
    notes: tuple[str, ...] = ()  # what to know after the upload (Linux sites)


def upload_app(project: Project, request: UploadRequest, reporter: Reporter) -> UploadRun:
    """`vendorer upload`: the lib folder (only the distributions that changed since the server's
    manifest), or the wheelhouse and a remote pip install; the bytes sent are the UPLOAD task
    of `reporter`."""
    profile = project.profile
    lib_dir = project.lib_dir
    vendored = request.mode == "vendored"
    if not vendored:
        refuse_pip_through_kudu(profile)
    if request.restart and (profile.is_windows or not vendored):
        raise UsageError(
            "--restart is for --mode vendored on a Linux site, where the app reads the lib folder "
            "when it starts (on the Windows site extensions, wfastcgi restarts Python when a .py "
            "file changes)"
        )
    if request.print_commands:
        steps = console_steps(profile, request.mode, lib_dir)
        return UploadRun(lib_dir=lib_dir, console_steps=tuple(steps))
    lib = lib_folder(project.app, lib_dir)
    check = check_tree(project, lib if vendored else None, reporter) if request.check else None
    if check is not None and check.drifts:
        return UploadRun(lib_dir=lib_dir, check=check, refused=True)
    restarted = None
    with ExitStack() as stack:
        client, session = open_scm(request.where, stack)
        restarter = request.restarter or _restarter(client, session, project, lib)
        if request.restart:
            restarter.check()  # before anything is sent
        if vendored:
            report = upload_vendored(client, profile, lib, lib_dir, reporter)
        else:
            report = upload_wheelhouse(client, profile, project.wheelhouse, reporter)
        if request.restart:
            restarted = restarter.restart()
    notes = upload_notes(profile, lib_dir, restarted=restarted is not None)
    return UploadRun(
        lib_dir=lib_dir, report=report, check=check, restarted=restarted, notes=tuple(notes)
    )


def _restarter(
    client: KuduClient, session: ArmSession | None, project: Project, lib: Path
) -> SiteRestarter:
    """Through ARM for a site named through Azure, else through Kudu (see deploy.restart)."""
    profile, lib_dir = project.profile, project.lib_dir
    if session is None:
        return KuduRestart(client=client, profile=profile, lib=lib, lib_dir=lib_dir)
    return ArmRestart(client=client, profile=profile, lib=lib, lib_dir=lib_dir, session=session)


def run_on_server(choice: SiteChoice, words: Sequence[str], directory: str) -> CommandResult:
    """`vendorer kudu run`: a console command, run in `directory` (below HOME) on the site."""
    with ExitStack() as stack:
        return open_kudu(choice, stack).command(" ".join(words), directory)


def capture_on_server(
    app: Path, publish_profile: Path, name: str, python: str | None, reporter: Reporter
) -> str:
    """Upload the capture script through Kudu, run it with the server's python (default: the
    profile `name`'s, if it is a known profile, else python), return its JSON."""
    known = {entry.name for entry in ProfileCatalog(app).entries()}
    if name in known and not load_profile(app, name, reporter).is_windows:
        raise refuse_capture_through_kudu(f"{name} is a Linux profile")
    if python is not None and python.startswith("/"):
        raise refuse_capture_through_kudu(f"{python} is a path on Linux")
    if python is None:
        python = load_profile(app, name, reporter).server.python if name in known else "python"
    with ExitStack() as stack:
        client = open_kudu(SiteChoice(publish_profile=publish_profile), stack)
        client.write_file(f"{CAPTURE_FOLDER}/capture.py", capture_script().encode())
        result = client.command(f'"{python}" capture.py', CAPTURE_FOLDER)
    if result.exit_code != 0:
        raise KuduError(
            f"the capture script failed on the server ({result.exit_code}): "
            f"{result.error.strip()[-300:]}"
        )
    return result.output
