"""The test suite's own parts are real: wheels install, sdists build offline, indexes serve."""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from build import ProjectBuilder
from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.sources import WheelFile
from packaging.metadata import Metadata
from packaging.tags import sys_tags
from packaging.utils import parse_wheel_filename

from tests.support.dists import (
    corrupt_file,
    make_native_sdist,
    make_sdist,
    make_wheel,
    tool_env,
    truncated_copy,
)
from tests.support.index import HTML_TYPE, JSON_TYPE, PypiServer, StaticIndex
from vendorer._util.tomlfile import parse_toml

SCHEME_KEYS = ("purelib", "platlib", "scripts", "data", "headers")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _install(wheel: Path, target: Path) -> dict[str, Path]:
    """Install with `installer` into a scheme of folders under `target`."""
    scheme = {key: str(target / key) for key in SCHEME_KEYS}
    with WheelFile.open(wheel) as source:
        source.validate_record()
        install(source, SchemeDictionaryDestination(scheme, sys.executable, "posix"), {})
    return {key: Path(value) for key, value in scheme.items()}


def _toml(text: str) -> dict[str, Any]:
    return parse_toml(text, origin="pyproject.toml")


def _read(archive: Path, member: str) -> str:
    with zipfile.ZipFile(archive) as wheel:
        return wheel.read(member).decode()


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, check=False, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


# --- wheels ---------------------------------------------------------------------------------------


def test_a_wheel_is_deterministic_with_escaped_names(tmp_path: Path) -> None:
    first = make_wheel(tmp_path / "a", "Demo.Pkg", "1.0-1", requires_dist=["six>=1"])
    second = make_wheel(tmp_path / "b", "Demo.Pkg", "1.0-1", requires_dist=["six>=1"])
    assert first.name == "demo_pkg-1.0.post1-py3-none-any.whl"
    assert first.read_bytes() == second.read_bytes()
    built = make_wheel(tmp_path, "x-y", "2", tag="cp36-cp36m-win_amd64", build_tag="1local")
    assert built.name == "x_y-2-1local-cp36-cp36m-win_amd64.whl"
    assert parse_wheel_filename(built.name)[2] == (1, "local")
    with pytest.raises(ValueError, match="build tag"):
        make_wheel(tmp_path, "x-y", "2", build_tag="local")


def test_a_wheel_has_valid_metadata_wheel_and_record(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path, "fancy", "3.1", tag="py2.py3-none-any", requires_python=">=3.6, !=3.6.*",
        requires_dist=["six>=1", 'fast; extra == "speed"'], provides_extra=["speed"],
        entry_points={"console_scripts": {"fancy": "fancy:main"}},
    )  # fmt: skip
    metadata = Metadata.from_email(_read(wheel, "fancy-3.1.dist-info/METADATA"), validate=True)
    assert (metadata.name, str(metadata.version)) == ("fancy", "3.1")
    assert [str(r) for r in metadata.requires_dist or []] == ["six>=1", 'fast; extra == "speed"']
    assert str(metadata.requires_python) == "!=3.6.*,>=3.6"
    assert metadata.provides_extra == ["speed"]
    wheel_file = _read(wheel, "fancy-3.1.dist-info/WHEEL").splitlines()
    assert wheel_file[2:] == ["Root-Is-Purelib: true", "Tag: py2-none-any", "Tag: py3-none-any"]
    entry_points = _read(wheel, "fancy-3.1.dist-info/entry_points.txt")
    assert entry_points == "[console_scripts]\nfancy = fancy:main\n\n"
    with WheelFile.open(wheel) as source:
        source.validate_record()  # every file's sha256 and size
    native = make_wheel(tmp_path, "fancy", "3.1", tag="cp36-cp36m-win_amd64")
    native_wheel_file = _read(native, "fancy-3.1.dist-info/WHEEL")
    assert "Root-Is-Purelib: false\nTag: cp36-cp36m-win_amd64\n" in native_wheel_file


