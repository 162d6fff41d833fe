"""Before a deployment: what on the site would undo it, and what `--fix-settings` does about it.

`preflight(site, package_files, ...)` (pure; its checks are in `preflight_checks`) reads a
`Site` (its plan, app settings, Python version, startup command), the package's file names, and
what Kudu shows of wwwroot (`ServerState`, read by `read_server_state`), and returns `Problem`s,
each naming the setting to change, why, the az CLI command that changes it, and the fix
`--fix-settings` makes (`SettingChange`: an app setting, applied through ARM; `ServerCleanup`: a
leftover in wwwroot, removed through Kudu by `clean_server`), or none where the user must decide
(a Python version, a startup command).

Sources (notes/azure-deploy-research.md): a build runs when SCM_DO_BUILD_DURING_DEPLOYMENT is
true-like ("1" or "true", KuduLite `StringUtils.IsTrueLike`) and leaves antenv and
oryx-manifest.toml, after which Oryx ignores `__oryx_packages__` (§3, §7); Core Tools removes
ENABLE_ORYX_BUILD and SCM_DO_BUILD_DURING_DEPLOYMENT for a built Functions package (§0.6); a
WEBSITE_RUN_FROM_PACKAGE URL makes Kudu refuse deployments with 409 (§1) and Flex refuses the
setting (§5); Oryx finds an app without a startup command as in §7.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

from vendorer.deploy.kudu import KuduClient
from vendorer.deploy.preflight_checks import (
    Problem,
    ServerCleanup,
    ServerState,
    SettingChange,
    preflight,
)
from vendorer.deploy.site import Site
from vendorer.errors import VendorerError
from vendorer.report import NULL_REPORTER, Reporter
from vendorer.target.layout import FUNCTIONS_LIB

__all__ = [
    "PreflightFailed",
    "Problem",
    "ServerCleanup",
    "ServerState",
    "SettingChange",
    "clean_server",
    "inspect_site",
    "package_names",
    "preflight",
    "read_server_state",
    "settings_changes",
]


class PreflightFailed(VendorerError):
    """The site would undo the deployment: nothing was sent."""

    def __init__(self, problems: Sequence[Problem], *, settings_fixable: bool) -> None:
        blocking = [problem for problem in problems if problem.blocking]
        lines = "\n".join(f"  {problem.describe()}" for problem in blocking)
        super().__init__(
            "the site would undo the deployment, so nothing was sent:\n"
            f"{lines}\n{_fix_advice(blocking, settings_fixable)}"
        )
        self.problems = tuple(blocking)


def _fix_advice(problems: Sequence[Problem], settings_fixable: bool) -> str:
    """What `--fix-settings` would change, and what is the user's to change."""

    def automatic(problem: Problem) -> bool:
        return isinstance(problem.fix, ServerCleanup) or (
            isinstance(problem.fix, SettingChange) and settings_fixable
        )

    made = [problem.setting for problem in problems if automatic(problem)]
    yours = [problem.setting for problem in problems if not automatic(problem)]
    lines = []
    if made:
        lines.append(f"--fix-settings takes care of: {', '.join(made)}.")
    if yours:
        lines.append(f"Change {', '.join(yours)} yourself, as shown.")
    if not settings_fixable and any(isinstance(p.fix, SettingChange) for p in problems):
        lines.append(
            "--fix-settings changes app settings through Azure Resource Manager, so only for a "
            "site named through Azure (--site, --resource-group, signed in with az login), not "
            "with a publish profile alone."
        )
    return "\n".join([*lines, "Then deploy again."])


def inspect_site(
    client: KuduClient, site: Site, package: Path, *, python: str | None, lib_dir: str | None
) -> tuple[Problem, ...]:
    """`preflight` over what the package holds and what Kudu shows of wwwroot."""
    server = read_server_state(client, site)
    return preflight(site, package_names(package), python=python, server=server, lib_dir=lib_dir)


def package_names(package: Path) -> list[str]:
    """The names in a package (a zip)."""
    try:
        with zipfile.ZipFile(package) as archive:
            return archive.namelist()
    except (OSError, zipfile.BadZipFile) as error:
        raise VendorerError(f"{package}: not a package vendorer can read ({error})") from None


def settings_changes(problems: Sequence[Problem]) -> dict[str, str | None]:
    """The app settings `--fix-settings` changes through ARM (None: remove)."""
    return {
        problem.fix.name: problem.fix.value
        for problem in problems
        if isinstance(problem.fix, SettingChange)
    }


def read_server_state(client: KuduClient, site: Site) -> ServerState:
    """What the plan's checks need from wwwroot, read through Kudu's vfs."""
    if site.plan == "app-service-linux":
        entries = client.list_folder("site/wwwroot") or []
        return ServerState(wwwroot=frozenset(entry.name + "/" * entry.folder for entry in entries))
    if site.plan == "functions-dedicated":
        listed = client.list_folder(f"site/wwwroot/{FUNCTIONS_LIB}")
        names = None if listed is None else frozenset(entry.name for entry in listed)
        return ServerState(functions_lib=names)
    return ServerState()


def clean_server(
    client: KuduClient, problems: Sequence[Problem], reporter: Reporter = NULL_REPORTER
) -> list[str]:
    """Remove the leftovers the problems name (their `ServerCleanup`) through Kudu."""
    removed = []
    for problem in problems:
        if isinstance(problem.fix, ServerCleanup):
            path = problem.fix.path
            if problem.fix.folder:
                client.delete_tree(path)
            else:
                client.delete_file(path)
            reporter.notice(f"removed {path} from the site")
            removed.append(path)
    return removed
