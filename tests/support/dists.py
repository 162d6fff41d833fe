"""Real distributions, built on the fly from a dict of files.

Wheels are valid PEP 427 archives with METADATA, WHEEL and a correct RECORD; sdists carry an
in-tree PEP 517 backend (`_backend/`, copied from this folder) so `python -m build` builds them
offline. Bytes are deterministic: the same call gives the same file and the same sha256.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from packaging.tags import parse_tag
from packaging.utils import canonicalize_name

BACKEND = Path(__file__).parent / "backend.py"
EPOCH = (2020, 1, 1, 0, 0, 0)


def escaped(name: str) -> str:
    """The distribution name as file names spell it (PEP 491 / 625)."""
    return canonicalize_name(name).replace("-", "_")


def import_name(name: str) -> str:
    return escaped(name)


def metadata_text(
    name: str,
    version: str,
    *,
    requires_dist: Sequence[str] = (),
    requires_python: str | None = None,
    provides_extra: Sequence[str] = (),
    metadata_version: str = "2.1",
    dynamic: Sequence[str] = (),
) -> str:
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}"]
    lines += [f"Dynamic: {field}" for field in dynamic]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Provides-Extra: {extra}" for extra in provides_extra]
    lines += [f"Requires-Dist: {requirement}" for requirement in requires_dist]
    return "\n".join(lines) + "\n\n"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def _zip(path: Path, files: Mapping[str, bytes]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in files:
            info = zipfile.ZipInfo(name, date_time=EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    path.write_bytes(buffer.getvalue())


def wheel_files(
    name: str,
    version: str,
    *,
    tag: str,
    metadata: str,
    files: Mapping[str, str | bytes],
    entry_points: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, bytes]:
    """Every member of a wheel, RECORD included, in a deterministic order."""
    dist_info = f"{escaped(name)}-{version}.dist-info"
    pure = all(t.platform == "any" for t in parse_tag(tag))
    members = {
        path: data.encode() if isinstance(data, str) else data for path, data in files.items()
    }
    wheel = [
        "Wheel-Version: 1.0",
        "Generator: vendorer-tests",
        f"Root-Is-Purelib: {str(pure).lower()}",
    ]
    wheel += [f"Tag: {t}" for t in sorted(str(t) for t in parse_tag(tag))]
    members[f"{dist_info}/METADATA"] = metadata.encode()
    members[f"{dist_info}/WHEEL"] = ("\n".join(wheel) + "\n").encode()
    if entry_points:
        text = "".join(
            f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in entries.items()) + "\n"
            for group, entries in entry_points.items()
        )
        members[f"{dist_info}/entry_points.txt"] = text.encode()
    record = [f"{path},{_record_hash(data)},{len(data)}" for path, data in members.items()]
    record.append(f"{dist_info}/RECORD,,")
    members[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    return members


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
    """A valid wheel `{name}-{version}[-{build}]-{tag}.whl` in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    module = import_name(name)
    contents = (
        files if files is not None else {f"{module}/__init__.py": f'__version__ = "{version}"\n'}
    )
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
    path = directory / f"{escaped(name)}-{version}{build}-{tag}.whl"
    _zip(path, members)
    return path


def _tar(path: Path, root: str, files: Mapping[str, bytes]) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(files):
            info = tarfile.TarInfo(f"{root}/{name}")
            info.size = len(files[name])
            info.mtime = 1577836800
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(files[name]))
    # gzip writes the time into its header: zero it so the bytes are reproducible.
    data = bytearray(buffer.getvalue())
    data[4:8] = b"\0\0\0\0"
    path.write_bytes(bytes(data))


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
) -> Path:
    """An sdist that builds offline with the in-tree backend (pure, or with a C extension)."""
    directory.mkdir(parents=True, exist_ok=True)
    module = import_name(name)
    contents = (
        dict(files)
        if files is not None
        else {f"{module}/__init__.py": f'__version__ = "{version}"\n'}
    )
    if native:
        contents[f"{module}/_native.c"] = NATIVE_SOURCE.replace("MODULE", "_native")
    pkg_info = metadata_text(
        name,
        version,
        requires_dist=requires_dist,
        requires_python=requires_python,
        metadata_version=metadata_version,
        dynamic=dynamic,
    )
    pyproject = (
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["_backend"]\n'
    )
    config = {"name": name, "version": version, "native": native, "metadata": pkg_info}
    members: dict[str, bytes] = {
        "PKG-INFO": pkg_info.encode(),
        "pyproject.toml": pyproject.encode(),
        "_backend/backend.py": BACKEND.read_bytes(),
        "_backend/config.json": json.dumps(config, indent=1).encode(),
    }
    for member, data in contents.items():
        members[member] = data.encode() if isinstance(data, str) else data
    root = f"{escaped(name)}-{version}"
    path = directory / f"{root}.tar.gz"
    _tar(path, root, members)
    return path


def make_native_sdist(
    directory: Path,
    name: str,
    version: str,
    *,
    requires_dist: Sequence[str] = (),
    requires_python: str | None = None,
) -> Path:
    """An sdist whose build compiles a C extension with the host's compiler: a host wheel."""
    return make_sdist(
        directory,
        name,
        version,
        requires_dist=requires_dist,
        requires_python=requires_python,
        native=True,
    )


NATIVE_SOURCE = """\
#include <Python.h>

static PyObject *answer(PyObject *self, PyObject *args) { return PyLong_FromLong(42); }

static PyMethodDef methods[] = {
    {"answer", answer, METH_NOARGS, "The answer."}, {NULL, NULL, 0, NULL}
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "MODULE", NULL, -1, methods};

PyMODINIT_FUNC PyInit_MODULE(void) { return PyModule_Create(&module); }
"""


def corrupt_file(path: Path) -> None:
    """Flip bytes in the middle of `path`, keeping its name and size."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    for offset in range(middle, min(middle + 16, len(data))):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def truncated_copy(path: Path, target: Path) -> Path:
    """A copy of `path` cut in half."""
    shutil.copyfile(path, target)
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target
