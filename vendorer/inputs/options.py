"""What a lock depends on, and where files come from: options, indexes and the inputs hash.

Kept apart from the network code so that `vendorer check` can tell a stale lock quickly, offline.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_cache_dir

from vendorer._util.urls import find_links_problem, redact, url_problem
from vendorer.errors import UsageError
from vendorer.inputs.requirements import RequirementsFile, parse_requirements
from vendorer.lock.pylock import BEST_MATCH, FIRST_INDEX, FORMAT, Lock
from vendorer.target.profile import Profile, profile_to_dict

__all__ = [
    "BuildIndexes",
    "Indexes",
    "LockOptions",
    "cache_dir",
    "current_inputs_hash",
    "indexes_for",
    "inputs_hash",
]

PYPI = "https://pypi.org/simple/"


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


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildIndexes:
    """Where the isolated build environment installs build requirements from."""

    index_url: str | None = None
    extra_index_urls: Sequence[str] = ()
    find_links: Sequence[str] = ()
    no_index: bool = False
    keyring: bool = False  # pip asks the `keyring` command too

    def environ(self) -> dict[str, str]:
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
class Indexes:
    index_urls: tuple[str, ...]
    find_links: tuple[str, ...]
    build: BuildIndexes


def indexes_for(requirements: RequirementsFile, options: LockOptions) -> Indexes:
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
    build = BuildIndexes(
        index_url=index_urls[0] if index_urls else None,
        extra_index_urls=index_urls[1:],
        find_links=find_links,
        no_index=not index_urls,
        keyring=options.keyring,
    )
    return Indexes(index_urls=index_urls, find_links=find_links, build=build)


def current_inputs_hash(
    profile: Profile, requirements_path: Path, lock: Lock, options: LockOptions
) -> str:
    """The hash a lock made now from these inputs would carry (no network), with the lock's
    own choices (--prefer-newest, --pre)."""
    requirements = parse_requirements(requirements_path)
    chosen = dataclasses.replace(
        options, prefer_newest=lock.prefer_newest, pre=lock.pre, index_strategy=lock.index_strategy
    )
    return inputs_hash(profile, requirements, indexes_for(requirements, chosen), chosen)


def inputs_hash(
    profile: Profile, requirements: RequirementsFile, indexes: Indexes, options: LockOptions
) -> str:
    """What the lock depends on: requirement files, profile, indexes and choices (no secrets)."""
    document = {
        "format": FORMAT,
        "profile": profile_to_dict(profile),
        "requirements": [
            hashlib.sha256(path.read_bytes()).hexdigest() for path in requirements.files
        ],
        "indexes": [redact(url) for url in indexes.index_urls],
        "find-links": [redact(link) for link in indexes.find_links],
        "prefer-newest": options.prefer_newest,
        "pre": options.pre,
        # only when not pip's way, so that the locks made before the choice existed stay current
        **({} if options.index_strategy == BEST_MATCH else {"index-strategy": FIRST_INDEX}),
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def cache_dir() -> Path:
    """Where HTTP responses and downloads are cached (`VENDORER_CACHE_DIR` overrides)."""
    return Path(os.environ.get("VENDORER_CACHE_DIR") or user_cache_dir("vendorer"))
