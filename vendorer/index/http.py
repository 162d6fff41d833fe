"""HTTP for indexes: credentials, retries with backoff, a revalidating page cache, clear errors.

One `httpx.Client` (thread-safe) serves every request; proxies come from the environment
(HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY). Credentials come from the URL
(`https://user:pass@host/...`), from netrc ($NETRC, else ~/.netrc) or, for a URL that names only
a user, from the `keyring` command; they are applied per host and never appear in a message.
Project pages are cached on disk with their ETag / Last-Modified and used without a request while
their `Cache-Control: max-age` lasts (when the index sends one), revalidated after that or with
`refresh=True`; `offline=True` answers from that cache only. Every httpx exception is translated
here into a `vendorer.errors.IndexError_` subclass. A URL that does not parse (a bad port, an
unclosed IPv6 bracket, no host), whether asked for or redirected to, is refused before any request.
Pages and metadata files are read into memory, so their size is bounded (`MAX_DOCUMENT`).
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import netrc
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

import httpx

from vendorer._util.files import write_bytes_atomic
from vendorer._util.urls import WEB_SCHEMES, file_url_path, redact, scrub_credentials, url_problem
from vendorer.errors import IndexError_, UsageError
from vendorer.index.keyring import keyring_password

__all__ = [
    "BrokenDownloadError",
    "HttpClient",
    "HttpStatusError",
    "IndexAuthError",
    "IndexTimeoutError",
    "IndexUnreachableError",
    "OfflineError",
    "Page",
    "ResponseTooLargeError",
]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_DELAY = 10.0  # seconds: the longest pause between two tries, Retry-After included
CHUNK = 1 << 16
# The most bytes one index page or metadata file may have: they are held in memory. PyPI's
# largest project pages are a few MB (JSON, tens of thousands of files); core metadata is KBs.
MAX_DOCUMENT = 64 << 20


class IndexUnreachableError(IndexError_):
    """No connection could be made (refused, DNS, proxy, TLS)."""


class IndexTimeoutError(IndexError_):
    """The server did not answer in time, on every try."""


class BrokenDownloadError(IndexError_):
    """A transfer was cut off, or the bytes that arrived are not the archive they should be."""


class ResponseTooLargeError(IndexError_):
    """A page or metadata file larger than vendorer reads into memory."""


class OfflineError(IndexError_):
    """Offline mode asked for something the cache does not hold."""


class HttpStatusError(IndexError_):
    """The server answered with an error status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class IndexAuthError(HttpStatusError):
    """HTTP 401 or 403: missing or wrong credentials."""


@dataclass(frozen=True, slots=True)
class Page:
    url: str  # the final URL, after redirects (relative links resolve against it)
    content_type: str
    body: bytes


