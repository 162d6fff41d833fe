"""A site's app settings through Azure Resource Manager: read, merge, write, and the build fix.

ARM writes app settings as a whole (`PUT .../config/appsettings`), so every write here reads the
settings afresh, changes only the names it means to and writes the complete merged dict back: a
setting vendorer does not know is never dropped. A write restarts the site.

The build fix (`build_settings_fix`): the settings that would undo a deployment of vendored
libraries, per plan (research §3, §5, §6):
- `SCM_DO_BUILD_DURING_DEPLOYMENT` true-like (Kudu's `1` or `true`): an Oryx build installs the
  requirements again and the vendored folder loses; set to `false` (az cli does so when it ships a
  built package);
- `ENABLE_ORYX_BUILD` true-like, `BUILD_FLAGS=UseExpressBuild`, `XDG_CACHE_HOME=/tmp/.cache`: what
  Core Tools' remote build sets and `EnsureNoKuduLiteBuildSettings` removes; removed;
- `WEBSITE_RUN_FROM_PACKAGE` set to a URL: the SCM site refuses every deployment (409); removed,
  except on Premium and Consumption, whose route replaces it;
- Flex Consumption takes none of `SCM_DO_BUILD_DURING_DEPLOYMENT`, `ENABLE_ORYX_BUILD`,
  `WEBSITE_RUN_FROM_PACKAGE`: removed whatever their value.

A setting's value may be a secret (a connection string, a SAS URL): messages and notices name
settings, and show only values vendorer itself sets.

After a write the SCM site may see the new settings only later; Core Tools polls the SCM site's
`/api/settings` until it does. `wait_until_scm_sees` does that with a reader the caller gives
(the Kudu client's settings call), so this module needs no Kudu client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from azure.core.exceptions import AzureError as SdkError
from azure.core.exceptions import HttpResponseError
from azure.mgmt.web.models import StringDictionary

from vendorer.deploy.azure_arm import READ_SETTINGS, SYNC_TRIGGERS, WRITE_SETTINGS, ArmSession
from vendorer.deploy.azure_errors import AzureError
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

BUILD: Final = "SCM_DO_BUILD_DURING_DEPLOYMENT"
ORYX: Final = "ENABLE_ORYX_BUILD"
RUN_FROM_PACKAGE: Final = "WEBSITE_RUN_FROM_PACKAGE"
TRUE_LIKE: Final = frozenset({"1", "true"})  # Kudu's StringUtils.IsTrueLike
# Core Tools' remote-build settings (Constants.cs), removed when they hold its values.
REMOTE_BUILD_VALUES: Final = {"BUILD_FLAGS": "useexpressbuild", "XDG_CACHE_HOME": "/tmp/.cache"}
FLEX_REFUSES: Final = (BUILD, ORYX, RUN_FROM_PACKAGE)
RUNS_FROM_BLOB: Final = frozenset({"functions-premium", "functions-consumption"})
SECRET_LENGTH = 16  # a setting value this long may be a key, a connection string or a SAS URL
SCM_WAIT = 300.0  # seconds, as Core Tools (WaitForAppSettingUpdateSCM)
SCM_POLL = 5.0

_WHY_BUILD = "a build during deployment would install the requirements again over the vendored ones"
_WHY_REMOTE = "a remote build's setting (Core Tools sets it)"
_WHY_URL = "the site runs a package from a URL, so its SCM site refuses every deployment (409)"
_WHY_FLEX = "Flex Consumption does not take this setting"


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingsChange:
    """Settings to set (`updates`) and to remove (`removals`), with why, for the user."""

    updates: Mapping[str, str] = field(default_factory=dict, repr=False)
    removals: tuple[str, ...] = ()
    reasons: Mapping[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.updates or self.removals)

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.updates, *self.removals)

    def applied_to(self, settings: Mapping[str, str]) -> dict[str, str]:
        """`settings` with this change (names match case-insensitively); nothing else touched."""
        changed = {name.lower() for name in self.names}
        merged = {key: value for key, value in settings.items() if key.lower() not in changed}
        merged.update(self.updates)
        return merged

    def describe(self, shown: frozenset[str] = frozenset()) -> list[str]:
        """One line per setting; a value is shown only when its name is in `shown` (values
        vendorer sets and knows are no secret)."""
        lines = []
        for name, value in self.updates.items():
            what = f"{name}={value}" if name in shown else f"{name} set"
            lines.append(_with_reason(what, self.reasons.get(name)))
        for name in self.removals:
            lines.append(_with_reason(f"{name} removed", self.reasons.get(name)))
        return lines


def _with_reason(what: str, reason: str | None) -> str:
    return f"{what} ({reason})" if reason else what


def build_settings_fix(settings: Mapping[str, str], plan: Plan) -> SettingsChange:
    """What would undo a deployment of vendored libraries on `plan`, and its fix (see the module
    docstring); an empty change when nothing would."""
    updates: dict[str, str] = {}
    removals: list[str] = []
    reasons: dict[str, str] = {}
    for key, value in settings.items():
        name, lowered = key.upper(), value.strip().lower()
        if plan == "functions-flex" and name in FLEX_REFUSES:
            removals.append(key)
            reasons[key] = _WHY_FLEX
        elif name == BUILD and lowered in TRUE_LIKE:
            updates[key] = "false"
            reasons[key] = _WHY_BUILD
        elif (name == ORYX and lowered in TRUE_LIKE) or REMOTE_BUILD_VALUES.get(name) == lowered:
            removals.append(key)
            reasons[key] = _WHY_BUILD if name == ORYX else _WHY_REMOTE
        elif name == RUN_FROM_PACKAGE and lowered.startswith("http") and plan not in RUNS_FROM_BLOB:
            removals.append(key)
            reasons[key] = _WHY_URL
    return SettingsChange(updates=updates, removals=tuple(removals), reasons=reasons)


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


def change_settings(session: ArmSession, change: SettingsChange) -> dict[str, str]:
    """Apply `change` to the settings as they are now (read afresh, merged, written whole);
    nothing is written when it changes nothing. The settings after."""
    current = read_settings(session)
    merged = change.applied_to(current)
    if merged != current:
        write_settings(session, merged)
    return merged


def fix_build_settings(
    session: ArmSession, plan: Plan, *, reporter: Reporter = NULL_REPORTER
) -> SettingsChange:
    """Remove or turn off the settings that would undo the deployment (`build_settings_fix`)
    and say which; the change made (empty when the site needed none)."""
    change = build_settings_fix(read_settings(session), plan)
    if change:
        change_settings(session, change)
        for line in change.describe(shown=frozenset({BUILD})):
            reporter.notice(f"app setting {line}")
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
