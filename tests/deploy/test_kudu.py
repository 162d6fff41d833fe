"""Upload through a Kudu-compatible server on loopback: only what changed, manifest last."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.captures import windows_site_facts
from tests.support.cli import make_app, vendorer
from tests.support.dists import make_wheel
from tests.support.index import StaticIndex
from tests.support.kudu import KuduServer
from tests.support.reporter import Recorder
from vendorer.deploy.kudu import (
    CommandOutcomeUnknown,
    Credentials,
    KuduClient,
    KuduError,
    may_resend,
    read_publish_profile,
)
from vendorer.deploy.upload import upload_vendored
from vendorer.report import UPLOAD, Reporter
from vendorer.target.catalog import ProfileCatalog

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
    assert not (kudu.home / "site/wwwroot/lib/extra").exists()
    assert not (kudu.home / "site/wwwroot/lib/webfw-2.0.dist-info").exists()
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
        '-r "D:\\home\\site\\wheelhouse\\python361x64\\requirements.txt" '
        '--log "D:\\home\\site\\wheelhouse\\python361x64\\pip-install.log"'
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
    facts = json.dumps(windows_site_facts())  # what the script prints on a Windows site extension
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
    seen: list[tuple[int, int]] = []  # (bytes sent, total)

    class Progress(Reporter):
        def started(self, task: str, *, title: str, total: int | None = None) -> None:
            assert task == UPLOAD and total is not None
            self.sent, self.total = 0, total

        def advanced(self, task: str, *, item: str = "", size: int = 0) -> None:
            self.sent += size
            seen.append((self.sent, self.total))

    credentials = read_publish_profile(folder / "site.PublishSettings")
    with KuduClient(credentials) as client:
        upload_vendored(client, PROFILE, folder / "lib", "lib", Progress())
    assert seen and seen[-1][0] == seen[-1][1] > 0
    assert [sent for sent, _ in seen] == sorted(sent for sent, _ in seen)
    assert (kudu.home / "site/wwwroot/lib/webfw/__init__.py").exists()


def test_a_retried_upload_starts_its_progress_over(tmp_path: Path, kudu: KuduServer) -> None:
    """The transport sends a PUT again after a 503: the bytes count from 0 again, not twice."""
    archive = tmp_path / "lib.zip"
    with zipfile.ZipFile(archive, "w") as written:
        written.writestr("mod.py", os.urandom(200_000))  # incompressible: several chunks
    recorder = Recorder()
    credentials = Credentials(url=kudu.url, user="$site", password=PASSWORD)
    with KuduClient(credentials, retries=2, backoff=0) as client:
        kudu.failures = {1: 503}
        client.put_zip("site/wwwroot/lib", archive, recorder)
    starts = [n for n, event in enumerate(recorder.events) if event[0] == "started"]
    assert [recorder.events[n] for n in starts] == [("started", UPLOAD, "uploading")] * 2
    assert recorder.events[-1] == ("finished", UPLOAD, "")
    assert sum(event[0] == "advanced" for event in recorder.events[starts[1] :]) > 1  # chunks
    assert sum(recorder.sizes) == 2 * archive.stat().st_size  # sent twice, counted from 0 again
    assert (kudu.home / "site/wwwroot/lib/mod.py").exists()


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


# --- secrets: no message shows a URL's userinfo ------------------------------------------------

SECRET = "hunter2-Pa55word"


def _settings_file(folder: Path, publish_url: str, password: str = SECRET) -> Path:
    path = folder / "other.PublishSettings"
    path.write_text(
        '<publishData><publishProfile publishMethod="MSDeploy" '
        f'publishUrl="{publish_url}" userName="$site" userPWD="{password}" /></publishData>',
        encoding="utf-8",
    )
    return path


def _environment(monkeypatch: pytest.MonkeyPatch, url: str, with_variables: bool = True) -> None:
    monkeypatch.setenv("VENDORER_KUDU_URL", url)
    for name, value in (("VENDORER_KUDU_USER", "$site"), ("VENDORER_KUDU_PASSWORD", SECRET)):
        if with_variables:
            monkeypatch.setenv(name, value)
        else:
            monkeypatch.delenv(name, raising=False)


def _clean(result: subprocess.CompletedProcess[str]) -> str:
    output = result.stdout + result.stderr
    assert SECRET not in output and "Traceback" not in output, output
    assert "deploy:" not in output and f":{SECRET}" not in output
    return output


def test_a_kudu_url_with_a_password_is_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _environment(monkeypatch, f"http://deploy:{SECRET}@example.com")
    result = vendorer("kudu", "run", "--", "dir", cwd=tmp_path)
    output = _clean(result)
    assert result.returncode == 2, output
    assert "error: VENDORER_KUDU_URL: http://example.com: Kudu credentials are only sent" in output
    monkeypatch.delenv("VENDORER_KUDU_URL")
    profile = _settings_file(tmp_path, f"http://deploy:{SECRET}@example.com")
    result = vendorer("kudu", "run", "--publish-profile", str(profile), "--", "dir")
    assert result.returncode == 2 and "only sent over HTTPS" in _clean(result)


def test_the_scm_uri_that_az_prints_carries_the_credentials(
    app: tuple[Path, StaticIndex], kudu: KuduServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`az webapp deployment list-publishing-credentials --query scmUri` gives
    https://$site:<password>@<site>.scm.azurewebsites.net: that URL alone is enough."""
    folder, _ = app
    kudu.password = SECRET
    kudu.command_result = {"Output": "hello\n", "Error": "", "ExitCode": 0}
    host = kudu.url.removeprefix("http://")
    _environment(monkeypatch, f"http://$site:{SECRET.replace('5', '%35')}@{host}", False)
    result = vendorer("kudu", "run", "--", "echo", "hello", cwd=folder)
    assert result.returncode == 0 and result.stdout == "hello\n", _clean(result)
    _environment(monkeypatch, f"http://$site:wrong-{SECRET}@{host}", False)
    result = vendorer("kudu", "run", "--", "echo", "hello", cwd=folder)
    assert result.returncode == 1 and "refused the credentials" in _clean(result)
    _environment(monkeypatch, f"http://$site:{SECRET}@{host}", False)
    kudu.failures = {kudu.count + 1: 400}  # a body that echoes the URL and the password
    kudu.failure_message = f"bad request for http://$site:{SECRET}@{host}/api/command {SECRET}"
    result = vendorer("kudu", "run", "--", "echo", "hello", cwd=folder)
    output = _clean(result)
    assert result.returncode == 1 and f"bad request for http://{host}/api/command ***" in output


