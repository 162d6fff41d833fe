"""Starting an unpacked package the way its platform does, on a real interpreter.

- App Service on Linux (Oryx's startup script, `scriptgenerator.go`): with no `antenv` in
  wwwroot, `$HOME/.local/lib/pythonX.Y/site-packages/oryx.pth` holds the path of
  `wwwroot/__oryx_packages__` (the user site must be on: a base interpreter, not a venv),
  `__oryx_packages__/bin` goes first on PATH, and gunicorn from the image serves the app with
  `GUNICORN_CMD_ARGS="--timeout 600 --access-logfile '-' --error-logfile '-' --bind=... --chdir=
  <wwwroot>" gunicorn app:app`. The image here is a folder where `installer` put a real gunicorn
  wheel; only that folder is on PYTHONPATH.
- Azure Functions (the Python worker, v2 model): PYTHONPATH is
  `wwwroot/.python_packages/lib/site-packages` (the worker replaces any other), the function app
  folder goes on sys.path, `function_app` is imported and its one FunctionApp indexed; an HTTP
  function is called with an `azure.functions.HttpRequest`.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.sources import WheelFile

from tests.support.index import free_port

__all__ = [
    "Answer",
    "Served",
    "base_python",
    "call_function",
    "get",
    "install_image",
    "oryx_gunicorn",
]

SCHEME_KEYS = ("purelib", "platlib", "scripts", "data", "headers")


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: str


@dataclass(frozen=True, slots=True)
class Served:
    """A server started for a test: where it listens, its process and its log."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path


def base_python(minor: tuple[int, int]) -> str | None:
    """A base (non-venv) CPython of version `minor`, with its user site available; or None."""
    base = getattr(sys, "_base_executable", sys.executable)
    if sys.version_info[:2] == minor and Path(base).exists():
        return str(base)
    return shutil.which(f"python{minor[0]}.{minor[1]}")


def install_image(wheels: list[Path], image: Path, python: str) -> Path:
    """Install `wheels` into `image` as a platform image holds them; its site-packages folder."""
    site = image / "site-packages"
    paths = {key: str(image / key) for key in SCHEME_KEYS} | {"purelib": str(site)}
    paths["platlib"] = str(site)
    paths["scripts"] = str(image / "bin")
    for wheel in wheels:
        with WheelFile.open(wheel) as source:
            source.validate_record()  # the repacked wheel's RECORD must be right
            destination = SchemeDictionaryDestination(
                paths, interpreter=python, script_kind="posix"
            )
            install(source, destination, {})
    return site


def _clean_environment(home: Path) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PYTHON") and key not in {"VIRTUAL_ENV"}
    }
    environment["HOME"] = str(home)
    return environment


@contextlib.contextmanager
def oryx_gunicorn(wwwroot: Path, python: str, image: Path, home: Path) -> Iterator[Served]:
    """gunicorn serving `wwwroot` as Oryx starts it, stopped after."""
    version = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    packages = wwwroot / "__oryx_packages__"
    user_site = home / ".local" / "lib" / f"python{version}" / "site-packages"
    user_site.mkdir(parents=True, exist_ok=True)
    if packages.is_dir():
        (user_site / "oryx.pth").write_text(f"{packages}\n", encoding="utf-8")
    port = free_port()
    environment = _clean_environment(home)
    environment["PATH"] = os.pathsep.join(
        [str(packages / "bin"), str(image / "bin"), environment.get("PATH", "")]
    )
    environment["PYTHONPATH"] = str(image / "site-packages")
    environment["GUNICORN_CMD_ARGS"] = (
        f"--timeout 600 --access-logfile '-' --error-logfile '-' "
        f"--bind=127.0.0.1:{port} --chdir={wwwroot}"
    )
    log_path = home / "gunicorn.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(image / "bin" / "gunicorn"), "app:app"],
            env=environment, cwd=home, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            yield Served(port, process, log_path)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def get(server: Served, path: str = "/", *, deadline: float = 30.0) -> Answer:
    """GET `path` from `server`, which may still be starting; fails when it ends first."""
    end = time.monotonic() + deadline
    while True:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return Answer(response.status, response.read().decode("utf-8", "replace"))
        except OSError:
            if server.process.poll() is not None or time.monotonic() > end:
                log = server.log.read_text(errors="replace")
                raise AssertionError(f"nothing answered on port {server.port}:\n{log}") from None
            time.sleep(0.1)
        finally:
            connection.close()


# What the worker does for an HTTP call, in the interpreter the worker runs.
_WORKER = """
import importlib, json, sys
wwwroot = sys.argv[1]
sys.path.insert(0, wwwroot)
import azure.functions as func
module = importlib.import_module("function_app")
apps = [value for value in vars(module).values() if isinstance(value, func.FunctionRegister)]
assert len(apps) == 1, apps
for function in apps[0].get_functions():
    if any(binding.type == "httpTrigger" for binding in function.get_bindings()):
        break
request = func.HttpRequest(method="GET", url="/api/" + sys.argv[2], params={}, body=b"")
response = function.get_user_function()(request)
print(json.dumps({"status": response.status_code, "body": response.get_body().decode(),
                  "azure_functions": func.__file__, "path": sys.path}))
"""


def call_function(wwwroot: Path, python: str, route: str, home: Path) -> dict[str, object]:
    """Import `wwwroot/function_app.py` as the Functions worker does and call its HTTP function."""
    environment = _clean_environment(home)
    environment["PYTHONPATH"] = str(wwwroot / ".python_packages" / "lib" / "site-packages")
    environment["PYTHONNOUSERSITE"] = "1"
    done = subprocess.run(
        [python, "-c", _WORKER, str(wwwroot), route],
        env=environment, cwd=home, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer
