"""`vendorer package`: the deployable zip of the whole app, and the package started for real.

The lib folders come from real runs (`vendorer build` against a static index on loopback, or the
vendor step itself); the packages are unpacked and started as App Service on Linux (Oryx's
user-site `oryx.pth`, gunicorn from an "image") and the Functions worker (its PYTHONPATH, the v2
`function_app.py`) start them, on a CPython of the profile's minor version.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from tests.support.cli import vendorer
from tests.support.dists import make_wheel
from tests.support.index import StaticIndex
from tests.support.platforms import (
    base_python,
    call_function,
    get,
    install_image,
    oryx_gunicorn,
)
from tests.support.repack import repack_installed
from vendorer._util.files import HashCache
from vendorer.deploy import package_zip
from vendorer.deploy.funcignore import parse_funcignore
from vendorer.deploy.package import PackageOptions, package_app, plan_package
from vendorer.deploy.package_rules import compile_excludes
from vendorer.deploy.package_zip import content_time
from vendorer.errors import ConfigError, UsageError, VendorerError
from vendorer.inputs.options import hash_cache_path
from vendorer.install.vendor import vendor
from vendorer.target.catalog import ProfileCatalog

CATALOG = ProfileCatalog()
LINUX = CATALOG.load("linux-python311")
FUNCTIONS = CATALOG.load("functions-python311")
WINDOWS = CATALOG.load("python361x64")
PYTHON311 = base_python((3, 11))
needs_311 = pytest.mark.skipif(PYTHON311 is None, reason="no base CPython 3.11 on this machine")

TINYWSGI = '''"""A tiny WSGI framework: the app's only library, vendored for the test."""


class App:
    def __init__(self, greeting):
        self.greeting = greeting

    def __call__(self, environ, start_response):
        body = ("%s from %s" % (self.greeting, __file__)).encode()
        headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        start_response("200 OK", headers)
        return [body]
