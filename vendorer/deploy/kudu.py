"""A client for the Kudu REST API of an App Service site (`https://<site>.scm.azurewebsites.net`).

Credentials come from a publish profile or the environment; they travel only in the Basic auth
header, over HTTPS (plain HTTP only to loopback), and never appear in a message or a log.

A request is sent again after a failure only when sending it twice does no harm (`may_resend`):
a command (`POST /api/command`) that went out is never re-sent, whatever happened to its answer.
"""

from __future__ import annotations

import codecs
import ipaddress
import os
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import SplitResult, quote, unquote, urlsplit, urlunsplit

import httpx

from vendorer._util.urls import redact
from vendorer.errors import ConfigError, VendorerError

__all__ = [
    "COMMAND_TIMEOUT",
    "CommandOutcomeUnknown",
    "CommandResult",
    "Credentials",
    "KuduClient",
    "KuduError",
    "VfsEntry",
    "credentials_from_environment",
    "kudu_site",
    "may_resend",
    "read_publish_profile",
]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
ENVIRONMENT = ("VENDORER_KUDU_URL", "VENDORER_KUDU_USER", "VENDORER_KUDU_PASSWORD")
# App Service's front end ends any request after 230 s; waiting a little longer lets its answer
# (not a timeout of ours) say what happened to a long command.
COMMAND_TIMEOUT = 300.0
# Every PUT vendorer sends overwrites (vfs with If-Match: *, or a zip extracted over a folder) and
# every DELETE accepts 404: sending one twice ends in the same state as sending it once.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})
# Failures that happen before any byte of the request left this machine.
NOTHING_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
DIRECTORY = "inode/directory"
SITE_HINT = "expected https://<site>.scm.azurewebsites.net"
XML_BOMS = (  # UTF-32's before UTF-16's: FF FE 00 00 starts with FF FE
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class KuduError(VendorerError):
    """The Kudu API refused or failed a request."""


class CommandOutcomeUnknown(KuduError):
    """A command was sent and no answer came back: it may have run, or may still be running."""

    def __init__(self, reason: str, where: str = "POST /api/command") -> None:
        super().__init__(
            f"{where}: {reason} after the command was sent. It may have run, or may "
            "still be running on the server (App Service's front end ends a request after 230 s; "
            "the command goes on). vendorer never sends a command twice: look at what it did "
            "before you run it again"
        )
        self.reason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    url: str  # https://<site>.scm.azurewebsites.net, never with userinfo
    user: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandResult:
    output: str
    error: str
    exit_code: int


@dataclass(frozen=True, slots=True, kw_only=True)
class VfsEntry:
    name: str
    folder: bool


def may_resend(method: str, error: Exception | None) -> bool:
    """Whether a request that failed (`error`, or None for an HTTP error status) may be sent again.

    The one rule: an idempotent request may; any other only when nothing of it was sent (the
    connection was refused or never made), because the server may have acted on it already.
    """
    return method in IDEMPOTENT or isinstance(error, NOTHING_SENT)


# --- where the site is, and who we are there ---------------------------------------------------


def kudu_site(text: str, source: str) -> tuple[str, str | None, str | None]:
    """The Kudu base URL in `text` without credentials, and the user and password it carried.

    A bare `host:port` (a publish profile's publishUrl) means HTTPS. Anything that is not an
    http(s) URL with a host and a valid port is refused, and the message never shows userinfo.
    """
    text = text.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        parts, port = _split(text)
    except ValueError as error:
        raise ConfigError(f"{source}: {_shown(text)} is not a URL ({error}); {SITE_HINT}") from None
    shown = redact(text)
    if parts.scheme not in {"http", "https"}:
        raise ConfigError(f"{source}: {shown}: Kudu is reached over https; {SITE_HINT}")
    if not parts.hostname:
        raise ConfigError(f"{source}: {shown} names no host; {SITE_HINT}")
    if parts.query or parts.fragment:
        raise ConfigError(f"{source}: {shown}: a Kudu URL has no query or fragment; {SITE_HINT}")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = {"https": 443, "http": 80}[parts.scheme]
    netloc = host if port in {None, default} else f"{host}:{port}"
    url = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    if parts.scheme != "https" and not _loopback(parts.hostname):
        raise ConfigError(
            f"{source}: {url}: Kudu credentials are only sent over HTTPS "
            "(plain HTTP is allowed to loopback only)"
        )
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return url, user, password


def _split(text: str) -> tuple[SplitResult, int | None]:
    """`text` split as a URL, and its port; ValueError saying why it is not one."""
    if any(character.isspace() or not character.isprintable() for character in text):
        raise ValueError("it holds a space or a control character")
    parts = urlsplit(text)
    port = parts.port  # ValueError for a port out of range or not a number
    if port == 0:
        raise ValueError("port 0")
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host:
            host.encode("idna")  # UnicodeError (a ValueError) for an empty or too long label
    try:
        httpx.URL(text)
    except httpx.InvalidURL as error:
        raise ValueError(str(error)) from None
    return parts, port


def read_publish_profile(path: Path) -> Credentials:
    """The MSDeploy (or ZipDeploy) entry of a `.PublishSettings` file.

    The file is parsed as XML bytes, so whatever encoding its BOM or declaration says (UTF-16 as
    Windows PowerShell writes it, UTF-8 with or without a BOM, windows-1252) is read as such.
    """
    root = _publish_data(path)
    for method in ("MSDeploy", "ZipDeploy"):
        for entry in root.iter("publishProfile"):
            if entry.get("publishMethod") == method and entry.get("publishUrl"):
                url, user, password = kudu_site(str(entry.get("publishUrl")), str(path))
                user = entry.get("userName") or user
                password = entry.get("userPWD") or password
                if not user or not password:
                    raise ConfigError(
                        f"{path}: its {method} entry has no userName or userPWD; download the "
                        "publish profile again (basic authentication for deployment must be on)"
                    )
                return Credentials(url=url, user=user, password=password)
    raise ConfigError(
        f"{path}: no MSDeploy or ZipDeploy entry with a publishUrl; is it the site's "
        "publish profile (`az webapp deployment list-publishing-profiles --xml`)?"
    )


def credentials_from_environment() -> Credentials:
    """VENDORER_KUDU_URL, with VENDORER_KUDU_USER and _PASSWORD or the URL's own userinfo (the
    `scmUri` that `az webapp deployment list-publishing-credentials` prints carries both)."""
    raw = os.environ.get("VENDORER_KUDU_URL", "")
    url, user, password = kudu_site(raw, "VENDORER_KUDU_URL") if raw else ("", None, None)
    user = os.environ.get("VENDORER_KUDU_USER") or user
    password = os.environ.get("VENDORER_KUDU_PASSWORD") or password
    missing = [
        name for name, value in zip(ENVIRONMENT, (url, user, password), strict=True) if not value
    ]
    if missing or not user or not password:
        raise ConfigError(
            "no Kudu credentials: pass --publish-profile FILE (from the portal, or "
            "`az webapp deployment list-publishing-profiles --xml`), or set " + ", ".join(missing)
        )
    return Credentials(url=url, user=user, password=password)


def _publish_data(path: Path) -> ET.Element:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such publish profile") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the publish profile: {error.strerror}") from None
    try:
        return ET.fromstring(data)  # bytes: expat reads the BOM and the declared encoding
    except (ET.ParseError, ValueError, LookupError) as error:
        problem = error
    try:  # an encoding expat does not decode itself (UTF-32, multi-byte ones): Python's codecs
        return ET.fromstring(_decoded(data))
    except (ET.ParseError, ValueError, LookupError):  # UnicodeDecodeError is a ValueError
        pass
    if isinstance(problem, ET.ParseError):
        raise ConfigError(f"{path}: not a publish profile: {_not_xml(data, problem)}")
    raise ConfigError(
        f"{path}: not a publish profile: its XML encoding cannot be read ({problem}); "
        "save it as UTF-8"
    )


