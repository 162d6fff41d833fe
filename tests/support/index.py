"""Real package indexes on loopback, serving the distributions the fixtures build.

`PypiServer` runs the real pypiserver as a subprocess. What pypiserver 2.4 serves (read in its
`_app.py` and checked by tests/test_support.py):

- `/simple/` and `/simple/<project>/`: PEP 503 HTML only, `text/html` whatever the Accept header
  asks (no PEP 691 JSON), anchors `href="/packages/<file>#sha256=<hex>"` (`--hash-algo`, sha256
  by default) and nothing more: no `data-requires-python`, no `data-yanked`, no PEP 658/714
  `.metadata` files (`/packages/<file>.metadata` is a 404). A client must read Requires-Python and
  dependencies from the files themselves, as with many private indexes.
- Non-normalized names are redirected (301) to the PEP 503 name; unknown projects are 404 with
  `--disable-fallback` (otherwise a redirect to pypi.org).
- `/packages/`: one flat HTML page of every file, usable as pip's `--find-links` URL.
- `/<project>/json`: a minimal legacy JSON (`info.version` and release URLs, no hashes).
- Files are found in the root folder and every folder below it, listed afresh on each request
  (`--backend simple-dir`: files added while it runs are served at once). It answers one request
  at a time (`wsgiref`, HTTP/1.0). Start-up takes about 0.13 s here (see `startup_seconds`).

`StaticIndex` serves the rest of the standards from a threaded `http.server` over the files at the
top of its root: PEP 691 JSON (API 1.1, PEP 700 `versions` and `size`) or PEP 503 HTML chosen by
the Accept header's q-values, `data-requires-python`, PEP 592 yanked files, PEP 658/714 `.metadata`
files, ETags, optional Basic auth, a flat find-links page, a log of the requests and switches that
make it fail on purpose (error statuses, delays, wrong bytes, dropped connections, odd links and
`<base href>`s, redirects, and bodies of any size, generated as they are sent).
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
import tempfile
import threading
import time
import zipfile
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType
from typing import IO
from urllib.parse import quote, unquote, urlsplit

import httpx
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from tests.support.loopback import LoopbackServer

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"
DIST_SUFFIXES = (".whl", ".tar.gz", ".zip")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PypiServer:
    """The real pypiserver over `root`, on 127.0.0.1, for the duration of a `with` block.

    `url` is its simple index (`http://127.0.0.1:PORT/simple/`), `find_links_url` its flat page of
    every file. Leaving the block stops the process and reaps it, whatever happened inside.
    """

    START_TIMEOUT = 30.0

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = 0
        self.startup_seconds = 0.0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/simple/"

    @property
    def find_links_url(self) -> str:
        return f"{self.base}/packages/"

    def __enter__(self) -> PypiServer:
        self.root.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        try:
            for attempt in range(3):  # another process may take the free port before pypiserver
                if self._start(last_attempt=attempt == 2):
                    break
        except BaseException:
            self._stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop()

    def _start(self, *, last_attempt: bool) -> bool:
        """Start the process and wait until it answers; False if it lost its port."""
        self._stop()
        self.port = free_port()
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by _stop)
        command = [
            sys.executable, "-m", "pypiserver", "run", "--host", "127.0.0.1",
            "--port", str(self.port), "--disable-fallback", "--authenticate", ".",
            "--passwords", ".", "--backend", "simple-dir", "--server", "wsgiref", str(self.root),
        ]  # fmt: skip
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + self.START_TIMEOUT
        with httpx.Client(trust_env=False, timeout=1) as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    output = self._output()
                    if "Address already in use" in output and not last_attempt:
                        return False
                    raise RuntimeError(f"pypiserver exited at start-up:\n{output}")
                try:
                    if client.get(self.url).status_code == 200:
                        return True
                except httpx.TransportError:
                    pass
                time.sleep(0.02)
        raise RuntimeError(
            f"pypiserver did not answer within {self.START_TIMEOUT:.0f} s:\n{self._output()}"
        )

    def _output(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def _stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None


# --- the files a StaticIndex serves ---------------------------------------------------------------


def core_metadata(path: Path) -> bytes:
    """A wheel's `.dist-info/METADATA`, or an sdist's top-level `PKG-INFO` (.tar.gz or .zip)."""
    if path.name.endswith(".whl"):
        with zipfile.ZipFile(path) as wheel:
            return wheel.read(_one(wheel.namelist(), r"[^/]+\.dist-info/METADATA", path))
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path) as sdist:
            return sdist.read(_one(sdist.namelist(), r"[^/]+/PKG-INFO", path))
    with tarfile.open(path) as sdist:
        member = _one(sdist.getnames(), r"[^/]+/PKG-INFO", path)
        extracted = sdist.extractfile(member)
        if extracted is None:
            raise ValueError(f"{path.name}: {member} is not a file")
        return extracted.read()


def _one(names: list[str], pattern: str, path: Path) -> str:
    found = [name for name in names if re.fullmatch(pattern, name)]
    if len(found) != 1:
        raise ValueError(f"{path.name}: expected one {pattern}, found {found}")
    return found[0]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _name_and_version(filename: str) -> tuple[NormalizedName, Version] | None:
    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
            return name, version
        return parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None


def _requires_python(metadata: bytes) -> str | None:
    match = re.search(rb"^Requires-Python:[ \t]*(.+?)\s*$", metadata, re.MULTILINE)
    return match.group(1).decode() if match else None


class StaticIndex:
    """A standards-complete simple index over the distribution files at the top of `root`.

    Routes: `/simple/` (project list), `/simple/<normalized>/` (a project page; other spellings
    are redirected), `/files/<filename>`, `/files/<filename>.metadata` (PEP 658) and `/links/`
    (a flat find-links page). `yanked` maps file names to their reasons ("" for none).
    """

    def __init__(
        self,
        root: Path,
        *,
        yanked: Mapping[str, str] | None = None,
        metadata: bool = True,
        ranges: bool = True,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.root = root
        self.yanked = dict(yanked or {})
        self.metadata = metadata
        self.ranges = ranges  # whether files are served by Range too (as most servers do)
        self.auth = auth
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        """Every request as it came: method, path (with query) and headers."""
        self.statuses: list[tuple[str, int]] = []
        """Every answer: path and status."""
        self._failures: list[tuple[str, int]] = []
        self._delay, self._delayed = 0.0, "/"
        self._held: str | None = None
        self._paused: set[str] = set()
        self._ranged: dict[str, bytes] = {}
        self._gate = threading.Event()
        self.page_headers: dict[str, str] = {}
        """Headers added to project pages (Cache-Control, Age...)."""
        self._wrong_bytes: set[str] = set()
        self._drop: set[str] = set()
        self._links: dict[str, list[str]] = {}
        self._bases: dict[str, str] = {}
        self._redirects: dict[str, str] = {}
        self._huge: dict[str, tuple[int, bool]] = {}
        self._lock = threading.Lock()
        self._http = LoopbackServer(self._handler())
        self.port = self._http.port
        self.base = self._http.base
        self.url = f"{self.base}/simple/"
        self.find_links_url = f"{self.base}/links/"

    # --- switches ---------------------------------------------------------------------------------

    def fail_next(self, path_prefix: str, status: int, count: int = 1) -> None:
        """Answer `status` to the next `count` requests whose path starts with `path_prefix`."""
        with self._lock:
            self._failures.extend([(path_prefix, status)] * count)

    def delay(self, seconds: float, path_prefix: str = "/") -> None:
        """Stall every response (or those to paths starting with `path_prefix`) by `seconds` (0
        to stop)."""
        self._delay, self._delayed = seconds, path_prefix

    def hold(self, path_prefix: str) -> None:
        """Keep every answer to a path starting with `path_prefix` waiting until `release()` (at
        most a minute): a client can be caught at that point without a race against a timer."""
        self._gate.clear()
        self._held = path_prefix

    def pause(self, filename: str) -> None:
        """Send the first half of `filename` (asked for whole, not by Range) and wait there until
        `release()` (at most a minute) before the rest: a client is caught mid-download."""
        self._gate.clear()
        self._paused.add(filename)

    def release(self) -> None:
        """Let the answers `hold` and `pause` keep waiting go on, and hold nothing more."""
        self._held = None
        self._paused.clear()
        self._gate.set()

    def serve_other_ranges(self, filename: str, data: bytes) -> None:
        """Answer Range requests for `filename` out of `data`, as a server whose file changed
        between two requests would."""
        self._ranged[filename] = data

    def serve_wrong_bytes(self, filename: str) -> None:
        """Serve `filename` (a file or its `.metadata`) with other bytes of the same length."""
        self._wrong_bytes.add(filename)

    def drop_connection(self, filename: str) -> None:
        """Announce all of `filename` (asked for whole, not by Range), send half of it and close
        the connection."""
        self._drop.add(filename)

    def add_links(self, project: str, *hrefs: str) -> None:
        """List these hrefs too on `project`'s page: HTML anchors, and JSON entries whose `url`
        is the href (their filename: the href's last segment)."""
        self._links.setdefault(project, []).extend(hrefs)

    def base_href(self, project: str, href: str) -> None:
        """Give `project`'s HTML page a `<base href>`."""
        self._bases[project] = href

    def redirect(self, path: str, location: str) -> None:
        """Answer requests for `path` with a 301 to `location`, whatever it is."""
        self._redirects[path] = location

    def serve_huge(self, path: str, size: int, *, announce: bool) -> None:
        """Answer `path` with `size` bytes made as they are sent (never held); with `announce`
        the Content-Length says so up front, else they come chunked. A project page so served
        is JSON that never closes."""
        self._huge[path] = (size, announce)

    def paths(self, prefix: str = "") -> list[str]:
        """The paths requested so far that start with `prefix`, in order."""
        return [path for _, path, _ in self.requests if path.startswith(prefix)]

    # --- lifecycle --------------------------------------------------------------------------------

    def __enter__(self) -> StaticIndex:
        self._http.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._http.stop()

    # --- content ----------------------------------------------------------------------------------

    def _files(self, project: str | None = None) -> list[tuple[Path, NormalizedName, Version]]:
        found = []
        for path in sorted(self.root.iterdir()):
            parsed = _name_and_version(path.name) if path.name.endswith(DIST_SUFFIXES) else None
            if parsed and path.is_file() and project in (None, parsed[0]):
                found.append((path, *parsed))
        return found

    def _core_metadata(self, path: Path) -> bytes | None:
        """The file's core metadata, None when it cannot be read (a corrupted file, on purpose)."""
        try:
            return core_metadata(path)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, tarfile.TarError):
            return None

    def _entry(self, path: Path) -> dict[str, object]:
        """The PEP 691 file entry; the HTML anchors say the same."""
        data = path.read_bytes()
        entry: dict[str, object] = {
            "filename": path.name,
            "url": f"/files/{quote(path.name)}",
            "hashes": {"sha256": _sha256(data)},
            "size": len(data),
        }
        metadata = self._core_metadata(path)
        requires_python = _requires_python(metadata) if metadata is not None else None
        if requires_python:
            entry["requires-python"] = requires_python
        if path.name in self.yanked:
            entry["yanked"] = self.yanked[path.name] or True
        if self.metadata and metadata is not None:
            entry["core-metadata"] = {"sha256": _sha256(metadata)}
            entry["dist-info-metadata"] = entry["core-metadata"]
        return entry

    def project_json(self, project: NormalizedName) -> bytes:
        files = self._files(project)
        extra = [
            {"filename": unquote(href.rsplit("/", 1)[-1]), "url": href, "hashes": {}}
            for href in self._links.get(project, [])
        ]
        document = {
            "meta": {"api-version": "1.1"},
            "name": project,
            "versions": [str(v) for v in sorted({version for _, _, version in files})],
            "files": [self._entry(path) for path, _, _ in files] + extra,
        }
        return json.dumps(document, indent=1).encode()

    def project_html(self, project: NormalizedName | None) -> bytes:
        """A project page, or with `project=None` the flat find-links page of every file."""
        anchors = []
        for path, _, _ in self._files(project):
            entry = self._entry(path)
            hashes = entry["hashes"]
            assert isinstance(hashes, dict)
            attributes = ""
            if "requires-python" in entry:
                requires_python = html.escape(str(entry["requires-python"]))
                attributes += f' data-requires-python="{requires_python}"'
            if path.name in self.yanked:
                attributes += f' data-yanked="{html.escape(self.yanked[path.name])}"'
            metadata = entry.get("core-metadata")
            if isinstance(metadata, dict):
                value = f"sha256={metadata['sha256']}"
                attributes += f' data-core-metadata="{value}" data-dist-info-metadata="{value}"'
            href = html.escape(f"{entry['url']}#sha256={hashes['sha256']}")
            anchors.append(f'<a href="{href}"{attributes}>{html.escape(path.name)}</a><br/>')
        for href in self._links.get(project or "", []):
            anchors.append(f'<a href="{html.escape(href)}">odd link</a><br/>')
        title = f"Links for {project}" if project else "Files"
        base = self._bases.get(project or "")
        return _html_page(title, anchors, base=base)

    def project_list_json(self) -> bytes:
        names = sorted({name for _, name, _ in self._files()})
        document = {"meta": {"api-version": "1.1"}, "projects": [{"name": n} for n in names]}
        return json.dumps(document, indent=1).encode()

    def project_list(self) -> bytes:
        names = sorted({name for _, name, _ in self._files()})
        return _html_page("Simple index", [f'<a href="/simple/{n}/">{n}</a><br/>' for n in names])

    # --- HTTP -------------------------------------------------------------------------------------

    def _take_failure(self, path: str) -> int | None:
        with self._lock:
            for position, (prefix, status) in enumerate(self._failures):
                if path.startswith(prefix):
                    del self._failures[position]
                    return status
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        index = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            head = False  # a HEAD request: headers only

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._answer(head=False)

            def do_HEAD(self) -> None:
                self._answer(head=True)

            def _answer(self, *, head: bool) -> None:
                self.head = head
                index.requests.append((self.command, self.path, dict(self.headers.items())))
                if index._delay and self.path.startswith(index._delayed):
                    time.sleep(index._delay)
                held = index._held
                if held is not None and self.path.startswith(held):
                    index._gate.wait(60)
                if index.auth is not None and not self._authorized():
                    challenge = {"WWW-Authenticate": 'Basic realm="test index"'}
                    self._send(401, b"unauthorized\n", "text/plain", challenge)
                    return
                failure = index._take_failure(self.path)
                if failure is not None:
                    self._send(failure, b"failure on purpose\n", "text/plain")
                    return
                if self.path in index._redirects:
                    location = {"Location": index._redirects[self.path]}
                    self._send(301, b"", "text/plain", location)
                elif self.path in index._huge:
                    self._send_huge(*index._huge[self.path])
                else:
                    self._route(unquote(urlsplit(self.path).path))

            def _authorized(self) -> bool:
                assert index.auth is not None
                expected = base64.b64encode(":".join(index.auth).encode()).decode()
                return self.headers.get("Authorization") == f"Basic {expected}"

            def _route(self, path: str) -> None:
                if path == "/simple/":
                    if _prefers_json(self.headers.get("Accept", "")):
                        self._send_page(index.project_list_json(), JSON_TYPE)
                    else:
                        self._send_page(index.project_list(), HTML_TYPE)
                elif match := re.fullmatch(r"/simple/([^/]+)(/?)", path):
                    self._project(match.group(1), slash=bool(match.group(2)))
                elif path == "/links/":
                    self._send(200, index.project_html(None), "text/html")
                elif (match := re.fullmatch(r"/files/([^/]+)", path)) and match.group(1) != "..":
                    self._file(match.group(1))
                else:
                    self._send(404, b"not found\n", "text/plain")

            def _project(self, name: str, *, slash: bool) -> None:
                normalized = canonicalize_name(name)
                if name != normalized or not slash:
                    self._send(301, b"", "text/plain", {"Location": f"/simple/{normalized}/"})
                elif not index._files(normalized):
                    self._send(404, b"no such project\n", "text/plain")
                elif _prefers_json(self.headers.get("Accept", "")):
                    self._send_page(index.project_json(normalized), JSON_TYPE)
                else:
                    self._send_page(index.project_html(normalized), HTML_TYPE)

            def _send_page(self, body: bytes, content_type: str) -> None:
                etag = f'"{_sha256(body)[:32]}"'
                headers = {"ETag": etag, "Vary": "Accept"}
                headers.update(index.page_headers)
                if self.headers.get("If-None-Match") == etag:
                    self._send(304, b"", content_type, headers)
                else:
                    self._send(200, body, content_type, headers)

            def _file(self, name: str) -> None:
                target = index.root / name
                if name.endswith(".metadata") and not target.is_file():
                    distribution = index.root / name.removesuffix(".metadata")
                    data = index._core_metadata(distribution) if index.metadata else None
                    if data is None:
                        self._send(404, b"no metadata file\n", "text/plain")
                        return
                    content_type = "text/plain"
                elif target.is_file():
                    data, content_type = target.read_bytes(), "application/octet-stream"
                else:
                    self._send(404, b"no such file\n", "text/plain")
                    return
                if name in index._wrong_bytes:
                    data = bytes(byte ^ 0xFF for byte in data)
                if index.ranges and (wanted := self.headers.get("Range")):
                    self._send_range(index._ranged.get(name, data), wanted, content_type)
                elif name in index._drop:
                    self._send_half(data)
                elif name in index._paused:
                    self._send_half(data, then_wait=True)
                else:
                    self._send(200, data, content_type)

            def _send_range(self, data: bytes, wanted: str, content_type: str) -> None:
                """One range (`bytes=a-b`, `bytes=a-`, `bytes=-n`), as RFC 9110 says."""
                found = re.fullmatch(r"bytes=(\d*)-(\d*)", wanted.strip())
                if found is None or not (found[1] or found[2]):
                    self._send(200, data, content_type)  # not one it knows: the whole file
                    return
                if found[1]:
                    first, last = int(found[1]), min(int(found[2] or len(data) - 1), len(data) - 1)
                else:
                    first, last = max(len(data) - int(found[2]), 0), len(data) - 1
                if first > last:
                    self._send(416, b"", content_type, {"Content-Range": f"bytes */{len(data)}"})
                    return
                headers = {"Content-Range": f"bytes {first}-{last}/{len(data)}"}
                self._send(206, data[first : last + 1], content_type, headers)

            def _send_huge(self, size: int, announce: bool) -> None:
                """`size` bytes of a JSON page that never ends, made chunk by chunk."""
                index.statuses.append((self.path, 200))
                self.send_response(200)
                self.send_header("Content-Type", JSON_TYPE)
                if announce:
                    self.send_header("Content-Length", str(size))
                else:
                    self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                block = b'{"files": [' + b" " * ((1 << 20) - 11)
                try:
                    for start in range(0, size, len(block)):
                        part = block[: size - start]
                        framed = part if announce else b"%x\r\n%s\r\n" % (len(part), part)
                        self.wfile.write(framed)
                        block = b" " * len(block)
                    if not announce:
                        self.wfile.write(b"0\r\n\r\n")
                except ConnectionError:  # the client had enough
                    pass
                self.close_connection = True

            def _send_half(self, data: bytes, *, then_wait: bool = False) -> None:
                """Half of `data` and the connection closed, or the rest once released."""
                index.statuses.append((self.path, 200))
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                if then_wait and index._gate.wait(timeout=60):
                    self.wfile.write(data[len(data) // 2 :])
                else:
                    self.close_connection = True

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
                if not self.head:
                    self.wfile.write(body)

        return Handler


def _html_page(title: str, lines: list[str], *, base: str | None = None) -> bytes:
    body = "\n".join(lines)
    base_tag = f'<base href="{html.escape(base)}">' if base is not None else ""
    return (
        '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.1">'
        f"{base_tag}<title>{html.escape(title)}</title></head>\n<body>\n{body}\n</body></html>\n"
    ).encode()


def _prefers_json(accept: str) -> bool:
    """PEP 691 content negotiation: JSON when the Accept header ranks it at least as high as HTML.

    No Accept header, or one that names neither, gets HTML (PEP 503).
    """
    best = {"json": 0.0, "html": 0.0}
    kinds = {
        JSON_TYPE: "json",
        "application/vnd.pypi.simple.latest+json": "json",
        HTML_TYPE: "html",
        "application/vnd.pypi.simple.latest+html": "html",
        "text/html": "html",
        "*/*": "html",
    }
    for part in accept.split(","):
        media, *params = (item.strip() for item in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        kind = kinds.get(media.lower())
        if kind:
            best[kind] = max(best[kind], quality)
    return best["json"] > 0 and best["json"] >= best["html"]


__all__ = ["HTML_TYPE", "JSON_TYPE", "PypiServer", "StaticIndex", "core_metadata", "free_port"]
