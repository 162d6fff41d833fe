"""The second hostile sweep: new inputs of the classes issue 10 named, against a built app.

Each case starts from a copy of one app that `vendorer build` made from a real index on loopback
(Basic auth with the password `pw-SECRET-123`, which pyproject.toml's index URL carries), with
files of the user's own in its lib folder. A case edits the copy, runs a real `python -m vendorer`
and must end in one short error (or succeed where the input is in fact valid): never a traceback
nor the last line of defence, never the password in the output or in a file vendorer wrote, the
user's files in the lib folder always kept, and on failure every file left as it was.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_hostile import PROFILE
from tests.support.dists import make_sdist, make_wheel
from tests.support.index import StaticIndex

SECRET = "pw-SECRET-123"
USER = "deploy"
LOCK = "pylock.python361x64.toml"
WHEELS = "wheelhouse/python361x64"
ALPHA = f"{WHEELS}/alpha-1.0-py3-none-any.whl"
# The user's own files in the lib folder: they survive every command.
FOREIGN = ("lib/userdir/f.txt", "lib/emptyuser", "lib/srclink", "lib/alpha/mine.py", "lib/m.txt")

_AS_ROOT = os.geteuid() == 0
_SETPRIV = shutil.which("setpriv")
_NO_DAC = ["--inh-caps=-dac_override,-dac_read_search",
           "--bounding-set=-dac_override,-dac_read_search"]  # fmt: skip

Arg = str | bytes  # bytes: an argument that is not UTF-8
Setup = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    args: tuple[Arg, ...]  # "{app}", "{index}" (with the password) and "{plain}" are replaced
    setup: tuple[Setup, ...] = ()
    env: dict[str, Arg] = field(default_factory=dict)
    codes: frozenset[int] = frozenset({1, 2})
    named: str = ""  # text the error must contain
    no_dac: bool = False  # run without the capabilities that bypass file modes (as root)
    file_size_limit: int | None = None  # RLIMIT_FSIZE: a disk that fills up after so many bytes
    timeout: float = 120


def case(*args: Arg, **fields: Any) -> Case:
    return Case(args=args, **fields)


# --- setups -------------------------------------------------------------------------------------


def write(path: str, data: bytes | str) -> Setup:
    def put(app: Path) -> None:
        target = app / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.is_dir():
            shutil.rmtree(target)
        target.write_bytes(data if isinstance(data, bytes) else data.encode())

    return put


def folder(path: str) -> Setup:
    def put(app: Path) -> None:
        target = app / path
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        target.mkdir(parents=True)

    return put


def link(path: str, to: str) -> Setup:
    def put(app: Path) -> None:
        target = app / path
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        target.symlink_to(to.replace("{app}", str(app)))

    return put


def fifo(path: str) -> Setup:
    def put(app: Path) -> None:
        target = app / path
        target.unlink()
        os.mkfifo(target)

    return put


def edit(path: str, old: str, new: str) -> Setup:
    def put(app: Path) -> None:
        target = app / path
        text = target.read_text(encoding="utf-8")
        assert old in text, (path, old)
        target.write_text(text.replace(old, new, 1), encoding="utf-8")

    return put


def remove(path: str) -> Setup:
    def put(app: Path) -> None:
        (app / path).unlink()

    return put


def git_init(app: Path) -> None:
    subprocess.run(["git", "init", "-q", str(app)], check=True)


def unreadable(path: str) -> Setup:
    def put(app: Path) -> None:
        (app / path).chmod(0)

    return put


def read_only(path: str) -> Setup:
    def put(app: Path) -> None:
        for root, dirs, _ in os.walk(app / path):
            for name in dirs:
                Path(root, name).chmod(0o555)
        (app / path).chmod(0o555)

    return put


# --- non-UTF-8 bytes and control characters in arguments -----------------------------------------

NOT_UTF8 = b"lib\xff"
WEBCONFIG = ("webconfig", "--wsgi-handler", "app.app")
HTTPPLATFORM = ("webconfig", "--handler", "httpplatform", "--entry", "run.py")


def _argument_cases() -> dict[str, Case]:
    cases = {
        "vendor-lib-dir-not-utf8": case("vendor", "--lib-dir", NOT_UTF8),
        "build-lib-dir-not-utf8": case("build", "--offline", "--lib-dir", NOT_UTF8),
        "webconfig-lib-dir-not-utf8": case(*WEBCONFIG, "--lib-dir", NOT_UTF8),
        "webconfig-wsgi-log-not-utf8": case(*WEBCONFIG, "--wsgi-log", b"\xfflog"),
        "webconfig-entry-not-utf8": case(
            "webconfig", "--handler", "httpplatform", "--entry", b"r\xff.py"
        ),
        "webconfig-env-not-utf8": case(*HTTPPLATFORM, "--env", b"A=\xff"),
        "webconfig-args-not-utf8": case(*HTTPPLATFORM, "--args", b"--x \xff"),
        "why-not-utf8": case("why", b"alpha\xff"),
        "lock-upgrade-package-not-utf8": case("lock", "--offline", "-P", b"alpha\xff"),
        "check-requirements-not-utf8": case("check", "-r", b"req\xff.txt"),
        "kudu-run-command-not-utf8": case(
            "kudu", "run", "--", b"ls\xff", env=_kudu_env("https://127.0.0.1:9/")
        ),
        "kudu-run-dir-not-utf8": case(
            "kudu", "run", "--dir", b"d\xff", "--", "ls", env=_kudu_env("https://127.0.0.1:9/")
        ),
    }
    for name, character in (("newline", "\n"), ("escape", "\x1b"), ("tab", "\t")):
        cases[f"vendor-lib-dir-{name}"] = case("vendor", "--lib-dir", f"a{character}b")
        cases[f"webconfig-lib-dir-{name}"] = case(*WEBCONFIG, "--lib-dir", f"a{character}b")
        cases[f"webconfig-args-{name}"] = case(*HTTPPLATFORM, "--args", f"a{character}b")
        cases[f"webconfig-entry-{name}"] = case(
            "webconfig", "--handler", "httpplatform", "--entry", f"r{character}.py"
        )
        cases[f"webconfig-wsgi-log-{name}"] = case(*WEBCONFIG, "--wsgi-log", f"l{character}g")
        cases[f"webconfig-env-{name}"] = case(*HTTPPLATFORM, "--env", f"A=b{character}c")
    for name, character in (("nul-like-control", "\x01"), ("bell", "\x07")):
        cases[f"webconfig-args-{name}"] = case(*HTTPPLATFORM, "--args", f"a{character}b")
    cases["webconfig-restart-regex-unbalanced"] = case(*WEBCONFIG, "--restart-regex", "(")
    cases["webconfig-restart-regex-bad-escape"] = case(*WEBCONFIG, "--restart-regex", "\\")
    cases["lib-dir-empty"] = case("vendor", "--lib-dir", "", named="empty")
    cases["lib-dir-blank"] = case("vendor", "--lib-dir", "  ", named="empty")
    cases["lib-dir-is-the-state-folder"] = case(
        "vendor", "--lib-dir", ".vendorer-state", named=".vendorer-state"
    )
    cases["lib-dir-is-the-wheelhouse"] = case(
        "vendor", "--lib-dir", "wheelhouse", named="wheelhouse"
    )
    cases["lib-dir-inside-the-wheelhouse"] = case(
        "vendor", "--lib-dir", WHEELS + "/lib", named="wheelhouse"
    )
    return cases


# --- files: odd encodings, odd kinds, odd sizes ---------------------------------------------------

REQUIREMENTS = "alpha==1.0\n"


def _file_cases() -> dict[str, Case]:
    valid = frozenset({0})
    cases = {
        # valid spellings of the same requirements: the lock stays as it is
        "requirements-utf8-bom": case(
            "lock",
            setup=(write("requirements.txt", b"\xef\xbb\xbf" + b"alpha==1.0\n"),),
            codes=valid,
            named="pylock",
        ),
        "requirements-crlf": case(
            "lock",
            setup=(write("requirements.txt", b"alpha==1.0\r\n"),),
            codes=valid,
            named="pylock",
        ),
        "requirements-utf16-be-bom": case(
            "lock",
            setup=(write("requirements.txt", b"\xfe\xff" + REQUIREMENTS.encode("utf-16-be")),),
            codes=valid,
            named="pylock",
        ),
        "requirements-utf32-bom": case(
            "lock",
            setup=(write("requirements.txt", REQUIREMENTS.encode("utf-32")),),
            codes=valid,
            named="pylock",
        ),
        "requirements-latin1-comment": case(
            "lock",
            "--offline",
            setup=(write("requirements.txt", b"alpha==1.0  # caf\xe9\n"),),
            named="UTF-8",
        ),
        "requirements-nul": case(
            "lock", "--offline", setup=(write("requirements.txt", b"alpha==1.0\x00\n"),)
        ),
        "requirements-huge-line": case(
            "lock",
            "--offline",
            setup=(write("requirements.txt", "alpha==1.0 ; " + "x" * 2_000_000 + "\n"),),
        ),
        "requirements-huge-name": case(
            "lock", "--offline", setup=(write("requirements.txt", "a" * 2_000_000 + "\n"),)
        ),
        "requirements-includes-dev-zero": case(
            "lock",
            "--offline",
            setup=(write("requirements.txt", "-r /dev/zero\nalpha==1.0\n"),),
            named="/dev/zero",
        ),
        "requirements-constraints-a-folder": case(
            "lock",
            "--offline",
            setup=(folder("cons"), write("requirements.txt", "-c cons\nalpha==1.0\n")),
            named="cons",
        ),
        "requirements-constraints-itself": case(
            "lock",
            "--offline",
            setup=(write("requirements.txt", "-c requirements.txt\nalpha==1.0\n"),),
        ),
        "requirements-loop-of-three": case(
            "lock",
            "--offline",
            setup=(
                write("requirements.txt", "-r a.txt\nalpha==1.0\n"),
                write("a.txt", "-r b.txt\n"),
                write("b.txt", "-c requirements.txt\n"),
            ),
        ),
        "requirements-is-dev-zero": case("lock", "--offline", "-r", "/dev/zero", named="/dev/zero"),
        "pyproject-is-dev-zero": case(
            "check", setup=(link("pyproject.toml", "/dev/zero"),), named="pyproject.toml"
        ),
        "profile-is-dev-zero": case("check", "-p", "/dev/zero", named="/dev/zero"),
        "lock-is-dev-zero": case("check", setup=(link(LOCK, "/dev/zero"),), named=LOCK),
        "manifest-is-dev-zero": case(
            "check", setup=(link("lib/.vendorer-manifest.json", "/dev/zero"),), named="manifest"
        ),
        "lock-a-folder": case("check", setup=(folder(LOCK),), named=LOCK),
        "lock-unreadable": case("vendor", setup=(unreadable(LOCK),), no_dac=True, named=LOCK),
        "lock-duplicate-package": case("vendor", setup=(_duplicate_package,)),
        "lock-hash-too-short": case(
            "vendor", setup=(edit(LOCK, 'sha256 = "', 'sha256 = "ab'), _cut_hash)
        ),
        "lock-name-escapes-the-wheelhouse": case(
            "vendor",
            setup=(
                edit(
                    LOCK,
                    'name = "alpha-1.0-py3-none-any.whl"',
                    'name = "../../alpha-1.0-py3-none-any.whl"',
                ),
            ),
        ),
        "lock-packages-a-table": case(
            "why", "alpha", setup=(edit(LOCK, "[[packages]]", "[packages]"),)
        ),
        "read-only-app-with-a-repair-pending": case(
            "vendor", setup=(remove("lib/beta/__init__.py"), read_only(".")), no_dac=True
        ),
        "read-only-lib-with-a-repair-pending": case(
            "vendor",
            setup=(remove("lib/beta/__init__.py"), read_only("lib")),
            no_dac=True,
            codes=frozenset({0, 1}),
        ),
    }
    return cases


def _duplicate_package(app: Path) -> None:
    text = (app / LOCK).read_text(encoding="utf-8")
    first = text.index("[[packages]]")
    second = text.index("[[packages]]", first + 1)
    (app / LOCK).write_text(text[:second] + text[first:second] + text[second:], encoding="utf-8")


def _cut_hash(app: Path) -> None:
    text = (app / LOCK).read_text(encoding="utf-8")
    (app / LOCK).write_text(re.sub(r'sha256 = "ab[0-9a-f]{64}"', 'sha256 = "ab12"', text, count=1))


# --- the wheelhouse: wheels that are not wheels -------------------------------------------------


def _zip_with(member: str, data: bytes) -> Setup:
    def put(app: Path) -> None:
        path = app / ALPHA
        with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(member, data)

    return put


FILL_SAYS = {
    "wheel-a-folder": "is a folder, not the wheel",
    "wheelhouse-profile-folder-a-file": "cannot be a folder",
    "wheelhouse-a-file": "cannot be a folder",
    "wheelhouse-a-dangling-link": "cannot be a folder",
}


def _wheelhouse_cases() -> dict[str, Case]:
    broken: dict[str, tuple[Setup, ...]] = {
        "wheel-a-folder": (folder(ALPHA),),
        "wheel-a-dangling-link": (link(ALPHA, "nowhere.whl"),),
        "wheel-a-fifo": (fifo(ALPHA),),
        "wheel-a-link-loop": (link(ALPHA, "alpha-1.0-py3-none-any.whl"),),
        "wheel-unreadable": (unreadable(ALPHA),),
        "wheel-truncated": (_truncate,),
        "wheel-with-a-path-outside": (_zip_with("../../evil.py", b"x"),),
        "wheel-with-an-absolute-path": (_zip_with("/tmp/evil-vendorer.py", b"x"),),
        "wheel-bomb": (_zip_with("alpha/bomb.bin", b"\0" * (64 << 20)),),
        "wheelhouse-profile-folder-a-file": (write(WHEELS, b"x"),),
        "wheelhouse-a-file": (write("wheelhouse", b"x"),),
        "wheelhouse-a-dangling-link": (link("wheelhouse", "{app}/nowhere"),),
    }
    cases: dict[str, Case] = {}
    for name, setup in broken.items():
        for command in (
            ("vendor",),
            ("check",),
            ("wheelhouse", "--offline"),
            ("build", "--offline"),
        ):
            unread = name == "wheel-unreadable"
            codes = frozenset({1, 2})
            if command[0] == "check" and name.startswith("wheelhouse-"):
                codes = frozenset({1})  # no wheelhouse: the lib folder has the user's files
            named = ""
            if command[0] in {"wheelhouse", "build"}:  # these write the folder: they say why not
                named = FILL_SAYS.get(name, "")
            elif name in {"wheel-a-folder", "wheel-a-dangling-link", "wheel-a-fifo"}:
                named = "no wheel for alpha 1.0"
            cases[f"{command[0]}-{name}"] = case(
                *command, setup=setup, no_dac=unread, codes=codes, named=named, timeout=60
            )
    return cases


def _truncate(app: Path) -> None:
    path = app / ALPHA
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


# --- environment: the cache, netrc, Kudu --------------------------------------------------------


def _kudu_env(url: Arg, user: Arg = USER, password: Arg = SECRET) -> dict[str, Arg]:
    return {"VENDORER_KUDU_URL": url, "VENDORER_KUDU_USER": user,
            "VENDORER_KUDU_PASSWORD": password}  # fmt: skip


def _environment_cases() -> dict[str, Case]:
    relock = ("lock", "-U", "-i", "{plain}")
    cases = {
        "cache-dir-a-file": case(
            *relock, env={"VENDORER_CACHE_DIR": "{app}/pyproject.toml"}, named="VENDORER_CACHE_DIR"
        ),
        "cache-dir-below-a-file": case(
            *relock,
            env={"VENDORER_CACHE_DIR": "{app}/pyproject.toml/cache"},
            named="VENDORER_CACHE_DIR",
        ),
        "cache-dir-dangling-link": case(
            *relock,
            setup=(link("cachelink", "{app}/nowhere/x"),),
            env={"VENDORER_CACHE_DIR": "{app}/cachelink"},
            codes=frozenset({0, 1, 2}),
        ),
        "netrc-binary": case(
            *relock,
            setup=(write("netrc", bytes(range(256)) * 8),),
            env={"NETRC": "{app}/netrc"},
            named="401",
        ),
        "netrc-latin1-password": case(
            *relock,
            setup=(
                write(
                    "netrc",
                    f"machine 127.0.0.1 login {USER} password {SECRET}\xe9\n".encode("latin-1"),
                ),
            ),
            env={"NETRC": "{app}/netrc"},
            named="401",
        ),
        "netrc-a-folder": case(
            *relock, setup=(folder("netrc"),), env={"NETRC": "{app}/netrc"}, named="401"
        ),
        "netrc-password-with-a-space": case(
            *relock,
            setup=(write("netrc", f"machine 127.0.0.1\nlogin {USER}\npassword pw {SECRET}\n"),),
            env={"NETRC": "{app}/netrc"},
            named="401",
        ),
        "netrc-password-after-a-typo": case(
            *relock,
            setup=(write("netrc", f"machine 127.0.0.1 login {USER} pasword {SECRET}\n"),),
            env={"NETRC": "{app}/netrc"},
            named="401",
        ),
        "netrc-unreadable": case(
            *relock,
            setup=(
                write("netrc", f"machine 127.0.0.1 login {USER} password {SECRET}\n"),
                unreadable("netrc"),
            ),
            env={"NETRC": "{app}/netrc"},
            named="401",
            no_dac=True,
        ),
        "netrc-dev-zero": case(*relock, env={"NETRC": "/dev/zero"}, named="401"),
    }
    kudu = ("kudu", "run", "--", "ls")
    urls: dict[str, Arg] = {
        "query-token": f"https://127.0.0.1:9/?token={SECRET}",
        "fragment-token": f"https://127.0.0.1:9/#{SECRET}",
        "userinfo-open-bracket": f"https://{USER}:{SECRET}@[::1",
        "userinfo-bad-port": f"https://{USER}:{SECRET}@127.0.0.1:99999/",
        "userinfo-at-in-password": f"https://{USER}:pw@{SECRET}@127.0.0.1:9/",
        "userinfo-http": f"http://{USER}:{SECRET}@127.0.0.1:9/",
        "not-utf8": b"https://127.0.0.1:9/\xff",
        "control-character": "https://127.0.0.1:9/\x1b[2J",
        "path-in-password": f"https://{USER}:pw/{SECRET}@127.0.0.1:9/",
    }
    for name, url in urls.items():
        cases[f"kudu-url-{name}"] = case(*kudu, env=_kudu_env(url))
    cases["kudu-user-not-utf8"] = case(*kudu, env=_kudu_env("https://127.0.0.1:9/", b"d\xff"))
    cases["kudu-password-not-utf8"] = case(
        *kudu, env=_kudu_env("https://127.0.0.1:9/", USER, SECRET.encode() + b"\xff")
    )
    cases["kudu-password-with-a-newline"] = case(
        *kudu, env=_kudu_env("https://127.0.0.1:9/", USER, f"{SECRET}\nX-Injected: 1")
    )
    cases["upload-kudu-url-query-token"] = case(
        "upload", "--no-check", env=_kudu_env(f"https://127.0.0.1:9/?sig={SECRET}")
    )
    return cases


def _publish_profile(url: str, user: str = USER, password: str = SECRET) -> str:
    return (
        '<publishData><publishProfile publishMethod="MSDeploy" '
        f'publishUrl="{url}" userName="{user}" userPWD="{password}" msdeploySite="s"/>'
        "</publishData>"
    )


PUBLISH_PROFILES = {
    "dev-zero": None,
    "url-userinfo-open-bracket": _publish_profile(f"{USER}:{SECRET}@[::1"),
    "url-slash-in-password": _publish_profile(f"https://{USER}:pw/{SECRET}@127.0.0.1:9"),
    "url-query-token": _publish_profile(f"127.0.0.1:9?sig={SECRET}"),
    "url-fragment-token": _publish_profile(f"127.0.0.1:9#{SECRET}"),
    "url-http-with-userinfo": _publish_profile(f"http://{USER}:{SECRET}@example.com"),
    "password-control-reference": _publish_profile("127.0.0.1:9", password=f"{SECRET}&#1;"),
    "duplicate-password": _publish_profile("127.0.0.1:9").replace("/>", ' userPWD="x"/>'),
    "truncated": _publish_profile("127.0.0.1:9")[:100],
}


def _publish_profile_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    commands = {
        "kudu-run": ("kudu", "run", "--publish-profile", "{pp}", "--", "ls"),
        "upload": ("upload", "--no-check", "--publish-profile", "{pp}"),
        "capture": ("profiles", "capture", "--publish-profile", "{pp}", "mine"),
    }
    for name, text in PUBLISH_PROFILES.items():
        for command, args in commands.items():
            path = "/dev/zero" if text is None else "{app}/site.PublishSettings"
            setup = () if text is None else (write("site.PublishSettings", text),)
            filled = tuple(path if arg == "{pp}" else arg for arg in args)
            cases[f"{command}-publish-profile-{name}"] = case(*filled, setup=setup)
    return cases


# --- secrets where a user puts them -------------------------------------------------------------


def _secret_cases() -> dict[str, Case]:
    wrong = f"http://{USER}:{SECRET}-wrong@{{host}}/simple/"
    cases = {
        "index-wrong-password": case("lock", "-U", "-i", wrong, named="401"),
        "index-password-with-an-at": case(
            "lock", "-U", "-i", f"http://{USER}:pw@{SECRET}@{{host}}/simple/", named="401"
        ),
        "index-password-with-a-space": case(
            "lock", "-U", "-i", f"http://{USER}:pw {SECRET}@{{host}}/simple/"
        ),
        "index-password-percent-encoded": case(
            "lock", "-U", "-i", f"http://{USER}:pw%2D{SECRET}-wrong@{{host}}/simple/", named="401"
        ),
        "find-links-wrong-password": case(
            "lock", "-U", "-i", "{plain}", "-f", f"http://{USER}:{SECRET}-x@{{host}}/links/"
        ),
        "extra-index-missing-with-password": case(
            "lock",
            "-U",
            "-v",
            "--extra-index-url",
            f"http://{USER}:{SECRET}@{{host}}/none/",
            codes=frozenset({0}),
        ),
        "export-with-password-index": case(
            "lock", "--export", "requirements", "-o", "{app}/exported.txt", codes=frozenset({0})
        ),
        "requirements-url-with-password": case(
            "lock",
            "--offline",
            setup=(
                write(
                    "requirements.txt",
                    f"alpha @ http://{USER}:{SECRET}@127.0.0.1:9/alpha-1.0-py3-none-any.whl\n",
                ),
            ),
        ),
        "requirements-index-with-password-unresolvable": case(
            "lock", "-U", setup=(write("requirements.txt", "alpha==7\n"),), named="alpha==7"
        ),
        "why-with-password-index": case("why", "beta", codes=frozenset({0})),
        "build-with-password-in-find-links-config": case(
            "build",
            setup=(
                edit(
                    "pyproject.toml",
                    "[tool.vendorer]\n",
                    f'[tool.vendorer]\nfind-links = ["http://{USER}:{SECRET}@{{host}}/nope/"]\n',
                ),
                write("requirements.txt", "alpha==1.1\n"),
            ),
            codes=frozenset({0, 1}),
        ),
    }
    return cases


# --- a profile's values: control characters, and types the first sweep did not try ---------------

PROFILE_EDITS = {
    "description-control": ('description = "x"', 'description = "a\\u0007b"'),
    "implementation-control": ('implementation = "cp"', 'implementation = "c\\np"'),
    "platforms-control": ('platforms = ["win_amd64"]', 'platforms = ["win\\tamd64"]'),
    "marker-control": ('os_name = "nt"', 'os_name = "n\\u001bt"'),
    "server-python-control": (
        "python = 'D:\\home\\python361x64\\python.exe'",
        'python = "D:\\\\py\\u0001thon.exe"',
    ),
    "site-root-control": ("site_root = 'D:\\home\\site\\wwwroot'", 'site_root = "D:\\n"'),
    "lib-dir-control": ('lib_dir = "lib"', 'lib_dir = "l\\rib"'),
    "description-number": ('description = "x"', "description = 3"),
    "markers-string": ('[markers]\nos_name = "nt"', 'markers = "nt"\n[m]\nos_name = "nt"'),
    "server-list": ("[server]\n", "server = [1]\n[s]\n"),
    "site-root-list": ("site_root = 'D:\\home\\site\\wwwroot'", 'site_root = ["D:"]'),
    "abis-empty": ('abis = ["cp36m"]', "abis = []"),
    "platforms-blank": ('platforms = ["win_amd64"]', 'platforms = [" "]'),
    "lib-dir-empty": ('lib_dir = "lib"', 'lib_dir = ""'),
}


def _profile_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for name, (old, new) in PROFILE_EDITS.items():
        assert old in PROFILE, name
        text = PROFILE.replace(old, new)
        setup = (write("profiles/mine.toml", text),)
        for command in (
            ("profiles", "show", "mine"),
            (*WEBCONFIG, "-p", "mine"),
            ("vendor", "-p", "mine"),
        ):
            cases[f"{command[0]}-profile-{name}"] = case(*command, setup=setup, named="mine")
    return cases


# --- a disk that fills up ---------------------------------------------------------------------


def _full_disk_cases() -> dict[str, Case]:
    full = "free some space"
    runs = {
        "lock": (("lock", "-U"), (), full),
        "export": (("lock", "--export", "requirements", "-o", "{app}/out.txt"), (), full),
        "webconfig": (WEBCONFIG, (), full),
        "wheelhouse": (("wheelhouse",), (remove(ALPHA),), full),
        "vendor": (("vendor",), (remove("lib/beta/__init__.py"),), "Nothing was changed"),
        "build": (("build",), (write("requirements.txt", "alpha==1.1\n"),), ""),
    }
    cases: dict[str, Case] = {}
    for name, (args, setup, named) in runs.items():
        for limit in (0, 100):
            cases[f"{name}-disk-full-after-{limit}-bytes"] = case(
                *args, setup=setup, named=named, file_size_limit=limit, codes=frozenset({1})
            )
    return cases


# --- [tool.vendorer]: values of other types and spellings than the first sweep tried -------------

SETTINGS = {
    "profile-list": 'profile = ["python361x64"]',
    "profile-bool": "profile = true",
    "profile-control": 'profile = "python361x64\\n"',
    "profile-date": "profile = 1979-05-27",
    "requirements-dev-zero": 'requirements = "/dev/zero"',
    "requirements-folder": 'requirements = "lib"',
    "requirements-control": 'requirements = "req\\u0000.txt"',
    "lib-dir-list": 'lib-dir = ["lib"]',
    "lib-dir-control": 'lib-dir = "l\\tib"',
    "lib-dir-the-wheelhouse": 'lib-dir = "wheelhouse"',
    "wheelhouse-the-app": 'wheelhouse = "."',
    "wheelhouse-the-lib-folder": 'wheelhouse = "lib"',
    "wheelhouse-float": "wheelhouse = 1.5",
    "index-url-list": 'index-url = ["{plain}"]',
    "index-url-nul": 'index-url = "http://127.0.0.1:9/\\u0000"',
    "index-url-control-in-password": f'index-url = "http://u:{SECRET}\\n@127.0.0.1:9/"',
    "find-links-string": 'find-links = "dists"',
    "find-links-nested-list": 'find-links = [["dists"]]',
    "extra-index-urls-string": 'extra-index-urls = "{plain}"',
    "extra-index-urls-secret-no-host": f'extra-index-urls = ["http://u:{SECRET}@/simple/"]',
    "exclude-string": 'exclude = "tests"',
    "exclude-numbers": "exclude = [1]",
    "keyring-provider-bool": "keyring-provider = false",
    "index-strategy-list": 'index-strategy = ["first-index"]',
    "duplicate-key": 'profile = "python361x64"',
    "unknown-key-with-secret": f'password = "{SECRET}"',
}


SETTINGS_UNUSED = {  # what a command does not read: left to those that do
    "requirements-folder": ("vendor",),
    **dict.fromkeys(
        ("lib-dir-the-wheelhouse", "wheelhouse-the-app", "wheelhouse-the-lib-folder"), ("lock",)
    ),
}


def _settings_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for name, line in SETTINGS.items():
        setup = (edit("pyproject.toml", "[tool.vendorer]\n", f"[tool.vendorer]\n{line}\n"),)
        for command in (("lock", "--offline"), ("vendor",), ("check",)):
            if command[0] in SETTINGS_UNUSED.get(name, ()):
                continue  # the command does not read it
            cases[f"{command[0]}-settings-{name}"] = case(*command, setup=setup)
    return cases


# --- git hooks: what is already where the hook goes -----------------------------------------------

HOOK = ".git/hooks/pre-push"
HOOKS = {
    "a-link-to-dev-zero": (link(HOOK, "/dev/zero"),),
    "a-fifo": (write(HOOK, b""), fifo(HOOK)),
    "a-folder": (folder(HOOK),),
    "a-dangling-link": (link(HOOK, "nowhere"),),
    "binary": (write(HOOK, bytes(range(256))),),
    "hooks-folder-a-file": (write(".git/hooks", b"x"),),
}


def _hook_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for name, setup in HOOKS.items():
        cases[f"hook-{name}"] = case("hook", "install", setup=(git_init, *setup), timeout=60)
        if name != "hooks-folder-a-file":
            named = "exists and is not vendorer's"
            cases[f"hook-{name}"] = case(
                "hook", "install", setup=(git_init, *setup), named=named, timeout=60
            )
    cases["hook-a-fifo-forced"] = case(
        "hook", "install", "--force", setup=(git_init, *HOOKS["a-fifo"]), codes=frozenset({0})
    )
    return cases


# --- host names the HTTP client cannot encode ------------------------------------------------

BAD_HOSTS = {
    "empty-label": "a..b",
    "label-of-70": "a" * 70 + ".com",
    "broken-a-label": "xn--zz",
    "password-and-empty-label": f"{USER}:{SECRET}@a..b",
}


def _host_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for name, host in BAD_HOSTS.items():
        url = f"http://{host}/simple/"
        cases[f"index-url-host-{name}"] = case("lock", "-U", "-i", url, named="host name")
        cases[f"extra-index-url-host-{name}"] = case(
            "lock", "-U", "--extra-index-url", url, named="host name"
        )
        cases[f"find-links-host-{name}"] = case("lock", "-U", "-f", url, named="host name")
        cases[f"requirements-index-url-host-{name}"] = case(
            "lock",
            "-U",
            setup=(write("requirements.txt", f"-i {url}\nalpha==1.0\n"),),
            named="host name",
        )
        pyproject = f'[tool.vendorer]\nprofile = "python361x64"\nindex-url = "{url}"\n'
        cases[f"config-index-url-host-{name}"] = case(
            "check", setup=(write("pyproject.toml", pyproject),), named="host name"
        )
    links = "".join(
        f'<a href="http://{host}/alpha-2.0-py3-none-any.whl">x</a>' for host in BAD_HOSTS.values()
    )
    cases["find-links-page-with-bad-hosts"] = case(
        "lock",
        "-U",
        "-f",
        "file://{app}/links.html",
        setup=(write("links.html", f"<html><body>{links}</body></html>"),),
        codes=frozenset({0}),
        named="skipped a link",
    )
    return cases


ALL = {
    **_argument_cases(),
    **_host_cases(),
    **_hook_cases(),
    **_settings_cases(),
    **_full_disk_cases(),
    **_profile_cases(),
    **_publish_profile_cases(),
    **_file_cases(),
    **_wheelhouse_cases(),
    **_environment_cases(),
    **_secret_cases(),
}


# --- the sweep ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaticIndex]:
    dists = tmp_path_factory.mktemp("dists")
    make_wheel(dists, "alpha", "1.0", requires_dist=["beta"])
    make_wheel(dists, "alpha", "1.1", requires_dist=["beta"])
    make_wheel(dists, "beta", "2.0")
    with StaticIndex(dists, auth=(USER, SECRET)) as served:
        yield served


@pytest.fixture(scope="module")
def built_app(tmp_path_factory: pytest.TempPathFactory, index: StaticIndex) -> Path:
    """An app built from the index with the password, then the user's own files in lib/."""
    app = tmp_path_factory.mktemp("built") / "app"
    app.mkdir()
    (app / "requirements.txt").write_text(REQUIREMENTS, encoding="utf-8")
    (app / "pyproject.toml").write_text(
        f'[tool.vendorer]\nprofile = "python361x64"\nindex-url = "{_with_password(index)}"\n',
        encoding="utf-8",
    )
    cache = tmp_path_factory.mktemp("cache")
    result = _vendorer(["build"], app, {"VENDORER_CACHE_DIR": str(cache)})
    assert result.returncode == 0, result.stderr
    (app / "src").mkdir()
    (app / "lib/userdir").mkdir()
    (app / "lib/userdir/f.txt").write_text("mine", encoding="utf-8")
    (app / "lib/emptyuser").mkdir()
    (app / "lib/srclink").symlink_to("../src")
    (app / "lib/alpha/mine.py").write_text("mine", encoding="utf-8")
    (app / "lib/m.txt").write_text("mine", encoding="utf-8")
    return app


