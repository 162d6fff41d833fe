"""Reading pages into links and links into `DistFile`s: PEP 691 JSON and PEP 503 HTML project
pages, flat find-links pages, the PEP 658/714 metadata attributes and the PEP 629 API version.

Pure functions over bytes already fetched: a link that cannot be used is skipped with a warning
(through `warn`), a page that cannot be read at all is an `IndexPageError`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)

from vendorer._util.urls import WEB_SCHEMES, redact, url_problem
from vendorer.index.errors import IndexPageError
from vendorer.index.models import DistFile, Link, Page

__all__ = [
    "ACCEPT",
    "HTML_TYPE",
    "JSON_TYPE",
    "Entry",
    "dist_file",
    "html_links",
    "local_link",
    "page_entries",
    "specifier",
    "split_fragment",
    "url_filename",
]

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"
ACCEPT = f"{JSON_TYPE}, {HTML_TYPE};q=0.2, text/html;q=0.1"
ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".zip")  # exactly what packaging's parsers accept

Warn = Callable[[str], None]
Entry = tuple[str, Callable[[], "Link | None"]]  # a file's name, and what makes its link


def page_entries(page: Page, warn: Warn) -> list[Entry]:
    """Each file of a project page (its Content-Type says whether it is JSON or HTML): its name
    and what makes its link. A JSON page's links are made (URL judged, hashes read) only when
    `make` is called, at most once each: resolution looks at a few of the thousands of files a
    page such as numpy's lists."""
    media = page.content_type.split(";")[0].strip().lower()
    version = re.fullmatch(r"application/vnd\.pypi\.simple\.v(\d+)\+(json|html)", media)
    if version is not None:
        _check_api_version(version.group(1), page.url)
    if media.endswith("json"):
        return _json_entries(page, warn)
    return [(link.filename, functools.partial(_given, link)) for link in html_links(page, warn)]


def _given(link: Link) -> Link:
    return link


def _json_entries(page: Page, warn: Warn) -> list[Entry]:
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
    entries: list[Entry] = []
    for entry in document["files"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            warn(f"skipped a malformed file entry on {page.url}: {entry!r:.80}")
            continue
        filename = entry.get("filename")
        if not isinstance(filename, str):
            try:
                filename = url_filename(entry["url"])
            except ValueError:  # a URL that does not parse: said when its link is made
                filename = ""
        entries.append((filename, functools.partial(_json_link, page.url, entry, warn)))
    return entries


def _json_link(page_url: str, entry: Mapping[str, object], warn: Warn) -> Link | None:
    """One PEP 691 `files` entry; None (with a warning) for a URL vendorer cannot fetch."""
    joined = _link_url(page_url, str(entry["url"]), page_url, warn)
    if joined is None:
        return None
    url, hashes = split_fragment(joined)
    filename = entry.get("filename")
    yanked = entry.get("yanked", False)
    requires_python = entry.get("requires-python")
    size = entry.get("size")
    return Link(
        url=url,
        filename=filename if isinstance(filename, str) else url_filename(url),
        hashes={**hashes, **_hash_map(entry.get("hashes"))},
        requires_python=requires_python if isinstance(requires_python, str) else None,
        yanked=yanked if isinstance(yanked, str) else ("" if yanked else None),
        metadata_hashes=_json_metadata_hashes(entry),
        size=size if type(size) is int and size >= 0 else None,
    )


def html_links(page: Page, warn: Warn) -> list[Link]:
    """The anchors of a PEP 503 project page or a flat find-links page."""
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
        url, hashes = split_fragment(joined)
        metadata = attributes.get("data-core-metadata", attributes.get("data-dist-info-metadata"))
        links.append(
            Link(
                url=url,
                filename=url_filename(url),
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
    warn: Warn,
    what: str = "skipped a link",
) -> str | None:
    """`href` made absolute against `base`; None, with a warning, when it is not a URL vendorer
    can fetch (a remote page may link to http and https only, a local one to files too)."""
    local = page_url.startswith("file:")
    schemes = ("http", "https", "file") if local else WEB_SCHEMES
    if _plain_absolute(href):
        url = href  # what urljoin gives it (a PEP 691 page's URLs), in a tenth of the time
    else:
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


def dist_file(link: Link, *, source: str, warn: Warn) -> DistFile | None:
    """The DistFile a link names; None for other files (.exe, .egg, ...) and unparsable names."""
    name = link.filename
    if not name.endswith(ARCHIVE_SUFFIXES):
        return None
    if "/" in name or "\\" in name or name.startswith("."):
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
        requires_python=specifier(link.requires_python, f"{name} from {source}", warn),
        yanked=link.yanked,
        metadata_hashes=link.metadata_hashes,
        source=source,
        size=link.size,
    )


def local_link(path: Path) -> Link:
    return Link(url=path.resolve().as_uri(), filename=path.name, hashes={})


def specifier(text: str | None, where: str, warn: Warn) -> SpecifierSet | None:
    """A Requires-Python; None (with a warning when it is not a specifier) when there is none."""
    if not text or not text.strip():
        return None
    try:
        return _parsed(text)
    except InvalidSpecifier:
        warn(f"ignored the invalid Requires-Python {text!r} of {where}")
        return None


# A project page repeats a few Requires-Python strings on thousands of files: each is parsed once
# and its one SpecifierSet shared (nothing sets their `prereleases`), which also makes the
# resolver's Requires-Python check per file a dictionary look-up (see resolve/candidates).
_parsed = functools.lru_cache(maxsize=4096)(SpecifierSet)


def split_fragment(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its fragment, and the `#<hashname>=<hex>` hash the fragment carries."""
    if _plain_absolute(url):
        return url, {}  # what _split_parsed gives it, in a tenth of the time
    return _split_parsed(url)


def _split_parsed(url: str) -> tuple[str, dict[str, str]]:
    """`split_fragment` of any URL, through urllib's parse."""
    parts = urlsplit(url)
    algorithm, sep, value = parts.fragment.partition("=")
    hashes = {}
    if sep and value and algorithm.lower() in hashlib.algorithms_guaranteed:
        hashes[algorithm.lower()] = value.lower()
    return urlunsplit(parts._replace(fragment="")), hashes


_NOT_PLAIN = re.compile(r"[?#;\[\]]")


def _plain_absolute(url: str) -> bool:
    """An http(s) URL with a host, all ASCII, with no query, fragment, parameters or brackets:
    urljoin and urlunsplit(urlsplit()) give it back as it is."""
    scheme, _, rest = url.partition("://")
    return (
        scheme in ("https", "http")
        and rest[:1] not in ("", "/")
        and url.isascii()
        and _NOT_PLAIN.search(url) is None
    )


def url_filename(url: str) -> str:
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
