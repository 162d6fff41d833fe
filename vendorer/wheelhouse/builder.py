"""sdist to wheel (or to metadata) with `build`, in an isolated environment; whether the wheel
fits the target.

The build environment gets its build requirements from the same indexes the lock uses. What the
backend and pip print (their output, the warnings the backend raises, build's own log) is kept, not
shown: a step that fails comes back as a BuildError with its last lines, and a reporter that
wants tool output (vendorer's `-v`) gets every line as it comes. A failing backend hook is
reported as the backend's failure, with the command that reproduces it; a failing install of build
requirements as an index problem.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
import tarfile
import tempfile
import warnings
import zipfile
from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from build import BuildBackendException, BuildException, FailedProcessError, ProjectBuilder
from build.env import DefaultIsolatedEnv
from packaging.metadata import Metadata
from packaging.utils import parse_wheel_filename

from vendorer._util.tail import TAIL_LINES, output_tail
from vendorer.errors import VendorerError
from vendorer.inputs.options import IndexSettings
from vendorer.report import NULL_REPORTER, Reporter
from vendorer.target.profile import Profile

try:  # build's log and verbosity (how it shows pip's output): private, so only if it is there
    from build import _ctx as build_context
except ImportError:  # pragma: no cover - an older or newer build: -v then shows the hooks only
    build_context = None  # type: ignore[assignment]

__all__ = [
    "BuildError",
    "build_metadata",
    "build_wheel",
    "unusable_reason",
]

_Echo = Callable[[str], None] | None  # where each line the backend or pip prints goes, if anywhere
_T = TypeVar("_T")


class BuildError(VendorerError):
    """A PEP 517 backend failed to build an sdist."""


def build_wheel(
    sdist: Path, output_dir: Path, indexes: IndexSettings, *, reporter: Reporter = NULL_REPORTER
) -> Path:
    """Build a wheel from `sdist` into `output_dir`; returns the wheel's path."""
    echo = _echo(reporter)
    with _unpacked(sdist) as source, _builder(source, sdist, indexes, echo) as builder:
        output_dir.mkdir(parents=True, exist_ok=True)
        built = _hook(sdist, "building its wheel", echo, lambda: builder.build("wheel", output_dir))
        return Path(built)


def unusable_reason(wheel: Path, profile: Profile) -> str:
    """Why a wheel built here cannot go to the target ("" when it can): the host compiled code
    into it, or its tags are none of the profile's."""
    tags = parse_wheel_filename(wheel.name)[3]
    if not all(tag.platform == "any" for tag in tags):
        return f"it compiles code (the host built {wheel.name})"
    if not tags & frozenset(profile.tags):
        return f"its wheel {wheel.name} does not fit {profile.tags[0]}"
    return ""


def build_metadata(
    sdist: Path, indexes: IndexSettings, *, reporter: Reporter = NULL_REPORTER
) -> Metadata:
    """The core metadata the backend reports for `sdist` (PEP 517 prepare_metadata hook)."""
    echo = _echo(reporter)
    with (
        _unpacked(sdist) as source,
        _builder(source, sdist, indexes, echo) as builder,
        tempfile.TemporaryDirectory(prefix="vendorer-metadata-") as output,
    ):
        step = "preparing its metadata"
        path = Path(_hook(sdist, step, echo, lambda: builder.metadata_path(output)))
        return Metadata.from_email((path / "METADATA").read_bytes(), validate=False)


def _echo(reporter: Reporter) -> _Echo:
    """The reporter's `output`, if it shows tool output: otherwise nothing is gathered for it."""
    return reporter.output if reporter.wants_output else None


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
def _builder(
    source: Path, sdist: Path, indexes: IndexSettings, echo: _Echo
) -> Iterator[ProjectBuilder]:
    """A ProjectBuilder in a fresh isolated environment holding every build requirement."""
    runner = _HookRunner(echo)
    with _environ(indexes.environ()), _build_log(echo), _isolated_env(sdist, echo) as env:
        builder = _hook(
            sdist,
            "reading its build system",
            echo,
            lambda: ProjectBuilder.from_isolated_env(env, source, runner=runner),
        )
        _install(env, sdist, builder.build_system_requires, echo)
        dynamic = _hook(
            sdist,
            "listing its build requirements",
            echo,
            lambda: builder.get_requires_for_build("wheel"),
        )
        _install(env, sdist, dynamic, echo)
        yield builder


