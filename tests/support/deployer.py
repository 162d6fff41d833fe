"""The deployment endpoints of the Kudu stand-in: OneDeploy, zipdeploy and /api/deployments.

Sources: KuduLite `PushDeploymentController.cs` (`OneDeploy` :234-436, `ZipPushDeploy` :59-110,
`PushDeployAsync` :520-660), `FetchDeploymentManager.cs` (`FetchDeploy` :77-160),
`DeploymentController.cs` (`GetResult` :483-560, logs :426-475); Windows Kudu for zipdeploy's
`Retry-After` (`ScmHostingConfigurations.ArmRetryAfterSeconds`, default 30). What each answers:

- `POST|PUT /api/publish` (and `/publish`): `type` is required (400 `type='' not recognized`; only
  `zip` is implemented here, other known types are 400 too), `async` (202, an empty body and
  `Location: <base>/api/deployments/latest?deployer=OneDeploy&time=...`, no `Retry-After`; else
  it runs inside the request: 200), `clean` (default true for zip: wwwroot made to hold exactly
  the zip's files, kudusync's ignored names aside), `restart` (default true), `path` (extract
  under `wwwroot/<path>`; the public source then syncs the whole staging folder into wwwroot, so
  a clean deploy with a path also deletes what lies beside `<path>`: `LocalZipFetch` extracts to
  `<staging>/<path>`, `GetOutputPath` returns wwwroot). `isAsync` means nothing to OneDeploy.
- `POST /api/zipdeploy`: `isAsync` (202 + `Location` `...deployer=Push-Deployer...` +
  `Retry-After`), `deployer`, `message`; a manifest-based sync (see deployments.py).
- Both: 409 with the in-progress message while a deployment runs, 409 when
  `WEBSITE_RUN_FROM_PACKAGE` starts with http. A synchronous request whose deployment failed in
  the build still answers 200 in KuduLite (`DeploymentManager.Build` marks the status and
  returns): `KuduServer.failed_sync_status` changes that; a zip that cannot be read is an
  exception, 500.
- `GET /api/deployments[/latest|/{id}[/log[/{logId}]]]` (also without `/api`): `latest` while a
  deployment is pending is 202 with the record, status forced to 0 and `Location` = the request
  URL; `{id}` is 200, its status shown as 0 while any deployment holds the lock; 404 with a JSON
  string for an unknown id.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.deployments import (
    BUILDING,
    DEPLOYING,
    FAILED,
    FIRST_DEPLOYMENT_MANIFEST,
    IN_PROGRESS,
    PENDING,
    RUN_FROM_REMOTE_ZIP,
    SUCCESS,
    TIMEOUT_PAGE,
    Deployment,
    DeploymentFailed,
    Reply,
    copy_over,
    json_reply,
    json_string,
    kudusync,
    now,
    oryx_build,
    read_zip,
    sleep_unless,
    stage,
    staged,
    temporary_id,
    true_like,
)

if TYPE_CHECKING:
    from tests.support.kudu import KuduServer

ARTIFACT_TYPES = ("war", "jar", "ear", "lib", "startup", "script", "static", "zip")


def flag(query: dict[str, str], name: str, default: bool) -> bool:
    """ASP.NET's bool binding: "true"/"false" in any case; anything else keeps the default."""
    value = query.get(name.lower(), "").lower()
    return {"true": True, "false": False}.get(value, default)


@dataclass(frozen=True)
class Job:
    """What a deploy request asked for."""

    route: str  # "onedeploy" | "zipdeploy" | "flex"
    deployer: str
    message: str
    body: bytes
    query: dict[str, str]
    clean: bool = False
    restart: bool = True
    path: str = ""
    remote_build: bool = False


