"""Listing a project's distribution files on indexes and find-links, reading their metadata.

Speaks PEP 691 (JSON) and PEP 503 (HTML) simple indexes, flat find-links pages and folders, and
PEP 658/714 metadata files, so a wheel's dependencies are known without downloading it. It does not
filter by any interpreter: each file carries its tags, version and Requires-Python, and the caller
judges them against the target profile. Transport (retries, credentials, the page cache) is
in `vendorer.index.http`; verified files are kept by their sha256 (in `cache_dir/files`, or in a
private temporary folder when there is no cache).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tarfile
import tempfile
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import IO
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from packaging.metadata import InvalidMetadata, Metadata, RawMetadata, parse_email
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from vendorer._util.files import copy_atomic, sha256_of, write_bytes_atomic
from vendorer._util.urls import WEB_SCHEMES, file_url_path, redact, url_problem
from vendorer.errors import IndexError_
from vendorer.index.http import (
    MAX_DOCUMENT,
    BrokenDownloadError,
    HttpClient,
    HttpStatusError,
    IndexAuthError,
    IndexTimeoutError,
    IndexUnreachableError,
    OfflineError,
    Page,
)

__all__ = [
    "ACCEPT",
    "BrokenDownloadError",
    "DistFile",
    "Finder",
    "HashMismatchError",
    "HttpStatusError",
    "IndexAuthError",
    "IndexPageError",
    "IndexTimeoutError",
    "IndexUnreachableError",
    "MetadataError",
    "OfflineError",
]

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"
ACCEPT = f"{JSON_TYPE}, {HTML_TYPE};q=0.2, text/html;q=0.1"
ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".zip")  # exactly what packaging's parsers accept
RELIABLE_SINCE = Version("2.2")  # PEP 643: sdist metadata not marked Dynamic is final
NEEDED_STATIC = frozenset({"requires-dist", "requires-python"})
CHUNK = 1 << 20
STALE_PART_SECONDS = 24 * 3600  # a partial download this old was left by a killed run


class HashMismatchError(IndexError_):
    """A file's bytes do not match the hash the index gave."""

    def __init__(
        self,
        what: str,
        algorithm: str,
        expected: str,
        actual: str,
        *,
        deleted: bool,
        against: str = "the index's",
    ) -> None:
        fate = "it was deleted and not used" if deleted else "it was not used"
        super().__init__(
            f"{what}: {algorithm} {actual} does not match {against} {expected}; {fate}. A "
            "corrupted transfer or a file changed on the index: try again, and lock again if it "
            "persists"
        )
        self.algorithm = algorithm
        self.expected = expected
        self.actual = actual


class IndexPageError(IndexError_):
    """A project or find-links page that cannot be read (malformed, or an unknown API version)."""


