"""Writing files so that a reader, or a killed run, never sees half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

__all__ = ["file_url_path", "write_bytes_atomic", "write_text_atomic"]


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, flush it, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        Path(temporary).chmod(0o644)  # mkstemp makes 0600; these files are meant to be shared
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def file_url_path(url: str) -> Path:
    """The local path a `file:` URL names."""
    return Path(url2pathname(urlsplit(url).path))
