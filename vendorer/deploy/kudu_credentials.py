"""Where a Kudu site is and who we are there: the Kudu URL (`kudu_site`), publish profiles and the
environment's VENDORER_KUDU_* variables, each read into `Credentials` (Basic auth), or a Microsoft
Entra ID token source (`BearerCredentials`, `Authorization: Bearer`, through `BearerAuth`).

A URL that cannot be used is one ConfigError that never shows userinfo; credentials may only go
over HTTPS (plain HTTP to loopback only: `vendorer._util.urls.may_carry_credentials`). Tokens and
passwords are never part of a message or a repr.
"""

from __future__ import annotations

import codecs
import ipaddress
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

import httpx

from vendorer._util.files import read_bounded
from vendorer._util.urls import may_carry_credentials, redact
from vendorer.errors import ConfigError, VendorerError

__all__ = [
    "BearerAuth",
    "BearerCredentials",
    "Credentials",
    "TokenSource",
    "bearer_credentials",
    "credentials_from_environment",
    "kudu_site",
    "read_publish_profile",
]

# A Microsoft Entra ID access token for the SCM site, asked for each request: the source caches
# and renews it (azure-identity's credentials do); it raises a VendorerError when it has none.
TokenSource = Callable[[], str]

ENVIRONMENT = ("VENDORER_KUDU_URL", "VENDORER_KUDU_USER", "VENDORER_KUDU_PASSWORD")
SITE_HINT = "expected https://<site>.scm.azurewebsites.net"
XML_BOMS = (  # UTF-32's before UTF-16's: FF FE 00 00 starts with FF FE
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    url: str  # https://<site>.scm.azurewebsites.net, never with userinfo
    user: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class BearerCredentials:
    url: str  # https://<site>.scm.azurewebsites.net, never with userinfo
    token: TokenSource = field(repr=False, compare=False)


def bearer_credentials(
    url: str, token: TokenSource, source: str = "the SCM URL"
) -> BearerCredentials:
    """Bearer credentials for the SCM site at `url` (checked as `kudu_site` checks it; a URL that
    carries a user or password is refused: the token is the only credential)."""
    site, user, password = kudu_site(url, source)
    if user is not None or password is not None:
        raise ConfigError(f"{source}: {site}: leave the user and password out of the URL")
    return BearerCredentials(url=site, token=token)


class BearerAuth(httpx.Auth):
    """`Authorization: Bearer <token>`, the token asked of `source` for every request.

    After a 401 the source is asked again; a different token (the first had expired) sends the
    request once more. That is safe even for a deployment's POST: a 401 is the front end's
    refusal, given before Kudu saw the request. `tokens` holds what was sent, to scrub messages.
    """

    def __init__(self, source: TokenSource) -> None:
        self.source = source
        self.tokens: list[str] = []

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            fresh = self._token()
            if fresh != token:
                request.headers["Authorization"] = f"Bearer {fresh}"
                yield request

    def _token(self) -> str:
        try:
            token = self.source()
        except VendorerError:
            raise
        except Exception as error:  # the source's own failure: its kind and first line only
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise ConfigError(
                f"no token for the SCM site ({type(error).__name__}{': ' + first if first else ''})"
                "; sign in (`az login`) or give a service principal in the environment"
            ) from None
        if not isinstance(token, str) or not token or any(c.isspace() for c in token):
            raise ConfigError("the token source gave something that is not a token")
        if token not in self.tokens:
            self.tokens.append(token)
        return token


def kudu_site(text: str, source: str) -> tuple[str, str | None, str | None]:
    """The Kudu base URL in `text` without credentials, and the user and password it carried.

    A bare `host:port` (a publish profile's publishUrl) means HTTPS. Anything that is not an
    http(s) URL with a host and a valid port is refused, and the message never shows userinfo.
    """
    text = text.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        parts, port = _split(text)
    except ValueError as error:
        raise ConfigError(f"{source}: {_shown(text)} is not a URL ({error}); {SITE_HINT}") from None
    shown = redact(text)
    if parts.scheme not in {"http", "https"}:
        raise ConfigError(f"{source}: {shown}: Kudu is reached over https; {SITE_HINT}")
    if not parts.hostname:
        raise ConfigError(f"{source}: {shown} names no host; {SITE_HINT}")
    if parts.query or parts.fragment:  # either may hold a token: neither is shown
        shown = redact(urlunsplit(parts._replace(query="", fragment="")))
        raise ConfigError(
            f"{source}: {shown}?...: a Kudu URL has no query or fragment; {SITE_HINT}"
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = {"https": 443, "http": 80}[parts.scheme]
    netloc = host if port in {None, default} else f"{host}:{port}"
    url = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    if not may_carry_credentials(url):
        raise ConfigError(
            f"{source}: {url}: Kudu credentials are only sent over HTTPS "
            "(plain HTTP is allowed to loopback only)"
        )
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return url, user, password


def _split(text: str) -> tuple[SplitResult, int | None]:
    """`text` split as a URL, and its port; ValueError saying why it is not one."""
    if any(character.isspace() or not character.isprintable() for character in text):
        raise ValueError("it holds a space or a control character")
    parts = urlsplit(text)
    port = parts.port  # ValueError for a port out of range or not a number
    if port == 0:
        raise ValueError("port 0")
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host:
            host.encode("idna")  # UnicodeError (a ValueError) for an empty or too long label
    try:
        httpx.URL(text)
    except httpx.InvalidURL as error:
        raise ValueError(str(error)) from None
    return parts, port


def read_publish_profile(path: Path) -> Credentials:
    """The MSDeploy (or ZipDeploy) entry of a `.PublishSettings` file.

    The file is parsed as XML bytes, so whatever encoding its BOM or declaration says (UTF-16 as
    Windows PowerShell writes it, UTF-8 with or without a BOM, windows-1252) is read as such.
    """
    root = _publish_data(path)
    for method in ("MSDeploy", "ZipDeploy"):
        for entry in root.iter("publishProfile"):
            if entry.get("publishMethod") == method and entry.get("publishUrl"):
                url, user, password = kudu_site(str(entry.get("publishUrl")), str(path))
                user = entry.get("userName") or user
                password = entry.get("userPWD") or password
                if not user or not password:
                    raise ConfigError(
                        f"{path}: its {method} entry has no userName or userPWD; download the "
                        "publish profile again (basic authentication for deployment must be on)"
                    )
                return Credentials(url=url, user=user, password=password)
    raise ConfigError(
        f"{path}: no MSDeploy or ZipDeploy entry with a publishUrl; is it the site's "
        "publish profile (`az webapp deployment list-publishing-profiles --xml`)?"
    )


def credentials_from_environment() -> Credentials:
    """VENDORER_KUDU_URL, with VENDORER_KUDU_USER and _PASSWORD or the URL's own userinfo (the
    `scmUri` that `az webapp deployment list-publishing-credentials` prints carries both)."""
    for name in ENVIRONMENT:
        try:
            os.environ.get(name, "").encode("utf-8")
        except UnicodeEncodeError:
            raise ConfigError(f"{name} is not UTF-8 text; set it again in UTF-8") from None
    raw = os.environ.get("VENDORER_KUDU_URL", "")
    url, user, password = kudu_site(raw, "VENDORER_KUDU_URL") if raw else ("", None, None)
    user = os.environ.get("VENDORER_KUDU_USER") or user
    password = os.environ.get("VENDORER_KUDU_PASSWORD") or password
    missing = [
        name for name, value in zip(ENVIRONMENT, (url, user, password), strict=True) if not value
    ]
    if missing or not user or not password:
        raise ConfigError(
            "no Kudu credentials: pass --publish-profile FILE (from the portal, or "
            "`az webapp deployment list-publishing-profiles --xml`), or set " + ", ".join(missing)
        )
    return Credentials(url=url, user=user, password=password)


def _publish_data(path: Path) -> ET.Element:
    try:
        data = read_bounded(path)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such publish profile") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the publish profile: {error.strerror}") from None
    try:
        return ET.fromstring(data)  # bytes: expat reads the BOM and the declared encoding
    except (ET.ParseError, ValueError, LookupError) as error:
        problem = error
    try:  # an encoding expat does not decode itself (UTF-32, multi-byte ones): Python's codecs
        return ET.fromstring(_decoded(data))
    except (ET.ParseError, ValueError, LookupError):  # UnicodeDecodeError is a ValueError
        pass
    if isinstance(problem, ET.ParseError):
        raise ConfigError(f"{path}: not a publish profile: {_not_xml(data, problem)}")
    raise ConfigError(
        f"{path}: not a publish profile: its XML encoding cannot be read ({problem}); "
        "save it as UTF-8"
    )


def _decoded(data: bytes) -> str:
    """An XML document's text, decoded as its BOM or else its declaration says."""
    for bom, codec in XML_BOMS:
        if data.startswith(bom):
            return data.decode(codec)
    declared = re.match(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z][\w.-]*)[\"']", data)
    return data.decode(declared.group(1).decode("ascii") if declared else "utf-8")


def _not_xml(data: bytes, error: ET.ParseError) -> str:
    head = data.lstrip()[:1]
    if not data.strip():
        return "the file is empty"
    if head in {b"{", b"["}:
        return "it is JSON; ask for XML: `az webapp deployment list-publishing-profiles --xml`"
    return f"not XML ({error})"


def _shown(text: str) -> str:
    """A string that failed to parse as a URL, with anything that could be userinfo cut out."""
    scheme, _, rest = text.partition("://")
    rest = rest.rpartition("@")[2]  # a password may hold '/', '?' or '#': all before '@' goes
    end = min((rest.find(mark) for mark in "?#" if mark in rest), default=len(rest))
    return f"{scheme}://{rest[:end]}"  # a query or fragment may hold a token
