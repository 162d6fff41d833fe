"""A Kudu-compatible HTTP server on loopback: the REST endpoints vendorer uses, with its rules.

Basic auth; `/api/vfs/` (directory listings with name/size/mtime/crtime/mime/href/path, files with
a quoted ETag, PUT needs If-Match to overwrite (412 otherwise, 201 when new, 204 when replaced),
DELETE needs If-Match, `dir/` vs file); `/api/zip/<dir>/` PUT extracts a zip over the folder
(400 for a bad one); `/api/command` answers `{Output, Error, ExitCode}` with HTTP 200. A folder is
deleted by `DELETE path` with or without its slash (as Kudu checks what is on disk), and only when
empty (409 otherwise) unless `?recursive=true`.

Switches make it fail on purpose: wrong password, an HTTP status on the n-th request (its message
`failure_message`), a connection dropped before the request is handled (`drops`) or after it was
handled and before the answer (`cuts`: the command ran, the client hears nothing), a request held
until `release` is set (`held`), and a slow command (`command_seconds`) behind App Service's front
end, which answers HTTP 500 once a request has taken `front_end_limit` seconds (230 on Azure)
while the command goes on (`finished` lists the commands that completed).

Deployments (deployer.py, deployments.py say what each route answers and why): OneDeploy
`/api/publish`, `/api/zipdeploy`, `/api/deployments/...` and `GET /api/settings` (the flat dict
`settings`, which the ARM stand-in updates when a trio ties them, see azure.py). What a test sets:
- `settings`: the app settings as the SCM site sees them (`SCM_DO_BUILD_DURING_DEPLOYMENT` true-like
  runs an "Oryx build" that leaves `antenv/` or a fresh `.python_packages/` and
  `oryx-manifest.toml`; `WEBSITE_RUN_FROM_PACKAGE` http... gives 409, `1` stores the zip in
  `data/SitePackages`; `FUNCTIONS_EXTENSION_VERSION` makes it a Functions app);
- `deploy_failure` (a message; `deploy_failure_details` the lines under it): every deployment fails
  with status 3 and error log entries that have details; `deploy_hangs`: deployments never
  complete (until it is cleared or the server stops); `build_seconds`: each takes that long;
  `cut_uploads`: the next N deploy requests are received and handled (the deployment happens),
  then the connection is cut before the answer; `front_end_limit` applies to synchronous deploys
  as to commands (500 at the limit, the deployment goes on); `retry_after` (zipdeploy's
  Retry-After, 30 as Windows Kudu); `failed_sync_status` (what a synchronous deploy whose build
  failed answers: 200 in KuduLite);
- auth: Basic with `user`/`password` while `basic_auth` is true (false: 401, as when SCM basic
  auth is disabled), or `Authorization: Bearer <t>` for any `t` in `tokens`; `auth_schemes`
  records the scheme each request used;
- the site: `on_restart` callbacks run when a deployment restarts it (an AppServer's `restart`),
  `restarts` counts them, `python_version` is the site's Python (`PYTHON|3.12`).
`FlexKuduServer` is the Flex Consumption variant (`FlexDeployer`): Bearer only by default.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import shutil
import threading
import time
import zipfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.support.deployer import Deployer, FlexDeployer
from tests.support.deployments import SUCCESS, Reply
from tests.support.loopback import LoopbackServer


class KuduServer:
    deployer_class: ClassVar[type[Deployer]] = Deployer

    def __init__(
        self,
        home: Path,
        *,
        user: str = "$site",
        password: str = "s3cret-kudu",
        settings: dict[str, str] | None = None,
        tokens: Iterable[str] = (),
        basic_auth: bool = True,
    ) -> None:
        self.home = home
        self.user = user
        self.password = password
        self.settings: dict[str, str] = {} if settings is None else settings
        self.tokens: set[str] = set(tokens)
        self.basic_auth = basic_auth
        self.auth_schemes: list[str] = []
        self.python_version = "3.12"
        self.deploy_failure: str | None = None
        self.deploy_failure_details: list[str] = ["ERROR: the build failed on purpose"]
        self.deploy_hangs = False
        self.build_seconds = 0.0
        self.cut_uploads = 0
        self.retry_after = 30
        self.failed_sync_status = 200
        self.flex_final_status = SUCCESS
        self.early_404s = 0
        self.on_restart: list[Callable[[], None]] = []
        self.restarts = 0
        self.deployments = self.deployer_class(self)
        self.requests: list[tuple[str, str]] = []
        self.zips: list[tuple[str, list[str]]] = []  # (folder, member names) of each zip PUT
        self.commands: list[dict[str, str]] = []
        self.command_result: object = {"Output": "ok\n", "Error": "", "ExitCode": 0}
        self.failures: dict[int, int] = {}  # request number (1-based) -> HTTP status
        self.failure_message = "failure on purpose"
        self.drops: set[int] = set()  # request numbers whose connection is cut, unhandled
        self.cuts: set[int] = set()  # request numbers handled, then cut before the answer
        self.held: set[int] = set()  # request numbers that wait for `release` (30 s at most)
        self.release = threading.Event()
        self.command_seconds = 0.0
        self.front_end_limit: float | None = None
        self.finished: list[dict[str, str]] = []
        self._count = 0
        self._lock = threading.Lock()
        self._http = LoopbackServer(self._handler())
        self.url = self._http.base

    def __enter__(self) -> Self:
        self.home.mkdir(parents=True, exist_ok=True)
        self._http.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.deployments.stopping.set()  # a hanging or slow deployment ends
        self._http.stop()

    @property
    def wwwroot(self) -> Path:
        return self.home / "site/wwwroot"

    def restart_site(self) -> None:
        """A deployment restarted the app (its container on Linux)."""
        self.restarts += 1
        for callback in self.on_restart:
            callback()

    def wait_for_deployment(self, timeout: float = 30) -> None:
        """Wait until no deployment runs (for tests that started one asynchronously)."""
        record = self.deployments.pending()
        if record is not None and not record.done.wait(timeout):
            raise TimeoutError("the deployment did not finish")

    def next_number(self) -> int:
        with self._lock:
            self._count += 1
            return self._count

    @property
    def count(self) -> int:
        return self._count

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            _cut = False

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _dispatch(self) -> None:
                number = server.next_number()
                server.requests.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if number in server.held:
                    server.release.wait(30)
                self._cut = number in server.cuts
                if number in server.drops:
                    self._hang_up()
                    return
                if not self._authorized():
                    self._json(401, {"Message": "Unauthorized"})
                    return
                if number in server.failures:
                    self._json(server.failures[number], {"Message": server.failure_message})
                    return
                path = unquote(urlsplit(self.path).path)
                if path.startswith("/api/vfs/"):
                    self._vfs(path.removeprefix("/api/vfs/"), body)
                elif path.startswith("/api/zip/") and self.command == "PUT":
                    self._zip(path.removeprefix("/api/zip/"), body)
                elif path == "/api/command" and self.command == "POST":
                    self._command(json.loads(body))
                else:
                    self._deploy_routes(path, body)

            def _deploy_routes(self, path: str, body: bytes) -> None:
                query = {k.lower(): v for k, v in parse_qsl(urlsplit(self.path).query)}
                route = path.removeprefix("/api")
                deployer = server.deployments
                deploys = route == "/publish" or path == "/api/zipdeploy"  # publish: both routes
                if deploys and self.command in ("POST", "PUT"):
                    if server.cut_uploads > 0:  # received in full; the answer will be lost
                        server.cut_uploads -= 1
                        self._cut = True
                    handle = deployer.publish if route == "/publish" else deployer.zipdeploy
                    self._reply(handle(query, body))
                elif route.rstrip("/").split("/")[1:2] == ["deployments"] and self.command == "GET":
                    parts = [part for part in route.split("/")[2:] if part]
                    self._reply(deployer.get(parts, server.url + self.path))
                elif path == "/api/settings" and self.command == "GET":
                    self._json(200, dict(server.settings))
                else:
                    self._json(404, {"Message": f"no route {path}"})

            def _reply(self, reply: Reply) -> None:
                self._send(reply.status, reply.body, reply.kind, reply.headers)

            def _hang_up(self) -> None:
                self.close_connection = True
                with contextlib.suppress(OSError):  # the client may be gone already
                    self.connection.shutdown(2)

            def _command(self, request: dict[str, str]) -> None:
                server.commands.append(request)  # it runs from here on
                limit, seconds = server.front_end_limit, server.command_seconds
                if limit is not None and seconds > limit:
                    done = threading.Timer(seconds, server.finished.append, [request])
                    done.daemon = True
                    done.start()
                    time.sleep(limit)
                    page = b"<h2>500 - The request timed out.</h2><h3>The web server failed to "
                    self._send(500, page + b"respond within the specified time.</h3>", "text/html")
                    return
                time.sleep(seconds)
                server.finished.append(request)
                self._json(200, server.command_result)

            do_GET = do_PUT = do_POST = do_DELETE = _dispatch

            def _authorized(self) -> bool:
                """Basic (while `basic_auth`) or a Bearer token the server was given."""
                scheme, _, value = (self.headers.get("Authorization") or "").partition(" ")
                server.auth_schemes.append(scheme)
                if scheme == "Bearer":
                    return value in server.tokens
                token = base64.b64encode(f"{server.user}:{server.password}".encode()).decode()
                return scheme == "Basic" and server.basic_auth and value == token

            def _target(self, relative: str) -> Path | None:
                target = (server.home / relative).resolve()
                home = server.home.resolve()
                return target if target == home or home in target.parents else None

            def _vfs(self, relative: str, body: bytes) -> None:
                target = self._target(relative)
                if target is None:
                    self._json(400, {"Message": "outside HOME"})
                    return
                folder = relative.endswith("/") or relative == ""
                if self.command == "GET":
                    self._vfs_get(target, relative, folder)
                elif self.command == "PUT":
                    self._vfs_put(target, body, folder)
                elif self.command == "DELETE":
                    self._vfs_delete(target, folder)

            def _vfs_delete(self, target: Path, folder: bool) -> None:
                """Kudu looks at the disk first: a folder is deleted with or without its slash
                (409 when not empty, unless recursive); a file named with a slash is a 307."""
                if not target.exists():
                    self._json(404, {"Message": f"'{target.name}' not found."})
                elif target.is_dir():
                    recursive = "recursive=true" in self.path
                    if any(target.iterdir()) and not recursive:
                        self._json(409, {"Message": "Cannot delete directory. It is not empty."})
                    else:
                        shutil.rmtree(target)
                        self._send(200, b"", "text/plain")
                elif folder:
                    self._send(307, b"", "text/plain")
                elif self.headers.get("If-Match") not in {"*", _etag(target.read_bytes())}:
                    self._json(412, {"Message": "If-Match required to delete"})
                else:
                    target.unlink()
                    self._send(200, b"", "text/plain")

            def _vfs_get(self, target: Path, relative: str, folder: bool) -> None:
                if not target.exists():
                    self._json(404, {"Message": "not found"})
                elif folder != target.is_dir():
                    self._send(307, b"", "text/plain")
                elif folder:
                    self._json(200, [_entry(server, child) for child in sorted(target.iterdir())])
                else:
                    data = target.read_bytes()
                    self._send(200, data, "application/octet-stream", {"ETag": _etag(data)})

            def _vfs_put(self, target: Path, body: bytes, folder: bool) -> None:
                if folder:
                    if target.exists():
                        self._json(409, {"Message": "exists"})
                    else:
                        target.mkdir(parents=True)
                        self._send(201, b"", "text/plain")
                    return
                if target.exists():
                    match = self.headers.get("If-Match")
                    if match not in {"*", _etag(target.read_bytes())}:
                        self._json(412, {"Message": "If-Match required to overwrite"})
                        return
                    target.write_bytes(body)
                    self._send(204, b"", "text/plain")
                    return
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(body)
                self._send(201, b"", "text/plain")

            def _zip(self, relative: str, body: bytes) -> None:
                target = self._target(relative)
                try:
                    archive = zipfile.ZipFile(io.BytesIO(body))
                    names = archive.namelist()
                except zipfile.BadZipFile:
                    self._json(400, {"Message": "bad zip"})
                    return
                if target is None or any(self._target(f"{relative}/{n}") is None for n in names):
                    self._json(400, {"Message": "outside HOME"})
                    return
                target.mkdir(parents=True, exist_ok=True)
                archive.extractall(target)
                server.zips.append((relative.rstrip("/"), names))
                self._send(200, b"", "text/plain")

            def _json(self, status: int, data: object) -> None:
                self._send(status, json.dumps(data).encode(), "application/json")

            def _send(
                self,
                status: int,
                body: bytes,
                kind: str,
                headers: dict[str, str] | None = None,
            ) -> None:
                if self._cut:  # handled; the client never hears of it
                    self._hang_up()
                    return
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

        return Handler


def _etag(data: bytes) -> str:
    return f'"{hashlib.sha256(data).hexdigest()[:16]}"'


def _entry(server: KuduServer, path: Path) -> dict[str, Any]:
    stat = path.stat()
    relative = path.relative_to(server.home).as_posix() + ("/" if path.is_dir() else "")
    when = datetime.fromtimestamp(stat.st_mtime, tz=UTC).isoformat()
    return {
        "name": path.name,
        "size": 0 if path.is_dir() else stat.st_size,
        "mtime": when,
        "crtime": when,
        "mime": "inode/directory" if path.is_dir() else "application/octet-stream",
        "href": f"{server.url}/api/vfs/{relative}",
        "path": f"D:\\home\\{relative}".replace("/", "\\"),
    }


class FlexKuduServer(KuduServer):
    """The SCM host of a Flex Consumption app: its own deployment service (FlexDeployer), and
    Bearer tokens only unless `basic_auth=True` (az cli always sends Bearer to Flex,
    `get_scm_site_headers_flex`, custom.py:8124-8137)."""

    deployer_class: ClassVar[type[Deployer]] = FlexDeployer

    def __init__(self, home: Path, **options: Any) -> None:
        options.setdefault("basic_auth", False)
        super().__init__(home, **options)