class MetadataError(IndexError_):
    """Core metadata that cannot be used (unreadable, invalid, or naming another distribution)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DistFile:
    """One wheel or sdist of a project, as an index or a find-links location lists it."""

    project: NormalizedName
    filename: str
    url: str  # absolute, without credentials or fragment; file:// for local files
    version: Version
    is_wheel: bool
    tags: frozenset[Tag] = frozenset()  # wheels only
    hashes: Mapping[str, str] = field(default_factory=dict)  # algorithm -> lowercase hex
    requires_python: SpecifierSet | None = None
    yanked: str | None = None  # None: not yanked; else the reason ("" when none was given)
    metadata_hashes: Mapping[str, str] | None = None  # PEP 658/714; None: no .metadata file
    source: str = ""  # the index or find-links location (without credentials)

    def __hash__(self) -> int:
        return hash((self.url, self.filename))


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
        warnings: list[str] | None = None,
    ) -> None:
        # files skipped, specifiers ignored, netrc unreadable...: each once, into `warnings` if
        # given (the caller reads it after the step, even a failed one)
        self.warnings: list[str] = [] if warnings is None else warnings
        self.accept = accept  # what project pages are asked for: PEP 691 JSON first
        self.first_index = first_index  # a project's files from the first index that lists it
        self._lock = threading.Lock()
        self._http = HttpClient(
            cache_dir=cache_dir,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            offline=offline,
            refresh=refresh,
            keyring=keyring,
            warn=self._warn,
        )
        self.index_urls = [self._http.remember_credentials(url) for url in index_urls]
        self.find_links = [
            self._http.remember_credentials(link) if _is_remote(link) else link
            for link in find_links
        ]
        self._store = _FileStore(cache_dir / "files" if cache_dir is not None else None)
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="finder")
        self._projects: dict[NormalizedName, Future[list[DistFile]]] = {}
        self._flat_pages: dict[str, Future[list[DistFile]]] = {}
        self._metadata: dict[str, Future[Metadata | None]] = {}
        self._url_locks: dict[str, threading.Lock] = {}
        self._sha256_of_url: dict[str, str] = {}  # files the index gave no sha256 for

    # --- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._http.close()
        self._store.close()

    def __enter__(self) -> Finder:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is not None and issubclass(kind, KeyboardInterrupt):
            self._http.cancel()  # interrupted: the transfers still running stop at their next chunk
        self.close()

    # --- projects -------------------------------------------------------------------------------

    def project_files(self, name: str) -> list[DistFile]:
        """Every file of `name` on every index (or on the first that lists it, with
        `first_index`), then every find-links location."""
        return self._project_future(name).result()

    def prefetch(self, names: Iterable[str]) -> None:
        """Start listing these projects in the background."""
        for name in names:
            self._project_future(name)

    def _project_future(self, name: str) -> Future[list[DistFile]]:
        key = canonicalize_name(name)
        with self._lock:
            future = self._projects.get(key)
            if future is None:
                future = self._pool.submit(self._list_project, key)
                self._projects[key] = future
            return future

    def _list_project(self, name: NormalizedName) -> list[DistFile]:
        files: list[DistFile] = []
        for index in self.index_urls:
            files.extend(self._index_files(index, name))
            if files and self.first_index:
                break  # later indexes cannot shadow it (dependency confusion)
        for link in self.find_links:
            files.extend(f for f in self._flat_files(link) if f.project == name)
        return self._merge(files)

    def _index_files(self, index: str, name: NormalizedName) -> list[DistFile]:
        page = self._http.get_page(urljoin(index.rstrip("/") + "/", f"{name}/"), accept=self.accept)
        if page is None:
            return []  # not on this index
        files = self._dist_files(_page_links(page, self._warn), index)
        for stranger in (f for f in files if f.project != name):
            self._warn(
                f"skipped {stranger.filename}: listed on {page.url} but not a file of {name}"
            )
        return [f for f in files if f.project == name]

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
            page = self._http.get_page(link, accept="text/html")
            if page is None:
                raise IndexError_(f"find-links page {link} was not found (HTTP 404); check it")
            return self._dist_files(_html_links(page, self._warn), link)
        path = file_url_path(link) if link.startswith("file:") else Path(link)
        if path.is_dir():
            links = [_local_link(p) for p in sorted(path.iterdir()) if p.is_file()]
        elif path.is_file() and path.suffix.lower() in {".html", ".htm"}:
            page = Page(path.resolve().as_uri(), "text/html", path.read_bytes())
            links = _html_links(page, self._warn)
        elif path.is_file():
            links = [_local_link(path)]
        else:
            raise IndexError_(f"find-links folder {path} does not exist; check --find-links")
        return self._dist_files(links, str(path))

    def _dist_files(self, links: Iterable[_Link], source: str) -> list[DistFile]:
        shown = redact(source)
        return [f for link in links if (f := _dist_file(link, source=shown, warn=self._warn))]

    def _merge(self, files: list[DistFile]) -> list[DistFile]:
        """One file per filename: the first location wins (indexes in order, then find-links)."""
        unique: dict[str, DistFile] = {}
        for file in files:
            first = unique.setdefault(file.filename, file)
            theirs, ours = file.hashes.get("sha256"), first.hashes.get("sha256")
            if first is not file and theirs and ours and theirs != ours:
                self._warn(
                    f"{file.filename} differs between {first.source} and {file.source}; "
                    f"using the one from {first.source}"
                )
        return list(unique.values())

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
        if file.metadata_hashes is not None:
            data = self._metadata_file(file, file.metadata_hashes)
            if data is not None:
                return self._metadata_from(_raw_metadata(data, file), file)
        path = self._verified_path(file)
        if file.is_wheel:
            return self._metadata_from(_raw_metadata(_wheel_metadata(path, file), file), file)
        pkg_info = _sdist_pkg_info(path, file)
        if pkg_info is None:
            return None
        raw = _raw_metadata(pkg_info, file)
        return self._metadata_from(raw, file) if _is_reliable(raw) else None

    def _metadata_file(self, file: DistFile, hashes: Mapping[str, str]) -> bytes | None:
        """The PEP 658 `.metadata` file, verified; None when the index fails to serve it."""
        sha256 = hashes.get("sha256")
        cached = self._store.get(sha256) if sha256 else None
        if cached is not None:
            return cached.read_bytes()
        url = file.url + ".metadata"
        try:
            data = self._http.fetch_bytes(url)
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
        digests = _digests([data], hashes)
        _verify(digests, hashes, what=url, deleted=False)
        self._store.put(digests["sha256"], data)
        return data

    def _metadata_from(self, raw: RawMetadata, file: DistFile) -> Metadata:
        """Metadata whose name, version, Requires-Dist and Requires-Python are known good."""
        requires_python = raw.get("requires_python")
        if requires_python is not None and self._specifier(requires_python, file.filename) is None:
            del raw["requires_python"]
        metadata = Metadata.from_raw(raw, validate=False)  # fields are checked as they are read
        try:
            name, version = metadata.name, metadata.version
            _ = metadata.requires_dist, metadata.requires_python
        except InvalidMetadata as error:
            raise MetadataError(
                f"{file.filename}: invalid core metadata ({error}); exclude this version "
                "(for example with a `!=` constraint) or report it to the project"
            ) from None
        if canonicalize_name(name) != file.project or version != file.version:
            raise MetadataError(
                f"{file.filename}: its metadata names {name} {version}, not {file.project} "
                f"{file.version}; the index serves a wrong file: exclude this version or report it"
            )
        return metadata

    def _specifier(self, text: str | None, where: str) -> SpecifierSet | None:
        return _specifier(text, where, self._warn)

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

    def verified_file(
        self, url: str, filename: str, sha256: str, on_bytes: Callable[[int], None] | None = None
    ) -> Path:
        """The file at `url` streamed into the disk store (or found there), checked against
        `sha256` (HashMismatchError otherwise); a wheel is checked to be a zip too. `on_bytes`
        hears each chunk downloaded."""
        problem = url_problem(url, WEB_SCHEMES)
        if problem is not None:
            raise IndexError_(
                f"the lock's URL for {filename}, {redact(url)!r}, {problem}; lock again "
                "(`vendorer lock --force`) or fix the lock"
            )
        link = _Link(url=url, filename=filename, hashes={"sha256": sha256.lower()})
        file = _dist_file(link, source=redact(url), warn=self._warn)
        if file is None:
            raise IndexError_(f"{redact(url)}: {filename} is not a wheel or sdist file name")
        return self._verified_path(file, against="the lock's", on_bytes=on_bytes)

    def local_file(self, path: Path) -> DistFile:
        """A DistFile for a local wheel or sdist named in the requirements."""
        file = _dist_file(_local_link(path), source=str(path.parent), warn=self._warn)
        if file is None:
            raise IndexError_(f"{path}: not a wheel or sdist file name")
        return file

    def url_file(self, url: str, *, name: str) -> DistFile:
        """A DistFile for a direct reference (`name @ https://.../file.whl#sha256=...`)."""
        bare, hashes = _split_fragment(self._http.remember_credentials(url))
        link = _Link(url=bare, filename=_url_filename(bare), hashes=hashes)
        file = _dist_file(link, source=bare, warn=self._warn)
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
        on_bytes: Callable[[int], None] | None = None,
    ) -> Path:
        """A local path holding the file's bytes, checked against every hash the index gave."""
        if file.url.startswith("file:"):
            return _verified_local(file, against=against)
        with self._url_lock(file.url):
            sha256 = file.hashes.get("sha256") or self._sha256_of_url.get(file.url)
            cached = self._store.get(sha256) if sha256 else None
            if cached is not None:
                return cached
            if self._http.offline:
                raise OfflineError(
                    f"offline: {file.filename} ({file.url}) is not in the cache; run once "
                    "without --offline to fill it"
                )
            temporary = self._store.temporary()
            try:
                self._http.download(file.url, temporary, on_bytes)
                digests = _file_digests(temporary, file.hashes)
                _verify(digests, file.hashes, what=file.url, deleted=True, against=against)
                if file.is_wheel:
                    _check_zip(temporary, file)
            except BaseException:
                temporary.unlink(missing_ok=True)
                raise
            self._sha256_of_url[file.url] = digests["sha256"]
            return self._store.keep(temporary, digests["sha256"])

    def _url_lock(self, url: str) -> threading.Lock:
        with self._lock:
            return self._url_locks.setdefault(url, threading.Lock())

    def _warn(self, message: str) -> None:
        with self._lock:
            if message not in self.warnings:
                self.warnings.append(message)


