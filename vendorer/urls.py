"""URL helpers: hiding credentials, and the paths behind `file:` URLs."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from urllib.request import url2pathname

__all__ = ["file_url_path", "redact", "scrub_credentials"]


def redact(url: str) -> str:
    """`url` without credentials, for anything shown, logged or written."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def file_url_path(url: str) -> Path:
    """The local path a `file:` URL names."""
    return Path(url2pathname(urlsplit(url).path))


# `//` then a netloc's user and password, up to its last `@` (a password may hold `@`, not `/`).
_USERINFO_IN_TEXT = re.compile(r"//[^\s/?#]*@")


def scrub_credentials(text: str) -> str:
    """`text` (a message that may quote URLs) with every URL's `user:password@` removed."""
    return _USERINFO_IN_TEXT.sub("//", text)
