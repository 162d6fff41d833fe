"""The test suite's own parts are real: wheels install, sdists build offline, indexes serve."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx
from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.sources import WheelFile

from tests.support.dists import make_native_sdist, make_sdist, make_wheel
from tests.support.index import JSON_TYPE, PypiServer, StaticIndex


def test_a_built_wheel_is_deterministic_and_installs(tmp_path: Path) -> None:
    first = make_wheel(tmp_path / "a", "Demo.Pkg", "1.0", requires_dist=["six>=1"])
    second = make_wheel(tmp_path / "b", "Demo.Pkg", "1.0", requires_dist=["six>=1"])
    assert first.name == "demo_pkg-1.0-py3-none-any.whl"
    assert first.read_bytes() == second.read_bytes()
    target = tmp_path / "site"
    scheme = {
        key: str(target / key) for key in ("purelib", "platlib", "scripts", "data", "headers")
    }
    with WheelFile.open(first) as source:
        install(source, SchemeDictionaryDestination(scheme, sys.executable, "posix"), {})
    assert (target / "purelib" / "demo_pkg" / "__init__.py").read_text() == '__version__ = "1.0"\n'
    metadata = (target / "purelib" / "demo_pkg-1.0.dist-info" / "METADATA").read_text()
    assert "Requires-Dist: six>=1" in metadata


def test_pip_installs_a_built_wheel_offline(tmp_path: Path) -> None:
    make_wheel(tmp_path / "wheels", "tinypkg", "2.0")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-index", "--find-links",
         str(tmp_path / "wheels"), "--target", str(tmp_path / "t"), "tinypkg==2.0"],
        capture_output=True, text=True, check=False, env={"PIP_CONSTRAINT": "", "PATH": ""},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "t" / "tinypkg" / "__init__.py").exists()


def _build(sdist: Path, out: Path) -> Path:
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(sdist)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = out.glob("*.whl")
    return wheel


def test_a_pure_sdist_builds_offline_into_a_py3_wheel(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path, "purepkg", "1.5", requires_dist=["attrs"], requires_python=">=3.6")
    wheel = _build(sdist, tmp_path / "out")
    assert wheel.name == "purepkg-1.5-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read("purepkg-1.5.dist-info/METADATA").decode()
        assert "purepkg/__init__.py" in archive.namelist()
    assert "Requires-Dist: attrs" in metadata and "Requires-Python: >=3.6" in metadata


def test_a_native_sdist_builds_a_host_wheel_with_a_loadable_extension(tmp_path: Path) -> None:
    wheel = _build(make_native_sdist(tmp_path, "nativepkg", "0.1"), tmp_path / "out")
    version = f"{sys.version_info.major}{sys.version_info.minor}"
    assert wheel.name.startswith(f"nativepkg-0.1-cp{version}-")
    assert not wheel.name.endswith("-any.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    answer = subprocess.run(
        [sys.executable, "-c", "from nativepkg import _native; print(_native.answer())"],
        capture_output=True, text=True, check=True, cwd=site,
    )  # fmt: skip
    assert answer.stdout.strip() == "42"


def test_pypiserver_serves_the_files(
    dist_dir: Path, tmp_path: Path, pypi_server: Callable[[Path], PypiServer]
) -> None:
    wheel = make_wheel(dist_dir, "served", "1.0")
    server = pypi_server(dist_dir)
    page = httpx.get(server.url + "served/", follow_redirects=True).text
    assert f"{wheel.name}#sha256={hashlib.sha256(wheel.read_bytes()).hexdigest()}" in page
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--index-url", server.url,
         "-d", str(tmp_path / "down"), "served"],
        capture_output=True, text=True, check=False, env={"PIP_CONSTRAINT": "", "PATH": ""},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "down" / wheel.name).read_bytes() == wheel.read_bytes()


def test_static_index_speaks_json_and_html_with_yanked_and_metadata(
    dist_dir: Path, static_index: Callable[..., StaticIndex]
) -> None:
    make_wheel(dist_dir, "thing", "1.0", requires_python=">=3.6, !=3.6.*")
    make_wheel(dist_dir, "thing", "2.0")
    index = static_index(dist_dir, yanked={"thing-2.0-py3-none-any.whl": "broken"})
    as_json = httpx.get(index.url + "thing/", headers={"Accept": JSON_TYPE})
    assert as_json.headers["content-type"] == JSON_TYPE
    files = {entry["filename"]: entry for entry in json.loads(as_json.content)["files"]}
    assert files["thing-1.0-py3-none-any.whl"]["requires-python"] == ">=3.6, !=3.6.*"
    assert files["thing-2.0-py3-none-any.whl"]["yanked"] == "broken"
    as_html = httpx.get(index.url + "thing/", headers={"Accept": "text/html"}).text
    assert 'data-requires-python="&gt;=3.6, !=3.6.*"' in as_html
    assert 'data-yanked="broken"' in as_html and 'data-core-metadata="sha256=' in as_html
    metadata = httpx.get(f"{index.base}/files/thing-1.0-py3-none-any.whl.metadata").text
    assert "Requires-Python: >=3.6, !=3.6.*" in metadata
    redirected = httpx.get(index.url + "Thing", follow_redirects=True)
    assert redirected.status_code == 200 and str(redirected.url) == index.url + "thing/"


def test_static_index_auth_and_failure_switches(
    dist_dir: Path, static_index: Callable[..., StaticIndex]
) -> None:
    make_wheel(dist_dir, "locked", "1.0")
    index = static_index(dist_dir, auth=("alice", "s3cret"))
    assert httpx.get(index.url + "locked/").status_code == 401
    assert httpx.get(index.url + "locked/", auth=("alice", "s3cret")).status_code == 200
    index.fail_next("/simple/locked/", 503)
    assert httpx.get(index.url + "locked/", auth=("alice", "s3cret")).status_code == 503
    assert httpx.get(index.url + "locked/", auth=("alice", "s3cret")).status_code == 200
    index.serve_wrong_bytes("locked-1.0-py3-none-any.whl")
    served = httpx.get(f"{index.base}/files/locked-1.0-py3-none-any.whl", auth=("alice", "s3cret"))
    assert served.content != (dist_dir / "locked-1.0-py3-none-any.whl").read_bytes()
    assert index.paths("/files/") == ["/files/locked-1.0-py3-none-any.whl"]
