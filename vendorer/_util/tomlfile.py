"""Reading the files vendorer is given (TOML, JSON) with errors that name the file, and the line
and column where there is one: a missing, unreadable or undecodable file, a folder or a broken
link where a file should be, and a document too deep or too large to parse, each get a sentence
that says what to do, never a traceback."""

from __future__ import annotations

import codecs
import json
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

from vendorer._util.files import read_bounded
from vendorer.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "bom_encoding",
    "decode_text",
    "kind_of",
    "parse_json",
    "parse_toml",
    "read_input",
    "read_toml",
]

_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_BOMS = (  # UTF-32 first: the UTF-16 LE mark is a prefix of the UTF-32 LE one
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def read_input(path: Path) -> bytes:
    """The bytes of a file vendorer was given; a ConfigError naming it when it cannot be read."""
    try:
        return read_bounded(path)
    except FileNotFoundError:
        if path.is_symlink():
            raise ConfigError(
                f"{path}: a symbolic link to {path.readlink()}, which does not exist; "
                "fix or remove the link"
            ) from None
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a folder, not a file; name the file") from None
    except PermissionError:
        raise ConfigError(
            f"{path}: cannot read it (permission denied); check its permissions"
        ) from None
    except OSError as error:  # a link loop, a file where a folder should be, an I/O error
        raise ConfigError(f"{path}: cannot read it ({error.strerror or error})") from None


def bom_encoding(data: bytes) -> str | None:
    """The encoding `data`'s byte-order mark names (UTF-8, UTF-16 or UTF-32), if it has one."""
    return next((name for bom, name in _BOMS if data.startswith(bom)), None)


def decode_text(data: bytes, origin: str, *, utf8_only: bool = False) -> str:
    """`data` as text: UTF-8 (a byte-order mark allowed) or, unless `utf8_only`, UTF-16 or
    UTF-32 with their byte-order mark. Anything else (a binary file, Latin-1, UTF-16 without a
    mark) is a ConfigError that says to save the file as UTF-8."""
    encoding = bom_encoding(data) or "utf-8"
    if utf8_only and not encoding.startswith("utf-8"):
        raise ConfigError(
            f"{origin}: {encoding.upper()} text, but this file must be UTF-8 (as TOML requires); "
            "save it as UTF-8"
        )
    if encoding.startswith("utf-8") and b"\0" in data:
        _nul(origin)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"{origin}:{line}: not {encoding.removesuffix('-sig').upper()} text (byte "
            f"0x{data[error.start]:02x}); it may be binary or in another encoding: save it as "
            "UTF-8"
        ) from None
    if "\0" in text:
        _nul(origin)
    return text


def read_toml(path: Path) -> dict[str, Any]:
    """Parse `path`; an unreadable file or a syntax error is a ConfigError naming file:line:col."""
    return parse_toml(decode_text(read_input(path), str(path), utf8_only=True), origin=str(path))


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
    except (RecursionError, ValueError) as error:  # nesting, or an integer of 4,300+ digits
        _too_big(origin, error)


def parse_json(text: str, *, origin: str, what: str = "JSON") -> Any:
    """Parse strict JSON (no NaN or Infinity); an error is a ConfigError naming origin:line:col
    and saying the text is not `what`."""
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{origin}:{error.lineno}:{error.colno}: not {what}: {error.msg}"
        ) from None
    except (RecursionError, ValueError) as error:
        _too_big(origin, error)


def kind_of(value: object, *, in_json: bool = False) -> str:
    """What a parsed TOML (or JSON) value is, in the file's words: 'a table', 'an integer'."""
    kinds = {
        dict: "an object" if in_json else "a table",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "null",
    }
    return kinds.get(type(value), type(value).__name__)


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _nul(origin: str) -> NoReturn:
    raise ConfigError(
        f"{origin}: holds NUL characters: a binary file, or UTF-16 without a byte-order mark, "
        "not text; save it as UTF-8"
    )


def _too_big(origin: str, error: Exception) -> NoReturn:
    reason = "nested too deeply" if isinstance(error, RecursionError) else str(error).split(";")[0]
    raise ConfigError(f"{origin}: cannot be read: {reason}") from None
