"""sdist to wheel (or to metadata) with `build`, in an isolated environment.

The build environment gets its build requirements from the same indexes the lock uses. Backend
failures come back as a BuildError that shows the last lines of the backend's output and the
command that reproduces the failure.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from build import BuildBackendException, BuildException, ProjectBuilder
from build.env import DefaultIsolatedEnv
from packaging.metadata import Metadata

from vendorer.errors import VendorerError
from vendorer.inputs import BuildIndexes

__all__ = ["BuildError", "BuildIndexes", "build_metadata", "build_wheel"]

TAIL_LINES = 15


class BuildError(VendorerError):
    """A PEP 517 backend failed to build an sdist."""


def build_wheel(sdist: Path, output_dir: Path, indexes: BuildIndexes) -> Path:
    """Build a wheel from `sdist` into `output_dir`; returns the wheel's path."""
    with _unpacked(sdist) as source, _builder(source, sdist, indexes) as builder:
        output_dir.mkdir(parents=True, exist_ok=True)
        return Path(_run(sdist, "wheel", lambda: builder.build("wheel", output_dir)))


def build_metadata(sdist: Path, indexes: BuildIndexes) -> Metadata:
    """The core metadata the backend reports for `sdist` (PEP 517 prepare_metadata hook)."""
    with (
        _unpacked(sdist) as source,
        _builder(source, sdist, indexes) as builder,
        tempfile.TemporaryDirectory(prefix="vendorer-metadata-") as output,
    ):
        path = Path(_run(sdist, "metadata", lambda: builder.metadata_path(output)))
        return Metadata.from_email((path / "METADATA").read_bytes(), validate=False)


def _run(sdist: Path, what: str, step: Callable[[], str]) -> str:
    try:
        return step()
    except BuildBackendException as error:
        raise BuildError(_failure(sdist, what, error)) from None
    except (BuildException, subprocess.CalledProcessError, OSError) as error:
        raise BuildError(f"building {what} for {sdist.name} failed: {error}") from None


def _failure(sdist: Path, what: str, error: BuildBackendException) -> str:
    tail = _output_tail(error)
    command = f"{shlex.quote(sys.executable)} -m build --{'wheel' if what == 'wheel' else 'sdist'}"
    return (
        f"the build backend failed to build {what} for {sdist.name}: {error.exception}\n"
        + (f"last lines of its output:\n{tail}\n" if tail else "")
        + f"reproduce with: tar xf {shlex.quote(str(sdist))} && cd <folder> && {command}"
    )


@contextlib.contextmanager
def _unpacked(sdist: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="vendorer-sdist-") as folder:
        try:
            if sdist.name.endswith(".zip"):
                with zipfile.ZipFile(sdist) as archive:
                    archive.extractall(folder)
            else:
                with tarfile.open(sdist) as archive:
                    archive.extractall(folder, filter="data")
        except (tarfile.TarError, zipfile.BadZipFile, OSError) as error:
            raise BuildError(f"{sdist.name} is not a readable sdist: {error}") from None
        entries = list(Path(folder).iterdir())
        yield entries[0] if len(entries) == 1 and entries[0].is_dir() else Path(folder)


@contextlib.contextmanager
def _builder(source: Path, sdist: Path, indexes: BuildIndexes) -> Iterator[ProjectBuilder]:
    with _environ(indexes.environ()), DefaultIsolatedEnv() as env:
        builder = ProjectBuilder.from_isolated_env(env, source, runner=_captured_runner)
        requires = builder.build_system_requires
        try:
            env.install(requires)
            env.install(builder.get_requires_for_build("wheel"))
        except (BuildBackendException, BuildException, subprocess.CalledProcessError) as error:
            detail = _output_tail(error)
            raise BuildError(
                f"cannot install the build requirements of {sdist.name} "
                f"({', '.join(sorted(requires)) or 'none'}): check --index-url / --find-links"
                + (f"\n{detail}" if detail else "")
            ) from None
        yield builder


def _output_tail(error: BaseException) -> str:
    """The last lines a failed subprocess printed, indented for an error message."""
    inner = getattr(error, "exception", error)
    output = getattr(inner, "output", None) or getattr(inner, "stderr", None)
    text = output.decode("utf-8", "replace") if isinstance(output, bytes) else str(output or "")
    return "\n".join(f"  | {line}" for line in text.strip().splitlines()[-TAIL_LINES:])


def _captured_runner(
    cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None
) -> None:
    """Run a backend hook; its output is kept for the error message instead of printed."""
    environ = {**os.environ, **(extra_environ or {})}
    subprocess.run(cmd, cwd=cwd, env=environ, check=True, capture_output=True)


@contextlib.contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
