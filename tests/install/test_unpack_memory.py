"""The installer wiring in memory: a wheel source made of data, installed for a foreign target.

`install_source` takes any `installer.sources.WheelSource`; here one holds its files in a dict,
so the layout, the launchers, --slim and the refusals are pinned down without a wheel on disk.
The file-based path (`unpack_wheel`, `vendor`) is covered end to end in test_vendor.py.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from installer.sources import WheelContentElement, WheelSource

from vendorer.install.errors import VendorError
from vendorer.install.unpack import install_source
from vendorer.target.catalog import ProfileCatalog

WINDOWS = ProfileCatalog().load("python361x64")
LINUX = ProfileCatalog().load("linux-python312")


class MemoryWheel(WheelSource):
    """A wheel's members as a dict; its RECORD is computed from them, as a build backend does."""

    def __init__(self, name: str, version: str, files: Mapping[str, bytes]) -> None:
        super().__init__(name, version)
        self.info = f"{name}-{version}.dist-info"
        metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        self.members = {
            **files,
            f"{self.info}/METADATA": metadata.encode(),
            f"{self.info}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        }
        self.records = [
            (path, _digest(data), str(len(data))) for path, data in self.members.items()
        ]
        self.records.append((f"{self.info}/RECORD", "", ""))
        lines = [",".join(record) for record in self.records]
        self.members[f"{self.info}/RECORD"] = ("\n".join(lines) + "\n").encode()

    @property
    def dist_info_filenames(self) -> list[str]:
        return [path.split("/", 1)[1] for path in self.members if path.startswith(self.info)]

    def read_dist_info(self, filename: str) -> str:
        return self.members[f"{self.info}/{filename}"].decode()

    def validate_record(self) -> None:
        pass

    def get_contents(self) -> Iterator[WheelContentElement]:
        for record in self.records:
            yield record, io.BytesIO(self.members[record[0]]), False


def _digest(data: bytes) -> str:
    encoded = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={encoded}"


def _console(name: str, target: str) -> dict[str, bytes]:
    return {
        f"{name}-1.0.dist-info/entry_points.txt": f"[console_scripts]\n{name} = {target}\n".encode()
    }


def test_the_files_land_in_the_targets_layout_with_their_hashes(tmp_path: Path) -> None:
    wheel = MemoryWheel(
        "hello",
        "1.0",
        {
            "hello/__init__.py": b"X = 1\n",
            "hello/data.json": b"{}",
            **_console("hello", "hello:main"),
        },
    )
    files = install_source(wheel, tmp_path, WINDOWS, slim=False)
    assert (tmp_path / "hello" / "__init__.py").read_bytes() == b"X = 1\n"
    assert files["hello/__init__.py"] == hashlib.sha256(b"X = 1\n").hexdigest()
    assert "hello-1.0.dist-info/RECORD" in files
    assert (tmp_path / "hello-1.0.dist-info" / "INSTALLER").read_bytes() == b"vendorer\n"
    assert not list(tmp_path.rglob("*.pyc"))  # no bytecode: it would be the host's


def test_console_scripts_become_the_targets_launchers(tmp_path: Path) -> None:
    wheel = MemoryWheel(
        "hello", "1.0", {"hello/__init__.py": b"", **_console("hello", "hello:main")}
    )
    windows = tmp_path / "windows"
    install_source(wheel, windows, WINDOWS, slim=False)
    launcher = (windows / "bin" / "hello.exe").read_bytes()
    assert launcher.startswith(b"MZ") and b"#!D:\\home\\python361x64\\python.exe" in launcher
    with zipfile.ZipFile(io.BytesIO(launcher)) as archive:
        assert archive.getinfo("__main__.py").date_time == (1980, 1, 1, 0, 0, 0)
    linux = tmp_path / "linux"
    install_source(wheel, linux, LINUX, slim=False)
    assert (linux / "bin" / "hello").read_text().startswith(f"#!{LINUX.server.python}")


def test_slim_leaves_out_tests_bytecode_and_stubs(tmp_path: Path) -> None:
    wheel = MemoryWheel(
        "hello",
        "1.0",
        {
            "hello/__init__.py": b"",
            "hello/__init__.pyi": b"",
            "hello/tests/test_x.py": b"",
            "hello/__pycache__/x.cpython-312.pyc": b"",
        },
    )
    files = install_source(wheel, tmp_path, LINUX, slim=True)
    assert sorted(path for path in files if path.startswith("hello/")) == ["hello/__init__.py"]


def test_a_file_in_the_way_and_a_link_are_never_written_over_or_through(tmp_path: Path) -> None:
    (tmp_path / "hello").mkdir()
    (tmp_path / "hello" / "__init__.py").write_text("mine\n")
    wheel = MemoryWheel("hello", "1.0", {"hello/__init__.py": b"theirs\n"})
    with pytest.raises(VendorError):
        install_source(wheel, tmp_path, LINUX, slim=False)
    assert (tmp_path / "hello" / "__init__.py").read_text() == "mine\n"
    elsewhere, target = tmp_path / "elsewhere", tmp_path / "other"
    elsewhere.mkdir()
    target.mkdir()
    (target / "hello").symlink_to(elsewhere)
    with pytest.raises(VendorError):
        install_source(wheel, target, LINUX, slim=False)
    assert list(elsewhere.iterdir()) == []