# --- Kudu URLs and publish profiles that cannot be used: one clear error -----------------------

BAD_URLS = [
    ("http://[::1", "is not a URL (Invalid IPv6 URL)"),
    (f"https://$site:{SECRET}@[::1", "is not a URL (Invalid IPv6 URL)"),
    ("https://site.scm.azurewebsites.net:99999", "is not a URL (Port out of range"),
    ("https://site.scm.azurewebsites.net:0", "is not a URL (port 0)"),
    ("https://site.scm.azurewebsites.net:https", "is not a URL (Port could not be cast"),
    ("https://", "names no host"),
    (f"https://$site:{SECRET}@:443", "names no host"),
    (f"ftp://$site:{SECRET}@site.ftp.azurewebsites.windows.net", "Kudu is reached over https"),
    ("https://exa mple.com", "holds a space or a control character"),
    ("https://site.scm.azurewebsites.net/?x=1", "has no query or fragment"),
    ("https://bad_host..name", "is not a URL"),
]


@pytest.mark.parametrize(("url", "problem"), BAD_URLS)
def test_a_kudu_url_that_cannot_be_used_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, problem: str
) -> None:
    profile = _settings_file(tmp_path, url)
    result = vendorer("kudu", "run", "--publish-profile", str(profile), "--", "dir")
    output = _clean(result)
    assert result.returncode == 2 and problem in output, output
    assert output.count("error:") == 1 and "expected https://<site>.scm" in output
    _environment(monkeypatch, url)
    result = vendorer("kudu", "run", "--", "dir", cwd=tmp_path)
    output = _clean(result)
    assert result.returncode == 2 and output.startswith("error: VENDORER_KUDU_URL: "), output
    assert problem in output


NOT_PROFILES = [
    (b"", "the file is empty"),
    (bytes(range(256)) * 4, "not XML"),
    (b"<!DOCTYPE html><html><body><p>Sign in</body></html>", "not XML"),
    (b'[{"publishUrl": "site.scm.azurewebsites.net:443", "userPWD": "x"}]', "it is JSON"),
    (b"<html><body><p>Sign in</p></body></html>", "no MSDeploy or ZipDeploy entry"),
    (b'<?xml version="1.0" encoding="utf-16"?><publishData/>', "not XML"),
    (b'<?xml version="1.0" encoding="no-such"?><publishData/>', "cannot be read"),
]