def _with_password(index: StaticIndex) -> str:
    return index.url.replace("://", f"://{USER}:{SECRET}@")


def _vendorer(
    args: list[Arg],
    app: Path,
    env: dict[str, Arg],
    *,
    no_dac: bool = False,
    timeout: float = 120,
    file_size_limit: int | None = None,
) -> subprocess.CompletedProcess[str]:
    if "--app" not in args and args[:2] != ["kudu", "run"]:
        args = [*args, "--app", str(app)]
    prefix: list[str] = []
    if no_dac and _AS_ROOT:
        if _SETPRIV is None:
            pytest.skip("running as root without setpriv: file modes do not apply")
        prefix = [_SETPRIV, *_NO_DAC]
    environ = {os.fsencode(key): os.fsencode(value) for key, value in {**os.environ, **env}.items()}
    command: list[str | bytes] = [*prefix, sys.executable, "-m", "vendorer", *args]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
        cwd=app,
        env=environ,
        timeout=timeout,
        preexec_fn=None if file_size_limit is None else partial(_limit_files, file_size_limit),
    )


def _limit_files(size: int) -> None:
    """Writes past `size` bytes fail with EFBIG (Python ignores SIGXFSZ), as on a full disk."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


def _snapshot(top: Path) -> dict[str, bytes | str | None]:
    """Every file, folder and link below `top`: bytes (None if unreadable), "<dir>", "-> x"."""
    found: dict[str, bytes | str | None] = {}
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            path = Path(root, name)
            relative = str(path.relative_to(top))
            if path.is_symlink():
                found[relative] = f"-> {path.readlink()}"
            elif path.is_dir():
                found[relative] = "<dir>"
            elif path.is_file():
                try:
                    found[relative] = path.read_bytes()
                except OSError:
                    found[relative] = None
    return found


def _fill(arg: Arg, app: Path, index: StaticIndex) -> Arg:
    if isinstance(arg, bytes):
        return arg
    host = index.base.partition("://")[2]
    return (
        arg.replace("{app}", str(app))
        .replace("{index}", _with_password(index))
        .replace("{plain}", index.url)
        .replace("{host}", host)
    )


def _restore_modes(top: Path) -> None:
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            path = Path(root, name)
            if not path.is_symlink():
                path.chmod(0o755 if path.is_dir() else 0o644)
    top.chmod(0o755)


def _params() -> list[Any]:
    return [pytest.param(case, id=name) for name, case in ALL.items()]


@pytest.mark.parametrize("case", _params())
def test_hostile_input_keeps_everything(
    case: Case, tmp_path: Path, built_app: Path, index: StaticIndex
) -> None:
    app = tmp_path / "app"
    shutil.copytree(built_app, app, symlinks=True)
    for setup in case.setup:
        setup(app)
    before = _snapshot(app)
    env = {key: _fill(value, app, index) for key, value in case.env.items()}
    args = [_fill(arg, app, index) for arg in case.args]
    try:
        result = _vendorer(
            args,
            app,
            env,
            no_dac=case.no_dac,
            timeout=case.timeout,
            file_size_limit=case.file_size_limit,
        )
    finally:
        _restore_modes(app)
    shown = result.stdout + result.stderr
    assert result.returncode in case.codes, shown[:3000]
    assert "Traceback" not in shown, shown[:3000]
    assert "internal error" not in shown, shown[:3000]
    assert SECRET not in shown, shown[:3000]
    assert case.named in shown, shown[:3000]
    after = _snapshot(app)
    for path in FOREIGN:
        assert after.get(path) == before[path], f"{path} (the user's) changed or vanished"
    written = [p for p, data in after.items() if data != before.get(p)]
    leaked = [p for p in written if isinstance(data := after[p], bytes) and SECRET.encode() in data]
    assert not leaked, f"the password is in {leaked}"
    if result.returncode != 0:
        assert len(result.stderr) < 3000, f"a long message: {len(result.stderr)} characters"
        assert {p: after.get(p) for p in before} == before, "a file changed or vanished"


def test_a_backend_that_prints_the_index_url_shows_no_password(tmp_path: Path) -> None:
    """The isolated build gets the index (with its password) in PIP_INDEX_URL; a backend that
    prints its environment, with -v or in the last lines of its failure, must not show it."""
    dists = tmp_path / "dists"
    make_sdist(dists, "leaky", "1.0", echo_environ=["PIP_INDEX_URL"], fail_in="build_wheel")
    with StaticIndex(dists, metadata=False, auth=(USER, SECRET)) as served:
        app = tmp_path / "app"
        app.mkdir()
        (app / "requirements.txt").write_text("leaky\n", encoding="utf-8")
        (app / "pyproject.toml").write_text(
            f'[tool.vendorer]\nprofile = "python361x64"\nindex-url = "{_with_password(served)}"\n',
            encoding="utf-8",
        )
        locked = _vendorer(["lock", "-v"], app, {})  # the backend gives the metadata, loudly
        filled = _vendorer(["wheelhouse"], app, {})  # build_wheel fails: its last lines shown
    assert locked.returncode == 0, locked.stderr
    assert "PIP_INDEX_URL=http://127.0.0.1" in locked.stderr  # it was heard, without the password
    assert filled.returncode == 1, filled.stderr
    assert "PIP_INDEX_URL=http://127.0.0.1" in filled.stderr
    for result in (locked, filled):
        assert SECRET not in result.stdout + result.stderr
        assert "Traceback (most recent call last)" not in result.stderr.split("last lines")[0]
