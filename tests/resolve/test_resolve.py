"""`vendorer lock` end to end against real indexes on loopback: every resolution rule."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support.dists import make_wheel
from tests.support.index import PypiServer, StaticIndex
from tests.support.scenario import YANKED, build_scenario
from vendorer.app.index_session import IndexSession
from vendorer.app.locking import lock_indexes, make_lock
from vendorer.errors import IndexError_, ResolutionError
from vendorer.inputs.options import LockOptions
from vendorer.lock.model import Lock
from vendorer.lock.pylock import read_lock
from vendorer.resolve import candidates
from vendorer.resolve.chains import FromPackage
from vendorer.target.catalog import ProfileCatalog

WINDOWS = ProfileCatalog().load("python361x64")
LINUX = ProfileCatalog().load("linux-python312")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_scenario(tmp_path_factory.mktemp("scenario"))


@pytest.fixture
def index(scenario: Path, static_index: Callable[..., StaticIndex]) -> StaticIndex:
    return static_index(scenario, yanked=YANKED)


def _requirements(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _versions(lock: Lock) -> dict[str, str]:
    return {package.name: str(package.version) for package in lock.packages}


def test_markers_extras_and_requires_python_are_the_targets(
    tmp_path: Path, index: StaticIndex
) -> None:
    requirements = _requirements(tmp_path, "webfw[speed]", "fullver")
    windows = make_lock(WINDOWS, requirements, LockOptions(index_url=index.url)).lock
    assert _versions(windows) == {
        "webfw": "2.0",  # 3.0 needs Python >= 3.7
        "clicky": "7.0",  # 8.0 excludes 3.6.*
        "colorish": "1.0",  # platform_system == "Windows"
        "dataclassy": "1.0",  # python_version < "3.7"
        "oldmeta": "1.0",  # python_version < "3.8"
        "fastpath": "1.0",  # the speed extra
        "fullver": "1.0",  # 1.1 needs >= 3.6.2
    }
    linux = make_lock(LINUX, requirements, LockOptions(index_url=index.url)).lock
    assert _versions(linux) == {"webfw": "3.0", "clicky": "8.0", "fullver": "1.1"}
    clicky = windows.package("clicky")
    assert clicky is not None
    assert clicky.required_by == (
        FromPackage(
            package=canonicalize_name("webfw"), version=Version("2.0"), requirement="clicky>=7"
        ),
    )
    assert any(line.startswith("8.0: Requires-Python") for line in clicky.newer)


def test_the_lock_records_files_hashes_and_the_profile(tmp_path: Path, index: StaticIndex) -> None:
    requirements = _requirements(tmp_path, "nativelib")
    result = make_lock(WINDOWS, requirements, LockOptions(index_url=index.url))
    assert result.path == tmp_path / "pylock.python361x64.toml"
    lock = read_lock(result.path)
    assert lock.profile == "python361x64"
    package = lock.package("nativelib")
    assert package is not None
    assert package.file.filename == "nativelib-1.0-cp36-cp36m-win_amd64.whl"
    assert package.file.url == f"{index.base}/files/{package.file.filename}"
    assert len(package.file.sha256) == 64
    linux = make_lock(LINUX, requirements, LockOptions(index_url=index.url)).lock.package(
        "nativelib"
    )
    assert linux is not None and "manylinux2014_x86_64" in linux.file.filename


def test_wheel_first_unless_prefer_newest(tmp_path: Path, index: StaticIndex) -> None:
    requirements = _requirements(tmp_path, "nativelib", "puresdist")
    lock = make_lock(WINDOWS, requirements, LockOptions(index_url=index.url)).lock
    assert _versions(lock)["nativelib"] == "1.0"
    puresdist = lock.package("puresdist")
    assert puresdist is not None and puresdist.needs_build  # no version has a wheel
    assert _versions(lock)["colorish"] == "1.0"  # read from the sdist's reliable PKG-INFO
    newest = make_lock(
        WINDOWS, requirements, LockOptions(index_url=index.url, prefer_newest=True)
    ).lock
    nativelib = newest.package("nativelib")
    assert nativelib is not None and str(nativelib.version) == "2.0" and nativelib.needs_build


def test_yanked_files_are_skipped_unless_pinned(tmp_path: Path, index: StaticIndex) -> None:
    loose = make_lock(WINDOWS, _requirements(tmp_path, "yanky"), LockOptions(index_url=index.url))
    assert _versions(loose.lock)["yanky"] == "1.0"
    pinned = make_lock(
        WINDOWS, _requirements(tmp_path, "yanky==1.1"), LockOptions(index_url=index.url)
    )
    assert _versions(pinned.lock)["yanky"] == "1.1"


def test_a_conflict_names_both_requirements_and_their_chains(
    tmp_path: Path, index: StaticIndex
) -> None:
    requirements = _requirements(tmp_path, "webfw", "needsoldclicky")
    with pytest.raises(ResolutionError) as caught:
        make_lock(WINDOWS, requirements, LockOptions(index_url=index.url))
    message = str(caught.value)
    assert message.startswith("cannot resolve the requirements for python361x64:")
    assert "conflicting requirements for clicky:" in message
    assert "clicky>=7 <- webfw 2.0 <- requirements.txt:1" in message
    assert "clicky<7 <- needsoldclicky 1.0 <- requirements.txt:2" in message


def test_no_usable_file_names_the_tags_and_the_newest_that_works(
    tmp_path: Path, index: StaticIndex
) -> None:
    with pytest.raises(ResolutionError) as caught:
        make_lock(WINDOWS, _requirements(tmp_path, "winonly312"), LockOptions(index_url=index.url))
    message = str(caught.value)
    assert "no usable version of winonly312" in message
    assert "1.0: no wheel for cp36-cp36m-win_amd64 (its wheels are for cp312-cp312-win_amd64)" in (
        message
    )
    assert "0.9: no wheel for cp36-cp36m-win_amd64" in message
    assert "no version of winonly312 is usable on python361x64" in message
    with pytest.raises(ResolutionError) as pinned:
        make_lock(
            WINDOWS, _requirements(tmp_path, "fullver>=1.1"), LockOptions(index_url=index.url)
        )
    assert "1.1: Requires-Python >=3.6.2" in str(pinned.value)
    assert "newest version usable on python361x64: 1.0 (a wheel)" in str(pinned.value)


def test_pypiserver_html_without_requires_python_gives_the_same_lock(
    tmp_path: Path, scenario: Path, index: StaticIndex, pypi_server: Callable[[Path], PypiServer]
) -> None:
    """pypiserver lists no Requires-Python: it must come from each wheel's own metadata."""
    server = pypi_server(scenario)
    requirements = _requirements(tmp_path, "webfw[speed]", "fullver", "nativelib")
    from_pypiserver = make_lock(WINDOWS, requirements, LockOptions(index_url=server.url)).lock
    from_static = make_lock(WINDOWS, requirements, LockOptions(index_url=index.url)).lock
    assert _versions(from_pypiserver) == _versions(from_static)
    assert _versions(from_pypiserver)["clicky"] == "7.0"


