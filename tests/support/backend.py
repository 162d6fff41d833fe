"""A tiny PEP 517 build backend for the test suite's sdists: standard library only, offline.

`make_sdist` copies this file into each sdist as `_backend/backend.py` (`backend-path`), next to
`_backend/config.json`: the name, the version, the PKG-INFO text and, for a native sdist, the C
sources to compile; optionally how chatty each hook is (`noise`: lines to stdout and to stderr, and
a warning, as setuptools prints) and which hook fails (`fail_in`). `build_wheel` packs every file
of the tree except the build's own; a native sdist's extension is compiled with the host's C
compiler (`$CC`, else `cc`) into a wheel tagged for the running interpreter, derived from `sys` and
`sysconfig`, never hard-coded.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import shlex
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import warnings
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUILD_FILES = {"pyproject.toml", "PKG-INFO"}
EPOCH = (2020, 1, 1, 0, 0, 0)
SOURCE_DATE = 1577836800  # EPOCH as a Unix time


def _config() -> dict[str, object]:
    config: dict[str, object] = json.loads((HERE / "config.json").read_text(encoding="utf-8"))
    return config


def _extensions(config: dict[str, object]) -> dict[str, str]:
    """Dotted module name to its C source, relative to the tree."""
    extensions = config.get("ext_modules") or {}
    assert isinstance(extensions, dict)
    return {str(module): str(source) for module, source in extensions.items()}


def _dist_info(config: dict[str, object]) -> str:
    return f"{config['escaped_name']}-{config['escaped_version']}.dist-info"


def _wheel_metadata(config: dict[str, object]) -> str:
    """The PKG-INFO text without `Dynamic:` lines: a wheel's metadata is all static."""
    lines = str(config["metadata"]).splitlines(keepends=True)
    return "".join(line for line in lines if not line.startswith("Dynamic:"))


def host_tag() -> str:
    """The most specific wheel tag of the running CPython, e.g. `cp311-cp311-linux_x86_64`."""
    if sys.implementation.name != "cpython":
        raise RuntimeError("the native test sdists build for CPython only")
    interpreter = f"cp{sys.version_info.major}{sys.version_info.minor}"
    soabi = str(sysconfig.get_config_var("SOABI") or "")
    # "cpython-311-x86_64-linux-gnu" -> "cp311"; "cpython-313t-..." -> "cp313t"; "cpython-311d" too.
    abi = "cp" + soabi.split("-")[1] if soabi.startswith("cpython-") else interpreter
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"{interpreter}-{abi}-{platform}"


def _compile(source: Path, target: Path) -> None:
    compiler = shlex.split(os.environ.get("CC") or "cc")
    if sys.platform == "darwin":
        link = ["-bundle", "-undefined", "dynamic_lookup"]
    else:
        link = ["-shared", "-fPIC"]
    include = sysconfig.get_paths()["include"]
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [*compiler, *link, "-O1", f"-I{include}", str(source), "-o", str(target)], check=True
    )


def _tree_files() -> dict[str, bytes]:
    """The files of the source tree a wheel takes: not the build's own, not C sources."""
    members: dict[str, bytes] = {}
    for path in sorted(ROOT.rglob("*")):
        relative = path.relative_to(ROOT).as_posix()
        skipped = relative in BUILD_FILES or relative.startswith("_backend/")
        if path.is_dir() or skipped or path.suffix == ".c" or "__pycache__" in path.parts:
            continue
        members[relative] = path.read_bytes()
    return members


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _write_zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=EPOCH)
            info.external_attr = 0o644 << 16
            info.create_system = 3
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)


def _chatter(hook: str) -> None:
    """What a real backend prints while it works, and its failure if this hook is to fail."""
    config = _config()
    noise = int(str(config.get("noise") or 0))
    for number in range(noise):
        print(f"backend-noise stdout {hook} {number}", flush=True)
        print(f"backend-noise stderr {hook} {number}", file=sys.stderr, flush=True)
    if noise:
        warnings.warn(f"backend-noise warning {hook}", UserWarning, stacklevel=2)
    for name in config.get("echo_environ") or []:  # type: ignore[attr-defined]
        print(f"{name}={os.environ.get(name)}", file=sys.stderr, flush=True)
    if config.get("fail_in") == hook:
        raise RuntimeError(f"backend-failure in {hook}")


# --- PEP 517 hooks --------------------------------------------------------------------------------


def get_requires_for_build_wheel(config_settings: object = None) -> list[str]:
    _chatter("get_requires_for_build_wheel")
    return []


def get_requires_for_build_sdist(config_settings: object = None) -> list[str]:
    return []


def prepare_metadata_for_build_wheel(
    metadata_directory: str, config_settings: object = None
) -> str:
    _chatter("prepare_metadata_for_build_wheel")
    config = _config()
    folder = Path(metadata_directory) / _dist_info(config)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "METADATA").write_text(_wheel_metadata(config), encoding="utf-8")
    return folder.name


def build_wheel(
    wheel_directory: str, config_settings: object = None, metadata_directory: str | None = None
) -> str:
    _chatter("build_wheel")
    config = _config()
    extensions = _extensions(config)
    members = _tree_files()
    with tempfile.TemporaryDirectory(prefix="test-backend-") as work:
        suffix = str(sysconfig.get_config_var("EXT_SUFFIX"))
        for module, source in sorted(extensions.items()):
            relative = module.replace(".", "/") + suffix
            _compile(ROOT / source, Path(work) / relative)
            members[relative] = (Path(work) / relative).read_bytes()
    tag = host_tag() if extensions else "py3-none-any"
    dist_info = _dist_info(config)
    members[f"{dist_info}/METADATA"] = _wheel_metadata(config).encode()
    members[f"{dist_info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: vendorer-test-backend\n"
        f"Root-Is-Purelib: {'false' if extensions else 'true'}\nTag: {tag}\n"
    ).encode()
    record = [f"{name},{_record_hash(data)},{len(data)}" for name, data in members.items()]
    record.append(f"{dist_info}/RECORD,,")
    members[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    filename = f"{config['escaped_name']}-{config['escaped_version']}-{tag}.whl"
    _write_zip(Path(wheel_directory) / filename, members)
    return filename


def build_sdist(sdist_directory: str, config_settings: object = None) -> str:
    config = _config()
    root = f"{config['escaped_name']}-{config['escaped_version']}"
    members: dict[str, bytes] = {}
    for path in sorted(ROOT.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            members[path.relative_to(ROOT).as_posix()] = path.read_bytes()
    members["PKG-INFO"] = str(config["metadata"]).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(members):
            info = tarfile.TarInfo(f"{root}/{name}")
            info.size, info.mtime, info.mode = len(members[name]), SOURCE_DATE, 0o644
            archive.addfile(info, io.BytesIO(members[name]))
    filename = f"{root}.tar.gz"
    (Path(sdist_directory) / filename).write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
    return filename
