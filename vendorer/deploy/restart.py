"""Restarting the app after `vendorer upload --restart` sent its lib folder to a Linux site: Oryx
and the Functions worker read the folder when the container starts.

Kudu has no restart endpoint a client can call. KuduLite restarts the app by POSTing
`/api/app/restart` to App Service's front end with a token only Kudu can sign
(`PostDeploymentHelper.RestartMainSiteAsync`), and its older way, writing
`/home/site/config/restartTrigger.txt` (`DockerContainerRestartTrigger`), is marked deprecated in
its source. What a client can ask for is OneDeploy's `restart` (true by default): a deployment by
OneDeploy ends with that restart (`DeploymentManager.RestartMainSiteIfNeeded`). So the restart
through Kudu is a OneDeploy of the one file vendorer wrote last, the lib folder's manifest, as it
is: `POST /api/publish?type=zip&path=<lib>&clean=false&restart=true` (clean=false: nothing else in
wwwroot is touched), synchronous, and then `GET /api/deployments/latest` for its status (a failed
synchronous OneDeploy still answers 200).

Before anything is sent (`check`), vendorer reads what would make that deployment do harm or no
good, and stops with the reason: an app setting that makes it build
(`SCM_DO_BUILD_DURING_DEPLOYMENT` true-like: the build would install the requirements again and
Oryx pass over the vendored folder), a site that runs from a package (`WEBSITE_RUN_FROM_PACKAGE`:
wwwroot is not what runs), or an Oryx build's `antenv` or `oryx-manifest.toml` in wwwroot (Oryx
then passes over `__oryx_packages__`; and KuduLite deletes `oryx-manifest.toml` at every push
deployment, which breaks an app built with compression).

The other way, for a site named through Azure (`--site`), is Azure Resource Manager (`POST
.../sites/{name}/restart`, `ArmRestart`): no deployment, so a build setting does no harm; what
makes a restart do no good (a run-from-package site, an Oryx build's leftovers) still stops it.
"""

from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol
from urllib.parse import quote

from vendorer.deploy.kudu import CommandOutcomeUnknown, KuduClient, KuduError
from vendorer.deploy.upload import ZIP_TIME, vfs_path
from vendorer.errors import UsageError
from vendorer.install.manifest import MANIFEST
from vendorer.target.layout import ORYX_BUILD_OUTPUTS, ORYX_LIB, server_path
from vendorer.target.profile import Profile

if TYPE_CHECKING:
    from vendorer.deploy.azure_arm import ArmSession

__all__ = ["ArmRestart", "KuduRestart", "SiteRestarter"]

SUCCESS: Final = 4  # KuduLite DeployStatus
FAILED: Final = 3
ELSEWHERE: Final = (
    "restart it from the portal, or with `az webapp restart --name NAME --resource-group RG`"
)


class SiteRestarter(Protocol):
    """Restarts the app: `check` before anything is sent (a UsageError says why not), `restart`
    once the lib folder is there (says how, in a few words)."""

    def check(self) -> None: ...

    def restart(self) -> str: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class KuduRestart:
    """The restart through Kudu: a OneDeploy of the lib folder's manifest with `restart=true`."""

    client: KuduClient
    profile: Profile
    lib: Path  # the local lib folder, whose manifest was just uploaded
    lib_dir: str  # as the app names it

    def check(self) -> None:
        self._check_settings()
        self._check_wwwroot()

    def restart(self) -> str:
        path = quote(self.lib_dir, safe="/")
        answer = self._send(f"publish?type=zip&path={path}&clean=false&restart=true")
        if answer == 409:
            raise KuduError(
                "the site did not restart: another deployment is running on it; wait for it "
                f"(it restarts the site too), or {ELSEWHERE}"
            )
        self._check_outcome()
        return "through Kudu (a OneDeploy of the lib folder's manifest, restart=true)"

    def _check_settings(self, *, deploys: bool = True) -> None:
        settings = self.client.settings()
        build = settings.get("SCM_DO_BUILD_DURING_DEPLOYMENT", "")
        if deploys and (build == "1" or build.lower() == "true"):
            raise UsageError(
                f"not restarting through Kudu: SCM_DO_BUILD_DURING_DEPLOYMENT={build} makes every "
                "deployment build, and a build installs the requirements again and passes over "
                f"{self.lib_dir}. Set it to false (az webapp config appsettings set --settings "
                f"SCM_DO_BUILD_DURING_DEPLOYMENT=false, which restarts the site), or {ELSEWHERE}"
            )
        if settings.get("WEBSITE_RUN_FROM_PACKAGE"):
            raise UsageError(
                "not restarting: the site runs from a package (WEBSITE_RUN_FROM_PACKAGE), so what "
                "was uploaded to wwwroot is not what runs; deploy the whole app with "
                "`vendorer deploy` instead"
            )

    def _check_wwwroot(self) -> None:
        wwwroot = vfs_path(self.profile, server_path(self.profile, ""))
        names = {entry.name for entry in self.client.list_folder(wwwroot) or []}
        found = [name for name in ORYX_BUILD_OUTPUTS if name in names]
        if found and (self.lib_dir == ORYX_LIB or "oryx-manifest.toml" in found):
            raise UsageError(
                f"not restarting: wwwroot holds {' and '.join(found)}, what an Oryx build leaves; "
                f"while it is there Oryx's startup script passes over {self.lib_dir}. Deploy the "
                "whole app with `vendorer deploy` (it replaces them), or remove them (`vendorer "
                f"kudu run -- rm -rf {' '.join(found)}`) and {ELSEWHERE}"
            )

    def _send(self, target: str) -> int:
        with tempfile.TemporaryDirectory(prefix="vendorer-restart-") as work:
            archive = Path(work) / "manifest.zip"
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
                info = zipfile.ZipInfo(MANIFEST, date_time=ZIP_TIME)
                info.external_attr = 0o600 << 16
                zipped.writestr(info, (self.lib / MANIFEST).read_bytes(), zipfile.ZIP_DEFLATED)
            try:
                return self.client.post_package(target, archive).status
            except CommandOutcomeUnknown as lost:
                raise KuduError(
                    f"the restart's deployment was sent and its answer was lost ({lost.reason}); "
                    "it was not sent again. The site may restart all the same: look at it, or "
                    f"{ELSEWHERE}"
                ) from None

    def _check_outcome(self) -> None:
        answer = self.client.get_json("deployments/latest", allow=frozenset({202, 404}))
        data = answer.data if answer.status == 200 else None
        status = data.get("status") if isinstance(data, dict) else None
        if status == FAILED:
            raise KuduError(
                "the restart's deployment failed on the site (see its log in the portal's "
                f"Deployment Center); {ELSEWHERE}"
            )
        if status != SUCCESS:
            raise KuduError(
                "the restart's deployment has not finished: the site restarts when it does; "
                f"look at the site, or {ELSEWHERE}"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class ArmRestart(KuduRestart):
    """The restart through Azure Resource Manager, for a site named through Azure."""

    session: ArmSession

    def check(self) -> None:
        self._check_settings(deploys=False)  # no deployment: a build setting does no harm
        self._check_wwwroot()

    def restart(self) -> str:
        from vendorer.deploy.azure_site import restart_site

        restart_site(self.session)
        return "through Azure Resource Manager"
