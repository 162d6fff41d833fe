"""The web.config a Windows site extension package carries: the app's own, with vendorer's
elements brought up to date for the lib folder being packaged.

The settings the app's file holds (the handler, WSGI_HANDLER, WSGI_LOG, the restart regex, or the
HttpPlatform script, arguments, variables and limits) are read back from it and rendered again by
`render_webconfig`, exactly as `vendorer webconfig` with those options would update the file:
PYTHONPATH names the vendored folder, the handler names the profile's Python, and every other
element, attribute and comment stays the app's own. A file `vendorer webconfig` wrote for the same
lib folder goes into the package byte for byte.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from vendorer.deploy.webconfig import HANDLER_NAME, WebConfig, render_webconfig
from vendorer.errors import ConfigError, UsageError
from vendorer.target.profile import Profile

__all__ = ["packaged_webconfig"]

_OWNED_VARIABLES = frozenset({"SERVER_PORT", "PYTHONPATH"})


def packaged_webconfig(profile: Profile, lib_dir: str, existing: bytes | None, origin: str) -> str:
    """The web.config text for the package; `existing` is the app's file (read from `origin`)."""
    command = f"vendorer webconfig --profile {profile.name}"
    if existing is None:
        raise UsageError(
            f"{profile.name} serves the app through web.config and the app has none: run "
            f"`{command}` (with --wsgi-handler, or --handler httpplatform --entry) first"
        )
    try:
        root: ET.Element | None = ET.fromstring(existing)
    except (ET.ParseError, LookupError):
        root = None  # render_webconfig names what is wrong with it, with the line and column
    config = _config_in(root, profile, lib_dir, origin) if root is not None else _ANY
    try:
        return render_webconfig(profile, config, existing, origin=origin)
    except UsageError as error:  # a setting the file lacks: say where it should come from
        raise ConfigError(f"{origin}: {error}; or run `{command}` with it") from None


_ANY = WebConfig(handler="fastcgi", lib_dir="lib")


def _config_in(root: ET.Element, profile: Profile, lib_dir: str, origin: str) -> WebConfig:
    platform = root.find("system.webServer/httpPlatform")
    if platform is not None:
        return _httpplatform(platform, profile, lib_dir, origin)
    handlers = root.findall("system.webServer/handlers/add")
    settings = {
        element.get("key"): element.get("value")
        for element in root.findall("appSettings/add")
        if element.get("key") is not None
    }
    fastcgi = any(
        h.get("name") == HANDLER_NAME or h.get("modules") == "FastCgiModule" for h in handlers
    )
    if not fastcgi and "WSGI_HANDLER" not in settings:
        raise ConfigError(
            f"{origin} holds no Python handler (FastCGI with WSGI_HANDLER, or httpPlatform): "
            f"run `vendorer webconfig --profile {profile.name}` first"
        )
    return WebConfig(
        handler="fastcgi",
        lib_dir=lib_dir,
        wsgi_handler=settings.get("WSGI_HANDLER"),
        wsgi_log=settings.get("WSGI_LOG"),
        restart_regex=settings.get("WSGI_RESTART_FILE_REGEX"),
    )


def _httpplatform(platform: ET.Element, profile: Profile, lib_dir: str, origin: str) -> WebConfig:
    script, _, arguments = platform.get("arguments", "").partition(" ")
    prefix = profile.server.site_root + "\\"
    if not script.startswith(prefix):
        raise ConfigError(
            f"{origin}: httpPlatform's arguments start with {script!r}, not a script in "
            f"{prefix}: run `vendorer webconfig --profile {profile.name} --handler httpplatform "
            "--entry SCRIPT` first"
        )
    variables = {
        element.get("name", ""): element.get("value", "")
        for element in platform.findall("environmentVariables/environmentVariable")
        if element.get("name") not in _OWNED_VARIABLES
    }
    defaults = WebConfig(handler="httpplatform", lib_dir=lib_dir)
    return WebConfig(
        handler="httpplatform",
        lib_dir=lib_dir,
        entry=script.removeprefix(prefix).replace("\\", "/"),
        arguments=arguments,
        environment=variables,
        startup_time_limit=_number(
            platform, "startupTimeLimit", origin, defaults.startup_time_limit
        ),
        processes=_number(platform, "processesPerApplication", origin, defaults.processes),
        stdout_log=platform.get("stdoutLogFile", defaults.stdout_log),
    )


def _number(element: ET.Element, attribute: str, origin: str, default: int) -> int:
    text = element.get(attribute)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{origin}: httpPlatform {attribute}={text!r} is not a number") from None
