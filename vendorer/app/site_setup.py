"""The steps that write what sets the site up, from the profile: web.config (or, on Linux, the
startup settings that replace it) and the ARM resource that installs the site extension."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from vendorer._util.tomlfile import decode_text, read_input
from vendorer.app.files import write_user_file
from vendorer.app.project import Project
from vendorer.deploy.arm import add_to_template, site_extension_resource
from vendorer.deploy.webconfig import WebConfig, linux_instructions, render_webconfig
from vendorer.errors import UsageError

__all__ = ["ArmRun", "WebConfigRequest", "WebConfigRun", "arm_resource", "write_webconfig"]


@dataclass(frozen=True, slots=True, kw_only=True)
class WebConfigRequest:
    handler: Literal["fastcgi", "httpplatform"] = "fastcgi"
    wsgi_handler: str | None = None
    wsgi_log: str | None = None
    restart_regex: str | None = None
    entry: str | None = None
    arguments: str = "--port %HTTP_PLATFORM_PORT%"
    environment: tuple[str, ...] = ()  # NAME=VALUE
    startup_time_limit: int = 60
    processes: int = 1
    output: Path | None = None  # default: <app>/web.config
    check: bool = False  # only say whether the file is current


@dataclass(frozen=True, slots=True, kw_only=True)
class WebConfigRun:
    path: Path | None = None  # None: a Linux profile, where web.config does not apply
    linux: tuple[str, ...] = ()  # then: the startup settings to use instead
    current: bool = False  # with check: the file is as vendorer would write it
    updated: bool = False  # an existing file was updated (else a new one written)


def write_webconfig(project: Project, request: WebConfigRequest) -> WebConfigRun:
    """`vendorer webconfig`: render web.config, or update the elements vendorer owns in an
    existing one; on Linux profiles, the startup settings instead."""
    profile = project.profile
    lib_dir = project.lib_dir
    if not profile.is_windows:
        lines = linux_instructions(profile, lib_dir, request.wsgi_handler)
        return WebConfigRun(linux=tuple(lines))
    config = WebConfig(
        handler=request.handler,
        lib_dir=lib_dir,
        wsgi_handler=request.wsgi_handler,
        wsgi_log=request.wsgi_log,
        restart_regex=request.restart_regex,
        entry=request.entry,
        arguments=request.arguments,
        environment=dict(_pair(item) for item in request.environment),
        startup_time_limit=request.startup_time_limit,
        processes=request.processes,
    )
    path = request.output or project.app / "web.config"
    existing = read_input(path) if os.path.lexists(path) else None  # XML says its encoding
    text = render_webconfig(profile, config, existing, origin=str(path))
    if request.check:
        return WebConfigRun(path=path, current=existing == text.encode("utf-8"))
    write_user_file(path, text)
    return WebConfigRun(path=path, updated=bool(existing))


def _pair(item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep or not name:
        raise UsageError(f"--env {item!r}: expected NAME=VALUE")
    return name, value


@dataclass(frozen=True, slots=True, kw_only=True)
class ArmRun:
    resource: dict[str, Any] | None = None  # without a template: the resource to nest
    template: Path | None = None  # the template updated in place


def arm_resource(project: Project, site_param: str, template: Path | None) -> ArmRun:
    """`vendorer arm`: the siteextensions resource, or a template with it added or updated."""
    profile = project.profile
    if template is None:
        return ArmRun(resource=site_extension_resource(profile, site_param))
    origin = str(template)
    text = decode_text(read_input(template), origin)  # the portal's exports have a BOM
    write_user_file(template, add_to_template(text, profile, site_param, origin=origin))
    return ArmRun(template=template)
