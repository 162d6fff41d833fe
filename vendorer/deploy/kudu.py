"""A client for the Kudu REST API of an App Service site (`https://<site>.scm.azurewebsites.net`).

Credentials come from a publish profile or the environment (Basic auth), or are a Microsoft Entra
ID token source (Bearer; `vendorer.deploy.kudu_credentials`); they travel only in the
Authorization header, over HTTPS (plain HTTP only to loopback), and never appear in a message or
a log. The deployment endpoints (`post_package`, `get_json`) serve `vendorer.deploy.routes`.

Requests go through the shared transport (`vendorer.index.transport`): retries, backoff and
Retry-After, one User-Agent, and its idempotency rule (`may_resend`): a command
(`POST /api/command`) that went out is never re-sent, whatever happened to its answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from vendorer.deploy.kudu_credentials import (
    BearerAuth,
    BearerCredentials,
    Credentials,
    credentials_from_environment,
    kudu_site,
    read_publish_profile,
)
from vendorer.errors import VendorerError
from vendorer.index.transport import GaveUp, Transport, may_resend
from vendorer.report import NULL_REPORTER, UPLOAD, Reporter, running

__all__ = [
    "COMMAND_TIMEOUT",
    "BearerCredentials",
    "CommandOutcomeUnknown",
    "CommandResult",
    "Credentials",
    "KuduAnswer",
    "KuduClient",
    "KuduError",
    "VfsEntry",
    "credentials_from_environment",
    "kudu_site",
    "may_resend",
    "read_publish_profile",
]

# App Service's front end ends any request after 230 s; waiting a little longer lets its answer
# (not a timeout of ours) say what happened to a long command.
COMMAND_TIMEOUT = 300.0
DIRECTORY = "inode/directory"
BEARER_VALUE = re.compile(r"(\bBearer\s+)[^\s\"',;]+", re.IGNORECASE)  # a token quoted back
_UPLOADING = "uploading"  # the UPLOAD task's title


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
class CommandResult:
    output: str
    error: str
    exit_code: int


@dataclass(frozen=True, slots=True, kw_only=True)
class VfsEntry:
    name: str
    folder: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class KuduAnswer:
    """An answer of the deployment endpoints: its status, its JSON (None when it had none), and
    the `Location` it names."""

    status: int
    data: Any = None
    location: str | None = None


# --- the client ----------------------------------------------------------------------------------


class KuduClient:
    def __init__(
        self,
        credentials: Credentials | BearerCredentials,
        *,
        timeout: float = 60.0,
        command_timeout: float = COMMAND_TIMEOUT,
        retries: int = 3,
        backoff: float = 1.0,
    ) -> None:
        url, _, _ = kudu_site(credentials.url, "the Kudu URL")
        self.base = url + "/api/"
        self.command_timeout = command_timeout
        auth: httpx.Auth
        if isinstance(credentials, BearerCredentials):
            self._bearer: BearerAuth | None = BearerAuth(credentials.token)
            auth, secrets = self._bearer, []
        else:
            self._bearer = None
            auth = httpx.BasicAuth(credentials.user, credentials.password)
            secrets = [credentials.password]
        self._transport = Transport(
            auth=auth, timeout=timeout, retries=retries, backoff=backoff, secrets=secrets
        )

    def close(self) -> None:
        self._transport.close()

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

    def put_zip(self, folder: str, archive: Path, reporter: Reporter = NULL_REPORTER) -> None:
        """Extract the zip file `archive` over `folder` (created if needed; nothing is deleted),
        sending it in chunks: the UPLOAD task of `reporter`, in bytes."""
        size = archive.stat().st_size
        headers = {"Content-Length": str(size), "Content-Type": "application/zip"}
        body = _Chunks(archive, reporter)
        with running(reporter, UPLOAD, title=_UPLOADING, total=size):
            self._request("PUT", f"zip/{_folder(folder)}", content=body, headers=headers)

    # --- command --------------------------------------------------------------------------------

    def command(self, command: str, directory: str) -> CommandResult:
        """Run `command` in `directory` (below HOME) once; `CommandOutcomeUnknown` when it went
        out and no answer came back."""
        response = self._request(
            "POST",
            "command",
            json={"command": command, "dir": directory},
            timeout=httpx.Timeout(self._transport.timeout, read=self.command_timeout),
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

    # --- deployments ----------------------------------------------------------------------------

    def post_package(
        self, path: str, archive: Path, reporter: Reporter = NULL_REPORTER
    ) -> KuduAnswer:
        """POST the zip `archive` to a deployment endpoint (`path` below /api/, with its query)
        once: its answer, a 409 (another deployment runs) included. CommandOutcomeUnknown when
        the request went out and no answer came back: the deployment may run all the same."""
        headers = {"Content-Length": str(archive.stat().st_size), "Content-Type": "application/zip"}
        response = self._request(
            "POST",
            path,
            content=_Chunks(archive, reporter),
            headers=headers,
            allow={409},
            timeout=httpx.Timeout(self._transport.timeout, read=self.command_timeout),
        )
        return _answer(response)

    def get_json(self, target: str, allow: frozenset[int] = frozenset({404})) -> KuduAnswer:
        """GET `target`: a path below /api/, or a URL the site gave (a `Location`, a log's
        `details_url`), of which only the path and query are used, on this client's site: the
        credentials never follow a URL elsewhere."""
        return _answer(self._request("GET", self._below_api(target), allow=allow))

    def settings(self) -> dict[str, str]:
        """The app settings as the SCM site sees them (`/api/settings`, a flat JSON object)."""
        data = self.get_json("settings", allow=frozenset()).data
        if not isinstance(data, dict):
            raise KuduError("GET /api/settings: the site answered something that is not settings")
        return {str(key): str(value) for key, value in data.items()}

    def delete_tree(self, path: str) -> None:
        """Remove a folder under HOME and all it holds (nothing when it does not exist)."""
        self._request("DELETE", f"vfs/{_folder(path)}?recursive=true", allow={404})

    def _below_api(self, target: str) -> str:
        if "://" not in target:
            return target.lstrip("/")
        parts, api = urlsplit(target), urlsplit(self.base).path
        site = api.removesuffix("api/")  # Kudu maps each route with and without /api
        if not parts.path.startswith(site):
            raise KuduError(f"the site pointed at {parts.path}, which is not one of its API paths")
        path = (
            parts.path.removeprefix(api)
            if parts.path.startswith(api)
            else parts.path.removeprefix(site)
        )
        return path + (f"?{parts.query}" if parts.query else "")

    def scrub(self, text: str) -> str:
        """`text` (from the site) without the password, a token, or any URL's userinfo."""
        text = BEARER_VALUE.sub(r"\1***", self._transport.scrub(text))
        for token in self._bearer.tokens if self._bearer else ():
            text = text.replace(token, "***")
        return text

    # --- transport ------------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, allow: frozenset[int] | set[int] = frozenset(), **kw: Any
    ) -> httpx.Response:
        """The answer to a request sent over the transport (a status in `allow` is an answer too);
        KuduError for a refusal or a failure, CommandOutcomeUnknown when the request went out
        and must not be sent again."""
        where = f"{method} /api/{path}"
        scrub = self.scrub

        def receive(response: httpx.Response) -> httpx.Response:
            response.read()
            status = response.status_code
            if status < 400 or status in allow:
                return response
            if status >= 500 and not may_resend(method, None):
                raise CommandOutcomeUnknown(f"HTTP {status} ({_body(response, scrub)})", where)
            raise KuduError(
                _message(method, path, response, scrub, bearer=self._bearer is not None)
            )

        try:
            return self._transport.send(method, self.base + path, receive, **kw)
        except GaveUp as gave_up:
            problem = scrub(_failure(gave_up.error))
            raise KuduError(f"{where}: {problem} after {gave_up.tries} tries") from None
        except httpx.RequestError as error:
            problem = scrub(_failure(error))
            if not may_resend(method, error):
                raise CommandOutcomeUnknown(problem, where) from None
            raise KuduError(f"{where}: {problem}") from None


