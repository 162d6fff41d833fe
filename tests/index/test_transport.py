"""The one HTTP transport, as the index client and the Kudu client both use it, against a real
server on loopback: one User-Agent, Retry-After honoured and capped, the loopback rule."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.support.loopback import LoopbackServer
from vendorer import __version__
from vendorer._util.urls import may_carry_credentials
from vendorer.deploy.kudu import CommandOutcomeUnknown, Credentials, KuduClient
from vendorer.index import transport
from vendorer.index.finder import Finder

Answer = tuple[int, dict[str, str], bytes]


class Recorder:
    """Answers each request with the next scripted answer (then 404), and records what came."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.seen: list[
            tuple[float, str, str, dict[str, str]]
        ] = []  # (time, method, path, headers)
        self._lock = threading.Lock()
        self._server = LoopbackServer(self._handler())
        self.base = self._server.base

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with recorder._lock:
                    recorder.seen.append(
                        (time.monotonic(), self.command, self.path, dict(self.headers.items()))
                    )
                    answer = recorder.answers.pop(0) if recorder.answers else (404, {}, b"")
                status, headers, body = answer
                self.send_response(status)
                for key, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

        return Handler

    def gaps(self) -> list[float]:
        times = [when for when, *_ in self.seen]
        return [later - earlier for earlier, later in itertools.pairwise(times)]

    def __enter__(self) -> Recorder:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with Recorder() as server:
        yield server


def _kudu(recorder: Recorder, backoff: float = 1.0) -> KuduClient:
    credentials = Credentials(url=recorder.base, user="$site", password="pw-1234")
    return KuduClient(credentials, backoff=backoff)


def test_the_index_and_kudu_send_one_user_agent(recorder: Recorder) -> None:
    with Finder(index_urls=[f"{recorder.base}/simple/"]) as finder:
        assert finder.project_files("beta") == []
    with _kudu(recorder) as client:
        assert client.read_file("site/x.txt") is None
    agents = [headers.get("User-Agent") for *_, headers in recorder.seen]
    assert agents == [f"vendorer/{__version__}"] * 2


def test_both_clients_wait_as_retry_after_says(recorder: Recorder) -> None:
    recorder.answers = [(503, {"Retry-After": "1"}, b""), (200, {}, b"data")]
    with _kudu(recorder, backoff=0) as client:
        assert client.read_file("site/x.txt") == b"data"
    assert len(recorder.seen) == 2 and recorder.gaps()[0] >= 0.9
    recorder.seen.clear()
    recorder.answers = [(429, {"Retry-After": "1"}, b"")]
    with Finder(index_urls=[f"{recorder.base}/simple/"], backoff=0) as finder:
        assert finder.project_files("beta") == []  # then 404: not on this index
    assert len(recorder.seen) == 2 and recorder.gaps()[0] >= 0.9


def test_a_long_retry_after_is_capped(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport, "MAX_DELAY", 0.5)  # 10 s in use: too long for a test
    recorder.answers = [(503, {"Retry-After": "3600"}, b""), (200, {}, b"data")]
    with _kudu(recorder, backoff=0) as client:
        assert client.read_file("site/x.txt") == b"data"
    assert 0.4 <= recorder.gaps()[0] < 30


def test_a_command_is_not_sent_again_whatever_retry_after_says(recorder: Recorder) -> None:
    """POST is not idempotent: a retry status is its answer, however soon the server asks again."""
    with _kudu(recorder, backoff=0) as client:
        recorder.answers = [(503, {"Retry-After": "0"}, b"busy")]
        with pytest.raises(CommandOutcomeUnknown, match=r"HTTP 503 \(busy\) after the command"):
            client.command("dir", "site")
    assert [method for _, method, *_ in recorder.seen] == ["POST"]


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://pkgs.example.com/simple/", True),
        ("https://10.1.2.3/simple/", True),
        ("http://localhost:8080/simple/", True),
        ("http://127.0.0.1/simple/", True),
        ("http://127.8.9.10/simple/", True),
        ("http://[::1]:3128/simple/", True),
        ("http://pkgs.example.com/simple/", False),
        ("http://10.1.2.3/simple/", False),
        ("http://[fe80::1]/simple/", False),
        ("http://localhost.example.com/simple/", False),
    ],
)
def test_the_loopback_rule(url: str, allowed: bool) -> None:
    assert may_carry_credentials(url) is allowed


def test_netrc_credentials_never_go_in_clear_over_a_network(
    recorder: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """http://index.example/ through a proxy on loopback: the netrc entry for that host is not
    sent (plain HTTP to another machine); the same entry for the loopback host itself is."""
    netrc = tmp_path / "netrc"
    netrc.write_text(
        "machine index.example login deploy password from-netrc\n"
        "machine 127.0.0.1 login deploy password from-netrc\n",
        encoding="utf-8",
    )
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HTTP_PROXY", recorder.base)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with Finder(index_urls=["http://index.example/simple/"]) as finder:
        assert finder.project_files("beta") == []
    ((_, _, path, headers),) = recorder.seen
    assert path == "http://index.example/simple/beta/" and "Authorization" not in headers
    monkeypatch.delenv("HTTP_PROXY")
    with Finder(index_urls=[f"{recorder.base}/simple/"]) as finder:
        assert finder.project_files("beta") == []
    assert "Authorization" in recorder.seen[-1][3]