@pytest.mark.parametrize(("data", "problem"), NOT_PROFILES)
def test_a_file_that_is_not_a_publish_profile_is_one_clear_error(
    tmp_path: Path, data: bytes, problem: str
) -> None:
    path = tmp_path / "site.PublishSettings"
    path.write_bytes(data)
    result = vendorer("kudu", "run", "--publish-profile", str(path), "--", "dir")
    output = _clean(result)
    assert result.returncode == 2 and problem in output and output.count("\n") == 1, output


def test_a_publish_profile_that_cannot_be_read_is_one_clear_error(tmp_path: Path) -> None:
    result = vendorer("kudu", "run", "--publish-profile", str(tmp_path), "--", "dir")
    output = _clean(result)
    assert result.returncode == 2 and "cannot read the publish profile: Is a directory" in output


@pytest.mark.parametrize(
    "encoding",
    ["utf-16", "utf-16-be-bom", "utf-16-le", "utf-8-sig", "windows-1252", "utf-32", "shift_jis"],
)
def test_a_publish_profile_is_read_in_whatever_encoding_its_xml_says(
    tmp_path: Path, kudu: KuduServer, encoding: str
) -> None:
    """Windows PowerShell's `>` writes UTF-16 with a BOM; Notepad may add a UTF-8 BOM."""
    codec = {"utf-16-be-bom": "utf-16-be"}.get(encoding, encoding)
    declared = {"utf-8-sig": "utf-8", "utf-16-be-bom": "utf-16"}.get(encoding, encoding)
    site = "サイト" if encoding == "shift_jis" else "café"
    text = (
        f'<?xml version="1.0" encoding="{declared}"?>\r\n<publishData><publishProfile '
        f'profileName="{site} - Web Deploy" publishMethod="MSDeploy" publishUrl="{kudu.url}" '
        f'userName="$site" userPWD="{PASSWORD}" /></publishData>'
    )
    bom = "\ufeff" if encoding in {"utf-16-be-bom", "utf-16-le"} else ""
    path = tmp_path / "site.PublishSettings"
    path.write_bytes((bom + text).encode(codec))
    result = vendorer("kudu", "run", "--publish-profile", str(path), "--", "ver")
    assert result.returncode == 0, result.stderr
    assert kudu.commands == [{"command": "ver", "dir": "site/wwwroot"}]


# --- what a removed distribution leaves on the server: nothing ---------------------------------

GONE_FILES = {
    "gone/__init__.py": "VALUE = 1\n",
    "gone/sub/__init__.py": "",
    "gone/sub/mod.py": "X = 2\n",
    "gone/sub/deep/data.txt": "data\n",
    "gone/locale/fr/LC_MESSAGES/gone.mo": "mo\n",
    "gone_top.py": "TOP = 3\n",
}


def _import(lib: Path, statement: str) -> subprocess.CompletedProcess[str]:
    """Run `statement` with a real Python whose sys.path starts with the server's lib folder."""
    script = f"import sys; sys.path.insert(0, {str(lib)!r}); {statement}"
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environment, check=False
    )


