"""`vendorer upload`: the vendored lib folder, or the wheelhouse plus a remote pip, through Kudu.

The vendored upload sends only the distributions whose wheel changed since the manifest on the
server, deletes the files of the ones that went away (with the bytecode Python cached for them and
the folders that this left empty), and writes the manifest last: an upload cut off half-way leaves
the old manifest there, so the next run sends the difference again.
"""

from __future__ import annotations

import contextlib
import ntpath
import os
import posixpath
import re
import shutil
import stat
import tempfile
import time
import zipfile
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from vendorer._util.guard import BusyError, exclusive
from vendorer._util.tail import output_tail
from vendorer.deploy.kudu import CommandOutcomeUnknown, KuduClient, KuduError
from vendorer.deploy.kudu_linux import refuse_pip_through_kudu
from vendorer.errors import VendorerError
from vendorer.install.manifest import (
    GITATTRIBUTES,
    MANIFEST,
    Manifest,
    VendoredDistribution,
    parse_manifest,
    read_manifest,
)
from vendorer.report import NULL_REPORTER, Reporter
from vendorer.target.layout import server_path
from vendorer.target.profile import Profile

__all__ = [
    "UploadReport",
    "console_steps",
    "pip_command",
    "upload_vendored",
    "upload_wheelhouse",
    "vfs_path",
]

ZIP_TIME = (2020, 1, 1, 0, 0, 0)
PIP_LOG = "pip-install.log"
WORKSPACE_PREFIX = "vendorer-upload-"
WORKSPACE_LOCK = ".lock"
# A workspace whose lock nobody holds is a killed upload's once it is this old (seconds); younger
# ones may be an upload that has made its folder and not taken its lock yet. One without a lock
# file (an older vendorer's) is left for an hour.
ABANDONED_AFTER = 60.0
UNLOCKED_AFTER = 3600.0
# The bytecode Python caches for `name.py`: `__pycache__/name.<tag>[.opt-N].pyc`.
CACHE_TAIL = re.compile(r"\.[A-Za-z0-9_-]+(\.opt-[0-9]+)?\.pyc")


@dataclass(slots=True)
class UploadReport:
    sent: list[str] = field(default_factory=list)  # "name version"
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_folders: list[str] = field(default_factory=list)  # emptied of ours, holding others' files
    output: str = ""


def vfs_path(profile: Profile, absolute: str) -> str:
    """The Kudu vfs path (relative to HOME, forward slashes) of an absolute server path."""
    normalized = absolute.replace("\\", "/")
    for home in ("D:/home/", "C:/home/", "/home/"):
        if normalized.lower().startswith(home.lower()):
            return normalized[len(home) :]
    raise VendorerError(f"{absolute} is not below the site's HOME; Kudu's vfs cannot reach it")


def upload_vendored(
    client: KuduClient,
    profile: Profile,
    lib: Path,
    lib_dir: str,
    reporter: Reporter = NULL_REPORTER,
) -> UploadReport:
    local = read_manifest(lib)
    if local is None:
        raise VendorerError(f"{lib} has no vendored libraries yet; run `vendorer vendor` first")
    remote_dir = vfs_path(profile, server_path(profile, lib_dir))
    manifest_path = f"{remote_dir}/{MANIFEST}"
    remote = _remote_manifest(client.read_file(manifest_path))
    report = UploadReport()
    local_dists = local.distributions
    remote_dists: Mapping[str, VendoredDistribution] = remote.distributions if remote else {}
    changed = [
        name
        for name, entry in local_dists.items()
        if name not in remote_dists or remote_dists[name].wheel_sha256 != entry.wheel_sha256
    ]
    report.unchanged = [f"{n} {e.version}" for n, e in local_dists.items() if n not in changed]
    if changed:
        files = [GITATTRIBUTES, *(f for name in changed for f in local_dists[name].files)]
        with _zipped(lib, files) as archive:
            client.put_zip(remote_dir, archive, reporter)
        report.sent = [f"{name} {local_dists[name].version}" for name in changed]
    keep = set(local.files())
    gone: set[str] = set()
    for name, entry in remote_dists.items():
        if name in local_dists and local_dists[name].wheel_sha256 == entry.wheel_sha256:
            continue
        gone.update(relative for relative in entry.files if relative not in keep)
        if name not in local_dists:
            report.deleted.append(f"{name} {entry.version}")
    report.kept_folders = _remove(client, remote_dir, gone, keep)
    client.write_file(manifest_path, (lib / MANIFEST).read_bytes())  # last: marks completion
    return report


