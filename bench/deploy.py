"""Wheelhouse and vendoring times: vendorer beside pip and uv on the same sets, same target.

Run by hand (it needs the public package index), from the repository root:

    python -m pip install -e '.[bench]'
    python bench/deploy.py [--profile python361x64] [--sets flask,django]

Per set: `vendorer build` (lock, wheelhouse, vendor) cold and warm; pip (`pip download
--only-binary=:all: --platform ...`, then `pip install --target --no-deps --no-index`); uv
(`uv pip install --target --python-platform ...`). Then an incremental run after one pin changes,
and `vendorer check` on an app with about fifty distributions. Ratios are peer / vendorer.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from vendorer.target.catalog import ProfileCatalog
from vendorer.target.profile import Profile

BIN = Path(sys.executable).parent
SETS = {
    "flask": ["flask"],
    "django": ["django"],
    "requests": ["requests"],
    "pandas": ["pandas"],
    "flask-sqlalchemy-psycopg2": ["flask", "sqlalchemy", "psycopg2"],
    "lxml-pillow": ["lxml", "Pillow"],
    "cryptography": ["cryptography"],
    "pytest": ["pytest"],
}
FIFTY = [
    "flask", "django", "requests", "pandas", "sqlalchemy", "psycopg2", "lxml", "Pillow",
    "cryptography", "pytest", "pyyaml", "simplejson", "boto3", "jsonschema", "attrs", "arrow",
    "babel", "docutils", "pygments", "tqdm",
]  # fmt: skip


def _run(command: Sequence[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        print(f"    failed: {' '.join(command[:4])}: {result.stderr.strip()[-200:]}")
    return seconds


def _app(work: Path, profile: Profile, requirements: list[str]) -> Path:
    app = work / "app"
    app.mkdir(parents=True, exist_ok=True)
    (app / "requirements.txt").write_text("\n".join(requirements) + "\n")
    (app / "pyproject.toml").write_text(f'[tool.vendorer]\nprofile = "{profile.name}"\n')
    return app


def vendorer_times(profile: Profile, requirements: list[str], work: Path) -> tuple[float, float]:
    app = _app(work, profile, requirements)
    env = {"VENDORER_CACHE_DIR": str(work / "cache")}
    command = [str(BIN / "vendorer"), "build", "--app", str(app)]
    return _run(command, env), _run(command, env)


def _pip_platform(profile: Profile) -> list[str]:
    version = profile.python.version
    platforms = [arg for p in profile.python.platforms for arg in ("--platform", p)]
    return [
        "--only-binary=:all:", "--python-version", str(version),
        "--implementation", "cp", "--abi", profile.python.abis[0], *platforms,
    ]  # fmt: skip


def pip_times(profile: Profile, requirements: list[str], work: Path) -> tuple[float, float]:
    req = work / "requirements.txt"
    req.write_text("\n".join(requirements) + "\n")
    env = {"PIP_CONSTRAINT": "", "PIP_FIND_LINKS": ""}

    def once() -> float:
        wheels, target = work / "wheels", work / "target"
        shutil.rmtree(target, ignore_errors=True)
        pip = [sys.executable, "-m", "pip"]
        download = [*pip, "download", "-q", "--cache-dir", str(work / "cache"), "-d", str(wheels),
                    *_pip_platform(profile), "-r", str(req)]  # fmt: skip
        seconds = _run(download, env)
        install = [*pip, "install", "-q", "--no-deps", "--no-index", "--target", str(target),
                   *_pip_platform(profile), *map(str, wheels.glob("*.whl"))]  # fmt: skip
        return seconds + _run(install, env)

    return once(), once()


UV_PLATFORMS = {"win_amd64": "x86_64-pc-windows-msvc", "win32": "i686-pc-windows-msvc"}


def uv_times(profile: Profile, requirements: list[str], work: Path) -> tuple[float, float]:
    req = work / "requirements.txt"
    req.write_text("\n".join(requirements) + "\n")
    platform = UV_PLATFORMS.get(profile.python.platforms[0], "x86_64-manylinux_2_28")

    def once() -> float:
        target = work / "uv-target"
        shutil.rmtree(target, ignore_errors=True)
        command = [str(BIN / "uv"), "pip", "install", "-q", "--cache-dir", str(work / "cache"),
                   "--target", str(target), "--python-platform", platform,
                   "--python-version", str(profile.python.version), "-r", str(req)]  # fmt: skip
        return _run(command)

    return once(), once()


def vendoring_only(profile: Profile, requirements: list[str], work: Path) -> dict[str, float]:
    """Install the same wheels into an empty folder: vendorer vendor, pip and uv --target."""
    app = _app(work, profile, requirements)
    env = {"VENDORER_CACHE_DIR": str(work / "cache")}
    _run([str(BIN / "vendorer"), "build", "--app", str(app)], env)
    folder = app / "wheelhouse" / profile.name
    wheels = [str(path) for path in sorted(folder.glob("*.whl"))]
    shutil.rmtree(app / "lib")
    platform = UV_PLATFORMS.get(profile.python.platforms[0], "x86_64-manylinux_2_28")
    return {
        "vendorer": _run([str(BIN / "vendorer"), "vendor", "--app", str(app)], env),
        "pip": _run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target",
             str(work / "pip-target"), *_pip_platform(profile), *wheels],
            {"PIP_CONSTRAINT": "", "PIP_FIND_LINKS": ""},
        ),
        "uv": _run(
            [str(BIN / "uv"), "pip", "install", "-q", "--no-deps", "--no-index", "--offline",
             "--cache-dir", str(work / "uv-cache"), "--target", str(work / "uv-target"),
             "--python-platform", platform, "--python-version", str(profile.python.version),
             *wheels]
        ),
    }  # fmt: skip


def incremental(profile: Profile, work: Path) -> float:
    """`vendorer build` after one pin changes (click 8.0.4 -> 8.0.3 in the flask set)."""
    app = _app(work, profile, ["flask"])
    env = {"VENDORER_CACHE_DIR": str(work / "cache")}
    _run([str(BIN / "vendorer"), "build", "--app", str(app)], env)
    (app / "requirements.txt").write_text("flask\nclick==8.0.3\n")
    return _run([str(BIN / "vendorer"), "build", "--app", str(app)], env)


def check_time(profile: Profile, work: Path) -> tuple[int, float]:
    app = _app(work, profile, FIFTY)
    env = {"VENDORER_CACHE_DIR": str(work / "cache")}
    _run([str(BIN / "vendorer"), "build", "--app", str(app)], env)
    lock = (app / f"pylock.{profile.name}.toml").read_text()
    count = lock.count("[[packages]]")
    return count, _run([str(BIN / "vendorer"), "check", "--app", str(app)], env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="python361x64")
    parser.add_argument("--sets", default=",".join(SETS))
    args = parser.parse_args()
    profile = ProfileCatalog().load(args.profile)
    print(f"target: {profile.name}; seconds cold / warm")
    totals = {"vendorer": [0.0, 0.0], "pip": [0.0, 0.0], "uv": [0.0, 0.0]}
    for name in args.sets.split(","):
        row = [f"{name:28}"]
        for tool, measure in (("vendorer", vendorer_times), ("pip", pip_times), ("uv", uv_times)):
            with tempfile.TemporaryDirectory(prefix="vendorer-bench-") as folder:
                cold, warm = measure(profile, SETS[name], Path(folder))
            totals[tool][0] += cold
            totals[tool][1] += warm
            row.append(f"{tool} {cold:5.2f}/{warm:5.2f}")
        print("  ".join(row), flush=True)
    base_cold, base_warm = totals["vendorer"]
    for tool, (cold, warm) in totals.items():
        print(f"total {tool:9} cold {cold:6.2f} s ({cold / base_cold:4.2f}x)  "
              f"warm {warm:6.2f} s ({warm / base_warm:4.2f}x)")  # fmt: skip
    print("vendoring the same wheels into an empty folder (seconds):")
    for name in args.sets.split(","):
        with tempfile.TemporaryDirectory(prefix="vendorer-bench-") as folder:
            times = vendoring_only(profile, SETS[name], Path(folder))
        print(f"  {name:28}" + "  ".join(f"{tool} {t:5.2f}" for tool, t in times.items()))
    with tempfile.TemporaryDirectory(prefix="vendorer-bench-") as folder:
        seconds = incremental(profile, Path(folder))
    print(f"incremental build after one pin changed: {seconds:.2f} s")
    with tempfile.TemporaryDirectory(prefix="vendorer-bench-") as folder:
        count, seconds = check_time(profile, Path(folder))
        print(f"vendorer check on an app with {count} distributions: {seconds:.2f} s")


if __name__ == "__main__":
    main()
