"""Real package indexes on loopback, serving the distributions the fixtures build.

`PypiServer` runs the real pypiserver (2.x). It serves PEP 503 HTML with `#sha256=` fragments and
nothing else: no `data-requires-python`, no PEP 691 JSON, no PEP 658 metadata, no yanking. So a
client must read Requires-Python and dependencies from the wheel itself, as with many private
indexes.

`StaticIndex` serves the rest of the standards from a threaded `http.server`: PEP 691 JSON or
PEP 503 HTML by the Accept header, `data-requires-python`, PEP 592 yanked files, PEP 658/714
`.metadata` files, optional Basic auth, a flat find-links page, and switches that make it fail on
purpose.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import socket
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PypiServer:
    """The real pypiserver over `root`, on 127.0.0.1, for the duration of a `with` block."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/simple/"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        self.root.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "pypiserver", "run", "-i", "127.0.0.1", "-p", str(self.port),
            "--disable-fallback", "-a", ".", "-P", ".", str(self.root),
        ]  # fmt: skip
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error = self._process.stderr.read().decode() if self._process.stderr else ""
                raise RuntimeError(f"pypiserver exited: {error}")
            try:
                httpx.get(self.url, timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.__exit__(None, None, None)
        raise RuntimeError("pypiserver did not start within 30 s")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stderr:
                self._process.stderr.close()
            self._process = None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def core_metadata(path: Path) -> bytes:
    """A wheel's METADATA or an sdist's PKG-INFO."""
    if path.name.endswith(".whl"):
        with zipfile.ZipFile(path) as wheel:
            name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
            return wheel.read(name)
    with tarfile.open(path) as sdist:
        member = next(m for m in sdist.getmembers() if m.name.count("/") == 1
                      and m.name.endswith("/PKG-INFO"))  # fmt: skip
        extracted = sdist.extractfile(member)
        assert extracted is not None
        return extracted.read()


def _project(filename: str) -> str:
    if filename.endswith(".whl"):
        return str(parse_wheel_filename(filename)[0])
    return str(parse_sdist_filename(filename)[0])


class StaticIndex:
    """A standards-complete simple index over the files in `root`, on 127.0.0.1."""

    def __init__(
        self,
        root: Path,
        *,
        yanked: Mapping[str, str] | None = None,
        metadata: bool = True,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.root = root
        self.yanked = dict(yanked or {})
        self.metadata = metadata
        self.auth = auth
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.statuses: list[tuple[str, int]] = []
        self._failures: list[tuple[str, int]] = []
        self._delay = 0.0
        self._wrong_bytes: set[str] = set()
        self._drop: set[str] = set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.base}/simple/"
        self.find_links_url = f"{self.base}/links/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- switches -------------------------------------------------------------------------------

    def fail_next(self, path_prefix: str, status: int, count: int = 1) -> None:
        with self._lock:
            self._failures.extend([(path_prefix, status)] * count)

    def delay(self, seconds: float) -> None:
        self._delay = seconds

    def serve_wrong_bytes(self, filename: str) -> None:
        self._wrong_bytes.add(filename)

    def drop_connection(self, filename: str) -> None:
        """Send half of `filename` and close the connection."""
        self._drop.add(filename)

    def paths(self, prefix: str = "") -> list[str]:
        return [path for _, path, _ in self.requests if path.startswith(prefix)]

    # --- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # --- content --------------------------------------------------------------------------------

    def _files(self, project: str | None = None) -> list[Path]:
        files = [
            p for p in sorted(self.root.iterdir()) if p.name.endswith((".whl", ".tar.gz", ".zip"))
        ]
        if project is None:
            return files
        return [p for p in files if canonicalize_name(_project(p.name)) == project]

    def _entry(self, path: Path) -> dict[str, object]:
        data = path.read_bytes()
        entry: dict[str, object] = {
            "filename": path.name,
            "url": f"/files/{path.name}",
            "hashes": {"sha256": _sha256(data)},
        }
        requires_python = _requires_python(core_metadata(path))
        if requires_python:
            entry["requires-python"] = requires_python
        if path.name in self.yanked:
            entry["yanked"] = self.yanked[path.name] or True
        if self.metadata:
            entry["core-metadata"] = {"sha256": _sha256(core_metadata(path))}
        return entry

    def project_json(self, project: str) -> bytes:
        files = [self._entry(p) for p in self._files(project)]
        document = {"meta": {"api-version": "1.1"}, "name": project, "files": files}
        return json.dumps(document).encode()

    def project_html(self, project: str | None, *, prefix: str = "/files/") -> bytes:
        anchors = []
        for path in self._files(project):
            entry = self._entry(path)
            hashes = entry["hashes"]
            assert isinstance(hashes, dict)
            attributes = ""
            if "requires-python" in entry:
                escaped = html.escape(str(entry["requires-python"]))
                attributes += f' data-requires-python="{escaped}"'
            if "yanked" in entry:
                reason = self.yanked[path.name]
                attributes += f' data-yanked="{html.escape(reason)}"'
            if "core-metadata" in entry:
                digest = _sha256(core_metadata(path))
                attributes += f' data-core-metadata="sha256={digest}"'
                attributes += f' data-dist-info-metadata="sha256={digest}"'
            href = f"{prefix}{path.name}#sha256={hashes['sha256']}"
            anchors.append(f'<a href="{href}"{attributes}>{html.escape(path.name)}</a><br/>')
        body = "\n".join(anchors)
        return f"<!DOCTYPE html><html><body>\n{body}\n</body></html>\n".encode()

    def project_list(self) -> bytes:
        names = sorted({canonicalize_name(_project(p.name)) for p in self._files()})
        links = "\n".join(f'<a href="/simple/{n}/">{n}</a>' for n in names)
        return f"<!DOCTYPE html><html><body>\n{links}\n</body></html>\n".encode()

    # --- HTTP -----------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        index = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                index.requests.append(("GET", self.path, dict(self.headers.items())))
                if index._delay:
                    time.sleep(index._delay)
                if index.auth is not None and not self._authorized():
                    self._send(401, b"unauthorized", "text/plain",
                               {"WWW-Authenticate": 'Basic realm="test"'})  # fmt: skip
                    return
                failure = index._take_failure(self.path)
                if failure is not None:
                    self._send(failure, b"failure on purpose", "text/plain")
                    return
                self._route()

            def _authorized(self) -> bool:
                assert index.auth is not None
                expected = base64.b64encode(":".join(index.auth).encode()).decode()
                return self.headers.get("Authorization") == f"Basic {expected}"

            def _route(self) -> None:
                path = self.path.split("?")[0]
                if path == "/simple/":
                    self._send(200, index.project_list(), "text/html")
                elif match := re.fullmatch(r"/simple/([^/]+)/?", path):
                    self._project(match.group(1), path)
                elif path == "/links/":
                    self._send(200, index.project_html(None), "text/html")
                elif match := re.fullmatch(r"/files/(.+)", path):
                    self._file(match.group(1))
                else:
                    self._send(404, b"not found", "text/plain")

            def _project(self, name: str, path: str) -> None:
                normalized = canonicalize_name(name)
                if name != normalized or not path.endswith("/"):
                    self._send(301, b"", "text/plain", {"Location": f"/simple/{normalized}/"})
                    return
                if not index._files(normalized):
                    self._send(404, b"no such project", "text/plain")
                    return
                if _prefers_json(self.headers.get("Accept", "")):
                    body, kind = index.project_json(normalized), JSON_TYPE
                else:
                    body, kind = index.project_html(normalized), HTML_TYPE
                etag = f'"{_sha256(body)[:32]}"'
                if self.headers.get("If-None-Match") == etag:
                    self._send(304, b"", kind, {"ETag": etag})
                else:
                    self._send(200, body, kind, {"ETag": etag})

            def _file(self, name: str) -> None:
                if name.endswith(".metadata") and index.metadata:
                    target = index.root / name.removesuffix(".metadata")
                    if target.exists():
                        self._send(200, core_metadata(target), "text/plain")
                        return
                target = index.root / name
                if not target.is_file():
                    self._send(404, b"no such file", "text/plain")
                    return
                data = target.read_bytes()
                if name in index._wrong_bytes:
                    data = data[::-1]
                if name in index._drop:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self._send(200, data, "application/octet-stream")

            def _send(
                self,
                status: int,
                body: bytes,
                content_type: str,
                headers: Mapping[str, str] | None = None,
            ) -> None:
                index.statuses.append((self.path, status))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def _take_failure(self, path: str) -> int | None:
        with self._lock:
            for position, (prefix, status) in enumerate(self._failures):
                if path.startswith(prefix):
                    del self._failures[position]
                    return status
        return None


def _prefers_json(accept: str) -> bool:
    """Content negotiation by q-values between PEP 691 JSON and HTML."""
    best_json, best_html = 0.0, 0.0
    for part in accept.split(","):
        media, *params = (item.strip() for item in part.split(";"))
        quality = 1.0
        for param in params:
            if param.startswith("q="):
                quality = float(param[2:])
        if media == JSON_TYPE:
            best_json = max(best_json, quality)
        elif media in {HTML_TYPE, "text/html", "*/*"}:
            best_html = max(best_html, quality)
    return best_json > 0 and best_json >= best_html


def _requires_python(metadata: bytes) -> str | None:
    match = re.search(rb"^Requires-Python: (.+)$", metadata, re.MULTILINE)
    return match.group(1).decode().strip() if match else None
