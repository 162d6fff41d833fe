"""The steps that write what sets the site up, from the profile: web.config (or, on Linux, the
startup settings that replace it) and the template: the ARM resource that installs the site
extension, or the Linux site (App Service or Functions) and its plan, as ARM JSON or Bicep."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from vendorer._util.tomlfile import decode_text, read_input
from vendorer.app.files import write_user_file
from vendorer.app.project import Project
from vendorer.deploy.arm import (
    add_to_template,
    check_site_param,
    site_extension_resource,
    site_extension_template,
)
from vendorer.deploy.arm_site import SiteChoices, SiteFacts, site_facts, site_template
from vendorer.deploy.arm_update import update_site_template
from vendorer.deploy.startup import Startup, linux_instructions, plan_startup
from vendorer.deploy.template_model import arm_json, to_bicep
from vendorer.deploy.webconfig import WebConfig, render_webconfig
from vendorer.errors import UsageError
from vendorer.target.profile import Profile

__all__ = [
    "ArmRequest",
    "ArmRun",
    "WebConfigRequest",
    "WebConfigRun",
    "arm_resource",
    "write_webconfig",
]


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
        lines = linux_instructions(profile, lib_dir, request.wsgi_handler, project.app)
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
class ArmRequest:
    site_param: str = "siteName"  # the template parameter that names the site
    template: Path | None = None  # an ARM template to update in place
    format: Literal["json", "bicep"] = "json"
    plan: str | None = None  # Linux profiles: where the site runs (default: the profile's first)
    wsgi_handler: str | None = None  # App Service on Linux: what the startup command serves


@dataclass(frozen=True, slots=True, kw_only=True)
class ArmRun:
    resource: dict[str, Any] | None = None  # Windows, JSON: the siteextensions resource to nest
    text: str | None = None  # a template of its own (Linux profiles, or Bicep)
    template: Path | None = None  # the template updated in place
    notes: tuple[str, ...] = ()  # what the template leaves to the user


def arm_resource(project: Project, request: ArmRequest) -> ArmRun:
    """`vendorer arm`: the site extension (Windows) or the Linux site, as a template, a Bicep
    file, or an update of an existing ARM template."""
    profile = project.profile
    check_site_param(request.site_param)
    if request.template is not None and request.format == "bicep":
        raise UsageError(
            "--template updates an ARM (JSON) template; for Bicep, print the file "
            "(--format bicep) and take what you need from it"
        )
    if profile.is_windows:
        return _site_extension(project, request)
    startup = plan_startup(profile, project.app, request.wsgi_handler)
    choices = SiteChoices(
        site_param=request.site_param, plan=request.plan, startup_command=startup.command
    )
    facts = site_facts(profile, project.lib_dir, choices)
    notes = _site_notes(facts, startup)
    if request.template is not None:
        origin = str(request.template)
        text = decode_text(read_input(request.template), origin)
        updated = update_site_template(text, facts, request.site_param, origin=origin)
        write_user_file(request.template, updated)
        return ArmRun(template=request.template, notes=notes)
    template = site_template(facts, request.site_param)
    if request.format == "bicep":
        return ArmRun(text=to_bicep(template, _header(profile)), notes=notes)
    return ArmRun(text=arm_json(template), notes=notes)


def _site_extension(project: Project, request: ArmRequest) -> ArmRun:
    profile, site_param, template = project.profile, request.site_param, request.template
    if request.plan is not None:
        raise UsageError(f"--plan is for Linux profiles; {profile.name} is a site extension")
    if request.format == "bicep":
        text = to_bicep(site_extension_template(profile, site_param), _header(profile))
        return ArmRun(text=text)
    if template is None:
        return ArmRun(resource=site_extension_resource(profile, site_param))
    origin = str(template)
    text = decode_text(read_input(template), origin)  # the portal's exports have a BOM
    write_user_file(template, add_to_template(text, profile, site_param, origin=origin))
    return ArmRun(template=template)


def _header(profile: Profile) -> str:
    return f"Rendered by vendorer for the profile {profile.name}."


def _site_notes(facts: SiteFacts, startup: Startup) -> tuple[str, ...]:
    notes = []
    if facts.kind == "app,linux" and startup.command is None and startup.detected is None:
        notes.append(
            "no startup command: Oryx finds no app in this folder; pass --wsgi-handler "
            "MODULE.ATTR (or --app DIR) for the one the site needs"
        )
    if facts.kind.startswith("functionapp"):
        notes.append(
            "give the site's identity access to the storage account (the role Storage Blob Data "
            "Owner, and what your triggers need), as Microsoft's samples do"
        )
    return tuple(notes)