def _remove(
    client: KuduClient, remote_dir: str, gone: Collection[str], keep: Collection[str]
) -> list[str]:
    """Delete the files in `gone` (relative to `remote_dir`), the bytecode Python cached for them,
    and every folder this leaves empty, deepest first, as vendoring a local folder does. A folder
    that still holds anything else (a file of the user's) stays: Kudu refuses to delete a folder
    that is not empty (409). Without this, an emptied package folder would still import, as a
    namespace package, and break `try: import X / except ImportError`.

    A folder is listed (for the bytecode) only when deleting it failed or when it stays: one
    request per folder where Python never ran. Returns the folders that stay because they hold
    files that are not vendorer's (the deepest ones: their parents stay with them)."""
    by_folder: dict[str, set[str]] = {}
    for relative in gone:
        path = PurePosixPath(relative)
        by_folder.setdefault(str(path.parent), set()).add(path.name)
    kept_folders = {str(parent) for relative in keep for parent in PurePosixPath(relative).parents}
    folders = {str(p) for relative in gone for p in PurePosixPath(relative).parents} - {"."}
    stayed: set[str] = set()
    for folder in sorted(set(by_folder) | folders, key=lambda f: (-len(PurePosixPath(f).parts), f)):
        where = remote_dir if folder == "." else f"{remote_dir}/{folder}"
        names = by_folder.get(folder, set())
        for name in sorted(names):
            client.delete_file(f"{where}/{name}")
        sources = {name.removesuffix(".py") for name in names if name.endswith(".py")}
        if folder == "." or folder in kept_folders:  # stays: only the bytecode goes
            if sources:
                _remove_bytecode(client, where, sources)
        elif not client.delete_folder(where):  # not empty: bytecode, or the user's files
            if sources:
                _remove_bytecode(client, where, sources)
            if not (sources and client.delete_folder(where)):
                stayed.add(folder)
    return sorted(f for f in stayed if not any(g.startswith(f"{f}/") for g in stayed))


def _remove_bytecode(client: KuduClient, folder: str, sources: set[str]) -> None:
    """Delete what Python compiled from the modules `sources` of `folder` (`__pycache__/*.pyc`,
    and Python 2's `.pyc`/`.pyo` beside them), and `__pycache__` itself once that emptied it."""
    entries = client.list_folder(folder) or []
    for entry in entries:
        stem, _, suffix = entry.name.rpartition(".")
        if not entry.folder and stem in sources and suffix in {"pyc", "pyo"}:
            client.delete_file(f"{folder}/{entry.name}")
    if any(entry.folder and entry.name == "__pycache__" for entry in entries):
        cache = f"{folder}/__pycache__"
        for entry in client.list_folder(cache) or []:
            stem = entry.name.split(".", 1)[0]
            if (
                not entry.folder
                and stem in sources
                and CACHE_TAIL.fullmatch(entry.name[len(stem) :])
            ):
                client.delete_file(f"{cache}/{entry.name}")
        client.delete_folder(cache)


def pip_command(profile: Profile, remote_folder: str) -> str:
    """The server-side pip install of an uploaded wheelhouse, with the profile's python."""
    requirements = (ntpath if profile.is_windows else posixpath).join(
        remote_folder, "requirements.txt"
    )
    log = (ntpath if profile.is_windows else posixpath).join(remote_folder, PIP_LOG)
    return (
        f'"{profile.server.python}" -m pip install --no-index --find-links "{remote_folder}" '
        f'-r "{requirements}" --log "{log}"'
    )


def upload_wheelhouse(
    client: KuduClient,
    profile: Profile,
    folder: Path,
    reporter: Reporter = NULL_REPORTER,
) -> UploadReport:
    """Send wheelhouse/<profile>/ to the server and install it there with the profile's pip.

    pip runs once: if the answer is lost (a cut connection, the front end's 230 s limit), the
    install is not sent again and the error says where its log is. Windows site extensions only:
    on Linux, Kudu's console is not in the app's container."""
    refuse_pip_through_kudu(profile)
    if not (folder / "requirements.txt").exists():
        raise VendorerError(f"{folder} has no requirements.txt; run `vendorer wheelhouse` first")
    remote = _remote_wheelhouse(profile)
    home = vfs_path(profile, remote)
    names = sorted(p.name for p in folder.iterdir() if p.suffix == ".whl")
    with _zipped(folder, [*names, "requirements.txt"]) as archive:
        client.put_zip(home, archive, reporter)
    client.delete_file(f"{home}/{PIP_LOG}")  # pip appends: the log then tells of this run only
    try:
        result = client.command(pip_command(profile, remote), home)
    except CommandOutcomeUnknown as error:
        raise KuduError(
            f"pip on the server: {error.reason} after the install was sent; it was not sent "
            "again. It may still be running, or may have finished (App Service's front end ends "
            f"a request after 230 s; the install goes on). {_where_to_look(profile, remote)}. "
            "Once it has finished, `vendorer upload --mode wheelhouse` again installs only what "
            "is missing"
        ) from None
    report = UploadReport(sent=names, output=result.output + result.error)
    if result.exit_code != 0:
        tail = output_tail(report.output)
        raise KuduError(
            f"pip on the server failed (exit code {result.exit_code}):\n{tail}\n"
            f"{_where_to_look(profile, remote)}"
        )
    return report


