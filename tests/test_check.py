"""`vendorer check` catches each kind of drift offline, and the hooks that run it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import make_app, vendorer
from tests.support.dists import make_wheel
from tests.support.index import StaticIndex
from vendorer.deploy.hooks import MARKER
from vendorer.install.manifest import MANIFEST
from vendorer.install.tree import hash_cache_path
from vendorer.wheelhouse.contents import STATE_FILE


@pytest.fixture
def app(tmp_path: Path, static_index: Callable[..., StaticIndex]) -> tuple[Path, StaticIndex]:
    dists = tmp_path / "dists"
    make_wheel(dists, "webfw", "2.0", requires_dist=["helper"],
               entry_points={"console_scripts": {"webfw": "webfw:main"}})  # fmt: skip
    make_wheel(dists, "helper", "1.0")
    make_wheel(dists, "extra", "1.0")
    index = static_index(dists)
    folder = make_app(tmp_path / "app", index.url, "webfw")
    built = vendorer("build", cwd=folder)
    assert built.returncode == 0, built.stderr
    return folder, index


def test_a_fresh_build_checks_clean_and_offline(app: tuple[Path, StaticIndex]) -> None:
    folder, index = app
    index.requests.clear()
    result = vendorer("check", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "all true for python361x64: lock, wheelhouse and lib match (2 distributions)" in (
        result.stderr
    )
    assert index.requests == []


# What a run with nothing to do never needs: the HTTP client, the terminal renderer, the resolver,
# the wheel installer, the build frontend, the Azure SDK; nor vendorer's index client.
HEAVY = ("httpx", "rich", "resolvelib", "installer", "build", "azure", "ssl")
UNUSED = ("vendorer.index.finder", "vendorer.resolve.resolver", "vendorer.install.unpack")


@pytest.mark.parametrize("command", ["build", "check"])
def test_nothing_changed_imports_nothing_heavy(app: tuple[Path, StaticIndex], command: str) -> None:
    folder, index = app
    index.requests.clear()
    script = (
        "import json, sys\n"
        "from vendorer.cli.program import main\n"
        f"code = main([{command!r}])\n"
        "print(json.dumps([code, sorted(m for m in sys.modules\n"
        f"    if m.split('.')[0] in {HEAVY!r} or m in {UNUSED!r})]))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=folder, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    code, heavy = json.loads(result.stdout.splitlines()[-1])
    assert (code, heavy) == (0, [])
    assert index.requests == []


def test_a_build_with_nothing_to_do_writes_nothing(app: tuple[Path, StaticIndex]) -> None:
    folder, _ = app
    wheelhouse = folder / "wheelhouse" / "python361x64"
    files = [folder / "pylock.python361x64.toml", wheelhouse / "requirements.txt",
             wheelhouse / STATE_FILE, folder / "lib" / MANIFEST]  # fmt: skip
    before = {path: path.stat().st_mtime_ns for path in files}
    again = vendorer("build", cwd=folder)
    assert again.returncode == 0, again.stderr
    assert {path: path.stat().st_mtime_ns for path in files} == before
    (wheelhouse / "requirements.txt").write_text("edited\n", encoding="utf-8")
    assert vendorer("build", cwd=folder).returncode == 0  # a changed export is written again
    assert "--hash=sha256:" in (wheelhouse / "requirements.txt").read_text(encoding="utf-8")


def test_stale_lock(app: tuple[Path, StaticIndex]) -> None:
    folder, _ = app
    (folder / "requirements.txt").write_text("webfw\nextra\n", encoding="utf-8")
    result = vendorer("check", cwd=folder)
    assert result.returncode == 1
    assert "drift: pylock.python361x64.toml is stale" in result.stderr
    assert "fix: vendorer lock --profile python361x64" in result.stderr


def test_wheelhouse_drift(app: tuple[Path, StaticIndex]) -> None:
    folder, _ = app
    (folder / "wheelhouse" / "python361x64" / "helper-1.0-py3-none-any.whl").unlink()
    result = vendorer("check", cwd=folder)
    assert result.returncode == 1
    assert "drift: wheelhouse: no wheel for helper 1.0" in result.stderr
    assert "fix: vendorer wheelhouse --profile python361x64" in result.stderr


def test_hand_edits_to_the_vendored_tree_and_their_fix(app: tuple[Path, StaticIndex]) -> None:
    folder, _ = app
    lib = folder / "lib"
    (lib / "webfw" / "__init__.py").write_text("patched = True\n", encoding="utf-8")
    (lib / "helper" / "__init__.py").unlink()
    (lib / "sneaky.py").write_text("x = 1\n", encoding="utf-8")
    result = vendorer("check", cwd=folder)
    assert result.returncode == 1
    assert "drift: lib/webfw/__init__.py: changed by hand" in result.stderr
    assert "drift: lib/helper/__init__.py: missing" in result.stderr
    assert "drift: lib/sneaky.py: added by hand" in result.stderr
    assert "fix: vendorer vendor --profile python361x64" in result.stderr
    (lib / "sneaky.py").unlink()
    fixed = vendorer("vendor", cwd=folder)
    assert fixed.returncode == 0, fixed.stderr
    assert vendorer("check", cwd=folder).returncode == 0
    assert "patched" not in (lib / "webfw" / "__init__.py").read_text(encoding="utf-8")


def test_a_broken_manifest_is_a_drift_with_its_own_fix(app: tuple[Path, StaticIndex]) -> None:
    folder, _ = app
    (folder / "lib" / ".vendorer-manifest.json").write_text("{", encoding="utf-8")
    result = vendorer("check", cwd=folder)
    assert result.returncode == 1
    assert "drift: lib/.vendorer-manifest.json: not JSON" in result.stderr
    assert "fix: git checkout -- lib/.vendorer-manifest.json, or move lib/ away" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_damaged_hash_cache_is_dropped_not_trusted(app: tuple[Path, StaticIndex]) -> None:
    folder, _ = app
    cache = hash_cache_path(folder / "lib")
    vendored = folder / "lib" / "webfw" / "__init__.py"
    stat = vendored.stat()
    signature = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
    for damaged in ([1], {str(vendored.resolve()): signature}, {str(vendored): [*signature, 5]}):
        cache.write_text(json.dumps(damaged), encoding="utf-8")
        result = vendorer("check", cwd=folder)
        assert result.returncode == 0, (damaged, result.stderr)


def test_without_a_wheelhouse_the_tree_is_checked_against_the_lock(
    app: tuple[Path, StaticIndex],
) -> None:
    folder, _ = app
    shutil.rmtree(folder / "wheelhouse")
    result = vendorer("check", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "note: no wheelhouse at" in result.stderr
    (folder / "lib" / "webfw" / "__init__.py").write_text("x\n", encoding="utf-8")
    assert vendorer("check", cwd=folder).returncode == 1


def test_a_hook_needs_a_git_repository(tmp_path: Path) -> None:
    result = vendorer("hook", "install", "--app", str(tmp_path))
    assert result.returncode == 2
    assert f"{tmp_path.resolve()} is not inside a git repository; run `git init`" in result.stderr


def test_the_pre_push_hook_runs_check(app: tuple[Path, StaticIndex], tmp_path: Path) -> None:
    folder, _ = app
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    installed = vendorer("hook", "install", cwd=folder)
    assert installed.returncode == 0, installed.stderr
    hook = tmp_path / ".git" / "hooks" / "pre-push"
    assert MARKER in hook.read_text() and "exec vendorer check --app app" in hook.read_text()
    assert os.access(hook, os.X_OK)
    environ = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    ran = subprocess.run([str(hook)], cwd=tmp_path, capture_output=True, text=True, env=environ,
                         check=False)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    (folder / "lib" / "webfw" / "__init__.py").write_text("x\n", encoding="utf-8")
    refused = subprocess.run([str(hook)], cwd=tmp_path, capture_output=True, text=True,
                             env=environ, check=False)  # fmt: skip
    assert refused.returncode == 1 and "changed by hand" in refused.stderr
    hook.write_text("#!/bin/sh\necho mine\n")
    assert vendorer("hook", "install", cwd=folder).returncode == 2
    assert vendorer("hook", "install", "--force", cwd=folder).returncode == 0


def test_build_vendors_and_says_where_pythonpath_must_point(app: tuple[Path, StaticIndex]) -> None:
    folder, _ = app
    assert (folder / "lib" / "bin" / "webfw.exe").exists()
    again = vendorer("build", cwd=folder)
    assert "up to date: lib (2 distributions)" in again.stderr
    assert "PYTHONPATH must include D:\\home\\site\\wwwroot\\lib" in again.stderr
    (folder / "requirements.txt").write_text("webfw\nextra\n", encoding="utf-8")
    dry = vendorer("build", "--dry-run", cwd=folder)
    assert "would install extra 1.0" in dry.stderr
    assert not (folder / "lib" / "extra").exists()


@pytest.mark.network  # pre-commit installs vendorer and its dependencies from the public index
def test_the_pre_commit_framework_runs_the_hook(app: tuple[Path, StaticIndex]) -> None:
    folder, _ = app
    repository = Path(__file__).resolve().parent.parent
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q", "."], cwd=folder, check=True)
    (folder / ".gitignore").write_text("wheelhouse/\n", encoding="utf-8")
    subprocess.run([*git, "add", "-A"], cwd=folder, check=True)
    subprocess.run([*git, "commit", "-qm", "app"], cwd=folder, check=True)
    command = [sys.executable, "-m", "pre_commit", "try-repo", str(repository), "vendorer-check",
               "--all-files"]  # fmt: skip
    clean = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    (folder / "lib" / "webfw" / "__init__.py").write_text("x\n", encoding="utf-8")
    drift = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
    assert drift.returncode == 1 and "changed by hand" in drift.stdout


def test_added_folders_and_links_are_drifts(app: tuple[Path, StaticIndex]) -> None:
    folder, _ = app
    lib = folder / "lib"
    (folder / "src").mkdir()
    (lib / "emptydir").mkdir()
    (lib / "webfw" / "userdir").mkdir()
    (lib / "webfw" / "userdir" / "x.txt").write_text("x\n", encoding="utf-8")
    (lib / "srcdir").symlink_to("../src")
    (lib / "helper" / "__init__.py").unlink()
    (lib / "helper" / "__init__.py").symlink_to("../../src/helper.py")  # vendorer's, replaced
    (folder / "src" / "helper.py").write_text("", encoding="utf-8")
    result = vendorer("check", cwd=folder)
    assert result.returncode == 1
    for drift in (
        "lib/emptydir/: folder added by hand",
        "lib/srcdir: link added by hand",
        "lib/webfw/userdir/: folder added by hand",
        "lib/helper/__init__.py: replaced by hand (a link, a folder, or in a linked folder)",
    ):
        assert f"drift: {drift}" in result.stderr
    assert "4 drifts for python361x64" in result.stderr


def test_a_killed_vendor_run_is_a_drift_until_the_next_run(app: tuple[Path, StaticIndex]) -> None:
    folder, index = app
    make_wheel(index.root, "bulk", "1.0", files={f"bulk/m{n}.py": "x = 1\n" * 50
                                                 for n in range(3000)})  # fmt: skip
    (folder / "requirements.txt").write_text("webfw\nbulk\n", encoding="utf-8")
    assert vendorer("wheelhouse", cwd=folder).returncode == 0
    run = subprocess.Popen([sys.executable, "-m", "vendorer", "vendor"], cwd=folder,
                           stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 30
    staged: list[Path] = []
    while not staged and run.poll() is None and time.monotonic() < deadline:
        staged = [*folder.glob(".vendorer-state/lib.new-*"), *folder.glob(".vendorer-new-lib-*")]
    run.send_signal(signal.SIGKILL)
    run.wait()
    assert staged, "the run ended before it could be killed: make bulk bigger"
    shown = staged[0].relative_to(folder).as_posix()
    subprocess.run(["git", "init", "-q", "."], cwd=folder, check=True)
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=folder,
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert (
        "lib/webfw/__init__.py" in status and ".vendorer-state" not in status
    )  # git never sees it
    assert ".vendorer-new-" not in status
    result = vendorer("check", cwd=folder)
    assert result.returncode == 1
    assert f"drift: {shown}: left by an interrupted vendorer run (a copy of lib, not used)" in (
        result.stderr
    )
    assert f"fix: vendorer vendor --profile python361x64 removes it (or: rm -rf {shown})" in (
        result.stderr
    )
    fixed = vendorer("vendor", cwd=folder)
    assert fixed.returncode == 0, fixed.stderr
    assert f"remove {shown} (an interrupted run left it)" in fixed.stderr
    assert vendorer("check", cwd=folder).returncode == 0
    assert not staged[0].exists()


def test_an_edit_whose_mtime_was_put_back_is_a_drift(app: tuple[Path, StaticIndex]) -> None:
    folder, _ = app
    assert vendorer("check", cwd=folder).returncode == 0  # the hashes are cached now
    module = folder / "lib" / "webfw" / "__init__.py"
    original, times = module.read_bytes(), module.stat()
    module.write_bytes(original.upper())  # same size
    os.utime(module, ns=(times.st_atime_ns, times.st_mtime_ns))
    result = vendorer("check", cwd=folder)
    assert result.returncode == 1
    assert "drift: lib/webfw/__init__.py: changed by hand" in result.stderr


def test_an_absolute_lib_dir_inside_the_app_is_made_relative(
    app: tuple[Path, StaticIndex], tmp_path: Path
) -> None:
    folder, _ = app
    absolute = str((folder / "site" / "lib").resolve())
    vendored = vendorer("vendor", "--lib-dir", absolute, cwd=folder)
    assert vendored.returncode == 0, vendored.stderr
    assert "vendored into site/lib: 2 distributions" in vendored.stderr
    assert "PYTHONPATH must include D:\\home\\site\\wwwroot\\site\\lib\n" in vendored.stderr
    checked = vendorer("check", "--lib-dir", absolute, cwd=folder)
    assert checked.returncode == 0, checked.stderr
    assert "lock, wheelhouse and site/lib match" in checked.stderr
    config = vendorer("webconfig", "--lib-dir", absolute, "--wsgi-handler", "app.app", cwd=folder)
    assert config.returncode == 0, config.stderr
    text = (folder / "web.config").read_text(encoding="utf-8")
    assert 'value="D:\\home\\site\\wwwroot;D:\\home\\site\\wwwroot\\site\\lib"' in text
    steps = vendorer("upload", "--print-commands", "--lib-dir", absolute, cwd=folder)
    assert "go to D:\\home\\site\\wwwroot\\site\\lib and drag" in steps.stdout
    for command in ("vendor", "check", "webconfig", "upload"):
        outside = vendorer(command, "--lib-dir", str(tmp_path / "elsewhere"), cwd=folder)
        assert outside.returncode == 2, (command, outside.stderr)
        assert "is not inside the app" in outside.stderr and "Traceback" not in outside.stderr
