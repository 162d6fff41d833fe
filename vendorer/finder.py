"""Listing a project's distribution files on indexes and find-links, and reading their metadata.

Speaks PEP 691 (JSON) and PEP 503 (HTML) simple indexes, flat find-links pages and folders, and
PEP 658/714 metadata files, so a wheel's dependencies are known without downloading it. It does not
filter by any interpreter: each file carries its tags, version and Requires-Python, and the caller
judges them against the target profile.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from packaging.metadata import InvalidMetadata, Metadata
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
from packaging.version import Version

from vendorer.errors import IndexError_
from vendorer.fileio import write_bytes_atomic
from vendorer.http import HttpClient
from vendorer.urls import file_url_path, redact

__all__ = ["DistFile", "Finder", "HashMismatchError", "dist_file_from_url"]

ACCEPT = (
    "application/vnd.pypi.simple.v1+json, "
    "application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
)
SDIST_SUFFIXES = (".tar.gz", ".zip")


class HashMismatchError(IndexError_):
    """Downloaded bytes do not match the hash the index or the lock gave."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DistFile:
    """One wheel or sdist of a project, as an index or a find-links location lists it."""

    project: NormalizedName
    filename: str
    url: str  # absolute, without credentials; file:// for local files
    version: Version
    is_wheel: bool
    tags: frozenset[Tag] = frozenset()  # wheels only
    hashes: Mapping[str, str] = field(default_factory=dict)
    requires_python: SpecifierSet | None = None
    yanked: str | None = None  # None: not yanked; else the reason ("" when none was given)
    metadata_hashes: Mapping[str, str] | None = None  # PEP 658: a .metadata file exists
    source: str = ""  # the index or find-links location (without credentials)

    def __hash__(self) -> int:
        return hash((self.url, self.filename))