@contextlib.contextmanager
def _isolated_env(sdist: Path, echo: _Echo) -> Iterator[DefaultIsolatedEnv]:
    with contextlib.ExitStack() as stack:
        try:
            with _warnings_to(echo):
                env = stack.enter_context(DefaultIsolatedEnv())
        except (BuildException, FailedProcessError, subprocess.CalledProcessError) as error:
            raise BuildError(
                f"cannot create an isolated environment to build {sdist.name}: {error}"
                + _tail_block(error)
            ) from None
        yield env


def _hook(sdist: Path, step: str, echo: _Echo, call: Callable[[], _T]) -> _T:
    """Run one call into the backend; its failure becomes the backend's BuildError."""
    try:
        with _warnings_to(echo):
            return call()
    except BuildBackendException as error:
        raise BuildError(_backend_failure(sdist, step, error)) from None
    except BuildException as error:  # e.g. a pyproject.toml build cannot read
        raise BuildError(f"{sdist.name} cannot be built: {step} failed: {error}") from None


def _install(
    env: DefaultIsolatedEnv, sdist: Path, requirements: Collection[str], echo: _Echo
) -> None:
    """Install build requirements with pip; a failure here is about the indexes."""
    if not requirements:
        return
    try:
        with _warnings_to(echo):
            env.install(requirements)
    except (subprocess.CalledProcessError, BuildException) as error:
        raise BuildError(
            f"cannot install the build requirements of {sdist.name} "
            f"({', '.join(sorted(requirements))}): check --index-url / --find-links"
            + _tail_block(error)
        ) from None


def _backend_failure(sdist: Path, step: str, error: BuildBackendException) -> str:
    inner = error.exception
    if isinstance(inner, subprocess.CalledProcessError):
        cause = f"it exited with status {inner.returncode}"
    else:
        cause = str(error)
    command = f"{shlex.quote(sys.executable)} -m build --wheel"
    return (
        f"the build backend of {sdist.name} failed while {step}: {cause}"
        + _tail_block(error)
        + f"\nreproduce with: tar xf {shlex.quote(str(sdist))} && cd <folder> && {command}"
    )


def _tail_block(error: BaseException) -> str:
    tail = output_tail(_printed(error))
    return f"\nlast lines of its output:\n{tail}" if tail else ""


def _printed(error: BaseException) -> str:
    """What a failed subprocess printed (stdout, then stderr)."""
    inner = getattr(error, "exception", error)
    streams = [getattr(inner, "output", None), getattr(inner, "stderr", None)]
    return "\n".join(
        stream.decode("utf-8", "replace") if isinstance(stream, bytes) else stream
        for stream in streams
        if stream
    )


class _HookRunner:
    """Runs a backend hook (build's `runner=`): its stdout and stderr, merged, go to `echo` as
    they come and are otherwise dropped; the last lines ride on the error when it fails."""

    def __init__(self, echo: _Echo) -> None:
        self.echo = echo

    def __call__(
        self,
        cmd: Sequence[str],
        cwd: str | None = None,
        extra_environ: Mapping[str, str] | None = None,
    ) -> None:
        environ = {**os.environ, **(extra_environ or {})}
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        with subprocess.Popen(
            cmd,
            cwd=cwd,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            encoding="utf-8",
            errors="replace",
        ) as process:
            assert process.stdout is not None
            for line in process.stdout:
                tail.append(line.rstrip("\n"))
                if self.echo is not None:
                    self.echo(tail[-1])
        if process.returncode:
            raise subprocess.CalledProcessError(process.returncode, cmd, output="\n".join(tail))


@contextlib.contextmanager
def _warnings_to(echo: _Echo) -> Iterator[None]:
    """Warnings raised meanwhile (the backend's, which pyproject_hooks raises again in this
    process, and build's own) go to `echo` instead of the console."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            if echo is not None:
                for warning in caught:
                    echo(f"{warning.category.__name__}: {warning.message}")


@contextlib.contextmanager
def _build_log(echo: _Echo) -> Iterator[None]:
    """With `echo`, build's steps and the output of the pip it runs go there too."""
    if echo is None or build_context is None:
        yield
        return

    def log(message: str, *, kind: tuple[str, ...] | None = None) -> None:
        for line in message.rstrip("\n").splitlines():
            echo(line)

    logger = build_context.LOGGER.set(log)
    verbosity = build_context.VERBOSITY.set(1)
    try:
        yield
    finally:
        build_context.VERBOSITY.reset(verbosity)
        build_context.LOGGER.reset(logger)


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
