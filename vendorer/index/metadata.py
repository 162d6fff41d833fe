"""Core metadata: read out of a wheel's `.dist-info/METADATA` or an sdist's `PKG-INFO`, parsed,
and checked to be usable (its name and version are the file's, its Requires-Dist and
Requires-Python parse). An sdist's is only used when PEP 643 makes it final.

Archive members are read into memory with the same bound as a metadata file (`MAX_DOCUMENT`).
"""

from __future__ import annotations

import re
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO

from packaging.metadata import InvalidMetadata, Metadata, RawMetadata, parse_email
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from vendorer.index.errors import BrokenDownloadError, MetadataError
from vendorer.index.models import MAX_DOCUMENT, DistFile
from vendorer.index.pages import specifier

__all__ = ["archive_metadata", "checked_metadata", "raw_metadata", "wheel_metadata"]

RELIABLE_SINCE = Version("2.2")  # PEP 643: sdist metadata not marked Dynamic is final
NEEDED_STATIC = frozenset({"requires-dist", "requires-python"})


def archive_metadata(path: Path, file: DistFile, warn: Callable[[str], None]) -> Metadata | None:
    """The metadata inside the archive at `path`: a wheel's, or a reliable sdist PKG-INFO.

    None for an sdist whose PKG-INFO may change at build time (PEP 643): build it instead.
    """
    if file.is_wheel:
        return checked_metadata(raw_metadata(wheel_metadata(path, file), file), file, warn)
    pkg_info = _sdist_pkg_info(path, file)
    if pkg_info is None:
        return None
    raw = raw_metadata(pkg_info, file)
    return checked_metadata(raw, file, warn) if _is_reliable(raw) else None


def raw_metadata(data: bytes, file: DistFile) -> RawMetadata:
    try:
        raw, _ = parse_email(data)
    except (ValueError, UnicodeError) as error:
        raise MetadataError(f"{file.filename}: unreadable core metadata ({error})") from None
    return raw


def checked_metadata(raw: RawMetadata, file: DistFile, warn: Callable[[str], None]) -> Metadata:
    """Metadata whose name, version, Requires-Dist and Requires-Python are known good."""
    requires_python = raw.get("requires_python")
    if requires_python is not None and specifier(requires_python, file.filename, warn) is None:
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


def _is_reliable(raw: RawMetadata) -> bool:
    """PEP 643: an sdist's Requires-Dist and Requires-Python are final from Metadata 2.2 on,
    unless they are marked Dynamic."""
    try:
        version = Version(raw.get("metadata_version", "1.0"))
    except InvalidVersion:
        return False
    dynamic = {name.lower() for name in raw.get("dynamic", [])}
    return version >= RELIABLE_SINCE and not dynamic & NEEDED_STATIC


def wheel_metadata(source: Path | IO[bytes], file: DistFile) -> bytes:
    """The METADATA of the wheel's own `.dist-info` folder, in the wheel at `source` (a path, or
    a seekable file)."""
    try:
        with zipfile.ZipFile(source) as wheel:
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