def test_an_unchanged_app_is_not_resolved_again(tmp_path: Path, index: StaticIndex) -> None:
    requirements = _requirements(tmp_path, "webfw")
    first = make_lock(WINDOWS, requirements, LockOptions(index_url=index.url))
    assert first.changed
    index.requests.clear()
    again = make_lock(WINDOWS, requirements, LockOptions(index_url=index.url))
    assert not again.changed and again.lock == first.lock
    assert index.requests == []  # no network at all
    requirements.write_text("webfw\nfullver\n", encoding="utf-8")
    assert make_lock(WINDOWS, requirements, LockOptions(index_url=index.url)).changed


def test_a_failed_resolution_leaves_the_previous_lock(tmp_path: Path, index: StaticIndex) -> None:
    requirements = _requirements(tmp_path, "webfw")
    good = make_lock(WINDOWS, requirements, LockOptions(index_url=index.url))
    before = good.path.read_bytes()
    requirements.write_text("webfw\nneedsoldclicky\n", encoding="utf-8")
    with pytest.raises(ResolutionError):
        make_lock(WINDOWS, requirements, LockOptions(index_url=index.url))
    assert good.path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_credentials_in_the_url_are_used_and_never_written(
    tmp_path: Path, scenario: Path, static_index: Callable[..., StaticIndex]
) -> None:
    index = static_index(scenario, auth=("deploy", "hunter2-secret"))
    url = index.url.replace("http://", "http://deploy:hunter2-secret@")
    result = make_lock(WINDOWS, _requirements(tmp_path, "clicky"), LockOptions(index_url=url))
    assert "hunter2" not in result.path.read_text(encoding="utf-8")
    with pytest.raises(IndexError_) as refused:
        make_lock(WINDOWS, _requirements(tmp_path, "clicky"), LockOptions(index_url=index.url),
                  force=True)  # fmt: skip
    assert "HTTP 401" in str(refused.value) and "credentials" in str(refused.value)


