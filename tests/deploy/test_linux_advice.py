"""What vendorer says about running on the Linux targets (issue 12, "stop giving wrong advice"):
Oryx's own detection and the startup command only when it is needed, the conditions under which
`__oryx_packages__` counts, nothing to start on Functions, and an Oryx build's leftovers found in
the app. Real `python -m vendorer` processes; Oryx's rules from microsoft/Oryx (deploy/oryx.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.version import Version

from tests.support.cli import make_app, vendorer
from tests.support.dists import make_wheel
from tests.support.index import StaticIndex
from vendorer.deploy.oryx import detect_app, parse_wsgi_handler, startup_command

PY312 = Version("3.12")


def _webconfig(app: Path, *args: str) -> str:
    app.mkdir(parents=True, exist_ok=True)
    result = vendorer("webconfig", *args, "--app", str(app))
    assert result.returncode == 0, result.stderr
    assert not (app / "web.config").exists()
    return result.stdout


def test_functions_get_no_startup_command(tmp_path: Path) -> None:
    """The Functions host starts the worker: no gunicorn line (main printed one), and the
    publish route that keeps the vendored tree."""
    out = _webconfig(tmp_path / "app", "-p", "functions-python311", "--wsgi-handler", "app.app")
    assert "gunicorn" not in out and "startup  " not in out
    assert "the Functions host starts the Python worker, which imports function_app.py" in out
    assert "func azure functionapp publish NAME --no-build" in out
    assert "vendorer deploy --site NAME --resource-group RG" in out
    assert ".python_packages/lib/site-packages is on sys.path by itself" in out


def test_functions_never_load_another_lib_folder(tmp_path: Path) -> None:
    out = _webconfig(tmp_path / "app", "-p", "functions-python311", "--lib-dir", "vendor")
    assert "PYTHONPATH=" not in out  # the worker replaces PYTHONPATH: a setting would not help
    assert "loads only .python_packages/lib/site-packages (it replaces PYTHONPATH)" in out


def test_a_detected_app_needs_no_startup_command(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "app.py").write_text("app = None\n")
    out = _webconfig(app, "-p", "linux-python312")
    assert "startup       none: Oryx finds app.py (Flask) and runs gunicorn app:app" in out
    assert "gunicorn --bind" not in out
    assert "gunicorn must then be in your requirements" not in out  # the images have it
    assert "gunicorn comes with the image" in out
    # the handler Oryx runs anyway: still no command
    assert "gunicorn --bind" not in _webconfig(
        app, "-p", "linux-python312", "--wsgi-handler", "app.app"
    )


def test_a_startup_command_only_where_oryx_would_run_something_else(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "mysite").mkdir(parents=True)
    (app / "mysite" / "wsgi.py").write_text("application = None\n")
    (app / "app.py").write_text("app = None\n")  # Django wins over Flask-style files
    django = "mysite.wsgi.application"
    out = _webconfig(app, "-p", "linux-python312", "--wsgi-handler", django)
    assert "Oryx finds mysite/wsgi.py (Django) and runs gunicorn mysite.wsgi" in out
    assert "gunicorn --bind" not in out
    out = _webconfig(app, "-p", "linux-python312", "--wsgi-handler", "app.app")
    assert 'startup       gunicorn --bind=0.0.0.0 --timeout 600 "app:app"' in out
    assert "Oryx would run gunicorn mysite.wsgi for mysite/wsgi.py" in out
    factory = _webconfig(app, "-p", "linux-python312", "--wsgi-handler", "app.create_app()")
    assert '--timeout 600 "app:create_app()"' in factory


def test_the_oryx_folder_counts_only_while_its_conditions_hold(tmp_path: Path) -> None:
    out = _webconfig(tmp_path / "app", "-p", "linux-python312")
    assert "none: __oryx_packages__ is on sys.path by itself (Oryx's startup script" in out
    assert "wwwroot holds no antenv folder and no oryx-manifest.toml" in out
    assert "__oryx_packages__ is there when the container starts" in out
    assert "Python's user site is on" in out
    assert "SCM_DO_BUILD_DURING_DEPLOYMENT=false, ENABLE_ORYX_BUILD=false" in out
    assert "Oryx finds no app here" in out and "pass --wsgi-handler MODULE.ATTR" in out


def test_another_lib_folder_goes_on_pythonpath_as_an_app_setting(tmp_path: Path) -> None:
    out = _webconfig(
        tmp_path / "app", "-p", "linux-python312", "--lib-dir", ".python_packages/lib/site-packages"
    )
    # Oryx does not load the Functions folder on App Service: a PYTHONPATH setting must (main
    # said it was on sys.path by itself)
    assert "PYTHONPATH=/home/site/wwwroot/.python_packages/lib/site-packages" in out
    assert "is on sys.path by itself" not in out


@pytest.mark.parametrize("leftover", ["antenv", "oryx-manifest.toml"])
def test_an_oryx_build_left_in_the_app_is_named_with_its_fix(tmp_path: Path, leftover: str) -> None:
    app = tmp_path / "app"
    app.mkdir()
    if leftover == "antenv":
        (app / "antenv" / "bin").mkdir(parents=True)
    else:
        (app / leftover).write_text('virtualEnvName = "antenv"\n')
    out = _webconfig(app, "-p", "linux-python312")
    assert f"  problem       {leftover}: " in out and "fix: delete it" in out


def _helper_app(
    tmp_path: Path, static_index: Callable[..., StaticIndex], profile: str, more: str = ""
) -> Path:
    make_wheel(tmp_path / "dists", "helper", "1.0")
    index = static_index(tmp_path / "dists")
    return make_app(tmp_path / "app", index.url, "helper", profile=profile, more=more)


def test_check_reports_an_oryx_build_in_the_app(
    tmp_path: Path, static_index: Callable[..., StaticIndex]
) -> None:
    app = _helper_app(tmp_path, static_index, "linux-python312")
    assert vendorer("build", cwd=app).returncode == 0
    clean = vendorer("check", cwd=app)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    (app / "antenv" / "lib").mkdir(parents=True)
    (app / "oryx-manifest.toml").write_text('PythonVersion = "3.12"\n')
    result = vendorer("check", cwd=app)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "antenv: a virtual environment at the top of the app" in output
    assert "does not load __oryx_packages__" in output and "rm -rf antenv" in output
    assert "oryx-manifest.toml: an Oryx build's manifest at the top of the app" in output
    vendored = vendorer("vendor", cwd=app)
    said = vendored.stdout + vendored.stderr
    assert "on the server, __oryx_packages__ is on sys.path by itself, while:" in said
    assert "  - wwwroot holds no antenv folder" in said and "user site is on" in said


def test_vendor_says_what_functions_need(
    tmp_path: Path, static_index: Callable[..., StaticIndex]
) -> None:
    app = _helper_app(tmp_path, static_index, "functions-python311", 'lib-dir = "lib"\n')
    result = vendorer("build", cwd=app)
    said = result.stdout + result.stderr
    assert result.returncode == 0, said
    assert "PYTHONPATH must include" not in said  # main: the worker would ignore that setting
    assert "the Functions worker loads only .python_packages/lib/site-packages" in said


# --- Oryx's detection, as the startup script generator does it ---------------------------------


def test_oryx_detects_django_first_in_name_order_skipping_antenv(tmp_path: Path) -> None:
    for name in ("antenv", "b_site", "a_site"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "wsgi.py").write_text("")
    (tmp_path / "app.py").write_text("")
    found = detect_app(tmp_path, PY312)
    assert found is not None and (found.framework, found.module) == ("Django", "a_site.wsgi")
    assert found.serves(parse_wsgi_handler("a_site.wsgi.application"))
    assert not found.serves(parse_wsgi_handler("a_site.wsgi.app"))


def test_oryx_takes_the_first_flask_style_file_of_its_list(tmp_path: Path) -> None:
    assert detect_app(tmp_path, PY312) is None
    for name in ("wsgi.py", "server.py", "index.py", "run.py", "app.py", "application.py"):
        (tmp_path / name).write_text("")
        found = detect_app(tmp_path, PY312)
        assert found is not None and found.found == name and found.module == f"{name[:-3]}:app"


def test_fastapi_is_detected_from_python_314_on(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("from fastapi import FastAPI\napp = FastAPI()\n")
    (tmp_path / "app.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    older = detect_app(tmp_path, PY312)
    assert older is not None and older.module == "app:app"  # main.py is not on the Flask list
    newer = detect_app(tmp_path, Version("3.14"))
    assert (
        newer is not None and newer.command == "gunicorn -k uvicorn_worker.UvicornWorker main:app"
    )
    assert not newer.serves(parse_wsgi_handler("main.app"))  # an ASGI worker, not WSGI


def test_the_startup_command_quotes_what_the_shell_would_read() -> None:
    assert startup_command(parse_wsgi_handler("pkg.web.make()")) == (
        'gunicorn --bind=0.0.0.0 --timeout 600 "pkg.web:make()"'
    )
