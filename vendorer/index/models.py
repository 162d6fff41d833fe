"""What an index lists, as data: a distribution file (`DistFile`), a page's link, a fetched page.

Plain frozen models with no I/O and no HTTP client, so the resolver can import them alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import NormalizedName
from packaging.version import Version

__all__ = ["MAX_DOCUMENT", "DistFile", "Link", "Page"]

# The most bytes one index page or metadata file may have: they are held in memory. PyPI's
# largest project pages are a few MB (JSON, tens of thousands of files); core metadata is KBs.
MAX_DOCUMENT = 64 << 20


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
    size: int | None = None  # bytes, when the page says (PEP 700)

    def __hash__(self) -> int:
        return hash((self.url, self.filename))


@dataclass(frozen=True, slots=True, kw_only=True)
class Link:
    """A file as a page lists it, before its name is judged."""

    url: str  # absolute, without fragment
    filename: str
    hashes: Mapping[str, str]
    requires_python: str | None = None
    yanked: str | None = None
    metadata_hashes: Mapping[str, str] | None = None
    size: int | None = None  # bytes (PEP 700: JSON pages)


@dataclass(frozen=True, slots=True)
class Page:
    """A fetched (or local) page: what its links resolve against, its type and its bytes."""

    url: str  # the final URL, after redirects (relative links resolve against it)
    content_type: str
    body: bytes