def test_netrc_credentials(
    tmp_path: Path, scenario: Path, static_index: Callable[..., StaticIndex]
) -> None:
    index = static_index(scenario, auth=("deploy", "from-netrc"))
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login deploy password from-netrc\n", encoding="utf-8")
    netrc.chmod(0o600)
    os.environ["NETRC"] = str(netrc)  # the autouse fixture restores it
    result = make_lock(WINDOWS, _requirements(tmp_path, "clicky"), LockOptions(index_url=index.url))
    assert _versions(result.lock) == {"clicky": "7.0"}


def test_network_failures_have_their_own_messages(tmp_path: Path, index: StaticIndex) -> None:
    requirements = _requirements(tmp_path, "clicky")
    closed = "http://127.0.0.1:9/simple/"  # the discard port: nothing listens
    with pytest.raises(IndexError_, match=r"cannot reach 127\.0\.0\.1 .*check --index-url"):
        make_lock(WINDOWS, requirements, LockOptions(index_url=closed, retries=1))
    index.delay(1.0)
    with pytest.raises(IndexError_, match=r"no answer within 0\.2 s after 2 tries"):
        make_lock(WINDOWS, requirements, LockOptions(index_url=index.url, timeout=0.2, retries=2))
    index.delay(0)
    index.fail_next("/simple/clicky/", 500, count=2)
    recovered = make_lock(WINDOWS, requirements, LockOptions(index_url=index.url, retries=3))
    assert _versions(recovered.lock) == {"clicky": "7.0"}


def test_a_file_whose_bytes_do_not_match_is_refused(
    tmp_path: Path, scenario: Path, static_index: Callable[..., StaticIndex]
) -> None:
    index = static_index(scenario, metadata=False)  # metadata must come from the wheel itself
    index.serve_wrong_bytes("clicky-7.0-py3-none-any.whl")
    with pytest.raises(IndexError_, match="does not match the index's"):
        make_lock(WINDOWS, _requirements(tmp_path, "clicky"), LockOptions(index_url=index.url))


def test_find_links_folder_and_local_paths(tmp_path: Path, scenario: Path) -> None:
    wheel = scenario / "colorish-1.0-py3-none-any.whl"
    requirements = _requirements(tmp_path, f"{wheel}", "dataclassy")
    options = LockOptions(index_url="http://127.0.0.1:9/simple/", find_links=(str(scenario),))
    (tmp_path / "requirements.txt").write_text(
        f"--no-index\n-f {scenario}\n{wheel}\ndataclassy\n", encoding="utf-8"
    )
    lock = make_lock(WINDOWS, requirements, LockOptions(find_links=options.find_links)).lock
    assert _versions(lock) == {"colorish": "1.0", "dataclassy": "1.0"}
    colorish = lock.package("colorish")
    assert colorish is not None and colorish.file.path is not None
    assert (tmp_path / colorish.file.path).resolve() == wheel.resolve()


def test_requires_python_read_from_the_wheel_explains_itself(
    tmp_path: Path, scenario: Path, pypi_server: Callable[[Path], PypiServer]
) -> None:
    server = pypi_server(scenario)
    with pytest.raises(ResolutionError) as caught:
        make_lock(
            WINDOWS, _requirements(tmp_path, "fullver==1.1"), LockOptions(index_url=server.url)
        )
    assert "fullver 1.1 needs Python >=3.6.2, the target has 3.6.1 (requirements.txt:1)" in str(
        caught.value
    )


def test_offline_resolves_from_the_cache_alone(tmp_path: Path, index: StaticIndex) -> None:
    requirements = _requirements(tmp_path, "webfw")
    online = make_lock(WINDOWS, requirements, LockOptions(index_url=index.url)).lock
    index.requests.clear()
    again = make_lock(
        WINDOWS, requirements, LockOptions(index_url=index.url, offline=True), force=True
    ).lock
    assert index.requests == [] and _versions(again) == _versions(online)
    requirements.write_text("webfw\nfullver\n", encoding="utf-8")
    with pytest.raises(IndexError_, match="offline"):
        make_lock(WINDOWS, requirements, LockOptions(index_url=index.url, offline=True))


