"""A tiny PEP 517 build backend for the test suite's sdists: standard library only, offline.

It reads `_backend/config.json` (name, version, metadata, native), builds a wheel of every file in
the sdist except its own, and, for a native sdist, compiles `<module>/_native.c` with the host's C
compiler into an extension tagged for the host interpreter.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
SKIP = {"pyproject.toml", "PKG-INFO", "setup.cfg"}


def _config() -> dict[str, object]:
    config: dict[str, object] = json.loads((HERE / "config.json").read_text(encoding="utf-8"))
    return config


def _escaped(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def _tag(native: bool) -> str:
    if not native:
        return "py3-none-any"
    interpreter = f"cp{sys.version_info.major}{sys.version_info.minor}"
    soabi = sysconfig.get_config_var("SOABI") or ""
    abi = "cp" + soabi.split("-")[1] if soabi.startswith("cpython-") else interpreter
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"{interpreter}-{abi}-{platform}"


def _compile(module: str, out: Path) -> Path:
    source = ROOT / module / "_native.c"
    target = out / module / ("_native" + str(sysconfig.get_config_var("EXT_SUFFIX")))
    target.parent.mkdir(parents=True, exist_ok=True)
    include = sysconfig.get_paths()["include"]
    compiler = os.environ.get("CC", "cc")
    subprocess.run(
        [compiler, "-shared", "-fPIC", f"-I{include}", str(source), "-o", str(target)], check=True
    )
    return target


def get_requires_for_build_wheel(config_settings: object = None) -> list[str]:
    return []


def get_requires_for_build_sdist(config_settings: object = None) -> list[str]:
    return []


def _dist_info(config: dict[str, object]) -> str:
    return f"{_escaped(str(config['name']))}-{config['version']}.dist-info"


def prepare_metadata_for_build_wheel(
    metadata_directory: str, config_settings: object = None
) -> str:
    config = _config()
    folder = Path(metadata_directory) / _dist_info(config)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "METADATA").write_text(str(config["metadata"]), encoding="utf-8")
    return folder.name


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(
    wheel_directory: str, config_settings: object = None, metadata_directory: str | None = None
) -> str:
    config = _config()
    native = bool(config["native"])
    name, version = _escaped(str(config["name"])), str(config["version"])
    module = name
    members: dict[str, bytes] = {}
    for path in sorted(ROOT.rglob("*")):
        relative = path.relative_to(ROOT).as_posix()
        if path.is_dir() or relative in SKIP or relative.startswith("_backend/"):
            continue
        if relative.endswith(".c"):
            continue
        members[relative] = path.read_bytes()
    if native:
        build_dir = ROOT / "build-native"
        compiled = _compile(module, build_dir)
        members[compiled.relative_to(build_dir).as_posix()] = compiled.read_bytes()
    tag = _tag(native)
    dist_info = _dist_info(config)
    members[f"{dist_info}/METADATA"] = str(config["metadata"]).encode()
    wheel = (
        "Wheel-Version: 1.0\nGenerator: vendorer-test-backend\n"
        f"Root-Is-Purelib: {'false' if native else 'true'}\nTag: {tag}\n"
    )
    members[f"{dist_info}/WHEEL"] = wheel.encode()
    record = [f"{p},{_record_hash(d)},{len(d)}" for p, d in members.items()]
    members[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
    filename = f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(Path(wheel_directory) / filename, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(zipfile.ZipInfo(member, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return filename


def build_sdist(sdist_directory: str, config_settings: object = None) -> str:
    config = _config()
    root = f"{_escaped(str(config['name']))}-{config['version']}"
    filename = f"{root}.tar.gz"
    with tarfile.open(Path(sdist_directory) / filename, "w:gz") as archive:
        for path in sorted(ROOT.rglob("*")):
            if path.is_file():
                archive.add(path, f"{root}/{path.relative_to(ROOT).as_posix()}")
    return filename
