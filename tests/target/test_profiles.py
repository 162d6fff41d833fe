"""Target profiles: the built-ins, validation of bad files, lookup, and capture on a real Python."""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from packaging import tags as pytags
from packaging.markers import Marker

from tests.support.captures import windows_site_facts
from tests.support.reporter import Recorder
from vendorer.errors import ConfigError, ProfileError, UsageError
from vendorer.target.capture import capture_script, profile_from_capture
from vendorer.target.catalog import BUILTIN_DIR, ProfileCatalog
from vendorer.target.profile import (
    MARKER_KEYS,
    load_profile_file,
    profile_from_dict,
    profile_to_dict,
)
from vendorer.target.tags import is_host_built, manylinux_platforms

BUILTINS = sorted(path.stem for path in BUILTIN_DIR.glob("*.toml"))
WINDOWS_SITE_EXTENSIONS = [
    "python2713x86",
    "python2713x64",
    "python2714x64",
    "python353x86",
    "python353x64",
    "python354x86",
    "python354x64",
    "python361x86",
    "python361x64",
    "python362x64",
    "python364x64",
]
LINUX_RUNTIMES = [f"linux-python3{minor}" for minor in range(9, 15)]


def test_the_builtin_catalog_has_every_family() -> None:
    missing = [name for name in WINDOWS_SITE_EXTENSIONS + LINUX_RUNTIMES if name not in BUILTINS]
    assert not missing
    assert any(name.startswith("functions-python3") for name in BUILTINS)


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_profile_loads_and_its_tags_agree_with_its_markers(name: str) -> None:
    profile = ProfileCatalog().load(name)
    markers = profile.markers
    version = profile.python.version
    assert profile.name == name
    assert set(markers) == set(MARKER_KEYS)
    assert markers["python_full_version"] == str(version)
    assert markers["python_version"] == f"{version.major}.{version.minor}"
    first = profile.tags[0]
    assert first.interpreter == f"cp{version.major}{version.minor}"
    assert first.abi == profile.python.abis[0]
    assert pytags.Tag(f"py{version.major}", "none", "any") in profile.tags
    platforms = {tag.platform for tag in profile.tags} - {"any"}
    if markers["sys_platform"] == "win32":
        assert markers["os_name"] == "nt"
        assert platforms <= {"win_amd64", "win32"}
        assert profile.server.launcher == ("win-amd64" if "win_amd64" in platforms else "win-ia32")
        assert profile.server.wfastcgi and profile.server.python.startswith("D:\\home\\")
        assert profile.server.site_extension
    else:
        assert markers["sys_platform"] == "linux" and markers["os_name"] == "posix"
        assert all(p.endswith("_" + markers["platform_machine"]) for p in platforms)
        assert f"linux_{markers['platform_machine']}" in platforms
        assert profile.server.launcher == "posix"
    # Round trip: the file form reads back to the same profile.
    again = profile_from_dict(profile_to_dict(profile), origin=name, source=profile.source)
    assert again == profile


def test_python361x64_is_cpython_361_on_64_bit_windows() -> None:
    profile = ProfileCatalog().load("python361x64")
    tags = [str(tag) for tag in profile.tags]
    assert tags[0] == "cp36-cp36m-win_amd64"
    assert tags.index("cp36-abi3-win_amd64") < tags.index("py3-none-any")
    assert "cp37-cp37m-win_amd64" not in tags and "cp36-cp36m-win32" not in tags
    assert profile.server.python == "D:\\home\\python361x64\\python.exe"
    assert profile.server.wfastcgi == "D:\\home\\python361x64\\wfastcgi.py"
    env = profile.marker_environment()
    assert Marker('platform_system == "Windows" and python_version < "3.7"').evaluate(env)
    assert Marker('python_full_version >= "3.6.1"').evaluate(env)
    assert not Marker('python_full_version >= "3.6.2"').evaluate(env)


def test_manylinux_platforms_follow_pep_600_order_and_end_with_linux() -> None:
    platforms = manylinux_platforms((2, 31), "x86_64")
    assert platforms[:2] == ["manylinux_2_31_x86_64", "manylinux_2_30_x86_64"]
    assert platforms.index("manylinux2014_x86_64") == platforms.index("manylinux_2_17_x86_64") + 1
    assert platforms.index("manylinux1_x86_64") == platforms.index("manylinux_2_5_x86_64") + 1
    assert platforms[-2:] == ["manylinux1_x86_64", "linux_x86_64"]  # built anywhere: last
    assert "manylinux_2_32_x86_64" not in platforms
    arm = manylinux_platforms((2, 28), "aarch64")
    assert arm[0] == "manylinux_2_28_aarch64"
    assert arm[-3:] == ["manylinux_2_17_aarch64", "manylinux2014_aarch64", "linux_aarch64"]


