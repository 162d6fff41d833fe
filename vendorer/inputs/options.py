"""The choices a lock is made with, and where files come from: options and index settings.

`LockOptions` holds the command line's and `[tool.vendorer]`'s choices; `indexes_for` merges
their indexes with those a requirements file names into the one `IndexSettings` the rest of a
run uses (the index client, isolated builds, the lock's inputs hash). Nothing here touches the
network.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from platformdirs import user_cache_dir

from vendorer._util.urls import find_links_problem, redact, url_problem
from vendorer.errors import ConfigError, UsageError

if TYPE_CHECKING:  # parsed by the steps that read requirements: a run that vendors does not
    from vendorer.inputs.requirements import RequirementsFile

__all__ = [
    "BEST_MATCH",
    "FIRST_INDEX",
    "INDEX_STRATEGIES",
    "KEYRING_PROVIDERS",
    "PYPI",
    "IndexSettings",
    "LockOptions",
    "cache_dir",
    "hash_cache_path",
    "indexes_for",
    "unpacked_cache",
]

PYPI: Final = "https://pypi.org/simple/"
# Which index a project's files come from: pip's way, every index merged and the best file wins
# (a public index can then shadow a private one), or uv's default, the first index that has it.
BEST_MATCH: Final = "unsafe-best-match"
FIRST_INDEX: Final = "first-index"
INDEX_STRATEGIES: Final = (BEST_MATCH, FIRST_INDEX)
# --keyring-provider: pip's and uv's names; subprocess asks the `keyring` command.
KEYRING_PROVIDERS: Final = ("disabled", "subprocess")


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexSettings:
    """Where a run's files come from: the indexes in search order, find-links, and how to ask.

    What `indexes_for` makes of the options and the requirements file; `index_url` is None only
    with `no_index`. Isolated builds get the same settings, as pip's environment (`environ`).
    """

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()  # URLs, and folders
    no_index: bool = False
    keyring: bool = False  # passwords from the `keyring` command (--keyring-provider subprocess)
    strategy: str = BEST_MATCH  # or FIRST_INDEX: a project from the first index that has it

    @property
    def index_urls(self) -> tuple[str, ...]:
        """Every index, in the order they are searched."""
        if self.no_index or self.index_url is None:
            return ()
        return (self.index_url, *self.extra_index_urls)

    def environ(self) -> dict[str, str]:
        """pip's environment variables for these settings (for isolated builds)."""
        environ = {}
        if self.keyring:
            environ["PIP_KEYRING_PROVIDER"] = "subprocess"
        if self.index_url:
            environ["PIP_INDEX_URL"] = self.index_url
        if self.extra_index_urls:
            environ["PIP_EXTRA_INDEX_URL"] = " ".join(self.extra_index_urls)
        if self.find_links:  # folders as file: URLs, so that a space in a path survives
            environ["PIP_FIND_LINKS"] = " ".join(
                link if "://" in link else Path(link).resolve().as_uri() for link in self.find_links
            )
        if self.no_index:
            environ["PIP_NO_INDEX"] = "1"
        return environ


@dataclass(frozen=True, slots=True, kw_only=True)
class LockOptions:
    """Command-line and `[tool.vendorer]` choices; they win over the requirements file's options."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    prefer_newest: bool = False
    index_strategy: str = BEST_MATCH  # or FIRST_INDEX: a project from the first index that has it
    pre: bool = False
    timeout: float = 15.0
    retries: int = 3
    offline: bool = False  # answer from the HTTP cache only
    refresh: bool = False  # revalidate cached pages even while their max-age lasts
    keyring: bool = False  # --keyring-provider subprocess: passwords from the `keyring` command


def indexes_for(requirements: RequirementsFile, options: LockOptions) -> IndexSettings:
    """Where files come from: the options' indexes first, then the requirements file's; every URL
    must parse (an empty one is refused, not taken for PyPI)."""
    given = options.index_url if options.index_url is not None else requirements.index_url
    extra = tuple(dict.fromkeys(options.extra_index_urls + requirements.extra_index_urls))
    no_index = requirements.no_index and options.index_url is None
    index_urls = () if no_index else (PYPI if given is None else given, *extra)
    for url in index_urls:
        if (problem := url_problem(url)) is not None:
            raise UsageError(
                f"index URL {redact(url)!r} {problem}; check --index-url / --extra-index-url "
                "and index-url in the config"
            )
    find_links = tuple(dict.fromkeys(options.find_links + requirements.find_links))
    for link in find_links:
        if (problem := find_links_problem(link)) is not None:
            raise UsageError(
                f"find-links {redact(link)!r} {problem}; check --find-links and find-links in "
                "the config"
            )
    return IndexSettings(
        index_url=index_urls[0] if index_urls else None,
        extra_index_urls=index_urls[1:],
        find_links=find_links,
        no_index=not index_urls,
        keyring=options.keyring,
        strategy=options.index_strategy,
    )


def cache_dir() -> Path:
    """Where HTTP responses and downloads are cached (`VENDORER_CACHE_DIR` overrides); a
    ConfigError when it, or a folder above it, is a file (or a broken link)."""
    configured = os.environ.get("VENDORER_CACHE_DIR")
    path = Path(configured or user_cache_dir("vendorer"))
    for place in (path, *path.parents):
        if os.path.lexists(place) and not place.is_dir():
            raise ConfigError(
                f"{'VENDORER_CACHE_DIR' if configured else 'the cache folder'} {path} cannot be "
                f"a folder: {place} is a file (or a broken link); point VENDORER_CACHE_DIR at "
                "a folder"
            )
    return path


def unpacked_cache() -> Path:
    """Where unpacked wheels are kept, for the trees that need them again
    (`vendorer.install.cached`)."""
    return cache_dir() / "unpacked"


def hash_cache_path(folder: Path) -> Path:
    """Where the hashes of the files in `folder` (a vendored tree, a wheelhouse) are remembered:
    vendorer's cache, outside the app (a lost or foreign cache only costs time)."""
    key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:24]
    path = cache_dir() / "tree-hashes" / f"{key}.json"
    with contextlib.suppress(OSError):  # a cache that cannot be written costs time, no more
        path.parent.mkdir(parents=True, exist_ok=True)
    return path
