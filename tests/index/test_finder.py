"""The index client against real servers on loopback: PEP 691 and 503 alike, PEP 658 metadata,
find-links, credentials, retries, the disk cache and every failure's own error."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from packaging.version import Version

from tests.support.dists import make_sdist, make_wheel, metadata_text, write_tar_gz, write_zip
from tests.support.index import JSON_TYPE, PypiServer, StaticIndex, core_metadata, free_port
from tests.support.reporter import Recorder
from vendorer._util.urls import WEB_SCHEMES, redact, url_problem
from vendorer.errors import IndexError_, UsageError
from vendorer.index.errors import (
    BrokenDownloadError,
    HashMismatchError,
    HttpStatusError,
    IndexAuthError,
    IndexPageError,
    IndexTimeoutError,
    IndexUnreachableError,
    MetadataError,
    OfflineError,
    ResponseTooLargeError,
)
from vendorer.index.finder import Finder
from vendorer.index.models import MAX_DOCUMENT, DistFile, Link
from vendorer.index.pages import ACCEPT, dist_file

Summary = dict[str, tuple[object, ...]]


@pytest.fixture
def dists(dist_dir: Path) -> Path:
    make_wheel(dist_dir, "alpha", "1.0", requires_python=">=3.6, !=3.6.0", requires_dist=["beta"])
    make_wheel(dist_dir, "alpha", "1.1", tag="cp36-cp36m-win_amd64")
    make_sdist(dist_dir, "alpha", "1.1", metadata_version="2.2", requires_dist=["gamma>=2"])
    make_sdist(dist_dir, "dynamic", "1.0", metadata_version="2.2", dynamic=["Requires-Dist"])
    make_sdist(dist_dir, "legacy", "1.0", metadata_version="2.1", requires_dist=["beta"])
    make_wheel(dist_dir, "beta", "2.0")
    return dist_dir


def _summary(finder: Finder, name: str) -> Summary:
    return {
        f.filename: (str(f.version), f.is_wheel, sorted(map(str, f.tags)), dict(f.hashes),
                     str(f.requires_python), f.yanked, f.metadata_hashes, f.url, f.source)
        for f in finder.project_files(name)
    }  # fmt: skip


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _file(finder: Finder, name: str, filename: str) -> DistFile:
    return next(f for f in finder.project_files(name) if f.filename == filename)


# --- a small server for pages the static index does not make --------------------------------------

Route = tuple[int, str, bytes, Mapping[str, str]]


class Site:
    """Fixed answers by path on 127.0.0.1, with a log of the requested paths."""

    def __init__(self, routes: Mapping[str, Route]) -> None:
        self.routes = dict(routes)
        self.paths: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                site.paths.append(self.path)
                status, kind, body, headers = site.routes.get(
                    self.path, (404, "text/plain", b"no\n", {})
                )
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[Callable[[Mapping[str, Route]], Site]]:
    started: list[Site] = []

    def start(routes: Mapping[str, Route]) -> Site:
        started.append(Site(routes))
        return started[-1]

    yield start
    for server in started:
        server.close()


def _html(*anchors: str) -> bytes:
    return ("<!DOCTYPE html><html><body>" + "<br/>".join(anchors) + "</body></html>").encode()


# --- project pages --------------------------------------------------------------------------------


def test_json_and_html_pages_give_the_same_files(
    dists: Path, static_index: Callable[..., StaticIndex]
) -> None:
    index = static_index(
        dists, yanked={"alpha-1.1.tar.gz": "", "alpha-1.0-py3-none-any.whl": "bad"}
    )
    with Finder(index_urls=[index.url]) as finder:
        from_json = _summary(finder, "Alpha")  # normalized in the URL
    assert index.requests[0][1] == "/simple/alpha/" and index.requests[0][2]["Accept"] == ACCEPT
    assert index.statuses[0][1] == 200
    with Finder(index_urls=[index.url], accept="text/html") as finder:
        from_html = _summary(finder, "alpha")
    assert index.requests[-1][2]["Accept"] == "text/html"
    assert from_json == from_html
    wheel_name = "alpha-1.0-py3-none-any.whl"
    wheel = from_json[wheel_name]
    assert wheel[:3] == ("1.0", True, ["py3-none-any"])
    assert wheel[3] == {"sha256": _sha256(dists / wheel_name)}
    assert wheel[4] == "!=3.6.0,>=3.6" and wheel[5] == "bad"
    assert wheel[6] == {"sha256": hashlib.sha256(core_metadata(dists / wheel_name)).hexdigest()}
    assert wheel[7] == f"{index.base}/files/{wheel_name}" and wheel[8] == index.url
    sdist = from_json["alpha-1.1.tar.gz"]
    assert sdist[1:3] == (False, []) and sdist[5] == ""  # yanked without a reason
    assert from_json["alpha-1.1-cp36-cp36m-win_amd64.whl"][2] == ["cp36-cp36m-win_amd64"]
    assert from_json["alpha-1.1-cp36-cp36m-win_amd64.whl"][5] is None  # not yanked


def test_html_links_resolve_against_the_page_after_redirects(
    site: Callable[[Mapping[str, Route]], Site],
) -> None:
    digest = "ab" * 32
    page = _html(
        f'<a href="../../files/pkg-1.0-py3-none-any.whl#sha256={digest}" '
        'data-requires-python="&gt;=3.6,&lt;4" data-dist-info-metadata="true">w</a>',
        '<a href="pkg-1.1.zip" data-requires-python="&gt;=3.6.*"'
        ' data-yanked="broken &amp; old">z</a>',
        '<a href="/elsewhere/pkg-1.2.tar.gz#md5=00ff" data-core-metadata="sha256=CD"'
        ' data-dist-info-metadata="true">s</a>',
        '<a href="pkg-0.9.win32.exe">exe</a><a href="pkg-0.9-py2.7.egg">egg</a>',
        '<a href="pkg-nope.tar.gz">bad version</a><a href="pkg-1.0-py3-any.whl">bad wheel</a>',
        '<a href="https://mirror.invalid/other-1.0.tar.gz">another project</a>',
    )
    server = site(
        {
            "/simple/pkg/": (301, "text/plain", b"", {"Location": "/deep/er/pkg/"}),
            "/deep/er/pkg/": (200, "text/html; charset=utf-8", page, {}),
        }
    )
    recorder = Recorder()
    with Finder(index_urls=[f"{server.base}/simple"], reporter=recorder) as finder:
        files = {f.filename: f for f in finder.project_files("PKG")}
    assert sorted(files) == ["pkg-1.0-py3-none-any.whl", "pkg-1.1.zip", "pkg-1.2.tar.gz"]
    wheel, zipped, sdist = (files[n] for n in sorted(files))
    assert wheel.url == f"{server.base}/deep/files/pkg-1.0-py3-none-any.whl"  # not /files/
    assert wheel.hashes == {"sha256": digest} and str(wheel.requires_python) == "<4,>=3.6"
    assert wheel.metadata_hashes == {} and wheel.yanked is None
    assert zipped.url == f"{server.base}/deep/er/pkg/pkg-1.1.zip" and not zipped.is_wheel
    assert zipped.yanked == "broken & old" and zipped.requires_python is None  # invalid: ignored
    assert sdist.url == f"{server.base}/elsewhere/pkg-1.2.tar.gz" and sdist.hashes == {
        "md5": "00ff"
    }
    assert sdist.metadata_hashes == {"sha256": "cd"}  # PEP 714: core-metadata wins
    warnings = "\n".join(recorder.warnings)
    assert "invalid Requires-Python '>=3.6.*'" in warnings
    assert "pkg-nope.tar.gz" in warnings and "pkg-1.0-py3-any.whl" in warnings
    assert "other-1.0.tar.gz" in warnings  # listed on pkg's page, but another project's file
    assert ".exe" not in warnings and ".egg" not in warnings  # not wheels or sdists: just ignored


def test_json_pages_and_their_edge_cases(site: Callable[[Mapping[str, Route]], Site]) -> None:
    files = [
        {"filename": "pkg-1.0-py3-none-any.whl", "url": "../files/x.whl",
         "hashes": {"sha256": "AA" * 32}, "yanked": "security hole", "requires-python": ">=3.7",
         "core-metadata": False, "dist-info-metadata": {"sha256": "bb" * 32}, "size": 1234},
        {"filename": "pkg-1.1.tar.gz", "url": "https://cdn.invalid/p/pkg-1.1.tar.gz",
         "hashes": {}, "yanked": True, "dist-info-metadata": True, "size": True},
        {"filename": "pkg-2.0.tar.gz", "url": "/f/pkg-2.0.tar.gz#sha256=" + "cc" * 32,
         "hashes": {}, "yanked": False, "requires-python": "", "size": -1},
        "not an entry",
    ]  # fmt: skip
    document = {"meta": {"api-version": "1.3"}, "name": "pkg", "files": files}
    future = {"meta": {"api-version": "2.0"}, "name": "new", "files": []}
    server = site(
        {
            "/simple/pkg/": (200, JSON_TYPE, json.dumps(document).encode(), {}),
            "/simple/new/": (200, JSON_TYPE, json.dumps(future).encode(), {}),
            "/simple/junk/": (200, JSON_TYPE, b"<html>", {}),
            "/simple/v2/": (200, "application/vnd.pypi.simple.v2+json", b"{}", {}),
        }
    )
    recorder = Recorder()
    with Finder(index_urls=[f"{server.base}/simple/"], reporter=recorder) as finder:
        wheel, yanked, plain = finder.project_files("pkg")
        assert wheel.url == f"{server.base}/simple/files/x.whl"  # the JSON filename is the name
        assert wheel.hashes == {"sha256": "aa" * 32} and wheel.yanked == "security hole"
        assert str(wheel.requires_python) == ">=3.7" and wheel.metadata_hashes is None
        assert yanked.yanked == "" and yanked.metadata_hashes == {} and yanked.hashes == {}
        assert plain.hashes == {"sha256": "cc" * 32} and plain.requires_python is None
        assert plain.yanked is None and plain.url == f"{server.base}/f/pkg-2.0.tar.gz"
        assert (wheel.size, yanked.size, plain.size) == (1234, None, None)  # PEP 700, if sane
        assert any("malformed file entry" in w for w in recorder.warnings)
        for name in ("new", "v2"):
            with pytest.raises(IndexPageError, match="version 2 of the simple API"):
                finder.project_files(name)
        with pytest.raises(IndexPageError, match="not valid JSON"):
            finder.project_files("junk")


def test_a_project_missing_from_an_index_has_no_files(
    dists: Path, static_index: Callable[..., StaticIndex]
) -> None:
    index = static_index(dists)
    with Finder(index_urls=[index.url]) as finder:
        assert finder.project_files("nonexistent") == []
    assert index.statuses == [("/simple/nonexistent/", 404)]


def test_several_indexes_and_find_links_are_merged_in_order(
    dists: Path, tmp_path: Path, static_index: Callable[..., StaticIndex]
) -> None:
    second = tmp_path / "second"
    make_wheel(second, "beta", "3.0")
    (second / "beta-2.0-py3-none-any.whl").write_bytes(b"a different file of the same name")
    local = tmp_path / "local"
    make_wheel(local, "beta", "4.0")
    make_wheel(local, "beta", "3.0")
    first_index, second_index = static_index(dists), static_index(second)
    recorder = Recorder()
    with Finder(
        index_urls=[first_index.url, second_index.url], find_links=[str(local)], reporter=recorder
    ) as finder:
        finder.prefetch(["beta", "alpha"])
        files = finder.project_files("beta")
    assert [(f.filename, f.source) for f in files] == [
        ("beta-2.0-py3-none-any.whl", first_index.url),
        ("beta-3.0-py3-none-any.whl", second_index.url),
        ("beta-4.0-py3-none-any.whl", str(local)),
    ]
    assert files[2].url == (local / "beta-4.0-py3-none-any.whl").resolve().as_uri()
    assert any("beta-2.0-py3-none-any.whl differs between" in w for w in recorder.warnings)
    assert sorted(first_index.paths("/simple/")) == ["/simple/alpha/", "/simple/beta/"]


def test_the_real_pypiserver(dists: Path, pypi_server: Callable[[Path], PypiServer]) -> None:
    server = pypi_server(dists)
    with Finder(index_urls=[server.url]) as finder:
        wheel = _file(finder, "alpha", "alpha-1.0-py3-none-any.whl")
        assert wheel.hashes == {"sha256": _sha256(dists / wheel.filename)}
        assert wheel.metadata_hashes is None and wheel.requires_python is None  # HTML only
        metadata = finder.metadata(wheel)  # read from the wheel itself
    assert metadata is not None and str(metadata.requires_python) == "!=3.6.0,>=3.6"
    assert [str(r) for r in metadata.requires_dist or []] == ["beta"]


# --- find-links -----------------------------------------------------------------------------------


def test_find_links_folder_page_and_file_url(
    dists: Path, static_index: Callable[..., StaticIndex], tmp_path: Path
) -> None:
    index = static_index(dists)
    (dists / "notes.txt").write_text("not a distribution", encoding="utf-8")
    (dists / "subfolder.whl").mkdir()
    recorder = Recorder()
    with Finder(index_urls=[], find_links=[str(dists)], reporter=recorder) as finder:
        (beta,) = finder.project_files("beta")
        assert beta.url == (dists / "beta-2.0-py3-none-any.whl").resolve().as_uri()
        assert beta.hashes == {} and beta.source == str(dists)
        downloaded = finder.download(beta, tmp_path / "out")
        assert downloaded.read_bytes() == (dists / beta.filename).read_bytes()
        assert finder.project_files("alpha") and recorder.warnings == []
    with Finder(index_urls=[], find_links=[index.find_links_url]) as finder:
        (remote,) = finder.project_files("beta")
        assert finder.project_files("alpha")
    assert remote.filename == beta.filename and remote.source == index.find_links_url
    assert remote.hashes == {"sha256": _sha256(dists / beta.filename)}
    assert index.paths("/links/") == ["/links/"]  # one read for every project
    with Finder(index_urls=[], find_links=[dists.as_uri()]) as finder:
        assert [f.filename for f in finder.project_files("beta")] == [beta.filename]


def test_a_missing_find_links_folder_is_an_error(tmp_path: Path) -> None:
    with (
        Finder(index_urls=[], find_links=[str(tmp_path / "nope")]) as finder,
        pytest.raises(IndexError_, match="does not exist; check --find-links"),
    ):
        finder.project_files("x")


# --- metadata -------------------------------------------------------------------------------------


def test_metadata_comes_from_the_metadata_file_not_the_wheel(
    dists: Path, static_index: Callable[..., StaticIndex], tmp_path: Path
) -> None:
    index = static_index(dists)
    cache = tmp_path / "cache"
    for _ in range(2):
        with Finder(index_urls=[index.url], cache_dir=cache) as finder:
            wheel = _file(finder, "alpha", "alpha-1.0-py3-none-any.whl")
            finder.prefetch_metadata([wheel])
            metadata = finder.metadata(wheel)
        assert metadata is not None and [str(r) for r in metadata.requires_dist or []] == ["beta"]
        assert str(metadata.requires_python) == "!=3.6.0,>=3.6" and metadata.name == "alpha"
    # one .metadata request in all: the second run reuses the verified copy in the cache
    assert index.paths("/files/") == ["/files/alpha-1.0-py3-none-any.whl.metadata"]


def test_metadata_without_pep_658_nor_ranges_reads_the_wheel_and_reliable_sdists_only(
    dists: Path, static_index: Callable[..., StaticIndex], tmp_path: Path
) -> None:
    pkg_info = metadata_text("zippy", "1.0", requires_dist=["beta"], metadata_version="2.2")
    write_zip(dists / "zippy-1.0.zip", {"zippy-1.0/PKG-INFO": pkg_info.encode()})
    index = static_index(dists, metadata=False, ranges=False)
    cache = tmp_path / "cache"
    with Finder(index_urls=[index.url], cache_dir=cache) as finder:
        files = {f.filename: f for f in finder.project_files("alpha")}
        wheel = files["alpha-1.0-py3-none-any.whl"]
        assert wheel.metadata_hashes is None
        metadata = finder.metadata(wheel)
        assert metadata is not None and [str(r) for r in metadata.requires_dist or []] == ["beta"]
        sdist = finder.metadata(files["alpha-1.1.tar.gz"])  # Metadata-Version 2.2, static
        assert sdist is not None and [str(r) for r in sdist.requires_dist or []] == ["gamma>=2"]
        (dynamic,) = finder.project_files("dynamic")
        assert finder.metadata(dynamic) is None  # Requires-Dist is dynamic: must be built
        (legacy,) = finder.project_files("legacy")
        assert finder.metadata(legacy) is None  # Metadata-Version 2.1: not reliable
        (zippy,) = finder.project_files("zippy")
        zippy_metadata = finder.metadata(zippy)
        assert zippy_metadata is not None and zippy_metadata.version == zippy.version
        finder.download(wheel, tmp_path / "out")
        beta_metadata = finder.metadata(*finder.project_files("beta"))
        assert beta_metadata is not None and str(beta_metadata.version) == "2.0"
    # asked once by range (the server answers with the whole file, which is not read), then
    # downloaded once, to the cache, and download() reuses it
    asked = [(path, headers.get("Range")) for _, path, headers in index.requests]
    wheel_path = "/files/alpha-1.0-py3-none-any.whl"
    assert [entry for entry in asked if entry[0] == wheel_path] == [
        (wheel_path, "bytes=-65536"),
        (wheel_path, None),
    ]
    beta = "/files/beta-2.0-py3-none-any.whl"  # that index serves no ranges: not asked again
    assert [entry for entry in asked if entry[0] == beta] == [(beta, None)]
    assert (cache / "files" / wheel.hashes["sha256"][:2] / wheel.hashes["sha256"]).is_file()
    assert (tmp_path / "out" / wheel.filename).read_bytes() == (dists / wheel.filename).read_bytes()


def test_metadata_without_pep_658_is_read_by_ranges_and_kept(
    dist_dir: Path, static_index: Callable[..., StaticIndex], tmp_path: Path
) -> None:
    # 1,500 files: a central directory of about 130 KB, more than the first request brings
    files = {f"big/module_{n:04d}_with_a_long_name.py": f"x = {n}\n" for n in range(1500)}
    make_wheel(dist_dir, "big", "1.0", requires_dist=["beta>=2"], files=files)
    index = static_index(dist_dir, metadata=False)
    cache = tmp_path / "cache"
    with Finder(index_urls=[index.url], cache_dir=cache) as finder:
        (wheel,) = finder.project_files("big")
        metadata = finder.metadata(wheel)
    assert metadata is not None and [str(r) for r in metadata.requires_dist or []] == ["beta>=2"]
    asked = [headers for _, path, headers in index.requests if path.endswith(wheel.filename)]
    ranges = [headers.get("Range") for headers in asked]
    assert None not in ranges and len(ranges) <= 3, ranges  # never the whole wheel
    assert ranges[0] == "bytes=-65536" and len(ranges) > 1  # the end, then the rest
    assert not (cache / "files" / wheel.hashes["sha256"][:2] / wheel.hashes["sha256"]).exists()
    with Finder(index_urls=[index.url], cache_dir=cache, offline=True) as finder:
        (wheel,) = finder.project_files("big")
        again = finder.metadata(wheel)  # kept from the first run: nothing asked
    assert again is not None and again.requires_dist == metadata.requires_dist
    assert len([path for path in index.paths("/files/") if path.endswith(wheel.filename)]) == len(
        ranges
    )


def test_invalid_or_foreign_metadata_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "links"
    make_wheel(folder, "good", "1.0", requires_dist=["beta (>=1"])
    make_wheel(folder, "liar", "1.0")
    liar = folder / "liar-1.0-py3-none-any.whl"
    liar.rename(folder / "other-1.0-py3-none-any.whl")
    (folder / "broken-1.0-py3-none-any.whl").write_bytes(b"<html>an error page</html>")
    with Finder(index_urls=[], find_links=[str(folder)]) as finder:
        with pytest.raises(MetadataError, match=r"good-1\.0-py3-none-any\.whl: invalid core"):
            finder.metadata(*finder.project_files("good"))
        with pytest.raises(MetadataError, match=r"names liar 1\.0, not other 1\.0"):
            finder.metadata(*finder.project_files("other"))
        with pytest.raises(BrokenDownloadError, match="not a zip archive"):
            finder.metadata(*finder.project_files("broken"))


def test_an_offered_metadata_file_that_is_missing_falls_back_to_the_wheel(
    site: Callable[[Mapping[str, Route]], Site], tmp_path: Path
) -> None:
    wheel = make_wheel(tmp_path, "pkg", "1.0", requires_dist=["beta"])
    page = _html(f'<a href="{wheel.name}" data-core-metadata="true">w</a>')
    server = site(
        {
            "/simple/pkg/": (200, "text/html", page, {}),
            f"/simple/pkg/{wheel.name}": (200, "application/zip", wheel.read_bytes(), {}),
        }
    )
    recorder = Recorder()
    with Finder(index_urls=[f"{server.base}/simple/"], reporter=recorder) as finder:
        metadata = finder.metadata(*finder.project_files("pkg"))
    assert metadata is not None and [str(r) for r in metadata.requires_dist or []] == ["beta"]
    assert server.paths[1:] == [f"/simple/pkg/{wheel.name}.metadata", f"/simple/pkg/{wheel.name}"]
    assert any("HTTP 404" in w for w in recorder.warnings)


# --- downloads and their failures -----------------------------------------------------------------


def test_download_verifies_and_writes_atomically(
    dists: Path, static_index: Callable[..., StaticIndex], tmp_path: Path
) -> None:
    index = static_index(dists)
    out = tmp_path / "out"
    with Finder(index_urls=[index.url]) as finder:
        wheel = _file(finder, "beta", "beta-2.0-py3-none-any.whl")
        path = finder.download(wheel, out)
        assert path == out / wheel.filename and _sha256(path) == wheel.hashes["sha256"]
        assert finder.download(wheel, out) == path  # again: same bytes, no second request
    assert sorted(p.name for p in out.iterdir()) == [wheel.filename]  # no temporary left
    assert index.paths("/files/") == ["/files/beta-2.0-py3-none-any.whl"]


def test_a_file_whose_bytes_do_not_match_is_deleted_and_refused(
    dists: Path, static_index: Callable[..., StaticIndex], tmp_path: Path
) -> None:
    index = static_index(dists)
    index.serve_wrong_bytes("beta-2.0-py3-none-any.whl")
    index.serve_wrong_bytes("alpha-1.0-py3-none-any.whl.metadata")
    cache = tmp_path / "cache"
    with Finder(index_urls=[index.url], cache_dir=cache) as finder:
        wheel = _file(finder, "beta", "beta-2.0-py3-none-any.whl")
        with pytest.raises(HashMismatchError) as mismatch:
            finder.download(wheel, tmp_path / "out")
        with pytest.raises(HashMismatchError, match=r"\.metadata: sha256"):
            finder.metadata(_file(finder, "alpha", "alpha-1.0-py3-none-any.whl"))
    error = mismatch.value
    assert error.expected == wheel.hashes["sha256"] and error.actual != error.expected
    assert f"sha256 {error.actual} does not match the index's {error.expected}" in str(error)
    assert "deleted" in str(error)
    assert not (tmp_path / "out" / wheel.filename).exists()
    assert [p for p in (cache / "files").rglob("*") if p.is_file()] == []  # nothing kept


def test_a_wheel_that_is_not_a_zip_is_refused_and_deleted(
    site: Callable[[Mapping[str, Route]], Site], tmp_path: Path
) -> None:
    page = _html('<a href="junk-1.0-py3-none-any.whl">no hash on this page</a>')
    server = site(
        {
            "/links/": (200, "text/html", page, {}),
            "/links/junk-1.0-py3-none-any.whl": (200, "text/html", b"<html>log in</html>", {}),
        }
    )
    cache = tmp_path / "cache"
    with Finder(index_urls=[], find_links=[f"{server.base}/links/"], cache_dir=cache) as finder:
        (junk,) = finder.project_files("junk")
        with pytest.raises(BrokenDownloadError, match="not a zip archive"):
            finder.download(junk, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p for p in (cache / "files").rglob("*") if p.is_file()] == []


def test_a_wheel_that_matches_its_listed_hash_is_trusted_to_be_what_was_uploaded(
    site: Callable[[Mapping[str, Route]], Site], tmp_path: Path
) -> None:
    """With the index's hash, a cut transfer or an error page is refused by the hash; a file that
    matches it is the one uploaded, not read again as a zip. One that is no wheel is said so
    when it is read (here, for its metadata)."""
    junk = b"<html>not a wheel, uploaded so</html>"
    digest = hashlib.sha256(junk).hexdigest()
    page = _html(f'<a href="junk-1.0-py3-none-any.whl#sha256={digest}">hashed</a>')
    server = site(
        {
            "/links/": (200, "text/html", page, {}),
            "/links/junk-1.0-py3-none-any.whl": (200, "application/zip", junk, {}),
        }
    )
    with Finder(index_urls=[], find_links=[f"{server.base}/links/"]) as finder:
        (file,) = finder.project_files("junk")
        assert finder.download(file, tmp_path / "out").read_bytes() == junk
        with pytest.raises(BrokenDownloadError, match=r"junk-1\.0-py3-none-any\.whl: not a"):
            finder.metadata(file)


def test_a_dropped_connection_is_retried_then_reported(
    dists: Path, static_index: Callable[..., StaticIndex], tmp_path: Path
) -> None:
    index = static_index(dists)
    index.drop_connection("beta-2.0-py3-none-any.whl")
    with Finder(index_urls=[index.url], retries=2, backoff=0) as finder:
        wheel = _file(finder, "beta", "beta-2.0-py3-none-any.whl")
        with pytest.raises(BrokenDownloadError, match=r"connection dropped .* after 2 tries"):
            finder.download(wheel, tmp_path / "out")
    assert index.paths("/files/") == ["/files/beta-2.0-py3-none-any.whl"] * 2
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_a_missing_file_is_an_http_error(
    dists: Path, static_index: Callable[..., StaticIndex], tmp_path: Path
) -> None:
    index = static_index(dists)
    with Finder(index_urls=[index.url]) as finder:
        wheel = _file(finder, "beta", "beta-2.0-py3-none-any.whl")
        (dists / wheel.filename).unlink()
        with pytest.raises(HttpStatusError, match="HTTP 404: not found") as missing:
            finder.download(wheel, tmp_path)
    assert missing.value.status == 404


# --- network failures -----------------------------------------------------------------------------


def test_server_errors_are_retried_with_backoff(
    dists: Path, static_index: Callable[..., StaticIndex]
) -> None:
    index = static_index(dists)
    index.fail_next("/simple/beta/", 500)
    index.fail_next("/simple/beta/", 429)
    with Finder(index_urls=[index.url], retries=3, backoff=0.01) as finder:
        assert [f.filename for f in finder.project_files("beta")] == ["beta-2.0-py3-none-any.whl"]
    assert [s for p, s in index.statuses if p == "/simple/beta/"] == [500, 429, 200]
    index.fail_next("/simple/alpha/", 503, count=2)
    with (
        Finder(index_urls=[index.url], retries=2, backoff=0) as finder,
        pytest.raises(HttpStatusError, match="HTTP 503 from the server after 2 tries"),
    ):
        finder.project_files("alpha")


def test_a_slow_index_times_out(dists: Path, static_index: Callable[..., StaticIndex]) -> None:
    index = static_index(dists)
    index.delay(1.0)
    url = index.url.replace("http://", "http://someone:hunter2@")
    with (
        Finder(index_urls=[url], timeout=0.2, retries=2, backoff=0) as finder,
        pytest.raises(IndexTimeoutError) as timeout,
    ):
        finder.project_files("beta")
    message = str(timeout.value)
    assert f"{index.url}beta/: no answer within 0.2 s after 2 tries" in message
    assert "hunter2" not in message and "someone" not in message
    assert len(index.paths("/simple/beta/")) == 2


def test_an_unreachable_index_names_its_host() -> None:
    closed = f"http://127.0.0.1:{free_port()}/simple/"
    with (
        Finder(index_urls=[closed], retries=2, backoff=0) as finder,
        pytest.raises(
            IndexUnreachableError, match=r"cannot reach 127\.0\.0\.1 .*check --index-url"
        ),
    ):
        finder.project_files("beta")


def test_proxies_come_from_the_environment(
    dists: Path, static_index: Callable[..., StaticIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    index = static_index(dists)
    seen: list[str] = []

    class Proxy(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # an HTTP proxy gets the absolute URL
            seen.append(self.path)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host"}}
            upstream = httpx.get(self.path, headers=headers, trust_env=False)
            self.send_response(upstream.status_code)
            for key in ("Content-Type", "ETag"):
                if key in upstream.headers:
                    self.send_header(key, upstream.headers[key])
            self.send_header("Content-Length", str(len(upstream.content)))
            self.end_headers()
            self.wfile.write(upstream.content)

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        with Finder(index_urls=[index.url]) as finder:
            assert finder.project_files("beta")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        with Finder(index_urls=[index.url]) as finder:
            assert finder.project_files("alpha")
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert seen == [f"{index.url}beta/"]


# --- credentials ----------------------------------------------------------------------------------


def test_url_credentials_are_sent_but_never_shown(
    dists: Path, static_index: Callable[..., StaticIndex], tmp_path: Path
) -> None:
    index = static_index(dists, auth=("deploy", "s3cr@t"))
    with Finder(index_urls=[index.url.replace("//", "//deploy:s3cr%40t@")]) as finder:
        wheel = _file(finder, "beta", "beta-2.0-py3-none-any.whl")
        assert finder.index_urls == [index.url]
        assert wheel.source == index.url and "s3cr" not in wheel.url
        assert finder.download(wheel, tmp_path).is_file()  # files on that host get them too
        assert finder.metadata(_file(finder, "alpha", "alpha-1.0-py3-none-any.whl")) is not None
    with Finder(index_urls=[index.url.replace("//", "//deploy:s3cr%40t@")]) as finder:
        beta = f"{index.base}/files/beta-2.0-py3-none-any.whl".replace("//", "//deploy@")
        direct = finder.url_file(beta, name="beta")  # the same user, no password: kept
        assert finder.download(direct, tmp_path / "direct").is_file()
    with (
        Finder(index_urls=[index.url.replace("//", "//deploy:Wr0ngPa55@")]) as finder,
        pytest.raises(IndexAuthError, match=r"HTTP 401.*credentials.*netrc") as refused,
    ):
        finder.project_files("beta")
    assert "Wr0ngPa55" not in str(refused.value) and refused.value.status == 401


def test_netrc_credentials(
    dists: Path,
    static_index: Callable[..., StaticIndex],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index = static_index(dists, auth=("deploy", "from-netrc"))
    with Finder(index_urls=[index.url]) as finder, pytest.raises(IndexAuthError):
        finder.project_files("beta")  # no netrc yet
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login deploy password from-netrc\n", encoding="utf-8")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with Finder(index_urls=[index.url]) as finder:
        assert [f.filename for f in finder.project_files("beta")] == ["beta-2.0-py3-none-any.whl"]
    netrc.write_text("garbage here\n", encoding="utf-8")  # unreadable: a warning
    recorder = Recorder()
    with Finder(index_urls=[index.url], reporter=recorder) as finder:
        with pytest.raises(IndexAuthError):
            finder.project_files("beta")
        assert any(str(netrc) in w for w in recorder.warnings)


def test_keyring_passwords_for_a_url_that_names_only_a_user(
    dists: Path,
    static_index: Callable[..., StaticIndex],
    keyring_store: Callable[[str, str, str], None],
) -> None:
    index = static_index(dists, auth=("VssSessionToken", "from-keyring"))
    url = index.url.replace("//", "//VssSessionToken@")
    with Finder(index_urls=[url]) as finder, pytest.raises(IndexAuthError, match="keyring"):
        finder.project_files("beta")  # the keyring is asked only when told to
    recorder = Recorder()
    with Finder(index_urls=[url], keyring=True, reporter=recorder) as finder:
        with pytest.raises(IndexAuthError):
            finder.project_files("beta")  # nothing stored yet
        assert f"keyring has no password for VssSessionToken at {index.url}" in recorder.warnings
    keyring_store("127.0.0.1", "VssSessionToken", "from-keyring")  # by host: the fallback
    with Finder(index_urls=[url], keyring=True) as finder:
        assert [f.filename for f in finder.project_files("beta")] == ["beta-2.0-py3-none-any.whl"]
    keyring_store(index.url, "VssSessionToken", "Wr0ngPa55")  # the index URL is asked first
    with (
        Finder(index_urls=[url], keyring=True) as finder,
        pytest.raises(IndexAuthError) as refused,
    ):
        finder.project_files("beta")
    assert "Wr0ngPa55" not in str(refused.value)


def test_keyring_provider_without_the_keyring_command(
    dists: Path,
    static_index: Callable[..., StaticIndex],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    index = static_index(dists, auth=("deploy", "secret"))
    url = index.url.replace("//", "//deploy@")
    with (
        Finder(index_urls=[url], keyring=True) as finder,
        pytest.raises(UsageError, match="needs the `keyring` command on PATH"),
    ):
        finder.project_files("beta")


# --- the disk cache and offline mode --------------------------------------------------------------


def test_pages_are_revalidated_from_the_disk_cache_and_offline_works(
    dists: Path, static_index: Callable[..., StaticIndex], tmp_path: Path
) -> None:
    index = static_index(dists)
    cache = tmp_path / "cache"
    with Finder(index_urls=[index.url], cache_dir=cache) as finder:
        first = _summary(finder, "beta")
        wheel = _file(finder, "beta", "beta-2.0-py3-none-any.whl")
        finder.download(wheel, tmp_path / "one")
    with Finder(index_urls=[index.url], cache_dir=cache) as finder:
        second = _summary(finder, "beta")
    assert first == second
    assert index.statuses[-1] == ("/simple/beta/", 304)
    assert index.requests[-1][2]["If-None-Match"]
    index.requests.clear()
    with Finder(index_urls=[index.url], cache_dir=cache, offline=True) as finder:
        assert _summary(finder, "beta") == first
        assert (
            finder.download(wheel, tmp_path / "two").read_bytes()
            == (dists / wheel.filename).read_bytes()
        )
        with pytest.raises(OfflineError, match=r"offline: .*/simple/alpha/ is not in the cache"):
            finder.project_files("alpha")
    assert index.requests == []


def test_a_page_is_not_asked_for_again_while_its_max_age_lasts(
    dists: Path, static_index: Callable[..., StaticIndex], tmp_path: Path
) -> None:
    index = static_index(dists)
    index.page_headers = {"Cache-Control": "max-age=600, public"}
    cache = tmp_path / "cache"
    with Finder(index_urls=[index.url], cache_dir=cache) as finder:
        first = _summary(finder, "beta")
    index.requests.clear()
    with Finder(index_urls=[index.url], cache_dir=cache) as finder:
        assert _summary(finder, "beta") == first
    assert index.paths("/simple/") == []  # fresh: no request at all
    with Finder(index_urls=[index.url], cache_dir=cache, refresh=True) as finder:
        assert _summary(finder, "beta") == first
    assert index.statuses[-1] == ("/simple/beta/", 304)  # --refresh revalidates
    stale_answers = [
        {"Cache-Control": "max-age=600, no-cache"},  # revalidate every time
        {"Cache-Control": "max-age=600", "Age": "600"},  # as old as its max-age already
    ]
    for stale in stale_answers:
        index.page_headers = stale
        with Finder(index_urls=[index.url], cache_dir=cache, refresh=True) as finder:
            _summary(finder, "beta")
        index.requests.clear()
        with Finder(index_urls=[index.url], cache_dir=cache) as finder:
            _summary(finder, "beta")
        assert index.paths("/simple/") == ["/simple/beta/"], stale


def test_partial_downloads_a_killed_run_left_are_swept(
    dists: Path, static_index: Callable[..., StaticIndex], tmp_path: Path
) -> None:
    index = static_index(dists)
    cache = tmp_path / "cache"
    leftovers = cache / "files" / "tmp"
    leftovers.mkdir(parents=True)
    old, fresh = leftovers / "old.part", leftovers / "fresh.part"
    old.write_bytes(b"x" * 1000)
    fresh.write_bytes(b"x" * 1000)
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    with Finder(index_urls=[index.url], cache_dir=cache) as finder:
        finder.download(_file(finder, "beta", "beta-2.0-py3-none-any.whl"), tmp_path / "out")
    assert not old.exists()
    assert fresh.exists()  # perhaps another run's download in progress


def test_offline_without_the_file_in_the_cache_says_so(
    dists: Path, static_index: Callable[..., StaticIndex], tmp_path: Path
) -> None:
    index = static_index(dists)
    cache = tmp_path / "cache"
    with Finder(index_urls=[index.url], cache_dir=cache) as finder:
        finder.project_files("beta")
    with Finder(index_urls=[index.url], cache_dir=cache, offline=True) as finder:
        wheel = _file(finder, "beta", "beta-2.0-py3-none-any.whl")
        with pytest.raises(OfflineError, match=r"beta-2\.0-py3-none-any\.whl .* not in the cache"):
            finder.download(wheel, tmp_path / "out")
        with pytest.raises(OfflineError):
            finder.metadata(wheel)


# --- URLs that do not parse, and pages too big to hold --------------------------------------------

BAD_URLS = {  # each: what the message says about it
    "http://[::1": "[IPv6 address] is not closed",
    "http://a:pw@127.0.0.1:99999/simple/": "port that is not a number from 1 to 65535",
    "http://127.0.0.1:0/simple/": "port that is not a number from 1 to 65535",
    "http://a:pw@[::1/simple/": "[IPv6 address] is not closed",
    "http://h:abc/simple/": "port that is not a number",
    "http:///simple/": "has no host",
    "ftp://a:pw@host/simple/": "is not an http://, https:// or file:// URL",
    "https://${USER}:${TOKEN}@host/simple/": "holds ${USER} and ${TOKEN} in its credentials",
    "http://host/sim\nple/": "control character",
    "": "is empty",
}


def test_redact_and_url_problem_never_raise_nor_show_a_password() -> None:
    for url, said in BAD_URLS.items():
        problem = url_problem(url)
        assert problem is not None and said in problem, url
        assert "pw" not in redact(url) and "pw" not in problem
    assert redact("http://u:pa/ss@host/x") == "http://host/x"  # a password with a slash
    assert redact("http://u:p@ss@[::1]:8080/x") == "http://[::1]:8080/x"
    assert url_problem("http://user@[::1]:8080/simple/") is None
    assert url_problem("file:///srv/wheels/") is None
    assert url_problem("file:///srv/wheels/", WEB_SCHEMES) == "is not an http:// or https:// URL"


def test_an_index_or_find_links_url_that_does_not_parse_is_a_usage_error() -> None:
    for url, said in BAD_URLS.items():
        with pytest.raises(UsageError) as refused:
            Finder(index_urls=[url]).close()
        assert said in str(refused.value) and "pw" not in str(refused.value)
    for url in ("http://a:pw@[::1/links/", "https://a:pw@127.0.0.1:99999/links/"):
        with pytest.raises(UsageError, match=r"'https?://"):
            Finder(index_urls=[], find_links=[url]).close()


@pytest.mark.parametrize("accept", [ACCEPT, "text/html"])
def test_links_that_do_not_parse_are_skipped_with_a_warning(
    dists: Path, static_index: Callable[..., StaticIndex], accept: str
) -> None:
    index = static_index(dists)
    bad = ["http://[::1", "http://u:pw@127.0.0.1:99999/beta-9.0.tar.gz",
           "ftp://host/beta-9.2.tar.gz", "file:///etc/beta-9.3.tar.gz"]  # fmt: skip
    index.add_links("beta", *bad)
    index.base_href("beta", "http://[::1/elsewhere/")  # ignored: links resolve against the page
    recorder = Recorder()
    with Finder(index_urls=[index.url], accept=accept, reporter=recorder) as finder:
        files = finder.project_files("beta")
    assert [f.url for f in files] == [f"{index.base}/files/beta-2.0-py3-none-any.whl"]
    skipped = [w for w in recorder.warnings if w.startswith("skipped a link")]
    assert len(skipped) == len(bad) and all(index.url in w for w in skipped)
    assert any("not an http:// or https:// URL" in w for w in skipped)  # no file: from a server
    assert not any("pw" in w for w in recorder.warnings)
    based = [w for w in recorder.warnings if "<base href>" in w]
    assert len(based) == (accept == "text/html")  # JSON pages have no <base>


def test_a_redirect_to_a_url_that_does_not_parse_is_an_error_not_retried(
    dists: Path, static_index: Callable[..., StaticIndex]
) -> None:
    index = static_index(dists)
    index.redirect("/simple/beta/", "http://[::1")
    index.redirect("/simple/alpha/", "http://u:pw@127.0.0.1:99999/simple/alpha/")
    index.redirect("/simple/legacy/", "file:///etc/passwd")
    with Finder(index_urls=[index.url], backoff=0) as finder:
        for name, said in [("beta", "not closed"), ("alpha", "port"), ("legacy", "http://")]:
            with pytest.raises(IndexError_, match="the server redirects to") as refused:
                finder.project_files(name)
            assert said in str(refused.value) and "pw" not in str(refused.value)
            assert index.paths(f"/simple/{name}/") == [f"/simple/{name}/"]  # asked once


def test_a_lock_url_that_does_not_parse_is_an_error(tmp_path: Path) -> None:
    with Finder(index_urls=[]) as finder:
        for url in ("http://[::1/beta-2.0-py3-none-any.whl", "http://h:99999/x.whl"):
            with pytest.raises(IndexError_, match="the lock's URL for beta"):
                finder.verified_file(url, "beta-2.0-py3-none-any.whl", "0" * 64)


@pytest.mark.parametrize("announce", [True, False])
def test_a_page_or_metadata_file_too_big_to_hold_is_refused(
    dists: Path, static_index: Callable[..., StaticIndex], announce: bool
) -> None:
    index = static_index(dists)
    index.serve_huge("/simple/beta/", MAX_DOCUMENT + 1, announce=announce)
    index.serve_huge("/files/alpha-1.0-py3-none-any.whl.metadata", 1 << 31, announce=announce)
    with Finder(index_urls=[index.url], backoff=0) as finder:
        with pytest.raises(ResponseTooLargeError, match=r"beta/: larger than the 64 MiB") as big:
            finder.project_files("beta")
        wheel = _file(finder, "alpha", "alpha-1.0-py3-none-any.whl")
        with pytest.raises(ResponseTooLargeError, match=r"\.metadata: larger than the 64 MiB"):
            finder.metadata(wheel)
    said = "announces 67,108,865 bytes" if announce else "more arrived"
    assert said in str(big.value)
    assert index.paths("/simple/beta/") == ["/simple/beta/"]  # not tried again


def test_core_metadata_too_big_inside_an_archive_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "links"
    folder.mkdir()
    head = metadata_text("big", "1.0", metadata_version="2.2").encode()
    huge = head + b" " * MAX_DOCUMENT  # compresses to a small file: the bound is on what it holds
    write_zip(folder / "big-1.0-py3-none-any.whl", {"big-1.0.dist-info/METADATA": huge})
    write_zip(folder / "big-1.0.zip", {"big-1.0/PKG-INFO": huge})
    write_tar_gz(folder / "big-1.0.tar.gz", "big-1.0", {"PKG-INFO": huge})
    with Finder(index_urls=[], find_links=[str(folder)]) as finder:
        files = finder.project_files("big")
        assert len(files) == 3
        for file in files:
            with pytest.raises(MetadataError, match="larger than the 64 MiB vendorer reads"):
                finder.metadata(file)


def test_a_versions_files_are_made_when_it_is_first_asked_for(
    tmp_path: Path, static_index: Callable[..., StaticIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Of a JSON page's files, only a name that gives no version is judged as the page is read
    (so what is wrong with it is said); each version's files when it is asked for, once."""
    for minor in range(30):
        make_wheel(tmp_path / "d", "many", f"1.{minor}")
    make_sdist(tmp_path / "d", "many", "1.29")
    index = static_index(tmp_path / "d")
    index.add_links("many", f"{index.base}/files/many-not!a!version.tar.gz")
    made: list[str] = []

    def making(link: Link, **options: object) -> DistFile | None:
        made.append(link.filename)
        return dist_file(link, **options)  # type: ignore[arg-type]

    monkeypatch.setattr("vendorer.index.listing.dist_file", making)
    recorder = Recorder()
    with Finder(index_urls=[index.url], reporter=recorder) as finder:
        many = finder.project_listing("many")
        assert made == ["many-not!a!version.tar.gz"]
        assert any("many-not!a!version.tar.gz" in w for w in recorder.warnings)
        assert len(many.versions) == 30
        newest = many.files(Version("1.29"))
        assert sorted(f.filename for f in newest) == [
            "many-1.29-py3-none-any.whl", "many-1.29.tar.gz"]  # fmt: skip
        assert many.files(Version("1.29")) is newest  # made once
        assert len(made) == 3
        assert len(finder.project_files("many")) == 31  # every file, all made
