"""Project pages on disk, each with its validators (ETag / Last-Modified) and how long it stays
fresh (`Cache-Control: max-age` minus `Age`); keyed by the URL without credentials and the Accept
header, written atomically. A missing or unreadable entry is simply fetched again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from vendorer._util.files import write_bytes_atomic
from vendorer._util.urls import redact
from vendorer.index.models import Page

__all__ = ["CachedPage", "PageCache"]


@dataclass(frozen=True, slots=True)
class CachedPage:
    page: Page
    validators: dict[str, str]  # If-None-Match / If-Modified-Since
    fresh_until: float  # a Unix time; 0: revalidate before use


class PageCache:
    """Project pages on disk, each with its validators and freshness; written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, url: str, accept: str) -> Path:
        key = hashlib.sha256(f"{redact(url)}\n{accept}".encode()).hexdigest()
        return self.root / key[:2] / key

    def read(self, url: str, accept: str) -> CachedPage | None:
        try:
            raw = self._path(url, accept).read_bytes()
            length = int.from_bytes(raw[:4], "big")
            meta = json.loads(raw[4 : 4 + length])
            page = Page(str(meta["url"]), str(meta["content_type"]), raw[4 + length :])
            fresh_until = float(meta.get("fresh_until", 0))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing or unreadable: fetched again
        validators = {}
        if meta.get("etag"):
            validators["If-None-Match"] = str(meta["etag"])
        if meta.get("last_modified"):
            validators["If-Modified-Since"] = str(meta["last_modified"])
        return CachedPage(page, validators, fresh_until)

    def write(self, url: str, accept: str, page: Page, headers: Mapping[str, str]) -> None:
        """Keep `page` with what the response's `headers` (case-insensitive) say about it."""
        meta = json.dumps(
            {
                "url": redact(page.url),
                "content_type": page.content_type,
                "etag": headers.get("etag"),
                "last_modified": headers.get("last-modified"),
                "fresh_until": time.time() + _lifetime(headers),
            }
        ).encode()
        write_bytes_atomic(self._path(url, accept), len(meta).to_bytes(4, "big") + meta + page.body)


def _lifetime(headers: Mapping[str, str]) -> float:
    """How long a response stays fresh (RFC 9111: max-age minus Age); 0 with no-cache."""
    directives = [part.strip().lower() for part in headers.get("cache-control", "").split(",")]
    if "no-cache" in directives:
        return 0.0
    for directive in directives:
        name, _, value = directive.partition("=")
        if name == "max-age" and value.strip().isdigit():
            age = headers.get("age", "0").strip()
            return max(0.0, int(value) - (int(age) if age.isdigit() else 0))
    return 0.0
