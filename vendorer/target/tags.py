"""A target interpreter's wheel tags: the interpreter as tags see it (`PythonSpec`), its ordered
compatible tags (`derive_tags`), and the platforms a Linux target with a given glibc accepts.

Nothing here reads the running interpreter: every tag comes from the spec.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from packaging import tags as pytags
from packaging.version import Version

__all__ = ["PythonSpec", "derive_tags", "is_host_built", "manylinux_platforms"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PythonSpec:
    """The interpreter: implementation, full version, and ABIs + platforms or explicit tags."""

    implementation: str
    version: Version
    abis: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    explicit_tags: tuple[str, ...] = ()


def manylinux_platforms(glibc: tuple[int, int], arch: str) -> list[str]:
    """The platform tags a Linux target with glibc `glibc` on `arch` accepts, best first.

    Every `manylinux_2_N` from the target's glibc down to the oldest defined for the architecture,
    each legacy alias (`manylinux2014`, `manylinux2010`, `manylinux1`) right after its PEP 600
    equal, as `packaging.tags` lists them; then `linux_<arch>`, last (see `is_host_built`).
    """
    major, minor = glibc
    if major != 2:
        return [f"linux_{arch}"]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    oldest = 5 if arch in {"x86_64", "i686"} else 17
    platforms = []
    for glibc_minor in range(minor, oldest - 1, -1):
        platforms.append(f"manylinux_2_{glibc_minor}_{arch}")
        alias = legacy.get(glibc_minor)
        if alias and (glibc_minor == 17 or arch in {"x86_64", "i686"}):
            platforms.append(f"{alias}_{arch}")
    return [*platforms, f"linux_{arch}"]


def is_host_built(tag: pytags.Tag) -> bool:
    """Whether `tag` is `linux_<arch>`: a wheel built on some Linux machine, with no promise.

    packaging (26.3 and later) ranks `linux_<arch>` first for the interpreter running it, because
    such a wheel there was built on that very machine. A profile describes another machine: the
    `linux_<arch>` wheels vendorer finds were built elsewhere (often on the developer's host) and
    promise nothing about the target's glibc, while a manylinux wheel does. So for a profile they
    rank last, as packaging ranked them before 26.3, and the lock step warns when it takes one.
    """
    return tag.platform.startswith("linux_")


def derive_tags(python: PythonSpec) -> tuple[pytags.Tag, ...]:
    """The ordered compatible tags of `python`, as packaging computes them for a running one,
    except that `linux_<arch>` ranks after the other platforms (`is_host_built`), in derived and
    explicit lists alike (profiles captured before this rule listed it first)."""
    if python.explicit_tags:
        ordered: list[pytags.Tag] = []
        for text in python.explicit_tags:
            ordered.extend(pytags.parse_tag(text))
        return _host_built_last(dict.fromkeys(ordered))
    version = (python.version.major, python.version.minor)
    interpreter = f"{python.implementation}{version[0]}{version[1]}"
    if python.implementation == "cp":
        specific = pytags.cpython_tags(version, python.abis, python.platforms)
    else:
        specific = pytags.generic_tags(interpreter, python.abis, python.platforms)
    general = pytags.compatible_tags(version, interpreter, python.platforms)
    return _host_built_last(dict.fromkeys([*specific, *general]))


def _host_built_last(tags: Iterable[pytags.Tag]) -> tuple[pytags.Tag, ...]:
    """Within each run of tags of one interpreter and ABI, `linux_<arch>` after the others."""
    ordered: list[pytags.Tag] = []
    for _, run in itertools.groupby(tags, key=lambda tag: (tag.interpreter, tag.abi)):
        members = list(run)
        ordered += [tag for tag in members if not is_host_built(tag)]
        ordered += [tag for tag in members if is_host_built(tag)]
    return tuple(ordered)
