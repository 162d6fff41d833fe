"""Reading pip requirements files (and pip-tools' requirements.in, which has the same syntax).

Lines are read the way pip reads them: backslash continuations joined first, then comments
(`#` at the start or after whitespace) removed, then `${VAR}` expanded; the options after a line's
requirement, or on a line of their own, are parsed with optparse, as pip does. What a deployment
cannot use is refused with the next step to take: editables, version-control URLs, project folders
and requirement files behind URLs. Every problem of every file read is reported at once, each as
`<file>:<line>: <problem>; <what to do>`.

This module holds the model and the walk through a file and the files it includes (`-r`, `-c`);
`requirement_lines` reads the text, `requirement_options` the options, and `requirement_text`
one requirement.
"""

from __future__ import annotations

import optparse
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement

from vendorer._util.urls import file_url_path, redact, scrub_credentials
from vendorer.errors import ConfigError
from vendorer.inputs.requirement_lines import LineError, logical_lines, read_text, split_line
from vendorer.inputs.requirement_options import (
    BUILD_OPTIONS,
    IGNORED,
    REFUSALS,
    format_control,
    option_parser,
    parse_options,
)
from vendorer.inputs.requirement_text import (
    SCHEME,
    absolute,
    check_url,
    hash_value,
    is_folder,
    native,
    requirement_of,
)

__all__ = ["RequirementLine", "RequirementsFile", "RequirementsFileError", "parse_requirements"]


