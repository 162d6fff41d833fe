"""The command line's reporter: what a step reports, as a user sees it on stderr, plain (a pipe,
a log) and on a terminal."""

from __future__ import annotations

import io
import threading

from rich.console import Console

from vendorer.cli.output import Output
from vendorer.report import DOWNLOAD, RESOLVE, UPLOAD


def _output(*, terminal: bool, verbose: bool = False) -> tuple[Output, io.StringIO]:
    out = Output(verbose=verbose)
    said = io.StringIO()
    out.err = Console(file=said, force_terminal=terminal, width=120, highlight=False,
                      soft_wrap=True)  # fmt: skip
    return out, said


def test_plain_a_line_per_wheel_nothing_for_resolving_and_warnings_after_their_task() -> None:
    out, said = _output(terminal=False)
    out.warning("before any task")  # said at once
    out.started(RESOLVE, title="resolving for python361x64")
    out.advanced(RESOLVE, item="flask 2.0.3")
    out.warning("a skipped link")
    out.warning("before any task")  # said already: not again
    out.notice("waiting for another vendorer run on lib to finish")  # notices: at once
    out.finished(RESOLVE)
    out.started(DOWNLOAD, title="wheels", total=2)
    out.advanced(DOWNLOAD, size=1000)
    out.advanced(DOWNLOAD, item="flask-2.0.3-py3-none-any.whl")
    out.warning("a skipped link")  # said once in the whole run
    out.warning("ignored ~/.netrc")
    out.finished(DOWNLOAD)
    out.started(UPLOAD, title="uploading", total=10)
    out.advanced(UPLOAD, size=10)
    out.finished(UPLOAD)
    assert said.getvalue().splitlines() == [
        "warning: before any task",
        "waiting for another vendorer run on lib to finish",
        "warning: a skipped link",
        "  flask-2.0.3-py3-none-any.whl",
        "warning: ignored ~/.netrc",
    ]


def test_a_failed_task_says_its_warnings_too() -> None:
    out, said = _output(terminal=False)
    try:
        out.started(RESOLVE, title="resolving for python361x64")
        out.warning("keyring has no password for bob")
        raise RuntimeError("HTTP 401")
    except RuntimeError:
        pass
    finally:
        out.finished(RESOLVE)
    assert said.getvalue() == "warning: keyring has no password for bob\n"


def test_tool_output_only_with_verbose() -> None:
    quiet, quiet_said = _output(terminal=False)
    loud, loud_said = _output(terminal=False, verbose=True)
    assert not quiet.wants_output and loud.wants_output
    for out in (quiet, loud):
        out.output("running setup.py egg_info")
    assert quiet_said.getvalue() == ""
    assert loud_said.getvalue() == "  | running setup.py egg_info\n"


def test_on_a_terminal_a_status_line_and_bars() -> None:
    out, said = _output(terminal=True)
    out.started(RESOLVE, title="resolving for python361x64")
    out.advanced(RESOLVE, item="flask 2.0.3")
    out.advanced(RESOLVE, item="click 8.0.4")
    out.warning("a skipped link")
    out.finished(RESOLVE)
    out.started(DOWNLOAD, title="wheels", total=2)
    wheels = ["click-8.0.4-py3-none-any.whl", "flask-2.0.3-py3-none-any.whl"]

    def fetched(name: str) -> None:
        out.advanced(DOWNLOAD, size=1500)
        out.advanced(DOWNLOAD, item=name)

    threads = [threading.Thread(target=fetched, args=(name,)) for name in wheels]  # a pool's
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.finished(DOWNLOAD)
    out.started(UPLOAD, title="uploading", total=4000)
    out.advanced(UPLOAD, size=4000)
    out.started(UPLOAD, title="uploading", total=4000)  # a retry: from 0 again
    out.advanced(UPLOAD, size=4000)
    out.finished(UPLOAD)
    text = said.getvalue()
    assert "resolving for python361x64: 2 pinned, click 8.0.4" in text
    assert "2/2" in text and "3.0 kB downloaded" in text
    assert "uploading" in text
    assert text.count("warning: a skipped link") == 1
    assert "  flask-2.0.3-py3-none-any.whl\n" not in text  # a bar, not lines