class Deployer:
    """Runs deployments for one KuduServer; `records` newest first, `active` the live one."""

    def __init__(self, kudu: KuduServer) -> None:
        self.kudu = kudu
        self.records: list[Deployment] = []
        self.active: Deployment | None = None
        self.manifest: frozenset[str] | None = None  # the active deployment's kudusync manifest
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    # -- requests -------------------------------------------------------------------------

    def publish(self, query: dict[str, str], body: bytes) -> Reply:
        kind = query.get("type")
        if kind is None or kind.lower() not in ARTIFACT_TYPES:
            return Reply(400, json_string(f"type='{kind or ''}' not recognized"))
        if kind.lower() != "zip":
            return Reply(400, json_string(f"Artifact type '{kind}' is not in this stand-in"))
        path = query.get("path", "").strip("/")
        if ".." in Path(path).parts:
            return Reply(400, json_string(f"path='{path}' is invalid"))
        job = Job(
            "onedeploy",
            "OneDeploy",
            "OneDeploy",
            body,
            query,
            clean=flag(query, "clean", True),
            restart=flag(query, "restart", True),
            path=path,
        )
        return self.start(job, flag(query, "async", False))

    def zipdeploy(self, query: dict[str, str], body: bytes) -> Reply:
        deployer = query.get("deployer", "Push-Deployer")
        message = query.get("message", "Created via a push deployment")
        job = Job("zipdeploy", deployer, message, body, query)
        return self.start(job, flag(query, "isasync", False))

    def start(self, job: Job, asynchronous: bool) -> Reply:
        settings = self.kudu.settings
        package = settings.get("WEBSITE_RUN_FROM_PACKAGE") or settings.get("WEBSITE_USE_ZIP")
        if package and package.lower().startswith("http"):
            return Reply(409, json_string(RUN_FROM_REMOTE_ZIP))
        if not self.lock.acquire(blocking=False):
            return Reply(409, json_string(IN_PROGRESS))
        record = Deployment(temporary_id(), job.deployer, job.message, dict(job.query))
        self.records.insert(0, record)
        threading.Thread(target=self.run, args=(record, job), daemon=True).start()
        if asynchronous:
            return Reply(202, b"", "text/plain", self.accepted_headers(job))
        return self.wait_in_request(record)

    def accepted_headers(self, job: Job) -> dict[str, str]:
        when = now().strftime("%Y-%m-%d_%H-%M-%SZ")
        location = f"{self.kudu.url}/api/deployments/latest?deployer={job.deployer}&time={when}"
        if job.route == "zipdeploy":
            return {"Location": location, "Retry-After": str(self.kudu.retry_after)}
        return {"Location": location}

    def wait_in_request(self, record: Deployment) -> Reply:
        """A synchronous deploy, behind the front end's request limit when one is set."""
        if not record.done.wait(self.kudu.front_end_limit):
            return Reply(500, TIMEOUT_PAGE, "text/html")
        if record.status == FAILED and record.is_temp:  # it never got past fetching the zip
            return Reply(500, json_string("Deployment failed: the zip could not be read"))
        if record.status == FAILED:
            return Reply(self.kudu.failed_sync_status, b"", "text/plain")
        return Reply(200, b"", "text/plain")

    # -- the deployment itself ------------------------------------------------------------

    def run(self, record: Deployment, job: Job) -> None:
        try:
            files = self.fetch(record, job)
            record.id, record.is_temp = uuid.uuid4().hex, False
            record.status, record.start_time = BUILDING, now()
            record.status_text = f"Building and Deploying '{record.id}'."
            record.add_log(f"Preparing deployment for commit id '{record.id[:10]}'.")
            self.deliver(record, job, files)
            self.finish(record, job)
        except DeploymentFailed as failure:
            record.add_log(failure.message, 2, failure.details)
            record.finish(FAILED)
        finally:
            self.lock.release()
            record.done.set()

    def fetch(self, record: Deployment, job: Job) -> dict[str, bytes]:
        size = f"{len(job.body) / (1024 * 1024):.2f}"
        record.add_log(
            "Fetching changes.",
            0,
            [
                "Cleaning up temp folders from previous zip deployments and extracting pushed zip "
                f"file /tmp/zipdeploy/{record.id}.zip ({size} MB) to /tmp/zipdeploy/extracted"
            ],
        )
        files = read_zip(job.body)
        record.files = sorted(files)
        return files

    def deliver(self, record: Deployment, job: Job, files: dict[str, bytes]) -> None:
        kudu, wwwroot = self.kudu, self.kudu.wwwroot
        previous = self.manifest if self.active is not None else FIRST_DEPLOYMENT_MANIFEST
        if job.route == "zipdeploy" and kudu.settings.get("WEBSITE_RUN_FROM_PACKAGE") == "1":
            self.store_package(record, job.body)
            record.manifest = previous or frozenset()
            return
        (wwwroot / "oryx-manifest.toml").unlink(missing_ok=True)
        if job.path:  # extracted under <path> in the staging folder, which syncs to wwwroot
            files = {f"{job.path}/{name}": data for name, data in files.items()}
        with staged(files) as source:
            if job.route == "onedeploy":
                record.add_log("Running build. Project type: OneDeploy")
                if job.clean:
                    record.add_log("Clean deploying to /home/site/wwwroot")
                    kudusync(source, wwwroot, None)
                else:
                    record.add_log("Incrementally deploying to /home/site/wwwroot")
                    copy_over(source, wwwroot)
                record.manifest = previous or frozenset()
            else:
                record.add_log("Running kudusync with the previous deployment's manifest")
                record.manifest = kudusync(source, wwwroot, previous)
        if true_like(kudu.settings.get("SCM_DO_BUILD_DURING_DEPLOYMENT")):
            functions = bool(kudu.settings.get("FUNCTIONS_EXTENSION_VERSION"))
            oryx_build(wwwroot, kudu.python_version, record, functions=functions)

    def store_package(self, record: Deployment, body: bytes) -> None:
        name = now().strftime("%Y%m%d%H%M%S") + ".zip"
        packages = self.kudu.home / "data/SitePackages"
        packages.mkdir(parents=True, exist_ok=True)
        (packages / name).write_bytes(body)
        (packages / "packagename.txt").write_text(name)
        record.add_log(f"ZipDeploy. Run from package: {name}")

    def finish(self, record: Deployment, job: Job) -> None:
        """The slow part, the failure switches, the restart and the success."""
        kudu = self.kudu
        sleep_unless(self.stopping, kudu.build_seconds)
        while kudu.deploy_hangs and not self.stopping.is_set():
            self.stopping.wait(0.05)
        if kudu.deploy_failure is not None:
            raise DeploymentFailed(kudu.deploy_failure, list(kudu.deploy_failure_details))
        if job.restart:
            record.add_log("Triggering recycle (preview mode disabled).")
            record.restarted = True
            kudu.restart_site()
        record.add_log(f"Deployment successful. deployer = {record.deployer}")
        record.finish(SUCCESS)
        self.active, self.manifest = record, record.manifest

    # -- GET /api/deployments ...  ------------------------------------------------------

    def find(self, deployment_id: str) -> Deployment | None:
        return next((record for record in self.records if record.id == deployment_id), None)

    def pending(self) -> Deployment | None:
        return next((r for r in self.records if r.status not in (SUCCESS, FAILED)), None)

    def latest(self) -> Deployment | None:
        """The pending deployment, else the one that ended last."""
        ended = [record for record in self.records if record.end_time is not None]
        pending = self.pending()
        return pending or (max(ended, key=lambda r: r.end_time or now()) if ended else None)

    def show(self, record: Deployment, status: int | None = None) -> dict[str, object]:
        return record.to_json(self.kudu.url, active=record is self.active, status=status)

    def get(self, parts: list[str], request_url: str) -> Reply:
        if not parts:
            return json_reply(200, [self.show(record) for record in self.records])
        if parts[0] == "latest" and (pending := self.pending()) is not None:
            return json_reply(202, self.show(pending, PENDING), {"Location": request_url})
        record = self.latest() if parts[0] == "latest" else self.find(parts[0])
        if record is None:
            return Reply(404, json_string(f"Deployment '{parts[0]}' not found."))
        if len(parts) == 1:
            return json_reply(200, self.show(record, PENDING if self.lock.locked() else None))
        return self.logs(record, parts[1:])

    def logs(self, record: Deployment, parts: list[str]) -> Reply:
        log_url = f"{self.kudu.url}/api/deployments/{record.id}/log"
        if parts == ["log"]:
            return json_reply(200, [entry.to_json(log_url) for entry in record.log])
        entry = record.find_log(parts[1]) if len(parts) == 2 and parts[0] == "log" else None
        if entry is None or not entry.details:
            missing = f"LogId '{parts[-1]}' was not found in Deployment '{record.id}'."
            return Reply(404, json_string(missing))
        return json_reply(200, [detail.to_json(log_url) for detail in entry.details])


