"""URL helpers: hiding credentials, and the paths behind `file:` URLs."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from urllib.request import url2pathname

__all__ = ["file_url_path", "redact"]


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
