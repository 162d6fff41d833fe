"""Reading TOML files with errors that name the file, line and column."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from vendorer.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["parse_toml", "read_toml"]

_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def read_toml(path: Path) -> dict[str, Any]:
    """Parse `path`; a missing file or a syntax error is a ConfigError naming file:line:column."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
    return parse_toml(text, origin=str(path))


def parse_toml(text: str, *, origin: str) -> dict[str, Any]:
    """Parse TOML text; a syntax error is a ConfigError naming origin:line:column."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        position = _POSITION.search(message)
        if position:
            line, column = position.groups()
            message = message[: position.start()]
        else:  # "(at end of document)"
            message = message.replace(" (at end of document)", "")
            line, column = str(text.count("\n") + 1), "1"
        raise ConfigError(f"{origin}:{line}:{column}: TOML syntax error: {message}") from None
