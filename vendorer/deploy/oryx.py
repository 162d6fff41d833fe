"""What Oryx's startup script runs on App Service on Linux when the site has no startup command,
and the startup command to set when that would not be the app.

From microsoft/Oryx `src/startupscriptgenerator/src/python` (`frameworks.go` DetectFramework,
`scriptgenerator.go` GenerateEntrypointScript, buildGunicornCommandForModule), read at d91d836.
Without a startup command Oryx looks, in this order, for
- Django: the first top-level folder, in name order, other than the virtual environment
  (`antenv`), that holds `wsgi.py`: `gunicorn <folder>.wsgi` (gunicorn takes its `application`);
- FastAPI, on Python 3.14 and later only (unless `PYTHON_DISABLE_FASTAPI_DETECTION`): the first of
  `main.py app.py application.py server.py asgi.py api.py index.py run.py` that mentions
  `from fastapi` or `import fastapi` and not `from flask`: `gunicorn -k
  uvicorn_worker.UvicornWorker <module>:app`;
- Flask-style: the first of `application.py app.py run.py index.py server.py wsgi.py`:
  `gunicorn <module>:app`;
and otherwise serves its default page. gunicorn comes with the App Service images. A startup
command, when set, is run as it is (Oryx only puts the app folder on PATH).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from packaging.version import Version

from vendorer._util.files import read_bounded
from vendorer.errors import UsageError

__all__ = [
    "FLASK_FILES",
    "OryxApp",
    "WsgiHandler",
    "detect_app",
    "detect_in",
    "parse_wsgi_handler",
    "startup_command",
]

VENV_NAME: Final = "antenv"  # App Service starts Oryx with -virtualEnvName antenv
DJANGO_ATTRIBUTE: Final = "application"  # gunicorn's default for `module` without `:name`
FLASK_FILES: Final = ("application.py", "app.py", "run.py", "index.py", "server.py", "wsgi.py")
FASTAPI_FILES: Final = (
    "main.py",
    "app.py",
    "application.py",
    "server.py",
    "asgi.py",
    "api.py",
    "index.py",
    "run.py",
)
FASTAPI_SINCE: Final = Version("3.14")
UVICORN_WORKER: Final = "uvicorn_worker.UvicornWorker"
_WSGI_HANDLER: Final = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+(\(\))?$")


@dataclass(frozen=True, slots=True, kw_only=True)
class WsgiHandler:
    """`module.attr`, or `module.func()` (a factory gunicorn calls)."""

    module: str
    attribute: str
    factory: bool = False

    @property
    def gunicorn_argument(self) -> str:
        return f"{self.module}:{self.attribute}{'()' if self.factory else ''}"


@dataclass(frozen=True, slots=True, kw_only=True)
class OryxApp:
    """What Oryx found and what it runs."""

    framework: Literal["Django", "FastAPI", "Flask"]
    found: str  # the file that decided it, relative to the app: "app.py", "mysite/wsgi.py"
    module: str  # gunicorn's argument: "app:app", "mysite.wsgi"
    worker: str | None = None  # FastAPI: "uvicorn_worker.UvicornWorker"

    @property
    def command(self) -> str:
        worker = f"-k {self.worker} " if self.worker else ""
        return f"gunicorn {worker}{self.module}"

    def serves(self, handler: WsgiHandler) -> bool:
        """Whether Oryx's command runs exactly `handler`."""
        module, _, attribute = self.module.partition(":")
        return (
            self.worker is None
            and not handler.factory
            and (module, attribute or DJANGO_ATTRIBUTE) == (handler.module, handler.attribute)
        )


def parse_wsgi_handler(text: str, option: str = "--wsgi-handler") -> WsgiHandler:
    """`module.attr` or `module.func()`, or a UsageError that says what is expected."""
    if not _WSGI_HANDLER.match(text):
        raise UsageError(
            f"{option} {text!r} is not module.attribute or module.function() (for example "
            "app.wsgi_app)"
        )
    dotted = text.removesuffix("()")
    module, _, attribute = dotted.rpartition(".")
    return WsgiHandler(module=module, attribute=attribute, factory=text.endswith("()"))


def startup_command(handler: WsgiHandler) -> str:
    """The startup command that serves `handler` with the image's gunicorn, as Microsoft's docs
    write it (App Service's 600 s timeout, as Oryx sets it; the quotes keep `()` from the shell)."""
    return f'gunicorn --bind=0.0.0.0 --timeout 600 "{handler.gunicorn_argument}"'


def detect_app(app: Path, python: Version) -> OryxApp | None:
    """What Oryx would run for the app folder `app` (its wwwroot) on Python `python`; None: its
    default page."""
    try:
        folders = [entry.name for entry in app.iterdir() if entry.is_dir()]
    except OSError:
        folders = []
    files = [f"{name}/wsgi.py" for name in folders if (app / name / "wsgi.py").is_file()]
    files += [name for name in (*FLASK_FILES, *FASTAPI_FILES) if (app / name).is_file()]
    return detect_in(files, python, read=lambda name: _text(app / name))


def detect_in(
    files: Collection[str],
    python: Version | None,
    read: Callable[[str], str] | None = None,
) -> OryxApp | None:
    """What Oryx would run for an app of these files (paths relative to wwwroot, forward
    slashes) on Python `python` (None: unknown, so no FastAPI detection). FastAPI is told from a
    file's text, which `read` gives; without it, a file of FastAPI's list counts as FastAPI."""
    django = sorted(  # Go's ReadDir order: by name, byte for byte
        name.split("/")[0]
        for name in files
        if name.count("/") == 1
        and name.endswith("/wsgi.py")
        and not name.startswith(f"{VENV_NAME}/")
    )
    if django:
        return OryxApp(framework="Django", found=f"{django[0]}/wsgi.py", module=f"{django[0]}.wsgi")
    top = {name for name in files if "/" not in name}
    if python is not None and python >= FASTAPI_SINCE:
        for name in FASTAPI_FILES:
            if name in top and (read is None or _is_fastapi(read(name))):
                module = f"{name.removesuffix('.py')}:app"
                return OryxApp(
                    framework="FastAPI", found=name, module=module, worker=UVICORN_WORKER
                )
    for name in FLASK_FILES:
        if name in top:
            return OryxApp(framework="Flask", found=name, module=f"{name.removesuffix('.py')}:app")
    return None


def _is_fastapi(text: str) -> bool:
    return ("from fastapi" in text or "import fastapi" in text) and "from flask" not in text


def _text(path: Path) -> str:
    try:
        return read_bounded(path).decode("utf-8", errors="replace")
    except OSError:
        return ""
