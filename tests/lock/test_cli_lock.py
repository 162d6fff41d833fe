"""`vendorer lock`, `--export` and `why` as a user runs them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import make_app, vendorer
from tests.support.dists import make_wheel
from tests.support.index import StaticIndex
from tests.support.scenario import YANKED, build_scenario
from vendorer._util.tomlfile import parse_toml
from vendorer.index.models import MAX_DOCUMENT


@pytest.fixture
def app(tmp_path: Path, static_index: Callable[..., StaticIndex]) -> tuple[Path, StaticIndex]:
    index = static_index(build_scenario(tmp_path / "dists"), yanked=YANKED)
    folder = make_app(tmp_path / "app", index.url, "webfw[speed]", "yanky")
    return folder, index


def test_lock_then_export_then_why(app: tuple[Path, StaticIndex]) -> None:
    folder, _ = app
    locked = vendorer("lock", cwd=folder)
    assert locked.returncode == 0, locked.stderr
    assert "wrote pylock.python361x64.toml (7 packages)" in locked.stderr
    assert (folder / "pylock.python361x64.toml").exists()
    again = vendorer("lock", "--export", "requirements", "-o", "deploy.txt", cwd=folder)
    assert again.returncode == 0, again.stderr
    assert "up to date: pylock.python361x64.toml" in again.stderr
    exported = (folder / "deploy.txt").read_text(encoding="utf-8").splitlines()
    assert "clicky==7.0 \\" in exported and "yanky==1.0 \\" in exported
    assert sum(line.strip().startswith("--hash=sha256:") for line in exported) == 7
    why = vendorer("why", "clicky", cwd=folder)
    assert why.returncode == 0, why.stderr
    assert why.stdout.splitlines()[0] == "clicky 7.0 (wheel: clicky-7.0-py3-none-any.whl)"
    assert "  webfw 2.0 (clicky>=7) <- requirements.txt:1 (webfw[speed])" in why.stdout
    assert "8.0: Requires-Python !=3.6.*,>=3.6" in why.stdout


def _versions(folder: Path) -> dict[str, str]:
    lock = parse_toml((folder / "pylock.python361x64.toml").read_text("utf-8"), origin="lock")
    return {package["name"]: package["version"] for package in lock["packages"]}


def test_a_changed_requirement_moves_only_what_it_must(app: tuple[Path, StaticIndex]) -> None:
    folder, index = app
    assert vendorer("lock", cwd=folder).returncode == 0
    make_wheel(index.root, "clicky", "7.5", requires_python=">=3.6")
    make_wheel(index.root, "fastpath", "1.1")
    (folder / "requirements.txt").write_text("webfw[speed]\nyanky\nfullver\n", "utf-8")
    added = vendorer("lock", cwd=folder)
    assert added.returncode == 0, added.stderr
    assert "  + fullver 1.0\n" in added.stderr and "  ~ " not in added.stderr  # what moved
    versions = _versions(folder)
    assert (versions["clicky"], versions["fastpath"], versions["fullver"]) == ("7.0", "1.0", "1.0")
    why = vendorer("why", "clicky", cwd=folder)
    assert "7.5: the lock keeps 7.0 (`vendorer lock --upgrade-package clicky` moves it)" in (
        why.stdout
    )
    moved = vendorer("lock", "-P", "Clicky", cwd=folder)
    assert moved.returncode == 0 and "  ~ clicky 7.0 -> 7.5\n" in moved.stderr
    assert (_versions(folder)["clicky"], _versions(folder)["fastpath"]) == ("7.5", "1.0")
    back = vendorer("lock", "-P", "clicky==7.0", cwd=folder)  # pip-tools' NAME==VERSION
    assert back.returncode == 0 and "  ~ clicky 7.5 -> 7.0\n" in back.stderr
    bad = vendorer("lock", "-P", "clicky==", cwd=folder)
    assert bad.returncode == 2 and "--upgrade-package 'clicky=='" in bad.stderr
    (folder / "requirements.txt").write_text("webfw[speed]\nyanky\nfullver\nfastpath>=1.1\n")
    assert vendorer("lock", cwd=folder).returncode == 0  # a requirement the kept pin fails
    assert _versions(folder)["fastpath"] == "1.1"
    make_wheel(index.root, "clicky", "7.6", requires_python=">=3.6")
    before = (folder / "pylock.python361x64.toml").read_bytes()
    dry = vendorer("lock", "--upgrade", "--dry-run", cwd=folder)
    assert dry.returncode == 0 and "would write pylock.python361x64.toml" in dry.stderr
    assert "  ~ clicky 7.0 -> 7.6\n" in dry.stderr
    assert (folder / "pylock.python361x64.toml").read_bytes() == before
    assert vendorer("lock", "--upgrade", cwd=folder).returncode == 0
    assert _versions(folder)["clicky"] == "7.6"


def test_first_index_keeps_a_public_index_from_shadowing_a_private_one(
    tmp_path: Path, static_index: Callable[..., StaticIndex]
) -> None:
    private, public = tmp_path / "private", tmp_path / "public"
    make_wheel(private, "corpcore", "1.0", requires_dist=["helper"])
    make_wheel(public, "corpcore", "99.0")  # someone took the name on the public index
    make_wheel(public, "helper", "2.0")
    private_index, public_index = static_index(private), static_index(public)
    app = make_app(tmp_path / "app", private_index.url, "corpcore")
    (app / "requirements.txt").write_text(
        f"--extra-index-url {public_index.url}\ncorpcore\n", encoding="utf-8"
    )
    assert vendorer("lock", cwd=app).returncode == 0
    assert _versions(app)["corpcore"] == "99.0"  # pip's way: the best match, from anywhere
    safe = vendorer("lock", "--index-strategy", "first-index", cwd=app)
    assert safe.returncode == 0, safe.stderr
    assert _versions(app) == {"corpcore": "1.0", "helper": "2.0"}  # helper: only public has it
    lock = (app / "pylock.python361x64.toml").read_text(encoding="utf-8")
    assert 'index-strategy = "first-index"' in lock
    check = vendorer("check", cwd=app)
    assert "pylock.python361x64.toml is stale" not in check.stderr  # the lock's own choice


def test_lock_for_another_profile_from_the_command_line(app: tuple[Path, StaticIndex]) -> None:
    folder, _ = app
    result = vendorer("lock", "--profile", "linux-python312", cwd=folder)
    assert result.returncode == 0, result.stderr
    text = (folder / "pylock.linux-python312.toml").read_text(encoding="utf-8")
    assert 'name = "colorish"' not in text and 'version = "3.0"' in text


def test_lock_failures_are_one_clear_block(app: tuple[Path, StaticIndex]) -> None:
    folder, _ = app
    (folder / "requirements.txt").write_text("webfw\nneedsoldclicky\n", encoding="utf-8")
    conflict = vendorer("lock", cwd=folder)
    assert conflict.returncode == 1
    assert conflict.stderr.startswith("error: cannot resolve the requirements for python361x64:")
    assert "Traceback" not in conflict.stderr
    (folder / "requirements.txt").write_text("webfw >= = 1\n", encoding="utf-8")
    malformed = vendorer("lock", cwd=folder)
    assert malformed.returncode == 2
    assert "requirements.txt:1: 'webfw >= = 1' is not a valid requirement" in malformed.stderr
    unknown = vendorer("lock", "--profile", "pyhton361x64", cwd=folder)
    assert unknown.returncode == 2 and "did you mean python361x64" in unknown.stderr
    (folder / "requirements.txt").write_text("webfw\n", encoding="utf-8")
    no_url = vendorer("lock", "--index-url", "pypi.example.com/simple", cwd=folder)
    assert no_url.returncode == 2
    assert "index URL 'pypi.example.com/simple' is not an http://, https:// or file:// URL" in (
        no_url.stderr
    )
    (folder / "pyproject.toml").write_text("[tool.vendorer]\n", encoding="utf-8")
    no_profile = vendorer("lock", cwd=folder)
    assert no_profile.returncode == 2 and "no target profile" in no_profile.stderr
    for result in (malformed, unknown, no_url, no_profile):
        assert "Traceback" not in result.stderr


def test_why_without_a_lock_says_what_to_run(app: tuple[Path, StaticIndex]) -> None:
    folder, _ = app
    result = vendorer("why", "clicky", cwd=folder)
    assert result.returncode == 1
    assert "no lock; run `vendorer lock` first" in result.stderr


def test_a_requirement_from_a_file_in_a_folder_with_a_space_is_annotated_as_such(
    app: tuple[Path, StaticIndex],
) -> None:
    folder, _ = app
    (folder / "sub dir").mkdir()
    (folder / "sub dir" / "base.txt").write_text("# shared\n\nclicky\n", encoding="utf-8")
    (folder / "requirements.txt").write_text('-r "sub dir/base.txt"\nwebfw\n', encoding="utf-8")
    locked = vendorer("lock", "--export", "requirements", cwd=folder)
    assert locked.returncode == 0, locked.stderr
    exported = locked.stdout.split("clicky==7.0 \\\n")[1].splitlines()
    assert exported[1:4] == ["    # via", "    #   -r sub dir/base.txt", "    #   webfw"]
    assert "    # via -r requirements.txt" in locked.stdout  # webfw's
    lock = (folder / "pylock.python361x64.toml").read_text(encoding="utf-8")
    assert '{ file = "sub dir/base.txt", line = 3, requirement = "clicky" }' in lock
    why = vendorer("why", "clicky", cwd=folder)
    assert "  sub dir/base.txt:3 (clicky)\n" in why.stdout
    assert "  webfw 2.0 (clicky>=7) <- requirements.txt:2 (webfw)\n" in why.stdout


def test_a_lock_edited_by_hand_is_not_current_and_lock_writes_it_again(
    app: tuple[Path, StaticIndex],
) -> None:
    folder, _ = app
    assert vendorer("build", cwd=folder).returncode == 0
    versions = _versions(folder)
    path = folder / "pylock.python361x64.toml"
    good = path.read_text(encoding="utf-8")
    sha = good.split('sha256 = "', 1)[1][:64]
    path.write_text(good.replace(sha, "0" * 64), encoding="utf-8")  # a hand edit (or a bad merge)
    check = vendorer("check", cwd=folder)
    assert check.returncode == 1
    assert "pylock.python361x64.toml: edited by hand" in check.stderr
    assert "fix: vendorer lock --profile python361x64" in check.stderr
    why = vendorer("why", "clicky", cwd=folder)
    assert why.returncode == 1 and "run `vendorer lock --profile python361x64`" in why.stderr
    rebuilt = vendorer("build", cwd=folder)  # locks again first: the lock is not current
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "wrote pylock.python361x64.toml" in rebuilt.stderr
    assert _versions(folder) == versions  # the versions it named are kept
    relocked = path.read_text(encoding="utf-8")
    assert sha in relocked and "0" * 64 not in relocked
    assert vendorer("check", cwd=folder).returncode == 0


# --- what the user gives: URLs that do not parse, empty ones, timeouts ----------------------------


def _config(folder: Path, text: str) -> None:
    (folder / "pyproject.toml").write_text(
        f'[tool.vendorer]\nprofile = "python361x64"\n{text}\n', encoding="utf-8"
    )


def test_a_url_that_does_not_parse_is_one_clear_error_naming_its_source(
    tmp_path: Path, static_index: Callable[..., StaticIndex]
) -> None:
    index = static_index(build_scenario(tmp_path / "dists"))
    folder = make_app(tmp_path / "app", index.url, "webfw")
    bad_urls = ["http://a:pw@127.0.0.1:99999/simple/", "http://a:pw@[::1/simple/",
                "http://a:pw@/simple/", "ftp://a:pw@host/simple/"]  # fmt: skip
    sources: list[tuple[list[str], str, str, str]] = [  # options, config, requirements, said
        (["-i", "{}"], "", "", "argument -i/--index-url: index URL"),
        (["--extra-index-url", "{}"], "", "", "argument --extra-index-url: index URL"),
        (["-f", "{}"], "", "", "argument -f/--find-links: find-links"),
        ([], 'index-url = "{}"', "", "  index-url: "),
        ([], 'extra-index-urls = ["{}"]', "", "  extra-index-urls: "),
        ([], 'find-links = ["{}"]', "", "  find-links: "),
        ([], "", "-i {}", "requirements.txt:1: --index-url "),
        ([], "", "--extra-index-url {}", "requirements.txt:1: --extra-index-url "),
        ([], "", "-f {}", "requirements.txt:1: --find-links "),
        ([], "", "webfw @ {}webfw-2.0-py3-none-any.whl", "requirements.txt:1: "),
    ]
    for number, (options, config, requirements, said) in enumerate(sources):
        for bad in (bad_urls[number % 4], bad_urls[(number + 1) % 4]):  # each URL in 5 sources
            given = [option.format(bad) for option in options]
            _config(folder, config.format(bad) or f'index-url = "{index.url}"')
            text = f"{requirements.format(bad)}\nwebfw\n"
            (folder / "requirements.txt").write_text(text, encoding="utf-8")
            result = vendorer("lock", *given, cwd=folder)
            shown = f"{bad} from {given or config or requirements}:\n{result.stderr}"
            assert result.returncode == 2, shown
            assert said in result.stderr and "Traceback" not in result.stderr, shown
            assert "pw" not in result.stderr + result.stdout, shown
    (folder / "requirements.txt").write_text("pkg @ git+https://a:pw@host/pkg.git\n", "utf-8")
    vcs = vendorer("lock", cwd=folder)  # refused for another reason: the password is not shown
    assert vcs.returncode == 2 and "version-control" in vcs.stderr and "pw" not in vcs.stderr
    assert index.requests == []  # nothing was sent


def test_an_index_page_link_that_does_not_parse_is_skipped_with_a_warning(
    app: tuple[Path, StaticIndex],
) -> None:
    folder, index = app
    index.add_links("webfw", "http://[::1", "http://u:pw@127.0.0.1:99999/webfw-9.tar.gz")
    result = vendorer("lock", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("warning: skipped a link on ") == 2
    assert "pw" not in result.stderr and "Traceback" not in result.stderr


def test_unset_variables_in_credentials_are_refused_never_sent(
    tmp_path: Path, static_index: Callable[..., StaticIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    index = static_index(build_scenario(tmp_path / "dists"), auth=("me", "t0k"))
    folder = make_app(tmp_path / "app", index.url, "webfw")
    _config(folder, "")  # the index comes from the requirements file
    monkeypatch.setenv("VENDORER_TEST_USER", "me")
    monkeypatch.delenv("VENDORER_TEST_TOKEN", raising=False)
    private = index.url.replace("//", "//${VENDORER_TEST_USER}:${VENDORER_TEST_TOKEN}@")
    (folder / "requirements.txt").write_text(f"-i {private}\nwebfw\n", encoding="utf-8")
    refused = vendorer("lock", cwd=folder)
    assert refused.returncode == 2, refused.stderr
    assert f"requirements.txt:1: --index-url '{index.url}' holds ${{VENDORER_TEST_TOKEN}}" in (
        refused.stderr
    )
    assert index.requests == []  # the placeholder was never sent as a password
    monkeypatch.setenv("VENDORER_TEST_TOKEN", "t0k")
    accepted = vendorer("lock", cwd=folder)
    assert accepted.returncode == 0, accepted.stderr
    assert "t0k" not in (folder / "pylock.python361x64.toml").read_text(encoding="utf-8")


def test_an_empty_index_url_is_an_error_not_pypi(app: tuple[Path, StaticIndex]) -> None:
    folder, index = app
    for config in ('index-url = ""', 'extra-index-urls = [""]', 'find-links = [" "]'):
        _config(folder, config)
        result = vendorer("lock", cwd=folder)
        assert result.returncode == 2, result.stderr
        key = config.split(" ")[0]
        assert f"[tool.vendorer]:\n  {key}: " in result.stderr and "is empty" in result.stderr
    _config(folder, f'index-url = "{index.url}"')
    for option in ("-i", "--extra-index-url", "-f"):
        result = vendorer("lock", option, "", cwd=folder)
        assert result.returncode == 2 and "is empty" in result.stderr, result.stderr
    (folder / "requirements.txt").write_text("--index-url=\nwebfw\n", encoding="utf-8")
    result = vendorer("lock", cwd=folder)
    assert result.returncode == 2 and "requirements.txt:1: --index-url '' is empty" in (
        result.stderr
    )
    assert not (folder / "pylock.python361x64.toml").exists()


def test_the_timeout_must_be_a_positive_number_and_is_named_when_hit(
    app: tuple[Path, StaticIndex],
) -> None:
    folder, index = app
    for value in ("-5", "0", "nan", "inf", "-inf", "1e300", "soon"):
        result = vendorer("lock", f"--timeout={value}", cwd=folder)
        assert result.returncode == 2, (value, result.stderr)
        assert f"argument --timeout: '{value}' is not a number of seconds above 0" in (
            result.stderr
        )
        assert "Traceback" not in result.stderr
    index.delay(1.0)
    slow = vendorer("lock", "--timeout", "0.2", cwd=folder)
    assert slow.returncode == 1 and "no answer within 0.2 s" in slow.stderr, slow.stderr


# --- the private index's password from keyring, asked once for every request ----------------------

SLOW_KEYRING = """#!/bin/sh
echo "$1" >> "{log}"
sleep 1
exec "{keyring}" "$@"
"""


def test_every_request_waits_for_the_one_keyring_answer(
    tmp_path: Path,
    static_index: Callable[..., StaticIndex],
    keyring_store: Callable[[str, str, str], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dists = tmp_path / "dists"
    roots = [f"root{n}" for n in range(6)]
    for name in roots:
        make_wheel(dists, name, "1.0")
    index = static_index(dists, auth=("alice", "from-keyring"))
    keyring_store(index.url, "alice", "from-keyring")
    stranger = make_app(tmp_path / "bob", index.url.replace("//", "//bob@"), "root0")
    refused = vendorer("lock", "--keyring-provider", "subprocess", cwd=stranger)
    assert refused.returncode == 1 and "HTTP 401" in refused.stderr  # shown after the warning:
    assert refused.stderr.startswith(f"warning: keyring has no password for bob at {index.url}\n")
    # a keyring that takes a second to answer (as a backend that signs in does), logging each ask
    wrapper, log = tmp_path / "slow" / "keyring", tmp_path / "asked.log"
    wrapper.parent.mkdir()
    real = shutil.which("keyring")
    wrapper.write_text(SLOW_KEYRING.format(log=log, keyring=real), encoding="utf-8")
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}")
    folder = make_app(tmp_path / "app", index.url.replace("//", "//alice@"), *roots)
    index.statuses.clear()
    for run in range(1, 3):
        result = vendorer("lock", "--force", "--keyring-provider", "subprocess", cwd=folder)
        assert result.returncode == 0, result.stderr
        assert log.read_text(encoding="utf-8").splitlines() == ["get"] * run  # one ask a run
    assert 401 not in {status for _, status in index.statuses}  # no request went without it
    assert "from-keyring" not in (folder / "pylock.python361x64.toml").read_text("utf-8")


# --- what the index client learns is shown, once -------------------------------------------------


def test_what_the_finder_learns_is_shown_once_as_warnings(
    tmp_path: Path, static_index: Callable[..., StaticIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    index = static_index(build_scenario(tmp_path / "dists"))
    index.add_links("webfw", "http://[::1")
    other = tmp_path / "other"
    make_wheel(other, "clicky", "7.0", requires_python=">=3.6", files={"clicky.py": "# other\n"})
    other_index = static_index(other)
    netrc = tmp_path / "netrc"
    netrc.write_text("garbage here\n", encoding="utf-8")
    monkeypatch.setenv("NETRC", str(netrc))
    expected = [
        f"warning: skipped a link on {index.url}webfw/: 'http://[::1' does not parse",
        "warning: clicky-7.0-py3-none-any.whl differs between",
        f"warning: ignored {netrc}: ",
        "warning: requirements.txt:1: --trusted-host is ignored: vendorer checks every HTTPS",
    ]
    extra = ("--extra-index-url", other_index.url)

    def run_fresh(command: str) -> Path:
        folder = make_app(tmp_path / command, index.url, "--trusted-host example.com", "webfw")
        first = vendorer(command, *extra, cwd=folder)
        assert first.returncode == 0, first.stderr
        for line in expected:
            assert first.stderr.count(line) == 1, (line, first.stderr)
        assert first.stderr.count("warning:") == len(expected), first.stderr
        return folder

    folder = run_fresh("lock")
    current = vendorer("lock", *extra, cwd=folder)  # nothing is read: nothing to say
    assert current.returncode == 0 and "warning:" not in current.stderr, current.stderr
    wheelhouse = vendorer("wheelhouse", *extra, cwd=folder)  # downloads: netrc is read again
    assert wheelhouse.returncode == 0, wheelhouse.stderr
    (warning,) = [line for line in wheelhouse.stderr.splitlines() if "warning:" in line]
    assert warning == f"warning: ignored {netrc}: it does not parse (line 1)"  # no token quoted
    run_fresh("build")  # lock and wheelhouse: each warning once


# --- an index page too big to hold ----------------------------------------------------------------

MAX_RSS = """
import resource, subprocess, sys
result = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, result.returncode)
print(result.stderr)
"""


def _rss_of_lock(folder: Path) -> tuple[int, int, str]:
    """(peak RSS in bytes, exit code, stderr) of `vendorer lock` run in its own process."""
    command = [sys.executable, "-m", "vendorer", "lock", "--app", str(folder)]
    measured = subprocess.run(
        [sys.executable, "-c", MAX_RSS, *command], capture_output=True, text=True, check=True
    )
    first, _, stderr = measured.stdout.partition("\n")
    peak, code = first.split()
    return int(peak) << 10, int(code), stderr  # ru_maxrss is in KiB on Linux


@pytest.mark.parametrize("announce", [False, True])
def test_an_index_page_too_big_to_hold_is_refused_and_memory_stays_bounded(
    app: tuple[Path, StaticIndex], announce: bool
) -> None:
    folder, index = app
    baseline, code, stderr = _rss_of_lock(folder)
    assert code == 0, stderr
    (folder / "requirements.txt").write_text("webfw[speed]\nyanky\nhuge\n", encoding="utf-8")
    index.serve_huge("/simple/huge/", 4 * MAX_DOCUMENT, announce=announce)
    peak, code, stderr = _rss_of_lock(folder)
    assert code == 1, stderr
    assert f"error: {index.url}huge/: larger than the 64 MiB vendorer reads" in stderr
    growth = peak - baseline
    print(f"peak RSS {peak >> 20} MiB, {growth >> 20} MiB above a normal lock")
    assert growth < MAX_DOCUMENT * 3 // 2, f"{growth >> 20} MiB more for a page it refused"
