"""The finder: a project's distribution files on every index and find-links location, their
metadata, and the verified files themselves.

Lists projects (PEP 691/503 indexes, flat find-links pages and folders) in a thread pool, merges
what several locations list (the first wins; `first_index` stops at the first index that has the
project), reads metadata (the PEP 658/714 file, else the archive's), downloads into the verified
file store, and turns direct references and local files into `DistFile`s. It filters by no
interpreter (the caller judges each file's tags, version and Requires-Python against the target
profile). Warnings (files skipped, specifiers ignored...) go to the reporter as they are learnt.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from packaging.utils import NormalizedName, canonicalize_name

from vendorer._util.files import copy_atomic, sha256_of
from vendorer._util.urls import WEB_SCHEMES, file_url_path, redact, url_problem
from vendorer.errors import IndexError_
from vendorer.index.client import IndexClient, Part
from vendorer.index.errors import HttpStatusError, OfflineError
from vendorer.index.listing import Listing
from vendorer.index.models import DistFile, Link, Page
from vendorer.index.pages import (
    ACCEPT,
    dist_file,
    html_links,
    local_link,
    page_entries,
    split_fragment,
    url_filename,
)
from vendorer.index.remotefile import Ranges
from vendorer.index.store import (
    FileStore,
    check_zip,
    digests,
    file_digests,
    verified_local,
    verify,
)
from vendorer.report import NULL_REPORTER, Reporter

if TYPE_CHECKING:  # metadata is parsed when the resolver asks for it (a run that locks)
    from packaging.metadata import Metadata

__all__ = ["Finder"]


class Finder:
    """Files and metadata from indexes and find-links; thread-safe, cached in memory and on disk."""

    def __init__(
        self,
        *,
        index_urls: Sequence[str] = ("https://pypi.org/simple/",),
        find_links: Sequence[str] = (),
        cache_dir: Path | None = None,
        timeout: float = 15.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_workers: int = 8,
        offline: bool = False,
        refresh: bool = False,
        keyring: bool = False,
        first_index: bool = False,
        accept: str = ACCEPT,
        reporter: Reporter = NULL_REPORTER,
    ) -> None:
        # warned of files skipped, specifiers ignored, a netrc it cannot read...
        self._warn = reporter.warning
        self.accept = accept  # what project pages are asked for: PEP 691 JSON first
        self.first_index = first_index  # a project's files from the first index that lists it
        self._lock = threading.Lock()
        self._client = IndexClient(
            cache_dir=cache_dir,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            offline=offline,
            refresh=refresh,
            keyring=keyring,
            reporter=reporter,
        )
        self.index_urls = [self._client.remember_credentials(url) for url in index_urls]
        self.find_links = [
            self._client.remember_credentials(link) if _is_remote(link) else link
            for link in find_links
        ]
        self._store = FileStore(cache_dir / "files" if cache_dir is not None else None)
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="finder")
        # downloads started ahead of need (see fetch_ahead), apart from the pages' pool
        self._ahead = ThreadPoolExecutor(max_workers=4, thread_name_prefix="finder-ahead")
        self._projects: dict[NormalizedName, Future[Listing]] = {}
        self._flat_pages: dict[str, Future[list[DistFile]]] = {}
        self._metadata: dict[str, Future[Metadata | None]] = {}
        self._url_locks: dict[str, threading.Lock] = {}
        self._sha256_of_url: dict[str, str] = {}  # files the index gave no sha256 for
        self._ranges = Ranges(self._client)

    # --- lifecycle ------------------------------------------------------------------------------

    def close(self, *, wait: bool = True) -> None:
        """End the pools, the client and the store. `wait`: for the running transfers, and for
        what was fetched ahead (it is for a later step, or the cache)."""
        self._pool.shutdown(wait=wait, cancel_futures=True)
        self._ahead.shutdown(wait=wait, cancel_futures=not wait)
        self._client.close()
        self._store.close()

    def __enter__(self) -> Finder:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is not None:  # an error or Ctrl-C: transfers stop at their next chunk, and one
            self._client.cancel()  # blocked on a silent server is not waited for (its timeout)
        self.close(wait=kind is None)

    # --- projects -------------------------------------------------------------------------------

    def project_files(self, name: str) -> list[DistFile]:
        """Every file of `name` on every index (or on the first that lists it, with
        `first_index`), then every find-links location."""
        return self.project_listing(name).all()

    def project_listing(self, name: str) -> Listing:
        """`project_files` by version, each version's files made when first asked for."""
        return self._project_future(name).result()

    def prefetch(self, names: Iterable[str]) -> None:
        """Start listing these projects in the background."""
        for name in names:
            self._project_future(name)

    def _project_future(self, name: str) -> Future[Listing]:
        key = canonicalize_name(name)
        with self._lock:
            future = self._projects.get(key)
            if future is None:
                future = self._pool.submit(self._list_project, key)
                self._projects[key] = future
            return future

    def _list_project(self, name: NormalizedName) -> Listing:
        listing = Listing(self._warn)
        for index in self.index_urls:
            if self._list_index(index, name, listing) and self.first_index:
                break  # later indexes cannot shadow it (dependency confusion)
        for link in self.find_links:
            for file in self._flat_files(link):
                if file.project == name:
                    listing.add_file(file)
        return listing

    def _list_index(self, index: str, name: NormalizedName, listing: Listing) -> bool:
        """Add the files `index` lists for `name`; whether it lists any."""
        url = urljoin(index.rstrip("/") + "/", f"{name}/")
        page = self._client.get_page(url, accept=self.accept)
        if page is None:
            return False  # not on this index
        entries = page_entries(page, self._warn)
        return listing.add_page(entries, name, source=redact(index), page_url=page.url)

    def _flat_files(self, link: str) -> list[DistFile]:
        """A find-links location's files, read once. The first caller reads it in its own thread
        (already one of the pool's: waiting on another pool task could exhaust the pool)."""
        with self._lock:
            future = self._flat_pages.get(link)
            owner = future is None
            if future is None:
                future = self._flat_pages[link] = Future()
        if owner:
            try:
                future.set_result(self._read_flat(link))
            except BaseException as error:
                future.set_exception(error)
        return future.result()

    def _read_flat(self, link: str) -> list[DistFile]:
        if _is_remote(link):
            page = self._client.get_page(link, accept="text/html")
            if page is None:
                raise IndexError_(f"find-links page {link} was not found (HTTP 404); check it")
            return self._dist_files(html_links(page, self._warn), link)
        path = file_url_path(link) if link.startswith("file:") else Path(link)
        if path.is_dir():
            links = [local_link(p) for p in sorted(path.iterdir()) if p.is_file()]
        elif path.is_file() and path.suffix.lower() in {".html", ".htm"}:
            page = Page(path.resolve().as_uri(), "text/html", path.read_bytes())
            links = html_links(page, self._warn)
        elif path.is_file():
            links = [local_link(path)]
        else:
            raise IndexError_(f"find-links folder {path} does not exist; check --find-links")
        return self._dist_files(links, str(path))

    def _dist_files(self, links: Iterable[Link], source: str) -> list[DistFile]:
        shown = redact(source)
        return [f for link in links if (f := dist_file(link, source=shown, warn=self._warn))]

    # --- metadata -------------------------------------------------------------------------------

    def metadata(self, file: DistFile) -> Metadata | None:
        """Core metadata: the PEP 658 file, else the wheel's, else a reliable sdist PKG-INFO.

        None for an sdist whose PKG-INFO may change at build time (PEP 643): build it instead.
        """
        return self._metadata_future(file).result()

    def prefetch_metadata(self, files: Iterable[DistFile]) -> None:
        """Start reading these files' metadata in the background."""
        for file in files:
            self._metadata_future(file)

    def _metadata_future(self, file: DistFile) -> Future[Metadata | None]:
        with self._lock:
            future = self._metadata.get(file.url)
            if future is None:
                future = self._pool.submit(self._read_metadata, file)
                self._metadata[file.url] = future
            return future

    def _read_metadata(self, file: DistFile) -> Metadata | None:
        from vendorer.index.metadata import archive_metadata, checked_metadata, raw_metadata

        data = None
        if file.metadata_hashes is not None:
            data = self._metadata_file(file, file.metadata_hashes)
        if data is None and file.is_wheel:
            data = self._ranged_metadata(file)
        if data is not None:
            return checked_metadata(raw_metadata(data, file), file, self._warn)
        return archive_metadata(self._verified_path(file), file, self._warn)

    def _ranged_metadata(self, file: DistFile) -> bytes | None:
        """A remote wheel's METADATA, kept or read by Range requests (`remotefile`); None when
        the wheel is in the store, or the index serves no ranges, or it must be downloaded."""
        sha256 = file.hashes.get("sha256")
        if sha256 is None or file.url.startswith("file:") or self._store.path(sha256).is_file():
            return None
        kept = self._store.metadata(sha256)
        if kept is not None:
            return kept
        data = self._ranges.metadata(file)
        if data is not None:
            self._store.keep_metadata(sha256, data)
        return data

    def _metadata_file(self, file: DistFile, hashes: Mapping[str, str]) -> bytes | None:
        """The PEP 658 `.metadata` file, verified; None when the index fails to serve it."""
        sha256 = hashes.get("sha256")
        cached = self._store.get(sha256) if sha256 else None
        if cached is not None:
            return cached.read_bytes()
        url = file.url + ".metadata"
        try:
            data = self._client.fetch_bytes(url)
        except OfflineError:
            return None  # the archive may be in the cache
        except HttpStatusError as error:
            if error.status not in {404, 410}:
                raise
            self._warn(
                f"{file.filename}: the index offers a .metadata file but answers HTTP "
                f"{error.status} for it; read the archive instead"
            )
            return None
        computed = digests([data], hashes)
        verify(computed, hashes, what=url, deleted=False)
        self._store.put(computed["sha256"], data)
        return data

    # --- files ----------------------------------------------------------------------------------

    def download(self, file: DistFile, dest_dir: Path) -> Path:
        """Copy the verified file into `dest_dir` (temporary file, then rename); its path."""
        source = self._verified_path(file)
        target = dest_dir / file.filename
        if source.resolve() != target.resolve():
            copy_atomic(source, target)
        return target

    def sha256(self, file: DistFile) -> str:
        """The file's sha256: the index's, or read off the verified file (downloaded if need be)."""
        return file.hashes.get("sha256") or sha256_of(self._verified_path(file))

    def fetch_ahead(
        self,
        file: DistFile,
        then: Callable[[Path], None] | None = None,
        started: Callable[[Path, Path, Part], None] | None = None,
    ) -> None:
        """Start downloading a remote `file` into the store, for a step that will ask for it
        (`verified_file` then waits for it, or finds it); what goes wrong is that step's.
        `then`, if given, is told the file's path once it is there and checked (on the thread
        that downloaded it); `started`, for a wheel: where it is written, where it will be once
        checked, and its end (`remotefile.wheel_tail`), read while the download goes on."""
        if not file.url.startswith("file:") and not self._client.offline:
            fetched = self._ahead.submit(self._verified_path, file, started=started)
            if then is not None:
                fetched.add_done_callback(
                    lambda done: done.cancelled() or done.exception() or then(done.result())
                )

    def verified_file(
        self, url: str, filename: str, sha256: str, reporter: Reporter = NULL_REPORTER
    ) -> Path:
        """The file at `url` streamed into the disk store (or found there), checked against
        `sha256` (HashMismatchError otherwise); a wheel is checked to be a zip too. Each chunk
        downloaded is DOWNLOAD progress for `reporter`."""
        problem = url_problem(url, WEB_SCHEMES)
        if problem is not None:
            raise IndexError_(
                f"the lock's URL for {filename}, {redact(url)!r}, {problem}; lock again "
                "(`vendorer lock --force`) or fix the lock"
            )
        link = Link(url=url, filename=filename, hashes={"sha256": sha256.lower()})
        file = dist_file(link, source=redact(url), warn=self._warn)
        if file is None:
            raise IndexError_(f"{redact(url)}: {filename} is not a wheel or sdist file name")
        return self._verified_path(file, against="the lock's", reporter=reporter)

    def local_file(self, path: Path) -> DistFile:
        """A DistFile for a local wheel or sdist named in the requirements."""
        file = dist_file(local_link(path), source=str(path.parent), warn=self._warn)
        if file is None:
            raise IndexError_(f"{path}: not a wheel or sdist file name")
        return file

    def url_file(self, url: str, *, name: str) -> DistFile:
        """A DistFile for a direct reference (`name @ https://.../file.whl#sha256=...`)."""
        bare, hashes = split_fragment(self._client.remember_credentials(url))
        link = Link(url=bare, filename=url_filename(bare), hashes=hashes)
        file = dist_file(link, source=bare, warn=self._warn)
        if file is None or file.project != canonicalize_name(name):
            raise IndexError_(
                f"{bare}: not a wheel or sdist of {name} (vendorer locks files, not folders or "
                "repositories)"
            )
        return file

    def _verified_path(
        self,
        file: DistFile,
        *,
        against: str = "the index's",
        reporter: Reporter = NULL_REPORTER,
        started: Callable[[Path, Path, Part], None] | None = None,
    ) -> Path:
        """A local path holding the file's bytes, checked against every hash the index gave;
        `started`: see `fetch_ahead`."""
        if file.url.startswith("file:"):
            return verified_local(file, against=against)
        with self._url_lock(file.url):
            sha256 = file.hashes.get("sha256") or self._sha256_of_url.get(file.url)
            cached = self._store.get(sha256) if sha256 else None
            if cached is not None:
                return cached
            if self._client.offline:
                raise OfflineError(
                    f"offline: {file.filename} ({file.url}) is not in the cache; run once "
                    "without --offline to fill it"
                )
            temporary = self._store.temporary()
            if started is not None and file.is_wheel:
                with contextlib.suppress(RuntimeError):  # the pool is shut: the run is ending
                    self._pool.submit(self._tell_tail, file, temporary, started)
            try:
                self._client.download(file.url, temporary, reporter)
                computed = file_digests(temporary, file.hashes)
                verify(computed, file.hashes, what=file.url, deleted=True, against=against)
                if file.is_wheel and not file.hashes:  # with a hash, a cut or foreign file fails it
                    check_zip(temporary, file)
            except BaseException:
                self._store.drop(temporary)
                raise
            self._sha256_of_url[file.url] = computed["sha256"]
            return self._store.keep(temporary, computed["sha256"])

    def _tell_tail(
        self, file: DistFile, part: Path, started: Callable[[Path, Path, Part], None]
    ) -> None:
        sha256, tail = file.hashes.get("sha256"), self._ranges.tail(file.url)
        if sha256 is not None and tail is not None:
            started(part, self._store.path(sha256), tail)

    def _url_lock(self, url: str) -> threading.Lock:
        with self._lock:
            return self._url_locks.setdefault(url, threading.Lock())


def _is_remote(link: str) -> bool:
    return link.partition("://")[0].lower() in WEB_SCHEMES  # parsing it could raise