def test_installer_installs_wheels_with_their_scripts(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path / "w", "Tool.Kit", "1.0", requires_dist=["six"],
        files={"toolkit/__init__.py": "def main() -> None:\n    print('hi')\n"},
        entry_points={"console_scripts": {"toolkit": "toolkit:main"}},
    )  # fmt: skip
    scheme = _install(wheel, tmp_path / "site")
    assert (scheme["purelib"] / "toolkit" / "__init__.py").exists()
    metadata = (scheme["purelib"] / "tool_kit-1.0.dist-info" / "METADATA").read_text()
    assert "Requires-Dist: six" in metadata
    assert "from toolkit import main" in (scheme["scripts"] / "toolkit").read_text()
    platform_wheel = make_wheel(tmp_path / "w", "plat", "1.0", tag="cp311-cp311-linux_x86_64")
    scheme = _install(platform_wheel, tmp_path / "site2")
    assert (scheme["platlib"] / "plat" / "__init__.py").read_text() == '__version__ = "1.0"\n'
    assert not scheme["purelib"].exists()


def test_pip_installs_the_wheels_offline(tmp_path: Path) -> None:
    make_wheel(tmp_path / "wheels", "tinypkg", "2.0", tag="py2.py3-none-any", requires_dist=["dep"])
    make_wheel(tmp_path / "wheels", "Dep", "1.0", build_tag="1")
    _run(
        "-m", "pip", "install", "--no-index", "--find-links", str(tmp_path / "wheels"),
        "--target", str(tmp_path / "t"), "tinypkg==2.0", env=tool_env(),
    )  # fmt: skip
    assert (tmp_path / "t" / "tinypkg" / "__init__.py").exists()
    assert (tmp_path / "t" / "dep" / "__init__.py").exists()  # found through Requires-Dist


# --- sdists ---------------------------------------------------------------------------------------


def _build_wheel(sdist: Path, out: Path) -> Path:
    """`python -m build --wheel` (isolated) with no index and no pip configuration."""
    _run("-m", "build", "--wheel", "--outdir", str(out), str(sdist), env=tool_env())
    (wheel,) = out.glob("*.whl")
    return wheel


def _sdist_member(sdist: Path, member: str) -> str:
    with tarfile.open(sdist) as archive:
        extracted = archive.extractfile(member)
        assert extracted is not None
        return extracted.read().decode()


def test_a_pure_sdist_builds_offline_into_a_py3_wheel(tmp_path: Path) -> None:
    sdist = make_sdist(
        tmp_path, "Pure.Pkg", "1.5", requires_dist=["attrs"], requires_python=">=3.6",
        metadata_version="2.2",
    )  # fmt: skip
    assert sdist.name == "pure_pkg-1.5.tar.gz"
    assert make_sdist(tmp_path / "again", "Pure.Pkg", "1.5", requires_dist=["attrs"],
                      requires_python=">=3.6", metadata_version="2.2").read_bytes() == (
        sdist.read_bytes()
    )  # fmt: skip
    pkg_info = Metadata.from_email(_sdist_member(sdist, "pure_pkg-1.5/PKG-INFO"), validate=True)
    assert pkg_info.metadata_version == "2.2" and not pkg_info.dynamic
    pyproject = _toml(_sdist_member(sdist, "pure_pkg-1.5/pyproject.toml"))
    assert pyproject["build-system"] == {
        "requires": [], "build-backend": "backend", "backend-path": ["_backend"]
    }  # fmt: skip
    assert pyproject["project"]["dependencies"] == ["attrs"]
    wheel = _build_wheel(sdist, tmp_path / "out")
    assert wheel.name == "pure_pkg-1.5-py3-none-any.whl"
    metadata = Metadata.from_email(_read(wheel, "pure_pkg-1.5.dist-info/METADATA"), validate=True)
    assert [str(r) for r in metadata.requires_dist or []] == ["attrs"]
    assert str(metadata.requires_python) == ">=3.6"
    scheme = _install(wheel, tmp_path / "site")
    assert (scheme["purelib"] / "pure_pkg" / "__init__.py").exists()
    installed = {path.name for path in scheme["purelib"].rglob("*")}
    assert not installed & {"_backend", "backend.py", "config.json", "pyproject.toml", "PKG-INFO"}


