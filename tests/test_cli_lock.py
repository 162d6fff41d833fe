"""`vendorer lock`, `--export` and `why` as a user runs them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import make_app, vendorer
from tests.support.dists import make_wheel
from tests.support.index import StaticIndex
from tests.support.scenario import YANKED, build_scenario
from vendorer.tomlfile import parse_toml


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
