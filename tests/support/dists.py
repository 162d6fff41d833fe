"""Real distributions, built on the fly from a dict of files.

Wheels are valid PEP 427 archives: escaped file names, `METADATA`, `WHEEL` with one `Tag:` line per
tag of a compressed tag set, `entry_points.txt`, and a `RECORD` with every file's sha256 and size.
Sdists carry `PKG-INFO`, a `pyproject.toml` and an in-tree PEP 517 backend (`_backend/`, copied from
`backend.py` here), so `python -m build` builds them offline. Bytes are deterministic: the same call
gives the same file and the same sha256.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import re
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import tomli_w
from packaging.version import InvalidVersion, Version

BACKEND = Path(__file__).parent / "backend.py"
EPOCH = (2020, 1, 1, 0, 0, 0)
SOURCE_DATE = 1577836800  # EPOCH as a Unix time
NATIVE_CLASSIFIER = "Programming Language :: C"
# Core metadata fields and the pyproject `[project]` keys that hold them.
PROJECT_KEYS = {
    "requires-dist": "dependencies",
    "requires-python": "requires-python",
    "provides-extra": "optional-dependencies",
    "classifier": "classifiers",
}


def escaped(name: str) -> str:
    """The distribution name as file names spell it (PEP 491, PEP 625): `Foo.Bar` -> `foo_bar`."""
    return re.sub(r"[-_.]+", "_", name).lower()


def escaped_version(version: str) -> str:
    """The version as file names spell it: PEP 440 normal form, `-` escaped."""
    try:
        return str(Version(version))
    except InvalidVersion:
        return version.replace("-", "_")


def import_name(name: str) -> str:
    """The package a distribution's default files define: `Foo.Bar` -> `foo_bar`."""
    return escaped(name)


def expand_tag(tag: str) -> list[str]:
    """Every tag of a compressed tag set, in order: `py2.py3-none-any` -> py2-none-any, py3-..."""
    parts = tag.split("-")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"{tag!r} is not a wheel tag (interpreter-abi-platform)")
    interpreters, abis, platforms = (part.split(".") for part in parts)
    return [f"{i}-{a}-{p}" for i in interpreters for a in abis for p in platforms]


def metadata_text(
    name: str,
    version: str,
    *,
    requires_dist: Sequence[str] = (),
    requires_python: str | None = None,
    provides_extra: Sequence[str] = (),
    metadata_version: str = "2.1",
    dynamic: Sequence[str] = (),
    classifiers: Sequence[str] = (),
) -> str:
    """Core metadata (METADATA or PKG-INFO) in its email-header form."""
    if dynamic and Version(metadata_version) < Version("2.2"):
        raise ValueError(f"Dynamic needs Metadata-Version 2.2 or later, not {metadata_version}")
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}"]
    lines += [f"Dynamic: {field}" for field in dynamic]
    lines += [f"Classifier: {classifier}" for classifier in classifiers]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Provides-Extra: {extra}" for extra in provides_extra]
    lines += [f"Requires-Dist: {requirement}" for requirement in requires_dist]
    return "\n".join(lines) + "\n\n"


def record_hash(data: bytes) -> str:
    """A RECORD hash: `sha256=` and the urlsafe base64 digest without padding."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def _as_bytes(files: Mapping[str, str | bytes]) -> dict[str, bytes]:
    return {path: data.encode() if isinstance(data, str) else data for path, data in files.items()}


def _entry_points_text(entry_points: Mapping[str, Mapping[str, str]]) -> str:
    return "".join(
        f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in entries.items()) + "\n"
        for group, entries in entry_points.items()
    )


def wheel_files(
    name: str,
    version: str,
    *,
    tag: str,
    metadata: str,
    files: Mapping[str, str | bytes],
    entry_points: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, bytes]:
    """Every member of a wheel, RECORD included, in order: the files, then `.dist-info/`."""
    dist_info = f"{escaped(name)}-{escaped_version(version)}.dist-info"
    tags = expand_tag(tag)
    pure = all(t.split("-")[1:] == ["none", "any"] for t in tags)
    wheel = [
        "Wheel-Version: 1.0",
        "Generator: vendorer-tests",
        f"Root-Is-Purelib: {'true' if pure else 'false'}",
    ]
    wheel += [f"Tag: {t}" for t in tags]
    members = _as_bytes(files)
    members[f"{dist_info}/METADATA"] = metadata.encode()
    members[f"{dist_info}/WHEEL"] = ("\n".join(wheel) + "\n").encode()
    if entry_points:
        members[f"{dist_info}/entry_points.txt"] = _entry_points_text(entry_points).encode()
    record = [f"{path},{record_hash(data)},{len(data)}" for path, data in members.items()]
    record.append(f"{dist_info}/RECORD,,")
    members[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    return members


def write_zip(path: Path, members: Mapping[str, bytes]) -> Path:
    """A zip of `members` in their order, with fixed timestamps and modes: reproducible bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=EPOCH)
            info.external_attr = 0o644 << 16
            info.create_system = 3
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    path.write_bytes(buffer.getvalue())
    return path