@pytest.mark.parametrize("name", [name for name in BUILTINS if "python3" in name and "-" in name])
def test_every_linux_profile_ranks_a_host_built_wheel_after_every_manylinux_one(name: str) -> None:
    tags = [str(tag) for tag in ProfileCatalog().load(name).tags]
    assert "manylinux_2_" in tags[0]
    for interpreter_abi in {tag.rsplit("-", 1)[0] for tag in tags}:
        run = [tag for tag in tags if tag.startswith(f"{interpreter_abi}-")]
        linux = [i for i, tag in enumerate(run) if "-linux_" in tag]
        manylinux = [i for i, tag in enumerate(run) if "-manylinux" in tag]
        assert len(linux) == 1 and linux[0] > max(manylinux), (interpreter_abi, run[-3:])


def test_an_explicit_tag_list_ranks_linux_last_too(tmp_path: Path) -> None:
    """Profiles captured before the rule list `linux_<arch>` first: they rank it last as well."""
    data = profile_to_dict(ProfileCatalog().load("linux-python312"))
    platforms = data["python"].pop("platforms")
    abis = data["python"].pop("abis")
    data["python"]["tags"] = [
        f"cp312-{abi}-{platform}" for abi in abis for platform in ["linux_x86_64", *platforms]
    ] + ["py3-none-any"]
    profile = load_profile_file(_write(tmp_path / "old-capture.toml", data))
    tags = [str(tag) for tag in profile.tags]
    assert tags[0] == "cp312-cp312-manylinux_2_31_x86_64"
    assert tags[-2:] == ["cp312-cp312-linux_x86_64", "py3-none-any"]


# --- bad profiles -------------------------------------------------------------------------------


def _valid() -> dict[str, Any]:
    return profile_to_dict(ProfileCatalog().load("python361x64"))


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def test_every_problem_is_reported_at_once_with_its_key_path(tmp_path: Path) -> None:
    data = _valid()
    del data["markers"]["sys_platform"]
    data["markers"]["os_name"] = 7
    data["python"]["version"] = "3.6"
    data["python"]["abis"] = "cp36m"
    data["server"]["launcher"] = "win-arm"
    data["server"]["lib_dir"] = "../outside"
    data["server"]["colour"] = "blue"
    del data["description"]
    path = _write(tmp_path / "broken.toml", data)
    with pytest.raises(ProfileError) as caught:
        load_profile_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: invalid profile:")
    for expected in [
        "markers.sys_platform: missing",
        "markers.os_name: must be a string, not int",
        "python.version: '3.6' must be a full version (3.6.1)",
        "python.abis: must be a list of strings",
        "server.launcher: 'win-arm' is not one of win-amd64, win-ia32, posix",
        "server.lib_dir: '../outside' must be a relative path inside the app",
        "server.colour: unknown key",
        "description: missing",
    ]:
        assert expected in message, expected
    assert caught.value.exit_code == 2


def test_tags_that_contradict_the_markers_are_refused(tmp_path: Path) -> None:
    data = _valid()
    data["markers"]["python_full_version"] = "3.6.2"
    data["python"]["platforms"] = ["manylinux_2_17_x86_64"]
    with pytest.raises(ProfileError) as caught:
        load_profile_file(_write(tmp_path / "p.toml", data))
    message = str(caught.value)
    assert "markers.python_full_version: '3.6.2' disagrees with python.version '3.6.1'" in message
    assert "markers.sys_platform: 'win32' disagrees with platform tag" in message


def test_a_missing_table_is_named(tmp_path: Path) -> None:
    data = _valid()
    del data["server"]
    with pytest.raises(ProfileError, match=r"server: missing"):
        load_profile_file(_write(tmp_path / "p.toml", data))


