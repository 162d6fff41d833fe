"""Reading pip requirements files (and pip-tools' requirements.in, which has the same syntax).

Lines are read the way pip reads them: backslash continuations joined first, then comments
(`#` at the start or after whitespace) removed, then `${VAR}` expanded; the options after a line's
requirement, or on a line of their own, are parsed with optparse, as pip does. What a deployment
cannot use is refused with the next step to take: editables, version-control URLs, project folders
and requirement files behind URLs. Every problem of every file read is reported at once, each as
`<file>:<line>: <problem>; <what to do>`.
"""

from __future__ import annotations

import codecs
import optparse
import os
import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
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

from vendorer._util.urls import file_url_path, redact, scrub_credentials, url_problem
from vendorer.errors import ConfigError

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
    top = _absolute(path)
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


_COMMENT = re.compile(r"(^|\s+)#.*$")  # pip's rule, so `file.whl#sha256=...` keeps its fragment
_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")  # the only form pip expands
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")  # two letters or more: `C:\` is a path
_SHELL_SPACE = re.compile(r"[ \t\r\n]+")  # what shlex splits on
_EXTRAS = re.compile(r"^(.+)(\[[^\]]+\])$")  # ./dist/pkg-1.0-py3-none-any.whl[extra]
_VCS = re.compile(r"^(git|hg|svn|bzr)(\+|$)")
_ARCHIVES = (".whl", ".zip", ".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz", ".tar.xz", ".txz",
             ".tlz", ".tar.lz", ".tar.lzma")  # fmt: skip
