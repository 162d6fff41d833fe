"""Reading a requirements file's text as pip does: decoding, logical lines, option words.

Bytes are decoded by their byte-order mark, else a PEP 263 coding line, else as UTF-8; backslash
continuations are joined, then comments (`#` at the start or after whitespace) removed; a line
splits into its requirement and the words of its options. A line's problem is a `LineError`.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

from vendorer._util.files import read_bounded
from vendorer._util.tomlfile import bom_encoding

__all__ = ["LineError", "logical_lines", "read_text", "split_line"]


class LineError(Exception):
    """One line's problem (what to do included); collected, then reported with the others."""


_COMMENT = re.compile(r"(^|\s+)#.*$")  # pip's rule, so `file.whl#sha256=...` keeps its fragment
_SHELL_SPACE = re.compile(r"[ \t\r\n]+")  # what shlex splits on
_CODING = re.compile(rb"^#.*coding[:=]\s*([-\w.]+)")  # PEP 263, on one of the first two lines


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
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


def split_line(line: str) -> tuple[str, list[str]]:
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
        raise LineError(f"cannot split the options ({error}); close the quote") from None
    return line[: match.start()].strip(), words


def read_text(path: Path) -> str:
    """The text of a requirements file, decoded as pip decodes it."""
    if path.is_dir():
        raise LineError(f"{path} is a folder, not a requirements file; name the file")
    try:
        data = read_bounded(path)
    except PermissionError as error:
        raise LineError(f"cannot read {path} ({error.strerror}); check its permissions") from None
    except OSError as error:
        raise LineError(f"cannot read {path} ({error.strerror or error})") from None
    try:
        return _decode(data)
    except (UnicodeDecodeError, LookupError) as error:
        raise LineError(f"cannot decode {path} ({error}); save it as UTF-8") from None


def _decode(data: bytes) -> str:
    """As pip decodes: by the byte-order mark, else a PEP 263 coding line, else UTF-8."""
    encoding = bom_encoding(data)
    if encoding is not None:
        return data.decode(encoding)
    for line in data.split(b"\n")[:2]:
        declared = _CODING.match(line)
        if declared is not None:
            return data.decode(declared.group(1).decode("ascii"))
    return data.decode("utf-8")
