"""`vendorer native-plan`: a cibuildwheel configuration and a CI workflow for the native sdists.

The target has no compiler, so a locked sdist that compiles code needs a wheel built on a machine
of the target's kind. cibuildwheel does that on CI runners; this module renders what it needs from
the profile (`CIBW_BUILD` such as `cp36-win_amd64`) as text, and the caller decides where it goes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import parse_wheel_filename

from vendorer.errors import UsageError
from vendorer.lock.pylock import Lock, LockedPackage
from vendorer.target.profile import Profile
from vendorer.wheelhouse.contents import locked_wheels

__all__ = [
    "NativePlan",
    "cibuildwheel_identifier",
    "manylinux_image",
    "plan_for",
    "sdists_without_wheel",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class NativePlan:
    config_path: str
    config: str
    workflow_path: str
    workflow: str


def sdists_without_wheel(lock: Lock, folder: Path, profile: Profile) -> list[LockedPackage]:
    """The locked sdists that `folder` (the profile's wheelhouse) has no wheel for: a wheel of
    the same name and version, as the wheelhouse matches them, with a tag the target takes."""
    wheels = locked_wheels(lock, folder)
    supported = frozenset(profile.tags)

    def has_wheel(package: LockedPackage) -> bool:
        wheel = wheels.get(package.name)
        return wheel is not None and bool(parse_wheel_filename(wheel.name)[3] & supported)

    return [package for package in lock.packages if package.needs_build and not has_wheel(package)]


def cibuildwheel_identifier(profile: Profile) -> str:
    """cibuildwheel's build identifier: `cp36-win_amd64`, `cp312-manylinux_x86_64`."""
    version = profile.python.version
    interpreter = f"cp{version.major}{version.minor}"
    platform = profile.python.platforms[0] if profile.python.platforms else profile.tags[0].platform
    if platform in {"win_amd64", "win32", "win_arm64"}:
        return f"{interpreter}-{platform}"
    if profile.markers["sys_platform"] == "linux":
        return f"{interpreter}-manylinux_{profile.markers['platform_machine']}"
    raise UsageError(f"{profile.name}: no cibuildwheel build identifier for {platform}")


def _cibuildwheel_requirement(profile: Profile) -> str:
    """The newest cibuildwheel series that still builds for the target's Python."""
    version = profile.python.version
    if version.major == 2 or version.minor == 5:
        return "cibuildwheel<2"  # 2.0 dropped CPython 2.7 and 3.5
    if version.minor < 8:
        return "cibuildwheel<3"  # 3.0 dropped CPython 3.6 and 3.7
    return "cibuildwheel"


def manylinux_image(profile: Profile) -> str | None:
    """The newest manylinux image whose glibc the target has (manylinux_2_28 or 2014)."""
    levels = [
        (int(match[1]), int(match[2]))
        for tag in profile.tags
        if (match := re.match(r"manylinux_(\d+)_(\d+)_", tag.platform))
    ]
    if not levels:
        return None
    return "manylinux_2_28" if max(levels) >= (2, 28) else "manylinux2014"


def plan_for(profile: Profile, packages: Sequence[LockedPackage]) -> NativePlan:
    """The configuration and the GitHub Actions workflow that build `packages` for `profile`."""
    if not packages:
        raise UsageError(
            f"the lock for {profile.name} has no sdist that needs a build: nothing to plan"
        )
    identifier = cibuildwheel_identifier(profile)
    image = manylinux_image(profile)
    config_lines = [
        f"# cibuildwheel configuration for the target profile {profile.name}, written by",
        f"# `vendorer native-plan`: CPython {profile.python.version}, {identifier}.",
        "[tool.cibuildwheel]",
        f'build = "{identifier}"',
        'test-skip = "*"',
    ]
    arch = profile.markers["platform_machine"]
    if image:
        config_lines.append(f'manylinux-{arch}-image = "{image}"')
    config_path = f".vendorer/cibuildwheel.{profile.name}.toml"
    pins = [f"{package.name}=={package.version}" for package in packages]
    runner = "windows-latest" if profile.is_windows else "ubuntu-latest"
    workflow = f"""\
# Written by `vendorer native-plan --profile {profile.name}`. Builds wheels for the target's
# CPython {profile.python.version} ({identifier}) from the locked sdists that need a compiler.
# Download the artifact into wheelhouse/{profile.name}/ and run `vendorer build` again.
name: vendorer native wheels ({profile.name})
on: workflow_dispatch
jobs:
  wheels:
    runs-on: {runner}
    strategy:
      fail-fast: false
      matrix:
        sdist: {json.dumps(pins)}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: python -m pip install "{_cibuildwheel_requirement(profile)}"
      - run: python -m pip download --no-deps --no-binary :all: -d sdist "${{{{ matrix.sdist }}}}"
      - shell: bash
        run: python -m cibuildwheel --config-file {config_path} --output-dir wheels sdist/*
      - uses: actions/upload-artifact@v4
        with:
          name: wheels-{profile.name}-${{{{ strategy.job-index }}}}
          path: wheels/*.whl
"""
    return NativePlan(
        config_path=config_path,
        config="\n".join(config_lines) + "\n",
        workflow_path=f".github/workflows/vendorer-native-{profile.name}.yml",
        workflow=workflow,
    )