_HASH_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}  # the algorithms pip accepts
_BOMS = (  # UTF-32 first: the UTF-16 LE mark is a prefix of the UTF-32 LE one
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CODING = re.compile(rb"^#.*coding[:=]\s*([-\w.]+)")  # PEP 263, on one of the first two lines

# Every option pip accepts in a requirements file: its spellings (the long name first) and
# whether it takes a value.
_OPTIONS: tuple[tuple[tuple[str, ...], bool], ...] = (
    (("--requirement", "-r"), True),
    (("--constraint", "-c"), True),
    (("--editable", "-e"), True),
    (("--index-url", "-i", "--pypi-url"), True),
    (("--extra-index-url",), True),
    (("--no-index",), False),
    (("--find-links", "-f"), True),
    (("--only-binary",), True),
    (("--no-binary",), True),
    (("--prefer-binary",), False),
    (("--pre",), False),
    (("--require-hashes",), False),
    (("--no-require-hashes",), False),
    (("--trusted-host",), True),
    (("--use-feature",), True),
    (("--all-releases",), True),
    (("--only-final",), True),
    (("--hash",), True),
    (("--config-settings", "-C"), True),
    (("--global-option",), True),  # per-requirement build options of older pips
    (("--build-option",), True),
    (("--install-option",), True),
)
# Accepted, with nothing to do here (vendorer always checks hashes, and prefers wheels).
_IGNORED = frozenset(
    (
        "--prefer-binary",
        "--require-hashes",
        "--no-require-hashes",
        "--trusted-host",
        "--use-feature",
    )
)
_BUILD_REFUSAL = (
    "vendorer builds sdists with their default settings and passes no per-requirement build "
    "options; build the wheel yourself and name its path (or drop the option)"
)
_BUILD_OPTIONS = ("--config-settings", "--global-option", "--build-option", "--install-option")
_REFUSALS = {
    "--hash": "--hash without a requirement; end the requirement's line with a backslash so "
    "that its --hash lines continue it",
    "--all-releases": "--all-releases is not supported (nor known to the target's pip); use "
    "--pre, or pin the pre-release with ==",
    "--only-final": "--only-final is not supported (nor known to the target's pip); pre-releases "
    "are left out unless --pre is given, so remove it",
    **{option: f"{option}: {_BUILD_REFUSAL}" for option in _BUILD_OPTIONS},
}
_OPTIONS_HELP = "-r, -c, -i, --extra-index-url, -f, --no-index, --pre, --only-binary, --no-binary"


# A file being read: it yields the walk of each file it includes, when its line comes.
_Walk = Iterator["_Walk"]


class _LineError(Exception):
    """One line's problem (what to do included); collected, then reported with the others."""


@dataclass(frozen=True, slots=True)
class _At:
    """Where a line is: its file, `file:line`, whether it constrains, the chain of includes."""

    path: Path
    where: str
    constraint: bool
    chain: tuple[Path, ...]
    opened: frozenset[Path]  # the chain's files, resolved: a cycle is found in one look-up


class _OptionParser(optparse.OptionParser):
    """optparse, as pip uses it for these lines, with errors that end the line, not the run."""

    def error(self, msg: str) -> NoReturn:
        unknown = msg.removeprefix("no such option: ")
        if unknown != msg:
            raise _LineError(
                f"unknown option {unknown}; remove it (a requirements file may hold pip's "
                f"{_OPTIONS_HELP} on lines of their own, and --hash after a requirement)"
            )
        raise _LineError(f"{msg}; fix the option")


def _option_parser() -> optparse.OptionParser:
    parser = _OptionParser(add_help_option=False, usage=optparse.SUPPRESS_USAGE)
    for spellings, takes_value in _OPTIONS:
        parser.add_option(
            *spellings,
            action="callback",
            callback=_record,
            type="string" if takes_value else None,
        )
    return parser


def _record(option: optparse.Option, _spelling: str, value: Any, parser: Any) -> None:
    """Keep each option under its long name, with its value, in the order written."""
    parser.values.seen.append((option.get_opt_string(), value))


@dataclass(slots=True)
class _Reader:
    environ: Mapping[str, str]
    top_dir: Path
    parser: optparse.OptionParser = field(default_factory=_option_parser)
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
                raise _LineError(f"no such requirements file ({path}); give the path of yours")
            text = _read_text(path)
        except _LineError as error:
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
        for number, line in _logical_lines(text):
            where = f"{shown}:{number}"
            at = _At(path=path, where=where, constraint=constraint, chain=chain, opened=opened)
            expanded, secrets = self._expand(line)
            try:
                yield from self._line(expanded, at)
            except _LineError as error:
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
        requirement_text, words = _split_line(line)
        options = self._parse_options(words)
        for option, value in options:
            if option == "--editable":
                raise _LineError(
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

    def _parse_options(self, words: list[str]) -> list[tuple[str, str | None]]:
        if not words:
            return []
        values = optparse.Values({"seen": []})
        _, leftover = self.parser.parse_args(words, values)
        if leftover:
            raise _LineError(
                f"unexpected {leftover[0]!r} among the options; give one value to each option"
            )
        seen: list[tuple[str, str | None]] = values.seen
        return seen

    def _option(self, option: str, value: str, at: _At) -> _Walk | None:
        if option in {"--requirement", "--constraint"}:
            return self._include(option, value, at)
        if option in {"--index-url", "--extra-index-url", "--find-links", "--no-index"}:
            self._index_option(option, value, at)
        elif option in {"--only-binary", "--no-binary"}:
            self._format_control(option, value)
        elif option == "--pre":
            self.pre = True
        elif option in _IGNORED:
            self.ignored.append(f"{at.where}: {option}")
        else:
            raise _LineError(_REFUSALS[option])
        return None

    def _index_option(self, option: str, value: str, at: _At) -> None:
        if option != "--no-index" and (option != "--find-links" or not _is_folder(value)):
            _check_url(value, f"{option} {redact(value)!r}")
        if option == "--index-url":
            self.index_url = value
        elif option == "--extra-index-url":
            self.extra_index_urls.append(value)
        elif option == "--no-index":
            self.no_index = True
        elif not _is_folder(value):
            self.find_links.append(value)
        else:  # a folder, relative to the file that names it
            self.find_links.append(str(_absolute(at.path.parent / _native(value))))

    def _format_control(self, option: str, value: str) -> None:
        """--only-binary / --no-binary with pip's rules for `:all:` and `:none:`."""
        if value.startswith("-"):
            raise _LineError(f"{option} needs a value: :all:, :none: or project names")
        chosen, other = (
            (self.only_binary, self.no_binary)
            if option == "--only-binary"
            else (self.no_binary, self.only_binary)
        )
        names = value.split(",")
        while ":all:" in names:
            other.clear()
            chosen.clear()
            chosen.add(":all:")
            names = names[names.index(":all:") + 1 :]
            if ":none:" not in names:  # names after :all: add nothing, as in pip
                return
        for name in names:
            if name == ":none:":
                chosen.clear()
            elif name.strip():
                canonical = canonicalize_name(name.strip())
                other.discard(canonical)
                chosen.add(canonical)

    def _include(self, option: str, value: str, at: _At) -> _Walk:
        constraint = option == "--constraint"
        option = "-c" if constraint else "-r"
        scheme = _SCHEME.match(value)
        if scheme and scheme.group(1).lower() != "file":
            raise _LineError(
                f"{option} {value}: vendorer reads requirement files from disk only, so that the "
                "same inputs always give the same lock, offline; download the file next to this "
                "one and name its path"
            )
        target = file_url_path(value) if scheme else Path(_native(value))
        target = _absolute(at.path.parent / target)
        if not target.exists():
            raise _LineError(
                f"{option} {value}: no such file ({target}); paths after -r and -c are relative "
                "to the file that names them"
            )
        if target.resolve() in at.opened:
            cycle = " -> ".join(self._shown(file) for file in (*at.chain, target))
            raise _LineError(
                f"{option} {value}: the files include each other ({cycle}); remove one of these "
                "includes"
            )
        text = _read_text(target)
        # -c makes what it includes constraints; -r makes requirements, even inside a
        # constraints file (pip does the same).
        return self._read(
            target, text, constraint=constraint, chain=(*at.chain, target), opened=at.opened
        )

    def _requirement_line(self, text: str, options: list[tuple[str, str | None]], at: _At) -> None:
        hashes: list[str] = []
        for option, value in options:
            if option == "--hash":
                hashes.append(_hash(value or ""))
            elif option in _BUILD_OPTIONS:
                raise _LineError(_REFUSALS[option])
            else:
                raise _LineError(
                    f"{option} has no effect after a requirement (pip ignores it there); put it "
                    "on a line of its own"
                )
        requirement, path = _requirement_of(text, at)
        if at.constraint and requirement.extras:
            raise _LineError(
                f"{text!r}: a constraint cannot have extras (pip refuses them too); write it "
                "without [...]"
            )
        line = RequirementLine(
            requirement=requirement, hashes=tuple(hashes), source=at.where, path=path
        )
        (self.constraints if at.constraint else self.requirements).append(line)


def _requirement_of(text: str, at: _At) -> tuple[Requirement, Path | None]:
    """The requirement a line's text names, and the local file it points at, if any."""
    scheme = _SCHEME.match(text)
    if scheme:
        return _bare_url(text, scheme.group(1).lower(), at)
    local = _bare_path(text, at)
    if local is not None:
        return local
    requirement = _parse(text)
    if requirement.url is None:
        return requirement, None
    return _direct_reference(requirement, text, at)


def _bare_url(text: str, scheme: str, at: _At) -> tuple[Requirement, Path | None]:
    """`https://host/pkg-1.0-py3-none-any.whl` or `file:///.../pkg-1.0.tar.gz`."""
    _check_scheme(scheme, text)
    url, _, marker = text.partition("; ")  # a URL may hold ';', its marker follows "; "
    url = url.strip()
    _check_url(url, f"{redact(url)!r}")
    if scheme == "file":
        local = _file_url_target(url, at)
        name = _local_dist_name(local, text)
        return _parse(_direct(name, "", local.as_uri(), marker), shown=text), local
    name = _dist_name(_url_filename(url), text)
    return _parse(_direct(name, "", url, marker), shown=text), None


def _bare_path(text: str, at: _At) -> tuple[Requirement, Path] | None:
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
    local = _absolute(at.path.parent / _native(written))
    name = _local_dist_name(local, text)
    return _parse(_direct(name, extras, local.as_uri(), marker), shown=text), local


def _direct_reference(
    requirement: Requirement, text: str, at: _At
) -> tuple[Requirement, Path | None]:
    """`name @ https://...` or `name @ file:///...`: the file must be a dist of `name`."""
    url = requirement.url or ""
    scheme = _SCHEME.match(url)
    if scheme is None:
        raise _LineError(
            f"{text!r}: after @ write a URL (https://... or file:///...), or give a local "
            "file's path alone on the line"
        )
    _check_scheme(scheme.group(1).lower(), text)
    _check_url(url, f"{requirement.name} @ {redact(url)!r}")
    local = _file_url_target(url, at) if scheme.group(1).lower() == "file" else None
    actual = _local_dist_name(local, text) if local else _dist_name(_url_filename(url), text)
    if actual != canonicalize_name(requirement.name):
        raise _LineError(
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
        raise _LineError(
            f"{text!r} is a project folder: vendorer locks files by hash, not folders; build "
            f"a wheel (python -m build {local}) and name its path"
        )
    if not local.is_file():
        raise _LineError(
            f"{text!r}: no such file ({local}); paths are relative to the file that names them"
        )
    return _dist_name(local.name, text)


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(number of its first line, text) of each non-blank line, continuations joined, comments
    removed. As in pip, a comment line ends a continuation and is then dropped with it."""
    start, parts = 0, list[str]()
    for number, raw in enumerate(text.splitlines(), start=1):
        is_comment = _COMMENT.match(raw) is not None
        if raw.endswith("\\") and not is_comment:
            start = start if parts else number
            parts.append(raw.rstrip("\\"))
            continue
        joined = "".join(parts) + (" " + raw if is_comment else raw)
        line = _COMMENT.sub("", joined).strip()
        if line:
            yield (start if parts else number), line
        parts = []
    if parts and (line := _COMMENT.sub("", "".join(parts)).strip()):
        yield start, line


def _split_line(line: str) -> tuple[str, list[str]]:
    """The requirement (before the first word starting with '-') and the option words."""
    match = re.search(r"(?:^|\s)-", line)
    if match is None:
        return line, []
    options = line[match.start() :]
    if not any(quoting in options for quoting in "'\"\\"):
        words = [word for word in _SHELL_SPACE.split(options) if word]  # as shlex, sooner
        return line[: match.start()].strip(), words
    try:
        words = shlex.split(options)
    except ValueError as error:
        raise _LineError(f"cannot split the options ({error}); close the quote") from None
    return line[: match.start()].strip(), words


def _read_text(path: Path) -> str:
    if path.is_dir():
        raise _LineError(f"{path} is a folder, not a requirements file; name the file")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise _LineError(f"cannot read {path} ({error.strerror}); check its permissions") from None
    try:
        return _decode(data)
    except (UnicodeDecodeError, LookupError) as error:
        raise _LineError(f"cannot decode {path} ({error}); save it as UTF-8") from None


def _decode(data: bytes) -> str:
    """As pip decodes: by the byte-order mark, else a PEP 263 coding line, else UTF-8."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding)
    for line in data.split(b"\n")[:2]:
        declared = _CODING.match(line)
        if declared is not None:
            return data.decode(declared.group(1).decode("ascii"))
    return data.decode("utf-8")


def _hash(value: str) -> str:
    algorithm, _, digest = value.partition(":")
    length = _HASH_LENGTHS.get(algorithm)
    if length is None or not re.fullmatch(f"[0-9a-fA-F]{{{length}}}", digest):
        raise _LineError(
            f"--hash {value!r} is not <algorithm>:<hex digest> with sha256, sha384 or sha512; "
            "copy it from `pip hash <file>`"
        )
    return f"{algorithm}:{digest.lower()}"


def _check_scheme(scheme: str, text: str) -> None:
    if _VCS.match(scheme):
        raise _LineError(
            f"{text!r}: version-control requirements cannot be locked with a hash nor installed "
            "on a server without git; pin a released version (name==1.2.3), or build a wheel "
            "from the checkout and name its path"
        )
    if scheme not in {"http", "https", "file"}:
        raise _LineError(f"{text!r}: {scheme}: URLs are not supported; use https:// or file:")


def _is_folder(find_links: str) -> bool:
    """A -f value without a scheme is a folder (`C:\\wheels` too); an empty one is neither."""
    return _SCHEME.match(find_links) is None and bool(find_links.strip())


def _check_url(url: str, shown: str) -> None:
    """The URL must parse; credentials still holding `${VAR}` (the variable is not set) are
    refused, never sent."""
    problem = url_problem(url)
    if problem is not None:
        raise _LineError(f"{shown} {problem}")


def _file_url_target(url: str, at: _At) -> Path:
    """The file a `file:` URL names; a relative one is relative to the requirements file."""
    return _absolute(at.path.parent / file_url_path(url))


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
        raise _LineError(
            f"{text!r}: {error}; keep the file name the build gave it "
            "(name-version-tags.whl, name-version.tar.gz)"
        ) from None
    raise _LineError(
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
        raise _LineError(
            f"{shown or text!r} is not a valid requirement: {error}\n"
            "    write name[extras] <version specifier> ; <marker>, as PEP 508 says"
        ) from None


def _absolute(path: Path) -> Path:
    """`path` made absolute and normal, links kept: relative paths then read as pip reads them."""
    return Path(os.path.normpath(path.absolute()))


def _looks_like_path(text: str) -> bool:
    return "/" in text or "\\" in text or text.startswith(".")


def _native(path: str) -> str:
    """A path as written on any system, for this one (`dist\\pkg.whl` on Linux too)."""
    return path.replace("\\", os.sep) if os.sep == "/" else path


def _conceal(message: str, secrets: tuple[tuple[str, str], ...]) -> str:
    """The message with each expanded value shown as its `${VAR}` again, and the credentials of
    the URLs it quotes removed (tokens stay secret)."""
    for placeholder, value in sorted(secrets, key=lambda pair: -len(pair[1])):
        message = message.replace(value, placeholder)
    return scrub_credentials(message)
