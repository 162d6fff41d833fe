"""A small index's worth of projects that exercise every resolution rule for a foreign target.

The names say what each project is for; `build_scenario` writes them into a folder an index serves.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.dists import make_sdist, make_wheel

WIN36 = "cp36-cp36m-win_amd64"
LINUX312 = "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64"


def build_scenario(folder: Path) -> Path:
    # A framework whose dependencies hide behind markers and an extra.
    make_wheel(
        folder,
        "webfw",
        "2.0",
        requires_python=">=3.6",
        provides_extra=["speed"],
        requires_dist=[
            "clicky>=7",
            'colorish; platform_system == "Windows"',
            'dataclassy; python_version < "3.7"',
            'oldmeta; python_version < "3.8"',
            'fastpath; extra == "speed"',
        ],
    )
    make_wheel(folder, "webfw", "3.0", requires_python=">=3.7", requires_dist=["clicky>=8"])
    # `!=3.6.*` must exclude 3.6.1.
    make_wheel(folder, "clicky", "6.0")
    make_wheel(folder, "clicky", "7.0", requires_python=">=3.6")
    make_wheel(folder, "clicky", "8.0", requires_python=">=3.6, !=3.6.*")
    for name in ("colorish", "dataclassy", "oldmeta", "fastpath"):
        make_wheel(folder, name, "1.0")
    # Requires-Python against the full version: >=3.6.1 admits 3.6.1, >=3.6.2 does not.
    make_wheel(folder, "fullver", "1.0", requires_python=">=3.6.1")
    make_wheel(folder, "fullver", "1.1", requires_python=">=3.6.2")
    # Wheels only for an older version; the newest is an sdist only.
    make_wheel(folder, "nativelib", "1.0", tag=WIN36)
    make_wheel(folder, "nativelib", "1.0", tag=LINUX312)
    make_sdist(folder, "nativelib", "2.0")
    # Only ever an sdist (pure Python): chosen, and marked as needing a build.
    make_sdist(folder, "puresdist", "1.0", metadata_version="2.2", requires_dist=["colorish"])
    # 1.1 is yanked (the tests serve it so).
    make_wheel(folder, "yanky", "1.0")
    make_wheel(folder, "yanky", "1.1")
    # Requires what the root forbids.
    make_wheel(folder, "needsoldclicky", "1.0", requires_dist=["clicky<7"])
    # Wheels for other targets only.
    make_wheel(folder, "winonly312", "1.0", tag="cp312-cp312-win_amd64")
    make_wheel(folder, "winonly312", "0.9", tag="cp311-cp311-win_amd64")
    return folder


YANKED = {"yanky-1.1-py3-none-any.whl": "broken release"}
