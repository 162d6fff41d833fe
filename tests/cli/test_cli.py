"""The command line as a user meets it: real processes, exit codes, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import vendorer
from vendorer.cli import main


def test_profiles_show_json_for_python361x64() -> None:
    result = vendorer("profiles", "show", "python361x64", "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["markers"]["python_full_version"] == "3.6.1"
    assert shown["markers"]["sys_platform"] == "win32"
    assert shown["markers"]["platform_machine"] == "AMD64"
    assert shown["tags"][0] == "cp36-cp36m-win_amd64"
    assert "py3-none-any" in shown["tags"]
    server = shown["server"]
    for key in ("python", "site_packages", "wfastcgi"):
        assert server[key].startswith("D:\\home\\python361x64\\"), key
    assert shown["source"] == "built-in"


def test_profiles_show_prints_everything_for_a_person() -> None:
    result = vendorer("profiles", "show", "linux-python312")
    assert result.returncode == 0, result.stderr
    assert 'sys_platform = "linux"' in result.stdout
    assert "cp312-cp312-manylinux_2_" in result.stdout
    assert "py3-none-any" in result.stdout


def test_profiles_list_is_a_table_of_all_profiles(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "list", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["python361x64"] == {
        "name": "python361x64",
        "python": "3.6.1",
        "platform": "win_amd64",
        "source": "built-in",
    }
    assert rows["linux-python312"]["platform"].startswith("manylinux_2_")
    assert main(["profiles", "list"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["name", "python", "platform", "source"]
    assert "python2713x86" in table


def test_unknown_profile_is_a_usage_error_with_close_names() -> None:
    result = vendorer("profiles", "show", "python316x64")
    assert result.returncode == 2
    assert "unknown profile 'python316x64'; did you mean" in result.stderr
    assert "python361x64" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_broken_project_profile_lists_its_problems(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "mine.toml").write_text(
        'name = "mine"\ndescription = "x"\n[python]\nimplementation = "cp"\n', encoding="utf-8"
    )
    result = vendorer("profiles", "show", "mine", "--app", str(tmp_path))
    assert result.returncode == 2
    assert "python.version: missing" in result.stderr
    assert "markers: missing" in result.stderr
    assert "server: missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_usage_exits_2() -> None:
    assert vendorer().returncode == 2
    assert vendorer("profiles", "show").returncode == 2
    assert vendorer("frobnicate").returncode == 2
    assert vendorer("profiles", "capture", "name-without-from").returncode == 2


def test_capture_round_trip_through_the_cli(tmp_path: Path) -> None:
    script = vendorer("profiles", "capture")
    assert script.returncode == 0
    (tmp_path / "capture.py").write_text(script.stdout, encoding="utf-8")
    facts = subprocess.run(
        [sys.executable, str(tmp_path / "capture.py")], capture_output=True, text=True, check=True
    ).stdout
    (tmp_path / "capture.json").write_text(facts, encoding="utf-8")
    app = str(tmp_path)
    made = vendorer(
        "profiles", "capture", "--from", str(tmp_path / "capture.json"), "here", "--app", app
    )
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "profiles" / "here.toml").exists()
    shown = json.loads(vendorer("profiles", "show", "here", "--json", "--app", app).stdout)
    assert shown["source"] == "project"
    assert shown["python"]["tags"] == shown["tags"]
    again = vendorer(
        "profiles", "capture", "--from", str(tmp_path / "capture.json"), "here", "--app", app
    )
    assert again.returncode == 2 and "--force" in again.stderr
    (tmp_path / "junk.json").write_text("{nope", encoding="utf-8")
    junk = vendorer("profiles", "capture", "--from", str(tmp_path / "junk.json"), "x", "--app", app)
    assert junk.returncode == 2 and "not the capture script's JSON output" in junk.stderr
    assert "Traceback" not in junk.stderr


@pytest.mark.parametrize(
    "command",
    [
        ("lock",),
        ("build",),
        ("check",),
        ("webconfig", "-p", "python361x64", "--wsgi-handler", "app.app"),
        ("arm", "-p", "python361x64"),
        ("profiles", "show", "python361x64"),
        ("profiles", "capture", "--from", "capture.json", "mine"),
        ("hook", "install"),
    ],
)
def test_an_app_folder_that_is_missing_or_a_file_is_refused_first(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """Before, webconfig created the folder, and lock said 'no target profile'."""
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    for app, what in (("missing", "does not exist"), ("a-file", "is a file, not a folder")):
        result = vendorer(*command, "--app", str(tmp_path / app))
        assert result.returncode == 2
        assert result.stderr == (
            f"error: --app {tmp_path / app} {what}; give the app's folder (where its "
            "pyproject.toml and requirements are)\n"
        )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a-file"]


@pytest.mark.parametrize(
    "command",
    [
        ("webconfig", "-p", "python361x64", "--wsgi-handler", "app.app"),
        ("profiles", "capture", "--from", "capture.json", "mine"),
        ("lock", "--export", "requirements"),
    ],
)
def test_an_output_file_in_a_missing_folder_is_refused(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    output = tmp_path / "missing" / "out.txt"
    result = vendorer(*command, "-o", str(output), "--app", str(tmp_path))
    assert result.returncode == 2
    assert f"-o {output}: the folder {output.parent} does not exist; create it first" in (
        result.stderr
    )
    folder = vendorer(*command, "-o", str(tmp_path), "--app", str(tmp_path))
    assert folder.returncode == 2 and f"-o {tmp_path} is a folder" in folder.stderr
    assert list(tmp_path.iterdir()) == []


def test_no_profile_in_an_app_without_pyproject_asks_whether_app_is_right(tmp_path: Path) -> None:
    result = vendorer("lock", "--app", str(tmp_path))
    assert result.returncode == 2
    assert f"({tmp_path / 'pyproject.toml'} does not exist: is --app right?)" in result.stderr


# A command that fails with an exception vendorer does not expect (none is known: each one
# found has its own error now), made by replacing one command's function in a real process.
BROKEN = """
import sys
import vendorer.cli.profiles as profiles
from vendorer.cli import main

def broken(args):
    {body}

profiles._profiles_show = broken
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize(
    ("body", "kind", "message"),
    [
        (
            "raise ValueError('cannot reach https://me:pw-SECRET-123@host/simple/')",
            "ValueError",
            "cannot reach https://host/simple/",
        ),
        ("return broken(args)", "RecursionError", "maximum recursion depth exceeded"),
        ("raise MemoryError()", "MemoryError", None),
        ("b'\\xff'.decode('utf-8')", "UnicodeDecodeError", "'utf-8' codec can't decode byte 0xff"),
    ],
)
def test_an_unexpected_exception_is_one_short_block_saying_it_is_a_bug(
    body: str, kind: str, message: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VENDORER_DEBUG", raising=False)
    code = BROKEN.format(body=body)
    run = [sys.executable, "-c", code, "profiles", "show", "python361x64"]
    result = subprocess.run(run, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    if message is None:
        assert lines[0] == f"error: internal error: {kind}"
    else:
        assert lines[0].startswith(f"error: internal error: {kind}: {message}")
    assert lines[1] == (
        "  this is a bug in vendorer: please report it (VENDORER_DEBUG=1 shows the traceback)"
    )
    monkeypatch.setenv("VENDORER_DEBUG", "1")
    debug = subprocess.run(run, capture_output=True, text=True, check=False)
    assert debug.returncode == 1
    assert debug.stderr.startswith("Traceback (most recent call last):")
    assert debug.stderr.endswith(result.stderr)
    assert "pw-SECRET-123" not in result.stderr + debug.stderr
