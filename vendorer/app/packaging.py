"""`vendorer package`: the app and its vendored libraries as one reproducible zip.

Nothing is written when `vendorer check` finds drift (unless asked): a package of a lib folder
that no longer matches the lock would ship what nobody locked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vendorer.app.offline import check_tree
from vendorer.app.project import Project
from vendorer.app.reporting import StepReporter
from vendorer.check import CheckResult
from vendorer.deploy.package import (
    PackageOptions,
    PackagePlan,
    PackageReport,
    plan_package,
    write_package,
)
from vendorer.errors import VendorerError

__all__ = ["PackageRequest", "PackageRun", "default_package_path", "package_project"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PackageRequest:
    output: Path | None = None  # None: default_package_path
    check: bool = True  # write nothing if `vendorer check` finds drift
    list_only: bool = False  # plan, say what goes in and what stays out, write nothing


@dataclass(frozen=True, slots=True, kw_only=True)
class PackageRun:
    plan: PackagePlan | None = None  # None: refused by the check
    report: PackageReport | None = None  # None: nothing written (refused, or list_only)
    check: CheckResult | None = None

    @property
    def refused(self) -> bool:
        return self.plan is None


def default_package_path(project: Project) -> Path:
    """`<wheelhouse root>/<profile>.zip`: beside the wheelhouse, which never goes into a package
    and is build output (not committed)."""
    return project.wheelhouse_root / f"{project.profile.name}.zip"


def package_project(
    project: Project, request: PackageRequest, reporter: StepReporter
) -> PackageRun:
    """Check, plan and write the package (see the module docstring)."""
    check = check_tree(project, project.lib, reporter) if request.check else None
    if check is not None and check.drifts:
        return PackageRun(check=check)
    output = request.output or default_package_path(project)
    options = PackageOptions(wheelhouse=project.wheelhouse_root, excludes=project.settings.exclude)
    plan = plan_package(project.app, project.profile, project.lib_dir, output, options)
    if request.list_only:
        run = PackageRun(plan=plan, check=check)
        reporter.packaged(run)
        return run
    if request.output is None:  # the wheelhouse root: vendorer's own folder (an -o one is not)
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise VendorerError(f"cannot write {output}: {error.strerror or error}") from None
    run = PackageRun(plan=plan, report=write_package(plan), check=check)
    reporter.packaged(run)
    return run
