"""Vendoring for a Functions profile keeps what Azure Functions Core Tools reads beside the app
(issue 12, "Also"): `.funcignore` leaves the wheelhouse out of what `func azure functionapp
publish` packages (the user's lines kept), and `.python_packages/requirements.txt.md5` lets
`--build local` keep the vendored tree (Core Tools `PythonHelpers.ArePackagesInSync`: the file's
text equals base64(MD5(requirements.txt))). Real `python -m vendorer` processes.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import make_app, vendorer
from tests.support.dists import make_wheel
from tests.support.index import StaticIndex
from vendorer.deploy.funcignore import parse_funcignore

MD5 = ".python_packages/requirements.txt.md5"


@pytest.fixture
def app(tmp_path: Path, static_index: Callable[..., StaticIndex]) -> Path:
    make_wheel(tmp_path / "dists", "helper", "1.0")
    index = static_index(tmp_path / "dists")
    folder = make_app(tmp_path / "app", index.url, "helper", profile="functions-python311")
    (folder / "function_app.py").write_text("import helper\n")
    return folder


def _build(folder: Path, *args: str) -> str:
    result = vendorer("build", *args, cwd=folder)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def _wheelhouse_files(folder: Path) -> list[str]:
    files = [p for p in (folder / "wheelhouse").rglob("*") if p.is_file()]
    assert files
    return [p.relative_to(folder).as_posix() for p in files]


def test_the_wheelhouse_goes_into_a_new_funcignore(app: Path) -> None:
    output = _build(app)
    assert "added wheelhouse to .funcignore" in output
    text = (app / ".funcignore").read_text(encoding="utf-8")
    assert text == "# vendorer: wheelhouse/ stays out of the package\nwheelhouse\n"
    rules = parse_funcignore(text)
    assert all(rules.denies(path) for path in _wheelhouse_files(app))
    assert rules.denies("function_app.py") is None
    assert rules.denies(".python_packages/lib/site-packages/helper/__init__.py") is None
    again = _build(app)
    assert ".funcignore" not in again  # once is enough
    assert (app / ".funcignore").read_text(encoding="utf-8") == text


def test_the_users_funcignore_lines_stay(app: Path) -> None:
    mine = "\ufeff.git*\r\n.vscode\r\nlocal.settings.json\r\n# my comment\r\n.venv"
    (app / ".funcignore").write_text(mine, encoding="utf-8", newline="")
    _build(app)
    text = (app / ".funcignore").read_bytes().decode("utf-8")
    assert text.startswith(mine + "\r\n")  # the user's bytes, BOM and CRLF included
    assert text.endswith("\r\nwheelhouse\r\n")
    assert all(parse_funcignore(text.lstrip("\ufeff")).denies(p) for p in _wheelhouse_files(app))


def test_a_funcignore_that_already_leaves_it_out_is_not_touched(app: Path) -> None:
    (app / ".funcignore").write_text("wheel*\n", encoding="utf-8")
    output = _build(app)
    assert ".funcignore" not in output
    assert (app / ".funcignore").read_text(encoding="utf-8") == "wheel*\n"


def test_a_negation_that_keeps_the_wheelhouse_in_is_said(app: Path) -> None:
    text = "!wheelhouse/functions-python311/requirements.txt\n"
    (app / ".funcignore").write_text(text, encoding="utf-8")
    output = _build(app)
    assert ".funcignore keeps wheelhouse/ in the package whatever vendorer adds" in output
    assert (app / ".funcignore").read_text(encoding="utf-8") == text


def test_a_wheelhouse_elsewhere_leaves_funcignore_alone(app: Path, tmp_path: Path) -> None:
    _build(app, "--wheelhouse", str(tmp_path / "wheels"))
    assert not (app / ".funcignore").exists()


def test_other_profiles_get_no_funcignore(app: Path) -> None:
    pyproject = app / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("functions-python311", "linux-python311"))
    _build(app)
    assert not (app / ".funcignore").exists() and not (app / MD5).exists()


def test_the_requirements_md5_is_what_core_tools_compares(app: Path) -> None:
    output = _build(app)
    expected = base64.b64encode(hashlib.md5(b"helper\n").digest()).decode()
    assert (app / MD5).read_bytes() == expected.encode()  # no newline: compared as text
    assert f"wrote {MD5}" in output
    assert "func azure functionapp publish --build local` then keeps" in output
    assert f"wrote {MD5}" not in _build(app)  # current: not written again
    (app / "requirements.txt").write_text("helper==1.0\n")
    _build(app)
    assert (app / MD5).read_text() == base64.b64encode(
        hashlib.md5(b"helper==1.0\n").digest()
    ).decode()


def test_no_md5_for_requirements_core_tools_does_not_read(app: Path) -> None:
    (app / "requirements.txt").rename(app / "requirements.in")
    _build(app)
    assert not (app / MD5).exists()


def test_a_dry_run_writes_neither(app: Path) -> None:
    _build(app, "--dry-run")
    # build's dry run still fills the wheelhouse; vendoring changes nothing, nor do these
    assert not (app / ".funcignore").exists() and not (app / MD5).exists()