def dist_file_from_url(url: str, *, source: str = "", **fields: Any) -> DistFile | None:
    """A DistFile for the file at `url`, or None when its name is not a wheel or sdist name."""
    filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    fragment = urlsplit(url).fragment
    hashes = dict(fields.pop("hashes", {}) or {})
    if "=" in fragment and not hashes:
        algorithm, _, value = fragment.partition("=")
        if algorithm in hashlib.algorithms_guaranteed:
            hashes[algorithm] = value
    bare = urlunsplit(urlsplit(url)._replace(fragment=""))
    try:
        if filename.endswith(".whl"):
            name, version, _, tags = parse_wheel_filename(filename)
            return DistFile(
                project=name,
                filename=filename,
                url=bare,
                version=version,
                is_wheel=True,
                tags=tags,
                hashes=hashes,
                source=source,
                **fields,
            )
        if filename.endswith(SDIST_SUFFIXES):
            name, version = parse_sdist_filename(filename)
            return DistFile(
                project=name,
                filename=filename,
                url=bare,
                version=version,
                is_wheel=False,
                hashes=hashes,
                source=source,
                **fields,
            )
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return None


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
        accept: str = ACCEPT,
    ) -> None:
        self.http = HttpClient(
            cache_dir=cache_dir, timeout=timeout, retries=retries, backoff=backoff, offline=offline
        )
        self.index_urls = [self.http.remember_credentials(url) for url in index_urls]
        self.find_links = [
            self.http.remember_credentials(link) if "://" in link else link for link in find_links
        ]
        self.cache_dir = cache_dir
        self.accept = accept  # what project pages are asked for: PEP 691 JSON first
        self.warnings: list[str] = []
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="finder")
        self._lock = threading.Lock()
        self._projects: dict[str, Future[list[DistFile]]] = {}
        self._metadata: dict[str, Future[Metadata | None]] = {}
        self._flat_pages: dict[str, Future[list[DistFile]]] = {}

    # --- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.http.close()

    def __enter__(self) -> Finder:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- projects -------------------------------------------------------------------------------

    def project_files(self, name: str) -> list[DistFile]:
        """Every file of `name` on every index and find-links location."""
        return self._project_future(name).result()

    def prefetch(self, names: Iterable[str]) -> None:
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
        for link in self.find_links:
            files.extend(f for f in self._flat_files(link) if f.project == name)
        unique: dict[str, DistFile] = {}
        for file in files:
            unique.setdefault(file.filename, file)  # the first location wins, like pip
        return list(unique.values())

    def _index_files(self, index: str, name: NormalizedName) -> list[DistFile]:
        page = self.http.get_page(urljoin(index.rstrip("/") + "/", f"{name}/"), accept=self.accept)
        if page is None:
            return []
        if "json" in page.content_type:
            return self._parse_json(page.url, page.body, index)
        return self._parse_html(page.url, page.body, index)

    def _flat_files(self, link: str) -> list[DistFile]:
        """A find-links location's files, read once. The first caller reads it in its own thread
        (already one of the pool's: waiting on another pool task could exhaust the pool)."""
        with self._lock:
            future = self._flat_pages.get(link)
            if future is None:
                future = Future()
                self._flat_pages[link] = future
                owner = True
            else:
                owner = False
        if owner:
            try:
                future.set_result(self._read_flat(link))
            except BaseException as error:
                future.set_exception(error)
        return future.result()

    def _read_flat(self, link: str) -> list[DistFile]:
        if "://" not in link or link.startswith("file:"):
            folder = file_url_path(link) if "://" in link else Path(link)
            if not folder.is_dir():
                raise IndexError_(f"find-links folder {folder} does not exist")
            return [
                file
                for path in sorted(folder.iterdir())
                if (file := dist_file_from_url(path.resolve().as_uri(), source=str(folder)))
            ]
        page = self.http.get_page(link, accept="text/html")
        if page is None:
            raise IndexError_(f"find-links page {redact(link)} was not found (HTTP 404)")
        return self._parse_html(page.url, page.body, link)

    # --- parsing --------------------------------------------------------------------------------

    def _parse_json(self, page_url: str, body: bytes, source: str) -> list[DistFile]:
        try:
            data = json.loads(body)
            entries = data["files"]
        except (ValueError, KeyError, TypeError):
            raise IndexError_(f"{redact(page_url)}: not a PEP 691 project page") from None
        files: list[DistFile] = []
        for entry in entries:
            yanked = entry.get("yanked", False)
            metadata = entry.get("core-metadata", entry.get("dist-info-metadata"))
            file = dist_file_from_url(
                urljoin(page_url, entry.get("url", "")),
                source=redact(source),
                hashes=dict(entry.get("hashes") or {}),
                requires_python=self._specifier(entry.get("requires-python"), entry),
                yanked=(yanked if isinstance(yanked, str) else "") if yanked else None,
                metadata_hashes=_metadata_hashes(metadata),
            )
            self._keep(file, entry.get("filename", "?"), files)
        return files

    def _parse_html(self, page_url: str, body: bytes, source: str) -> list[DistFile]:
        parser = _AnchorParser()
        parser.feed(body.decode("utf-8", "replace"))
        base = urljoin(page_url, parser.base) if parser.base else page_url
        files: list[DistFile] = []
        for href, attributes in parser.anchors:
            yanked = attributes.get("data-yanked")
            metadata = attributes.get(
                "data-core-metadata", attributes.get("data-dist-info-metadata")
            )
            file = dist_file_from_url(
                urljoin(base, href),
                source=redact(source),
                requires_python=self._specifier(attributes.get("data-requires-python"), href),
                yanked=yanked if yanked is not None else None,
                metadata_hashes=_metadata_hashes(
                    None if metadata is None else (True if metadata in {"", "true"} else metadata)
                ),
            )
            self._keep(file, href, files)
        return files

    def _keep(self, file: DistFile | None, what: str, files: list[DistFile]) -> None:
        if file is not None:
            files.append(file)
        elif what.endswith((".whl", *SDIST_SUFFIXES)):
            self.warnings.append(f"skipped {what}: not a valid wheel or sdist file name")

    def _specifier(self, text: str | None, where: object) -> SpecifierSet | None:
        if not text:
            return None
        try:
            return SpecifierSet(text)
        except InvalidSpecifier:
            self.warnings.append(f"ignored the invalid Requires-Python {text!r} of {where}")
            return None

    # --- metadata -------------------------------------------------------------------------------

    def metadata(self, file: DistFile) -> Metadata | None:
        """Core metadata: PEP 658 file, else from the wheel, else a reliable sdist PKG-INFO."""
        with self._lock:
            future = self._metadata.get(file.url)
            if future is None:
                future = self._pool.submit(self._read_metadata, file)
                self._metadata[file.url] = future
        return future.result()

    def prefetch_metadata(self, files: Iterable[DistFile]) -> None:
        for file in files:
            with self._lock:
                if file.url not in self._metadata:
                    self._metadata[file.url] = self._pool.submit(self._read_metadata, file)

    def _read_metadata(self, file: DistFile) -> Metadata | None:
        if file.metadata_hashes is not None:
            data = self._cached_fetch(file.url + ".metadata", file.metadata_hashes)
            return _parse_metadata(data, file)
        archive = self.fetch(file)
        if file.is_wheel:
            return _parse_metadata(_wheel_metadata(archive, file), file)
        pkg_info = _sdist_pkg_info(archive, file)
        if pkg_info is None:
            return None
        metadata = _parse_metadata(pkg_info, file)
        reliable = Version(metadata.metadata_version) >= Version("2.2") and "requires-dist" not in {
            field.lower() for field in metadata.dynamic or []
        }
        return metadata if reliable else None

    # --- files ----------------------------------------------------------------------------------

    def fetch(self, file: DistFile) -> bytes:
        """The file's bytes, verified against every hash the index gave."""
        return self._cached_fetch(file.url, file.hashes)

    def fetch_bytes(self, url: str) -> bytes:
        return self.http.fetch_bytes(url)

    def download(self, file: DistFile, dest_dir: Path) -> Path:
        """Save the verified file into `dest_dir` (atomically) and return its path."""
        target = dest_dir / file.filename
        write_bytes_atomic(target, self.fetch(file))
        return target

    def _cached_fetch(self, url: str, hashes: Mapping[str, str]) -> bytes:
        sha256 = hashes.get("sha256")
        cached = (
            self.cache_dir / "files" / sha256[:2] / sha256 if self.cache_dir and sha256 else None
        )
        if cached is not None and cached.exists():
            data = cached.read_bytes()
            if hashlib.sha256(data).hexdigest() == sha256:
                return data
        data = self.http.fetch_bytes(url)
        for algorithm, expected in hashes.items():
            if algorithm in hashlib.algorithms_guaranteed:
                actual = hashlib.new(algorithm, data).hexdigest()
                if actual != expected.lower():
                    raise HashMismatchError(
                        f"{redact(url)}: {algorithm} {actual} does not match the index's "
                        f"{expected}; the file was not used (a corrupted download or a changed "
                        "file on the index)"
                    )
        if cached is not None:
            write_bytes_atomic(cached, data)
        return data

    def local_file(self, path: Path) -> DistFile:
        """A DistFile for a local wheel or sdist named in the requirements."""
        file = dist_file_from_url(path.resolve().as_uri(), source=str(path.parent))
        if file is None:
            raise IndexError_(f"{path}: not a wheel or sdist file name")
        return file

    def url_file(self, url: str, *, name: str) -> DistFile:
        """A DistFile for a direct reference (`name @ https://.../file.whl`)."""
        file = dist_file_from_url(url, source=redact(url))
        if file is None or file.project != canonicalize_name(name):
            raise IndexError_(
                f"{redact(url)}: not a wheel or sdist of {name} (vendorer locks files, not "
                "folders or repositories)"
            )
        return file


