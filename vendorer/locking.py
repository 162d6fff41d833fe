"""`vendorer lock`: requirements + profile -> resolution -> `pylock.<profile>.toml`.

The one place that wires the parts together: it reads the requirements, asks the finder for files,
runs the resolver, makes sure every chosen file has a sha256, and replaces the lock only once the
new one is complete.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from packaging.metadata import Metadata
from packaging.utils import canonicalize_name
from packaging.version import Version
from platformdirs import user_cache_dir

from vendorer.builder import BuildIndexes, build_metadata
from vendorer.candidates import FilePolicy, summarize
from vendorer.fileio import file_url_path, write_text_atomic
from vendorer.finder import DistFile, Finder
from vendorer.http import redact
from vendorer.lock import (
    FORMAT,
    Lock,
    LockedFile,
    LockedPackage,
    lock_path,
    read_lock,
    relative_posix,
    render_lock,
)
from vendorer.profile import Profile, profile_to_dict
from vendorer.reqfile import RequirementLine, RequirementsFile, parse_requirements
from vendorer.resolver import ResolvedPackage, RootRequirement, resolve_for

__all__ = [
    "Indexes",
    "LockOptions",
    "LockResult",
    "cache_dir",
    "current_inputs_hash",
    "indexes_for",
    "inputs_hash",
    "make_lock",
]

PYPI = "https://pypi.org/simple/"


@dataclass(frozen=True, slots=True, kw_only=True)
class LockOptions:
    """Command-line and `[tool.vendorer]` choices; they win over the requirements file's options."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    prefer_newest: bool = False
    pre: bool = False
    timeout: float = 15.0
    retries: int = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class LockResult:
    lock: Lock
    path: Path
    changed: bool  # False: the existing lock was current and nothing was resolved


def cache_dir() -> Path:
    """Where HTTP responses and downloads are cached (`VENDORER_CACHE_DIR` overrides)."""
    return Path(os.environ.get("VENDORER_CACHE_DIR") or user_cache_dir("vendorer"))


def make_lock(
    profile: Profile,
    requirements_path: Path,
    options: LockOptions,
    *,
    force: bool = False,
    on_pin: Callable[[str, Version], None] | None = None,
) -> LockResult:
    """Resolve `requirements_path` for `profile` and write its lock, unless the lock is current."""
    requirements = parse_requirements(requirements_path)
    indexes = indexes_for(requirements, options)
    digest = inputs_hash(profile, requirements, indexes, options)
    path = lock_path(requirements_path, profile.name)
    if not force and path.exists():
        current = _read_if_valid(path)
        if current is not None and current.inputs_hash == digest:
            return LockResult(lock=current, path=path, changed=False)
    policy = FilePolicy(
        only_binary=requirements.only_binary,
        no_binary=requirements.no_binary,
        pre=options.pre or requirements.pre,
        prefer_newest=options.prefer_newest,
    )
    with Finder(
        index_urls=indexes.index_urls,
        find_links=indexes.find_links,
        cache_dir=cache_dir() / "http",
        timeout=options.timeout,
        retries=options.retries,
    ) as finder:
        resolution = resolve_for(
            profile,
            [_root(line, finder) for line in requirements.requirements],
            finder,
            constraints=[_root(line, finder) for line in requirements.constraints],
            policy=policy,
            build_metadata=_metadata_builder(finder, indexes.build),
            on_pin=on_pin,
        )
        packages = tuple(_locked(package, finder, path.parent) for package in resolution.packages)
    lock = Lock(
        profile=profile.name,
        inputs_hash=digest,
        packages=packages,
        prefer_newest=options.prefer_newest,
        pre=options.pre,
    )
    write_text_atomic(path, render_lock(lock, profile))  # the old lock stays until this succeeds
    return LockResult(lock=lock, path=path, changed=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Indexes:
    index_urls: tuple[str, ...]
    find_links: tuple[str, ...]
    build: BuildIndexes


def indexes_for(requirements: RequirementsFile, options: LockOptions) -> Indexes:
    index_url = options.index_url or requirements.index_url or PYPI
    extra = tuple(dict.fromkeys(options.extra_index_urls + requirements.extra_index_urls))
    index_urls = () if requirements.no_index and not options.index_url else (index_url, *extra)
    find_links = tuple(dict.fromkeys(options.find_links + requirements.find_links))
    build = BuildIndexes(
        index_url=index_urls[0] if index_urls else None,
        extra_index_urls=index_urls[1:],
        find_links=find_links,
        no_index=not index_urls,
    )
    return Indexes(index_urls=index_urls, find_links=find_links, build=build)


def current_inputs_hash(
    profile: Profile, requirements_path: Path, lock: Lock, options: LockOptions
) -> str:
    """The hash a lock made now from these inputs would carry (no network), with the lock's
    own choices (--prefer-newest, --pre)."""
    requirements = parse_requirements(requirements_path)
    chosen = dataclasses.replace(options, prefer_newest=lock.prefer_newest, pre=lock.pre)
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
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def _read_if_valid(path: Path) -> Lock | None:
    try:
        return read_lock(path)
    except Exception:  # any unreadable lock is simply replaced
        return None


def _root(line: RequirementLine, finder: Finder) -> RootRequirement:
    direct = None
    if line.path is not None:
        direct = finder.local_file(line.path)
    elif line.requirement.url:
        direct = finder.url_file(line.requirement.url, name=line.requirement.name)
    return RootRequirement(
        requirement=line.requirement,
        source=line.source,
        hashes=frozenset(line.hashes),
        file=direct,
    )


def _metadata_builder(finder: Finder, indexes: BuildIndexes) -> Callable[[DistFile], Metadata]:
    def build(file: DistFile) -> Metadata:
        sdist = finder.download(file, cache_dir() / "sdists")
        return build_metadata(sdist, indexes)

    return build


def _locked(package: ResolvedPackage, finder: Finder, lock_dir: Path) -> LockedPackage:
    file = package.choice.wheel or package.choice.sdist
    assert file is not None  # a VersionChoice always has one
    sha256 = file.hashes.get("sha256")
    local = file.url.startswith("file:")
    if sha256 is None:
        downloaded = finder.download(file, cache_dir() / "files")
        sha256 = hashlib.sha256(downloaded.read_bytes()).hexdigest()
    return LockedPackage(
        name=canonicalize_name(package.name),
        version=package.version,
        file=LockedFile(
            filename=file.filename,
            url=None if local else redact(file.url),
            path=relative_posix(file_url_path(file.url), lock_dir) if local else None,
            sha256=sha256,
        ),
        index=None if local or file.source == file.url else redact(file.source),
        requires_python=package.requires_python,
        dependencies=package.dependencies,
        required_by=package.required_by,
        newer=tuple(summarize(package.newer)),
    )