def test_the_backend_prepares_metadata_and_builds_an_sdist(tmp_path: Path) -> None:
    sdist = make_sdist(
        tmp_path, "dyn", "1.0", requires_dist=["attrs"], metadata_version="2.2",
        dynamic=["Requires-Dist"],
    )  # fmt: skip
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path / "src", filter="data")
    source = tmp_path / "src" / "dyn-1.0"
    pyproject = _toml((source / "pyproject.toml").read_text())
    assert pyproject["project"]["dynamic"] == ["dependencies"]
    assert "dependencies" not in pyproject["project"]
    builder = ProjectBuilder(source)
    metadata_dir = Path(builder.prepare("wheel", tmp_path / "meta") or "")
    assert metadata_dir.name == "dyn-1.0.dist-info"
    metadata = (metadata_dir / "METADATA").read_text()
    assert "Requires-Dist: attrs" in metadata and "Dynamic" not in metadata
    rebuilt = Path(builder.build("sdist", tmp_path / "out"))
    assert rebuilt.name == "dyn-1.0.tar.gz"
    pkg_info = Metadata.from_email(_sdist_member(rebuilt, "dyn-1.0/PKG-INFO"), validate=True)
    assert pkg_info.dynamic == ["requires-dist"]
    with tarfile.open(rebuilt) as archive:
        assert "dyn-1.0/_backend/backend.py" in archive.getnames()


def test_a_native_sdist_builds_a_host_wheel_with_a_loadable_extension(tmp_path: Path) -> None:
    sdist = make_native_sdist(tmp_path, "nativepkg", "0.1")
    assert "Classifier: Programming Language :: C" in _sdist_member(sdist, "nativepkg-0.1/PKG-INFO")
    pyproject = _toml(_sdist_member(sdist, "nativepkg-0.1/pyproject.toml"))
    assert pyproject["tool"]["vendorer-test-backend"]["ext-modules"] == [
        {"name": "nativepkg._native", "sources": ["nativepkg/_native.c"]}
    ]
    assert "PyInit__native" in _sdist_member(sdist, "nativepkg-0.1/nativepkg/_native.c")
    wheel = _build_wheel(sdist, tmp_path / "out")
    (tag,) = parse_wheel_filename(wheel.name)[3]
    host = next(iter(sys_tags()))
    assert tag.interpreter == host.interpreter and tag.abi == host.abi
    assert tag in set(sys_tags()) and tag.platform != "any"
    assert "Root-Is-Purelib: false" in _read(wheel, "nativepkg-0.1.dist-info/WHEEL")
    scheme = _install(wheel, tmp_path / "site")
    assert not list(scheme["platlib"].rglob("*.c"))
    answer = subprocess.run(
        [sys.executable, "-c", "from nativepkg import _native; print(_native.answer())"],
        capture_output=True, text=True, check=True, cwd=scheme["platlib"],
    )  # fmt: skip
    assert answer.stdout.strip() == "42"


