"""The resolver in memory: every rule of resolution for a foreign target, without a server.

A `MemorySource` (the `PackageSource` seam, as resolvelib's own tests use a fake provider input)
holds projects as data: files with their tags, Requires-Python and yanked state, and each
version's core metadata. The loopback-index tests in test_resolve.py cover the same rules end to
end; these pin down the core.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pytest
from packaging.metadata import Metadata, RawMetadata
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import parse_tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from vendorer.errors import ResolutionError
from vendorer.index.listing import Listing
from vendorer.index.models import DistFile
from vendorer.resolve.candidates import FilePolicy
from vendorer.resolve.resolver import Resolution, RootRequirement, resolve_for
from vendorer.target.catalog import ProfileCatalog
from vendorer.target.profile import Profile

WINDOWS = ProfileCatalog().load("python361x64")  # CPython 3.6.1, win_amd64
LINUX = ProfileCatalog().load("linux-python312")
WIN36 = "cp36-cp36m-win_amd64"
MANYLINUX = "cp312-cp312-manylinux_2_17_x86_64"
DEFAULT_POLICY = FilePolicy()


@dataclass(frozen=True, slots=True)
class Release:
    """One version of a project: its files and its metadata."""

    version: str
    wheel_tags: tuple[str, ...] = ("py3-none-any",)  # one wheel per tag; () for none
    sdist: bool = False
    requires_dist: tuple[str, ...] = ()
    requires_python: str | None = None  # in the metadata
    index_requires_python: str | None = None  # what the index page says (PEP 503/691)
    yanked: str | None = None


@dataclass(slots=True)
class MemorySource:
    """Projects as data; counts the metadata reads so tests can tell what was looked at."""

    projects: Mapping[str, Sequence[Release]]
    metadata_reads: list[str] = field(default_factory=list)

    def project_listing(self, name: str) -> Listing:
        return Listing.of(
            file
            for release in self.projects.get(canonicalize_name(name), ())
            for file in _files(canonicalize_name(name), release)
        )

    def metadata(self, file: DistFile) -> Metadata | None:
        self.metadata_reads.append(file.filename)
        release = next(r for r in self.projects[file.project] if Version(r.version) == file.version)
        raw: RawMetadata = {
            "metadata_version": "2.1",
            "name": file.project,
            "version": release.version,
            "requires_dist": list(release.requires_dist),
        }
        if release.requires_python is not None:
            raw["requires_python"] = release.requires_python
        return Metadata.from_raw(raw)


def _files(name: str, release: Release) -> list[DistFile]:
    files = [
        _file(name, release, f"{release.version}-{tag}.whl", tag) for tag in release.wheel_tags
    ]
    if release.sdist:
        files.append(_file(name, release, f"{release.version}.tar.gz", None))
    return files


def _file(name: str, release: Release, suffix: str, tag: str | None) -> DistFile:
    index_python = release.index_requires_python
    return DistFile(
        project=canonicalize_name(name),
        filename=f"{name}-{suffix}",
        url=f"https://memory.invalid/{name}-{suffix}",
        version=Version(release.version),
        is_wheel=tag is not None,
        tags=frozenset(parse_tag(tag)) if tag else frozenset(),
        requires_python=SpecifierSet(index_python) if index_python else None,
        yanked=release.yanked,
        source="memory",
    )


def _resolve(
    source: MemorySource,
    *lines: str,
    profile: Profile = WINDOWS,
    policy: FilePolicy = DEFAULT_POLICY,
    constraints: Sequence[RootRequirement] = (),
    preferred: Mapping[NormalizedName, Version] | None = None,
) -> Resolution:
    roots = [
        RootRequirement(requirement=Requirement(line), written_in="requirements.txt", line=number)
        for number, line in enumerate(lines, start=1)
    ]
    return resolve_for(
        profile, roots, source, policy=policy, constraints=constraints, preferred=preferred
    )


def _versions(resolution: Resolution) -> dict[str, str]:
    return {package.name: str(package.version) for package in resolution.packages}


def test_markers_are_evaluated_in_the_targets_environment() -> None:
    source = MemorySource(
        {
            "app": [
                Release(
                    "1.0",
                    requires_dist=(
                        'winonly; sys_platform == "win32"',
                        'linuxonly; sys_platform == "linux"',
                        'old36; python_version < "3.7"',
                        'fast; extra == "speed"',
                    ),
                )
            ],
            "winonly": [Release("1.0")],
            "linuxonly": [Release("1.0")],
            "old36": [Release("1.0")],
            "fast": [Release("1.0")],
        }
    )
    assert _versions(_resolve(source, "app")) == {"app": "1.0", "winonly": "1.0", "old36": "1.0"}
    assert _versions(_resolve(source, "app[speed]", profile=LINUX)) == {
        "app": "1.0",
        "linuxonly": "1.0",
        "fast": "1.0",
    }


def test_a_root_requirement_whose_marker_is_false_on_the_target_is_left_out() -> None:
    source = MemorySource({"pywin": [Release("1.0")]})
    resolution = _resolve(source, 'pywin; platform_system == "Windows"', profile=LINUX)
    assert resolution.packages == ()
    assert _versions(_resolve(source, 'pywin; platform_system == "Windows"')) == {"pywin": "1.0"}


def test_requires_python_is_checked_against_the_full_version() -> None:
    source = MemorySource(
        {
            # from the index page: 1.2 needs 3.6.2, 1.1 excludes 3.6.*
            "fullver": [
                Release("1.0", index_requires_python=">=3.6.1"),
                Release("1.1", index_requires_python=">=2.7,!=3.6.*"),
                Release("1.2", index_requires_python=">=3.6.2"),
            ],
            # only in the metadata: the index says nothing
            "quiet": [Release("1.0"), Release("2.0", requires_python=">=3.7")],
        }
    )
    resolution = _resolve(source, "fullver", "quiet")
    assert _versions(resolution) == {"fullver": "1.0", "quiet": "1.0"}
    fullver = next(p for p in resolution.packages if p.name == "fullver")
    reasons = {str(r.version): r.reason for r in fullver.newer}
    assert reasons == {"1.2": "Requires-Python >=3.6.2", "1.1": "Requires-Python !=3.6.*,>=2.7"}


def test_wheel_first_beats_a_newer_sdist_only_version_unless_told_otherwise() -> None:
    source = MemorySource(
        {
            "nativelib": [
                Release("1.0", wheel_tags=(WIN36, MANYLINUX)),
                Release("2.0", wheel_tags=(), sdist=True),
            ]
        }
    )
    resolution = _resolve(source, "nativelib")
    (package,) = resolution.packages
    assert (str(package.version), package.choice.needs_build) == ("1.0", False)
    assert [str(r.version) for r in package.newer] == ["2.0"]
    assert "wheel-first" in package.newer[0].reason
    newest = _resolve(source, "nativelib", policy=FilePolicy(prefer_newest=True))
    (package,) = newest.packages
    assert (str(package.version), package.choice.needs_build) == ("2.0", True)


def test_the_best_ranked_tag_is_chosen_and_foreign_wheels_are_not_usable() -> None:
    source = MemorySource(
        {
            "multi": [Release("1.0", wheel_tags=("py3-none-any", WIN36))],
            "linuxonly": [Release("1.0", wheel_tags=(MANYLINUX,))],
        }
    )
    (multi,) = _resolve(source, "multi").packages
    assert multi.choice.wheel is not None and multi.choice.wheel.filename.endswith(f"{WIN36}.whl")
    with pytest.raises(ResolutionError, match="no wheel for cp36-cp36m-win_amd64"):
        _resolve(source, "linuxonly")


def test_yanked_files_are_used_only_when_pinned_exactly() -> None:
    source = MemorySource({"yanky": [Release("1.0"), Release("1.1", yanked="broken release")]})
    (package,) = _resolve(source, "yanky").packages
    assert str(package.version) == "1.0"
    assert package.newer[0].reason == "yanked: broken release"
    (pinned,) = _resolve(source, "yanky==1.1").packages
    assert str(pinned.version) == "1.1"


def test_pre_releases_only_when_asked_or_named() -> None:
    source = MemorySource({"beta": [Release("1.0"), Release("2.0b1")]})
    assert _versions(_resolve(source, "beta")) == {"beta": "1.0"}
    assert _versions(_resolve(source, "beta", policy=FilePolicy(pre=True))) == {"beta": "2.0b1"}
    assert _versions(_resolve(source, "beta>=2.0b1")) == {"beta": "2.0b1"}


def test_dependencies_and_who_required_each_are_recorded() -> None:
    source = MemorySource(
        {
            "web": [Release("2.0", requires_dist=("clicky>=7",))],
            "clicky": [Release("6.0"), Release("7.0")],
        }
    )
    resolution = _resolve(source, "web")
    web, clicky = resolution.packages[1], resolution.packages[0]
    assert (web.name, clicky.name) == ("web", "clicky")
    assert web.dependencies == ("clicky",)
    assert str(clicky.version) == "7.0"
    assert [str(by) for by in clicky.required_by] == ["web 2.0 (clicky>=7)"]
    assert [str(by) for by in web.required_by] == ["requirements.txt:1 (web)"]


def test_a_conflict_names_both_requirements_with_their_chains() -> None:
    source = MemorySource(
        {
            "web": [Release("2.0", requires_dist=("clicky>=7",))],
            "old": [Release("1.0", requires_dist=("clicky<7",))],
            "clicky": [Release("6.0"), Release("7.0")],
        }
    )
    with pytest.raises(ResolutionError) as caught:
        _resolve(source, "web", "old")
    message = str(caught.value)
    assert "conflicting requirements for clicky" in message
    assert "clicky>=7 <- web 2.0 <- requirements.txt:1" in message
    assert "clicky<7 <- old 1.0 <- requirements.txt:2" in message


def test_nothing_usable_names_the_newest_version_that_would_work() -> None:
    source = MemorySource(
        {"lib": [Release("1.0", wheel_tags=(WIN36,)), Release("2.0", wheel_tags=(MANYLINUX,))]}
    )
    with pytest.raises(ResolutionError) as caught:
        _resolve(source, "lib>=2")
    message = str(caught.value)
    assert "2.0: no wheel for cp36-cp36m-win_amd64" in message
    assert "newest version usable on python361x64: 1.0 (a wheel)" in message


def test_requires_python_of_the_target_rules_out_every_version() -> None:
    source = MemorySource({"modern": [Release("1.0", requires_python=">=3.8")]})
    with pytest.raises(
        ResolutionError, match=re.escape("needs Python >=3.8, the target has 3.6.1")
    ):
        _resolve(source, "modern")


def test_constraints_narrow_without_adding() -> None:
    source = MemorySource({"clicky": [Release("6.0"), Release("7.0")], "unused": [Release("1.0")]})
    constraints = [
        RootRequirement(requirement=Requirement("clicky<7"), written_in="constraints.txt", line=1),
        RootRequirement(requirement=Requirement("unused"), written_in="constraints.txt", line=2),
    ]
    resolution = _resolve(source, "clicky", constraints=constraints)
    assert _versions(resolution) == {"clicky": "6.0"}


def test_preferred_versions_are_kept_while_they_fit() -> None:
    source = MemorySource({"clicky": [Release("6.0"), Release("7.0")]})
    kept = _resolve(source, "clicky", preferred={canonicalize_name("clicky"): Version("6.0")})
    assert _versions(kept) == {"clicky": "6.0"}
    (package,) = kept.packages
    assert "the lock keeps 6.0" in package.newer[0].reason
    moved = _resolve(source, "clicky>6", preferred={canonicalize_name("clicky"): Version("6.0")})
    assert _versions(moved) == {"clicky": "7.0"}


def test_metadata_is_read_only_for_the_versions_tried() -> None:
    source = MemorySource({"many": [Release(f"1.{minor}") for minor in range(30)]})
    _resolve(source, "many")
    assert "many-1.29-py3-none-any.whl" in source.metadata_reads
    assert len(set(source.metadata_reads)) <= 2  # the chosen one, and at most one prefetched
