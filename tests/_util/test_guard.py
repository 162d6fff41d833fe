"""The one file-lock guard: runs take turns, say once that they wait, give up with an error."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.reporter import Recorder
from vendorer._util.guard import BusyError, exclusive, held_elsewhere
from vendorer.errors import VendorerError
from vendorer.report import Reporter

HOLDER = """
import sys, time
from pathlib import Path
from vendorer._util.guard import exclusive
with exclusive(Path(sys.argv[1]), what="it", wait_seconds=0):
    print("held", flush=True)
    time.sleep(600)
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[Callable[[Path], subprocess.Popen[str]]]:
    """Starts another process that takes a lock and keeps it until it is killed."""
    started: list[subprocess.Popen[str]] = []

    def start(lock_file: Path) -> subprocess.Popen[str]:
        process = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock_file)],
                                   stdout=subprocess.PIPE, text=True)  # fmt: skip
        started.append(process)
        assert process.stdout is not None and process.stdout.readline() == "held\n"
        return process

    yield start
    for process in started:
        process.kill()
        process.communicate()  # closes its pipe too


def test_a_free_lock_is_taken_at_once_and_given_back(tmp_path: Path) -> None:
    lock_file = tmp_path / "x.lock"
    recorder = Recorder()
    heard = recorder.notices
    with exclusive(lock_file, what="x", wait_seconds=5, reporter=recorder):
        assert held_elsewhere(lock_file) is True  # another open of the file cannot take it
    assert heard == []
    assert held_elsewhere(lock_file) is False


def test_a_run_waits_says_so_once_and_goes_on_when_the_holder_dies(
    tmp_path: Path, holder: Callable[[Path], subprocess.Popen[str]]
) -> None:
    lock_file = tmp_path / "x.lock"
    other = holder(lock_file)
    heard: list[str] = []

    class Killer(Reporter):
        def notice(self, message: str) -> None:
            heard.append(message)
            other.send_signal(signal.SIGKILL)  # a killed run leaves no lock behind

    started = time.monotonic()
    with exclusive(lock_file, what="wheelhouse/x", wait_seconds=60, reporter=Killer()):
        assert other.wait() == -signal.SIGKILL
    assert time.monotonic() - started < 30
    assert heard == ["waiting for another vendorer run on wheelhouse/x to finish"]


def test_a_run_gives_up_after_its_wait_with_the_error_asked_for(
    tmp_path: Path, holder: Callable[[Path], subprocess.Popen[str]]
) -> None:
    class FolderError(VendorerError):
        pass

    lock_file = tmp_path / "x.lock"
    holder(lock_file)
    recorder = Recorder()
    heard = recorder.notices
    entered: list[bool] = []
    with (
        pytest.raises(FolderError) as raised,
        exclusive(lock_file, what="/app/lib", wait_seconds=0.3, reporter=recorder,
                  doing="being vendored", error=FolderError),
    ):  # fmt: skip
        entered.append(True)
    assert str(raised.value) == (
        "/app/lib is still being vendored by another vendorer run after 0.3 s; run again once it "
        "has finished"
    )
    assert heard == ["waiting for another vendorer run on /app/lib to finish"]
    assert entered == []


def test_no_wait_refuses_at_once_and_says_nothing_of_waiting(
    tmp_path: Path, holder: Callable[[Path], subprocess.Popen[str]]
) -> None:
    lock_file = tmp_path / "x.lock"
    holder(lock_file)
    recorder = Recorder()
    heard = recorder.notices
    with (
        pytest.raises(BusyError, match=r"^it is in use by another vendorer run; run again once"),
        exclusive(lock_file, what="it", wait_seconds=0, reporter=recorder),
    ):
        pass
    assert heard == []


def test_a_lock_that_cannot_be_made_is_an_oserror_for_the_caller(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("", encoding="utf-8")
    with pytest.raises(OSError), exclusive(tmp_path / "file" / "x.lock", what="x", wait_seconds=0):
        pass


def test_the_probe_creates_nothing_and_sees_another_process(
    tmp_path: Path, holder: Callable[[Path], subprocess.Popen[str]]
) -> None:
    lock_file = tmp_path / "x.lock"
    assert held_elsewhere(lock_file) is False
    assert not lock_file.exists()
    other = holder(lock_file)
    assert held_elsewhere(lock_file) is True
    other.kill()
    other.wait()
    assert held_elsewhere(lock_file) is False
