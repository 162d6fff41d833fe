"""One requirement as written on a line: a name with a specifier, a path, a URL or a direct
reference (`name @ URL`), checked and made into a `packaging` Requirement.

A local file becomes `name @ file:...` (absolute), and the file it names is returned with it. What
a deployment cannot use (version-control URLs, project folders, other schemes) is refused with the
next step to take, as a `LineError`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from vendorer._util.urls import file_url_path, redact, url_problem
from vendorer.inputs.requirement_lines import LineError

__all__ = [
    "SCHEME",
    "absolute",
    "check_url",
    "hash_value",
    "is_folder",
    "native",
    "requirement_of",
]

SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")  # two letters or more: `C:\` is a path
_EXTRAS = re.compile(r"^(.+)(\[[^\]]+\])$")  # ./dist/pkg-1.0-py3-none-any.whl[extra]
_VCS = re.compile(r"^(git|hg|svn|bzr)(\+|$)")
_ARCHIVES = (".whl", ".zip", ".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz", ".tar.xz", ".txz",
             ".tlz", ".tar.lz", ".tar.lzma")  # fmt: skip
_HASH_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}  # the algorithms pip accepts


def requirement_of(text: str, folder: Path) -> tuple[Requirement, Path | None]:
    """The requirement a line's text names, and the local file it points at, if any; paths
    and relative `file:` URLs are relative to `folder` (the requirements file's)."""
    scheme = SCHEME.match(text)
    if scheme:
        return _bare_url(text, scheme.group(1).lower(), folder)
    local = _bare_path(text, folder)
    if local is not None:
        return local
    requirement = _parse(text)
    if requirement.url is None:
        return requirement, None
    return _direct_reference(requirement, text, folder)


def _bare_url(text: str, scheme: str, folder: Path) -> tuple[Requirement, Path | None]:
    """`https://host/pkg-1.0-py3-none-any.whl` or `file:///.../pkg-1.0.tar.gz`."""
    _check_scheme(scheme, text)
    url, _, marker = text.partition("; ")  # a URL may hold ';', its marker follows "; "
    url = url.strip()
    check_url(url, f"{redact(url)!r}")
    if scheme == "file":
        local = _file_url_target(url, folder)
        name = _local_dist_name(local, text)
        return _parse(_direct(name, "", local.as_uri(), marker), shown=text), local
    name = _dist_name(_url_filename(url), text)
    return _parse(_direct(name, "", url, marker), shown=text), None


def _bare_path(text: str, folder: Path) -> tuple[Requirement, Path] | None:
    """`./dist/pkg-1.0-py3-none-any.whl[extra] ; marker`, relative to this file; None when the
    text is not a path (pip's test: a separator, a leading dot or an archive's extension)."""
    candidate, _, marker = text.partition(";")
    candidate = candidate.strip()
    extras_match = _EXTRAS.match(candidate)
    written, extras = extras_match.groups() if extras_match else (candidate, "")
    if not (_looks_like_path(written) or written.lower().endswith(_ARCHIVES)):
        return None
    if "@" in text and not _looks_like_path(text.split("@", 1)[0]):
        return None  # `name @ URL`: a PEP 508 direct reference
    local = absolute(folder / native(written))
    name = _local_dist_name(local, text)
    return _parse(_direct(name, extras, local.as_uri(), marker), shown=text), local


def _direct_reference(
    requirement: Requirement, text: str, folder: Path
) -> tuple[Requirement, Path | None]:
    """`name @ https://...` or `name @ file:///...`: the file must be a dist of `name`."""
    url = requirement.url or ""
    scheme = SCHEME.match(url)
    if scheme is None:
        raise LineError(
            f"{text!r}: after @ write a URL (https://... or file:///...), or give a local "
            "file's path alone on the line"
        )
    _check_scheme(scheme.group(1).lower(), text)
    check_url(url, f"{requirement.name} @ {redact(url)!r}")
    local = _file_url_target(url, folder) if scheme.group(1).lower() == "file" else None
    actual = _local_dist_name(local, text) if local else _dist_name(_url_filename(url), text)
    if actual != canonicalize_name(requirement.name):
        raise LineError(
            f"{text!r}: the file is a distribution of {actual}, not of "
            f"{requirement.name}; fix the name or the URL"
        )
    if local is not None:  # the URL made absolute
        extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
        marker = str(requirement.marker) if requirement.marker else ""
        requirement = _parse(_direct(requirement.name, extras, local.as_uri(), marker), shown=text)
    return requirement, local


def _local_dist_name(local: Path, text: str) -> NormalizedName:
    """The project name of the local wheel or sdist at `local`, which must exist."""
    if local.is_dir():
        raise LineError(
            f"{text!r} is a project folder: vendorer locks files by hash, not folders; build "
            f"a wheel (python -m build {local}) and name its path"
        )
    if not local.is_file():
        raise LineError(
            f"{text!r}: no such file ({local}); paths are relative to the file that names them"
        )
    return _dist_name(local.name, text)


def hash_value(value: str) -> str:
    algorithm, _, digest = value.partition(":")
    length = _HASH_LENGTHS.get(algorithm)
    if length is None or not re.fullmatch(f"[0-9a-fA-F]{{{length}}}", digest):
        raise LineError(
            f"--hash {value!r} is not <algorithm>:<hex digest> with sha256, sha384 or sha512; "
            "copy it from `pip hash <file>`"
        )
    return f"{algorithm}:{digest.lower()}"


def _check_scheme(scheme: str, text: str) -> None:
    if _VCS.match(scheme):
        raise LineError(
            f"{text!r}: version-control requirements cannot be locked with a hash nor installed "
            "on a server without git; pin a released version (name==1.2.3), or build a wheel "
            "from the checkout and name its path"
        )
    if scheme not in {"http", "https", "file"}:
        raise LineError(f"{text!r}: {scheme}: URLs are not supported; use https:// or file:")


def is_folder(find_links: str) -> bool:
    """A -f value without a scheme is a folder (`C:\\wheels` too); an empty one is neither."""
    return SCHEME.match(find_links) is None and bool(find_links.strip())


def check_url(url: str, shown: str) -> None:
    """The URL must parse; credentials still holding `${VAR}` (the variable is not set) are
    refused, never sent."""
    problem = url_problem(url)
    if problem is not None:
        raise LineError(f"{shown} {problem}")


def _file_url_target(url: str, folder: Path) -> Path:
    """The file a `file:` URL names; a relative one is relative to the requirements file."""
    return absolute(folder / file_url_path(url))


def _url_filename(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def _dist_name(filename: str, text: str) -> NormalizedName:
    """The project name a wheel or sdist file name gives (its version must parse too)."""
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[0]
        if filename.endswith((".tar.gz", ".zip")):
            return parse_sdist_filename(filename)[0]
    except (InvalidWheelFilename, InvalidSdistFilename) as error:
        raise LineError(
            f"{text!r}: {error}; keep the file name the build gave it "
            "(name-version-tags.whl, name-version.tar.gz)"
        ) from None
    raise LineError(
        f"{text!r}: {filename!r} is not a wheel (.whl) or sdist (.tar.gz, .zip) file name; "
        "vendorer locks release files: name one of those"
    )


def _direct(name: str, extras: str, url: str, marker: str) -> str:
    marker = marker.strip()
    return f"{name}{extras} @ {url}" + (f" ; {marker}" if marker else "")


def _parse(text: str, *, shown: str | None = None) -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as error:
        raise LineError(
            f"{shown or text!r} is not a valid requirement: {error}\n"
            "    write name[extras] <version specifier> ; <marker>, as PEP 508 says"
        ) from None


def absolute(path: Path) -> Path:
    """`path` made absolute and normal, links kept: relative paths then read as pip reads them."""
    return Path(os.path.normpath(path.absolute()))


def _looks_like_path(text: str) -> bool:
    return "/" in text or "\\" in text or text.startswith(".")


def native(path: str) -> str:
    """A path as written on any system, for this one (`dist\\pkg.whl` on Linux too)."""
    return path.replace("\\", os.sep) if os.sep == "/" else path
