"""Kudu deployments as the stand-in runs them: records, logs, the wwwroot sync and the build.

Sources (Azure-App-Service/KuduLite @3854066 unless named; see notes/azure-deploy-research.md):
- the record is `DeployResult.cs` (snake_case JSON, enums as integers); statuses
  `DeployStatus.cs` 0 Pending, 1 Building, 2 Deploying, 3 Failed, 4 Success (Flex adds -1
  Cancelled, 5 Conflict, 6 PartialSuccess, Core Tools `Common/DeployStatus.cs`);
- a deployment starts as a temporary record `temp-` + 8 hex, status 0, "Receiving changes."
  (`DeploymentManager.cs:334-372,518-530`), becomes a real id once fetched and shows 1 with
  "Building and Deploying '<id>'." (`:610-617`), and ends complete with status 4 or 3 and an
  empty status_text (`DeploymentStatusFileExtensions.cs`);
- the log is `[{log_time, id, message, type, details_url}]`, type 0 Message, 1 Warning, 2 Error;
  `details_url` is set only for entries with details and answers the same shape
  (`DeploymentController.cs:426-475`);
- the copy into wwwroot is kudusync (projectkudu/KuduSync `lib/FileUtils.ts`): a file or folder
  the source lacks is deleted only when the previous deployment's manifest lists it, or when the
  manifest is ignored (`-x`), which is what a clean OneDeploy does (`DeploymentManager.cs:692`
  `IgnoreManifest = CleanupTargetDirectory`); `.git`, `.hg`, `.deployment` and `deploy.sh` are
  never touched (the `-i` list of the generated deploy script). The first deployment's previous
  manifest lists only `hostingstart.html` (`:703-715`). OneDeploy keeps the previous manifest as
  the next one (`OneDeployBuilder.cs:30-36`), so it does not disturb zipdeploy's bookkeeping;
- every push deploy first deletes `wwwroot/oryx-manifest.toml` (`PushDeploymentController.cs:527`);
- with `WEBSITE_RUN_FROM_PACKAGE=1` a zipdeploy stores the zip in `data/SitePackages/<UTC
  yyyyMMddHHmmss>.zip` and names it in `packagename.txt`; wwwroot is untouched
  (`ZipPushDeploy`, `WriteSitePackageZip`);
- a build runs when the app setting `SCM_DO_BUILD_DURING_DEPLOYMENT` is true-like ("1" or
  "true", any case, `StringUtils.IsTrueLike`); push deploys default it to false
  (`DeploymentManager.cs:623`). The Oryx build for App Service Python uses the virtualenv
  `antenv` (`AppServiceOryxArguments.cs`) and leaves `oryx-manifest.toml`; for a Functions app
  (`FUNCTIONS_EXTENSION_VERSION` set, `FunctionAppHelper.LooksLikeFunctionApp`) it first deletes
  `.python_packages` and installs into `.python_packages/lib/site-packages`
  (`OryxBuilder.cs` `PreOryxBuild`, `FunctionAppOryxArguments.cs:116-125`). OneDeploy building
  under that setting is production behaviour (az cli's warning), not in the public source.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import tempfile
import threading
import uuid
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

CANCELLED, PENDING, BUILDING, DEPLOYING, FAILED, SUCCESS = -1, 0, 1, 2, 3, 4
CONFLICT, PARTIAL_SUCCESS = 5, 6
MESSAGE, WARNING, ERROR = 0, 1, 2

KUDUSYNC_IGNORED = frozenset({".git", ".hg", ".deployment", "deploy.sh"})
FIRST_DEPLOYMENT_MANIFEST = frozenset({"hostingstart.html"})
IN_PROGRESS = "There is a deployment currently in progress. Please try again when it completes."
RUN_FROM_REMOTE_ZIP = (
    "Run-From-Zip is set to a remote URL using WEBSITE_RUN_FROM_PACKAGE or WEBSITE_USE_ZIP app "
    "setting. Deployment is not supported in this configuration."
)
TIMEOUT_PAGE = (
    b"<h2>500 - The request timed out.</h2><h3>The web server failed to respond within the "
    b"specified time.</h3>"
)


def now() -> datetime:
    return datetime.now(UTC)


def stamp(when: datetime | None) -> str | None:
    """Newtonsoft's ISO 8601 in UTC with a Z."""
    return None if when is None else when.isoformat().replace("+00:00", "Z")