def test_corrupt_and_truncated_copies(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "broken", "1.0")
    original = wheel.read_bytes()
    cut = truncated_copy(wheel, tmp_path / "cut" / wheel.name)
    assert cut.read_bytes() == original[: len(original) // 2]
    assert not zipfile.is_zipfile(cut)
    assert corrupt_file(wheel) == wheel
    assert len(wheel.read_bytes()) == len(original) and wheel.read_bytes() != original


# --- pypiserver -----------------------------------------------------------------------------------


def test_pypiserver_serves_what_its_docstring_says(
    tmp_path: Path, module_pypi_server: PypiServer
) -> None:
    server = module_pypi_server
    wheel = make_wheel(server.root, "Served.Pkg", "1.0", requires_python=">=3.6")
    sdist = make_sdist(server.root / "nested", "served-pkg", "1.1")  # added while it runs
    page = httpx.get(server.url + "served-pkg/", headers={"Accept": JSON_TYPE})
    assert page.headers["content-type"].startswith("text/html")  # no PEP 691
    assert f'href="/packages/{wheel.name}#sha256={_sha256(wheel)}"' in page.text
    assert f'href="/packages/nested/{sdist.name}#sha256={_sha256(sdist)}"' in page.text
    assert "data-requires-python" not in page.text and "metadata" not in page.text
    assert httpx.get(f"{server.base}/packages/{wheel.name}.metadata").status_code == 404
    redirect = httpx.get(server.url + "Served.Pkg/")
    assert redirect.status_code == 301 and redirect.headers["location"].endswith("/served-pkg/")
    assert httpx.get(server.url + "unknown/").status_code == 404
    assert wheel.name in httpx.get(server.find_links_url).text
    _run(
        "-m", "pip", "download", "--no-deps", "--index-url", server.url,
        "-d", str(tmp_path / "down"), "served-pkg==1.0", env=tool_env(offline=False),
    )  # fmt: skip
    assert (tmp_path / "down" / wheel.name).read_bytes() == wheel.read_bytes()


def test_pypiserver_stops_even_when_the_test_fails(tmp_path: Path) -> None:
    with pytest.raises(KeyError), PypiServer(tmp_path) as server:
        assert httpx.get(server.url).status_code == 200
        assert server.startup_seconds < PypiServer.START_TIMEOUT
        raise KeyError("a failing test")
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url)


# --- StaticIndex ----------------------------------------------------------------------------------


@pytest.fixture
def thing(dist_dir: Path) -> Path:
    make_wheel(dist_dir, "thing", "1.0", requires_python=">=3.6, !=3.6.*")
    make_wheel(dist_dir, "thing", "2.0", requires_dist=["other"])
    make_sdist(dist_dir, "Thing", "2.0", requires_dist=["other"])
    make_wheel(dist_dir, "other", "1.0")
    (dist_dir / "notes.txt").write_text("not a distribution")
    return dist_dir


YANKED = {"thing-2.0-py3-none-any.whl": "broken <build>", "thing-2.0.tar.gz": ""}