# --- pages ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Link:
    """A file as a page lists it, before its name is judged."""

    url: str  # absolute, without fragment
    filename: str
    hashes: Mapping[str, str]
    requires_python: str | None = None
    yanked: str | None = None
    metadata_hashes: Mapping[str, str] | None = None


def _page_links(page: Page, warn: Callable[[str], None]) -> list[_Link]:
    """The links of a project page; its Content-Type says whether it is JSON or HTML."""
    media = page.content_type.split(";")[0].strip().lower()
    version = re.fullmatch(r"application/vnd\.pypi\.simple\.v(\d+)\+(json|html)", media)
    if version is not None:
        _check_api_version(version.group(1), page.url)
    if media.endswith("json"):
        return _json_links(page, warn)
    return _html_links(page, warn)


def _json_links(page: Page, warn: Callable[[str], None]) -> list[_Link]:
    try:
        document = json.loads(page.body)
    except ValueError:
        raise IndexPageError(f"{page.url}: not valid JSON; is this a PEP 691 index?") from None
    if not isinstance(document, dict) or not isinstance(document.get("files"), list):
        raise IndexPageError(f"{page.url}: not a PEP 691 project page (no 'files' list)")
    meta = document.get("meta")
    api_version = meta.get("api-version") if isinstance(meta, dict) else None
    if isinstance(api_version, str):
        _check_api_version(api_version.split(".")[0], page.url)
    links = []
    for entry in document["files"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            warn(f"skipped a malformed file entry on {page.url}: {entry!r:.80}")
            continue
        joined = _link_url(page.url, entry["url"], page.url, warn)
        if joined is None:
            continue
        url, hashes = _split_fragment(joined)
        filename = entry.get("filename")
        yanked = entry.get("yanked", False)
        requires_python = entry.get("requires-python")
        links.append(
            _Link(
                url=url,
                filename=filename if isinstance(filename, str) else _url_filename(url),
                hashes={**hashes, **_hash_map(entry.get("hashes"))},
                requires_python=requires_python if isinstance(requires_python, str) else None,
                yanked=yanked if isinstance(yanked, str) else ("" if yanked else None),
                metadata_hashes=_json_metadata_hashes(entry),
            )
        )
    return links


def _html_links(page: Page, warn: Callable[[str], None]) -> list[_Link]:
    parser = _AnchorParser()
    parser.feed(page.body.decode(_charset(page.content_type), "replace"))
    parser.close()
    if parser.api_version is not None:
        _check_api_version(parser.api_version.split(".")[0], page.url)
    base = page.url
    if parser.base:
        base = _link_url(page.url, parser.base, page.url, warn, "ignored its <base href>") or base
    links = []
    for href, attributes in parser.anchors:
        joined = _link_url(base, href, page.url, warn)
        if joined is None:
            continue
        url, hashes = _split_fragment(joined)
        metadata = attributes.get("data-core-metadata", attributes.get("data-dist-info-metadata"))
        links.append(
            _Link(
                url=url,
                filename=_url_filename(url),
                hashes=hashes,
                requires_python=attributes.get("data-requires-python") or None,
                yanked=attributes.get("data-yanked"),
                metadata_hashes=_html_metadata_hashes(metadata),
            )
        )
    return links


def _link_url(
    base: str,
    href: str,
    page_url: str,
    warn: Callable[[str], None],
    what: str = "skipped a link",
) -> str | None:
    """`href` made absolute against `base`; None, with a warning, when it is not a URL vendorer
    can fetch (a remote page may link to http and https only, a local one to files too)."""
    local = page_url.startswith("file:")
    schemes = ("http", "https", "file") if local else WEB_SCHEMES
    try:
        url = urljoin(base, href)
    except ValueError:  # urljoin parses both: an unclosed [IPv6 bracket, say
        url = href
    problem = url_problem(url, schemes)
    if problem is None:
        return url
    warn(f"{what} on {redact(page_url)}: {redact(url)!r} {problem}")
    return None


class _AnchorParser(HTMLParser):
    """Anchors (attribute values come back unescaped), `<base href>` and the PEP 629 version."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[str, dict[str, str]]] = []
        self.base: str | None = None
        self.api_version: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "a" and values.get("href"):
            self.anchors.append((values["href"], values))
        elif tag == "base" and values.get("href") and self.base is None:
            self.base = values["href"]
        elif tag == "meta" and values.get("name") == "pypi:repository-version":
            self.api_version = values.get("content")


def _check_api_version(major: str, url: str) -> None:
    if major != "1":
        raise IndexPageError(
            f"{url}: the index speaks version {major} of the simple API; vendorer knows version "
            "1: upgrade vendorer or use another index"
        )


def _dist_file(link: _Link, *, source: str, warn: Callable[[str], None]) -> DistFile | None:
    """The DistFile a link names; None for other files (.exe, .egg, ...) and unparsable names."""
    name = link.filename
    if not name.endswith(ARCHIVE_SUFFIXES):
        return None
    if PurePosixPath(name).name != name or "\\" in name or name.startswith("."):
        warn(f"skipped {name!r} from {source}: not a plain file name")
        return None
    try:
        if name.endswith(".whl"):
            project, version, _, tags = parse_wheel_filename(name)
        else:
            (project, version), tags = parse_sdist_filename(name), frozenset()
    except (InvalidWheelFilename, InvalidSdistFilename) as error:
        warn(f"skipped {name} from {source}: {error}")
        return None
    return DistFile(
        project=project,
        filename=name,
        url=link.url,
        version=version,
        is_wheel=name.endswith(".whl"),
        tags=tags,
        hashes=link.hashes,
        requires_python=_specifier(link.requires_python, f"{name} from {source}", warn),
        yanked=link.yanked,
        metadata_hashes=link.metadata_hashes,
        source=source,
    )


def _local_link(path: Path) -> _Link:
    return _Link(url=path.resolve().as_uri(), filename=path.name, hashes={})


def _specifier(text: str | None, where: str, warn: Callable[[str], None]) -> SpecifierSet | None:
    if not text or not text.strip():
        return None
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        warn(f"ignored the invalid Requires-Python {text!r} of {where}")
        return None


def _split_fragment(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its fragment, and the `#<hashname>=<hex>` hash the fragment carries."""
    parts = urlsplit(url)
    algorithm, sep, value = parts.fragment.partition("=")
    hashes = {}
    if sep and value and algorithm.lower() in hashlib.algorithms_guaranteed:
        hashes[algorithm.lower()] = value.lower()
    return urlunsplit(parts._replace(fragment="")), hashes


def _url_filename(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def _hash_map(value: object) -> dict[str, str]:
    """A JSON `hashes` object (or `core-metadata` one); `true` and junk give no hashes."""
    if not isinstance(value, dict):
        return {}
    return {str(k).lower(): v.lower() for k, v in value.items() if isinstance(v, str) and v.strip()}


def _json_metadata_hashes(entry: Mapping[str, object]) -> dict[str, str] | None:
    """PEP 691/714 key (core-metadata first): absent or false -> None; true -> {}; a hash map."""
    value = entry["core-metadata"] if "core-metadata" in entry else entry.get("dist-info-metadata")
    return None if value is None or value is False else _hash_map(value)


def _html_metadata_hashes(value: str | None) -> dict[str, str] | None:
    """PEP 658/714 attribute: absent or "false" -> None; "true" -> {}; "sha256=..." -> hashes."""
    if value is None or value.lower() == "false":
        return None
    algorithm, sep, digest = value.partition("=")
    return {algorithm.lower(): digest.lower()} if sep and digest else {}


def _charset(content_type: str) -> str:
    match = re.search(r"charset=[\"']?([\w.:-]+)", content_type, re.IGNORECASE)
    charset = match.group(1) if match else "utf-8"
    try:
        "".encode(charset)
    except LookupError:
        return "utf-8"
    return charset


def _is_remote(link: str) -> bool:
    return link.partition("://")[0].lower() in WEB_SCHEMES  # parsing it could raise


# --- verified files -------------------------------------------------------------------------------


class _FileStore:
    """Verified files named by their sha256: the disk cache, or a private temporary folder."""

    def __init__(self, root: Path | None) -> None:
        self._root = root
        self._temporary: tempfile.TemporaryDirectory[str] | None = None
        self._lock = threading.Lock()
        self._swept = False

    @property
    def root(self) -> Path:
        with self._lock:
            if self._root is None:
                self._temporary = tempfile.TemporaryDirectory(prefix="vendorer-files-")
                self._root = Path(self._temporary.name)
            return self._root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def get(self, sha256: str) -> Path | None:
        """The stored file, if it is there and intact (a damaged one is removed)."""
        path = self.path(sha256)
        if not path.is_file():
            return None
        if sha256_of(path) == sha256:
            return path
        path.unlink(missing_ok=True)
        return None

    def put(self, sha256: str, data: bytes) -> None:
        write_bytes_atomic(self.path(sha256), data)

    def temporary(self) -> Path:
        """A new empty file in the store's folder, ready to be renamed into place."""
        folder = self.root / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if not self._swept:  # downloads a killed run left behind
                self._swept = True
                stale = time.time() - STALE_PART_SECONDS
                for part in folder.glob("*.part"):
                    with contextlib.suppress(OSError):
                        if part.stat().st_mtime < stale:
                            part.unlink()
        fd, name = tempfile.mkstemp(dir=folder, suffix=".part")
        os.close(fd)
        return Path(name)

    def keep(self, temporary: Path, sha256: str) -> Path:
        target = self.path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary.chmod(0o644)
        temporary.replace(target)
        return target

    def close(self) -> None:
        if self._temporary is not None:
            self._temporary.cleanup()


def _file_digests(path: Path, hashes: Mapping[str, str]) -> dict[str, str]:
    with path.open("rb") as stream:
        return _digests(iter(lambda: stream.read(CHUNK), b""), hashes)


def _digests(chunks: Iterable[bytes], hashes: Mapping[str, str]) -> dict[str, str]:
    """sha256, plus every algorithm of `hashes` that hashlib always has."""
    names = {"sha256"} | {n for n in hashes if n in hashlib.algorithms_guaranteed}
    hashers = {name: hashlib.new(name) for name in names}
    for chunk in chunks:
        for hasher in hashers.values():
            hasher.update(chunk)
    return {name: hasher.hexdigest() for name, hasher in hashers.items()}


def _verify(
    digests: Mapping[str, str],
    hashes: Mapping[str, str],
    *,
    what: str,
    deleted: bool,
    against: str = "the index's",
) -> None:
    for algorithm, expected in sorted(hashes.items()):
        actual = digests.get(algorithm)
        if actual is not None and actual != expected.lower():
            raise HashMismatchError(
                what, algorithm, expected, actual, deleted=deleted, against=against
            )


def _verified_local(file: DistFile, *, against: str = "the index's") -> Path:
    path = file_url_path(file.url)
    if not path.is_file():
        raise IndexError_(f"{path} does not exist (it was listed by {file.source})")
    if file.hashes:
        digests = _file_digests(path, file.hashes)
        _verify(digests, file.hashes, what=str(path), deleted=False, against=against)
    if file.is_wheel:
        _check_zip(path, file)
    return path


def _check_zip(path: Path, file: DistFile) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            archive.namelist()
    except (zipfile.BadZipFile, OSError) as error:
        raise BrokenDownloadError(
            f"{file.filename} from {file.source or file.url}: not a zip archive ({error}); a "
            "truncated transfer or an error page instead of the wheel: try again"
        ) from None


# --- core metadata --------------------------------------------------------------------------------


def _raw_metadata(data: bytes, file: DistFile) -> RawMetadata:
    try:
        raw, _ = parse_email(data)
    except (ValueError, UnicodeError) as error:
        raise MetadataError(f"{file.filename}: unreadable core metadata ({error})") from None
    return raw


def _is_reliable(raw: RawMetadata) -> bool:
    """PEP 643: an sdist's Requires-Dist and Requires-Python are final from Metadata 2.2 on,
    unless they are marked Dynamic."""
    try:
        version = Version(raw.get("metadata_version", "1.0"))
    except InvalidVersion:
        return False
    dynamic = {name.lower() for name in raw.get("dynamic", [])}
    return version >= RELIABLE_SINCE and not dynamic & NEEDED_STATIC


def _wheel_metadata(path: Path, file: DistFile) -> bytes:
    """The METADATA of the wheel's own `.dist-info` folder."""
    try:
        with zipfile.ZipFile(path) as wheel:
            found = [n for n in wheel.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
            own = [n for n in found if _dist_info_project(n) == file.project] or found
            if len(own) != 1:
                raise MetadataError(
                    f"{file.filename}: {'no' if not own else 'more than one'} .dist-info/METADATA "
                    "in the wheel; it is not a valid wheel"
                )
            with wheel.open(own[0]) as member:
                return _read_metadata_member(member, file)
    except (zipfile.BadZipFile, OSError, zlib.error, EOFError) as error:
        raise BrokenDownloadError(f"{file.filename}: not a readable wheel ({error})") from None


def _read_metadata_member(member: IO[bytes], file: DistFile) -> bytes:
    """Core metadata inside an archive, read into memory as a metadata file is: bounded (one
    bounded read, so a compressed member that expands without end is not inflated)."""
    data = member.read(MAX_DOCUMENT + 1)
    if len(data) > MAX_DOCUMENT:
        raise MetadataError(
            f"{file.filename}: its core metadata is larger than the {MAX_DOCUMENT >> 20} MiB "
            "vendorer reads; exclude this version or report it"
        )
    return data


def _dist_info_project(member: str) -> str:
    folder = member.split("/", 1)[0].removesuffix(".dist-info")
    return canonicalize_name(folder.rpartition("-")[0] or folder)


def _sdist_pkg_info(path: Path, file: DistFile) -> bytes | None:
    """The top-level PKG-INFO of an sdist; None when it has none."""
    pattern = re.compile(r"[^/]+/PKG-INFO")
    try:
        if file.filename.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                name = next((n for n in archive.namelist() if pattern.fullmatch(n)), None)
                if name is None:
                    return None
                with archive.open(name) as stream:
                    return _read_metadata_member(stream, file)
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                if member.isfile() and pattern.fullmatch(member.name):
                    extracted = archive.extractfile(member)
                    return _read_metadata_member(extracted, file) if extracted else None
        return None
    except (tarfile.TarError, zipfile.BadZipFile, OSError, zlib.error, EOFError) as error:
        raise BrokenDownloadError(f"{file.filename}: not a readable sdist ({error})") from None
