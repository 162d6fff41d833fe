"""A project's files as its indexes and find-links locations list them, grouped by version: the
files of a version are made (URL judged, name parsed, hashes read) when that version is first
asked for.

Resolution looks at a few versions of each project, and a project page may list thousands of
files (numpy's and pandas' list 7,040): making every file was most of a cold lock's CPU. A name
that gives no version (not a wheel or an sdist, or one that does not parse) is made at once, so
that what is wrong with it is said as before.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable

from packaging.utils import NormalizedName
from packaging.version import InvalidVersion, Version

from vendorer.index.models import DistFile, Link
from vendorer.index.pages import Entry, dist_file

__all__ = ["Listing", "listed_version"]

Make = Callable[[], "DistFile | None"]


class Listing:
    """The files of one project, by version, in the order their locations were read (the first
    location that lists a filename wins). Safe to use from several threads."""

    def __init__(self, warn: Callable[[str], None]) -> None:
        self._warn = warn
        self._pending: dict[Version, list[Make]] = {}
        self._made: dict[Version, list[DistFile]] = {}
        self._lock = threading.Lock()

    @classmethod
    def of(cls, files: Iterable[DistFile]) -> Listing:
        """A listing of files already made (and merged)."""
        listing = cls(_say_nothing)
        for file in files:
            listing.add_file(file)
        return listing

    def add(self, version: Version, make: Make) -> None:
        """A file of `version`, made by `make` (None: it is not one, and `make` said why)."""
        with self._lock:
            self._pending.setdefault(version, []).append(make)
            self._made.pop(version, None)

    def add_file(self, file: DistFile) -> None:
        self.add(file.version, functools.partial(_made, file))

    def add_page(
        self, entries: Iterable[Entry], name: NormalizedName, *, source: str, page_url: str
    ) -> bool:
        """Add the files of `name` a project page lists (`page_entries`); whether it lists any.
        `source` names the index in what is said of a file."""
        listed = False
        for filename, link in entries:
            make = functools.partial(self._page_file, link, name, source, page_url)
            version = listed_version(filename)
            if version is not None:
                self.add(version, make)
                listed = True
            elif (file := make()) is not None:  # made now: it says what is wrong with it
                self.add_file(file)
                listed = True
        return listed

    def _page_file(
        self, link: Callable[[], Link | None], name: NormalizedName, source: str, page_url: str
    ) -> DistFile | None:
        made = link()
        file = dist_file(made, source=source, warn=self._warn) if made is not None else None
        if file is not None and file.project != name:
            self._warn(f"skipped {file.filename}: listed on {page_url} but not a file of {name}")
            return None
        return file

    @property
    def versions(self) -> list[Version]:
        with self._lock:
            return list(self._pending)

    def files(self, version: Version) -> list[DistFile]:
        """The files of `version`, made at the first call."""
        with self._lock:
            made = self._made.get(version)
            if made is None:
                made = self._made[version] = self._make(self._pending.get(version, []))
            return made

    def all(self) -> list[DistFile]:
        return [file for version in self.versions for file in self.files(version)]

    def _make(self, pending: list[Make]) -> list[DistFile]:
        """One file per filename: the first location wins, and a different one is said."""
        unique: dict[str, DistFile] = {}
        for make in pending:
            file = make()
            if file is None:
                continue
            first = unique.setdefault(file.filename, file)
            theirs, ours = file.hashes.get("sha256"), first.hashes.get("sha256")
            if first is not file and theirs and ours and theirs != ours:
                self._warn(
                    f"{file.filename} differs between {first.source} and {file.source}; "
                    f"using the one from {first.source}"
                )
        return list(unique.values())


def _made(file: DistFile) -> DistFile:
    return file


def _say_nothing(_: str) -> None:
    pass


def listed_version(filename: str) -> Version | None:
    """The version in a wheel's or an sdist's name, taken from where packaging's parsers take it
    (which judge the whole name later); None for another file or a version that does not parse."""
    if filename.endswith(".whl"):
        parts = filename[:-4].split("-")
        text = parts[1] if len(parts) in (5, 6) else ""
    elif filename.endswith((".tar.gz", ".zip")):
        stem = filename[: -len(".tar.gz")] if filename.endswith(".tar.gz") else filename[:-4]
        text = stem.rpartition("-")[2]
    else:
        return None
    try:
        return _version(text) if text else None
    except InvalidVersion:
        return None


_version = functools.lru_cache(maxsize=8192)(Version)  # a page repeats each version many times
