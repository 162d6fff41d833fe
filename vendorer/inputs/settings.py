"""Settings: `[tool.vendorer]` in the app's pyproject.toml, overridden by command-line options."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vendorer._util.text import CONTROL_PROBLEM, has_control
from vendorer._util.tomlfile import kind_of, read_toml
from vendorer._util.urls import find_links_problem, redact, url_problem
from vendorer.errors import ConfigError
from vendorer.inputs.options import BEST_MATCH, INDEX_STRATEGIES, KEYRING_PROVIDERS

__all__ = ["Settings", "load_settings"]

_STRING_KEYS = (
    "profile",
    "requirements",
    "lib-dir",
    "wheelhouse",
    "index-url",
    "index-strategy",
    "keyring-provider",
)
_LIST_KEYS = ("extra-index-urls", "find-links")
_PATTERN_KEYS = ("exclude",)  # patterns `vendorer package` leaves out (deploy/package_rules.py)


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    app_dir: Path
    profile: str | None = None
    requirements: Path
    lib_dir: str | None = None  # None: the profile's default
    wheelhouse: Path
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    keyring_provider: str = "disabled"
    index_strategy: str = BEST_MATCH
    exclude: tuple[str, ...] = ()


def load_settings(app_dir: Path, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Read `[tool.vendorer]`; non-None `overrides` (same keys, dashes or underscores) win."""
    table = _tool_table(app_dir / "pyproject.toml")
    values: dict[str, Any] = {key.replace("-", "_"): value for key, value in table.items()}
    for key, value in (overrides or {}).items():
        if value is not None and value != ():
            values[key.replace("-", "_")] = value
    requirements = values.get("requirements")
    return Settings(
        app_dir=app_dir,
        profile=values.get("profile"),
        requirements=app_dir / requirements if requirements else _default_requirements(app_dir),
        lib_dir=values.get("lib_dir"),
        wheelhouse=app_dir / values.get("wheelhouse", "wheelhouse"),
        index_url=values.get("index_url"),
        extra_index_urls=tuple(values.get("extra_index_urls", ())),
        find_links=tuple(
            link if "://" in link else str(app_dir / link) for link in values.get("find_links", ())
        ),
        keyring_provider=values.get("keyring_provider", "disabled"),
        index_strategy=values.get("index_strategy", BEST_MATCH),
        exclude=tuple(values.get("exclude", ())),
    )


def _default_requirements(app_dir: Path) -> Path:
    """requirements.txt, or pip-tools' requirements.in when only that exists."""
    txt, source = app_dir / "requirements.txt", app_dir / "requirements.in"
    return source if source.exists() and not txt.exists() else txt


def _url_problems(table: Mapping[str, Any]) -> list[str]:
    """index-url, extra-index-urls and find-links (those that are URLs) must parse; none empty."""
    entries = [("index-url", table.get("index-url"))]
    for key in _LIST_KEYS:
        value = table.get(key)
        entries += [(key, item) for item in value] if isinstance(value, list) else []
    check = {"find-links": find_links_problem}
    return [
        f"  {key}: {redact(value)!r} {problem}"
        for key, value in entries
        if isinstance(value, str) and (problem := check.get(key, url_problem)(value)) is not None
    ]


def _tool_table(pyproject: Path) -> Mapping[str, Any]:
    if not os.path.lexists(pyproject):  # a broken link is read, and reported
        return {}
    tool = read_toml(pyproject).get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{pyproject}: [tool] must be a table, not {kind_of(tool)}")
    table = tool.get("vendorer", {})
    where = f"{pyproject}: [tool.vendorer]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table, not {kind_of(table)}")
    known = _STRING_KEYS + _LIST_KEYS + _PATTERN_KEYS
    problems = [
        f"  {key}: unknown key (known: {', '.join(known)})" for key in table if key not in known
    ]
    # An empty URL is _url_problems' to name.
    problems += [
        _string_problem(key, table[key], empty_ok=key == "index-url")
        for key in _STRING_KEYS
        if key in table
    ]
    problems += [
        _list_problem(key, table[key]) for key in _LIST_KEYS + _PATTERN_KEYS if key in table
    ]
    problems = [problem for problem in problems if problem]
    if table.get("keyring-provider", "disabled") not in KEYRING_PROVIDERS:
        problems.append(f"  keyring-provider: one of {', '.join(KEYRING_PROVIDERS)}")
    if table.get("index-strategy", BEST_MATCH) not in INDEX_STRATEGIES:
        problems.append(f"  index-strategy: one of {', '.join(INDEX_STRATEGIES)}")
    problems += _url_problems(table)
    if problems:
        raise ConfigError(f"{where}:\n" + "\n".join(problems))
    return table


def _string_problem(key: str, value: object, *, empty_ok: bool = False) -> str:
    if not isinstance(value, str):
        return f"  {key}: must be a string, not {kind_of(value)}"
    if has_control(value):
        return f"  {key}: {CONTROL_PROBLEM}"
    if empty_ok or value.strip():
        return ""
    return f"  {key}: must not be empty (leave the key out instead)"


def _list_problem(key: str, value: object) -> str:
    if not isinstance(value, list):
        return f"  {key}: must be a list of strings, not {kind_of(value)}"
    wrong = [item for item in value if not isinstance(item, str)]
    if wrong:
        return f"  {key}: must be a list of strings, and holds {kind_of(wrong[0])}"
    return ""  # each item, an empty one included, is _url_problems' to check