def test_a_removed_distribution_leaves_no_folder_behind(
    tmp_path: Path, static_index: Callable[..., StaticIndex], kudu: KuduServer
) -> None:
    dists = tmp_path / "dists"
    make_wheel(dists, "keep", "1.0")
    make_wheel(dists, "gone", "1.0", files=GONE_FILES)
    make_wheel(dists, "shared", "1.0", files={"shared/__init__.py": "", "shared/a.py": ""})
    folder = make_app(tmp_path / "app", static_index(dists).url, "keep", "gone", "shared")
    _settings_file(folder, kudu.url, PASSWORD)
    assert vendorer("build", cwd=folder).returncode == 0
    sent = vendorer("upload", "--publish-profile", "other.PublishSettings", cwd=folder)
    assert sent.returncode == 0, sent.stderr
    lib = kudu.home / "site/wwwroot/lib"
    # the app ran on the server: Python cached bytecode beside what it imported
    ran = _import(lib, "import gone, gone.sub.mod, gone_top, shared.a, keep")
    assert ran.returncode == 0, ran.stderr
    assert list((lib / "gone/sub/__pycache__").iterdir())
    # a file of the user's inside a removed distribution's folder, and their module's bytecode
    (lib / "shared/settings.local").write_text("mine\n")
    (lib / "shared/local.py").write_text("LOCAL = 1\n")
    assert _import(lib, "import shared.local").returncode == 0
    (folder / "requirements.txt").write_text("keep\n", encoding="utf-8")
    assert vendorer("build", cwd=folder).returncode == 0
    sent = vendorer("upload", "--publish-profile", "other.PublishSettings", cwd=folder)
    assert sent.returncode == 0, sent.stderr
    assert "deleted gone 1.0" in sent.stderr and "deleted shared 1.0" in sent.stderr
    assert "kept lib/shared/ on the server: it holds files vendorer did not write" in sent.stderr
    assert sent.stderr.count("kept ") == 1
    assert sorted(p.name for p in lib.iterdir()) == [
        ".gitattributes", ".vendorer-manifest.json", "keep", "keep-1.0.dist-info", "shared",
    ]  # fmt: skip
    left = {p.relative_to(lib / "shared").as_posix() for p in (lib / "shared").rglob("*")}
    cached = f"__pycache__/local.{sys.implementation.cache_tag}.pyc"
    assert left == {"__pycache__", cached, "local.py", "settings.local"}
    for name in ("gone", "gone.sub", "gone_top"):
        missing = _import(lib, f"import {name}")
        assert missing.returncode == 1 and "ModuleNotFoundError" in missing.stderr, name
    ran = _import(lib, "import shared.local, keep")  # the user's module still works
    assert ran.returncode == 0, ran.stderr


# --- a remote command runs once -----------------------------------------------------------------


def run(folder: Path, *words: str) -> tuple[int, str]:
    result = vendorer("kudu", "run", "--publish-profile", "site.PublishSettings", "--", *words,
                      cwd=folder)  # fmt: skip
    return result.returncode, _clean(result)


def test_a_command_whose_answer_is_lost_is_never_sent_again(
    app: tuple[Path, StaticIndex], kudu: KuduServer
) -> None:
    folder, _ = app
    kudu.cuts = {1}  # the command runs, then the connection drops before the answer
    code, output = run(folder, "pip", "install", "flask")
    assert code == 1 and "after the command was sent" in output
    assert "never sends a command twice" in output
    assert kudu.commands == [{"command": "pip install flask", "dir": "site/wwwroot"}]
    assert kudu.count == 1
    for status in (500, 502, 503):  # a gateway's error: Kudu itself always answers 200
        kudu.failures = {kudu.count + 1: status}
        code, output = run(folder, "pip", "install", "flask")
        assert code == 1 and f"HTTP {status}" in output and "after the command was sent" in output
    assert kudu.count == 4


def test_a_command_is_retried_only_when_nothing_was_sent(tmp_path: Path) -> None:
    with KuduServer(tmp_path / "home", password=PASSWORD) as server:
        url = server.url  # then nothing listens there: every connection is refused
    credentials = Credentials(url=url, user="$site", password=PASSWORD)
    refused = r"the connection failed \(ConnectError.*after 2 tries"
    with (
        KuduClient(credentials, retries=2, backoff=0) as client,
        pytest.raises(KuduError, match=refused),
    ):
        client.command("dir", "site")
    assert may_resend("POST", httpx.ConnectError("refused"))
    assert not may_resend("POST", httpx.ReadError("reset"))
    assert not may_resend("POST", httpx.ReadTimeout("slow"))
    assert not may_resend("POST", httpx.RemoteProtocolError("closed"))
    assert not may_resend("POST", None)  # an HTTP error status
    assert all(may_resend(m, None) for m in ("GET", "PUT", "DELETE"))


def test_a_slow_command_is_not_sent_again_when_our_wait_ends(
    tmp_path: Path, kudu: KuduServer
) -> None:
    kudu.command_seconds = 1.0
    credentials = Credentials(url=kudu.url, user="$site", password=PASSWORD)
    client = KuduClient(credentials, command_timeout=0.3, backoff=0)
    with client, pytest.raises(CommandOutcomeUnknown, match="no answer in time"):
        client.command("python -m pip install flask", "site")
    deadline = time.monotonic() + 10
    while not kudu.finished and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(kudu.commands) == 1 and len(kudu.finished) == 1


