"""The one HTTP transport: the index client and the Kudu client both send every request through it.

It owns the retry policy (an answer in `RETRY_STATUSES` or a transient failure earns another try,
after an exponential backoff or the server's Retry-After, capped at `MAX_DELAY`), the idempotency
rule (`may_resend`: a request that is not idempotent is never sent again once any of it went
out), one User-Agent (`vendorer/<version>`), cancellation, and the scrubbing of credentials out of
any text it hands on. Proxies come from the environment. Callers turn what it raises (`GaveUp`,
httpx's other errors) into their own errors; the loopback rule (where credentials may go) is
`vendorer._util.urls.may_carry_credentials`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from vendorer import __version__
from vendorer._util.urls import redact, scrub_credentials
from vendorer.index.errors import TransferCancelled

if TYPE_CHECKING:  # httpx is imported at the first request: a run that fetches nothing skips it
    import httpx

__all__ = [
    "IDEMPOTENT",
    "MAX_DELAY",
    "RETRY_STATUSES",
    "GaveUp",
    "Transport",
    "may_resend",
    "user_agent",
]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_DELAY = 10.0  # seconds: the longest pause between two tries, Retry-After included
# Every PUT vendorer sends overwrites (vfs with If-Match: *, or a zip extracted over a folder) and
# every DELETE accepts 404: sending one twice ends in the same state as sending it once.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})
MIN_SECRET = 4  # a shorter password is not replaced in messages: it would mangle ordinary words

Answer = TypeVar("Answer")
EventHooks = Mapping[str, list[Callable[..., Any]]]


def may_resend(method: str, error: Exception | None) -> bool:
    """Whether a request that failed (`error`, or None for an HTTP error status) may be sent again.

    The one rule: an idempotent request may; any other only when nothing of it was sent (the
    connection was refused or never made), because the server may have acted on it already.
    """
    return method in IDEMPOTENT or isinstance(error, _nothing_sent())


def _nothing_sent() -> tuple[type[Exception], ...]:
    """Failures that happen before any byte of the request left this machine."""
    import httpx

    return (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _transient() -> tuple[type[Exception], ...]:
    """Failures another try may mend: the network, the server or a proxy, not the request."""
    import httpx

    return (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError,
            httpx.ProxyError)  # fmt: skip


def user_agent() -> str:
    return f"vendorer/{__version__}"


class GaveUp(Exception):
    """Every try failed: `error` is the last failure, `answered` whether its headers had arrived
    (the body was cut off) or not (no connection, no answer)."""

    def __init__(self, error: httpx.RequestError, *, tries: int, answered: bool) -> None:
        super().__init__(scrub_credentials(str(error)))
        self.error = error
        self.tries = tries
        self.answered = answered


class Transport:
    """One `httpx.Client` (thread-safe) and the retry loop around it."""

    def __init__(
        self,
        *,
        timeout: float,
        retries: int = 3,
        backoff: float = 0.5,
        auth: httpx.Auth | None = None,
        follow_redirects: bool = False,
        event_hooks: EventHooks | None = None,
        secrets: Sequence[str] = (),
    ) -> None:
        self.timeout = timeout
        self.retries = max(1, retries)
        self.backoff = backoff
        self._secrets = [secret for secret in secrets if len(secret) >= MIN_SECRET]
        self._cancelled = threading.Event()

        def make_client() -> httpx.Client:
            import httpx

            return httpx.Client(
                auth=auth,
                timeout=timeout,
                follow_redirects=follow_redirects,
                trust_env=True,
                headers={"User-Agent": user_agent()},
                event_hooks=dict(event_hooks or {}),
            )

        self._make_client = make_client
        self._client: httpx.Client | None = None
        self._opening = threading.Lock()

    @property
    def client(self) -> httpx.Client:
        """The HTTP client, made at the first request: a run with nothing to fetch (a lock and a
        wheelhouse that are current) never pays for its TLS context and proxy settings."""
        with self._opening:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def close(self) -> None:
        with self._opening:
            if self._client is not None:
                self._client.close()

    def cancel(self) -> None:
        """Stop every transfer at its next try or chunk (`check_cancelled`)."""
        self._cancelled.set()

    def check_cancelled(self, url: str) -> None:
        if self._cancelled.is_set():
            raise TransferCancelled(f"{redact(url)}: cancelled")

    def send(
        self, method: str, url: str, receive: Callable[[httpx.Response], Answer], **request: Any
    ) -> Answer:
        """Send the request, again after a transient failure or a retry status while tries are
        left and `may_resend` allows; hand the answer kept (its body not yet read) to `receive`.

        `request` is what `httpx.Client.stream` takes (headers, content, json, auth, timeout).
        GaveUp when every try failed; another httpx error (or a transient one that may not be
        sent again) is raised as it is.
        """
        transient = _transient()
        failure: httpx.RequestError | None = None
        answered = False
        delay = 0.0
        for attempt in range(self.retries):
            self.check_cancelled(url)
            if attempt:
                time.sleep(delay)
            delay = self._backoff(attempt)
            answered = False
            try:
                with self.client.stream(method, url, **request) as response:
                    answered = True
                    if self._worth_another_try(method, response, attempt):
                        delay = _retry_after(response, delay)
                        continue
                    return receive(response)
            except transient as error:
                if not may_resend(method, error):
                    raise
                failure = error  # type: ignore[assignment]  # every transient one is a RequestError
        assert failure is not None  # every try ended in a failure: none returned
        raise GaveUp(failure, tries=self.retries, answered=answered)

    def scrub(self, text: str) -> str:
        """`text` (from a response or an exception) without userinfo or a password we hold."""
        text = scrub_credentials(text)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _backoff(self, attempt: int) -> float:
        """The pause after try `attempt` (from 0): exponential, capped."""
        return min(self.backoff * 2.0**attempt, MAX_DELAY)

    def _worth_another_try(self, method: str, response: httpx.Response, attempt: int) -> bool:
        return (
            response.status_code in RETRY_STATUSES
            and attempt < self.retries - 1
            and may_resend(method, None)
        )


def _retry_after(response: httpx.Response, default: float) -> float:
    """The server's Retry-After in seconds, capped; `default` when it gives none (or a date)."""
    value = response.headers.get("retry-after", "")
    try:
        return min(max(float(value), 0.0), MAX_DELAY)
    except ValueError:
        return default
