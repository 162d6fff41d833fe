"""The run's one index client: opened at its first use, shared by the lock and the wheelhouse
steps, with the shared on-disk HTTP cache."""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from vendorer.inputs.options import FIRST_INDEX, IndexSettings, LockOptions, cache_dir
from vendorer.report import NULL_REPORTER, Reporter

if TYPE_CHECKING:  # the HTTP client: imported when an index is asked
    from vendorer.index.client import Part
    from vendorer.index.finder import Finder
    from vendorer.index.models import DistFile
    from vendorer.install.growing import Growing

__all__ = ["IndexSession", "WheelsAhead", "open_finder"]


class WheelsAhead(Protocol):
    """What hears of the wheels a run fetches ahead (`vendorer.install.ahead.UnpackAhead`)."""

    def expect(self, size: int | None) -> bool:
        """On the run's thread, as a wheel of `size` bytes (None: not known) starts downloading:
        whether to hear of it."""

    def add(self, wheel: Path, sha256: str, filename: str) -> None:
        """On the thread that downloaded it: the wheel `filename` is at `wheel` (a file of the
        download cache), checked against `sha256`."""

    def stream(self, growing: Growing, kept: Path, sha256: str, filename: str) -> None:
        """On another thread, while the wheel `filename` downloads: see `Growing`; it will be
        at `kept` once checked against `sha256`."""


def open_finder(
    indexes: IndexSettings, options: LockOptions, reporter: Reporter = NULL_REPORTER
) -> Finder:
    """The index client for these indexes, with the shared on-disk HTTP cache; its warnings go
    to `reporter`."""
    from vendorer.index.finder import Finder

    return Finder(
        index_urls=indexes.index_urls,
        find_links=indexes.find_links,
        cache_dir=cache_dir() / "http",
        timeout=options.timeout,
        retries=options.retries,
        offline=options.offline,
        refresh=options.refresh,
        keyring=indexes.keyring,
        first_index=indexes.strategy == FIRST_INDEX,
        reporter=reporter,
    )


class IndexSession:
    """The run's one index client, which the lock and the wheelhouse steps share, opened at its
    first use: a run whose lock is current and whose wheelhouse holds every wheel never opens it
    (nor imports it). A wheelhouse's `Downloader`."""

    def __init__(
        self,
        indexes: IndexSettings,
        options: LockOptions,
        reporter: Reporter = NULL_REPORTER,
        *,
        ahead: WheelsAhead | None = None,
    ) -> None:
        """`ahead` hears of each wheel fetched ahead that it expects, once it is checked."""
        self._indexes, self._options, self._reporter = indexes, options, reporter
        self._wheels_ahead = ahead
        self._finder: Finder | None = None
        self._opening = threading.Lock()

    @property
    def finder(self) -> Finder:
        with self._opening:
            if self._finder is None:
                self._finder = open_finder(self._indexes, self._options, self._reporter)
            return self._finder

    def verified_file(
        self, url: str, filename: str, sha256: str, reporter: Reporter = NULL_REPORTER
    ) -> Path:
        return self.finder.verified_file(url, filename, sha256, reporter)

    def fetch_ahead(self, file: DistFile) -> None:
        """Start downloading `file`, which a later step of the run will ask for (call it on the
        run's thread)."""
        sha256, ahead = file.hashes.get("sha256"), self._wheels_ahead
        if ahead is None or sha256 is None or not file.is_wheel or not ahead.expect(file.size):
            self.finder.fetch_ahead(file)
            return
        from vendorer.install.growing import STREAMS, Growing  # unpacked as it downloads

        def started(part: Path, kept: Path, tail: Part) -> None:
            growing = Growing(part, size=tail.size, tail_offset=tail.offset, tail=tail.data)
            ahead.stream(growing, kept, sha256, file.filename)

        self.finder.fetch_ahead(
            file,
            then=lambda path: ahead.add(path, sha256, file.filename),
            started=started if STREAMS else None,
        )

    def __enter__(self) -> IndexSession:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._finder is not None:
            self._finder.__exit__(kind, value, tb)