class _Chunks:
    """A file sent as a request body in chunks, each reported; iterable again for a retry, which
    starts the count over."""

    def __init__(self, path: Path, reporter: Reporter) -> None:
        self.path = path
        self.reporter = reporter
        self.sent_before = False

    def __iter__(self) -> Iterator[bytes]:
        if self.sent_before:
            self.reporter.started(UPLOAD, title=_UPLOADING, total=self.path.stat().st_size)
        self.sent_before = True
        with self.path.open("rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 16), b""):
                self.reporter.advanced(UPLOAD, size=len(chunk))
                yield chunk


def _answer(response: httpx.Response) -> KuduAnswer:
    try:
        data = response.json() if response.content else None
    except ValueError:  # not JSON: an empty 202, a text page
        data = None
    return KuduAnswer(
        status=response.status_code, data=data, location=response.headers.get("location")
    )


def _failure(error: httpx.RequestError) -> str:
    if isinstance(error, httpx.TimeoutException):
        return f"no answer in time ({type(error).__name__})"
    detail = str(error).strip()
    kind = type(error).__name__
    return (
        f"the connection failed ({kind}: {detail})" if detail else f"the connection failed ({kind})"
    )


def _message(
    method: str,
    path: str,
    response: httpx.Response,
    scrub: Callable[[str], str],
    *,
    bearer: bool = False,
) -> str:
    status = response.status_code
    where = f"{method} /api/{path}: HTTP {status}"
    if status in {401, 403} and bearer:
        return (
            f"{where}: the site refused the Entra ID token; the signed-in identity needs a role "
            "that may deploy to the site (Website Contributor or Contributor on the app)"
        )
    if status in {401, 403}:
        return (
            f"{where}: the site refused the credentials; download a fresh publish profile "
            "(basic authentication for deployment may be turned off on the site)"
        )
    if status == 404:
        return f"{where}: no such path on the site (is the site extension installed?)"
    if status in {409, 412}:
        return f"{where}: conflict with the site's state (another deployment, or a changed file)"
    return scrub(f"{where}: {_body(response, scrub)}")


def _body(response: httpx.Response, scrub: Callable[[str], str]) -> str:
    """What the answer says, scrubbed before it is cut short (a cut would leave a secret's
    beginning, which no scrubbing recognizes)."""
    try:
        data = response.json()
    except ValueError:  # text or an HTML page (the front end's): its words only
        return scrub(" ".join(re.sub(r"<[^>]*>", " ", response.text).split()))[:200]
    return scrub(str(data.get("Message", data) if isinstance(data, dict) else data))[:200]


def _quoted(path: str) -> str:
    return quote(path.lstrip("/"), safe="/")


def _folder(path: str) -> str:
    """A folder's vfs path: quoted, with the trailing slash Kudu reads as `folder`."""
    return _quoted(path.strip("/")) + "/" if path.strip("/") else ""