class HttpClient:
    """GETs with retries, per-host credentials and a page cache; thread-safe."""

    def __init__(
        self,
        *,
        cache_dir: Path | None = None,
        timeout: float = 15.0,
        retries: int = 3,
        backoff: float = 0.5,
        offline: bool = False,
        refresh: bool = False,
        keyring: bool = False,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.timeout = timeout
        self.keyring = keyring  # ask `keyring` for the password of a URL that names only a user
        self.retries = max(1, retries)
        self.backoff = backoff
        self.offline = offline
        self.refresh = refresh  # revalidate every cached page, fresh or not
        self._pages = _PageCache(cache_dir / "pages") if cache_dir is not None else None
        self._warn = warn or (lambda message: None)
        self._credentials: dict[str, tuple[str, str]] = {}
        self._cancelled = threading.Event()
        self._keyring_services: dict[str, str] = {}  # origin -> the URL to ask keyring about
        self._keyring_answered: set[str] = set()  # origins whose question keyring has answered
        self._keyring_lock = threading.Lock()
        self._netrc: netrc.netrc | None = None
        self._netrc_loaded = False
        self._netrc_lock = threading.Lock()
        self._client = httpx.Client(
            timeout=timeout,
            follow_redirects=True,
            trust_env=True,
            headers={"User-Agent": _agent()},
            event_hooks={"response": [_refuse_bad_redirect]},
        )

    def close(self) -> None:
        self._client.close()

    def cancel(self) -> None:
        """Stop every transfer at its next chunk (an interrupted run need not wait for them)."""
        self._cancelled.set()

    def remember_credentials(self, url: str) -> str:
        """Keep `url`'s user:password for its host; return the URL without them. A URL that does
        not parse is a UsageError."""
        problem = url_problem(url)
        if problem is not None:
            raise UsageError(f"{redact(url)!r} {problem}")
        parts = urlsplit(url)
        if parts.username is not None:
            origin = _origin(url)
            user, password = unquote(parts.username), unquote(parts.password or "")
            known = self._credentials.get(origin)
            if password or known is None or known[0] != user:  # never forget a known password
                self._credentials[origin] = (user, password)
            if self.keyring and not password:
                self._keyring_services.setdefault(origin, redact(url))
        return redact(url)

    # --- pages: cached and revalidated ----------------------------------------------------------

    def get_page(self, url: str, *, accept: str) -> Page | None:
        """GET a page; None for 404/410 (not there). From the disk cache while its max-age
        lasts (unless `refresh`), revalidated after that."""
        cached = self._pages.read(url, accept) if self._pages is not None else None
        if self.offline:
            if cached is None:
                raise OfflineError(_offline_message(url))
            return cached.page
        if cached is not None and not self.refresh and time.time() < cached.fresh_until:
            return cached.page
        headers = {"Accept": accept, **(cached.validators if cached else {})}
        buffer = io.BytesIO()
        response = self._get(url, buffer, headers=headers, limit=MAX_DOCUMENT)
        if response.status_code == 304 and cached is not None:
            page = cached.page
        elif response.status_code in {404, 410}:
            return None
        else:
            self._check_status(response, url)
            final_url = redact(str(response.url))
            page = Page(final_url, response.headers.get("content-type", ""), buffer.getvalue())
        if self._pages is not None and "no-store" not in response.headers.get("cache-control", ""):
            self._pages.write(url, accept, page, response.headers)
        return page

    # --- files ----------------------------------------------------------------------------------

    def fetch_bytes(self, url: str) -> bytes:
        """The whole body at `url` (a `file:` URL reads the local file)."""
        if url.startswith("file:"):
            return _read_local(url)
        if self.offline:
            raise OfflineError(_offline_message(url))
        buffer = io.BytesIO()
        self._check_status(self._get(url, buffer, limit=MAX_DOCUMENT), url)
        return buffer.getvalue()

    def download(
        self, url: str, target: Path, on_bytes: Callable[[int], None] | None = None
    ) -> None:
        """Stream the body at `url` into `target` (created or overwritten); `on_bytes` hears the
        size of each chunk as it arrives."""
        if self.offline:
            raise OfflineError(_offline_message(url))
        with target.open("wb") as stream:
            self._check_status(self._get(url, stream, on_bytes=on_bytes), url)

    # --- internals ------------------------------------------------------------------------------

    def _get(
        self,
        url: str,
        sink: BinaryIO,
        *,
        headers: Mapping[str, str] | None = None,
        on_bytes: Callable[[int], None] | None = None,
        limit: int | None = None,
    ) -> httpx.Response:
        """GET with retries; a 2xx body lands in `sink` (at most `limit` bytes of it, else
        ResponseTooLargeError). The response returned is closed."""
        problem = url_problem(url, WEB_SCHEMES)
        if problem is not None:
            raise IndexError_(f"{redact(url)!r} {problem}; check where it comes from")
        auth = self._auth_for(url)
        failure: Exception | None = None
        receiving = False  # the last failure happened after the headers had arrived
        delay = 0.0
        for attempt in range(self.retries):
            if self._cancelled.is_set():
                raise IndexError_(f"{redact(url)}: cancelled")
            if attempt:
                time.sleep(delay)
            delay = min(self.backoff * 2**attempt, MAX_DELAY)
            sink.seek(0)
            sink.truncate()
            receiving = False
            try:
                with self._client.stream("GET", url, headers=headers, auth=auth) as response:
                    if response.status_code in RETRY_STATUSES and attempt < self.retries - 1:
                        delay = _retry_after(response, delay)
                        continue
                    if response.is_success:
                        receiving = True
                        self._receive(response, url, sink, on_bytes, limit)
                    return response
            except (
                httpx.TimeoutException,
                httpx.NetworkError,
                httpx.RemoteProtocolError,
                httpx.ProxyError,
            ) as error:
                failure = error
            except (httpx.HTTPError, httpx.InvalidURL) as error:  # bad URL, scheme, redirects
                reason = scrub_credentials(str(error)) or type(error).__name__
                raise IndexError_(f"{redact(url)}: {reason}; check the URL") from None
        raise self._failure(url, failure, receiving=receiving)

    def _receive(
        self,
        response: httpx.Response,
        url: str,
        sink: BinaryIO,
        on_bytes: Callable[[int], None] | None,
        limit: int | None,
    ) -> None:
        """The body into `sink`, chunk by chunk, counted (as decoded) against `limit`."""
        announced = response.headers.get("content-length", "")
        if limit is not None and announced.isdigit() and int(announced) > limit:
            raise _too_large(url, limit, f"it announces {int(announced):,} bytes")
        received = 0
        for chunk in response.iter_bytes(CHUNK):
            if self._cancelled.is_set():
                raise IndexError_(f"{redact(url)}: cancelled")
            received += len(chunk)
            if limit is not None and received > limit:
                raise _too_large(url, limit, "more arrived")
            sink.write(chunk)
            if on_bytes:
                on_bytes(len(chunk))

    def _failure(self, url: str, error: Exception | None, *, receiving: bool) -> IndexError_:
        shown = redact(url)
        tries = self._tries()
        if isinstance(error, httpx.TimeoutException):
            return IndexTimeoutError(
                f"{shown}: no answer within {self.timeout:g} s after {tries}; check the index "
                "and your network, or raise --timeout"
            )
        if receiving:
            return BrokenDownloadError(
                f"{shown}: the connection dropped before the whole body arrived, after {tries} "
                f"({_reason(error)}); try again, and check your network or proxy if it persists"
            )
        host = urlsplit(url).hostname or shown
        return IndexUnreachableError(
            f"cannot reach {host} ({_reason(error)}, after {tries}) for {shown}; check "
            "--index-url / --find-links, your network and your proxy settings (HTTPS_PROXY, "
            "NO_PROXY)"
        )

    def _tries(self) -> str:
        return f"{self.retries} {'try' if self.retries == 1 else 'tries'}"

    def _check_status(self, response: httpx.Response, url: str) -> None:
        status = response.status_code
        if response.is_success:
            return
        shown = redact(url)
        if status in {401, 403}:
            raise IndexAuthError(
                f"{shown}: HTTP {status}: the server refused access (no credentials or wrong ones "
                "were sent); put them in the index URL (https://user:password@host/simple/), in "
                "~/.netrc (or the file $NETRC names), or in a keyring (the user in the URL, "
                "https://user@host/simple/, with --keyring-provider subprocess)",
                status,
            )
        if status in {404, 410}:
            raise HttpStatusError(
                f"{shown}: HTTP {status}: not found; the file may have been removed from the "
                "index: lock again (`vendorer lock --force`) to pick what it has now",
                status,
            )
        if status in RETRY_STATUSES:
            raise HttpStatusError(
                f"{shown}: HTTP {status} from the server after {self._tries()}; try again later",
                status,
            )
        raise HttpStatusError(f"{shown}: unexpected HTTP {status} from the server", status)

    def _auth_for(self, url: str) -> httpx.Auth | None:
        origin = _origin(url)
        if origin in self._keyring_services and origin not in self._keyring_answered:
            self._ask_keyring(origin)
        credentials = self._credentials.get(origin)
        if credentials is None and _may_send_implicit_credentials(url):
            credentials = self._netrc_credentials(urlsplit(url).hostname or "")
        return httpx.BasicAuth(*credentials) if credentials else None

    def _ask_keyring(self, origin: str) -> None:
        """The password `keyring` holds for the user the origin's URL names, asked once: the
        first request asks, every other one for that origin waits here for the answer (one
        question at a time, as a backend may prompt on the terminal)."""
        with self._keyring_lock:
            if origin in self._keyring_answered:
                return
            service = self._keyring_services[origin]
            user = self._credentials[origin][0]
            password = keyring_password(service, user)  # no `keyring`: every request says so
            if password is None:
                self._warn(f"keyring has no password for {user} at {service}")
            else:
                self._credentials[origin] = (user, password)
            self._keyring_answered.add(origin)  # after the password: a reader sees both

    def _netrc_credentials(self, host: str) -> tuple[str, str] | None:
        with self._netrc_lock:
            if not self._netrc_loaded:
                self._netrc_loaded = True
                self._netrc = self._load_netrc()
        entry = self._netrc.authenticators(host) if self._netrc else None
        if entry is None:
            return None
        login, _, password = entry
        return login, password or ""

    def _load_netrc(self) -> netrc.netrc | None:
        path = Path(os.environ.get("NETRC") or Path.home() / ".netrc")
        if not path.is_file():
            return None
        try:
            return netrc.netrc(str(path))
        except (OSError, netrc.NetrcParseError) as error:
            self._warn(f"ignored {path}: {error}")
            return None


@dataclass(frozen=True, slots=True)
class _CachedPage:
    page: Page
    validators: dict[str, str]  # If-None-Match / If-Modified-Since
    fresh_until: float  # a Unix time; 0: revalidate before use


class _PageCache:
    """Project pages on disk, each with its validators and freshness; written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, url: str, accept: str) -> Path:
        key = hashlib.sha256(f"{redact(url)}\n{accept}".encode()).hexdigest()
        return self.root / key[:2] / key

    def read(self, url: str, accept: str) -> _CachedPage | None:
        try:
            raw = self._path(url, accept).read_bytes()
            length = int.from_bytes(raw[:4], "big")
            meta = json.loads(raw[4 : 4 + length])
            page = Page(str(meta["url"]), str(meta["content_type"]), raw[4 + length :])
            fresh_until = float(meta.get("fresh_until", 0))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing or unreadable: fetched again
        validators = {}
        if meta.get("etag"):
            validators["If-None-Match"] = str(meta["etag"])
        if meta.get("last_modified"):
            validators["If-Modified-Since"] = str(meta["last_modified"])
        return _CachedPage(page, validators, fresh_until)

    def write(self, url: str, accept: str, page: Page, headers: httpx.Headers) -> None:
        meta = json.dumps(
            {
                "url": redact(page.url),
                "content_type": page.content_type,
                "etag": headers.get("etag"),
                "last_modified": headers.get("last-modified"),
                "fresh_until": time.time() + _lifetime(headers),
            }
        ).encode()
        write_bytes_atomic(self._path(url, accept), len(meta).to_bytes(4, "big") + meta + page.body)


def _lifetime(headers: httpx.Headers) -> float:
    """How long a response stays fresh (RFC 9111: max-age minus Age); 0 with no-cache."""
    directives = [part.strip().lower() for part in headers.get("cache-control", "").split(",")]
    if "no-cache" in directives:
        return 0.0
    for directive in directives:
        name, _, value = directive.partition("=")
        if name == "max-age" and value.strip().isdigit():
            age = headers.get("age", "0").strip()
            return max(0.0, int(value) - (int(age) if age.isdigit() else 0))
    return 0.0


def _too_large(url: str, limit: int, seen: str) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"{redact(url)}: larger than the {limit >> 20} MiB vendorer reads for an index page or "
        f"metadata file ({seen}); check that the URL is a package index or find-links page"
    )


def _refuse_bad_redirect(response: httpx.Response) -> None:
    """A redirect to a URL that does not parse (or not to http/https) stops the request."""
    location = response.headers.get("location")
    if not response.is_redirect or location is None:
        return
    try:
        target = str(response.url.join(location))
    except (httpx.InvalidURL, ValueError):
        target = location
    problem = url_problem(target, WEB_SCHEMES)
    if problem is not None:
        raise IndexError_(
            f"{redact(str(response.url))}: the server redirects to {redact(target)!r}, which "
            f"{problem}; check the index URL, or tell the index's administrator"
        )


def _offline_message(url: str) -> str:
    return f"offline: {redact(url)} is not in the cache; run once without --offline to fill it"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or ''}"


def _may_send_implicit_credentials(url: str) -> bool:
    """netrc passwords go over HTTPS, or to this machine; never in clear over a network."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _retry_after(response: httpx.Response, default: float) -> float:
    value = response.headers.get("retry-after", "")
    try:
        return min(max(float(value), 0.0), MAX_DELAY)
    except ValueError:
        return default


def _read_local(url: str) -> bytes:
    path = file_url_path(url)
    try:
        return path.read_bytes()
    except OSError as error:
        raise IndexError_(f"cannot read {path}: {error.strerror or error}") from None


def _reason(error: Exception | None) -> str:
    if error is None:
        return "no answer"
    text = scrub_credentials(str(error)).split("] ")[-1].strip()
    return text or type(error).__name__


def _agent() -> str:
    from vendorer import __version__

    return f"vendorer/{__version__}"