def true_like(value: str | None) -> bool:
    """KuduLite `StringUtils.IsTrueLike`: "1" or "true" in any case."""
    return value is not None and (value == "1" or value.lower() == "true")


@dataclass
class LogEntry:
    message: str
    type: int = MESSAGE
    details: list[LogEntry] = field(default_factory=list)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_time: datetime = field(default_factory=now)

    def to_json(self, log_url: str) -> dict[str, Any]:
        details = f"{log_url}/{self.id}" if self.details else None
        return {
            "log_time": stamp(self.log_time),
            "id": self.id,
            "message": self.message,
            "type": self.type,
            "details_url": details,
        }


@dataclass
class Deployment:
    """One deployment as Kudu keeps it; `to_json` is the DeployResult the API returns."""

    id: str
    deployer: str
    message: str
    query: dict[str, str]
    received_time: datetime = field(default_factory=now)
    status: int = PENDING
    status_text: str = "Receiving changes."
    start_time: datetime | None = None
    end_time: datetime | None = None
    last_success_end_time: datetime | None = None
    complete: bool = False
    is_temp: bool = True
    progress: str = ""
    author: str = "N/A"
    author_email: str = "N/A"
    log: list[LogEntry] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # the zip's member names
    manifest: frozenset[str] = frozenset()  # what kudusync wrote (the next manifest)
    built: bool = False  # an Oryx build ran
    restarted: bool = False
    remote_build: bool = False  # Flex: RemoteBuild=true was asked
    done: threading.Event = field(default_factory=threading.Event)

    def add_log(self, message: str, kind: int = MESSAGE, details: Sequence[str] = ()) -> LogEntry:
        entry = LogEntry(message, kind, [LogEntry(line, kind) for line in details])
        self.log.append(entry)
        return entry

    def finish(self, status: int) -> None:
        self.status, self.status_text, self.progress = status, "", ""
        self.complete, self.end_time = True, now()
        if status == SUCCESS:
            self.last_success_end_time = self.end_time

    def to_json(self, base: str, *, active: bool, status: int | None = None) -> dict[str, Any]:
        url = f"{base}/api/deployments/{self.id}"
        return {
            "id": self.id,
            "status": self.status if status is None else status,
            "status_text": self.status_text,
            "author_email": self.author_email,
            "author": self.author,
            "deployer": self.deployer,
            "message": self.message,
            "progress": self.progress,
            "received_time": stamp(self.received_time),
            "start_time": stamp(self.start_time or self.received_time),
            "end_time": stamp(self.end_time),
            "last_success_end_time": stamp(self.last_success_end_time),
            "complete": self.complete,
            "active": active,
            "is_temp": self.is_temp,
            "is_readonly": False,
            "url": url,
            "log_url": f"{url}/log",
            "site_name": "standin",
        }

    def find_log(self, log_id: str) -> LogEntry | None:
        return next((entry for entry in self.log if entry.id == log_id), None)


class DeploymentFailed(Exception):
    """A deployment step failed: `message` goes in the log as an error, `details` under it."""

    def __init__(self, message: str, details: list[str]) -> None:
        super().__init__(message)
        self.message, self.details = message, details


def temporary_id() -> str:
    return "temp-" + uuid.uuid4().hex[:8]


