"""web.config for the App Service Windows site extensions: FastCGI (wfastcgi) or HttpPlatform.

Rendered from the profile. An existing file is updated in place: vendorer owns the Python
handler, its app settings (PYTHONPATH, WSGI_*) and the `httpPlatform` element; every other
element, attribute and comment (rewrite rules, static file handlers, ...) stays as it was.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from vendorer._util.text import has_control
from vendorer.deploy.oryx import parse_wsgi_handler
from vendorer.errors import ConfigError, UsageError
from vendorer.target.profile import Profile

__all__ = ["WebConfig", "render_webconfig"]

HANDLER_NAME = "PythonHandler"
OWNED_SETTINGS = ("PYTHONPATH", "WSGI_HANDLER", "WSGI_LOG", "WSGI_RESTART_FILE_REGEX")
MAX_DEPTH = 100  # IIS's own files go about ten deep; the serializer recurses per level


@dataclass(frozen=True, slots=True, kw_only=True)
class WebConfig:
    """What the user asked for; the profile supplies the paths."""

    handler: Literal["fastcgi", "httpplatform"]
    lib_dir: str
    wsgi_handler: str | None = None  # fastcgi: module.attr or module.func()
    wsgi_log: str | None = None
    restart_regex: str | None = None
    entry: str | None = None  # httpplatform: the script, relative to the site root
    arguments: str = "--port %HTTP_PLATFORM_PORT%"
    environment: Mapping[str, str] = field(default_factory=dict)
    startup_time_limit: int = 60
    processes: int = 1
    stdout_log: str = "D:\\home\\LogFiles\\python.log"


def render_webconfig(
    profile: Profile,
    config: WebConfig,
    existing: bytes | None = None,
    *,
    origin: str = "web.config",
) -> str:
    """The web.config text: `existing` (read from `origin`) updated in the elements vendorer
    owns, or a new file."""
    if not profile.is_windows or not profile.server.wfastcgi:
        raise UsageError(
            f"{profile.name} is not an App Service Windows site extension: web.config does not "
            "apply there (see `vendorer webconfig` for the Linux startup settings)"
        )
    _check_values(config)
    root = _parse(existing, origin) if existing else ET.Element("configuration")
    pythonpath = _pythonpath(profile, config.lib_dir)
    settings = _child(root, "appSettings") if config.handler == "fastcgi" else None
    web_server = _child(root, "system.webServer")
    handlers = _child(web_server, "handlers")
    for old in handlers.findall(f"add[@name='{HANDLER_NAME}']"):
        handlers.remove(old)
    if settings is not None:
        _fastcgi(profile, config, pythonpath, settings, handlers)
        for platform in web_server.findall("httpPlatform"):
            web_server.remove(platform)
    else:
        _httpplatform(profile, config, pythonpath, web_server, handlers)
        existing_settings = root.find("appSettings")
        if existing_settings is not None:
            _remove_settings(existing_settings, OWNED_SETTINGS)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"


def _check_values(config: WebConfig) -> None:
    """What goes into the file must be text XML can hold (no control character: XML 1.0 has
    no way to write most of them) and a restart regex wfastcgi can compile."""
    values = [
        ("--lib-dir", config.lib_dir),
        ("--wsgi-handler", config.wsgi_handler),
        ("--wsgi-log", config.wsgi_log),
        ("--restart-regex", config.restart_regex),
        ("--entry", config.entry),
        ("--args", config.arguments),
        *(("--env", f"{name}={value}") for name, value in config.environment.items()),
    ]
    for option, value in values:
        if value is not None and has_control(value):
            raise UsageError(
                f"{option} {value!r} holds a control character (a line break or tab?); "
                "web.config cannot carry it"
            )
    if config.restart_regex:
        try:
            re.compile(config.restart_regex)
        except re.error as error:
            raise UsageError(
                f"--restart-regex {config.restart_regex!r} is not a regular expression ({error}); "
                "wfastcgi compiles it with Python's re"
            ) from None


def _parse(text: bytes, origin: str) -> ET.Element:
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True, insert_pis=True))
    try:
        root = ET.fromstring(text, parser=parser)
    except ET.ParseError as error:
        line, column = error.position
        raise ConfigError(f"{origin}:{line}:{column}: not well-formed XML: {error}") from None
    except LookupError as error:  # the XML declaration names an encoding Python does not know
        raise ConfigError(f"{origin}: {error}; save it as UTF-8") from None
    if root.tag != "configuration":
        raise ConfigError(f"{origin}: the root element is <{root.tag}>, not <configuration>")
    if _depth(root) > MAX_DEPTH:
        raise ConfigError(
            f"{origin}: elements nested more than {MAX_DEPTH} deep; not a web.config vendorer "
            "can update"
        )
    return root


def _depth(root: ET.Element) -> int:
    """How deep the elements below `root` go (without recursion: a file may go very deep)."""
    deepest, level = 0, [root]
    while level:
        deepest += 1
        level = [child for element in level for child in element]
    return deepest


def _child(parent: ET.Element, tag: str) -> ET.Element:
    found = parent.find(tag)
    return found if found is not None else ET.SubElement(parent, tag)


def _pythonpath(profile: Profile, lib_dir: str) -> str:
    root = profile.server.site_root
    return f"{root};{root}\\{lib_dir.replace('/', chr(92))}"


def _remove_settings(settings: ET.Element, keys: tuple[str, ...]) -> None:
    for element in list(settings):
        if element.tag == "add" and element.get("key") in keys:
            settings.remove(element)


def _set(settings: ET.Element, key: str, value: str | None) -> None:
    """Set (or, with None, remove) one `<add key= value=/>`, in place when it exists."""
    existing = settings.find(f"add[@key='{key}']")
    if value is None:
        if existing is not None:
            settings.remove(existing)
    elif existing is not None:
        existing.set("value", value)
    else:
        ET.SubElement(settings, "add", {"key": key, "value": value})


def _fastcgi(
    profile: Profile,
    config: WebConfig,
    pythonpath: str,
    settings: ET.Element,
    handlers: ET.Element,
) -> None:
    existing = settings.find("add[@key='WSGI_HANDLER']")
    handler = config.wsgi_handler or (existing.get("value", "") if existing is not None else "")
    if not handler:
        raise UsageError(
            "FastCGI needs the WSGI app: pass --wsgi-handler MODULE.ATTR (for example "
            "app.wsgi_app); an existing web.config's WSGI_HANDLER is kept when you do not"
        )
    parse_wsgi_handler(handler)  # or a UsageError that says what it must be
    _set(settings, "PYTHONPATH", pythonpath)
    _set(settings, "WSGI_HANDLER", handler)
    _set(settings, "WSGI_LOG", config.wsgi_log)
    _set(settings, "WSGI_RESTART_FILE_REGEX", config.restart_regex)
    ET.SubElement(
        handlers,
        "add",
        {
            "name": HANDLER_NAME,
            "path": "*",
            "verb": "*",
            "modules": "FastCgiModule",
            "scriptProcessor": f"{profile.server.python}|{profile.server.wfastcgi}",
            "resourceType": "Unspecified",
            "requireAccess": "Script",
        },
    )


def _httpplatform(
    profile: Profile,
    config: WebConfig,
    pythonpath: str,
    web_server: ET.Element,
    handlers: ET.Element,
) -> None:
    if not config.entry:
        raise UsageError("--handler httpplatform needs --entry SCRIPT (for example runserver.py)")
    if not 0 <= config.startup_time_limit <= 3600:
        raise UsageError(
            f"--startup-time-limit {config.startup_time_limit}: HttpPlatform takes 0 to 3600 "
            "seconds"
        )
    if not 1 <= config.processes <= 100:
        raise UsageError(f"--processes {config.processes}: HttpPlatform takes 1 to 100")
    ET.SubElement(
        handlers,
        "add",
        {
            "name": HANDLER_NAME,
            "path": "*",
            "verb": "*",
            "modules": "httpPlatformHandler",
            "resourceType": "Unspecified",
        },
    )
    platform = _child(web_server, "httpPlatform")
    script = f"{profile.server.site_root}\\{config.entry.replace('/', chr(92))}"
    platform.attrib.update(
        {
            "processPath": profile.server.python,
            "arguments": f"{script} {config.arguments}".strip(),
            "stdoutLogEnabled": "true",
            "stdoutLogFile": config.stdout_log,
            "startupTimeLimit": str(config.startup_time_limit),
            "processesPerApplication": str(config.processes),
        }
    )
    variables = _child(platform, "environmentVariables")
    owned = {"SERVER_PORT": "%HTTP_PLATFORM_PORT%", "PYTHONPATH": pythonpath, **config.environment}
    for name, value in owned.items():
        existing = next(  # not an XPath predicate: a name may hold ' or ]
            (
                found
                for found in variables.iterfind("environmentVariable")
                if found.get("name") == name
            ),
            None,
        )
        if existing is None:
            ET.SubElement(variables, "environmentVariable", {"name": name, "value": value})
        else:
            existing.set("value", value)
