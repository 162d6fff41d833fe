"""The server's layout: paths on the server in its own spelling, the lib folder's PYTHONPATH entry,
and the lib folders the platform puts on sys.path by itself."""

from __future__ import annotations

import ntpath
import posixpath
from typing import Final

from vendorer.target.profile import Profile

__all__ = ["SELF_LOADED", "pythonpath_entry", "server_path"]

# Folders the platform puts on sys.path by itself: Azure Functions' host, and Oryx's startup
# script on App Service on Linux (when the app has no antenv virtualenv).
SELF_LOADED: Final = frozenset({".python_packages/lib/site-packages", "__oryx_packages__"})


def server_path(profile: Profile, *parts: str) -> str:
    """An absolute path on the server below the site root, in the server's own spelling."""
    path = ntpath if profile.is_windows else posixpath
    pieces = [piece.replace("/", "\\") if profile.is_windows else piece for piece in parts]
    return str(path.join(profile.server.site_root, *pieces))


def pythonpath_entry(profile: Profile, lib_dir: str) -> str | None:
    """The lib folder as the server sees it, for PYTHONPATH; None when the platform loads it."""
    if lib_dir in SELF_LOADED and not profile.is_windows:
        return None
    separator = "\\" if profile.is_windows else "/"
    return profile.server.site_root + separator + lib_dir.replace("/", separator)