def read_zip(body: bytes) -> dict[str, bytes]:
    """The zip's files by relative POSIX path; DeploymentFailed for a bad or escaping zip."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(body))
        infos = archive.infolist()
    except zipfile.BadZipFile as error:
        raise DeploymentFailed("Fetching changes failed.", [f"Invalid zip file: {error}"]) from None
    files: dict[str, bytes] = {}
    for info in infos:
        path = PurePosixPath(info.filename)
        if path.is_absolute() or ".." in path.parts:
            raise DeploymentFailed("Fetching changes failed.", [f"Bad entry {info.filename}"])
        if not info.is_dir():
            files[path.as_posix()] = archive.read(info)
    return files


def stage(files: dict[str, bytes], folder: Path) -> None:
    for name, data in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


@contextlib.contextmanager
def staged(files: dict[str, bytes]) -> Iterator[Path]:
    """The zip extracted to a folder outside HOME (Kudu's /tmp/zipdeploy/extracted)."""
    folder = Path(tempfile.mkdtemp(prefix="zipdeploy-"))
    try:
        stage(files, folder)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def kudusync(source: Path, target: Path, previous: frozenset[str] | None) -> frozenset[str]:
    """Sync `source` into `target` as kudusync does; `previous` None ignores the manifest (-x).

    Returns the next manifest: every file and folder of the source, relative POSIX paths.
    """
    target.mkdir(parents=True, exist_ok=True)
    written: set[str] = set()
    _sync_folder(source, target, "", previous, written)
    return frozenset(written)


def _listed(previous: frozenset[str] | None, relative: str) -> bool:
    return previous is None or relative in previous


def _sync_folder(
    source: Path, target: Path, prefix: str, previous: frozenset[str] | None, written: set[str]
) -> None:
    sources = {child.name: child for child in source.iterdir()}
    for child in sorted(target.iterdir()):
        relative = prefix + child.name
        if child.name in KUDUSYNC_IGNORED or child.name in sources:
            continue
        if child.is_dir() and not child.is_symlink():
            _delete_folder(child, relative, previous)
        elif _listed(previous, relative):
            child.unlink()
    for name, child in sorted(sources.items()):
        if name in KUDUSYNC_IGNORED:
            continue
        relative = prefix + name
        written.add(relative)
        destination = target / name
        if child.is_dir():
            if destination.exists() and not destination.is_dir():
                destination.unlink()
            destination.mkdir(exist_ok=True)
            _sync_folder(child, destination, relative + "/", previous, written)
        else:
            if destination.is_dir():
                shutil.rmtree(destination)
            shutil.copyfile(child, destination)


def _delete_folder(folder: Path, relative: str, previous: frozenset[str] | None) -> None:
    """kudusync `deleteDirectoryRecursive`: what the manifest lists, then the folder if empty."""
    if folder.name in KUDUSYNC_IGNORED or not _listed(previous, relative):
        return
    for child in sorted(folder.iterdir()):
        inner = f"{relative}/{child.name}"
        if child.is_dir() and not child.is_symlink():
            _delete_folder(child, inner, previous)
        elif child.name not in KUDUSYNC_IGNORED and _listed(previous, inner):
            child.unlink()
    if not any(folder.iterdir()):
        folder.rmdir()


def copy_over(source: Path, target: Path) -> None:
    """OneDeploy with clean=false: `CopyDirectoryRecursive`, nothing deleted."""
    shutil.copytree(source, target, dirs_exist_ok=True)


def oryx_build(wwwroot: Path, python: str, log: Deployment, *, functions: bool) -> None:
    """What an Oryx build leaves in wwwroot: a virtualenv (or, for Functions, a fresh
    `.python_packages`) and `oryx-manifest.toml` (see the module docstring)."""
    requirements = wwwroot / "requirements.txt"
    wanted = requirements.read_text(errors="replace").split() if requirements.is_file() else []
    if functions:
        shutil.rmtree(wwwroot / ".python_packages", ignore_errors=True)
        packages = wwwroot / ".python_packages/lib/site-packages"
        argument = "-p packagedir=.python_packages/lib/site-packages"
    else:
        packages = wwwroot / f"antenv/lib/python{python}/site-packages"
        argument = "-p virtualenv_name=antenv"
        (wwwroot / "antenv").mkdir(exist_ok=True)
        (wwwroot / "antenv/pyvenv.cfg").write_text(f"home = /opt/python/{python}/bin\n")
    packages.mkdir(parents=True, exist_ok=True)
    (packages / "ORYX_INSTALLED.txt").write_text("".join(f"{line}\n" for line in wanted))
    manifest = (
        f'PythonVersion = "{python}"\nplatform_name = "python"\nFrameworks = "python"\n'
        f'virtualEnvName = "{"" if functions else "antenv"}"\n'
    )
    (wwwroot / "oryx-manifest.toml").write_text(manifest)
    log.built = True
    command = (
        f"Command: oryx build /tmp/zipdeploy/extracted -o /home/site/wwwroot --platform python "
        f"--platform-version {python} {argument} --log-file /tmp/build-debug.log"
    )
    pip = f"Running pip install -r requirements.txt ({len(wanted)} lines)"
    log.add_log("Running oryx build...", MESSAGE, [command, "Operation performed by Oryx", pip])


def sleep_unless(event: threading.Event, seconds: float) -> None:
    if seconds > 0:
        event.wait(seconds)


@dataclass(frozen=True)
class Reply:
    """An HTTP answer the handler sends as is."""

    status: int
    body: bytes = b""
    kind: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_string(text: str) -> bytes:
    """KuduLite's error bodies: a bare JSON string."""
    return json.dumps(text).encode()


def json_reply(status: int, data: object, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(data).encode(), "application/json", headers or {})
