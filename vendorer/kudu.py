"""A client for the Kudu REST API of an App Service site (`https://<site>.scm.azurewebsites.net`).

Credentials come from a publish profile or the environment; they travel only in the Basic auth
header, over HTTPS (plain HTTP only to loopback), and never appear in a message or a log.
"""

from __future__ import annotations

import ipaddress
import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from vendorer.errors import ConfigError, VendorerError

__all__ = [
    "CommandResult",
    "Credentials",
    "KuduClient",
    "KuduError",
    "credentials_from_environment",
    "read_publish_profile",
]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
ENVIRONMENT = ("VENDORER_KUDU_URL", "VENDORER_KUDU_USER", "VENDORER_KUDU_PASSWORD")


class KuduError(VendorerError):
    """The Kudu API refused or failed a request."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    url: str  # https://<site>.scm.azurewebsites.net
    user: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandResult:
    output: str
    error: str
    exit_code: int


def read_publish_profile(path: Path) -> Credentials:
    """The MSDeploy (or ZipDeploy) entry of a `.PublishSettings` file."""
    try:
        root = ET.fromstring(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such publish profile") from None
    except (OSError, ET.ParseError) as error:
        raise ConfigError(f"{path}: not a publish profile ({error})") from None
    for method in ("MSDeploy", "ZipDeploy"):
        for entry in root.iter("publishProfile"):
            if entry.get("publishMethod") == method and entry.get("publishUrl"):
                publish = str(entry.get("publishUrl"))
                url = publish if "://" in publish else "https://" + publish.removesuffix(":443")
                return Credentials(
                    url=url, user=entry.get("userName", ""), password=entry.get("userPWD", "")
                )
    raise ConfigError(f"{path}: no MSDeploy or ZipDeploy entry with a publishUrl")


def credentials_from_environment() -> Credentials:
    missing = [name for name in ENVIRONMENT if not os.environ.get(name)]
    if missing:
        raise ConfigError(
            "no Kudu credentials: pass --publish-profile FILE (from the portal, or "
            "`az webapp deployment list-publishing-profiles --xml`), or set " + ", ".join(missing)
        )
    url, user, password = (os.environ[name] for name in ENVIRONMENT)
    return Credentials(url=url, user=user, password=password)


class KuduClient:
    def __init__(
        self,
        credentials: Credentials,
        *,
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 1.0,
    ) -> None:
        parts = urlsplit(credentials.url)
        if parts.scheme != "https" and not _loopback(parts.hostname or ""):
            raise ConfigError(
                f"{credentials.url}: Kudu credentials are only sent over HTTPS "
                "(plain HTTP is allowed to loopback only)"
            )
        self.base = credentials.url.rstrip("/") + "/api/"
        self.retries = max(1, retries)
        self.backoff = backoff
        self._client = httpx.Client(
            auth=httpx.BasicAuth(credentials.user, credentials.password),
            timeout=timeout,
            headers={"User-Agent": "vendorer"},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> KuduClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- vfs ------------------------------------------------------------------------------------

    def read_file(self, path: str) -> bytes | None:
        """A file's bytes under HOME, or None when it does not exist."""
        response = self._request("GET", f"vfs/{_quoted(path)}", allow={404})
        return None if response.status_code == 404 else response.content

    def write_file(self, path: str, data: bytes) -> None:
        self._request("PUT", f"vfs/{_quoted(path)}", content=data, headers={"If-Match": "*"})

    def delete_file(self, path: str) -> None:
        self._request("DELETE", f"vfs/{_quoted(path)}", headers={"If-Match": "*"}, allow={404})

    def put_zip(
        self, folder: str, archive: Path, on_progress: Callable[[int, int], None] | None = None
    ) -> None:
        """Extract the zip file `archive` over `folder` (created if needed; nothing is deleted),
        sending it in chunks; `on_progress` hears (bytes sent, total)."""
        headers = {"Content-Length": str(archive.stat().st_size), "Content-Type": "application/zip"}
        body = _Chunks(archive, on_progress)
        self._request("PUT", f"zip/{_quoted(folder.rstrip('/'))}/", content=body, headers=headers)

    # --- command --------------------------------------------------------------------------------

    def command(self, command: str, directory: str) -> CommandResult:
        response = self._request("POST", "command", json={"command": command, "dir": directory})
        try:
            data: dict[str, Any] = response.json()
            return CommandResult(
                output=str(data.get("Output") or ""),
                error=str(data.get("Error") or ""),
                exit_code=int(data.get("ExitCode", 0)),
            )
        except (AttributeError, TypeError, ValueError):  # not an object, or not numbers
            raise KuduError(
                "the Kudu command API answered something that is not its JSON"
            ) from None

    # --- transport ------------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, allow: frozenset[int] | set[int] = frozenset(), **kw: Any
    ) -> httpx.Response:
        url = self.base + path
        problem = "no answer"
        for attempt in range(self.retries):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self._client.request(method, url, **kw)
            except httpx.TransportError as error:
                problem = f"the connection failed ({type(error).__name__})"
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.retries - 1:
                continue
            if response.status_code < 400 or response.status_code in allow:
                return response
            raise KuduError(_message(method, path, response))
        raise KuduError(f"{method} /api/{path}: {problem} after {self.retries} tries")


class _Chunks:
    """A file sent as a request body in chunks, each reported; iterable again for a retry."""

    def __init__(self, path: Path, on_progress: Callable[[int, int], None] | None) -> None:
        self.path = path
        self.on_progress = on_progress

    def __iter__(self) -> Iterator[bytes]:
        total, sent = self.path.stat().st_size, 0
        with self.path.open("rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 16), b""):
                sent += len(chunk)
                if self.on_progress:
                    self.on_progress(sent, total)
                yield chunk


def _message(method: str, path: str, response: httpx.Response) -> str:
    status = response.status_code
    where = f"{method} /api/{path}: HTTP {status}"
    if status in {401, 403}:
        return (
            f"{where}: the site refused the credentials; download a fresh publish profile "
            "(basic authentication for deployment may be turned off on the site)"
        )
    if status == 404:
        return f"{where}: no such path on the site (is the site extension installed?)"
    if status in {409, 412}:
        return f"{where}: conflict with the site's state (another deployment, or a changed file)"
    return f"{where}: {_body(response)}"


def _body(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    return str(data.get("Message", data) if isinstance(data, dict) else data)[:200]


def _quoted(path: str) -> str:
    return quote(path.lstrip("/"), safe="/")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
