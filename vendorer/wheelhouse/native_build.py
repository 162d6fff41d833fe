"""`--native cibuildwheel`: build the native sdists' wheels here, in a manylinux container.

Only for Linux targets: cibuildwheel runs the target's CPython inside a manylinux image (docker or
podman) and `auditwheel` tags the result with the oldest glibc it needs. The container builds from
the lock's indexes: vendorer passes them in as `PIP_*` variables, with local paths seen through
cibuildwheel's `/host` mount, and gives the container the host's network so that an index on
loopback or behind the host's VPN answers there too. A user's own `CIBW_CONTAINER_ENGINE` and
`CIBW_MANYLINUX_<ARCH>_IMAGE` win over vendorer's choices.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from packaging.utils import parse_sdist_filename

from vendorer._util.tail import output_tail
from vendorer._util.urls import file_url_path
from vendorer.errors import UsageError, VendorerError
from vendorer.inputs.options import IndexSettings
from vendorer.report import DOWNLOAD, NULL_REPORTER, Reporter
from vendorer.target.profile import Profile
from vendorer.wheelhouse.native_plan import cibuildwheel_identifier, manylinux_image

__all__ = ["CibuildwheelError", "build_with_cibuildwheel", "container_engine"]

HOST_MOUNT = "/host"  # where cibuildwheel mounts the host's root inside the container


class CibuildwheelError(VendorerError):
    """cibuildwheel could not build a wheel."""


def container_engine() -> str | None:
    """The container engine that answers (`docker info` / `podman info`), if any.

    The engine named in CIBW_CONTAINER_ENGINE is the only one asked when it is set.
    """
    chosen = _chosen_engine()
    for engine in [chosen] if chosen else ["docker", "podman"]:
        if shutil.which(engine) is None:
            continue
        try:
            answered = subprocess.run(
                [engine, "info"], capture_output=True, timeout=30, check=False
            ).returncode
        except (OSError, subprocess.TimeoutExpired):
            continue
        if answered == 0:
            return engine
    return None


def _chosen_engine() -> str:
    """The engine the user named in CIBW_CONTAINER_ENGINE ("docker; create_args: ..."), or ""."""
    return os.environ.get("CIBW_CONTAINER_ENGINE", "").partition(";")[0].strip()


def build_with_cibuildwheel(
    profile: Profile,
    sdists: Sequence[Path],
    output: Path,
    indexes: IndexSettings,
    reporter: Reporter = NULL_REPORTER,
) -> list[str]:
    """Build a wheel for `profile` from each sdist into `output`; each build, as it starts, is
    DOWNLOAD progress for `reporter`.

    A failed build does not stop the others: the failures come back, each a message with
    cibuildwheel's last lines and the commands that reproduce it.
    """
    if profile.markers["sys_platform"] != "linux":
        raise UsageError(
            f"{profile.name}: cibuildwheel builds {profile.tags[0].platform} wheels only on a "
            f"machine of that kind; run `vendorer native-plan --profile {profile.name}` for CI"
        )
    if importlib.util.find_spec("cibuildwheel") is None:
        raise UsageError("cibuildwheel is not installed: pip install 'vendorer[native]'")
    engine = container_engine()
    if engine is None:
        wanted = _chosen_engine() or "docker or podman"
        raise VendorerError(
            f"--native cibuildwheel needs a running container engine ({wanted}) for the "
            "manylinux images, and none answered; start one, or use `vendorer native-plan`"
        )
    settings = cibuildwheel_settings(profile, engine, os.environ)
    environ = {**_without_pip_indexes(os.environ), **settings}
    environ.update(_seen_from_container(indexes).environ())
    environ["CIBW_ENVIRONMENT_PASS_LINUX"] = " ".join(
        key for key in _PIP_INDEX_KEYS if key in environ
    )
    failures = []
    for sdist in sdists:
        reporter.advanced(DOWNLOAD, item=f"{sdist.name} (cibuildwheel)")
        command = [sys.executable, "-m", "cibuildwheel", "--platform", "linux",
                   "--output-dir", str(output), str(sdist)]  # fmt: skip
        result = subprocess.run(
            command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            check=False,
        )  # fmt: skip
        if result.returncode != 0:
            tail = output_tail(result.stdout)
            assignments = " ".join(f"{key}={shlex.quote(value)}" for key, value in settings.items())
            name, version = parse_sdist_filename(sdist.name)
            failures.append(
                f"cibuildwheel failed to build {sdist.name} for {profile.name}:\n{tail}\n"
                "reproduce it with: python -m pip download --no-deps --no-binary :all: "
                f"{name}=={version} && {assignments} python -m cibuildwheel --platform linux "
                f"{sdist.name}"
            )
    return failures


def cibuildwheel_settings(
    profile: Profile, engine: str, environ: Mapping[str, str]
) -> dict[str, str]:
    """The CIBW_* variables for this target; the user's engine and image settings are kept."""
    arch = profile.markers["platform_machine"]
    settings = {
        "CIBW_BUILD": cibuildwheel_identifier(profile),
        "CIBW_ARCHS_LINUX": arch,
        "CIBW_TEST_SKIP": "*",
        "CIBW_CONTAINER_ENGINE": environ.get(
            "CIBW_CONTAINER_ENGINE", f"{engine}; create_args: --network=host"
        ),
    }
    image_key = f"CIBW_MANYLINUX_{arch.upper()}_IMAGE"
    image = environ.get(image_key) or manylinux_image(profile)
    if image:
        settings[image_key] = image
    return settings


_PIP_INDEX_KEYS = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX")


def _without_pip_indexes(environ: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in environ.items() if key not in _PIP_INDEX_KEYS}


def _seen_from_container(indexes: IndexSettings) -> IndexSettings:
    """The lock's indexes as pip sees them inside the container (local paths under /host)."""
    return dataclasses.replace(
        indexes,
        index_url=indexes.index_url and _in_container(indexes.index_url),
        extra_index_urls=tuple(_in_container(url) for url in indexes.extra_index_urls),
        find_links=tuple(_in_container(link) for link in indexes.find_links),
    )


def _in_container(location: str) -> str:
    """A URL, or a local folder as the container sees it (a file: URL under /host)."""
    if "://" in location and urlsplit(location).scheme != "file":
        return location
    local = file_url_path(location) if "://" in location else Path(location).resolve()
    return (Path(HOST_MOUNT) / local.relative_to("/")).as_uri()
