"""Upload through a Kudu-compatible server on loopback: only what changed, manifest last."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import make_app, vendorer
from tests.support.dists import make_wheel
from tests.support.index import StaticIndex
from tests.support.kudu import KuduServer
from vendorer.catalog import ProfileCatalog
from vendorer.kudu import Credentials, KuduClient, KuduError, read_publish_profile
from vendorer.upload import upload_vendored

PASSWORD = "s3cret-kudu"
PROFILE = ProfileCatalog().load("python361x64")


@pytest.fixture
def kudu(tmp_path: Path) -> Iterator[KuduServer]:
    with KuduServer(tmp_path / "home", password=PASSWORD) as server:
        yield server


@pytest.fixture
def app(
    tmp_path: Path, static_index: Callable[..., StaticIndex], kudu: KuduServer
) -> tuple[Path, StaticIndex]:
    dists = tmp_path / "dists"
    make_wheel(dists, "webfw", "2.0", requires_dist=["helper"])
    make_wheel(dists, "webfw", "2.1", requires_dist=["helper"])
    make_wheel(dists, "helper", "1.0")
    make_wheel(dists, "extra", "1.0")
    index = static_index(dists)
    folder = make_app(tmp_path / "app", index.url, "webfw==2.0", "extra")
    (folder / "site.PublishSettings").write_text(
        '<publishData><publishProfile profileName="site - Web Deploy" publishMethod="MSDeploy" '
        f'publishUrl="{kudu.url}" userName="$site" userPWD="{PASSWORD}" /></publishData>',
        encoding="utf-8",
    )
    assert vendorer("build", cwd=folder).returncode == 0
    return folder, index


def upload(folder: Path, *args: str) -> tuple[int, str]:
    result = vendorer("upload", "--publish-profile", "site.PublishSettings", *args, cwd=folder)
    output = result.stdout + result.stderr
    assert PASSWORD not in output and "Traceback" not in output
    return result.returncode, output


def _remote_manifest(kudu: KuduServer) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (kudu.home / "site/wwwroot/lib/.vendorer-manifest.json").read_text()
    )
    return data


def test_first_upload_sends_everything_then_only_what_changed(
    app: tuple[Path, StaticIndex], kudu: KuduServer
) -> None:
    folder, _ = app
    code, output = upload(folder)
    assert code == 0, output
    assert "3 sent, 0 deleted, 0 unchanged" in output
    ((where, names),) = kudu.zips
    assert where == "site/wwwroot/lib" and "webfw/__init__.py" in names
    assert (kudu.home / "site/wwwroot/lib/helper/__init__.py").exists()
    assert kudu.requests[-1][0] == "PUT" and kudu.requests[-1][1].endswith(
        ".vendorer-manifest.json"
    )
    (folder / "requirements.txt").write_text(
        "webfw==2.1\n", encoding="utf-8"
    )  # upgrade, drop extra
    assert vendorer("build", cwd=folder).returncode == 0
    kudu.zips.clear()
    code, output = upload(folder)
    assert code == 0, output
    assert "sent webfw 2.1" in output and "deleted extra 1.0" in output
    ((_, names),) = kudu.zips
    assert {n.split("/")[0] for n in names} == {"webfw", "webfw-2.1.dist-info", ".gitattributes"}
    assert not (kudu.home / "site/wwwroot/lib/extra").exists() or not any(
        (kudu.home / "site/wwwroot/lib/extra").iterdir()
    )
    assert not (kudu.home / "site/wwwroot/lib/webfw-2.0.dist-info/METADATA").exists()
    assert set(_remote_manifest(kudu)["distributions"]) == {"webfw", "helper"}
    kudu.zips.clear()
    assert upload(folder)[0] == 0 and kudu.zips == []  # nothing changed: nothing sent


def test_a_tree_that_drifted_from_the_lock_is_not_uploaded(
    app: tuple[Path, StaticIndex], kudu: KuduServer
) -> None:
    folder, _ = app
    (folder / "lib" / "webfw" / "__init__.py").write_text("# patched by hand\n", encoding="utf-8")
    code, output = upload(folder)
    assert code == 1
    assert "drift: lib/webfw/__init__.py: changed by hand" in output
    assert "nothing was uploaded: fix the drifts above, or pass --no-check" in output
    assert kudu.count == 0  # not even a connection
    code, output = upload(folder, "--no-check")
    assert code == 0, output
    assert (kudu.home / "site/wwwroot/lib/webfw/__init__.py").read_text() == "# patched by hand\n"


def test_an_upload_cut_off_is_redone_by_the_next_run(
    app: tuple[Path, StaticIndex], kudu: KuduServer
) -> None:
    folder, _ = app
    kudu.drops = {2, 3, 4}  # the zip upload (request 2) and its retries lose their connection
    code, output = upload(folder)
    assert code == 1 and "the connection failed" in output
    assert not (kudu.home / "site/wwwroot/lib/.vendorer-manifest.json").exists()
    kudu.drops = set()
    code, output = upload(folder)
    assert code == 0, output
    assert "3 sent" in output and _remote_manifest(kudu)["profile"] == "python361x64"


@pytest.mark.parametrize("remote", [b"[1, 2]", b'{"format": 1, "distributions": []}', b"\xff"])
def test_a_server_manifest_that_cannot_be_read_means_send_everything(
    app: tuple[Path, StaticIndex], kudu: KuduServer, remote: bytes
) -> None:
    folder, _ = app
    assert upload(folder)[0] == 0
    (kudu.home / "site/wwwroot/lib/.vendorer-manifest.json").write_bytes(remote)
    code, output = upload(folder)
    assert code == 0, output
    assert "3 sent, 0 deleted, 0 unchanged" in output
    assert _remote_manifest(kudu)["profile"] == "python361x64"


def test_retries_on_a_server_error(app: tuple[Path, StaticIndex], kudu: KuduServer) -> None:
    folder, _ = app
    kudu.failures = {1: 503}
    code, output = upload(folder)
    assert code == 0, output


def test_wrong_credentials_fail_fast_without_showing_the_password(
    app: tuple[Path, StaticIndex], kudu: KuduServer
) -> None:
    folder, _ = app
    kudu.password = "something-else"
    code, output = upload(folder)
    assert code == 1 and "HTTP 401" in output and "refused the credentials" in output
    assert kudu.count == 1  # no retries for a refusal


def test_wheelhouse_mode_runs_pip_on_the_server(
    app: tuple[Path, StaticIndex], kudu: KuduServer
) -> None:
    folder, _ = app
    kudu.command_result = {"Output": "Successfully installed webfw\n", "Error": "", "ExitCode": 0}
    code, output = upload(folder, "--mode", "wheelhouse")
    assert code == 0, output
    assert "Successfully installed webfw" in output
    ((where, names),) = kudu.zips
    assert where == "site/wheelhouse/python361x64" and "requirements.txt" in names
    (command,) = kudu.commands
    assert command["command"] == (
        '"D:\\home\\python361x64\\python.exe" -m pip install --no-index --find-links '
        '"D:\\home\\site\\wheelhouse\\python361x64" '
        '-r "D:\\home\\site\\wheelhouse\\python361x64\\requirements.txt"'
    )
    assert command["dir"] == "site/wheelhouse/python361x64"
    kudu.command_result = {"Output": "", "Error": "No matching distribution\n", "ExitCode": 1}
    code, output = upload(folder, "--mode", "wheelhouse")
    assert code == 1 and "pip on the server failed (exit code 1)" in output
    assert "No matching distribution" in output
    (folder / "lib" / "extra").rename(folder / "extra-moved")  # the lib folder is not sent here
    (folder / "wheelhouse" / "python361x64" / "helper-1.0-py3-none-any.whl").unlink()
    sent = kudu.count
    code, output = upload(folder, "--mode", "wheelhouse")
    assert code == 1 and "drift: wheelhouse: no wheel for helper 1.0" in output
    assert "lib/" not in output and "pass --no-check to send the wheelhouse" in output
    assert kudu.count == sent


def test_kudu_run_and_print_commands(app: tuple[Path, StaticIndex], kudu: KuduServer) -> None:
    folder, _ = app
    kudu.command_result = {"Output": "Python 3.6.1\n", "Error": "", "ExitCode": 3}
    result = vendorer("kudu", "run", "--publish-profile", "site.PublishSettings", "--",
                      "python", "--version", cwd=folder)  # fmt: skip
    assert result.returncode == 3 and result.stdout == "Python 3.6.1\n"
    assert kudu.commands[-1] == {"command": "python --version", "dir": "site/wwwroot"}
    steps = vendorer("upload", "--mode", "wheelhouse", "--print-commands", cwd=folder)
    assert steps.returncode == 0 and "-m pip install --no-index" in steps.stdout
    assert kudu.count == 1  # --print-commands sent nothing
    vendorer("kudu", "run", "--publish-profile", "site.PublishSettings", "--", "pip", "install",
             "--", "flask", cwd=folder)  # fmt: skip
    assert kudu.commands[-1]["command"] == "pip install -- flask"  # its own `--` stays


@pytest.mark.parametrize("answer", [["not", "an", "object"], {"ExitCode": "x"}])
def test_a_command_answer_that_is_not_kudus_json_is_an_error(
    app: tuple[Path, StaticIndex], kudu: KuduServer, answer: object
) -> None:
    folder, _ = app
    kudu.command_result = answer
    result = vendorer("kudu", "run", "--publish-profile", "site.PublishSettings", "--", "dir",
                      cwd=folder)  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "the Kudu command API answered something that is not its JSON" in result.stderr


def test_credentials_go_over_https_only(tmp_path: Path) -> None:
    profile = tmp_path / "x.PublishSettings"
    profile.write_text(
        '<publishData><publishProfile publishMethod="MSDeploy" publishUrl="http://example.com" '
        'userName="$x" userPWD="pw" /></publishData>'
    )
    result = vendorer("kudu", "run", "--publish-profile", str(profile), "--", "dir")
    assert result.returncode == 2 and "only sent over HTTPS" in result.stderr


def test_capture_a_profile_through_kudu(app: tuple[Path, StaticIndex], kudu: KuduServer) -> None:
    folder, _ = app
    script = vendorer("profiles", "capture").stdout
    (folder / "capture.py").write_text(script, encoding="utf-8")
    facts = subprocess.run(
        [sys.executable, str(folder / "capture.py")], capture_output=True, text=True, check=True
    ).stdout
    kudu.command_result = {"Output": facts, "Error": "", "ExitCode": 0}
    python = "D:\\home\\python361x64\\python.exe"
    result = vendorer("profiles", "capture", "mysite", "--publish-profile", "site.PublishSettings",
                      "--python", python, cwd=folder)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (kudu.home / "data/vendorer/capture.py").read_text(encoding="utf-8") == script
    assert kudu.commands[-1] == {"command": f'"{python}" capture.py', "dir": "data/vendorer"}
    shown = json.loads(vendorer("profiles", "show", "mysite", "--json", cwd=folder).stdout)
    assert shown["source"] == "project" and shown["python"]["tags"]


def test_upload_reports_its_progress_in_bytes(
    app: tuple[Path, StaticIndex], kudu: KuduServer
) -> None:
    folder, _ = app
    seen: list[tuple[int, int]] = []
    credentials = read_publish_profile(folder / "site.PublishSettings")
    with KuduClient(credentials) as client:
        upload_vendored(client, PROFILE, folder / "lib", "lib", lambda s, t: seen.append((s, t)))
    assert seen and seen[-1][0] == seen[-1][1] > 0
    assert [sent for sent, _ in seen] == sorted(sent for sent, _ in seen)
    assert (kudu.home / "site/wwwroot/lib/webfw/__init__.py").exists()


def test_each_refusal_has_its_own_message(tmp_path: Path, kudu: KuduServer) -> None:
    credentials = Credentials(url=kudu.url, user="$site", password=PASSWORD)
    short, broken = tmp_path / "short.zip", tmp_path / "broken.zip"
    short.write_bytes(b"PK")
    broken.write_bytes(b"not a zip")
    with KuduClient(credentials, retries=1) as client:
        kudu.failures = {1: 404}
        with pytest.raises(KuduError, match="no such path on the site"):
            client.put_zip("site/wwwroot/lib", short)
        kudu.failures = {2: 409}
        with pytest.raises(KuduError, match="conflict with the site's state"):
            client.write_file("site/x.txt", b"x")
        kudu.failures = {3: 412}
        with pytest.raises(KuduError, match="conflict"):
            client.delete_file("site/x.txt")
        kudu.failures = {}
        with pytest.raises(KuduError, match="HTTP 400: bad zip"):
            client.put_zip("site/wwwroot/lib", broken)
        assert client.read_file("site/missing.txt") is None
