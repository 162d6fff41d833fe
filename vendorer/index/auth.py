"""Credentials for index requests, per origin: from the URL (`https://user:pass@host/...`), from
`keyring` for a URL that names only a user (asked once per origin), else from netrc ($NETRC, else
~/.netrc) where the loopback rule lets them go. They never appear in a message.
"""

from __future__ import annotations

import netrc
import os
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

from vendorer._util.urls import may_carry_credentials, redact, url_problem
from vendorer.errors import UsageError
from vendorer.index.keyring import keyring_password
from vendorer.report import NULL_REPORTER, Reporter

__all__ = ["IndexCredentials"]


class IndexCredentials:
    """The user and password to send to each origin; thread-safe."""

    def __init__(self, *, keyring: bool = False, reporter: Reporter = NULL_REPORTER) -> None:
        self.keyring = keyring  # ask `keyring` for the password of a URL that names only a user
        self._reporter = reporter  # warned of a keyring without the password, a bad netrc
        self._credentials: dict[str, tuple[str, str]] = {}
        self._keyring_services: dict[str, str] = {}  # origin -> the URL to ask keyring about
        self._keyring_answered: set[str] = set()  # origins whose question keyring has answered
        self._keyring_lock = threading.Lock()
        self._netrc: netrc.netrc | None = None
        self._netrc_loaded = False
        self._netrc_lock = threading.Lock()

    def remember(self, url: str) -> str:
        """Keep `url`'s user:password for its host; return the URL without them. A URL that does
        not parse is a UsageError."""
        problem = url_problem(url)
        if problem is not None:
            raise UsageError(f"{redact(url)!r} {problem}")
        parts = urlsplit(url)
        if parts.username is not None:
            origin = _origin(url)
            user, password = unquote(parts.username), unquote(parts.password or "")
            known = self._credentials.get(origin)
            if password or known is None or known[0] != user:  # never forget a known password
                self._credentials[origin] = (user, password)
            if self.keyring and not password:
                self._keyring_services.setdefault(origin, redact(url))
        return redact(url)

    def for_url(self, url: str) -> tuple[str, str] | None:
        """The user and password to send with a request to `url`, if any."""
        origin = _origin(url)
        if origin in self._keyring_services and origin not in self._keyring_answered:
            self._ask_keyring(origin)
        credentials = self._credentials.get(origin)
        if credentials is None and may_carry_credentials(url):
            credentials = self._netrc_credentials(urlsplit(url).hostname or "")
        return credentials

    def _ask_keyring(self, origin: str) -> None:
        """The password `keyring` holds for the user the origin's URL names, asked once: the
        first request asks, every other one for that origin waits here for the answer (one
        question at a time, as a backend may prompt on the terminal)."""
        with self._keyring_lock:
            if origin in self._keyring_answered:
                return
            service = self._keyring_services[origin]
            user = self._credentials[origin][0]
            password = keyring_password(service, user)  # no `keyring`: every request says so
            if password is None:
                self._reporter.warning(f"keyring has no password for {user} at {service}")
            else:
                self._credentials[origin] = (user, password)
            self._keyring_answered.add(origin)  # after the password: a reader sees both

    def _netrc_credentials(self, host: str) -> tuple[str, str] | None:
        with self._netrc_lock:
            if not self._netrc_loaded:
                self._netrc_loaded = True
                self._netrc = self._load_netrc()
        entry = self._netrc.authenticators(host) if self._netrc else None
        if entry is None:
            return None
        login, _, password = entry
        return login, password or ""

    def _load_netrc(self) -> netrc.netrc | None:
        path = Path(os.environ.get("NETRC") or Path.home() / ".netrc")
        if not path.is_file():
            return None
        try:
            return netrc.netrc(str(path))
        except netrc.NetrcParseError as error:  # its message quotes a token: maybe a password
            self._reporter.warning(f"ignored {path}: it does not parse (line {error.lineno})")
        except UnicodeError:
            self._reporter.warning(f"ignored {path}: it is not UTF-8 text; save it as UTF-8")
        except OSError as error:
            self._reporter.warning(f"ignored {path}: cannot read it ({error.strerror or error})")
        return None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or ''}"
