"""HTTP for indexes: credentials, retries with backoff, a revalidating disk cache, clear errors.

One `httpx.Client` (thread-safe) serves every request. Credentials come from the URL
(`https://user:pass@host/...`) or netrc and are applied per host; they never appear in a message.
Pages are cached on disk with their ETag / Last-Modified and revalidated; immutable files (named by
their hash) are reused without a request. `offline=True` answers from the cache only.
"""

from __future__ import annotations

import hashlib
import json
import netrc
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from vendorer.errors import IndexError_
from vendorer.fileio import write_bytes_atomic
from vendorer.urls import file_url_path, redact

__all__ = [
    "HttpClient",
    "HttpStatusError",
    "IndexTimeoutError",
    "IndexUnreachableError",
    "Page",
]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class IndexUnreachableError(IndexError_):
    """No connection could be made (refused, DNS, TLS)."""


class IndexTimeoutError(IndexError_):
    """The server did not answer in time, every try."""


class HttpStatusError(IndexError_):
    """The server answered with an error status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Page:
    url: str  # the final URL, after redirects (relative links resolve against it)
    content_type: str
    body: bytes


class HttpClient:
    def __init__(
        self,
        *,
        cache_dir: Path | None = None,
        timeout: float = 15.0,
        retries: int = 3,
        backoff: float = 0.5,
        offline: bool = False,
    ) -> None:
        self.cache_dir = cache_dir
        self.retries = max(1, retries)
        self.backoff = backoff
        self.timeout = timeout
        self.offline = offline
        self._credentials: dict[str, tuple[str, str]] = {}
        self._client = httpx.Client(
            timeout=timeout, follow_redirects=True, trust_env=True, headers={"User-Agent": _agent()}
        )

    def close(self) -> None:
        self._client.close()

    def remember_credentials(self, url: str) -> str:
        """Keep `url`'s user:password for its host; returns the URL without them."""
        parts = urlsplit(url)
        if parts.username is not None:
            self._credentials[_host_key(url)] = (parts.username, parts.password or "")
        return redact(url)

    # --- pages: cached and revalidated ----------------------------------------------------------

    def get_page(self, url: str, *, accept: str) -> Page | None:
        """GET a page; None for 404/410 (not on this index). Cached and revalidated on disk."""
        cached = self._cache_read(url, accept)
        if self.offline:
            if cached is None:
                raise IndexError_(
                    f"offline: {redact(url)} is not in the cache; run once with network access"
                )
            return cached[0]
        headers = {"Accept": accept}
        if cached is not None:
            page, validators = cached
            headers.update(validators)
        response = self._request("GET", url, headers=headers)
        if response.status_code == 304 and cached is not None:
            return cached[0]
        if response.status_code in {404, 410}:
            return None
        self._raise_for_status(response, url)
        page = Page(str(response.url), response.headers.get("content-type", ""), response.content)
        self._cache_write(url, accept, page, response.headers)
        return page

    # --- files: verified by hash ----------------------------------------------------------------

    def fetch_bytes(self, url: str) -> bytes:
        if url.startswith("file:"):
            return file_url_path(url).read_bytes()
        if self.offline:
            raise IndexError_(f"offline: cannot fetch {redact(url)}")
        response = self._request("GET", url)
        self._raise_for_status(response, url)
        return response.content

    # --- internals ------------------------------------------------------------------------------

    def _request(
        self, method: str, url: str, *, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        auth = self._auth_for(url)
        last_error: Exception | None = None
        for attempt in range(self.retries):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self._client.request(method, url, headers=headers, auth=auth)
            except httpx.TimeoutException as error:
                last_error = error
                continue
            except httpx.TransportError as error:  # refused, DNS, TLS, dropped connection
                last_error = error
                if isinstance(error, httpx.ConnectError) and attempt == self.retries - 1:
                    break
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.retries - 1:
                last_error = None
                continue
            return response
        shown = redact(url)
        if isinstance(last_error, httpx.TimeoutException):
            raise IndexTimeoutError(
                f"{shown}: no answer within {self.timeout:g} s after {self.retries} tries; "
                "raise --timeout or check the index"
            )
        host = urlsplit(url).hostname
        raise IndexUnreachableError(
            f"cannot reach {host} ({_reason(last_error)}) for {shown}; check --index-url, "
            "your network and proxy settings (HTTPS_PROXY)"
        )

    def _raise_for_status(self, response: httpx.Response, url: str) -> None:
        status = response.status_code
        if status < 400:
            return
        shown = redact(url)
        if status in {401, 403}:
            message = (
                f"{shown}: HTTP {status}: the index refused the credentials (or none were "
                "given); put them in the URL (https://user:password@host/...) or in ~/.netrc"
            )
        elif status == 404:
            message = f"{shown}: HTTP 404: not found on the index; the lock may be out of date"
        else:
            message = f"{shown}: HTTP {status} from the server; try again later"
        raise HttpStatusError(message, status)

    def _auth_for(self, url: str) -> httpx.Auth | None:
        credentials = self._credentials.get(_host_key(url))
        if credentials is None:
            credentials = _netrc_credentials(urlsplit(url).hostname or "")
        return httpx.BasicAuth(*credentials) if credentials else None

    def _cache_file(self, url: str, accept: str) -> Path | None:
        if self.cache_dir is None:
            return None
        key = hashlib.sha256(f"{redact(url)}\n{accept}".encode()).hexdigest()
        return self.cache_dir / "pages" / key[:2] / key

    def _cache_read(self, url: str, accept: str) -> tuple[Page, dict[str, str]] | None:
        path = self._cache_file(url, accept)
        if path is None or not path.exists():
            return None
        try:
            raw = path.read_bytes()
            header_length = int.from_bytes(raw[:4], "big")
            meta = json.loads(raw[4 : 4 + header_length])
            body = raw[4 + header_length :]
        except (OSError, ValueError):
            return None
        validators = {}
        if meta.get("etag"):
            validators["If-None-Match"] = meta["etag"]
        if meta.get("last_modified"):
            validators["If-Modified-Since"] = meta["last_modified"]
        return Page(meta["url"], meta["content_type"], body), validators

    def _cache_write(self, url: str, accept: str, page: Page, headers: httpx.Headers) -> None:
        path = self._cache_file(url, accept)
        if path is None or "no-store" in headers.get("cache-control", ""):
            return
        meta = json.dumps(
            {
                "url": page.url,
                "content_type": page.content_type,
                "etag": headers.get("etag"),
                "last_modified": headers.get("last-modified"),
            }
        ).encode()
        write_bytes_atomic(path, len(meta).to_bytes(4, "big") + meta + page.body)


def _host_key(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or ''}"


def _netrc_credentials(host: str) -> tuple[str, str] | None:
    path = os.environ.get("NETRC") or str(Path.home() / ".netrc")
    try:
        entry = netrc.netrc(path).authenticators(host)
    except (OSError, netrc.NetrcParseError):
        return None
    if entry is None:
        return None
    login, _, password = entry
    return login, password or ""


def _reason(error: Exception | None) -> str:
    text = str(error) if error else "no answer"
    return text.split("] ")[-1] if text else type(error).__name__


def _agent() -> str:
    from vendorer import __version__

    return f"vendorer/{__version__}"
