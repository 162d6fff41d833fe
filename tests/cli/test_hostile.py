"""A hostile sweep: real `python -m vendorer` processes fed what a careless or hostile user gives.

Every case must end in a short error (exit 1 or 2; exit 0 only where the input is in fact valid),
never in a traceback nor in the last line of defence ("internal error"), never show the password
`pw-SECRET-123` that the app's index URL carries, and leave every file that was there unchanged.
No case touches the network: the index is a closed port on loopback, and the commands that would
ask it run `--offline`.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import vendorer

SECRET = "pw-SECRET-123"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


INDEX = f"http://user:{SECRET}@127.0.0.1:{_closed_port()}/simple/"
PYPROJECT = f'[tool.vendorer]\nprofile = "python361x64"\nindex-url = "{INDEX}"\n'

# What to put at a path besides bytes.
FOLDER, DANGLING, LOOP = "<folder>", "<dangling symlink>", "<symlink loop>"
Content = bytes | str  # bytes, or one of the markers above

# Permission cases: as root, the process runs without the capabilities that bypass file modes.
_AS_ROOT = os.geteuid() == 0
_SETPRIV = shutil.which("setpriv")
_NO_DAC = ["--inh-caps=-dac_override,-dac_read_search",
           "--bounding-set=-dac_override,-dac_read_search"]  # fmt: skip


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]  # "{app}" stands for the app's folder
    files: dict[str, Content] = field(default_factory=dict)  # relative path -> what to put there
    codes: frozenset[int] = frozenset({1, 2})
    named: str = ""  # text the error must contain (the file's name, the key)
    unreadable: str = ""  # a file to make unreadable (mode 000)
    locked: bool = False  # start from an app with a valid (empty) lock and vendored tree
    memory_cap: bool = False  # run with 1 GiB of address space (a bug here would take it all)


def case(*args: str, **fields: Any) -> Case:
    return Case(args=args, **fields)


def _params(cases: dict[str, Case]) -> list[Any]:
    return [pytest.param(case, id=name) for name, case in cases.items()]


# --- files in odd encodings ---------------------------------------------------------------------

# Each kind of file vendorer reads: (its path in the app, its valid text with a non-ASCII
# character, the command that reads it).
CAPTURE_ARGS = ("profiles", "capture", "--from", "{app}/capture.json", "mine")
FILE_KINDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "pyproject": ("pyproject.toml", PYPROJECT + "# café\n", ("lock", "--offline")),
    "requirements": ("requirements.txt", "flask  # café\n", ("lock", "--offline")),
    "included-requirements": ("more.txt", "flask  # café\n", ("lock", "--offline")),
    "profile": ("profiles/mine.toml", 'name = "mine"  # café\n', ("profiles", "show", "mine")),
    "profile-path": (
        "mine.toml",
        'name = "mine"  # café\n',
        ("lock", "--offline", "-p", "{app}/mine.toml"),
    ),
    "lock": ("pylock.python361x64.toml", 'lock-version = "1.0"  # café\n', ("why", "flask")),
    "manifest": ("lib/.vendorer-manifest.json", '{"format": "café"}', ("check",)),
    "capture": ("capture.json", '{"vendorer_capture": "café"}', CAPTURE_ARGS),
    "arm-template": (
        "template.json",
        '{"resources": [], "x": "café"}',
        ("arm", "-p", "python361x64", "--template", "{app}/template.json"),
    ),
    "web-config": (
        "web.config",
        "<configuration><!-- café --></configuration>",
        ("webconfig", "-p", "python361x64", "--wsgi-handler", "app.app"),
    ),
}
BINARY = bytes(range(256)) * 4
# Variants that take the same path as another kind's (read by the same function), left out.
SAME_PATH = {
    **dict.fromkeys(("profile", "manifest"), ("symlink-loop",)),
    # read_toml, as a profile is; decode_text, as the capture output is; reqfile's reader
    **dict.fromkeys(
        ("lock", "arm-template", "included-requirements"),
        ("symlink-loop", "utf16-no-bom", "latin1"),
    ),
    "profile-path": ("utf16-bom", "utf16-no-bom", "latin1", "symlink-loop", "unreadable"),
}
# Inputs that are in fact valid: (the exit code, what the output names).
VALID: dict[str, tuple[int, str]] = {
    "pyproject-empty": (2, "no target profile"),
    "requirements-utf16-bom": (1, "flask"),  # pip reads it too; the offline index has no flask
    "included-requirements-utf16-bom": (1, "flask"),
    "requirements-empty": (0, "0 packages"),
    "included-requirements-empty": (0, "0 packages"),
    "web-config-utf16-bom": (0, "web.config"),  # XML names its encoding
    "web-config-utf16-no-bom": (0, "web.config"),
    "web-config-empty": (0, "web.config"),  # nothing to keep: a new one is written
}


def _encoding_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for kind, (path, text, args) in FILE_KINDS.items():
        variants: dict[str, Content] = {
            "binary": BINARY,
            "utf16-bom": text.encode("utf-16"),
            "utf16-no-bom": text.encode("utf-16-le"),
            "latin1": text.encode("latin-1"),
            "empty": b"",
            "folder": FOLDER,
            "dangling-symlink": DANGLING,
            "symlink-loop": LOOP,
            "unreadable": text.encode(),
        }
        for variant, content in variants.items():
            if variant in SAME_PATH.get(kind, ()):
                continue
            files: dict[str, Content] = {path: content}
            if kind == "included-requirements":
                files["requirements.txt"] = b"-r more.txt\n"
            name = f"{kind}-{variant}"
            code, named = VALID.get(name, (0, Path(path).name))
            cases[name] = Case(
                args=args,
                files=files,
                codes=frozenset({code}) if name in VALID else frozenset({1, 2}),
                named=named,
                unreadable=path if variant == "unreadable" else "",
                locked=kind in {"manifest", "lock"},
            )
    return cases


# --- config values of the wrong type ------------------------------------------------------------

CONFIG_KEYS = (
    "profile",
    "requirements",
    "lib-dir",
    "wheelhouse",
    "index-url",
    "index-strategy",
    "keyring-provider",
    "extra-index-urls",
    "find-links",
)
WRONG_VALUES = {"number": "3", "table": "{ a = 1 }", "numbers": "[1, 2]", "empty": '""'}


def _config_cases() -> dict[str, Case]:
    cases = {
        f"{key}-{kind}": case(
            "lock",
            "--offline",
            files={"pyproject.toml": f"[tool.vendorer]\n{key} = {value}\n".encode()},
            named=key,
        )
        for key in CONFIG_KEYS
        for kind, value in WRONG_VALUES.items()
        if kind != "empty" or key in {"profile", "wheelhouse", "index-url", "find-links"}
    }
    tables = {
        "tool-string": 'tool = "x"\n',
        "tool-number": "tool = 3\n",
        "tool-list": "tool = [1]\n",
        "tool-array-of-tables": "[[tool]]\nvendorer = 1\n",
        "vendorer-number": "[tool]\nvendorer = 3\n",
        "vendorer-string": '[tool]\nvendorer = "x"\n',
        "vendorer-array-of-tables": "[[tool.vendorer]]\nprofile = 'x'\n",
        "list-with-an-empty-item": '[tool.vendorer]\nfind-links = [""]\n',
        "deep-nesting": "x = " + "[" * 5000 + "]" * 5000 + "\n",
        "huge-integer": "x = " + "9" * 5000 + "\n",
    }
    for name, text in tables.items():
        cases[name] = case("lock", "--offline", files={"pyproject.toml": text.encode()})
    return cases


PROFILE = """name = "mine"
description = "x"
[python]
implementation = "cp"
version = "3.6.1"
abis = ["cp36m"]
platforms = ["win_amd64"]
[markers]
os_name = "nt"
sys_platform = "win32"
platform_machine = "AMD64"
platform_python_implementation = "CPython"
platform_release = "2012ServerR2"
platform_system = "Windows"
platform_version = "6.3.9600"
python_version = "3.6"
python_full_version = "3.6.1"
implementation_name = "cpython"
implementation_version = "3.6.1"
[server]
python = 'D:\\home\\python361x64\\python.exe'
site_packages = 'D:\\home\\python361x64\\Lib\\site-packages'
site_root = 'D:\\home\\site\\wwwroot'
launcher = "win-amd64"
lib_dir = "lib"
"""
PROFILE_EDITS = {
    "name-number": ('name = "mine"', "name = 3"),
    "version-float": ('version = "3.6.1"', "version = 3.6"),
    "python-string": (
        '[python]\nimplementation = "cp"',
        'python = "cp"\n[x]\nimplementation = "cp"',
    ),
    "abis-numbers": ('abis = ["cp36m"]', "abis = [36]"),
    "tags-string": ('abis = ["cp36m"]\nplatforms = ["win_amd64"]', 'tags = "cp36-cp36m-win_amd64"'),
    "tags-invalid": ('abis = ["cp36m"]\nplatforms = ["win_amd64"]', 'tags = ["!!", "a-b"]'),
    "marker-table": ('os_name = "nt"', "os_name = { a = 1 }"),
    "launcher-number": ('launcher = "win-amd64"', "launcher = 64"),
    "lib-dir-outside": ('lib_dir = "lib"', 'lib_dir = "../../etc"'),
    "version-huge": ('version = "3.6.1"', 'version = "3.99999999.1"'),
}


def _profile_cases() -> dict[str, Case]:
    cases = {}
    for name, (old, new) in PROFILE_EDITS.items():
        assert old in PROFILE, name
        text = PROFILE.replace(old, new)
        cases[f"profile-{name}"] = case(
            "profiles",
            "show",
            "mine",
            files={"profiles/mine.toml": text.encode()},
            named="mine",
            memory_cap=name == "version-huge",
        )
    return cases


def _capture_facts() -> dict[str, Any]:
    from vendorer.target.capture import capture_script

    output = subprocess.run(
        [sys.executable, "-c", capture_script()], capture_output=True, check=True, text=True
    ).stdout
    facts: dict[str, Any] = json.loads(output)
    return facts


def _capture_cases() -> dict[str, Case]:
    facts = _capture_facts()
    edits: dict[str, Any] = {
        "markers-list": {"markers": []},
        "marker-number": {"markers": {**facts["markers"], "python_full_version": 3}},
        "maxsize-infinity": {"maxsize": float("inf")},
        "maxsize-string": {"maxsize": "big"},
        "maxsize-float": {"maxsize": 1e300},
        "config-vars-list": {"config_vars": [1]},
        "soabi-number": {"config_vars": {"SOABI": 5}},
        "glibc-number": {"glibc": 231},
        "platform-table": {"sysconfig_platform": {"a": 1}},
        "mac-ver-garbage": {"markers": {**facts["markers"], "sys_platform": "darwin"},
                            "mac_ver": "x.y"},
        # tags are listed for every version below these: they would take all the memory
        "mac-ver-huge": {"markers": {**facts["markers"], "sys_platform": "darwin"},
                         "mac_ver": "99999999999999999999"},
        "glibc-huge": {"glibc": "glibc 2.99999999999"},
        "python-version-huge": {"markers": {**facts["markers"],
                                            "python_full_version": "3.99999999.1"}},
    }  # fmt: skip
    cases = {
        f"capture-{name}": case(
            *CAPTURE_ARGS,
            files={"capture.json": json.dumps({**facts, **edit}).encode()},
            memory_cap=name.endswith("-huge"),
        )
        for name, edit in edits.items()
    }
    texts = {
        "top-list": "[1, 2]",
        "top-string": '"x"',
        "top-null": "null",
        "deep-nesting": "[" * 100_000 + "]" * 100_000,
        "huge-integer": '{"vendorer_capture": ' + "9" * 5000 + "}",
    }
    for name, text in texts.items():
        cases[f"capture-{name}"] = case(*CAPTURE_ARGS, files={"capture.json": text.encode()})
    return cases


ARM_ARGS = ("arm", "-p", "python361x64", "--template", "{app}/template.json")
SITE = {"type": "Microsoft.Web/sites", "name": "[parameters('siteName')]"}


def _arm_cases() -> dict[str, Case]:
    templates = {
        "top-list": "[]",
        "top-number": "3",
        "resources-table": '{"resources": {}}',
        "resources-numbers": '{"resources": [1, "x", null]}',
        "site-resources-string": json.dumps({"resources": [{**SITE, "resources": "x"}]}),
        "site-name-number": json.dumps({"resources": [{**SITE, "name": 3}]}),
        "deep-nesting": "[" * 100_000 + "]" * 100_000,
        "huge-integer": '{"resources": [], "x": ' + "9" * 5000 + "}",
        "nan": '{"resources": NaN}',
    }
    return {
        f"arm-{name}": case(*ARM_ARGS, files={"template.json": text.encode()})
        for name, text in templates.items()
    }


WEBCONFIG_ARGS = ("webconfig", "-p", "python361x64", "--wsgi-handler", "app.app")


def _webconfig_cases() -> dict[str, Case]:
    configs = {
        "root-not-configuration": "<html/>",
        "unknown-encoding": '<?xml version="1.0" encoding="x-nonsense"?><configuration/>',
        "declared-utf16-but-utf8": '<?xml version="1.0" encoding="utf-16"?><configuration/>',
        "external-entity": '<!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<configuration>&x;</configuration>",
        "entity-expansion": '<!DOCTYPE c [<!ENTITY a "aaaaaaaaaa">'
        + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
        + "]><configuration>&j;</configuration>",
        "deep-nesting": "<configuration>" + "<a>" * 100_000 + "</a>" * 100_000 + "</configuration>",
    }
    cases = {
        f"webconfig-{name}": case(*WEBCONFIG_ARGS, files={"web.config": text.encode()})
        for name, text in configs.items()
    }
    httpplatform = ("webconfig", "-p", "python361x64", "--handler", "httpplatform", "--entry",
                    "run.py")  # fmt: skip
    cases["webconfig-startup-time-limit-negative"] = case(
        *httpplatform, "--startup-time-limit", "-5", named="--startup-time-limit -5"
    )
    cases["webconfig-processes-zero"] = case(*httpplatform, "--processes", "0", named="--processes")
    cases["arm-site-param-with-a-quote"] = case("arm", "-p", "python361x64", "--site-param", "a'b",
                                                named="--site-param")  # fmt: skip
    for name, variable in (("quote", "A'B=1"), ("bracket", "A]B=1")):  # valid on Windows
        cases[f"webconfig-env-name-with-a-{name}"] = case(
            *httpplatform, "--env", variable, codes=frozenset({0}), named="web.config"
        )
    return cases


# --- URLs that do not parse ---------------------------------------------------------------------

BAD_URLS = {
    "open-bracket": "http://[::1",
    "port-out-of-range": f"http://a:{SECRET}@127.0.0.1:99999/",
    "no-host": "http://",
    "ftp": "ftp://x",
    "no-scheme": "://",
    "empty": "",
}


def _url_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for name, url in BAD_URLS.items():
        cases[f"index-url-{name}"] = case("lock", "--offline", "-i", url)
        cases[f"config-index-url-{name}"] = case(
            "lock", "--offline", files={"pyproject.toml": _pyproject(f'index-url = "{url}"')}
        )
        cases[f"requirements-index-url-{name}"] = case(
            "lock", "--offline", files={"requirements.txt": f"-i {url}\nflask\n".encode()}
        )
        if name not in {"open-bracket", "port-out-of-range", "empty"}:
            continue  # the other places take the same path as -i and index-url
        cases[f"extra-index-url-{name}"] = case("lock", "--offline", "--extra-index-url", url)
        cases[f"find-links-{name}"] = case("lock", "--offline", "-f", url)
        cases[f"config-find-links-{name}"] = case(
            "lock", "--offline", files={"pyproject.toml": _pyproject(f'find-links = ["{url}"]')}
        )
    for command in ("wheelhouse", "build"):
        cases[f"{command}-index-url-port-out-of-range"] = case(
            command, "--offline", "-i", BAD_URLS["port-out-of-range"]
        )
    cases["check-config-index-url-port-out-of-range"] = case(
        "check",
        files={"pyproject.toml": _pyproject(f'index-url = "{BAD_URLS["port-out-of-range"]}"')},
    )
    return cases


def _pyproject(line: str) -> bytes:
    return f'[tool.vendorer]\nprofile = "python361x64"\n{line}\n'.encode()


# --- bad options --------------------------------------------------------------------------------

COMMANDS: dict[str, tuple[str, ...]] = {
    "lock": ("lock", "--offline"),
    "wheelhouse": ("wheelhouse", "--offline"),
    "build": ("build", "--offline"),
    "vendor": ("vendor",),
    "check": ("check",),
    "why": ("why", "flask"),
    "webconfig": ("webconfig", "--wsgi-handler", "app.app"),
    "arm": ("arm",),
    "profiles-show": ("profiles", "show", "python361x64"),
    "profiles-capture": CAPTURE_ARGS,
}


def _option_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for name, args in COMMANDS.items():
        cases[f"{name}-app-missing"] = case(*args, "--app", "{app}/missing", named="missing")
        cases[f"{name}-app-a-file"] = case(
            *args, "--app", "{app}/pyproject.toml", named="pyproject.toml"
        )
    for value in ("-5", "0", "nan", "inf"):  # not offline: the closed port is asked
        cases[f"timeout-{value}"] = case("lock", f"--timeout={value}", named="timeout")
    for name in ("lock", "webconfig", "arm"):
        args = COMMANDS[name]
        cases[f"{name}-profile-unknown"] = case(*args, "-p", "python316x64", named="python316x64")
    for name in ("check", "why", "vendor"):
        cases[f"{name}-profile-binary-file"] = case(
            *COMMANDS[name], "-p", "{app}/blob.toml", files={"blob.toml": BINARY}, named="blob.toml"
        )
    cases["profile-a-folder"] = case("check", "-p", "{app}/", named="app")
    cases["requirements-a-folder"] = case("lock", "--offline", "-r", "{app}", named="app")
    cases["webconfig-output-in-a-missing-folder"] = case(
        *COMMANDS["webconfig"], "-p", "python361x64", "-o", "{app}/missing/web.config",
        named="missing",
    )  # fmt: skip
    cases["capture-output-in-a-missing-folder"] = case(
        *CAPTURE_ARGS, "-o", "{app}/missing/mine.toml", named="missing"
    )
    cases["lock-export-in-a-missing-folder"] = case(
        "lock", "--offline", "--export", "requirements", "-o", "{app}/missing/r.txt",
        files={"requirements.txt": b""}, named="missing",
    )  # fmt: skip
    cases["requirements-chain-of-250"] = case(
        "lock",
        "--offline",
        files={
            **{f"r{i}.txt": f"-r r{i + 1}.txt\n".encode() for i in range(250)},
            "r250.txt": f"--extra-index-url {INDEX}\n".encode() + b"flask\n",
            "requirements.txt": b"-r r0.txt\n",
        },
        codes=frozenset({1}),  # read to the end: then the offline index has no flask
        named="flask",
    )
    return cases


ALL = {
    **_encoding_cases(),
    **_config_cases(),
    **_profile_cases(),
    **_capture_cases(),
    **_arm_cases(),
    **_webconfig_cases(),
    **_url_cases(),
    **_option_cases(),
}


# --- the sweep ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def locked_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An app with a valid lock of no packages and its vendored (empty) lib folder."""
    app = tmp_path_factory.mktemp("locked") / "app"
    app.mkdir()
    (app / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (app / "requirements.txt").write_text("", encoding="utf-8")
    for command in (("lock", "--offline"), ("vendor",)):
        result = vendorer(*command, "--app", str(app))
        assert result.returncode == 0, result.stderr
    return app


def _put(path: Path, content: Content) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
    if content == FOLDER:
        path.mkdir()
    elif content == DANGLING:
        path.symlink_to(path.parent / "nowhere")
    elif content == LOOP:
        path.symlink_to(path.name + ".loop")
        (path.parent / (path.name + ".loop")).symlink_to(path.name)
    else:
        assert isinstance(content, bytes)
        path.write_bytes(content)


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file and link below `folder`: a file's bytes (None when unreadable), a link's
    target."""
    found: dict[str, bytes | None] = {}
    for path in sorted(folder.rglob("*")):
        relative = str(path.relative_to(folder))
        if path.is_symlink():
            found[relative] = b"-> " + os.fsencode(path.readlink())
        elif path.is_file():
            try:
                found[relative] = path.read_bytes()
            except OSError:
                found[relative] = None
    return found


def _run(case: Case, app: Path) -> subprocess.CompletedProcess[str]:
    args = [arg.replace("{app}", str(app)) for arg in case.args]
    if "--app" not in args:
        args += ["--app", str(app)]
    if not (case.unreadable or case.memory_cap):
        return vendorer(*args)
    prefix: list[str] = []
    if case.unreadable:
        (app / case.unreadable).chmod(0)
        if _AS_ROOT and _SETPRIV is None:
            pytest.skip("running as root without setpriv: file modes do not apply")
        prefix = [_SETPRIV, *_NO_DAC] if _AS_ROOT and _SETPRIV else []
    command = [*prefix, sys.executable, "-m", "vendorer", *args]
    limit = _cap_memory if case.memory_cap else None
    return subprocess.run(command, capture_output=True, text=True, check=False, preexec_fn=limit)


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


@pytest.mark.parametrize("case", _params(ALL))
def test_hostile_input_gets_a_short_error(case: Case, tmp_path: Path, locked_app: Path) -> None:
    app = tmp_path / "app"
    if case.locked:
        shutil.copytree(locked_app, app, symlinks=True)
    else:
        app.mkdir()
        (app / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
        (app / "requirements.txt").write_text("flask\n", encoding="utf-8")
    for relative, content in case.files.items():
        _put(app / relative, content)
    before = _snapshot(app)
    result = _run(case, app)
    shown = result.stdout + result.stderr
    assert result.returncode in case.codes, shown
    assert "Traceback" not in shown, shown
    assert "internal error" not in shown, shown
    assert SECRET not in shown, shown
    assert case.named in result.stderr, shown
    if result.returncode != 0:
        after = _snapshot(app)
        assert {path: after.get(path) for path in before} == before, "a file changed or vanished"
