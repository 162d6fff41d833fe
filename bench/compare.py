"""Lock the same requirement sets for the same target with vendorer, pip, uv and pex; compare.

Run by hand (it needs the public package index), from the repository root:

    python -m pip install -e '.[bench]'
    python bench/compare.py [--profile python361x64] [--sets flask,click] [--tools vendorer,uv]

For each set it prints, per tool, whether the resolved names match the expected set (and any
version that differs from vendorer's), and the
wall-clock time cold (empty caches) and warm (second run, caches kept), then each peer's time as a
ratio of vendorer's (>1.0 means vendorer is faster). Nothing here is asserted in the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import tomllib
from packaging.utils import canonicalize_name

from vendorer.target.catalog import ProfileCatalog
from vendorer.target.profile import Profile

BIN = Path(sys.executable).parent

FLASK = {
    "flask",
    "click",
    "colorama",
    "dataclasses",
    "importlib-metadata",
    "itsdangerous",
    "jinja2",
    "markupsafe",
    "typing-extensions",
    "werkzeug",
    "zipp",
}

# What each set must resolve to on the python361x64 target (names; versions are whatever the
# index offers for 3.6.1). Taken from the packages' own metadata; `None` means: do not check.
SETS: dict[str, tuple[list[str], set[str] | None]] = {
    "flask": (["flask"], FLASK),
    "django": (["django"], {"django", "asgiref", "pytz", "sqlparse", "typing-extensions"}),
    "requests": (
        ["requests"],
        {"requests", "certifi", "charset-normalizer", "idna", "urllib3"},
    ),
    "numpy": (["numpy"], {"numpy"}),
    "pandas": (["pandas"], {"pandas", "numpy", "python-dateutil", "pytz", "six", "tzdata"}),
    "flask-sqlalchemy-psycopg2": (
        ["flask", "sqlalchemy", "psycopg2"],
        FLASK | {"sqlalchemy", "greenlet", "psycopg2"},
    ),
    "lxml-pillow": (["lxml", "Pillow"], {"lxml", "pillow"}),
    "click": (["click"], {"click", "colorama", "importlib-metadata", "typing-extensions", "zipp"}),
    "pyyaml-markupsafe-simplejson": (
        ["pyyaml", "markupsafe", "simplejson"],
        {"pyyaml", "markupsafe", "simplejson"},
    ),
    "cryptography": (["cryptography"], {"cryptography", "cffi", "pycparser"}),
    "pytest": (
        ["pytest"],
        {
            "pytest",
            "atomicwrites",
            "attrs",
            "colorama",
            "importlib-metadata",
            "iniconfig",
            "packaging",
            "pluggy",
            "py",
            "pyparsing",
            "tomli",
            "typing-extensions",
            "zipp",
        },
    ),
}


@dataclass(frozen=True)
class Run:
    seconds: float
    pins: dict[str, str] | None  # canonical name -> version; None: the tool failed
    detail: str = ""

    @property
    def names(self) -> frozenset[str] | None:
        return None if self.pins is None else frozenset(self.pins)


Tool = Callable[[Profile, Path, Path, Path], Run]  # (profile, requirements, cache, workdir)


def _timed(command: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, str, int]:
    start = time.perf_counter()
    result = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False
    )
    return time.perf_counter() - start, result.stdout + result.stderr, result.returncode


def _vendorer(requirements: Path, cache: Path, profile: Profile, *extra: str) -> Run:
    command = [str(BIN / "vendorer"), "lock", *extra, "-p", profile.name, "-r", str(requirements)]
    seconds, output, code = _timed(command, {"VENDORER_CACHE_DIR": str(cache)})
    lock = requirements.parent / f"pylock.{profile.name}.toml"
    if code != 0 or not lock.exists():
        return Run(seconds, None, output.strip().splitlines()[-1] if output.strip() else "")
    packages = tomllib.loads(lock.read_text())["packages"]
    return Run(seconds, {package["name"]: package["version"] for package in packages})


def vendorer(profile: Profile, requirements: Path, cache: Path, work: Path) -> Run:
    """`vendorer lock`: warm, the lock is current and nothing is resolved or fetched."""
    return _vendorer(requirements, cache, profile)


def vendorer_relock(profile: Profile, requirements: Path, cache: Path, work: Path) -> Run:
    """`vendorer lock --force`: always resolves; warm, its HTTP cache revalidates pages."""
    return _vendorer(requirements, cache, profile, "--force")


def pip_download(profile: Profile, requirements: Path, cache: Path, work: Path) -> Run:
    version = profile.python.version
    platforms = [arg for p in profile.python.platforms for arg in ("--platform", p)]
    dest = work / "pip-download"
    shutil.rmtree(dest, ignore_errors=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--only-binary=:all:",
        "--python-version",
        f"{version.major}.{version.minor}.{version.micro}",
        "--implementation",
        "cp",
        "--abi",
        profile.python.abis[0],
        *platforms,
        "--cache-dir",
        str(cache),
        "-d",
        str(dest),
        "-r",
        str(requirements),
    ]
    seconds, output, code = _timed(command, {"PIP_CONSTRAINT": "", "PIP_FIND_LINKS": ""})
    if code != 0:
        return Run(seconds, None, output.strip().splitlines()[-1])
    return Run(seconds, dict(_name_version(path.name) for path in dest.iterdir()))


UV_PLATFORMS = {"win_amd64": "x86_64-pc-windows-msvc", "win32": "i686-pc-windows-msvc"}


def uv_compile(profile: Profile, requirements: Path, cache: Path, work: Path) -> Run:
    platform = profile.python.platforms[0]
    target = UV_PLATFORMS.get(platform, "x86_64-unknown-linux-gnu")
    if platform.startswith("manylinux_2_"):
        glibc = platform.split("_")[2]
        target = f"x86_64-manylinux_2_{glibc}"
    out = work / "uv.txt"
    command = [
        str(BIN / "uv"),
        "pip",
        "compile",
        "--quiet",
        "--no-header",
        "--cache-dir",
        str(cache),
        "--python-platform",
        target,
        "--python-version",
        str(profile.python.version),
        "--generate-hashes",
        "-o",
        str(out),
        str(requirements),
    ]
    seconds, output, code = _timed(command)
    if code != 0:
        return Run(seconds, None, output.strip().splitlines()[-1] if output.strip() else "")
    pins = re.findall(r"^([A-Za-z0-9._-]+)==([^\s;]+)", out.read_text(), re.MULTILINE)
    return Run(seconds, {str(canonicalize_name(name)): version for name, version in pins})


def pex_lock(profile: Profile, requirements: Path, cache: Path, work: Path) -> Run:
    platform = work / "complete-platform.json"
    platform.write_text(
        json.dumps(
            {
                "marker_environment": dict(profile.markers),
                "compatible_tags": [str(tag) for tag in profile.tags],
            }
        )
    )
    out = work / "pex.lock"
    command = [
        str(BIN / "pex3"),
        "lock",
        "create",
        "--complete-platform",
        str(platform),
        "--wheel",
        "--no-build",
        "-r",
        str(requirements),
        "-o",
        str(out),
        "--indent",
        "1",
    ]
    seconds, output, code = _timed(command, {"PEX_ROOT": str(cache)})
    if code != 0:
        return Run(seconds, None, output.strip().splitlines()[-1] if output.strip() else "")
    data = json.loads(out.read_text())
    pins = {
        str(canonicalize_name(req["project_name"])): str(req["version"])
        for resolve in data["locked_resolves"]
        for req in resolve["locked_requirements"]
    }
    return Run(seconds, pins)


def _name_version(filename: str) -> tuple[str, str]:
    name, version = filename.split("-")[:2]
    return str(canonicalize_name(name)), version


TOOLS: dict[str, Tool] = {
    "vendorer": vendorer,
    "vendorer-force": vendorer_relock,
    "pip": pip_download,
    "uv": uv_compile,
    "pex": pex_lock,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="python361x64")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--tools", default=",".join(TOOLS))
    args = parser.parse_args()
    profile = ProfileCatalog().load(args.profile)
    tools = args.tools.split(",")
    totals: dict[tuple[str, str], float] = {}
    reference: dict[str, str] = {}
    print(f"target: {profile.name} ({profile.tags[0]})")
    header = f"{'set':30} {'tool':15} {'ok':5} {'cold s':>8} {'warm s':>8}"
    print(header)
    print("-" * len(header))
    for set_name in args.sets.split(","):
        requested, expected = SETS[set_name]
        for tool_name in tools:
            with tempfile.TemporaryDirectory(prefix="vendorer-bench-") as folder:
                work = Path(folder)
                requirements = work / "requirements.txt"
                requirements.write_text("\n".join(requested) + "\n")
                cache = work / "cache"
                cold = TOOLS[tool_name](profile, requirements, cache, work)
                warm = TOOLS[tool_name](profile, requirements, cache, work)
            ok = _verdict(cold.names, expected)
            if tool_name == "vendorer":
                reference = cold.pins or {}
            detail = cold.detail
            if ok == "NO" and cold.names is not None and expected is not None:
                missing, extra = expected - cold.names, cold.names - expected
                detail = f"missing {sorted(missing)} extra {sorted(extra)}"
            elif cold.pins is not None and tool_name != "vendorer":
                differ = [
                    f"{name} {version} (vendorer {reference[name]})"
                    for name, version in sorted(cold.pins.items())
                    if name in reference and version != reference[name]
                ]
                detail = "versions differ: " + ", ".join(differ) if differ else ""
            cold = Run(cold.seconds, cold.pins, detail)
            totals[(tool_name, "cold")] = totals.get((tool_name, "cold"), 0) + cold.seconds
            totals[(tool_name, "warm")] = totals.get((tool_name, "warm"), 0) + warm.seconds
            line = f"{set_name:30} {tool_name:15} {ok:5} {cold.seconds:8.2f} {warm.seconds:8.2f}"
            print(line + (f"  {cold.detail[:110]}" if cold.detail else ""), flush=True)
    print()
    print("totals and ratios (peer time / vendorer time; >1 means vendorer is faster)")
    for phase in ("cold", "warm"):
        base = totals.get(("vendorer", phase))
        for tool_name in tools:
            total = totals[(tool_name, phase)]
            ratio = f"{total / base:6.2f}x" if base else "   n/a"
            print(f"  {phase:5} {tool_name:15} {total:8.2f}s  {ratio}")


def _verdict(names: frozenset[str] | None, expected: set[str] | None) -> str:
    if names is None:
        return "FAIL"
    if expected is None:
        return "?"
    return "yes" if names == expected else "NO"


if __name__ == "__main__":
    main()