def test_static_index_answers_json_or_html_by_accept(
    thing: Path, static_index: Callable[..., StaticIndex]
) -> None:
    index = static_index(thing, yanked=YANKED)
    as_json = httpx.get(index.url + "thing/", headers={"Accept": JSON_TYPE})
    assert as_json.headers["content-type"] == JSON_TYPE
    document = json.loads(as_json.content)
    assert document["meta"] == {"api-version": "1.1"} and document["versions"] == ["1.0", "2.0"]
    files = {entry["filename"]: entry for entry in document["files"]}
    assert sorted(files) == ["thing-1.0-py3-none-any.whl", "thing-2.0-py3-none-any.whl",
                             "thing-2.0.tar.gz"]  # fmt: skip
    old = files["thing-1.0-py3-none-any.whl"]
    assert old["hashes"] == {"sha256": _sha256(thing / old["filename"])}
    assert old["size"] == (thing / old["filename"]).stat().st_size
    assert old["requires-python"] == ">=3.6, !=3.6.*" and "yanked" not in old
    assert files["thing-2.0-py3-none-any.whl"]["yanked"] == "broken <build>"
    assert files["thing-2.0.tar.gz"]["yanked"] is True
    metadata = httpx.get(index.base + old["url"] + ".metadata")
    assert old["core-metadata"] == {"sha256": hashlib.sha256(metadata.content).hexdigest()}
    assert b"Requires-Python: >=3.6, !=3.6.*" in metadata.content
    pkg_info = httpx.get(f"{index.base}/files/thing-2.0.tar.gz.metadata").text
    assert pkg_info.startswith("Metadata-Version: 2.1\nName: Thing\n")

    as_html = httpx.get(index.url + "thing/", headers={"Accept": "text/html"})
    assert as_html.headers["content-type"] == HTML_TYPE
    digest = old["core-metadata"]["sha256"]
    assert (
        f'<a href="/files/thing-1.0-py3-none-any.whl#sha256={old["hashes"]["sha256"]}" '
        f'data-requires-python="&gt;=3.6, !=3.6.*" data-core-metadata="sha256={digest}" '
        f'data-dist-info-metadata="sha256={digest}">'
    ) in as_html.text
    assert 'data-yanked="broken &lt;build&gt;"' in as_html.text
    assert 'data-yanked=""' in as_html.text

    def kind(accept: str) -> str:
        return httpx.get(index.url + "thing/", headers={"Accept": accept}).headers["content-type"]

    assert kind(f"{JSON_TYPE};q=0.2, text/html") == HTML_TYPE
    assert kind(f"text/html;q=0.5, {JSON_TYPE}") == JSON_TYPE
    assert kind("") == HTML_TYPE
    assert kind("application/vnd.pypi.simple.latest+json") == JSON_TYPE
    projects = httpx.get(index.url, headers={"Accept": JSON_TYPE}).json()["projects"]
    assert projects == [{"name": "other"}, {"name": "thing"}]
    assert '<a href="/simple/thing/">thing</a>' in httpx.get(index.url).text
    redirected = httpx.get(index.url + "THING", follow_redirects=True)
    assert redirected.status_code == 200 and str(redirected.url) == index.url + "thing/"
    assert httpx.get(index.url + "nothing/").status_code == 404
    assert "notes.txt" not in httpx.get(index.find_links_url).text


def test_static_index_without_metadata_files(
    thing: Path, static_index: Callable[..., StaticIndex]
) -> None:
    index = static_index(thing, metadata=False)
    entry = httpx.get(index.url + "other/", headers={"Accept": JSON_TYPE}).json()["files"][0]
    assert "core-metadata" not in entry and "dist-info-metadata" not in entry
    assert "metadata" not in httpx.get(index.url + "other/").text
    assert httpx.get(f"{index.base}/files/other-1.0-py3-none-any.whl.metadata").status_code == 404


def test_pip_reads_the_static_index_and_its_find_links_page(
    thing: Path, tmp_path: Path, static_index: Callable[..., StaticIndex]
) -> None:
    index = static_index(thing, yanked=YANKED)
    _run(
        "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--index-url", index.url,
        "-d", str(tmp_path / "down"), "thing", env=tool_env(offline=False),
    )  # fmt: skip
    assert [p.name for p in (tmp_path / "down").iterdir()] == ["thing-1.0-py3-none-any.whl"]
    assert index.requests[0][2]["Accept"].startswith(JSON_TYPE)  # pip asks for PEP 691 first
    assert "/files/thing-1.0-py3-none-any.whl.metadata" in index.paths()  # and uses PEP 658
    _run(
        "-m", "pip", "install", "--no-index", "--find-links", index.find_links_url,
        "--target", str(tmp_path / "t"), "thing==2.0", env=tool_env(),
    )  # fmt: skip
    assert (tmp_path / "t" / "other" / "__init__.py").exists()


def test_static_index_enforces_basic_auth(
    thing: Path, static_index: Callable[..., StaticIndex]
) -> None:
    index = static_index(thing, auth=("alice", "s3cret"))
    denied = httpx.get(index.url + "other/")
    assert denied.status_code == 401 and denied.headers["www-authenticate"].startswith("Basic")
    assert httpx.get(index.url + "other/", auth=("alice", "wrong")).status_code == 401
    assert httpx.get(index.url + "other/", auth=("alice", "s3cret")).status_code == 200
    wheel = f"{index.base}/files/other-1.0-py3-none-any.whl"
    assert httpx.get(wheel).status_code == 401
    assert httpx.get(wheel + ".metadata", auth=("alice", "s3cret")).status_code == 200