class FlexDeployer(Deployer):
    """Flex Consumption's deployment service behind the SCM host (not KuduLite).

    Sources: azd `funcapp_host_client.go` (`Publish`, `waitForDeployment`), Core Tools
    `PublishFunctionAppAction.cs:951-962` and `KuduLiteDeploymentHelpers.cs:51-144`, az cli
    `custom.py:894-935,11375-11420`. `POST /api/publish` needs no `type`; it answers 202 whose body
    is the deployment id as a JSON string; `RemoteBuild=true` asks for a build (Oryx, which
    deletes `.python_packages`). `GET /api/deployments/{id}` is 200 whether running or done, after
    `KuduServer.early_404s` answers of 404 for a new id; statuses run 0 -> 1 (remote build only)
    -> 2 -> `KuduServer.flex_final_status` (4, or -1/3/5/6). The package then is the app: wwwroot
    holds exactly the zip (run from package). A site with `WEBSITE_RUN_FROM_PACKAGE` is refused
    (400; Core Tools refuses before sending, `:419-424`; the service's own answer is not in any
    source read, so the status is this stand-in's choice).
    """

    def __init__(self, kudu: KuduServer) -> None:
        super().__init__(kudu)
        self.unseen: dict[str, int] = {}  # deployment id -> 404s still to answer

    def publish(self, query: dict[str, str], body: bytes) -> Reply:
        if "WEBSITE_RUN_FROM_PACKAGE" in self.kudu.settings:
            refused = "WEBSITE_RUN_FROM_PACKAGE is not supported on Flex Consumption: remove it."
            return Reply(400, json_string(refused))
        if not self.lock.acquire(blocking=False):
            return Reply(409, json_string(IN_PROGRESS))
        job = Job(
            "flex",
            query.get("deployer", "OneDeploy"),
            "Flex deployment",
            body,
            query,
            remote_build=flag(query, "remotebuild", False),
        )
        record = Deployment(str(uuid.uuid4()), job.deployer, job.message, dict(query))
        record.is_temp, record.remote_build, record.status_text = False, job.remote_build, ""
        self.records.insert(0, record)
        self.unseen[record.id] = self.kudu.early_404s
        threading.Thread(target=self.run, args=(record, job), daemon=True).start()
        return json_reply(202, record.id)

    def zipdeploy(self, query: dict[str, str], body: bytes) -> Reply:
        return Reply(404, json_string("zipdeploy is not available on Flex Consumption"))

    def run(self, record: Deployment, job: Job) -> None:
        kudu = self.kudu
        try:
            files = self.fetch(record, job)
            record.start_time = now()
            if job.remote_build:
                record.status = BUILDING
                sleep_unless(self.stopping, kudu.build_seconds)
            record.status = DEPLOYING
            shutil.rmtree(kudu.wwwroot, ignore_errors=True)  # run from package: the app is the zip
            stage(files, kudu.wwwroot)
            if job.remote_build:
                oryx_build(kudu.wwwroot, kudu.python_version, record, functions=True)
            self.flex_finish(record)
        except DeploymentFailed as failure:
            record.add_log(failure.message, 2, failure.details)
            record.finish(FAILED)
        finally:
            self.lock.release()
            record.done.set()

    def flex_finish(self, record: Deployment) -> None:
        kudu = self.kudu
        sleep_unless(self.stopping, kudu.build_seconds)
        while kudu.deploy_hangs and not self.stopping.is_set():
            self.stopping.wait(0.05)
        if kudu.deploy_failure is not None:
            raise DeploymentFailed(kudu.deploy_failure, list(kudu.deploy_failure_details))
        status = kudu.flex_final_status
        if status == SUCCESS:
            record.restarted = True
            kudu.restart_site()
            self.active = record
        record.add_log(f"Deployment finished with status {status}")
        record.finish(status)

    def pending(self) -> Deployment | None:
        return next((record for record in self.records if not record.complete), None)

    def show(self, record: Deployment, status: int | None = None) -> dict[str, object]:
        shown = super().show(record, status)
        errors = [entry.message for entry in record.log if entry.type == 2]
        shown.update(
            remoteBuild=record.remote_build, build_summary={"errors": errors, "warnings": []}
        )
        return shown

    def get(self, parts: list[str], request_url: str) -> Reply:
        if not parts:
            return json_reply(200, [self.show(record) for record in self.records])
        record = self.records[0] if parts[0] == "latest" and self.records else self.find(parts[0])
        if record is not None and self.unseen.get(record.id, 0) > 0 and parts[0] != "latest":
            self.unseen[record.id] -= 1
            record = None
        if record is None:
            return Reply(404, json_string(f"Deployment '{parts[0]}' not found."))
        if len(parts) == 1:
            return json_reply(200, self.show(record))
        return self.logs(record, parts[1:])
