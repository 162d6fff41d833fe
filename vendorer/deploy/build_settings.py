"""The app settings that would undo a deployment of vendored libraries, and their fix, per plan.

One rule, read by the preflight (which reports each as a `Problem`) and by the Azure side (which
writes the fix through ARM). Sources (research §3, §5, §6):
- `SCM_DO_BUILD_DURING_DEPLOYMENT` true-like (Kudu's `1` or `true`): a build on the server
  installs the requirements again and the vendored folder loses; on App Service set to `false`, as
  az cli does when it ships a built package, on Functions removed, as Core Tools does;
- `ENABLE_ORYX_BUILD` true-like, `BUILD_FLAGS=UseExpressBuild`, `XDG_CACHE_HOME=/tmp/.cache`: what
  Core Tools' remote build sets and its `EnsureNoKuduLiteBuildSettings` removes; removed;
- `WEBSITE_RUN_FROM_PACKAGE` set to a URL: the SCM site refuses every deployment (409); removed,
  except on Premium and Consumption, whose route replaces it;
- Flex Consumption takes none of `SCM_DO_BUILD_DURING_DEPLOYMENT`, `ENABLE_ORYX_BUILD`,
  `WEBSITE_RUN_FROM_PACKAGE`: removed whatever their value.
Pure: no SDK, no network. A value may be a secret; `SHOWN` names the settings whose values may be
shown (build switches, never a URL or a key).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from vendorer.deploy.site import Plan
from vendorer.target.layout import ORYX_LIB

__all__ = [
    "BUILD",
    "MOUNT",
    "ORYX",
    "RUNS_FROM_BLOB",
    "RUN_FROM_PACKAGE",
    "SHOWN",
    "SettingsChange",
    "build_settings_fix",
]

BUILD: Final = "SCM_DO_BUILD_DURING_DEPLOYMENT"
ORYX: Final = "ENABLE_ORYX_BUILD"
RUN_FROM_PACKAGE: Final = "WEBSITE_RUN_FROM_PACKAGE"
TRUE_LIKE: Final = frozenset({"1", "true"})  # Kudu's StringUtils.IsTrueLike
# Core Tools' remote-build settings (Constants.cs), removed when they hold its values.
REMOTE_BUILD_VALUES: Final = {"BUILD_FLAGS": "useexpressbuild", "XDG_CACHE_HOME": "/tmp/.cache"}
FLEX_REFUSES: Final = (BUILD, ORYX, RUN_FROM_PACKAGE)
RUNS_FROM_BLOB: Final = frozenset({"functions-premium", "functions-consumption"})
MOUNT: Final = "WEBSITE_MOUNT_ENABLED"  # run-from-package on Linux Consumption sets it to 1
# The settings whose values a message may show: switches and paths, never a URL or a key.
SHOWN: Final = frozenset({BUILD, ORYX, *REMOTE_BUILD_VALUES, MOUNT, "PYTHONPATH"})

_WHY_ORYX = "a build would run with Oryx (Core Tools removes it when it ships a built package)"
_WHY_REMOTE = "a remote build's setting (Core Tools removes it when it ships a built package)"
_WHY_URL = "the site runs a package from a URL, so its SCM site refuses every deployment (409)"
_WHY_FLEX = "Flex Consumption deploys its own package and refuses this setting"


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
            if plan.startswith("functions"):  # as Core Tools: without it zipdeploy never builds
                removals.append(key)
            else:  # as az cli and vendorer's templates: App Service builds by default otherwise
                updates[key] = "false"
            reasons[key] = _why_build(plan)
        elif (name == ORYX and lowered in TRUE_LIKE and plan != "app-service-windows") or (
            REMOTE_BUILD_VALUES.get(name) == lowered
        ):  # Windows has no Oryx
            removals.append(key)
            reasons[key] = _WHY_ORYX if name == ORYX else _WHY_REMOTE
        elif name == RUN_FROM_PACKAGE and lowered.startswith("http") and plan not in RUNS_FROM_BLOB:
            removals.append(key)
            reasons[key] = _WHY_URL
    return SettingsChange(updates=updates, removals=tuple(removals), reasons=reasons)


def _why_build(plan: Plan) -> str:
    if plan == "app-service-windows":
        return "Kudu would build the app on the server instead of shipping the vendored libraries"
    if plan.startswith("functions"):
        return "a remote build would delete the vendored .python_packages and pip install afresh"
    return (
        "an Oryx build would run, create antenv and an oryx-manifest.toml, and from then on "
        f"Oryx ignores the vendored {ORYX_LIB}"
    )
