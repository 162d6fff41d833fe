"""One wheel unpacked with `installer`, in the target's layout.

purelib and platlib go into the lib folder, console scripts become the target's launchers (Windows
`.exe` for win-amd64 profiles) in `bin/`, data goes in `data/`, headers in `include/`, and no
bytecode is written (it would be the host's). The destination writes over nothing and through no
link; --slim reads the wheel without its tests, bytecode and stubs. What goes wrong is said as a
VendorError: a wheel that is broken or unsafe, one that cannot be read, a failed write.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final

from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.exceptions import InstallerError
from installer.records import Hash, RecordEntry
from installer.scripts import Script
from installer.sources import WheelFile, WheelSource
from installer.utils import Scheme, make_file_executable
from packaging.utils import canonicalize_name, parse_wheel_filename

from vendorer.install.errors import VendorError, writing
from vendorer.install.growing import Growing, GrowingFile
from vendorer.install.manifest import VendoredDistribution
from vendorer.install.placing import Placing, Taken, broken, taken_said
from vendorer.install.sources import Checked, Slimmed, copy_hashing
from vendorer.target.profile import Profile

if TYPE_CHECKING:
    from installer.scripts import ScriptSection  # a Literal installer defines for type checkers

__all__ = ["BROKEN_WHEEL", "install_source", "unpack_wheel"]

# What reading a wheel that is not sound raises (zlib and EOFError: a damaged or cut member).
BROKEN_WHEEL: Final = (
    InstallerError,
    ValueError,
    KeyError,
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
)
LAUNCHER_TIME: Final = (1980, 1, 1, 0, 0, 0)  # the script inside a Windows launcher: a fixed time
_END_OF_ZIP: Final = struct.Struct("<4s4H2LH")  # the end of central directory record


def unpack_wheel(
    wheel: Path,
    sha: str,
    target: Path,
    profile: Profile,
    *,
    slim: bool,
    growing: Growing | None = None,
) -> VendoredDistribution:
    """Install `wheel` (whose sha256 is `sha`; read as `growing` while it downloads, if given)
    into `target`; what it wrote, with the hashes."""
    with _said_as_vendor_errors(wheel.name, target, wheel), _opened(wheel, growing) as source:
        source.validate_record(validate_contents=False)  # the names; the contents as they are read
        files = install_source(Checked(source), target, profile, slim=slim, shown=wheel.name)
    version = parse_wheel_filename(wheel.name)[1]
    return VendoredDistribution(
        version=str(version), wheel=wheel.name, wheel_sha256=sha, files=files
    )


@contextlib.contextmanager
def _opened(wheel: Path, growing: Growing | None) -> Iterator[WheelFile]:
    if growing is None:
        with WheelFile.open(wheel) as source:
            yield source
    else:
        with (
            GrowingFile(growing, wheel, wheel.name) as file,
            zipfile.ZipFile(io.BufferedReader(file)) as archive,
        ):
            yield WheelFile(archive)


def install_source(
    source: WheelSource, target: Path, profile: Profile, *, slim: bool, shown: str = ""
) -> dict[str, str]:
    """Install what `source` holds into `target` with the target's layout and launchers: the
    installer wiring, for any wheel source (a file, or one in memory); the sha256 of every file
    it wrote, by path relative to `target`. Messages name the wheel `shown` (default: its
    distribution and version)."""
    scheme = {
        "purelib": str(target),
        "platlib": str(target),
        "scripts": str(target / "bin"),
        "data": str(target / "data"),
        "headers": str(target / "include" / canonicalize_name(source.distribution)),
    }
    destination = _Recording(
        target, scheme, interpreter=profile.server.python, script_kind=profile.server.launcher
    )
    shown = shown or f"{source.distribution} {source.version}"
    with _said_as_vendor_errors(shown, target):
        install(Slimmed(source) if slim else source, destination, {"INSTALLER": b"vendorer\n"})
    return destination.hashes


@contextlib.contextmanager
def _said_as_vendor_errors(shown: str, target: Path, wheel: Path | None = None) -> Iterator[None]:
    """What installing the wheel `shown` (read from the file `wheel`, if any) into `target`
    raises, said as the VendorError it is."""
    try:
        with taken_said(shown, target):
            yield
    except VendorError:  # a write that failed, a place taken: said as what it is
        raise
    except BROKEN_WHEEL as error:
        raise broken(shown, error) from None
    except OSError as error:  # writes are WriteErrors: this is reading the wheel
        if wheel is None:
            raise
        raise VendorError(
            f"cannot read {wheel}: {error.strerror or error}. Nothing was changed in the lib "
            "folder; check that file (or run `vendorer wheelhouse` to fetch it again)"
        ) from None


class _Recording(SchemeDictionaryDestination):
    """installer's destination, remembering the sha256 of every file it wrote (RECORD included);
    it places files as `Placing` does (over nothing, through no link), and says which path a
    failed write was for."""

    def __init__(self, root: Path, scheme_dict: dict[str, str], **options: Any) -> None:
        super().__init__(scheme_dict, **options)
        self.placing = Placing(root, scheme_dict)
        self.hashes: dict[str, str] = {}  # path below the root, POSIX -> sha256, hex

    def write_to_fs(
        self, scheme: Scheme, path: str, stream: BinaryIO, is_executable: bool
    ) -> RecordEntry:
        """Write one file as installer does (hashing it as it goes), but never over anything that
        is there (O_EXCL) nor through a link, and with each folder looked at once."""
        target = self.placing.target(scheme, path)
        self.placing.make_folders(target)
        with writing(target):
            try:
                with open(target, "xb") as output:
                    digest, size = copy_hashing(stream, output, self.hash_algorithm)
            except FileExistsError:
                raise Taken(Path(target)) from None
            if is_executable:
                make_file_executable(Path(target))
        self.hashes[self.placing.relative(target)] = _hex(digest)
        return RecordEntry(path, Hash(self.hash_algorithm, digest), size)

    def write_script(
        self, name: str, module: str, attr: str, section: ScriptSection
    ) -> RecordEntry:
        """installer's launcher, with the zip inside a Windows `.exe` made reproducible (installer
        stamps its one member with the time of the run)."""
        script_name, data = Script(name, module, attr, section).generate(
            self.interpreter, self.script_kind
        )
        if script_name.endswith(".exe"):
            data = _reproducible_launcher(data)
        with io.BytesIO(data) as stream:
            entry = self.write_to_fs(Scheme("scripts"), script_name, stream, is_executable=True)
        path = self.placing.target(Scheme("scripts"), script_name)
        mode = os.stat(path).st_mode
        os.chmod(path, mode | (mode & 0o444) >> 2)  # executable for whoever may read it
        return entry


def _hex(urlsafe: str) -> str:
    """A RECORD-style digest (urlsafe base64, unpadded) as hex."""
    return base64.urlsafe_b64decode(urlsafe + "=" * (-len(urlsafe) % 4)).hex()


def _reproducible_launcher(data: bytes) -> bytes:
    """A Windows launcher (the stub, the shebang, then a zip holding `__main__.py`) whose zip is
    written again with a fixed time: the same wheel then gives the same bytes on every run."""
    end = _END_OF_ZIP.unpack_from(data, len(data) - _END_OF_ZIP.size)
    directory_size, directory_offset = end[5], end[6]  # both counted from the zip's start
    start = len(data) - (directory_offset + directory_size + _END_OF_ZIP.size)
    with zipfile.ZipFile(io.BytesIO(data[start:])) as archive:
        code = archive.read("__main__.py")
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        archive.writestr(zipfile.ZipInfo("__main__.py", date_time=LAUNCHER_TIME), code)
    return data[:start] + stream.getvalue()
