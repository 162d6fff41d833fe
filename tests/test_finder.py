"""The index client against real servers: PEP 691 and 503 alike, find-links, metadata, the cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.dists import make_sdist, make_wheel
from tests.support.index import StaticIndex
from vendorer.errors import IndexError_
from vendorer.finder import ACCEPT, Finder


@pytest.fixture
def dists(dist_dir: Path) -> Path:
    make_wheel(dist_dir, "alpha", "1.0", requires_python=">=3.6", requires_dist=["beta"])
    make_wheel(dist_dir, "alpha", "1.1", tag="cp36-cp36m-win_amd64")
    make_sdist(dist_dir, "alpha", "1.1", metadata_version="2.2", requires_dist=["gamma"])
    make_sdist(dist_dir, "dynamic", "1.0", dynamic=["Requires-Dist"], metadata_version="2.2")
    make_wheel(dist_dir, "beta", "2.0")
    return dist_dir


def _summary(finder: Finder, name: str) -> dict[str, tuple[object, ...]]:
    return {
        f.filename: (str(f.version), f.is_wheel, sorted(map(str, f.tags)), dict(f.hashes),
                     str(f.requires_python), f.yanked, f.metadata_hashes)
        for f in finder.project_files(name)
    }  # fmt: skip


def test_json_and_html_pages_give_the_same_files(
    dists: Path, static_index: Callable[..., StaticIndex], tmp_path: Path
) -> None:
    index = static_index(dists, yanked={"alpha-1.1.tar.gz": ""})
    with Finder(index_urls=[index.url]) as finder:
        from_json = _summary(finder, "Alpha")
    assert index.requests[0][2]["Accept"] == ACCEPT
    with Finder(index_urls=[index.url], accept="text/html") as finder:
        from_html = _summary(finder, "alpha")
    assert index.requests[-1][2]["Accept"] == "text/html"
    assert from_json == from_html
    wheel = from_json["alpha-1.0-py3-none-any.whl"]
    assert wheel[0] == "1.0" and wheel[4] == ">=3.6"
    assert from_json["alpha-1.1.tar.gz"][5] == ""  # yanked without a reason
    assert from_json["alpha-1.1-cp36-cp36m-win_amd64.whl"][2] == ["cp36-cp36m-win_amd64"]


def test_metadata_comes_from_the_metadata_file_not_the_wheel(
    dists: Path, static_index: Callable[..., StaticIndex]
) -> None:
    index = static_index(dists)
    with Finder(index_urls=[index.url]) as finder:
        wheel = next(f for f in finder.project_files("alpha") if f.filename.endswith("any.whl"))
        metadata = finder.metadata(wheel)
    assert metadata is not None and [str(r) for r in metadata.requires_dist or []] == ["beta"]
    assert index.paths("/files/") == ["/files/alpha-1.0-py3-none-any.whl.metadata"]


def test_metadata_without_pep_658_reads_the_wheel_and_reliable_sdists_only(
    dists: Path, static_index: Callable[..., StaticIndex]
) -> None:
    index = static_index(dists, metadata=False)
    with Finder(index_urls=[index.url]) as finder:
        files = {f.filename: f for f in finder.project_files("alpha")}
        assert finder.metadata(files["alpha-1.0-py3-none-any.whl"]) is not None
        sdist = finder.metadata(files["alpha-1.1.tar.gz"])
        assert sdist is not None and [str(r) for r in sdist.requires_dist or []] == ["gamma"]
        (dynamic,) = finder.project_files("dynamic")
        assert finder.metadata(dynamic) is None  # Requires-Dist is dynamic: must be built


def test_find_links_folder_and_page(dists: Path, static_index: Callable[..., StaticIndex]) -> None:
    index = static_index(dists)
    with Finder(index_urls=[], find_links=[str(dists)]) as finder:
        local = {f.filename for f in finder.project_files("beta")}
        (beta,) = finder.project_files("beta")
        assert beta.url.startswith("file://") and finder.fetch(beta)
    with Finder(index_urls=[], find_links=[index.find_links_url]) as finder:
        remote = {f.filename for f in finder.project_files("beta")}
    assert local == remote == {"beta-2.0-py3-none-any.whl"}


def test_pages_are_revalidated_from_the_disk_cache_and_offline_works(
    dists: Path, static_index: Callable[..., StaticIndex], tmp_path: Path
) -> None:
    index = static_index(dists)
    cache = tmp_path / "cache"
    with Finder(index_urls=[index.url], cache_dir=cache) as finder:
        first = _summary(finder, "beta")
    with Finder(index_urls=[index.url], cache_dir=cache) as finder:
        second = _summary(finder, "beta")
    assert first == second
    assert index.statuses[-1] == ("/simple/beta/", 304)
    assert "if-none-match" in {key.lower() for key in index.requests[-1][2]}
    index.requests.clear()
    with Finder(index_urls=[index.url], cache_dir=cache, offline=True) as finder:
        assert _summary(finder, "beta") == first
        with pytest.raises(IndexError_, match=r"offline: .* is not in the cache"):
            finder.project_files("alpha")
    assert index.requests == []


def test_a_project_missing_from_every_index_has_no_files(
    dists: Path, static_index: Callable[..., StaticIndex]
) -> None:
    index = static_index(dists)
    with Finder(index_urls=[index.url]) as finder:
        assert finder.project_files("nonexistent") == []


def test_a_missing_find_links_folder_is_an_error(tmp_path: Path) -> None:
    with (
        Finder(index_urls=[], find_links=[str(tmp_path / "nope")]) as finder,
        pytest.raises(IndexError_, match="does not exist"),
    ):
        finder.project_files("x")
