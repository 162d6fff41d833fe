"""After a deployment: ask the site for a page and say what it answered.

`check_health` sends `GET <the site's default URL><path>` through the shared transport, with no
credentials. While the app starts after a deployment the front end answers 5xx (503 while the
container starts) or nothing, so a 5xx or a failed connection is asked again every `interval`
until `timeout`; any other status is the answer. A 5xx (or no answer) at the deadline is
`HealthCheckFailed`, with the advice to read the app's log stream. A path's query (a Functions
key, `?code=...`) is never shown.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from vendorer.deploy.site import Site
from vendorer.errors import UsageError, VendorerError
from vendorer.index.transport import GaveUp, Transport
from vendorer.report import NULL_REPORTER, Reporter

__all__ = [
    "HealthAnswer",
    "HealthCheckFailed",
    "HealthOptions",
    "check_health",
    "default_url_of",
    "page_url",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthOptions:
    path: str = "/"  # --health-path
    timeout: float = 300.0  # seconds the site has to answer something other than a 5xx
    interval: float = 5.0  # seconds between two tries
    request_timeout: float = 60.0  # seconds one request may take


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthAnswer:
    url: str  # as shown: without its query
    status: int
    tries: int
    seconds: float

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400


class HealthCheckFailed(VendorerError):
    """The site still answered a 5xx (or nothing) when the time was up."""


def default_url_of(site: Site) -> str:
    """Where the app answers: its default URL, else the SCM URL without `.scm`
    (`https://<app>.scm.azurewebsites.net` is the SCM site of `https://<app>.azurewebsites.net`)."""
    if site.default_url:
        return site.default_url.rstrip("/")
    parts = urlsplit(site.scm_url)
    host = parts.netloc
    if ".scm." not in host:
        raise UsageError(
            f"{site.scm_url}: vendorer cannot tell where the app answers (not an "
            "<app>.scm.<domain> SCM URL): name the site through Azure (--site, --resource-group)"
        )
    return urlunsplit((parts.scheme, host.replace(".scm.", ".", 1), "", "", ""))


def page_url(base: str, path: str) -> str:
    """`base` and a path below it; UsageError for a path that is not one."""
    if "://" in path or any(not character.isprintable() for character in path):
        raise UsageError(f"--health-path {path!r}: give a path on the site, such as /health")
    return base.rstrip("/") + "/" + path.lstrip("/")


def check_health(
    site: Site, options: HealthOptions | None = None, reporter: Reporter = NULL_REPORTER
) -> HealthAnswer:
    """Ask the site for `options.path` until it answers something other than a 5xx: that answer;
    HealthCheckFailed when the time is up."""
    options = options or HealthOptions()
    url = page_url(default_url_of(site), options.path)
    shown = _shown(url)
    began, tries, said = time.monotonic(), 0, ""
    transport = Transport(timeout=options.request_timeout, retries=1)
    try:
        while True:
            tries += 1
            status, said = _ask(transport, url, shown)
            elapsed = time.monotonic() - began
            if status is not None and status < 500:
                return HealthAnswer(url=shown, status=status, tries=tries, seconds=elapsed)
            if tries == 1:
                reporter.notice(f"{shown} answered {said}: the app may be starting; asking again")
            if elapsed >= options.timeout:
                raise HealthCheckFailed(_failed(site, shown, said, elapsed))
            time.sleep(max(0.0, min(options.interval, options.timeout - elapsed)))
    finally:
        transport.close()


def _ask(transport: Transport, url: str, shown: str) -> tuple[int | None, str]:
    """The status the page answered (None: no answer), and how to say it."""
    try:
        status = transport.send("GET", url, lambda response: response.status_code)
    except GaveUp as gave_up:
        return None, f"nothing ({type(gave_up.error).__name__})"
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
        raise VendorerError(f"{shown}: cannot be asked ({error})") from None
    except httpx.HTTPError as error:  # one the transport does not try again: asked again here
        return None, f"nothing ({type(error).__name__})"
    return status, f"HTTP {status}"


def _failed(site: Site, shown: str, said: str, elapsed: float) -> str:
    group = site.ref.resource_group if site.ref else "<resource-group>"
    return (
        f"{shown} still answered {said} {elapsed:.0f} s after the deployment: the app does not "
        f"start or fails. Look at its log stream (az webapp log tail --name {site.name} "
        f"--resource-group {group}, or Log stream in the portal)"
    )


def _shown(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
