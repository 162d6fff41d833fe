"""A `vendorer check` that found everything true, or a `vendorer build` that had nothing to do,
answers again without running while nothing it read has changed, and runs again on any change
of what it reads (vendorer._util.answers)."""

from __future__ import annotations

import json
import marshal
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.cli import make_app, vendorer
from tests.support.dists import make_wheel
from tests.support.index import StaticIndex
from vendorer._util import answers
from vendorer.app.building import BuildRequest, build_app, build_reads
from vendorer.app.offline import check_project, check_reads
from vendorer.app.project import ProjectChoices, load_project
from vendorer.app.reporting import StepReporter
from vendorer.install.manifest import MANIFEST
from vendorer.report import NULL_REPORTER
from vendorer.target.catalog import BUILTIN_DIR

ANSWER = "all true for python361x64: lock, wheelhouse and lib match (2 distributions)\n"

# `main(ARGS)` in a fresh Python: its exit code, what it said, and whether the command ran (the
# project was loaded) or the kept answer was given
RUN = (
    "import io, json, sys\n"
    "sys.stderr = io.StringIO()\n"
    "from vendorer.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print(json.dumps([code, sys.stderr.getvalue(), 'vendorer.app.project' in sys.modules]))\n"
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An app built from a loopback index, once per module (each test works on a copy)."""
    root = tmp_path_factory.mktemp("answers")
    dists = root / "dists"
    make_wheel(dists, "webfw", "2.0", requires_dist=["helper"],
               files={"webfw/__init__.py": "x = 1\n", "webfw/sub/mod.py": "y = 2\n"})  # fmt: skip
    make_wheel(dists, "helper", "1.0")
    make_wheel(dists, "extra", "1.0")
    (root / "include.txt").write_text("helper\n", encoding="utf-8")
    with StaticIndex(dists) as index:
        app = make_app(root / "app", index.url, "webfw", "-r ../include.txt")
        environ = {**os.environ, "VENDORER_CACHE_DIR": str(root / "cache")}
        result = subprocess.run(
            [sys.executable, "-m", "vendorer", "build"], cwd=app, env=environ,
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        yield root  # the index stays up: a build after a change may need it


@pytest.fixture
def app(built: Path, tmp_path: Path) -> Path:
    """A copy of the built app, its include file beside it, settled: nothing in it changed in the
    last two seconds (a newer change is not trusted to show in its signature)."""
    work = tmp_path / "work"  # not the folder of the test's vendorer cache, which the run makes
    shutil.copytree(built / "app", work / "app", symlinks=True)
    shutil.copy2(built / "include.txt", work / "include.txt")
    time.sleep(answers.SETTLED_NS / 1e9 + 0.1)
    return work / "app"


def run(app: Path, *args: str, command: str = "check") -> tuple[int, str, bool]:
    """`vendorer COMMAND ARGS` in `app`: (exit code, stderr, whether the command ran)."""
    result = subprocess.run([sys.executable, "-c", RUN, command, *args], cwd=app,
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    code, said, ran = json.loads(result.stdout)
    return code, said, ran


def records() -> list[Path]:
    return sorted(Path(os.environ["VENDORER_CACHE_DIR"], "answers").glob("*.answer"))


def test_an_unchanged_app_is_answered_without_running_the_check(
    app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(app) == (0, ANSWER, True)
    assert len(records()) == 1
    assert run(app) == (0, ANSWER, False)
    assert run(app) == (0, ANSWER, False)
    # another command line, folder or environment is another question
    assert run(app, "--profile", "python361x64") == (0, ANSWER, True)
    assert run(app.parent, "--app", "app") == (0, ANSWER, True)
    assert len(records()) == 3
    monkeypatch.setenv("SOMETHING_ELSE", "1")
    assert run(app)[2] is True


def test_a_package_installed_where_vendorer_imports_from_runs_it_again(
    app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = app.parent / "site"
    site.mkdir()
    monkeypatch.setenv("PYTHONPATH", str(site))
    time.sleep(answers.SETTLED_NS / 1e9 + 0.1)
    assert run(app) == (0, ANSWER, True)
    assert run(app) == (0, ANSWER, False)
    (site / "packaging-99.dist-info").mkdir()
    assert run(app) == (0, ANSWER, True)


def _restore_times(path: Path, change: Callable[[], object]) -> None:
    """`change` the file, then put its mtime back (only its ctime tells)."""
    before = path.stat()
    change()
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def _edit_in_place(app: Path) -> None:
    path = app / "lib" / "webfw" / "__init__.py"
    _restore_times(path, lambda: path.write_text("x = 9\n", encoding="utf-8"))


def _leftover(app: Path) -> None:
    (app / ".vendorer-state" / "lib.old-0123456789abcdef").mkdir()


# each: what to change, and what the check (which must run again) says of it
CHANGES: dict[str, tuple[Callable[[Path], object], str]] = {
    "a vendored file edited, its mtime put back": (
        _edit_in_place, "drift: lib/webfw/__init__.py: changed by hand"),
    "a file added in a vendored package's subfolder": (
        lambda app: (app / "lib" / "webfw" / "sub" / "extra.py").write_text("", "utf-8"),
        "drift: lib/webfw/sub/extra.py: added by hand"),
    "a vendored file removed": (
        lambda app: (app / "lib" / "webfw" / "sub" / "mod.py").unlink(),
        "drift: lib/webfw/sub/mod.py: missing"),
    "the manifest removed": (
        lambda app: (app / "lib" / MANIFEST).unlink(), "nothing vendored yet"),
    "an included requirements file edited": (
        lambda app: (app.parent / "include.txt").write_text("helper>=1\n", encoding="utf-8"),
        "drift: pylock.python361x64.toml is stale"),
    "the lock edited": (
        lambda app: (app / "pylock.python361x64.toml").write_text("", encoding="utf-8"),
        "fix: vendorer lock --profile python361x64"),
    "a wheel removed from the wheelhouse": (
        lambda app: (app / "wheelhouse" / "python361x64" / "helper-1.0-py3-none-any.whl").unlink(),
        "drift: wheelhouse: no wheel for helper 1.0"),
    "the wheelhouse removed": (
        lambda app: shutil.rmtree(app / "wheelhouse"), "note: no wheelhouse at"),
    "another lib dir in pyproject.toml": (
        lambda app: (app / "pyproject.toml").write_text(
            (app / "pyproject.toml").read_text("utf-8") + 'lib-dir = "other"\n', "utf-8"),
        "drift: other: nothing vendored yet"),
    "a project profile shadowing the built-in": (
        lambda app: shutil.copytree(BUILTIN_DIR, app / "profiles"),
        "comes from"),
    "a leftover of a killed run": (
        _leftover, "left by an interrupted vendorer run"),
}  # fmt: skip


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_any_change_of_what_the_check_read_runs_it_again(app: Path, change: str) -> None:
    assert run(app) == (0, ANSWER, True)
    assert run(app) == (0, ANSWER, False)
    make, said = CHANGES[change]
    make(app)
    _, text, ran = run(app)
    assert ran
    assert said in text
    assert ANSWER not in text or "note:" in text or "notice:" in text


def test_nothing_is_kept_but_a_plain_all_true(app: Path) -> None:
    (app / "lib" / "stray.py").write_text("", encoding="utf-8")
    assert run(app)[:1] == (1,)  # a drift
    assert records() == []
    (app / "lib" / "stray.py").unlink()
    shutil.rmtree(app / "wheelhouse")
    code, text, _ = run(app)  # all true, with a note: not kept (a note may not hold next time)
    assert (code, "note: no wheelhouse" in text) == (0, True)
    assert records() == []


def test_answers_can_be_turned_off(app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(app) == (0, ANSWER, True)
    monkeypatch.setenv(answers.SWITCH, "0")
    assert run(app) == (0, ANSWER, True)
    assert run(app) == (0, ANSWER, True)
    assert len(records()) == 1


def test_a_recent_change_is_not_trusted(app: Path) -> None:
    (app / "lib" / "webfw" / "__init__.py").write_text("x = 1\n", encoding="utf-8")  # same bytes
    assert run(app) == (0, ANSWER, True)
    assert records() == []  # changed under two seconds ago: its signature may not show the next
    assert run(app) == (0, ANSWER, True)


def test_a_damaged_record_only_costs_the_check(app: Path) -> None:
    assert run(app) == (0, ANSWER, True)
    (record,) = records()
    whole = record.read_bytes()
    context = marshal.loads(whole)["context"]
    for damaged in (b"", b"{", whole[: len(whole) // 2], marshal.dumps([]),
                    marshal.dumps({"context": 1}), marshal.dumps({"context": context}),
                    marshal.dumps({"context": context, "paths": 1, "digest": ""})):  # fmt: skip
        record.write_bytes(damaged)
        assert run(app) == (0, ANSWER, True)
    record.unlink()
    os.mkfifo(record)  # would block a plain read for ever
    assert run(app) == (0, ANSWER, True)
    assert run(app) == (0, ANSWER, False)  # the last full run kept its answer again


def test_a_working_folder_removed_under_the_run_costs_only_the_record(app: Path) -> None:
    gone = app.parent / "gone"
    gone.mkdir()
    command = (
        f'cd "{gone}" && rmdir "{gone}" && exec "{sys.executable}" -m vendorer check --app "{app}"'
    )
    result = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=False)
    assert (result.returncode, result.stderr) == (0, ANSWER)
    assert records() == []


def test_the_record_holds_no_secret(app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VENDORER_TEST_SECRET", "hunter2-s3cret")
    assert run(app) == (0, ANSWER, True)
    (record,) = records()
    assert b"hunter2-s3cret" not in record.read_bytes()


def test_a_check_from_the_command_line_replays_the_same_words(app: Path) -> None:
    first = vendorer("check", cwd=app)
    again = vendorer("check", cwd=app)
    assert (first.returncode, first.stdout, first.stderr) == (0, "", ANSWER)
    assert (again.returncode, again.stdout, again.stderr) == (0, "", ANSWER)


# --- build ---------------------------------------------------------------------------------------


def test_a_build_with_nothing_to_do_is_answered_without_running(app: Path) -> None:
    code, said, ran = run(app, command="build")
    assert (code, ran) == (0, True)
    assert "up to date: lib (2 distributions)" in said
    assert run(app, command="build") == (0, said, False)
    assert run(app) == (0, ANSWER, True)  # a check is another question
    assert len(records()) == 2


BUILD_CHANGES: dict[str, tuple[Callable[[Path], object], str]] = {
    "a vendored file edited, its mtime put back": (_edit_in_place, "vendored into lib"),
    "a requirement added": (
        lambda app: (app.parent / "include.txt").write_text("helper\nextra\n", "utf-8"),
        "install extra 1.0"),
    "a wheel removed from the wheelhouse": (
        lambda app: (app / "wheelhouse" / "python361x64" / "helper-1.0-py3-none-any.whl").unlink(),
        "(1 downloaded"),
    "a leftover of a killed run": (
        _leftover, "remove .vendorer-state/lib.old-0123456789abcdef (an interrupted run left it)"),
}  # fmt: skip


@pytest.mark.parametrize("change", sorted(BUILD_CHANGES))
def test_any_change_of_what_the_build_read_runs_it_again(app: Path, change: str) -> None:
    first = run(app, command="build")
    assert run(app, command="build") == (0, first[1], False)
    make, said = BUILD_CHANGES[change]
    make(app)
    code, text, ran = run(app, command="build")
    assert (code, ran) == (0, True)
    assert said in text


def test_a_build_that_did_something_is_not_kept(app: Path) -> None:
    (app / "lib" / "webfw" / "sub" / "mod.py").unlink()
    assert run(app, command="build")[2]
    assert records() == []


# --- what the answer depends on: everything the command reads ----------------------------------


@pytest.mark.parametrize("profile", ["python361x64", "linux-python312", "functions-python312"])
@pytest.mark.parametrize("command", ["check", "build"])
def test_the_answer_depends_on_every_path_the_command_touches(
    app: Path, monkeypatch: pytest.MonkeyPatch, command: str, profile: str
) -> None:
    """Each path the check (or a build with nothing to do) opens or lists is among
    `check_reads` (`build_reads`), and each it only looks for (a stat: is it there, is it a
    folder) is, or its folder is (an entry made there changes the folder). A new read in either
    without its path in the list fails here. On Linux the check also looks for what an Oryx
    build leaves; for Functions the build reads what Core Tools reads."""
    if profile != "python361x64":  # an app of the same requirements for that profile
        (app / "pyproject.toml").write_text(
            (app / "pyproject.toml").read_text("utf-8").replace("python361x64", profile), "utf-8"
        )
        for made in ("lib", "wheelhouse", "pylock.python361x64.toml", ".vendorer-state"):
            shutil.rmtree(app / made) if (app / made).is_dir() else (app / made).unlink()
        assert vendorer("build", cwd=app).returncode == 0
    project = load_project(ProjectChoices(app=app), NULL_REPORTER)
    touched: list[tuple[str, str]] = []
    recording = [False]

    def hook(event: str, args: tuple[object, ...]) -> None:
        looked_at = event in {"open", "os.listdir", "os.scandir"}
        if recording[0] and looked_at and isinstance(args[0], (str, bytes, os.PathLike)):
            touched.append((event, os.fsdecode(args[0])))

    sys.addaudithook(hook)
    for name in ("stat", "lstat"):
        real = getattr(os, name)

        def looked(path: object, *args: object, _real: Callable[..., object] = real,
                   **kwargs: object) -> object:  # fmt: skip
            if recording[0] and isinstance(path, (str, bytes, os.PathLike)):
                touched.append(("stat", os.fsdecode(path)))
            return _real(path, *args, **kwargs)

        monkeypatch.setattr(os, name, looked)
    recording[0] = True
    try:
        if command == "check":
            assert not check_project(project, NULL_REPORTER).drifted
        else:
            assert build_app(project, BuildRequest(), StepReporter()).did_nothing
    finally:
        recording[0] = False
    reads = set(check_reads(project) if command == "check" else build_reads(project))
    ignored = (os.environ["VENDORER_CACHE_DIR"], sys.prefix, sys.base_prefix, answers.OWN)
    above = {str(parent) for parent in app.absolute().parents}  # covered by what lies below
    absolute = [(event, os.path.abspath(path)) for event, path in touched]  # noqa: PTH100
    missed = [
        (event, path)
        for event, path in absolute
        if not path.startswith(ignored)
        and path not in above
        and path not in reads
        and (event != "stat" or os.path.dirname(path) not in reads)  # noqa: PTH120
    ]
    assert len(touched) > 20
    assert missed == []


def test_answers_in_the_users_cache_are_found_without_platformdirs(
    app: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without VENDORER_CACHE_DIR the answer is kept in the user's cache folder, where
    platformdirs puts vendorer's cache, and given again without importing platformdirs."""
    monkeypatch.delenv("VENDORER_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    code = RUN.replace("print(json.dumps([", "print(json.dumps(['platformdirs' in sys.modules, ")
    for imported, ran in ((True, True), (False, False)):
        result = subprocess.run([sys.executable, "-c", code, "check"], cwd=app,
                                capture_output=True, text=True, check=False)  # fmt: skip
        assert json.loads(result.stdout) == [imported, 0, ANSWER, ran], result.stderr
    assert len(list((tmp_path / "xdg" / "vendorer" / "answers").glob("*.answer"))) == 1


def test_nothing_is_kept_where_platformdirs_puts_the_cache_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative HOME: os.path.expanduser takes it as it is, platformdirs looks the home folder
    up; `replayed` would look where `keep` does not write, so nothing is kept."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(answers, "STARTED_NS", time.time_ns() + 10**10)  # every file settled
    monkeypatch.delenv("VENDORER_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", "home")
    assert answers._folder() != answers._cache_folder()
    answers.keep(["check"], lambda: [], [("stderr", ANSWER)])
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert answers._folder() == answers._cache_folder() == str(tmp_path / "xdg/vendorer/answers")
    answers.keep(["check"], lambda: [], [("stderr", ANSWER)])
    assert len(list((tmp_path / "xdg" / "vendorer" / "answers").iterdir())) == 1