def _decoded(data: bytes) -> str:
    """An XML document's text, decoded as its BOM or else its declaration says."""
    for bom, codec in XML_BOMS:
        if data.startswith(bom):
            return data.decode(codec)
    declared = re.match(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z][\w.-]*)[\"']", data)
    return data.decode(declared.group(1).decode("ascii") if declared else "utf-8")


def _not_xml(data: bytes, error: ET.ParseError) -> str:
    head = data.lstrip()[:1]
    if not data.strip():
        return "the file is empty"
    if head in {b"{", b"["}:
        return "it is JSON; ask for XML: `az webapp deployment list-publishing-profiles --xml`"
    return f"not XML ({error})"


# --- the client ----------------------------------------------------------------------------------


class KuduClient:
    def __init__(
        self,
        credentials: Credentials,
        *,
        timeout: float = 60.0,
        command_timeout: float = COMMAND_TIMEOUT,
        retries: int = 3,
        backoff: float = 1.0,
    ) -> None:
        url, _, _ = kudu_site(credentials.url, "the Kudu URL")
        self.base = url + "/api/"
        self.retries = max(1, retries)
        self.backoff = backoff
        self.command_timeout = command_timeout
        self._secret = credentials.password
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

    def list_folder(self, path: str) -> list[VfsEntry] | None:
        """What a folder under HOME holds, or None when it does not exist."""
        response = self._request("GET", f"vfs/{_folder(path)}", allow={404})
        if response.status_code == 404:
            return None
        try:
            return [
                VfsEntry(name=str(item["name"]), folder=item.get("mime") == DIRECTORY)
                for item in response.json()
            ]
        except (KeyError, TypeError, ValueError, AttributeError):
            raise KuduError(
                f"GET /api/vfs/{_folder(path)}: the site answered something that is not a "
                "folder listing"
            ) from None

    def delete_folder(self, path: str) -> bool:
        """Remove an empty folder; False (and nothing removed) when it still holds something."""
        response = self._request("DELETE", f"vfs/{_folder(path)}", allow={404, 409})
        return response.status_code != 409

    def put_zip(
        self, folder: str, archive: Path, on_progress: Callable[[int, int], None] | None = None
    ) -> None:
        """Extract the zip file `archive` over `folder` (created if needed; nothing is deleted),
        sending it in chunks; `on_progress` hears (bytes sent, total)."""
        headers = {"Content-Length": str(archive.stat().st_size), "Content-Type": "application/zip"}
        body = _Chunks(archive, on_progress)
        self._request("PUT", f"zip/{_folder(folder)}", content=body, headers=headers)

    # --- command --------------------------------------------------------------------------------

    def command(self, command: str, directory: str) -> CommandResult:
        """Run `command` in `directory` (below HOME) once; `CommandOutcomeUnknown` when it went
        out and no answer came back."""
        response = self._request(
            "POST",
            "command",
            json={"command": command, "dir": directory},
            timeout=httpx.Timeout(self._client.timeout.connect, read=self.command_timeout),
        )
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
            except httpx.RequestError as error:
                problem = self._scrub(_failure(error))
                if not may_resend(method, error):
                    raise CommandOutcomeUnknown(problem, f"{method} /api/{path}") from None
                continue
            status = response.status_code
            if status < 400 or status in allow:
                return response
            if status >= 500 and not may_resend(method, None):
                body = self._scrub(_body(response))
                raise CommandOutcomeUnknown(f"HTTP {status} ({body})", f"{method} /api/{path}")
            if status in RETRY_STATUSES and attempt < self.retries - 1 and may_resend(method, None):
                continue
            raise KuduError(self._scrub(_message(method, path, response)))
        raise KuduError(f"{method} /api/{path}: {problem} after {self.retries} tries")

    def _scrub(self, text: str) -> str:
        """`text` (from a response or an exception) without userinfo or the password."""
        text = re.sub(r"([A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#@]*@", r"\1", text)
        return text.replace(self._secret, "***") if len(self._secret) >= 4 else text


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


def _failure(error: httpx.RequestError) -> str:
    if isinstance(error, httpx.TimeoutException):
        return f"no answer in time ({type(error).__name__})"
    detail = str(error).strip()
    kind = type(error).__name__
    return (
        f"the connection failed ({kind}: {detail})" if detail else f"the connection failed ({kind})"
    )


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
    except ValueError:  # text or an HTML page (the front end's): its words only
        return " ".join(re.sub(r"<[^>]*>", " ", response.text).split())[:200]
    return str(data.get("Message", data) if isinstance(data, dict) else data)[:200]


def _shown(text: str) -> str:
    """A string that failed to parse as a URL, with anything that could be userinfo cut out."""
    scheme, _, rest = text.partition("://")
    end = min((rest.find(mark) for mark in "/?#" if mark in rest), default=len(rest))
    return f"{scheme}://{rest[:end].rpartition('@')[2]}{rest[end:]}"


def _quoted(path: str) -> str:
    return quote(path.lstrip("/"), safe="/")


def _folder(path: str) -> str:
    """A folder's vfs path: quoted, with the trailing slash Kudu reads as `folder`."""
    return _quoted(path.strip("/")) + "/" if path.strip("/") else ""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
