"""Reading pip requirements files (and pip-tools' requirements.in): the syntax that matters for
deployment, every line checked, every problem reported at once with its file and line.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from vendorer.errors import ConfigError
from vendorer.urls import file_url_path

__all__ = ["RequirementLine", "RequirementsFile", "parse_requirements"]

_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")
_COMMENT = re.compile(r"(^|\s+)#.*$")
_ARCHIVE = re.compile(r"\.(whl|tar\.gz|zip|tar\.bz2|tgz)$")
_VCS = ("git+", "hg+", "svn+", "bzr+")


@dataclass(frozen=True, slots=True, kw_only=True)
class RequirementLine:
    requirement: Requirement
    hashes: tuple[str, ...] = ()  # "sha256:<hex>", in file order
    source: str  # "requirements.txt:12"
    path: Path | None = None  # a local wheel or sdist, absolute


@dataclass(frozen=True, slots=True, kw_only=True)
class RequirementsFile:
    requirements: tuple[RequirementLine, ...]
    constraints: tuple[RequirementLine, ...] = ()
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    pre: bool = False
    only_binary: frozenset[str] = frozenset()
    no_binary: frozenset[str] = frozenset()
    files: tuple[Path, ...] = ()
    ignored_options: tuple[str, ...] = ()


def parse_requirements(path: Path, *, environ: Mapping[str, str] | None = None) -> RequirementsFile:
    """Read `path` and the files it includes; raise one ConfigError listing every bad line."""
    state = _State(environ=os.environ if environ is None else environ, top=path.parent)
    state.read(path, constraint=False, chain=())
    if state.errors:
        raise ConfigError("bad requirements:\n" + "\n".join(f"  {e}" for e in state.errors))
    return RequirementsFile(
        requirements=tuple(state.requirements),
        constraints=tuple(state.constraints),
        index_url=state.index_url,
        extra_index_urls=tuple(dict.fromkeys(state.extra_index_urls)),
        find_links=tuple(dict.fromkeys(state.find_links)),
        no_index=state.no_index,
        pre=state.pre,
        only_binary=frozenset(state.only_binary),
        no_binary=frozenset(state.no_binary),
        files=tuple(state.files),
        ignored_options=tuple(state.ignored),
    )


# Options that take a value, by every spelling pip accepts.
_VALUE_OPTIONS = {
    "-r": "requirement", "--requirement": "requirement",
    "-c": "constraint", "--constraint": "constraint",
    "-i": "index-url", "--index-url": "index-url",
    "--extra-index-url": "extra-index-url",
    "-f": "find-links", "--find-links": "find-links",
    "--only-binary": "only-binary", "--no-binary": "no-binary",
    "--trusted-host": "ignored",
    "--use-feature": "ignored",
}  # fmt: skip
_FLAG_OPTIONS = {
    "--no-index": "no-index",
    "--pre": "pre",
    "--prefer-binary": "ignored",
    "--require-hashes": "ignored",
}


@dataclass(slots=True)
class _State:
    environ: Mapping[str, str]
    top: Path
    requirements: list[RequirementLine] = field(default_factory=list)
    constraints: list[RequirementLine] = field(default_factory=list)
    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
    no_index: bool = False
    pre: bool = False
    only_binary: set[str] = field(default_factory=set)
    no_binary: set[str] = field(default_factory=set)
    files: list[Path] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def read(self, path: Path, *, constraint: bool, chain: tuple[Path, ...]) -> None:
        resolved = path.resolve()
        if resolved in chain:
            cycle = " -> ".join(str(p.name) for p in (*chain, resolved))
            self.errors.append(f"{path}: included in a cycle ({cycle})")
            return
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self.errors.append(f"{path}: no such requirements file")
            return
        except (OSError, UnicodeDecodeError) as error:
            self.errors.append(f"{path}: cannot read: {error}")
            return
        self.files.append(path)
        shown = os.path.relpath(path, self.top) if path.is_absolute() else str(path)
        for number, line in _logical_lines(text):
            at = _At(path=path, where=f"{shown}:{number}", constraint=constraint, chain=chain)
            try:
                self._line(_ENV_VAR.sub(self._expand, line), at)
            except _LineError as error:
                self.errors.append(f"{at.where}: {error}")

    def _expand(self, match: re.Match[str]) -> str:
        return self.environ.get(match.group(1), match.group(0))  # pip leaves unset ones as is

    def _line(self, line: str, at: _At) -> None:
        if line.startswith("-e") or line.startswith("--editable"):
            raise _LineError(
                "editable requirements cannot be deployed; build a wheel (or give the path "
                "of the project's sdist or wheel) instead"
            )
        if line.startswith("-"):
            self._options(line, at)
            return
        requirement_text, hashes = _split_hashes(line)
        target = self.constraints if at.constraint else self.requirements
        target.append(self._requirement(requirement_text, hashes, at))

    def _options(self, line: str, at: _At) -> None:
        words = _split(line)
        while words:
            word = words.pop(0)
            option, _, inline = word.partition("=")
            if option in _FLAG_OPTIONS and not inline:
                kind = _FLAG_OPTIONS[option]
                if kind == "no-index":
                    self.no_index = True
                elif kind == "pre":
                    self.pre = True
                else:
                    self.ignored.append(f"{at.where}: {option}")
                continue
            if option not in _VALUE_OPTIONS:
                raise _LineError(f"unknown or unsupported option {option!r}")
            if inline:
                value = inline
            elif words:
                value = words.pop(0)
            else:
                raise _LineError(f"{option} needs a value")
            self._option(_VALUE_OPTIONS[option], option, value, at)

    def _option(self, kind: str, option: str, value: str, at: _At) -> None:
        here = at.path.parent
        if kind in {"requirement", "constraint"}:
            if "://" in value:
                raise _LineError(
                    f"{option} {value}: vendorer reads requirement files from disk only; "
                    "download it next to this file and name its path"
                )
            nested = at.constraint or kind == "constraint"
            self.read(here / value, constraint=nested, chain=(*at.chain, at.path.resolve()))
        elif kind == "index-url":
            self.index_url = value
        elif kind == "extra-index-url":
            self.extra_index_urls.append(value)
        elif kind == "find-links":
            self.find_links.append(value if "://" in value else str((here / value).resolve()))
        elif kind in {"only-binary", "no-binary"}:
            self._binary(kind, value)
        else:
            self.ignored.append(f"{at.where}: {option}")

    def _binary(self, kind: str, value: str) -> None:
        chosen, other = (
            (self.only_binary, self.no_binary)
            if kind == "only-binary"
            else (self.no_binary, self.only_binary)
        )
        for item in value.split(","):
            name = item.strip()
            if name == ":none:":
                chosen.clear()
            elif name == ":all:":
                chosen.clear()
                chosen.add(":all:")
                other.clear()
            elif name:
                canonical = canonicalize_name(name)
                chosen.add(canonical)
                other.discard(canonical)

    def _requirement(self, text: str, hashes: tuple[str, ...], at: _At) -> RequirementLine:
        where, path = at.where, at.path
        if text.startswith(_VCS) or re.match(r"^[\w.-]+\s*@\s*(git|hg|svn|bzr)\+", text):
            raise _LineError(
                f"{text!r}: version-control requirements cannot be locked with hashes; pin a "
                "released version, or build a wheel and give its path"
            )
        local = self._local_archive(text, path)
        if local is not None:
            return RequirementLine(
                requirement=_requirement_for_file(local, text),
                hashes=hashes,
                source=where,
                path=local,
            )
        if re.match(r"^https?://", text):
            name = _archive_name(text.split("#", maxsplit=1)[0].rsplit("/", 1)[-1], text)
            return RequirementLine(
                requirement=_parse(f"{name} @ {text}"), hashes=hashes, source=where
            )
        requirement = _parse(text)
        url = requirement.url
        if url is not None and url.startswith("file:"):
            file_path = file_url_path(url)
            return RequirementLine(
                requirement=requirement, hashes=hashes, source=where, path=file_path
            )
        return RequirementLine(requirement=requirement, hashes=hashes, source=where)

    def _local_archive(self, text: str, path: Path) -> Path | None:
        """A bare path to a wheel or sdist (`./dist/x-1.0-py3-none-any.whl`), made absolute."""
        candidate = text.split(";", maxsplit=1)[0].strip()
        if "://" in candidate or "@" in candidate or not _ARCHIVE.search(candidate):
            return None
        local = (path.parent / Path(candidate).expanduser()).resolve()
        if not local.exists():
            raise _LineError(f"{candidate}: no such file")
        return local


@dataclass(frozen=True, slots=True)
class _At:
    """Where a line is: its file, `file:line`, whether it constrains, the include chain."""

    path: Path
    where: str
    constraint: bool
    chain: tuple[Path, ...]


class _LineError(Exception):
    """One line's problem; collected, then reported with the others."""


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, joined line) without comments, continuations joined."""
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _COMMENT.sub("", raw) if not raw.lstrip().startswith("#") else ""
        if not buffer:
            start = number
        if line.endswith("\\"):
            buffer.append(line[:-1])
            continue
        buffer.append(line)
        joined = " ".join(part.strip() for part in buffer).strip()
        buffer = []
        if joined:
            yield start, joined
    if buffer and (joined := " ".join(part.strip() for part in buffer).strip()):
        yield start, joined


def _split(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError as error:
        raise _LineError(str(error)) from None


def _split_hashes(line: str) -> tuple[str, tuple[str, ...]]:
    """The requirement and its --hash values; any other option after it is an error."""
    match = re.search(r"\s--?\w", " " + line)
    if match is None:
        return line.strip(), ()
    requirement, options = line[: match.start()].strip(), _split(line[match.start() :])
    hashes: list[str] = []
    while options:
        word = options.pop(0)
        option, _, value = word.partition("=")
        if option != "--hash":
            raise _LineError(f"option {option!r} is not allowed after a requirement")
        if not value:
            if not options:
                raise _LineError("--hash needs a value (sha256:<hex>)")
            value = options.pop(0)
        algorithm, _, digest = value.partition(":")
        if not digest or not re.fullmatch(r"[0-9a-fA-F]+", digest):
            raise _LineError(f"--hash {value!r} is not <algorithm>:<hex digest>")
        hashes.append(f"{algorithm}:{digest.lower()}")
    return requirement, tuple(hashes)


def _parse(text: str) -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as error:
        raise _LineError(f"{text!r} is not a valid requirement: {error}") from None


def _archive_name(filename: str, text: str) -> str:
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[0])
        return str(parse_sdist_filename(filename)[0])
    except (InvalidWheelFilename, InvalidSdistFilename):
        raise _LineError(
            f"{text!r}: cannot tell the project name from {filename!r}; write `name @ {text}`"
        ) from None


def _requirement_for_file(path: Path, text: str) -> Requirement:
    marker = text.partition(";")[2].strip()
    name = _archive_name(path.name, text)
    return _parse(f"{name} @ {path.as_uri()}" + (f" ; {marker}" if marker else ""))
