"""The site itself on loopback (its default host name): what a health check after a deploy sees.

A test sets what a started site answers (`status`, `body`: 200, 500 for a broken app ...). A
restart (a deployment's, or an app-settings change through the ARM stand-in, both of which
restart the app on App Service) makes the site answer 503 for `starting_requests` requests, as
the front end does while the container starts and the platform's "Service Unavailable" page
when it does not come up. When `settings` names a run-from-package URL
(`WEBSITE_RUN_FROM_PACKAGE=https...`, or http on loopback), a restart downloads it with a plain
GET, as the platform mounts that zip (no auth header: the SAS in the URL must be enough);
`package_status` is what that GET answered, `package_files` the zip's names; a site whose
package could not be read answers 503 (the Functions host cannot start).

`requests` lists the paths asked, `restarts` counts restarts.
"""

from __future__ import annotations

import io
import threading
import urllib.error
import urllib.request
import zipfile
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Self

from tests.support.loopback import LoopbackServer

UNAVAILABLE = b"<h1>Service Unavailable</h1><p>The application is starting.</p>"


class AppServer:
    def __init__(
        self,
        *,
        status: int = 200,
        body: bytes = b"Hello from the app",
        settings: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.settings: dict[str, str] = {} if settings is None else settings
        self.starting_requests = 0
        self.requests: list[str] = []
        self.restarts = 0
        self.package_status: int | str | None = None
        self.package_files: list[str] = []
        self._starting_left = 0
        self._lock = threading.Lock()
        self._http = LoopbackServer(self._handler())
        self.url = self._http.base
        self.host = self.url.removeprefix("http://")

    def __enter__(self) -> Self:
        self._http.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._http.stop()

    def restart(self) -> None:
        """The app restarts: 503 for the next `starting_requests`, and the package is reloaded."""
        with self._lock:
            self.restarts += 1
            self._starting_left = self.starting_requests
        package = self.settings.get("WEBSITE_RUN_FROM_PACKAGE", "")
        if package.lower().startswith("http"):
            self._load_package(package)

    def _load_package(self, url: str) -> None:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                data = response.read()
                self.package_status = int(response.status)
            self.package_files = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except urllib.error.HTTPError as error:
            self.package_status, self.package_files = error.code, []
        except (OSError, zipfile.BadZipFile) as error:
            self.package_status, self.package_files = str(error), []

    def _answer(self, path: str) -> tuple[int, bytes]:
        with self._lock:
            self.requests.append(path)
            if self._starting_left > 0:
                self._starting_left -= 1
                return 503, UNAVAILABLE
        if self.package_status is not None and self.package_status != 200:
            return 503, b"Function host is not running."
        return self.status, self.body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                status, body = site._answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