def test_a_remote_install_cut_by_the_front_end_says_where_its_log_is(
    app: tuple[Path, StaticIndex], kudu: KuduServer
) -> None:
    """App Service's front end answers 500 after 230 s (here 0.3 s); pip goes on there."""
    folder, _ = app
    kudu.command_seconds, kudu.front_end_limit = 1.0, 0.3
    code, output = upload(folder, "--mode", "wheelhouse")
    assert code == 1, output
    assert "pip on the server: HTTP 500 (500 - The request timed out." in output
    assert "it was not sent again" in output and "230 s" in output
    log = "D:\\home\\site\\wheelhouse\\python361x64\\pip-install.log"
    assert f"pip's log is {log}" in output
    assert "vendorer kudu run --dir site/wheelhouse/python361x64 -- type pip-install.log" in output
    deadline = time.monotonic() + 10
    while not kudu.finished and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(kudu.commands) == 1 and len(kudu.finished) == 1  # it ran, once
    kudu.commands.clear()
    kudu.cuts = {kudu.count + 3}  # zip, the old log's deletion, then the install
    code, output = upload(folder, "--mode", "wheelhouse")
    assert code == 1 and "the connection failed (RemoteProtocolError" in output
    assert "it was not sent again" in output and len(kudu.commands) == 1


def test_kudu_stopping_an_idle_install_is_explained(
    app: tuple[Path, StaticIndex], kudu: KuduServer
) -> None:
    folder, _ = app
    message = (
        "Command 'starter.cmd \"D:\\home\\pyt ...' was aborted due to no output nor CPU activity "
        "for 60 seconds. You can increase the SCM_COMMAND_IDLE_TIMEOUT app setting (or "
        "WEBJOBS_IDLE_TIMEOUT if this is a WebJob) if needed."
    )  # Kudu's Resources.resx Error_ProcessAborted, as CommandController answers it
    kudu.command_result = {"Output": "", "Error": message, "ExitCode": -1}
    code, output = upload(folder, "--mode", "wheelhouse")
    assert code == 1 and "pip on the server failed (exit code -1)" in output
    assert "SCM_COMMAND_IDLE_TIMEOUT" in output and "pip-install.log" in output


# --- what killed uploads leave in the temporary folder is swept --------------------------------


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _workspaces(temporary: Path) -> set[Path]:
    return set(temporary.glob("vendorer-upload-*"))


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_each_upload_sweeps_what_killed_uploads_left(
    app: tuple[Path, StaticIndex], kudu: KuduServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, _ = app
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setenv("TMPDIR", str(temporary))
    command = [sys.executable, "-m", "vendorer", "upload", "--publish-profile",
               "site.PublishSettings", "--no-check"]  # fmt: skip
    kudu.held = {2, 4}  # the zip of the first two uploads: they wait with it on disk
    killed = subprocess.Popen(command, cwd=folder, stderr=subprocess.DEVNULL)
    _wait_for(lambda: kudu.count >= 2, "the first upload's zip")
    killed.kill()  # SIGKILL: nothing of its own cleaning runs
    killed.wait()
    (left,) = _workspaces(temporary)
    assert (left / "upload.zip").stat().st_size > 0
    running = subprocess.Popen(command, cwd=folder, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: kudu.count >= 4, "the second upload's zip")
    (owned,) = _workspaces(temporary) - {left}
    older = temporary / "vendorer-upload-old"  # an older vendorer's, without a lock file
    older.mkdir()
    (older / "upload.zip").write_bytes(b"PK")
    young = temporary / "vendorer-upload-young"  # the same, just made: its upload may be alive
    young.mkdir()
    for path in (left, owned):
        _age(path, 120)  # older than a minute: only their locks tell them apart now
    _age(older, 2 * 3600)
    (temporary / "vendorer-upload-file").write_text("not a folder\n")
    (temporary / "someone-else").mkdir()
    code, output = upload(folder, "--no-check")
    assert code == 0, output
    assert _workspaces(temporary) == {owned, young, temporary / "vendorer-upload-file"}
    assert (owned / "upload.zip").exists() and (temporary / "someone-else").is_dir()
    kudu.release.set()
    _, errors = running.communicate(timeout=30)
    assert running.returncode == 0, errors
    assert not owned.exists()