def test_static_index_failure_switches_and_request_log(
    thing: Path, static_index: Callable[..., StaticIndex]
) -> None:
    index = static_index(thing)
    index.fail_next("/simple/other/", 503, count=2)
    statuses = [httpx.get(index.url + "other/").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert httpx.get(index.url + "thing/").status_code == 200

    name = "other-1.0-py3-none-any.whl"
    index.serve_wrong_bytes(name)
    served = httpx.get(f"{index.base}/files/{name}").content
    assert len(served) == (thing / name).stat().st_size
    assert hashlib.sha256(served).hexdigest() != _sha256(thing / name)

    index.drop_connection("thing-1.0-py3-none-any.whl")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{index.base}/files/thing-1.0-py3-none-any.whl")

    index.delay(0.5)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(index.url + "other/", timeout=0.1)
    index.delay(0)
    assert httpx.head(index.url + "other/").status_code == 200

    assert index.requests[0][:2] == ("GET", "/simple/other/")
    assert index.requests[0][2]["Host"] == f"127.0.0.1:{index.port}"
    assert index.requests[-1][:2] == ("HEAD", "/simple/other/")
    assert index.paths("/files/") == [f"/files/{name}", "/files/thing-1.0-py3-none-any.whl"]
    assert index.statuses[:3] == [("/simple/other/", 503)] * 2 + [("/simple/other/", 200)]

    index.hold("/simple/other/")
    with concurrent.futures.ThreadPoolExecutor(1) as waiting:
        held = waiting.submit(httpx.get, index.url + "other/", timeout=30)
        assert httpx.get(index.url + "thing/").status_code == 200  # other paths are answered
        time.sleep(0.3)
        assert not held.done()
        index.release()
        assert held.result(timeout=10).status_code == 200
    assert httpx.get(index.url + "other/", timeout=5).status_code == 200  # nothing held now


def test_static_index_pauses_a_download_and_serves_other_ranges(
    thing: Path, static_index: Callable[..., StaticIndex]
) -> None:
    index = static_index(thing)
    name = "thing-1.0-py3-none-any.whl"
    whole = (thing / name).read_bytes()
    url = f"{index.base}/files/{name}"
    index.pause(name)
    with concurrent.futures.ThreadPoolExecutor(1) as waiting, httpx.Client() as client:
        half = threading.Event()

        def receive() -> bytes:
            received = b""
            with client.stream("GET", url, timeout=30) as response:
                for chunk in response.iter_bytes():
                    received += chunk
                    if len(received) >= len(whole) // 2:
                        half.set()
            return received

        paused = waiting.submit(receive)
        assert half.wait(10)
        time.sleep(0.3)
        assert not paused.done()  # half came, the rest waits
        ranged = httpx.get(url, headers={"Range": "bytes=-10"})  # ranges are not paused
        assert ranged.status_code == 206 and ranged.content == whole[-10:]
        index.release()
        assert paused.result(timeout=10) == whole

    other = b"x" * len(whole)
    index.serve_other_ranges(name, other)
    assert httpx.get(url, headers={"Range": "bytes=0-3"}).content == b"xxxx"
    assert httpx.get(url).content == whole  # the whole file is the file


def test_static_index_lists_files_it_cannot_read(
    thing: Path, static_index: Callable[..., StaticIndex]
) -> None:
    truncated_copy(thing / "other-1.0-py3-none-any.whl", thing / "other-1.1-py3-none-any.whl")
    index = static_index(thing)
    entries = httpx.get(index.url + "other/", headers={"Accept": JSON_TYPE}).json()["files"]
    cut = next(entry for entry in entries if entry["filename"] == "other-1.1-py3-none-any.whl")
    assert cut["hashes"] == {"sha256": _sha256(thing / "other-1.1-py3-none-any.whl")}
    assert "core-metadata" not in cut
    assert httpx.get(index.base + cut["url"] + ".metadata").status_code == 404
