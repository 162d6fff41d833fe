"""The path new users take, on App Service on Linux: vendorer beside uv, as ratios, in one run.

Run by hand (it needs the public package index), from the repository root:

    python -m pip install -e '.[bench]'
    python bench/linux.py [--profile linux-python312] [--pairs 3] [--set flask,pandas,requests]
                          [--work DIR]

Each measure alternates vendorer and its peer `--pairs` times and prints the medians of the wall
time and of the CPU time (user + system, the process and its children), and the ratio of the wall
times, vendorer / peer (below 1.00: vendorer is faster). `--work` is where the scratch folder
goes (caches, app, wheelhouse, trees): `--work /dev/shm` takes the disk out of the figures, and
the difference from a run on disk is the filesystem's share.
1. from empty caches to a filled folder: `vendorer build` (lock, wheelhouse, vendor) against
   `uv pip install --target --python-platform x86_64-manylinux_2_<glibc> --only-binary :all:`
   (`--profile python361x64`, the example app's target: `--python-platform
   x86_64-pc-windows-msvc --python-version 3.6.1`, where vendorer's package needs the web.config
   `vendorer webconfig` writes first, untimed);
2. nothing changed: `vendorer build` and `vendorer check` on the built app against uv's no-op
   `pip install --target` into the filled folder;
3. vendoring a fresh tree from the same wheels: `vendorer vendor` against
   `uv pip install --no-deps --offline --link-mode copy --target` (every byte written by both),
   three ways: each wheel unpacked for the first time on this machine (only noted in vendorer's
   cache of unpacked wheels), for the second time (unpacked, and kept in that cache), and copied
   from that cache (uv copies from its own); where the filesystem clones files (copy-on-write:
   XFS made with reflink, btrfs), the last also against `--link-mode clone` and against
   `cp -a --reflink=always` of vendorer's own tree;
4. `vendorer package` against `zip -qrX` of the same files (web.config included where there is
   one);
5. what any program in CPython pays, against the same uv runs (the lines start "floor"): the
   cache's files copied by bare `os` calls (one thread, nothing checked) against uv's copy, and
   the standard library's `zipfile` extracting the wheels (nothing checked) against uv's whole
   install from empty caches.

vendorer runs as users have it: installed from its wheel (built from this checkout) into a
scratch virtual environment that finds its dependencies in this one; an editable install would
add its import hook (~20 ms) to every start. The line "python -c pass" is the floor of any
command written in Python. Before the no-op measures the app is left alone for 2 s and each
command run once: a kept answer (vendorer._util.answers) trusts no file changed in the last 2 s.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

from vendorer.install.cached import FILES, NOTES
from vendorer.target.catalog import ProfileCatalog
from vendorer.target.profile import Profile

BIN = Path(sys.executable).parent


class Timing(NamedTuple):
    wall: float
    cpu: float  # user + system


Timed = Callable[[], Timing]


def _run(
    command: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> Timing:
    # bytecode is written, as an installed vendorer has it (PYTHONDONTWRITEBYTECODE would make
    # every run compile vendorer's modules again: 0.08 s here)
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(
        command, capture_output=True, text=True, env={**environ, **(env or {})}, cwd=cwd,
        check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{result.stderr.strip()[-800:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return Timing(seconds, cpu)


def _uv_platform(profile: Profile) -> str:
    """uv's name for the profile's platform: its newest manylinux level (x86_64-manylinux_2_31),
    or Windows on x86-64 (the example app's python361x64)."""
    if any(tag.platform == "win_amd64" for tag in profile.tags):
        return "x86_64-pc-windows-msvc"
    levels = [
        (int(match[1]), int(match[2]))
        for tag in profile.tags
        if (match := re.match(r"manylinux_(\d+)_(\d+)_", tag.platform))
    ]
    major, minor = max(levels)
    return f"{profile.markers['platform_machine']}-manylinux_{major}_{minor}"


# Run with `python -S`: the cache's files (each entry's FILES folder) copied into argv[2]
COPY_FLOOR = """
import os, sys
cache, target = sys.argv[1], sys.argv[2]
for entry in os.listdir(cache):
    base = os.path.join(cache, entry, sys.argv[3])
    for root, _, names in os.walk(base):
        folder = os.path.join(target, os.path.relpath(root, base))
        os.makedirs(folder, exist_ok=True)
        for name in names:
            source = os.open(os.path.join(root, name), os.O_RDONLY)
            size = os.fstat(source).st_size
            copy = os.open(os.path.join(folder, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            while size > 0 and (done := os.copy_file_range(source, copy, size)):
                size -= done
            os.close(copy)
            os.close(source)
"""
# Run with `python -S`: the wheels argv[2:] extracted into argv[1]
UNZIP_FLOOR = """
import sys, zipfile
for wheel in sys.argv[2:]:
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(sys.argv[1])
"""


class Bench:
    """One requirement set for one profile, in a scratch folder that each measure resets."""

    def __init__(self, profile: Profile, requirements: list[str], work: Path) -> None:
        self.profile = profile
        self.work = work
        self.app = work / "app"
        self.requirements = requirements
        self.lib = self.app / profile.server.lib_dir
        self.bin = BIN  # where vendorer runs from: install() puts it in a scratch environment

    def _fresh_app(self) -> None:
        shutil.rmtree(self.app, ignore_errors=True)
        self.app.mkdir(parents=True)
        (self.app / "requirements.txt").write_text("\n".join(self.requirements) + "\n")
        (self.app / "app.py").write_text("app = None\n")
        (self.app / "pyproject.toml").write_text(
            f'[tool.vendorer]\nprofile = "{self.profile.name}"\n'
        )

    def install(self) -> None:
        """vendorer from its wheel into work/venv, its dependencies found in this environment."""
        venv, wheels, source = (self.work / name for name in ("venv", "wheel", "source"))
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        root = Path(__file__).parent.parent  # copied: a build writes build/ beside its sources
        shutil.copytree(root / "vendorer", source / "vendorer",
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(root / name, source / name)
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels),
                        str(source)], check=True)  # fmt: skip
        (wheel,) = wheels.glob("vendorer-*.whl")
        subprocess.run([str(BIN / "uv"), "pip", "install", "-q", "--no-deps", "--python",
                        str(venv / "bin" / "python"), str(wheel)], check=True)  # fmt: skip
        (site,) = venv.glob("lib/python*/site-packages")
        (site / "bench-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
        self.bin = venv / "bin"

    def python_start(self) -> Timing:
        return _run([str(self.bin / "python"), "-c", "pass"])

    def _vendorer(self, *args: str, cache: str = "cache") -> Timing:
        env = {"VENDORER_CACHE_DIR": str(self.work / cache)}
        return _run([str(self.bin / "vendorer"), *args, "--app", str(self.app)], env)

    def _uv(self, *args: str, cache: str = "uv-cache") -> Timing:
        # --python: uv's interpreter named, not looked up on PATH (through a pyenv shim that
        # lookup alone takes 0.1 s, more than uv's whole no-op install)
        command = [str(BIN / "uv"), "pip", "install", "-q", "--cache-dir", str(self.work / cache),
                   "--python", sys.executable,
                   "--python-platform", _uv_platform(self.profile),
                   "--python-version", str(self.profile.python.version), *args]  # fmt: skip
        return _run(command)

    # 1. empty caches
    def vendorer_cold(self) -> Timing:
        self._fresh_app()
        shutil.rmtree(self.work / "cache", ignore_errors=True)
        return self._vendorer("build")

    def uv_cold(self) -> Timing:
        shutil.rmtree(self.work / "uv-cache", ignore_errors=True)
        shutil.rmtree(self.work / "uv-target", ignore_errors=True)
        return self._uv("--only-binary", ":all:", "--target", str(self.work / "uv-target"),
                        "-r", str(self.app / "requirements.txt"))  # fmt: skip

    # 2. nothing changed (after 1)
    def settle(self) -> None:
        """The app left alone as after a build, each no-op command run once (not timed)."""
        time.sleep(2.1)
        self.vendorer_noop_build()
        self.vendorer_noop_check()
        self.uv_noop()

    def vendorer_noop_build(self) -> Timing:
        return self._vendorer("build")

    def vendorer_noop_check(self) -> Timing:
        return self._vendorer("check")

    def uv_noop(self) -> Timing:
        return self._uv("--only-binary", ":all:", "--target", str(self.work / "uv-target"),
                        "-r", str(self.app / "requirements.txt"))  # fmt: skip

    # 3. a fresh tree from the same wheels
    def _wheels(self) -> list[str]:
        folder = self.app / "wheelhouse" / self.profile.name
        return [str(path) for path in sorted(folder.glob("*.whl"))]

    def vendorer_fresh_tree(self) -> Timing:
        """Copied from the cache of unpacked wheels (once the runs before filled it)."""
        shutil.rmtree(self.lib, ignore_errors=True)
        return self._vendorer("vendor")

    def vendorer_fresh_tree_keeping(self) -> Timing:
        """Each wheel unpacked for the second time: unpacked, and kept in the cache."""
        self._forget_unpacked(notes=False)
        return self.vendorer_fresh_tree()

    def vendorer_fresh_tree_unpacking(self) -> Timing:
        """Each wheel unpacked for the first time: unpacked, and only noted in the cache."""
        self._forget_unpacked(notes=True)
        return self.vendorer_fresh_tree()

    def _forget_unpacked(self, *, notes: bool) -> None:
        kept = self.work / "cache" / "unpacked"
        for path in kept.iterdir() if kept.is_dir() else ():
            if notes or path.name != NOTES:
                shutil.rmtree(path)

    def uv_fresh_tree(self) -> Timing:
        shutil.rmtree(self.work / "uv-copy", ignore_errors=True)
        return self._uv("--no-deps", "--offline", "--link-mode", "copy", "--target",
                        str(self.work / "uv-copy"), *self._wheels())  # fmt: skip

    def uv_clone_tree(self) -> Timing:
        shutil.rmtree(self.work / "uv-clone", ignore_errors=True)
        return self._uv("--no-deps", "--offline", "--link-mode", "clone", "--target",
                        str(self.work / "uv-clone"), *self._wheels())  # fmt: skip

    def cp_reflink_tree(self) -> Timing:
        shutil.rmtree(self.work / "cp-clone", ignore_errors=True)
        os.sync()  # a cache's files are written long before they are cloned (XFS flushes first)
        return _run(["cp", "-a", "--reflink=always", str(self.lib), str(self.work / "cp-clone")])

    def clones(self) -> bool:
        """Whether this filesystem clones files (`cp --reflink=always` can)."""
        probe = self.work / "reflink-probe"
        probe.write_bytes(b"probe")
        copied = subprocess.run(["cp", "--reflink=always", str(probe), f"{probe}.clone"],
                                capture_output=True, check=False)  # fmt: skip
        return copied.returncode == 0

    # 4. the package
    def write_webconfig(self) -> None:
        """The site's web.config, which a Windows profile's package needs (not timed)."""
        if self.profile.is_windows:
            self._vendorer("webconfig", "--wsgi-handler", "app.app")

    def vendorer_package(self) -> Timing:
        return self._vendorer("package", "-o", str(self.work / "app.zip"))

    def zip_package(self) -> Timing:
        (self.work / "zip.zip").unlink(missing_ok=True)
        names = [p.name for p in self.app.iterdir() if p.name not in {"wheelhouse"}]
        return _run(["zip", "-qrX", str(self.work / "zip.zip"), *names], cwd=self.app)

    # 5. what any program in CPython pays
    def copy_floor(self) -> Timing:
        shutil.rmtree(self.work / "floor-copy", ignore_errors=True)
        return _run([str(self.bin / "python"), "-S", "-c", COPY_FLOOR,
                     str(self.work / "cache" / "unpacked"), str(self.work / "floor-copy"),
                     FILES])  # fmt: skip

    def unzip_floor(self) -> Timing:
        shutil.rmtree(self.work / "floor-unzip", ignore_errors=True)
        return _run([str(self.bin / "python"), "-S", "-c", UNZIP_FLOOR,
                     str(self.work / "floor-unzip"), *self._wheels()])  # fmt: skip


def _pairs(name: str, ours: Timed, theirs: Timed, pairs: int, who: str = "vendorer") -> None:
    mine, peer = [], []
    for _ in range(pairs):
        mine.append(ours())
        peer.append(theirs())
    a, b = (statistics.median(t.wall for t in mine), statistics.median(t.wall for t in peer))
    cpu_a, cpu_b = (statistics.median(t.cpu for t in mine), statistics.median(t.cpu for t in peer))
    spread = " ".join(f"{t.wall:.2f}" for t in mine)
    print(f"  {name:44} {who} {a:5.2f} s (CPU {cpu_a:5.2f})   peer {b:5.2f} s (CPU "
          f"{cpu_b:5.2f})   ratio {a / b:5.2f}   {who}: {spread}", flush=True)  # fmt: skip


def _filesystem(folder: Path) -> str:
    """The type of the filesystem `folder` is on (Linux), as `df` says it."""
    shown = subprocess.run(["df", "--output=fstype", str(folder)], capture_output=True, text=True,
                           check=False).stdout.split()  # fmt: skip
    return shown[-1] if shown else "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="linux-python312")
    parser.add_argument("--set", default="flask,pandas,requests")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=None, help="where the scratch folder goes")
    args = parser.parse_args()
    profile = ProfileCatalog().load(args.profile)
    requirements = args.set.split(",")
    print(f"target {profile.name} ({_uv_platform(profile)}), requirements {requirements}, "
          f"{args.pairs} pairs, medians")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="vendorer-bench-", dir=args.work) as folder:
        print(f"in {folder} ({_filesystem(Path(folder))})", flush=True)
        bench = Bench(profile, requirements, Path(folder))
        bench.install()
        _pairs("python -c pass vs uv --version", bench.python_start,
               lambda: _run([str(BIN / "uv"), "--version"]), args.pairs)  # fmt: skip
        _pairs("build from empty caches vs uv --target", bench.vendorer_cold, bench.uv_cold,
               args.pairs)  # fmt: skip
        bench.settle()
        _pairs("no-op build vs uv no-op --target", bench.vendorer_noop_build, bench.uv_noop,
               args.pairs)  # fmt: skip
        _pairs("no-op check vs uv no-op --target", bench.vendorer_noop_check, bench.uv_noop,
               args.pairs)  # fmt: skip
        _pairs("fresh tree, wheels unpacked vs uv copy", bench.vendorer_fresh_tree_unpacking,
               bench.uv_fresh_tree, args.pairs)  # fmt: skip
        _pairs("fresh tree, unpacked and kept vs uv copy", bench.vendorer_fresh_tree_keeping,
               bench.uv_fresh_tree, args.pairs)  # fmt: skip
        _pairs("vendor a fresh tree vs uv --link-mode copy", bench.vendorer_fresh_tree,
               bench.uv_fresh_tree, args.pairs)  # fmt: skip
        if bench.clones():
            _pairs("vendor a fresh tree vs uv --link-mode clone", bench.vendorer_fresh_tree,
                   bench.uv_clone_tree, args.pairs)  # fmt: skip
            _pairs("vendor a fresh tree vs cp --reflink of it", bench.vendorer_fresh_tree,
                   bench.cp_reflink_tree, args.pairs)  # fmt: skip
        _pairs("floor: os calls copy the cache vs uv copy", bench.copy_floor, bench.uv_fresh_tree,
               args.pairs, who="python  ")  # fmt: skip
        _pairs("floor: zipfile extracts vs uv from empty", bench.unzip_floor, bench.uv_cold,
               args.pairs, who="python  ")  # fmt: skip
        bench.write_webconfig()
        _pairs("package vs zip -qrX", bench.vendorer_package, bench.zip_package, args.pairs)


if __name__ == "__main__":
    main()
