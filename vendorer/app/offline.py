"""The steps that work offline, from the lock and what is on disk: check, why, native-plan.

None of them touches the network, so they suit hooks and CI; only native-plan writes (its CI files).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vendorer._util.answers import tree
from vendorer._util.files import write_text_atomic
from vendorer.app.project import Project
from vendorer.check import CheckResult, check_app
from vendorer.inputs.requirements import parse_requirements
from vendorer.install.libfolder import lib_folder, state_folder
from vendorer.lock.why import explain
from vendorer.report import Reporter
from vendorer.target.catalog import BUILTIN_DIR, names_a_file
from vendorer.wheelhouse.native_plan import plan_for, sdists_without_wheel

__all__ = ["CheckRun", "check_project", "check_reads", "check_tree", "native_plan", "why"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckRun:
    result: CheckResult
    lib_dir: str  # as the app names it

    @property
    def drifted(self) -> bool:
        return bool(self.result.drifts)


def check_project(project: Project, reporter: Reporter) -> CheckRun:
    """`vendorer check`: requirements, lock, wheelhouse and the lib folder; the drifts, each
    with its fix."""
    lib_dir = project.lib_dir
    result = check_tree(project, lib_folder(project.app, lib_dir), reporter, lib_dir=lib_dir)
    return CheckRun(result=result, lib_dir=lib_dir)


def check_tree(
    project: Project, lib: Path | None, reporter: Reporter, *, lib_dir: str | None = None
) -> CheckResult:
    """The check, without the lib folder when `lib` is None; what it could not check told to
    `reporter`. `lib_dir`: the lib folder as the app names it (default: its name)."""
    return check_app(
        project.profile,
        project.requirements,
        project.lock_options(),
        wheelhouse=project.wheelhouse_root,
        lib=lib,
        lib_dir=lib_dir,
        app=project.app,
        reporter=reporter,
    )


def check_reads(project: Project) -> list[str]:
    """Every file and folder `check_project` reads or looks for, present or not: its answer
    holds while none of them changes (each file's folder is in: a file that appears there, such
    as a leftover beside the lib folder or an `antenv` in the app, changes the folder)."""
    app, lib, profile = project.app, project.lib, project.settings.profile or ""
    files = [
        app / "pyproject.toml",
        project.lock_path,
        *parse_requirements(project.requirements).files,
        *([Path(profile)] if names_a_file(profile) else []),
    ]
    trees = [
        app / "profiles",
        BUILTIN_DIR,
        project.wheelhouse_root,  # the profile's folder below it, whole
        state_folder(lib),
        lib,
    ]
    # as given, not resolved: a link retargeted is a change
    paths = {os.path.abspath(path) for path in files}  # noqa: PTH100
    for root in trees:
        paths.update(tree(os.path.abspath(root)))  # noqa: PTH100
    paths.update([os.path.dirname(path) for path in paths])  # noqa: PTH120
    return sorted(paths)


def why(project: Project, name: str) -> list[str]:
    """`vendorer why NAME`: why the package is in the lock, and at that version."""
    return list(explain(project.read_lock(), name))


def native_plan(
    project: Project, *, write: bool, on_written: Callable[[str], None] | None = None
) -> dict[str, str]:
    """`vendorer native-plan`: the cibuildwheel configuration and CI workflow (path in the app ->
    text) for the locked sdists that have no wheel in the wheelhouse; written when `write`."""
    profile = project.profile
    plan = plan_for(profile, sdists_without_wheel(project.read_lock(), project.wheelhouse, profile))
    files = {plan.config_path: plan.config, plan.workflow_path: plan.workflow}
    if not write:
        return files
    for path, text in files.items():
        write_text_atomic(project.app / path, text)
        if on_written is not None:
            on_written(path)
    return files