def _where_to_look(profile: Profile, remote: str) -> str:
    """How to read the remote pip's log: through `vendorer kudu run`, or the Kudu console."""
    show = "type" if profile.is_windows else "cat"
    log = (ntpath if profile.is_windows else posixpath).join(remote, PIP_LOG)
    return (
        f"pip's log is {log}: `vendorer kudu run --dir {vfs_path(profile, remote)} -- "
        f"{show} {PIP_LOG}` shows it (or open it in the Kudu console)"
    )


def console_steps(profile: Profile, mode: str, lib_dir: str) -> list[str]:
    """The same upload done by hand in the Kudu web console, step by step."""
    wheelhouse = _remote_wheelhouse(profile)
    if mode == "vendored":
        steps = [
            f"1. zip the contents of {lib_dir}/ (the manifest and .gitattributes included)",
            "2. open https://<site>.scm.azurewebsites.net/DebugConsole, go to "
            f"{server_path(profile, lib_dir)} and drag the zip onto the folder to extract it",
        ]
        if not profile.is_windows:  # Oryx and the Functions worker read it at start
            steps.append("3. restart the site (the portal's Restart, or `az webapp restart`)")
        return steps
    refuse_pip_through_kudu(profile)
    return [
        f"1. zip the contents of wheelhouse/{profile.name}/",
        "2. open https://<site>.scm.azurewebsites.net/DebugConsole, go to "
        f"{wheelhouse} and drag the zip onto the folder to extract it",
        f"3. in the console there, run: {pip_command(profile, wheelhouse)}",
    ]


def _remote_wheelhouse(profile: Profile) -> str:
    """Where an uploaded wheelhouse lives: beside the site root, in site/wheelhouse/<profile>."""
    path = ntpath if profile.is_windows else posixpath
    return str(path.normpath(server_path(profile, "..", "wheelhouse", profile.name)))


def _remote_manifest(data: bytes | None) -> Manifest | None:
    if data is None:
        return None
    try:
        return parse_manifest(data.decode("utf-8"))
    except ValueError:  # unreadable (UnicodeDecodeError included): send everything
        return None


@contextlib.contextmanager
def _zipped(folder: Path, files: Iterable[str]) -> Iterator[Path]:
    """A deterministic zip of `files` (relative to `folder`), written to a temporary file."""
    with _workspace() as work:
        path = work / "upload.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for relative in sorted(set(files)):
                info = zipfile.ZipInfo(relative, date_time=ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o600 << 16  # what writestr gives
                info.file_size = (folder / relative).stat().st_size  # zip64 when it needs it
                with (folder / relative).open("rb") as source, archive.open(info, "w") as target:
                    shutil.copyfileobj(source, target, 1 << 20)
        yield path


@contextlib.contextmanager
def _workspace() -> Iterator[Path]:
    """A temporary folder of this upload's own, locked while it lives; what killed uploads left
    in the temporary folder is removed first."""
    _sweep_abandoned(Path(tempfile.gettempdir()))
    work = Path(tempfile.mkdtemp(prefix=WORKSPACE_PREFIX))
    try:
        with exclusive(work / WORKSPACE_LOCK, what=str(work), wait_seconds=0):
            yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _sweep_abandoned(root: Path) -> None:
    """Remove the upload workspaces in `root` that no running upload owns: this user's, whose
    lock can be taken (its upload died: a lock goes with its process) and that are not brand new."""
    now = time.time()
    for candidate in root.glob(f"{WORKSPACE_PREFIX}*"):
        try:
            info = candidate.lstat()
        except OSError:
            continue
        mine = not hasattr(os, "getuid") or info.st_uid == os.getuid()
        if not stat.S_ISDIR(info.st_mode) or not mine:
            continue
        age = now - info.st_mtime
        lock = candidate / WORKSPACE_LOCK
        if not lock.exists():
            if age > UNLOCKED_AFTER:
                shutil.rmtree(candidate, ignore_errors=True)
            continue
        if age < ABANDONED_AFTER:
            continue
        with (
            contextlib.suppress(BusyError, OSError),  # busy: a running upload's
            exclusive(lock, what=str(candidate), wait_seconds=0),
        ):
            shutil.rmtree(candidate, ignore_errors=True)