def test_toml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('name = "x"\n[python]\nversion = 3.6.1\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{path}:3:\d+: TOML syntax error: "):
        load_profile_file(path)


@pytest.mark.parametrize("version", ["10.0.0", "3.100.0"])
def test_a_version_no_python_has_is_refused_before_any_tag_is_derived(
    tmp_path: Path, version: str
) -> None:
    data = _valid()
    data["python"]["version"] = data["markers"]["python_full_version"] = version
    with pytest.raises(ProfileError) as caught:
        load_profile_file(_write(tmp_path / "p.toml", data))
    assert f"python.version: {version!r} is not a Python version (such as 3.6.1)" in str(
        caught.value
    )


def _vendorer_in_1_gib(*args: str) -> subprocess.CompletedProcess[str]:
    """vendorer in a real process with 1 GiB of address space: without a bound on versions,
    the tags of 3.99999999 (one set per minor version below it) take all the machine has."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    command = [sys.executable, "-m", "vendorer", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, preexec_fn=cap)


def test_a_version_that_would_take_all_memory_is_refused(tmp_path: Path) -> None:
    data = _valid()
    data["python"]["version"] = data["markers"]["python_full_version"] = "3.99999999.1"
    result = _vendorer_in_1_gib("profiles", "show", str(_write(tmp_path / "p.toml", data)))
    assert result.returncode == 2
    assert "python.version: '3.99999999.1' is not a Python version" in result.stderr


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("folder", "{path} is a folder, not a file; name the file"),
        ("binary", "{path}:1: not UTF-8 text (byte 0x80); it may be binary or in another "
                   "encoding: save it as UTF-8"),
        ("dangling", "{path}: a symbolic link to {path}.gone, which does not exist; fix or "
                     "remove the link"),
    ],
)  # fmt: skip
def test_a_profile_file_that_cannot_be_read_is_one_error_naming_it(
    tmp_path: Path, kind: str, message: str
) -> None:
    (tmp_path / "profiles").mkdir()
    path = tmp_path / "profiles" / "mine.toml"
    if kind == "folder":
        path.mkdir()
    elif kind == "binary":
        path.write_bytes(bytes(range(128, 256)))
    else:
        path.symlink_to(f"{path}.gone")
    with pytest.raises(ConfigError) as by_name:
        ProfileCatalog(tmp_path).load("mine")
    with pytest.raises(ConfigError) as by_path:
        load_profile_file(path)
    assert str(by_name.value) == str(by_path.value) == message.format(path=path)


def test_unknown_profile_name_lists_close_names() -> None:
    with pytest.raises(UsageError) as caught:
        ProfileCatalog().load("python361x46")
    assert "unknown profile 'python361x46'; did you mean" in str(caught.value)
    assert "python361x64" in str(caught.value)
    assert caught.value.exit_code == 2


def test_a_project_profile_wins_over_a_builtin_with_a_notice(tmp_path: Path) -> None:
    data = _valid()
    data["description"] = "our own python361x64"
    (tmp_path / "profiles").mkdir()
    _write(tmp_path / "profiles" / "python361x64.toml", data)
    recorder = Recorder()
    catalog = ProfileCatalog(tmp_path, reporter=recorder)
    profile = catalog.load("python361x64")
    assert profile.description == "our own python361x64"
    assert profile.source == "project"
    assert len(recorder.notices) == 1 and "the project's own" in recorder.notices[0]
    entry = next(e for e in catalog.entries() if e.name == "python361x64")
    assert entry.shadows_builtin


def test_a_project_profile_file_must_carry_its_own_name(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    _write(tmp_path / "profiles" / "ours.toml", _valid())
    with pytest.raises(ProfileError, match=r"differs from the file name 'ours\.toml'"):
        ProfileCatalog(tmp_path).load("ours")


def test_a_profile_can_be_given_as_a_path(tmp_path: Path) -> None:
    data = _valid()
    data["name"] = "elsewhere"
    path = _write(tmp_path / "elsewhere.toml", data)
    assert ProfileCatalog().load(str(path)).name == "elsewhere"
    with pytest.raises(ConfigError, match="no such file"):
        ProfileCatalog().load(str(tmp_path / "nope.toml"))


# --- capture ------------------------------------------------------------------------------------

OLD_PYTHONS = ["python2.7", "python3.6"]


def _interpreters() -> list[Any]:
    found: list[Any] = [pytest.param(sys.executable, id="this-python")]
    for name in OLD_PYTHONS:
        path = _runnable(name)
        marks = [] if path else [pytest.mark.skip(reason=f"no {name} on this machine")]
        found.append(pytest.param(path or name, id=name, marks=marks))
    return found


def _runnable(name: str) -> str | None:
    """A working `name` interpreter (pyenv's shims exist even for versions not enabled)."""
    candidates = [str(p) for p in sorted(Path.home().glob(f".pyenv/versions/*/bin/{name}"))]
    candidates += [path] if (path := shutil.which(name)) else []
    for candidate in candidates:
        check = subprocess.run([candidate, "-c", "pass"], capture_output=True, check=False)
        if check.returncode == 0:
            return candidate
    return None


def _run_capture_script(python: str, tmp_path: Path) -> dict[str, Any]:
    script = tmp_path / "capture.py"
    script.write_text(capture_script(), encoding="utf-8")
    output = subprocess.run([python, str(script)], capture_output=True, check=True, text=True)
    facts: dict[str, Any] = json.loads(output.stdout)
    return facts


@pytest.mark.parametrize("python", _interpreters())
def test_the_capture_script_runs_on_old_and_new_pythons(python: str, tmp_path: Path) -> None:
    facts = _run_capture_script(python, tmp_path)
    profile = profile_from_capture(facts, "captured", origin="capture.json")
    major, minor, _ = facts["version_info"]
    assert str(profile.python.version) == facts["markers"]["python_full_version"]
    assert profile.tags[0].interpreter == f"cp{major}{minor}"
    assert pytags.Tag(f"py{major}", "none", "any") in profile.tags
    assert profile.server.python == facts["executable"]


def test_capture_of_this_python_gives_exactly_the_tags_packaging_computes(tmp_path: Path) -> None:
    """The very tags packaging computes for this interpreter, with one difference on Linux: the
    profile describes a machine other than the one vendorer runs on, so `linux_<arch>` ranks
    after the manylinux tags (packaging 26.3 and later ranks it first for the running host)."""
    facts = _run_capture_script(sys.executable, tmp_path)
    profile = profile_from_capture(facts, "here", origin="capture.json")
    expected = list(pytags.sys_tags())
    assert set(profile.tags) == set(expected) and len(profile.tags) == len(expected)
    assert [t for t in profile.tags if not is_host_built(t)] == [
        t for t in expected if not is_host_built(t)
    ]
    for number, tag in enumerate(profile.tags):
        if is_host_built(tag):
            after = profile.tags[number + 1 :]
            same = [t for t in after if (t.interpreter, t.abi) == (tag.interpreter, tag.abi)]
            assert not [t for t in same if "manylinux" in t.platform], tag


def test_capture_of_a_windows_site_extension(tmp_path: Path) -> None:
    """Facts as the script prints them on App Service's python361x64 (values from its sysconfig)."""
    facts = windows_site_facts()
    captured = profile_from_capture(facts, "python361x64", origin="capture.json")
    builtin = ProfileCatalog().load("python361x64")
    assert captured.tags == builtin.tags
    assert captured.server == builtin.server
    assert captured.python.explicit_tags  # captured profiles carry their exact tag list


def test_capture_refuses_other_json(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not the output of vendorer's capture script"):
        profile_from_capture({"hello": 1}, "x", origin="x.json")


@pytest.mark.parametrize(("fact", "value"), [("config_vars", 5), ("maxsize", None)])
def test_capture_output_with_a_fact_of_the_wrong_shape_is_refused(
    tmp_path: Path, fact: str, value: object
) -> None:
    facts = {**_run_capture_script(sys.executable, tmp_path), fact: value}
    with pytest.raises(
        ConfigError, match=r"capture\.json: the capture script's output is malformed"
    ):
        profile_from_capture(facts, "x", origin="capture.json")


def test_capture_output_with_facts_of_the_wrong_type_names_every_one(tmp_path: Path) -> None:
    """The script prints each fact with one type; another one made a wrong profile silently
    (glibc 231 gave linux_x86_64 only) or a traceback (maxsize Infinity)."""
    facts = _run_capture_script(sys.executable, tmp_path)
    facts.update(maxsize=1e300, glibc=231, sysconfig_platform={"a": 1}, wfastcgi="yes")
    facts["markers"]["os_name"] = 3
    facts["config_vars"]["SOABI"] = ["cpython-311"]
    with pytest.raises(ConfigError) as caught:
        profile_from_capture(facts, "x", origin="capture.json")
    assert str(caught.value) == (
        "capture.json: the capture script's output is malformed (maxsize must be an integer, "
        "not a number; sysconfig_platform must be a string, not an object; glibc must be a "
        "string, not an integer; wfastcgi must be a boolean, not a string; markers.os_name must "
        "be a string, not an integer; config_vars.SOABI must be a string, a number or null, not "
        "a list); run the script on the target again and pass its whole output"
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"glibc": "glibc 2.99999999"}, "'glibc 2.99999999' is not a glibc version"),
        (
            {"mac_ver": "99999999999", "markers": {"sys_platform": "darwin"}},
            "mac_ver '99999999999' is not a macOS version",
        ),
        (
            {"markers": {"python_full_version": "3.99999999.1"}},
            "python_full_version '3.99999999.1' is not a Python version",
        ),
    ],
)
def test_capture_output_with_versions_that_would_take_all_memory_is_refused(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    facts = _run_capture_script(sys.executable, tmp_path)
    facts["markers"].update(changes.pop("markers", {}))
    facts.update(changes)
    path = tmp_path / "capture.json"
    path.write_text(json.dumps(facts), encoding="utf-8")
    result = _vendorer_in_1_gib("profiles", "capture", "--from", str(path), "x", "--app",
                                str(tmp_path))  # fmt: skip
    assert result.returncode == 2
    assert f"{path}: the capture script's output is malformed" in result.stderr or (
        f"{path}: python_full_version" in result.stderr
    )
    assert message in result.stderr
