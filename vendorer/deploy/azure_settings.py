"""A site's app settings through Azure Resource Manager: read, merge, write, and the build fix.

ARM writes app settings as a whole (`PUT .../config/appsettings`), so every write here reads the
settings afresh, changes only the names it means to and writes the complete merged dict back: a
setting vendorer does not know is never dropped. A write restarts the site.

The build fix (`build_settings_fix`, in `build_settings`: the one rule the preflight reads too)
is written here by `fix_build_settings`.

A setting's value may be a secret (a connection string, a SAS URL): messages and notices name
settings, and show only values vendorer itself sets.

After a write the SCM site may see the new settings only later; Core Tools polls the SCM site's
`/api/settings` until it does. `wait_until_scm_sees` does that with a reader the caller gives
(the Kudu client's settings call), so this module needs no Kudu client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from azure.core.exceptions import AzureError as SdkError
from azure.core.exceptions import HttpResponseError
from azure.mgmt.web.models import StringDictionary

from vendorer.deploy.azure_arm import READ_SETTINGS, SYNC_TRIGGERS, WRITE_SETTINGS, ArmSession
from vendorer.deploy.azure_errors import AzureError
from vendorer.deploy.build_settings import (
    BUILD,
    RUN_FROM_PACKAGE,
    SHOWN,
    SettingsChange,
    build_settings_fix,
)
from vendorer.deploy.site import Plan
from vendorer.report import NULL_REPORTER, Reporter

__all__ = [
    "BUILD",
    "RUN_FROM_PACKAGE",
    "SettingsChange",
    "build_settings_fix",
    "change_settings",
    "fix_build_settings",
    "read_settings",
    "scm_sees",
    "secret_values",
    "sync_triggers",
    "wait_until_scm_sees",
    "write_settings",
]

SECRET_LENGTH = 16  # a setting value this long may be a key, a connection string or a SAS URL
SCM_WAIT = 300.0  # seconds, as Core Tools (WaitForAppSettingUpdateSCM)
SCM_POLL = 5.0


def secret_values(settings: Mapping[str, str]) -> list[str]:
    """The values of `settings` that may be secrets, to keep out of any message."""
    return [value for value in settings.values() if len(value) >= SECRET_LENGTH]


def read_settings(session: ArmSession) -> dict[str, str]:
    """The site's app settings (values may be secrets: never show them)."""
    ref = session.ref
    listed = session.call(
        READ_SETTINGS, session.web.web_apps.list_application_settings, ref.resource_group, ref.name
    )
    return {str(key): str(value) for key, value in (listed.properties or {}).items()}


def write_settings(session: ArmSession, settings: Mapping[str, str]) -> None:
    """Replace the site's app settings by `settings` (the complete dict: ARM drops any name not
    in it). The site restarts."""
    ref = session.ref
    session.call(
        WRITE_SETTINGS,
        session.web.web_apps.update_application_settings,
        ref.resource_group,
        ref.name,
        StringDictionary(properties=dict(settings)),
        secrets=secret_values(settings),
    )


def change_settings(
    session: ArmSession, change: SettingsChange, reporter: Reporter = NULL_REPORTER
) -> dict[str, str]:
    """Apply `change` to the settings as they are now (read afresh, merged, written whole);
    nothing is written when it changes nothing. Then `reporter` hears each setting, as
    `app setting <line>` (values only of the `SHOWN` settings). The settings after."""
    current = read_settings(session)
    merged = change.applied_to(current)
    if merged != current:
        write_settings(session, merged)
    for line in change.describe(shown=SHOWN):
        reporter.notice(f"app setting {line}")
    return merged


def fix_build_settings(
    session: ArmSession, plan: Plan, *, reporter: Reporter = NULL_REPORTER
) -> SettingsChange:
    """Remove or turn off the settings that would undo the deployment (`build_settings_fix`)
    and say which; the change made (empty when the site needed none)."""
    change = build_settings_fix(read_settings(session), plan)
    if change:
        change_settings(session, change, reporter)
    return change


def scm_sees(change: SettingsChange, scm_settings: Mapping[str, str]) -> bool:
    """Whether settings the SCM site reports (its /api/settings) show `change`."""
    present = {key.lower(): value for key, value in scm_settings.items()}
    if any(name.lower() in present for name in change.removals):
        return False
    return all(present.get(name.lower()) == value for name, value in change.updates.items())


def wait_until_scm_sees(
    change: SettingsChange,
    read_scm_settings: Callable[[], Mapping[str, str]],
    *,
    reporter: Reporter = NULL_REPORTER,
    timeout: float = SCM_WAIT,
    interval: float = SCM_POLL,
) -> None:
    """Poll `read_scm_settings` (the SCM site's /api/settings) until it shows `change`, as Core
    Tools does before it deploys; AzureError after `timeout` seconds."""
    if not change or scm_sees(change, read_scm_settings()):
        return
    reporter.notice("waiting for the SCM site to see the new app settings")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
        if scm_sees(change, read_scm_settings()):
            return
    names = ", ".join(change.names)
    raise AzureError(
        f"the SCM site still does not see the new app settings ({names}) after {timeout:g} s; "
        "nothing was deployed: run the deployment again in a few minutes"
    )


def sync_triggers(session: ArmSession) -> None:
    """Ask the Functions host to read the new package's triggers (ARM `host/default/sync`, Core
    Tools' call). ARM answers 204; the SDK takes nothing else, so a 200 it raises is success,
    as az cli treats it."""
    ref = session.ref
    try:
        session.web.web_apps.sync_functions(ref.resource_group, ref.name)
    except SdkError as error:
        if isinstance(error, HttpResponseError) and error.status_code == 200:
            return
        raise session.failure(error, SYNC_TRIGGERS) from None
