"""The index client: GETs of pages, metadata files and distribution files over the shared transport.

Credentials are applied per origin (`vendorer.index.auth`) and never appear in a message. Project
pages are cached on disk (`vendorer.index.pagecache`) and used without a request while their
`Cache-Control: max-age` lasts, revalidated after that or with `refresh=True`; `offline=True`
answers from that cache only. Pages and metadata files are read into memory, so their size is
bounded (`MAX_DOCUMENT`). A URL that does not parse (a bad port, an unclosed IPv6 bracket, no
host), whether asked for or redirected to, is refused before any request. Every httpx exception
is translated here into a `vendorer.errors.IndexError_` subclass.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import urlsplit

from vendorer._util.files import naming
from vendorer._util.urls import WEB_SCHEMES, file_url_path, redact, url_problem
from vendorer.errors import IndexError_
from vendorer.index.auth import IndexCredentials
from vendorer.index.errors import (
    BrokenDownloadError,
    HttpStatusError,
    IndexAuthError,
    IndexTimeoutError,
    IndexUnreachableError,
    OfflineError,
    ResponseTooLargeError,
)
from vendorer.index.models import MAX_DOCUMENT, Page
from vendorer.index.pagecache import PageCache
from vendorer.index.transport import RETRY_STATUSES, GaveUp, Transport
from vendorer.report import DOWNLOAD, NULL_REPORTER, Reporter

if TYPE_CHECKING:  # imported at the first request (the transport makes its client then)
    import httpx

__all__ = ["IndexClient", "Part"]

CHUNK = 1 << 16
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


@dataclass(frozen=True, slots=True, kw_only=True)
class Part:
    """What a Range request brought: `data`, from `offset` in a file of `size` bytes."""

    offset: int
    data: bytes
    size: int


class IndexClient:
    """GETs with retries, per-origin credentials and a page cache; thread-safe."""

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
        reporter: Reporter = NULL_REPORTER,
    ) -> None:
        self.offline = offline
        self.refresh = refresh  # revalidate every cached page, fresh or not
        self._pages = PageCache(cache_dir / "pages") if cache_dir is not None else None
        self._credentials = IndexCredentials(keyring=keyring, reporter=reporter)
        self._transport = Transport(
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            follow_redirects=True,
            event_hooks={"response": [_refuse_bad_redirect]},
        )

    def close(self) -> None:
        self._transport.close()

    def cancel(self) -> None:
        """Stop every transfer at its next chunk (an interrupted run need not wait for them)."""
        self._transport.cancel()

    def remember_credentials(self, url: str) -> str:
        """Keep `url`'s user:password for its host; return the URL without them. A URL that does
        not parse is a UsageError."""
        return self._credentials.remember(url)

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

    def fetch_range(self, url: str, wanted: str) -> Part | None:
        """Part of the file at `url`: `wanted` as a Range header says it (`-65536`: the last 64
        KiB; `100-199`). None when the server does not serve ranges (it answers with the whole
        file, whose body is then not read); an error status as `fetch_bytes` says it."""
        if self.offline:
            raise OfflineError(_offline_message(url))
        buffer = io.BytesIO()
        headers = {"Range": f"bytes={wanted}", "Accept-Encoding": "identity"}
        response = self._get(url, buffer, headers=headers, limit=MAX_DOCUMENT, status=206)
        if response.status_code != 206:
            if response.is_success or response.status_code == 416:
                return None
            self._check_status(response, url)
        found = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
        data = buffer.getvalue()
        if found is None or int(found[2]) - int(found[1]) + 1 != len(data):
            return None  # a range it does not say, or not the one it says: not a server to trust
        return Part(offset=int(found[1]), data=data, size=int(found[3]))

    def download(self, url: str, target: Path, reporter: Reporter = NULL_REPORTER) -> None:
        """Stream the body at `url` into `target` (created or overwritten); each chunk, as it
        arrives, is DOWNLOAD progress for `reporter`."""
        if self.offline:
            raise OfflineError(_offline_message(url))
        with naming(target), target.open("wb") as stream:
            self._check_status(self._get(url, stream, reporter=reporter), url)

    # --- internals ------------------------------------------------------------------------------

    def _get(
        self,
        url: str,
        sink: BinaryIO,
        *,
        headers: Mapping[str, str] | None = None,
        reporter: Reporter = NULL_REPORTER,
        limit: int | None = None,
        status: int | None = None,
    ) -> httpx.Response:
        """GET over the transport; a 2xx body (or only one with `status`) lands in `sink` (at
        most `limit` bytes of it, else ResponseTooLargeError). The response returned is
        closed."""
        problem = url_problem(url, WEB_SCHEMES)
        if problem is not None:
            raise IndexError_(f"{redact(url)!r} {problem}; check where it comes from")
        import httpx

        credentials = self._credentials.for_url(url)
        auth = httpx.BasicAuth(*credentials) if credentials else None

        def receive(response: httpx.Response) -> httpx.Response:
            sink.seek(0)  # what an earlier try left is dropped
            sink.truncate()
            if response.status_code == status if status else response.is_success:
                self._receive(response, url, sink, reporter, limit)
            return response

        try:
            return self._transport.send("GET", url, receive, headers=headers, auth=auth)
        except GaveUp as gave_up:
            raise self._failure(url, gave_up) from None
        except (httpx.HTTPError, httpx.InvalidURL) as error:  # bad URL, scheme, redirects
            reason = self._transport.scrub(str(error)) or type(error).__name__
            raise IndexError_(f"{redact(url)}: {reason}; check the URL") from None

    def _receive(
        self,
        response: httpx.Response,
        url: str,
        sink: BinaryIO,
        reporter: Reporter,
        limit: int | None,
    ) -> None:
        """The body into `sink`, chunk by chunk, counted (as decoded) against `limit`."""
        announced = response.headers.get("content-length", "")
        if limit is not None and announced.isdigit() and int(announced) > limit:
            raise _too_large(url, limit, f"it announces {int(announced):,} bytes")
        received = 0
        for chunk in response.iter_bytes(CHUNK):
            self._transport.check_cancelled(url)
            received += len(chunk)
            if limit is not None and received > limit:
                raise _too_large(url, limit, "more arrived")
            sink.write(chunk)
            reporter.advanced(DOWNLOAD, size=len(chunk))

    def _failure(self, url: str, gave_up: GaveUp) -> IndexError_:
        import httpx

        shown = redact(url)
        tries = _tries(gave_up.tries)
        reason = self._reason(gave_up.error)
        if isinstance(gave_up.error, httpx.TimeoutException):
            return IndexTimeoutError(
                f"{shown}: no answer within {self._transport.timeout:g} s after {tries}; check "
                "the index and your network, or raise --timeout"
            )
        if gave_up.answered:
            return BrokenDownloadError(
                f"{shown}: the connection dropped before the whole body arrived, after {tries} "
                f"({reason}); try again, and check your network or proxy if it persists"
            )
        host = urlsplit(url).hostname or shown
        return IndexUnreachableError(
            f"cannot reach {host} ({reason}, after {tries}) for {shown}; check "
            "--index-url / --find-links, your network and your proxy settings (HTTPS_PROXY, "
            "NO_PROXY)"
        )

    def _reason(self, error: Exception) -> str:
        text = self._transport.scrub(str(error)).split("] ")[-1].strip()
        return text or type(error).__name__

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
            tries = _tries(self._transport.retries)
            raise HttpStatusError(
                f"{shown}: HTTP {status} from the server after {tries}; try again later", status
            )
        raise HttpStatusError(f"{shown}: unexpected HTTP {status} from the server", status)


def _tries(count: int) -> str:
    return f"{count} {'try' if count == 1 else 'tries'}"


def _too_large(url: str, limit: int, seen: str) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"{redact(url)}: larger than the {limit >> 20} MiB vendorer reads for an index page or "
        f"metadata file ({seen}); check that the URL is a package index or find-links page"
    )


def _refuse_bad_redirect(response: httpx.Response) -> None:
    """A redirect to a URL that does not parse (or not to http/https) stops the request."""
    import httpx

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


def _read_local(url: str) -> bytes:
    path = file_url_path(url)
    try:
        return path.read_bytes()
    except OSError as error:
        raise IndexError_(f"cannot read {path}: {error.strerror or error}") from None
