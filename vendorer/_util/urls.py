"""URL helpers: hiding credentials, telling why a URL cannot be used, the paths behind `file:` URLs,
and the loopback rule (where credentials may be sent).

Nothing here raises on a malformed URL: `redact` hides whatever could be credentials, and
`url_problem` says what is wrong without repeating any part that could be a secret.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Collection
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from vendorer._util.text import CONTROL_PROBLEM, has_control

__all__ = [
    "WEB_SCHEMES",
    "file_url_path",
    "find_links_problem",
    "may_carry_credentials",
    "redact",
    "scrub_credentials",
    "url_problem",
]

WEB_SCHEMES = ("http", "https")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]*)\}")  # a `${VAR}` left unexpanded
_BEFORE_LAST_AT = re.compile(r"(//).*@", re.DOTALL)  # all that could be user:password
# The userinfo: up to the last '@' of the URL's run of characters when a ':' comes before any '/'
# (a password may hold '@' and '/'), else a run without '/' (a path may hold '@': git@v1.0).
_USERINFO_IN_TEXT = re.compile(r"//([^\s'\"/@:]*:[^\s'\"]*|[^\s'\"/]*)@")


def redact(url: str) -> str:
    """`url` without credentials, for anything shown, logged or written; never raises."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # it does not parse: drop everything that could be user:password
        return _BEFORE_LAST_AT.sub(r"\1", url, count=1)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def scrub_credentials(text: str) -> str:
    """`text` (a message that may quote URLs) with every URL's `user:password@` removed; where
    some of it is a `${VAR}` placeholder (no secret), that stays and the rest becomes `***`."""

    def scrubbed(match: re.Match[str]) -> str:
        parts = match.group(1).split(":", 1)
        if not any(_PLACEHOLDER.fullmatch(part) for part in parts):
            return "//"
        return "//" + ":".join(p if _PLACEHOLDER.fullmatch(p) else "***" for p in parts) + "@"

    return _USERINFO_IN_TEXT.sub(scrubbed, text)


def url_problem(url: str, schemes: Collection[str] = ("http", "https", "file")) -> str | None:
    """Why `url` cannot be used, as the end of a sentence that starts with the URL ("... has no
    host"); None when it can. The text repeats no part of the URL that could be a secret."""
    if not url.strip():
        return "is empty (give a URL, or leave it out)"
    if has_control(url):
        return CONTROL_PROBLEM
    scheme, separator, rest = url.partition("://")
    if not separator:
        return _origin_problem(url, tuple(schemes))
    # Past its control characters, what is wrong with a URL is in its scheme and host, which a
    # project page repeats for thousands of files: each origin is judged once.
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
    return _origin_problem(f"{scheme}://{netloc}", tuple(schemes))


@functools.lru_cache(maxsize=1024)
def _origin_problem(url: str, schemes: tuple[str, ...]) -> str | None:
    """`url_problem` of a URL without control characters, told by its scheme and host part."""
    netloc = re.split(r"[/?#]", url.partition("://")[2], maxsplit=1)[0]
    userinfo = netloc.rpartition("@")[0]
    if names := list(dict.fromkeys(_PLACEHOLDER.findall(userinfo))):
        shown, variables = " and ".join(f"${{{n}}}" for n in names), " and ".join(names)
        return (
            f"holds {shown} in its credentials: set {variables} in the environment (a "
            "requirements file replaces ${VAR} by its value), or write the credentials out"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        return _parse_problem(str(error))
    if parts.scheme.lower() not in schemes:
        return f"is not {_either(schemes)} URL"
    if parts.scheme.lower() in WEB_SCHEMES:
        if not parts.hostname:
            return "has no host (write scheme://host/path)"
        if any(character.isspace() for character in parts.hostname):
            return "has a space in its host name"
        if not _host_name_ok(parts.hostname):
            return (
                "has a host name that is not one (an empty label, one over 63 characters, or "
                "a broken xn-- label)"
            )
        if port == 0:
            return "has a port that is not a number from 1 to 65535"
    return None


def _host_name_ok(host: str) -> bool:
    """Whether `host` (an IP address, or a name) is one the HTTP client can encode (IDNA)."""
    try:
        ipaddress.ip_address(host.partition("%")[0])  # an IPv6 address may name its zone
        return True
    except ValueError:
        pass
    try:
        if host.isascii():
            host.encode("ascii").decode("idna")  # an xn-- label must decode and round-trip
        host.encode("idna")  # every label 1 to 63 characters
    except UnicodeError:
        return False
    return True


def find_links_problem(location: str) -> str | None:
    """Why a find-links location cannot be used: it is a folder, or a URL (it has `://`) that
    must parse; never empty. None when it can."""
    return url_problem(location) if "://" in location or not location.strip() else None


def _parse_problem(error: str) -> str:
    if "Port" in error:
        return "has a port that is not a number from 1 to 65535"
    if "IPv6" in error or "IPv4" in error:
        return "does not parse: its [IPv6 address] is not closed, or not an IP address"
    return "does not parse as a URL (its host has characters a host name cannot have)"


def _either(schemes: Collection[str]) -> str:
    names = [f"{scheme}://" for scheme in schemes]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    return f"an {listed}" if listed[0] in "aeiouh" else f"a {listed}"


def may_carry_credentials(url: str) -> bool:
    """The loopback rule: credentials go over HTTPS, or in clear to this machine only (localhost
    or a loopback address); never in clear over a network."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def file_url_path(url: str) -> Path:
    """The local path a `file:` URL names."""
    from urllib.request import url2pathname  # urllib.request loads http.client and email

    return Path(url2pathname(urlsplit(url).path))
