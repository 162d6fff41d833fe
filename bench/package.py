"""`vendorer package` beside `zip -qrX` of the same files, as a ratio, in one run.

Run by hand (the first run needs the public package index to build the app), from the
repository root:

    python -m pip install -e .
    apt-get install zip            # if `zip` is missing (Debian, Ubuntu)
    python bench/package.py [--profile linux-python312] [--set flask,pandas,requests] [--pairs 5]
                            [--app DIR]

It builds an app with the set vendored for the profile through vendorer's library (lock,
wheelhouse, vendor; `--app DIR` keeps it there for the next run), then alternates, `--pairs`
times, a subprocess that calls `package_app` (what `vendorer package` runs) and `zip -qrX` of
the files the package holds (zip's default deflate level is 6, as vendorer's). It prints the
medians of wall and CPU time (user + sys of the child) and the ratio vendorer / zip (below 1.00:
vendorer is faster). CPU time is the figure to trust on a loaded machine.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from vendorer.app.building import BuildRequest, build_app
from vendorer.app.project import ProjectChoices, load_project
from vendorer.app.reporting import StepReporter
from vendorer.deploy.package import PackageOptions, plan_package

PACKAGE = """\
import sys
from pathlib import Path
from vendorer.app.project import ProjectChoices, load_project
from vendorer.app.reporting import StepReporter
from vendorer.deploy.package import PackageOptions, package_app
project = load_project(ProjectChoices(app=Path(sys.argv[1])), StepReporter())
package_app(project.app, project.profile, project.lib_dir, Path(sys.argv[2]),
            PackageOptions(wheelhouse=project.wheelhouse_root))
"""


def _timed(command: Sequence[str], cwd: Path | None = None) -> tuple[float, float]:
    """(wall, CPU user + sys) seconds of the child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{result.stderr.strip()[-800:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _built_app(folder: Path, profile: str, requirements: list[str]) -> None:
    """The app, built (a no-op when it is built already)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")
    (folder / "app.py").write_text("app = None\n", encoding="utf-8")
    (folder / "pyproject.toml").write_text(
        f'[tool.vendorer]\nprofile = "{profile}"\n', encoding="utf-8"
    )
    project = load_project(ProjectChoices(app=folder), StepReporter())
    run = build_app(project, BuildRequest(), StepReporter())
    if run.vendored is None:
        raise SystemExit("native sdists are left without a wheel: pick another set")


def _medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="linux-python312")
    parser.add_argument("--set", default="flask,pandas,requests")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--app", type=Path, help="build the app here and keep it (default: temp)")
    args = parser.parse_args()
    zip_tool = shutil.which("zip")
    if zip_tool is None:
        raise SystemExit("zip is not installed: apt-get install zip (or your system's package)")
    with tempfile.TemporaryDirectory(prefix="vendorer-bench-package-") as scratch:
        work = Path(scratch)
        app = (args.app or work / "app").resolve()
        _built_app(app, args.profile, args.set.split(","))
        project = load_project(ProjectChoices(app=app), StepReporter())
        options = PackageOptions(wheelhouse=project.wheelhouse_root)
        plan = plan_package(app, project.profile, project.lib_dir, work / "x.zip", options)
        listing = work / "files.txt"
        listing.write_text("".join(f"{name}\n" for name in plan.files), encoding="utf-8")
        size = sum((app / name).stat().st_size for name in plan.files)
        print(f"{args.profile}, {args.set}: {len(plan.files)} files, {size / 1e6:.0f} MB; "
              f"{args.pairs} alternating pairs, medians")  # fmt: skip
        ours: list[tuple[float, float]] = []
        theirs: list[tuple[float, float]] = []
        script = work / "package.py"
        script.write_text(PACKAGE, encoding="utf-8")
        env_python = [sys.executable, str(script), str(app)]
        for _ in range(args.pairs):
            (work / "vendorer.zip").unlink(missing_ok=True)
            ours.append(_timed([*env_python, str(work / "vendorer.zip")]))
            (work / "zip.zip").unlink(missing_ok=True)
            theirs.append(_timed(
                ["sh", "-c", f'"{zip_tool}" -qrX "{work / "zip.zip"}" -@ < "{listing}"'], cwd=app
            ))  # fmt: skip
        (wall, cpu), (zip_wall, zip_cpu) = _medians(ours), _medians(theirs)
        print(f"  package_app  wall {wall:6.2f} s  cpu {cpu:6.2f} s   "
              f"({(work / 'vendorer.zip').stat().st_size / 1e6:.1f} MB)")  # fmt: skip
        print(f"  zip -qrX     wall {zip_wall:6.2f} s  cpu {zip_cpu:6.2f} s   "
              f"({(work / 'zip.zip').stat().st_size / 1e6:.1f} MB)")  # fmt: skip
        print(f"  ratio        wall {wall / zip_wall:6.2f}    cpu {cpu / zip_cpu:6.2f}")


if __name__ == "__main__":
    main()
