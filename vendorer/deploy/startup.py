"""What the Linux targets need instead of web.config, said from the profile and the app folder.

- App Service on Linux: the libraries come from `__oryx_packages__` (loaded by Oryx's startup
  script while the conditions of `target.layout.load_conditions` hold) or from the folder a
  `PYTHONPATH` app setting names; no build may run (`SCM_DO_BUILD_DURING_DEPLOYMENT=false`); a
  startup command only when Oryx's own detection (`deploy.oryx`) would not run the app.
- Azure Functions: nothing to start (the Functions host starts the Python worker, which imports
  `function_app.py`); the libraries come from `.python_packages/lib/site-packages` only, and stay
  there only when the package is published without a build.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from vendorer.check import oryx_build_drifts
from vendorer.deploy.oryx import OryxApp, detect_app, parse_wsgi_handler, startup_command
from vendorer.target.layout import (
    FUNCTIONS_LIB,
    load_conditions,
    never_loaded,
    platform_of,
    pythonpath_entry,
)
from vendorer.target.profile import Profile

__all__ = ["BUILD_OFF", "Startup", "linux_instructions", "plan_startup"]

# The app settings that keep the platform from building (and so from replacing the vendored
# libraries): KuduLite builds only when SCM_DO_BUILD_DURING_DEPLOYMENT is true-like, and
# ENABLE_ORYX_BUILD picks Oryx as the builder (notes/azure-deploy-research.md section 3).
BUILD_OFF: Final = (("SCM_DO_BUILD_DURING_DEPLOYMENT", "false"), ("ENABLE_ORYX_BUILD", "false"))
INDENT: Final = " " * 16


@dataclass(frozen=True, slots=True, kw_only=True)
class Startup:
    """How the app starts on App Service on Linux."""

    detected: OryxApp | None  # what Oryx runs without a startup command (None: its default page)
    command: str | None  # the startup command to set; None: none is needed (or none is known)


def plan_startup(profile: Profile, app: Path, wsgi_handler: str | None) -> Startup:
    """Oryx's choice for `app`, and the startup command `wsgi_handler` needs when Oryx would not
    run it."""
    detected = detect_app(app, profile.python.version)
    if wsgi_handler is None:
        return Startup(detected=detected, command=None)
    handler = parse_wsgi_handler(wsgi_handler)
    needed = detected is None or not detected.serves(handler)
    return Startup(detected=detected, command=startup_command(handler) if needed else None)


def linux_instructions(
    profile: Profile, lib_dir: str, wsgi_handler: str | None, app: Path
) -> list[str]:
    """What replaces web.config on the Linux targets, as lines to print."""
    if platform_of(profile) == "functions":
        return _functions(profile, lib_dir)
    lines = [
        f"{profile.name} runs on App Service on Linux: web.config does not apply there. Instead:",
        *_libraries(profile, lib_dir),
        "  app settings  "
        + ", ".join(f"{key}={value}" for key, value in BUILD_OFF)
        + " (an Oryx build would install the requirements again and pass over the vendored "
        "libraries)",
        *_startup(plan_startup(profile, app, wsgi_handler)),
    ]
    for drift in oryx_build_drifts(app, profile, lib_dir):
        lines += [f"  problem       {drift.what}", f"{INDENT}fix: {drift.fix}"]
    return lines


def _libraries(profile: Profile, lib_dir: str) -> list[str]:
    entry = pythonpath_entry(profile, lib_dir)
    if entry is not None:
        return [
            f"  app setting   PYTHONPATH={entry} (App Service keeps it and adds its own entries "
            "after it)"
        ]
    return [
        f"  app setting   none: {lib_dir} is on sys.path by itself (Oryx's startup script puts "
        "it there) while",
        *(f"{INDENT}- {condition}" for condition in load_conditions(profile, lib_dir)),
    ]


def _startup(startup: Startup) -> list[str]:
    detected = startup.detected
    if startup.command is not None:
        instead = (
            f"Oryx would run {detected.command} for {detected.found}"
            if detected
            else "Oryx would find no app and serve its default page"
        )
        return [
            f"  startup       {startup.command}",
            f"{INDENT}({instead}; gunicorn comes with the image)",
        ]
    if detected is not None:
        return [
            f"  startup       none: Oryx finds {detected.found} ({detected.framework}) and runs "
            f"{detected.command} (gunicorn comes with the image)"
        ]
    return [
        "  startup       Oryx finds no app here (no application.py, app.py, run.py, index.py, "
        "server.py, wsgi.py,",
        f"{INDENT}nor a folder with wsgi.py): pass --wsgi-handler MODULE.ATTR for the "
        "startup command",
    ]


def _functions(profile: Profile, lib_dir: str) -> list[str]:
    lines = [
        f"{profile.name} runs on Azure Functions: neither web.config nor a startup command applies "
        "there;",
        "  the Functions host starts the Python worker, which imports function_app.py.",
    ]
    problem = never_loaded(profile, lib_dir)
    if problem is not None:
        lines.append(f"  problem       {problem}: vendor there (leave out --lib-dir)")
    else:
        lines += [
            f"  libraries     {FUNCTIONS_LIB} is on sys.path by itself (the worker puts it there) "
            "while",
            *(f"{INDENT}- {condition}" for condition in load_conditions(profile, lib_dir)),
        ]
    lines += [
        "  publish       vendorer deploy --site NAME --resource-group RG",
        f"{INDENT}or: func azure functionapp publish NAME --no-build (without --no-build Core "
        f"Tools deletes {FUNCTIONS_LIB.split('/')[0]} and builds again)",
    ]
    return lines
