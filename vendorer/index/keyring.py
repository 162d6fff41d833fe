"""Passwords from the `keyring` command, as pip's and uv's `--keyring-provider subprocess` get them.

An index URL that names a user but no password (`https://VssSessionToken@pkgs.dev.azure.com/...`)
has its password asked of `keyring get SERVICE USERNAME`: first with the index URL as the service,
then with its host. Backends such as artifacts-keyring plug into that command; its prompts (a
device-code sign-in, say) reach the terminal, and its answer never appears in a message.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from urllib.parse import urlsplit

from vendorer.errors import UsageError

__all__ = ["keyring_password"]


def keyring_password(url: str, username: str) -> str | None:
    """The password `keyring` holds for `username` at `url` (or at its host), if any."""
    command = shutil.which("keyring")
    if command is None:
        raise UsageError(
            "--keyring-provider subprocess needs the `keyring` command on PATH: install it with "
            "its backend (for Azure Artifacts: pipx install keyring && pipx inject keyring "
            "artifacts-keyring)"
        )
    for service in dict.fromkeys([url, urlsplit(url).hostname or url]):
        result = subprocess.run(
            [command, "get", service, username],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,  # stderr stays the user's: a backend may prompt there
            env={**os.environ, "PYTHONIOENCODING": "utf-8"},
            check=False,
        )
        password = result.stdout.decode("utf-8", errors="replace").rstrip("\r\n")
        if result.returncode == 0 and password:
            return password
    return None