def make_wheel(
    directory: Path,
    name: str,
    version: str,
    *,
    tag: str = "py3-none-any",
    requires_dist: Sequence[str] = (),
    requires_python: str | None = None,
    provides_extra: Sequence[str] = (),
    files: Mapping[str, str | bytes] | None = None,
    entry_points: Mapping[str, Mapping[str, str]] | None = None,
    build_tag: str | None = None,
) -> Path:
    """A valid wheel `{name}-{version}[-{build}]-{tag}.whl` in `directory`.

    Without `files`, it holds a package `<import_name>/__init__.py` that sets `__version__`.
    """
    if build_tag is not None and not build_tag[:1].isdigit():
        raise ValueError(f"a build tag starts with a digit, not {build_tag!r}")
    directory.mkdir(parents=True, exist_ok=True)
    contents = files if files is not None else default_files(name, version)
    metadata = metadata_text(
        name,
        version,
        requires_dist=requires_dist,
        requires_python=requires_python,
        provides_extra=provides_extra,
    )
    members = wheel_files(
        name, version, tag=tag, metadata=metadata, files=contents, entry_points=entry_points
    )
    build = f"-{build_tag}" if build_tag else ""
    filename = f"{escaped(name)}-{escaped_version(version)}{build}-{tag}.whl"
    return write_zip(directory / filename, members)


def default_files(name: str, version: str) -> dict[str, str | bytes]:
    return {f"{import_name(name)}/__init__.py": f'__version__ = "{version}"\n'}


def write_tar_gz(path: Path, root: str, members: Mapping[str, bytes]) -> Path:
    """A gzipped tar of `members` under `root/`, sorted, with fixed times and modes."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(members):
            info = tarfile.TarInfo(f"{root}/{name}")
            info.size, info.mtime, info.mode = len(members[name]), SOURCE_DATE, 0o644
            archive.addfile(info, io.BytesIO(members[name]))
    path.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
    return path


def _pyproject(
    name: str,
    version: str,
    *,
    requires_dist: Sequence[str],
    requires_python: str | None,
    dynamic: Sequence[str],
    ext_modules: Mapping[str, str],
    build_requires: Sequence[str],
) -> str:
    """The sdist's pyproject.toml: the in-tree backend, `[project]`, and its extension modules."""
    dynamic_keys = sorted({PROJECT_KEYS[f.lower()] for f in dynamic if f.lower() in PROJECT_KEYS})
    project: dict[str, object] = {"name": name, "version": version}
    if requires_python and "requires-python" not in dynamic_keys:
        project["requires-python"] = requires_python
    if "dependencies" not in dynamic_keys:
        project["dependencies"] = list(requires_dist)
    if ext_modules and "classifiers" not in dynamic_keys:
        project["classifiers"] = [NATIVE_CLASSIFIER]
    if dynamic_keys:
        project["dynamic"] = dynamic_keys
    document: dict[str, object] = {
        "build-system": {
            "requires": list(build_requires),
            "build-backend": "backend",
            "backend-path": ["_backend"],
        },
        "project": project,
    }
    if ext_modules:
        modules = [{"name": module, "sources": [source]} for module, source in ext_modules.items()]
        document["tool"] = {"vendorer-test-backend": {"ext-modules": modules}}
    return tomli_w.dumps(document)


