"""`vendorer upload`: the vendored lib folder, or the wheelhouse plus a remote pip, through Kudu.

The vendored upload sends only the distributions whose wheel changed since the manifest on the
server, deletes the files of the ones that went away, and writes the manifest last: an upload cut
off half-way leaves the old manifest there, so the next run sends the difference again.
"""

from __future__ import annotations

import contextlib
import ntpath
import posixpath
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vendorer.errors import VendorerError
from vendorer.kudu import KuduClient, KuduError
from vendorer.profile import Profile
from vendorer.vendor import GITATTRIBUTES, MANIFEST, parse_manifest, read_manifest

__all__ = [
    "UploadReport",
    "console_steps",
    "pip_command",
    "server_path",
    "upload_vendored",
    "upload_wheelhouse",
    "vfs_path",
]

ZIP_TIME = (2020, 1, 1, 0, 0, 0)


@dataclass(slots=True)
class UploadReport:
    sent: list[str] = field(default_factory=list)  # "name version"
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    output: str = ""


def server_path(profile: Profile, *parts: str) -> str:
    """An absolute path on the server below the site root, in the server's own spelling."""
    path = ntpath if profile.is_windows else posixpath
    pieces = [piece.replace("/", "\\") if profile.is_windows else piece for piece in parts]
    return str(path.join(profile.server.site_root, *pieces))


def vfs_path(profile: Profile, absolute: str) -> str:
    """The Kudu vfs path (relative to HOME, forward slashes) of an absolute server path."""
    normalized = absolute.replace("\\", "/")
    for home in ("D:/home/", "C:/home/", "/home/"):
        if normalized.lower().startswith(home.lower()):
            return normalized[len(home) :]
    raise VendorerError(f"{absolute} is not below the site's HOME; Kudu's vfs cannot reach it")


def upload_vendored(
    client: KuduClient,
    profile: Profile,
    lib: Path,
    lib_dir: str,
    on_progress: Callable[[int, int], None] | None = None,
) -> UploadReport:
    local = read_manifest(lib)
    if local is None:
        raise VendorerError(f"{lib} has no vendored libraries yet; run `vendorer vendor` first")
    remote_dir = vfs_path(profile, server_path(profile, lib_dir))
    manifest_path = f"{remote_dir}/{MANIFEST}"
    remote = _remote_manifest(client.read_file(manifest_path))
    report = UploadReport()
    local_dists: Mapping[str, Any] = local["distributions"]
    remote_dists: Mapping[str, Any] = remote.get("distributions", {})
    changed = [
        name
        for name, entry in local_dists.items()
        if remote_dists.get(name, {}).get("wheel_sha256") != entry["wheel_sha256"]
    ]
    report.unchanged = [f"{n} {e['version']}" for n, e in local_dists.items() if n not in changed]
    if changed:
        files = [GITATTRIBUTES, *(f for name in changed for f in local_dists[name]["files"])]
        with _zipped(lib, files) as archive:
            client.put_zip(remote_dir, archive, on_progress)
        report.sent = [f"{name} {local_dists[name]['version']}" for name in changed]
    keep = {f for entry in local_dists.values() for f in entry["files"]}
    for name, entry in remote_dists.items():
        if name in local_dists and local_dists[name]["wheel_sha256"] == entry["wheel_sha256"]:
            continue
        for relative in entry["files"]:
            if relative not in keep:
                client.delete_file(f"{remote_dir}/{relative}")
        if name not in local_dists:
            report.deleted.append(f"{name} {entry['version']}")
    client.write_file(manifest_path, (lib / MANIFEST).read_bytes())  # last: marks completion
    return report


def pip_command(profile: Profile, remote_folder: str) -> str:
    """The server-side pip install of an uploaded wheelhouse, with the profile's python."""
    requirements = (ntpath if profile.is_windows else posixpath).join(
        remote_folder, "requirements.txt"
    )
    return (
        f'"{profile.server.python}" -m pip install --no-index --find-links "{remote_folder}" '
        f'-r "{requirements}"'
    )


def upload_wheelhouse(
    client: KuduClient,
    profile: Profile,
    folder: Path,
    on_progress: Callable[[int, int], None] | None = None,
) -> UploadReport:
    """Send wheelhouse/<profile>/ to the server and install it there with the profile's pip."""
    if not (folder / "requirements.txt").exists():
        raise VendorerError(f"{folder} has no requirements.txt; run `vendorer wheelhouse` first")
    remote = _remote_wheelhouse(profile)
    names = sorted(p.name for p in folder.iterdir() if p.suffix == ".whl")
    with _zipped(folder, [*names, "requirements.txt"]) as archive:
        client.put_zip(vfs_path(profile, remote), archive, on_progress)
    result = client.command(pip_command(profile, remote), vfs_path(profile, remote))
    report = UploadReport(sent=names, output=result.output + result.error)
    if result.exit_code != 0:
        tail = "\n".join(f"  | {line}" for line in report.output.strip().splitlines()[-15:])
        raise KuduError(f"pip on the server failed (exit code {result.exit_code}):\n{tail}")
    return report


def console_steps(profile: Profile, mode: str, lib_dir: str) -> list[str]:
    """The same upload done by hand in the Kudu web console, step by step."""
    wheelhouse = _remote_wheelhouse(profile)
    if mode == "vendored":
        return [
            f"1. zip the contents of {lib_dir}/ (the manifest and .gitattributes included)",
            "2. open https://<site>.scm.azurewebsites.net/DebugConsole, go to "
            f"{server_path(profile, lib_dir)} and drag the zip onto the folder to extract it",
        ]
    return [
        f"1. zip the contents of wheelhouse/{profile.name}/",
        "2. open https://<site>.scm.azurewebsites.net/DebugConsole, go to "
        f"{wheelhouse} and drag the zip onto the folder to extract it",
        f"3. in the console there, run: {pip_command(profile, wheelhouse)}",
    ]


def _remote_wheelhouse(profile: Profile) -> str:
    """Where an uploaded wheelhouse lives: beside the site root, in site/wheelhouse/<profile>."""
    path = ntpath if profile.is_windows else posixpath
    return str(path.normpath(server_path(profile, "..", "wheelhouse", profile.name)))


def _remote_manifest(data: bytes | None) -> dict[str, Any]:
    if data is None:
        return {}
    try:
        return parse_manifest(data.decode("utf-8"))
    except ValueError:  # unreadable (UnicodeDecodeError included): send everything
        return {}


@contextlib.contextmanager
def _zipped(folder: Path, files: Iterable[str]) -> Iterator[Path]:
    """A deterministic zip of `files` (relative to `folder`), written to a temporary file."""
    with tempfile.TemporaryDirectory(prefix="vendorer-upload-") as work:
        path = Path(work) / "upload.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for relative in sorted(set(files)):
                info = zipfile.ZipInfo(relative, date_time=ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o600 << 16  # what writestr gives
                info.file_size = (folder / relative).stat().st_size  # zip64 when it needs it
                with (folder / relative).open("rb") as source, archive.open(info, "w") as target:
                    shutil.copyfileobj(source, target, 1 << 20)
        yield path
