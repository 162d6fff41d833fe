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