def make_sdist(
    directory: Path,
    name: str,
    version: str,
    *,
    requires_dist: Sequence[str] = (),
    requires_python: str | None = None,
    files: Mapping[str, str | bytes] | None = None,
    metadata_version: str = "2.1",
    dynamic: Sequence[str] = (),
    native: bool = False,
    build_requires: Sequence[str] = (),
    noise: int = 0,
    fail_in: str | None = None,
    echo_environ: Sequence[str] = (),
) -> Path:
    """An sdist `{name}-{version}.tar.gz` that builds offline with the in-tree backend.

    Pure, it builds a `py3-none-any` wheel with the same metadata. With `native=True` (see
    `make_native_sdist`) it holds `<import_name>/_native.c` and builds a wheel for the host.
    With `metadata_version="2.2"` the PKG-INFO is reliable (PEP 643) except for the `dynamic`
    fields, which are marked so. `build_requires` go to `[build-system] requires` (an isolated
    build installs them, though the in-tree backend needs none). With `noise`, each hook prints
    that many lines to stdout and to stderr and raises a warning, as setuptools does; `fail_in`
    names a hook (`get_requires_for_build_wheel`, `prepare_metadata_for_build_wheel`,
    `build_wheel`) that then raises. `echo_environ` names environment variables each hook prints
    (NAME=value), as a careless backend's debug output does.
    """
    directory.mkdir(parents=True, exist_ok=True)
    module = import_name(name)
    contents = _as_bytes(files if files is not None else default_files(name, version))
    ext_modules: dict[str, str] = {}
    if native:
        source = f"{module}/_native.c"
        contents[source] = NATIVE_SOURCE.encode()
        ext_modules[f"{module}._native"] = source
    pkg_info = metadata_text(
        name,
        version,
        requires_dist=requires_dist,
        requires_python=requires_python,
        metadata_version=metadata_version,
        dynamic=dynamic,
        classifiers=[NATIVE_CLASSIFIER] if native else [],
    )
    pyproject = _pyproject(
        name,
        version,
        requires_dist=requires_dist,
        requires_python=requires_python,
        dynamic=dynamic,
        ext_modules=ext_modules,
        build_requires=build_requires,
    )
    config = {
        "escaped_name": escaped(name),
        "escaped_version": escaped_version(version),
        "metadata": pkg_info,
        "ext_modules": ext_modules,
        # only when asked for, so that every other sdist keeps its bytes
        **({"noise": noise} if noise else {}),
        **({"fail_in": fail_in} if fail_in else {}),
        **({"echo_environ": list(echo_environ)} if echo_environ else {}),
    }
    members = {
        **contents,
        "PKG-INFO": pkg_info.encode(),
        "pyproject.toml": pyproject.encode(),
        "_backend/backend.py": BACKEND.read_bytes(),
        "_backend/config.json": json.dumps(config, indent=1, sort_keys=True).encode(),
    }
    root = f"{escaped(name)}-{escaped_version(version)}"
    return write_tar_gz(directory / f"{root}.tar.gz", root, members)


def make_native_sdist(
    directory: Path,
    name: str,
    version: str,
    *,
    requires_dist: Sequence[str] = (),
    requires_python: str | None = None,
    build_requires: Sequence[str] = (),
) -> Path:
    """An sdist with a C extension (`<import_name>._native`, whose `answer()` returns 42).

    Its build compiles `_native.c` with the host's C compiler into a wheel tagged for the host;
    its PKG-INFO has the `Programming Language :: C` classifier and its pyproject.toml lists the
    extension module, so tools can tell before building.
    """
    return make_sdist(
        directory,
        name,
        version,
        requires_dist=requires_dist,
        requires_python=requires_python,
        native=True,
        build_requires=build_requires,
    )


NATIVE_SOURCE = """\
#include <Python.h>
#include <stdlib.h>

/* strtol links the C library, as real extensions do (auditwheel reads the libc from that). */
static PyObject *answer(PyObject *self, PyObject *args) {
    return PyLong_FromLong(strtol("42", NULL, 10));
}

static PyMethodDef methods[] = {
    {"answer", answer, METH_NOARGS, "The answer."}, {NULL, NULL, 0, NULL}
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native", NULL, -1, methods};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
"""


def corrupt_file(path: Path) -> Path:
    """Flip 16 bytes in the middle of `path`, keeping its name and size."""
    data = bytearray(path.read_bytes())
    if not data:
        raise ValueError(f"{path} is empty: nothing to corrupt")
    middle = len(data) // 2
    for offset in range(middle, min(middle + 16, len(data))):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def truncated_copy(path: Path, target: Path) -> Path:
    """A copy of `path` at `target`, cut to half its size (a download cut short)."""
    data = path.read_bytes()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data[: len(data) // 2])
    return target


def tool_env(*, offline: bool = True) -> dict[str, str]:
    """An environment for running pip or build in a subprocess, blind to the host's pip setup.

    No pip configuration file (`PIP_CONFIG_FILE` = os.devnull) and no `PIP_*` variable reach the
    tool; with `offline`, `PIP_NO_INDEX` turns every index off (find-links only), even one given on
    the command line.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    if offline:
        env["PIP_NO_INDEX"] = "1"
    return env


__all__ = [
    "NATIVE_SOURCE",
    "corrupt_file",
    "escaped",
    "escaped_version",
    "expand_tag",
    "import_name",
    "make_native_sdist",
    "make_sdist",
    "make_wheel",
    "metadata_text",
    "record_hash",
    "tool_env",
    "truncated_copy",
    "wheel_files",
    "write_tar_gz",
    "write_zip",
]