class RequirementsFileError(ConfigError):
    """Bad lines in requirements files; `problems` holds one `<file>:<line>: ...` text each."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True, kw_only=True)
class RequirementLine:
    requirement: Requirement  # a local or remote file becomes `name @ URL` (file: URL if local)
    hashes: tuple[str, ...] = ()  # "sha256:<hex>" from --hash options, in file order
    source: str  # "requirements.txt:12", the path relative to the top file's folder
    path: Path | None = None  # the local wheel or sdist the line names, absolute


@dataclass(frozen=True, slots=True, kw_only=True)
class RequirementsFile:
    requirements: tuple[RequirementLine, ...]
    constraints: tuple[RequirementLine, ...] = ()
    index_url: str | None = None  # the last -i / --index-url, as in pip
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()  # URLs as written, folders absolute
    no_index: bool = False
    pre: bool = False
    only_binary: frozenset[str] = frozenset()  # canonical names, or ":all:" (others: exceptions)
    no_binary: frozenset[str] = frozenset()
    files: tuple[Path, ...] = ()  # every file read, top file first, absolute
    ignored_options: tuple[str, ...] = ()  # "requirements.txt:3: --trusted-host"


def parse_requirements(path: Path, *, environ: Mapping[str, str] | None = None) -> RequirementsFile:
    """Read `path` and the files it includes (`-r`, `-c`); `${VAR}` comes from `environ`
    (default: the process environment). Raise one RequirementsFileError listing every bad line."""
    top = absolute(path)
    reader = _Reader(environ=os.environ if environ is None else environ, top_dir=top.parent)
    reader.read_top(top, given=path)
    if reader.problems:
        raise RequirementsFileError(reader.problems)
    return RequirementsFile(
        requirements=tuple(reader.requirements),
        constraints=tuple(reader.constraints),
        index_url=reader.index_url,
        extra_index_urls=tuple(dict.fromkeys(reader.extra_index_urls)),
        find_links=tuple(dict.fromkeys(reader.find_links)),
        no_index=reader.no_index,
        pre=reader.pre,
        only_binary=frozenset(reader.only_binary),
        no_binary=frozenset(reader.no_binary),
        files=tuple(dict.fromkeys(reader.files)),
        ignored_options=tuple(reader.ignored),
    )


_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")  # the only form pip expands


# A file being read: it yields the walk of each file it includes, when its line comes.
_Walk = Iterator["_Walk"]


@dataclass(frozen=True, slots=True)
class _At:
    """Where a line is: its file, `file:line`, whether it constrains, the chain of includes."""

    path: Path
    where: str
    constraint: bool
    chain: tuple[Path, ...]
    opened: frozenset[Path]  # the chain's files, resolved: a cycle is found in one look-up


@dataclass(slots=True)
class _Reader:
    environ: Mapping[str, str]
    top_dir: Path
    parser: optparse.OptionParser = field(default_factory=option_parser)
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
    problems: list[str] = field(default_factory=list)

    def read_top(self, path: Path, *, given: Path) -> None:
        try:
            if not path.exists():
                raise LineError(f"no such requirements file ({path}); give the path of yours")
            text = read_text(path)
        except LineError as error:
            self.problems.append(f"{given}: {error}")
            return
        # Each file is a generator that yields the files it includes, in place; this loop reads
        # an included file to its end before its includer goes on. No recursion: a chain of
        # includes may be as long as pip allows (it sets no limit).
        walks = [self._read(path, text, constraint=False, chain=(path,), opened=frozenset())]
        while walks:
            included = next(walks[-1], None)
            if included is None:
                walks.pop()
            else:
                walks.append(included)

    def _read(
        self,
        path: Path,
        text: str,
        *,
        constraint: bool,
        chain: tuple[Path, ...],
        opened: frozenset[Path],
    ) -> _Walk:
        self.files.append(path)
        shown = self._shown(path)
        opened = opened | {path.resolve()}
        for number, line in logical_lines(text):
            where = f"{shown}:{number}"
            at = _At(path=path, where=where, constraint=constraint, chain=chain, opened=opened)
            expanded, secrets = self._expand(line)
            try:
                yield from self._line(expanded, at)
            except LineError as error:
                self.problems.append(f"{at.where}: {_conceal(str(error), secrets)}")

    def _shown(self, path: Path) -> str:
        try:
            return Path(os.path.relpath(path, self.top_dir)).as_posix()
        except ValueError:  # another drive, on Windows
            return path.as_posix()

    def _expand(self, line: str) -> tuple[str, tuple[tuple[str, str], ...]]:
        """The line with `${VAR}` replaced, and the (placeholder, value) pairs replaced."""
        used: list[tuple[str, str]] = []

        def value_of(match: re.Match[str]) -> str:
            value = self.environ.get(match.group(1))
            if not value:  # pip leaves unset and empty variables as they are
                return match.group(0)
            used.append((match.group(0), value))
            return value

        return _ENV_VAR.sub(value_of, line), tuple(used)

    def _line(self, line: str, at: _At) -> _Walk:
        """Take one line; yield the walk of each file it includes (-r, -c), in order."""
        requirement_text, words = split_line(line)
        options = parse_options(self.parser, words)
        for option, value in options:
            if option == "--editable":
                raise LineError(
                    f"-e {value}: editable requirements cannot be deployed, the server would need "
                    "the project's source; build a wheel (python -m build) and name its path"
                )
        if requirement_text:
            self._requirement_line(requirement_text, options, at)
            return
        for option, value in options:
            included = self._option(option, value or "", at)
            if included is not None:
                yield included

    def _option(self, option: str, value: str, at: _At) -> _Walk | None:
        if option in {"--requirement", "--constraint"}:
            return self._include(option, value, at)
        if option in {"--index-url", "--extra-index-url", "--find-links", "--no-index"}:
            self._index_option(option, value, at)
        elif option in {"--only-binary", "--no-binary"}:
            format_control(option, value, self.only_binary, self.no_binary)
        elif option == "--pre":
            self.pre = True
        elif option in IGNORED:
            self.ignored.append(f"{at.where}: {option}")
        else:
            raise LineError(REFUSALS[option])
        return None

    def _index_option(self, option: str, value: str, at: _At) -> None:
        if option != "--no-index" and (option != "--find-links" or not is_folder(value)):
            check_url(value, f"{option} {redact(value)!r}")
        if option == "--index-url":
            self.index_url = value
        elif option == "--extra-index-url":
            self.extra_index_urls.append(value)
        elif option == "--no-index":
            self.no_index = True
        elif not is_folder(value):
            self.find_links.append(value)
        else:  # a folder, relative to the file that names it
            self.find_links.append(str(absolute(at.path.parent / native(value))))

    def _include(self, option: str, value: str, at: _At) -> _Walk:
        constraint = option == "--constraint"
        option = "-c" if constraint else "-r"
        scheme = SCHEME.match(value)
        if scheme and scheme.group(1).lower() != "file":
            raise LineError(
                f"{option} {value}: vendorer reads requirement files from disk only, so that the "
                "same inputs always give the same lock, offline; download the file next to this "
                "one and name its path"
            )
        target = file_url_path(value) if scheme else Path(native(value))
        target = absolute(at.path.parent / target)
        if not target.exists():
            raise LineError(
                f"{option} {value}: no such file ({target}); paths after -r and -c are relative "
                "to the file that names them"
            )
        if target.resolve() in at.opened:
            cycle = " -> ".join(self._shown(file) for file in (*at.chain, target))
            raise LineError(
                f"{option} {value}: the files include each other ({cycle}); remove one of these "
                "includes"
            )
        text = read_text(target)
        # -c makes what it includes constraints; -r makes requirements, even inside a
        # constraints file (pip does the same).
        return self._read(
            target, text, constraint=constraint, chain=(*at.chain, target), opened=at.opened
        )

    def _requirement_line(self, text: str, options: list[tuple[str, str | None]], at: _At) -> None:
        hashes: list[str] = []
        for option, value in options:
            if option == "--hash":
                hashes.append(hash_value(value or ""))
            elif option in BUILD_OPTIONS:
                raise LineError(REFUSALS[option])
            else:
                raise LineError(
                    f"{option} has no effect after a requirement (pip ignores it there); put it "
                    "on a line of its own"
                )
        requirement, path = requirement_of(text, at.path.parent)
        if at.constraint and requirement.extras:
            raise LineError(
                f"{text!r}: a constraint cannot have extras (pip refuses them too); write it "
                "without [...]"
            )
        line = RequirementLine(
            requirement=requirement, hashes=tuple(hashes), source=at.where, path=path
        )
        (self.constraints if at.constraint else self.requirements).append(line)


def _conceal(message: str, secrets: tuple[tuple[str, str], ...]) -> str:
    """The message with each expanded value shown as its `${VAR}` again, and the credentials of
    the URLs it quotes removed (tokens stay secret)."""
    for placeholder, value in sorted(secrets, key=lambda pair: -len(pair[1])):
        message = message.replace(value, placeholder)
    return scrub_credentials(message)