'''
FUNCTION_APP = """import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="hello")
def hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("hello from the package", status_code=200)
"""


# --- helpers --------------------------------------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _app(folder: Path, index: StaticIndex, profile: str, requirement: str) -> Path:
    settings = f'[tool.vendorer]\nprofile = "{profile}"\nindex-url = "{index.url}"\n'
    _write(folder, {"pyproject.toml": settings, "requirements.txt": f"{requirement}\n"})
    return folder


def _build(app: Path) -> None:
    done = vendorer("build", "--app", str(app))
    assert done.returncode == 0, done.stderr


def _vendored(app: Path, dists: Path, lib_dir: str, profile_name: str = "linux-python311") -> Path:
    """A lib folder filled by the vendor step itself: a package with a console script."""
    profile = CATALOG.load(profile_name)
    wheel = make_wheel(
        dists, "hello", "1.0", entry_points={"console_scripts": {"hello": "hello:main"}},
        files={"hello/__init__.py": "def main():\n    print('hi')\n",
               "hello/cacert.pem": "-----BEGIN CERTIFICATE-----\n"},
    )  # fmt: skip
    vendor({canonicalize_name("hello"): wheel}, profile, app / lib_dir, lock_hash="sha256:0")
    return app / lib_dir


def _names(package: Path) -> list[str]:
    with zipfile.ZipFile(package) as archive:
        return archive.namelist()


def _unpack(package: Path, folder: Path) -> Path:
    with zipfile.ZipFile(package) as archive:
        archive.extractall(folder)
    return folder


@pytest.fixture
def index(dist_dir: Path, static_index: Callable[..., StaticIndex]) -> StaticIndex:
    return static_index(dist_dir)


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An App Service image's gunicorn: a real wheel of the installed gunicorn, installed."""
    assert PYTHON311 is not None
    folder = tmp_path_factory.mktemp("image")
    wheel = repack_installed("gunicorn", folder / "wheels")
    install_image([wheel], folder, PYTHON311)
    return folder


@pytest.fixture
def restore_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    os.umask(previous)
    try:
        yield
    finally:
        os.umask(previous)


# --- it runs --------------------------------------------------------------------------------------


@needs_311
def test_an_app_service_linux_package_answers_200_under_oryx_and_gunicorn(
    tmp_path: Path, dist_dir: Path, index: StaticIndex, image: Path
) -> None:
    assert PYTHON311 is not None
    make_wheel(dist_dir, "tinywsgi", "1.0", files={"tinywsgi/__init__.py": TINYWSGI})
    app = _app(tmp_path / "app", index, "linux-python311", "tinywsgi")
    _write(app, {"app.py": "from tinywsgi import App\n\napp = App('hello')\n", ".env": "K=1\n"})
    _build(app)
    report = package_app(app, LINUX, "__oryx_packages__", tmp_path / "app.zip")
    wwwroot = _unpack(report.plan.output, tmp_path / "wwwroot")
    assert (wwwroot / "__oryx_packages__" / "tinywsgi" / "__init__.py").is_file()
    assert not (wwwroot / "wheelhouse").exists()
    assert not (wwwroot / ".env").exists()
    home = tmp_path / "home"
    with oryx_gunicorn(wwwroot, PYTHON311, image, home) as server:
        answer = get(server, "/")
    assert answer.status == 200
    # The framework came from the package's own lib folder, through Oryx's oryx.pth.
    assert answer.body == f"hello from {wwwroot / '__oryx_packages__' / 'tinywsgi' / '__init__.py'}"


@needs_311
@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the repacked wheels are the venv's")
def test_a_functions_package_runs_its_http_function_with_the_vendored_azure_functions(
    tmp_path: Path, dist_dir: Path, index: StaticIndex
) -> None:
    assert PYTHON311 is not None
    for name in ("azure-functions", "werkzeug", "markupsafe"):
        repack_installed(name, dist_dir)
    app = _app(tmp_path / "app", index, "functions-python311", "azure-functions")
    _write(app, {"function_app.py": FUNCTION_APP, "host.json": '{"version": "2.0"}\n',
                 "local.settings.json": '{"Values": {"AzureWebJobsStorage": "x"}}\n',
                 ".funcignore": ".venv\ntest\n", "test/test_app.py": "",
                 "tests/keep.py": ""})  # fmt: skip
    _build(app)
    report = package_app(app, FUNCTIONS, ".python_packages/lib/site-packages", tmp_path / "f.zip")
    assert report.plan.warnings == ()
    names = _names(report.plan.output)
    assert "local.settings.json" not in names and "test/test_app.py" not in names
    assert "tests/keep.py" in names  # .funcignore's `test` is not `tests`
    wwwroot = _unpack(report.plan.output, tmp_path / "wwwroot")
    home = tmp_path / "home"
    home.mkdir()
    answer = call_function(wwwroot, PYTHON311, "hello", home)
    assert answer["status"] == 200
    assert answer["body"] == "hello from the package"
    site = wwwroot / ".python_packages" / "lib" / "site-packages"
    assert answer["azure_functions"] == str(site / "azure" / "functions" / "__init__.py")


def test_a_windows_package_carries_lib_and_the_apps_web_config_with_the_vendored_pythonpath(
    tmp_path: Path, dist_dir: Path, index: StaticIndex
) -> None:
    make_wheel(dist_dir, "tinywsgi", "1.0", files={"tinywsgi/__init__.py": TINYWSGI})
    app = _app(tmp_path / "app", index, "python361x64", "tinywsgi")
    _write(app, {"app.py": "from tinywsgi import App\n\napp = App('hello')\n"})
    _build(app)
    with pytest.raises(UsageError, match=r"run `vendorer webconfig --profile python361x64"):
        package_app(app, WINDOWS, "lib", tmp_path / "w.zip")
    assert not (tmp_path / "w.zip").exists()
    done = vendorer("webconfig", "--app", str(app), "--lib-dir", "oldlib",
                    "--wsgi-handler", "app.app")  # fmt: skip
    assert done.returncode == 0, done.stderr
    own = (
        (app / "web.config")
        .read_text(encoding="utf-8")
        .replace(
            "<configuration>",
            '<configuration>\n  <!-- the app\'s own -->\n  <location path="static" />',
        )
    )
    (app / "web.config").write_text(own, encoding="utf-8")
    report = package_app(app, WINDOWS, "lib", tmp_path / "w.zip")
    with zipfile.ZipFile(report.plan.output) as archive:
        packaged = archive.read("web.config").decode("utf-8")
        assert "lib/tinywsgi/__init__.py" in archive.namelist()
    old, new = r"D:\home\site\wwwroot\oldlib", r"D:\home\site\wwwroot\lib"
    assert packaged == own.replace(old, new)
    assert any("web.config" in note for note in report.plan.notes)
    (app / "web.config").write_text(packaged, encoding="utf-8")  # now current: no note
    assert not package_app(app, WINDOWS, "lib", tmp_path / "w.zip").plan.notes


def test_an_httpplatform_web_config_keeps_its_own_settings(tmp_path: Path, dist_dir: Path) -> None:
    app = tmp_path / "app"
    wheel = make_wheel(dist_dir, "hello", "1.0")
    vendor({canonicalize_name("hello"): wheel}, WINDOWS, app / "lib", lock_hash="sha256:0")
    done = vendorer("webconfig", "--app", str(app), "-p", "python361x64", "--lib-dir", "old",
                    "--handler", "httpplatform", "--entry", "srv/run.py", "--args=--fast 1",
                    "--env", "MODE=prod", "--startup-time-limit=120", "--processes=3")  # fmt: skip
    assert done.returncode == 0, done.stderr
    own = (app / "web.config").read_text(encoding="utf-8")
    plan = plan_package(app, WINDOWS, "lib", tmp_path / "w.zip")
    (webconfig,) = [member for member in plan.members if member.name == "web.config"]
    assert webconfig.data is not None
    assert webconfig.data.decode() == own.replace("wwwroot\\old", "wwwroot\\lib")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<configuration><system.webServer><rewrite/></system.webServer></configuration>",
         r"web\.config holds no Python handler .*: run `vendorer webconfig --profile python361x64"),
        ("<configuration><appSettings>", r"web\.config:1:\d+: not well-formed XML"),
        ('<configuration><system.webServer><httpPlatform arguments="-m app"/>'
         "</system.webServer></configuration>", r"httpPlatform's arguments start with '-m'"),
        ('<configuration><system.webServer><handlers><add name="PythonHandler" '
         'modules="FastCgiModule"/></handlers></system.webServer></configuration>',
         r"FastCGI needs the WSGI app: .*; or run `vendorer webconfig --profile python361x64`"),
    ],
)  # fmt: skip
def test_a_web_config_vendorer_cannot_update_is_named(
    tmp_path: Path, dist_dir: Path, text: str, message: str
) -> None:
    app = tmp_path / "app"
    wheel = make_wheel(dist_dir, "hello", "1.0")
    vendor({canonicalize_name("hello"): wheel}, WINDOWS, app / "lib", lock_hash="sha256:0")
    (app / "web.config").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        plan_package(app, WINDOWS, "lib", tmp_path / "w.zip")


# --- what stays out -------------------------------------------------------------------------------


def test_what_stays_out_is_listed_with_its_reason(tmp_path: Path, dist_dir: Path) -> None:
    app = tmp_path / "app"
    _vendored(app, dist_dir, "__oryx_packages__")
    _write(app, {
        "app.py": "", "pkg/__init__.py": "", "pkg/__pycache__/m.cpython-311.pyc": "",
        "pkg/old.pyc": "", "wheelhouse/linux-python311/x.whl": "", ".git/HEAD": "",
        "sub/.git": "gitdir: ..", ".venv/pyvenv.cfg": "", "deep/tool/pyvenv.cfg": "",
        "env/bin/python": "", "venv/lib/x.py": "", "antenv/lib/x.py": "", "env2/x.py": "",
        ".mypy_cache/x": "", ".pytest_cache/x": "", ".ruff_cache/x": "", ".tox/x": "",
        ".nox/x": "", ".vendorer/cibuildwheel.linux-python311.toml": "",
        "pylock.linux-python311.toml": "", "pylock.toml": "", "sub/.env": "SECRET=1\n",
        "local.settings.json": "{}", "site.PublishSettings": "<publishData/>",
        "docs/index.md": "", "notes.txt": "", "data/keep/a.csv": "", "uploads/.env": "x",
        ".vscode/settings.json": "{}", ".gitignore": "*.pyc\n",
    })  # fmt: skip
    (app / "empty").mkdir()
    plan = plan_package(app, LINUX, "__oryx_packages__", tmp_path / "app.zip",
                        PackageOptions(excludes=("docs/", "*.txt")))  # fmt: skip
    reasons = {exclusion.path: exclusion.reason for exclusion in plan.excluded}
    assert reasons == {
        ".git/": "version control", "sub/.git": "version control",
        ".venv/": "a virtual environment", "deep/tool/": "a virtual environment",
        "env/": "a virtual environment", "venv/": "a virtual environment",
        "antenv/": "a virtual environment",
        "pkg/__pycache__/": "a cache", "pkg/old.pyc": "a cache (bytecode)",
        ".mypy_cache/": "a cache", ".pytest_cache/": "a cache", ".ruff_cache/": "a cache",
        ".tox/": "a cache", ".nox/": "a cache",
        "wheelhouse/": "the wheelhouse",
        ".vendorer/": "vendorer's own state", ".vendorer-state/": "vendorer's own state",
        "pylock.linux-python311.toml": "vendorer's lock (the server does not read it)",
        "pylock.toml": "vendorer's lock (the server does not read it)",
        "sub/.env": "a secret", "uploads/.env": "a secret", "local.settings.json": "a secret",
        "site.PublishSettings": "a secret",
        "docs/": "[tool.vendorer] exclude: docs/", "notes.txt": "[tool.vendorer] exclude: *.txt",
    }  # fmt: skip
    assert plan.files == (
        ".gitignore", ".vscode/settings.json", "__oryx_packages__/.gitattributes",
        "__oryx_packages__/.vendorer-manifest.json", "__oryx_packages__/bin/hello",
        "__oryx_packages__/hello-1.0.dist-info/INSTALLER",
        "__oryx_packages__/hello-1.0.dist-info/METADATA",
        "__oryx_packages__/hello-1.0.dist-info/RECORD",
        "__oryx_packages__/hello-1.0.dist-info/WHEEL",
        "__oryx_packages__/hello-1.0.dist-info/entry_points.txt",
        "__oryx_packages__/hello/__init__.py", "__oryx_packages__/hello/cacert.pem",
        "app.py", "data/keep/a.csv", "env2/x.py", "pkg/__init__.py",
    )  # fmt: skip
    # A folder is an entry of its own only when nothing in it goes in (it exists on the server).
    folders = [m.name for m in plan.members if m.name.endswith("/")]
    assert folders == ["deep/", "empty/", "sub/", "uploads/"]
    assert plan.warnings == ()  # the vendored cacert.pem is a library's, not the app's secret


def test_a_top_level_package_named_like_a_venv_goes_in(tmp_path: Path, dist_dir: Path) -> None:
    app = tmp_path / "app"
    _vendored(app, dist_dir, "__oryx_packages__")
    _write(app, {"env/__init__.py": "", "env/settings.py": "", "lib/venv/x.py": ""})
    plan = plan_package(app, LINUX, "__oryx_packages__", tmp_path / "app.zip")
    assert {"env/__init__.py", "env/settings.py", "lib/venv/x.py"} <= set(plan.files)


def test_exclude_patterns_are_gitignore_like() -> None:
    def matched(pattern: str, path: str, *, folder: bool = False) -> bool:
        (compiled,) = compile_excludes([pattern])
        return compiled.matches(path, is_folder=folder)

    assert matched("*.log", "a.log") and matched("*.log", "deep/er/a.log")
    assert matched("docs", "docs", folder=True) and matched("docs", "src/docs")
    assert matched("docs/", "src/docs", folder=True) and not matched("docs/", "docs")
    assert matched("/build", "build") and not matched("/build", "src/build")
    assert matched("src/*.py", "src/a.py") and not matched("src/*.py", "src/sub/a.py")
    assert not matched("src/*.py", "other/src/a.py")
    assert matched("src/**/*.py", "src/a.py") and matched("src/**/*.py", "src/x/y/a.py")
    assert matched("**/fixtures", "a/b/fixtures", folder=True) and matched(
        "**/fixtures", "fixtures"
    )
    assert matched("assets/**", "assets/x/y.png") and not matched("assets/**", "assets")
    assert matched("file?.txt", "file1.txt") and not matched("file?.txt", "file10.txt")
    assert matched("data[0-9].csv", "data7.csv") and not matched("data[!0-9].csv", "data7.csv")
    assert matched(r"\#notes", "#notes") and not matched("*.py", "a.pyc")


def test_bad_exclude_patterns_are_refused_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        compile_excludes(["", "!keep.py", "../secrets", "ok/", " / "])
    message = str(raised.value)
    assert message.startswith("[tool.vendorer] exclude:\n")
    assert "'': an empty pattern" in message and "' / ': an empty pattern" in message
    assert "'!keep.py': `!` is not supported" in message and "'../secrets': `..`" in message
    assert "ok/" not in message


def test_the_exclude_key_is_read_from_tool_vendorer(tmp_path: Path) -> None:
    from vendorer.inputs.settings import load_settings

    (tmp_path / "pyproject.toml").write_text('[tool.vendorer]\nexclude = ["docs/", "*.md"]\n')
    assert load_settings(tmp_path).exclude == ("docs/", "*.md")
    (tmp_path / "pyproject.toml").write_text('[tool.vendorer]\nexclude = "docs/"\n')
    with pytest.raises(ConfigError, match="exclude: must be a list of strings, not a string"):
        load_settings(tmp_path)


def test_funcignore_is_read_as_core_tools_reads_it() -> None:
    rules = parse_funcignore(
        "# comment\n  *.pyc  \n__pycache__\ntest\n/local\n.venv\ndist/\nlogs/**\n"
        "!logs/keep.txt\nfile?.txt\ndata[1].csv\r\n\n"
    )
    assert rules.denies("x.pyc") == "*.pyc" and rules.denies("pkg/x.pyc") is None  # top only
    assert rules.denies("__pycache__/a.pyc") == "__pycache__"
    assert rules.denies("pkg/__pycache__/a.pyc") is None
    assert rules.denies("test/a.py") == "test" and rules.denies("test.py") == "test"
    assert rules.denies("testing.py") is None and rules.denies("tests/a.py") is None
    assert rules.denies("local/a.py") == "local"  # the leading / is only taken off
    assert rules.denies(".venv/lib/x.py") == ".venv"
    assert rules.denies("dist/app.js") == "dist/" and rules.denies("dist/.map") is None  # \b
    assert rules.denies("logs/a/b.txt") == "logs/**" and rules.denies("logs/keep.txt") is None
    assert rules.denies("file1.txt") is None and rules.denies("file?.txt") == "file?.txt"
    assert rules.denies("data[1].csv") == "data[1].csv" and rules.denies("data1.csv") is None
    # A negation wins wherever it stands.
    assert parse_funcignore("!a.py\na.py\n").denies("a.py") is None


def test_a_functions_package_uses_funcignore_and_core_tools_exclusions(
    tmp_path: Path, dist_dir: Path
) -> None:
    app = tmp_path / "app"
    lib = ".python_packages/lib/site-packages"
    _vendored(app, dist_dir, lib, "functions-python311")
    _write(app, {"function_app.py": "", "host.json": "{}", ".funcignore": "*.md\n",
                 "README.md": "", "docs/a.md": "", ".vscode/launch.json": "{}",
                 ".gitignore": "", "project.lock.json": "{}"})  # fmt: skip
    plan = plan_package(app, FUNCTIONS, lib, tmp_path / "f.zip")
    reasons = {exclusion.path: exclusion.reason for exclusion in plan.excluded}
    assert reasons["README.md"] == ".funcignore: *.md"
    assert "docs/a.md" in plan.files  # .funcignore patterns match from the top only
    assert reasons[".vscode/"] == "editor settings (Core Tools leaves them out too)"
    for name in (".funcignore", ".gitignore", "project.lock.json"):
        assert reasons[name] == "Core Tools leaves it out too"
    (app / "host.json").unlink()
    warnings = plan_package(app, FUNCTIONS, lib, tmp_path / "f.zip").warnings
    assert warnings == ("the package has no host.json at its top: the Functions host needs one",)
    # A rule that leaves the vendored libraries out is refused, naming the rule.
    (app / ".funcignore").write_text(".python_packages\n")
    with pytest.raises(ConfigError, match=r"but \.funcignore: \.python_packages leaves out"):
        plan_package(app, FUNCTIONS, lib, tmp_path / "f.zip")
    with pytest.raises(UsageError, match="the Functions worker loads only"):
        plan_package(app, FUNCTIONS, "lib", tmp_path / "f.zip")
    (app / ".funcignore").write_bytes(b"\xff\xfe*.md\n")
    with pytest.raises(ConfigError, match=r"\.funcignore: cannot be read .*save it as UTF-8"):
        plan_package(app, FUNCTIONS, lib, tmp_path / "f.zip")


def test_files_that_look_like_secrets_go_in_with_a_warning(tmp_path: Path, dist_dir: Path) -> None:
    app = tmp_path / "app"
    _vendored(app, dist_dir, "__oryx_packages__")
    key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq"
    # Code that builds or parses such values is no secret.
    code = 'URL = f"AccountKey={key}"\nSTART = "-----BEGIN RSA PRIVATE KEY-----"\n'
    _write(app, {
        "certs/server.pem": "x", "certs/server.KEY": "x", "id_rsa": "x", "secrets.json": "{}",
        ".env.production": "A=1", ".env.example": "A=", "settings.json":
        f'{{"storage": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey={key}"}}',
        "bus.txt": f"Endpoint=sb://x/;SharedAccessKeyName=n;SharedAccessKey={key[:44]}",
        "deploy/key.txt": f"-----BEGIN OPENSSH PRIVATE KEY-----\n{key}\n",
        "old.key.txt": f"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\n{key}\n",
        "app.py": code,
        "excluded.pem": "x",
    })  # fmt: skip
    plan = plan_package(app, LINUX, "__oryx_packages__", tmp_path / "a.zip",
                        PackageOptions(excludes=("excluded.pem",)))  # fmt: skip
    flagged = {warning.split(" ", 1)[0] for warning in plan.warnings}
    assert flagged == {
        "certs/server.pem", "certs/server.KEY", "id_rsa", "secrets.json", ".env.production",
        "settings.json", "bus.txt", "deploy/key.txt", "old.key.txt",
    }  # fmt: skip
    assert (
        'settings.json looks like a secret (holds "AccountKey=" (an Azure storage key)) and goes '
        "into the package: add it to [tool.vendorer] exclude if it should stay out"
    ) in plan.warnings
    assert all("add it to [tool.vendorer] exclude" in warning for warning in plan.warnings)
    assert not any(key[:20] in warning for warning in plan.warnings)  # never the secret itself
    assert "certs/server.pem" in plan.files  # warned about, not left out


# --- links ----------------------------------------------------------------------------------------


def test_links_go_in_as_their_file_only_when_it_is_inside_and_goes_in(
    tmp_path: Path, dist_dir: Path
) -> None:
    app = tmp_path / "app"
    _vendored(app, dist_dir, "__oryx_packages__")
    outside = tmp_path / "outside"
    _write(outside, {"id_rsa": "PRIVATE", "dir/x": ""})
    _write(app, {"real.py": "print('real')\n", ".env": "SECRET=1\n", "folder/a.py": ""})
    (app / "alias.py").symlink_to("real.py")
    (app / "folder" / "up.py").symlink_to("../real.py")
    (app / "key").symlink_to(outside / "id_rsa")
    (app / "env.txt").symlink_to(".env")
    (app / "shortcut").symlink_to("folder")
    (app / "gone").symlink_to("nothing")
    (app / "out").symlink_to(outside / "dir")
    (app / "x.pyc").symlink_to("real.py")  # left out by its name, as a file would be
    os.mkfifo(app / "pipe")
    plan = plan_package(app, LINUX, "__oryx_packages__", tmp_path / "a.zip")
    assert {"alias.py", "folder/up.py", "real.py"} <= set(plan.files)
    reasons = {e.path: e.reason for e in plan.excluded}
    assert reasons["key"] == f"a link to {outside / 'id_rsa'}, outside the app"
    assert reasons["env.txt"] == "a link to .env, which stays out of the package"
    assert reasons["shortcut"] == "a link to the folder folder (a zip has no links)"
    assert reasons["gone"] == "a link to nothing, which does not exist"
    assert reasons["out"] == f"a link to the folder {outside / 'dir'} (a zip has no links)"
    assert reasons["x.pyc"] == "a cache (bytecode)"
    assert reasons["pipe"] == "not a regular file (a pipe, a socket or a device)"
    assert sorted(plan.warnings) == sorted(
        f"left out {name}: {reasons[name]}"
        for name in ("key", "env.txt", "shortcut", "gone", "out", "pipe")
    )
    report = package_app(app, LINUX, "__oryx_packages__", tmp_path / "a.zip")
    with zipfile.ZipFile(report.plan.output) as archive:
        assert archive.read("alias.py") == b"print('real')\n"
        assert archive.read("folder/up.py") == b"print('real')\n"
        info = archive.getinfo("alias.py")
        assert info.external_attr >> 16 == 0o100644  # a file, not a link


# --- reproducible ---------------------------------------------------------------------------------


def _copy_as_git_checks_out(source: Path, target: Path) -> None:
    """A copy whose files get the modes a checkout gives under the current umask (executable or
    not is all that is kept) and new mtimes."""
    umask = os.umask(0)
    os.umask(umask)
    shutil.copytree(source, target, symlinks=True, copy_function=shutil.copyfile)
    for path in sorted(target.rglob("*")):
        if path.is_file() and not path.is_symlink():
            executable = (source / path.relative_to(target)).stat().st_mode & 0o100
            path.chmod((0o777 if executable else 0o666) & ~umask)


@pytest.mark.usefixtures("restore_umask")
def test_two_packages_of_the_same_app_are_byte_identical(tmp_path: Path, dist_dir: Path) -> None:
    app = tmp_path / "app"
    _vendored(app, dist_dir, "__oryx_packages__")
    _write(app, {"app.py": "app = None\n", "static/site.css": "body {}\n", "b/a.py": "",
                 "a/b.py": "", "é.txt": "unicode name\n"})  # fmt: skip
    (app / "empty").mkdir()
    (app / "link.py").symlink_to("app.py")
    first = package_app(app, LINUX, "__oryx_packages__", tmp_path / "first.zip")
    # Touch every mtime, change the umask, build from a copy in another folder.
    later = time.time() + 3600
    for path in app.rglob("*"):
        os.utime(path, (later, later), follow_symlinks=False)
    os.umask(0o077)
    copy = tmp_path / "elsewhere" / "deeper" / "copy"
    _copy_as_git_checks_out(app, copy)
    assert (copy / "app.py").stat().st_mode & 0o777 == 0o600
    second = package_app(copy, LINUX, "__oryx_packages__", tmp_path / "second.zip")
    assert first.plan.output.read_bytes() == second.plan.output.read_bytes()
    assert (
        first.sha256 == second.sha256 == hashlib.sha256(first.plan.output.read_bytes()).hexdigest()
    )
    assert first.size == second.size == first.plan.output.stat().st_size


def test_entries_are_sorted_with_fixed_modes_and_times_from_their_content(
    tmp_path: Path, dist_dir: Path
) -> None:
    app = tmp_path / "app"
    _vendored(app, dist_dir, "__oryx_packages__")
    _write(app, {"app.py": "one\n", "copy.py": "one\n", "z.py": "two\n"})
    (app / "empty").mkdir()
    report = package_app(app, LINUX, "__oryx_packages__", tmp_path / "a.zip")
    with zipfile.ZipFile(report.plan.output) as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos] == sorted(info.filename for info in infos)
    for info in infos:
        assert info.create_system == 3 and info.extra == b"" and info.comment == b""
        folder = info.filename.endswith("/")
        expected = 0o040755 if folder else 0o100644
        if info.filename == "__oryx_packages__/bin/hello":
            expected = 0o100755  # the launcher stays executable
        assert info.external_attr >> 16 == expected, info.filename
        assert info.compress_type == (zipfile.ZIP_STORED if folder else zipfile.ZIP_DEFLATED)
    times = {info.filename: info.date_time for info in infos}
    assert times["empty/"] == (1980, 1, 1, 0, 0, 0)
    assert times["app.py"] == times["copy.py"] == content_time(hashlib.sha256(b"one\n").digest())
    assert times["z.py"] != times["app.py"]  # a changed file gets another time: KuduSync copies it
    assert all((1980, 1, 1) <= when[:3] < (2020, 1, 1) for when in times.values())
    assert all(when[5] % 2 == 0 for when in times.values())


# --- where it is written --------------------------------------------------------------------------


def test_a_package_written_inside_the_app_never_packs_itself(
    tmp_path: Path, dist_dir: Path
) -> None:
    app = tmp_path / "app"
    _vendored(app, dist_dir, "__oryx_packages__")
    _write(app, {"app.py": ""})
    output = app / "dist" / "app.zip"
    output.parent.mkdir()
    first = package_app(app, LINUX, "__oryx_packages__", output)
    (output.parent / ".app.zip.0123abcd.tmp").write_bytes(b"a stopped run's")
    second = package_app(app, LINUX, "__oryx_packages__", output)
    assert first.sha256 == second.sha256
    reasons = {e.path: e.reason for e in second.plan.excluded}
    assert reasons["dist/app.zip"] == "the package itself"
    assert (
        reasons["dist/.app.zip.0123abcd.tmp"] == "a partial package (from a run that was stopped)"
    )
    assert sorted(p.name for p in output.parent.iterdir()) == [".app.zip.0123abcd.tmp", "app.zip"]


def test_a_write_that_fails_says_so_and_writes_nothing(tmp_path: Path, dist_dir: Path) -> None:
    app = tmp_path / "app"
    _vendored(app, dist_dir, "__oryx_packages__")
    with pytest.raises(VendorerError, match=r"cannot write .*missing/a\.zip: No such file"):
        package_app(app, LINUX, "__oryx_packages__", tmp_path / "missing" / "a.zip")
    assert not (tmp_path / "missing").exists()


def test_a_package_needs_a_lib_folder_vendored_for_its_profile(
    tmp_path: Path, dist_dir: Path
) -> None:
    app = tmp_path / "app"
    _write(app, {"app.py": ""})
    with pytest.raises(VendorerError, match=r"__oryx_packages__ holds no vendored libraries .*"
                       r"run `vendorer build --profile linux-python311` first"):  # fmt: skip
        package_app(app, LINUX, "__oryx_packages__", tmp_path / "a.zip")
    _vendored(app, dist_dir, "__oryx_packages__", "linux-python312")
    with pytest.raises(
        VendorerError, match="was vendored for linux-python312, not linux-python311"
    ):
        package_app(app, LINUX, "__oryx_packages__", tmp_path / "a.zip")
    assert not (tmp_path / "a.zip").exists()


def test_a_lib_folder_other_than_oryx_packages_gets_its_pythonpath_note(
    tmp_path: Path, dist_dir: Path
) -> None:
    app = tmp_path / "app"
    _vendored(app, dist_dir, "vendored")
    plan = plan_package(app, LINUX, "vendored", tmp_path / "a.zip")
    assert plan.notes == (
        "on the server, set the app setting PYTHONPATH=/home/site/wwwroot/vendored",
    )


def test_another_windows_host_needs_no_web_config_but_its_pythonpath(
    tmp_path: Path, dist_dir: Path
) -> None:
    server = dataclasses.replace(WINDOWS.server, wfastcgi=None, site_extension=None)
    host = dataclasses.replace(WINDOWS, name="windows-host", server=server)
    app = tmp_path / "app"
    wheel = make_wheel(dist_dir, "hello", "1.0")
    vendor({canonicalize_name("hello"): wheel}, host, app / "lib", lock_hash="sha256:0")
    plan = plan_package(app, host, "lib", tmp_path / "a.zip")
    assert plan.platform == "other" and "web.config" not in plan.files
    assert plan.notes == ("on the server, put D:\\home\\site\\wwwroot\\lib on PYTHONPATH",)


def test_a_killed_run_leaves_the_previous_package_whole(tmp_path: Path, dist_dir: Path) -> None:
    app = tmp_path / "app"
    _vendored(app, dist_dir, "__oryx_packages__")
    output = tmp_path / "app.zip"
    previous = package_app(app, LINUX, "__oryx_packages__", output).sha256
    (app / "big.bin").write_bytes(os.urandom(64 << 20))  # takes the writer a while to deflate
    script = (
        "import sys; from pathlib import Path; from vendorer.deploy.package import package_app;"
        "from vendorer.target.catalog import ProfileCatalog;"
        "package_app(Path(sys.argv[1]), ProfileCatalog().load('linux-python311'),"
        "'__oryx_packages__', Path(sys.argv[2]))"
    )
    process = subprocess.Popen([sys.executable, "-c", script, str(app), str(output)])
    deadline = time.monotonic() + 60
    while not [p for p in tmp_path.glob(".app.zip.*.tmp") if p.stat().st_size > 1 << 20]:
        assert process.poll() is None and time.monotonic() < deadline, "it ended too soon"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert hashlib.sha256(output.read_bytes()).hexdigest() == previous
    with zipfile.ZipFile(output) as archive:
        assert archive.testzip() is None


def test_lib_files_take_their_times_from_the_hash_cache_only_while_it_holds(
    tmp_path: Path, dist_dir: Path
) -> None:
    app = tmp_path / "app"
    lib = _vendored(app, dist_dir, "__oryx_packages__")
    files = [path for path in lib.rglob("*") if path.is_file()]
    cache = HashCache(hash_cache_path(lib))  # as `check` leaves it
    assert all(cache.sha256(path) for path in files)
    cache.save()
    edited = next(path for path in files if path.suffix == ".py")
    edited.write_text("# edited after the check\n", encoding="utf-8")
    report = package_app(app, LINUX, "__oryx_packages__", tmp_path / "app.zip")
    with zipfile.ZipFile(report.plan.output) as archive:
        times = {info.filename: info.date_time for info in archive.infolist()}
    for path in files:
        name = path.relative_to(app).as_posix()
        assert times[name] == content_time(hashlib.sha256(path.read_bytes()).digest()), name


def test_files_deflated_ahead_go_in_as_the_streamed_ones_would(
    tmp_path: Path, dist_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = tmp_path / "app"
    _vendored(app, dist_dir, "__oryx_packages__")
    noise = random.Random(7)
    _write(app, {"app.py": "app = None\n", "empty.txt": ""})
    (app / "big.bin").write_bytes(noise.randbytes(3 << 20))  # one of the biggest, deflated first
    (app / "text.txt").write_text("vendorer\n" * 300_000)  # 2.7 MB that deflates well
    ahead = package_app(app, LINUX, "__oryx_packages__", tmp_path / "ahead.zip")
    monkeypatch.setattr(package_zip, "AHEAD_BYTES", -1)  # every file streamed in turn
    streamed = package_app(app, LINUX, "__oryx_packages__", tmp_path / "streamed.zip")
    assert ahead.plan.output.read_bytes() == streamed.plan.output.read_bytes()
    with zipfile.ZipFile(ahead.plan.output) as archive:
        assert archive.testzip() is None
        assert archive.read("big.bin") == (app / "big.bin").read_bytes()
        info = archive.getinfo("text.txt")
        assert info.compress_type == zipfile.ZIP_DEFLATED and info.compress_size < 100_000