def test_a_manylinux_wheel_beats_a_host_built_one_and_a_host_built_one_is_a_warning(
    tmp_path: Path,
) -> None:
    links = tmp_path / "links"  # e.g. wheels someone built on their own Linux machine
    make_wheel(links, "hostpick", "1.0", tag="cp312-cp312-linux_x86_64")
    make_wheel(links, "hostpick", "1.0", tag="cp312-cp312-manylinux_2_17_x86_64")
    make_wheel(links, "hostonly", "1.0", tag="cp312-cp312-linux_x86_64")
    requirements = _requirements(tmp_path, "--no-index", "hostpick", "hostonly")
    options = LockOptions(find_links=(str(links),))
    result = make_lock(LINUX, requirements, options)
    files = {package.name: package.file.filename for package in result.lock.packages}
    assert files == {
        "hostpick": "hostpick-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
        "hostonly": "hostonly-1.0-cp312-cp312-linux_x86_64.whl",  # the only one: taken, but...
    }
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith(
        "hostonly-1.0-cp312-cp312-linux_x86_64.whl is a linux_x86_64 wheel"
    )
    assert "promises nothing about the glibc of linux-python312" in result.warnings[0]
    again = make_lock(LINUX, requirements, options)  # current: said again, without resolving
    assert not again.changed and again.warnings == result.warnings


def test_the_newest_usable_version_named_by_a_failure_is_no_pre_release(tmp_path: Path) -> None:
    links = tmp_path / "links"
    make_wheel(links, "prerel", "1.0")
    make_wheel(links, "prerel", "1.9", requires_python=">=3.7")  # only its file says so
    make_wheel(links, "prerel", "2.0", tag="cp312-cp312-win_amd64")
    make_wheel(links, "prerel", "2.1rc1")
    requirements = _requirements(tmp_path, "--no-index", "prerel>=2")
    with pytest.raises(ResolutionError) as caught:
        make_lock(WINDOWS, requirements, LockOptions(find_links=(str(links),)))
    assert "newest version usable on python361x64: 1.0 (a wheel)" in str(caught.value)


def _files_asked(index: StaticIndex) -> set[str]:
    """The distribution files the index served (pages and metadata aside)."""
    return {
        path.rsplit("/", 1)[-1]
        for method, path, _ in index.requests
        if method == "GET" and path.endswith((".whl", ".tar.gz"))
    }


def test_a_lock_that_a_wheelhouse_follows_downloads_its_wheels_while_it_resolves(
    tmp_path: Path, index: StaticIndex
) -> None:
    requirements = _requirements(tmp_path, "webfw", "fullver")
    options = LockOptions(index_url=index.url)
    alone = make_lock(WINDOWS, requirements, options, force=True).lock
    assert _files_asked(index) == set()  # `vendorer lock` downloads no wheel
    with IndexSession(lock_indexes(requirements, options), options) as session:
        make_lock(WINDOWS, requirements, options, force=True, dry_run=True, finder=session)
    assert _files_asked(index) == set()  # nor does a dry run
    with IndexSession(lock_indexes(requirements, options), options) as session:
        locked = make_lock(WINDOWS, requirements, options, force=True, finder=session).lock
        assert _versions(locked) == _versions(alone)
    # the session is closed: what it fetched ahead is done, and each pinned wheel was fetched
    wheels = {p.file.filename for p in locked.packages if p.file.is_wheel}
    assert wheels and _files_asked(index) == wheels


def test_only_the_versions_resolution_reaches_are_judged(
    tmp_path: Path, static_index: Callable[..., StaticIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Of 41 versions, resolution takes the newest that fits: that one and the newer one it
    passed over (recorded in the lock, with its reason) are judged, not the 39 older ones."""
    dists = tmp_path / "dists"
    for minor in range(40):
        make_wheel(dists, "many", f"1.{minor}")
    make_wheel(dists, "many", "2.0", tag="cp312-cp312-macosx_11_0_arm64")
    judged: list[str] = []
    choose = candidates._choose

    def judging(group: object, *args: object, **kwargs: object) -> object:
        judged.append(str(group.wheels[0].version))  # type: ignore[attr-defined]
        return choose(group, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(candidates, "_choose", judging)
    index = static_index(dists)
    lock = make_lock(LINUX, _requirements(tmp_path, "many"), LockOptions(index_url=index.url)).lock
    package = lock.package("many")
    assert package is not None and str(package.version) == "1.39"
    assert [line.split(":")[0] for line in package.newer] == ["2.0"]
    assert sorted(set(judged)) == ["1.39", "2.0"]