class _AnchorParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[str, dict[str, str]]] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "a" and values.get("href"):
            self.anchors.append((values["href"], values))
        elif tag == "base" and values.get("href") and self.base is None:
            self.base = values["href"]


def _metadata_hashes(value: object) -> Mapping[str, str] | None:
    """PEP 658/714 attribute or JSON key -> hashes ({} when present without any), None: absent."""
    if value is None or value is False:
        return None
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, str) and "=" in value:
        algorithm, _, digest = value.partition("=")
        return {algorithm: digest}
    return {}


def _parse_metadata(data: bytes, file: DistFile) -> Metadata:
    try:
        return Metadata.from_email(data, validate=False)
    except (InvalidMetadata, ValueError) as error:
        raise IndexError_(f"{file.filename}: unreadable core metadata ({error})") from None


def _wheel_metadata(archive: bytes, file: DistFile) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as wheel:
            names = [n for n in wheel.namelist() if n.count("/") == 1]
            metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
            return wheel.read(metadata)
    except (zipfile.BadZipFile, StopIteration, KeyError):
        raise IndexError_(f"{file.filename}: a broken wheel (no readable METADATA)") from None


def _sdist_pkg_info(archive: bytes, file: DistFile) -> bytes | None:
    try:
        if file.filename.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(archive)) as sdist:
                name = next(
                    (n for n in sdist.namelist() if n.count("/") == 1 and n.endswith("/PKG-INFO")),
                    None,
                )
                return sdist.read(name) if name else None
        with tarfile.open(fileobj=io.BytesIO(archive)) as sdist:
            member = next(
                (
                    m
                    for m in sdist.getmembers()
                    if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")
                ),
                None,
            )
            extracted = sdist.extractfile(member) if member else None
            return extracted.read() if extracted else None
    except (tarfile.TarError, zipfile.BadZipFile, OSError):
        raise IndexError_(f"{file.filename}: a broken sdist") from None
