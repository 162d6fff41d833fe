""".funcignore, read the way Azure Functions Core Tools reads it (it is not gitignore).

Core Tools (`GitIgnoreParser.cs`, a port of codemix/gitignore-parser) trims each line, skips empty
lines and those starting with `#`, takes `!` as a negation and strips one leading `/` (so a
pattern is never anchored differently). A pattern becomes a regular expression: the characters
`- [ ] / { } ( ) + ? . \\ ^ $ |` are literal (`?` and `[...]` are no wildcards), `**` matches any
text (slashes included), `*` any text within one path segment. A file's path relative to the app
(forward slashes) is left out when it matches `^(pattern)\\b` for some positive pattern and for no
negation: a negation wins whatever the order of the lines. Patterns match from the start of the
path only, never at any depth: `*.pyc` leaves out `x.pyc` but not `pkg/x.pyc`, and `test` leaves
out `test/...` and `test.py` but not `testing.py` (the `\\b` is an ASCII word boundary). Core Tools
tests files only, never folders.

vendorer adds the wheelhouse to it (`with_ignored`) when it vendors for Functions: Core Tools would
otherwise put every wheel into the package it publishes. The user's lines stay as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from vendorer._util.files import read_bounded
from vendorer.errors import ConfigError

__all__ = ["FuncIgnore", "leaves_out", "parse_funcignore", "read_funcignore", "with_ignored"]

# The characters Core Tools escapes before it turns the wildcards into expressions.
_LITERAL = re.compile(r"[\-\[\]/{}()+?.\\^$|]")


@dataclass(frozen=True, slots=True)
class _Pattern:
    text: str  # as the line gave it, after `!` and a leading `/` are taken off
    regex: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class FuncIgnore:
    positives: tuple[_Pattern, ...]
    negatives: tuple[_Pattern, ...]

    def denies(self, path: str) -> str | None:
        """The pattern that leaves `path` (relative, forward slashes) out; None if it goes in."""
        if any(pattern.regex.match(path) for pattern in self.negatives):
            return None
        return next((p.text for p in self.positives if p.regex.match(path)), None)


def parse_funcignore(text: str) -> FuncIgnore:
    """The rules of a .funcignore file's text."""
    positives: list[_Pattern] = []
    negatives: list[_Pattern] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negative = line.startswith("!")
        line = line[1:] if negative else line
        line = line[1:] if line.startswith("/") else line
        (negatives if negative else positives).append(_Pattern(line, _compile(line)))
    return FuncIgnore(tuple(positives), tuple(negatives))


def _compile(pattern: str) -> re.Pattern[str]:
    escaped = _LITERAL.sub(lambda found: "\\" + found.group(), pattern)
    expression = escaped.replace("**", "(.+)").replace("*", "([^/]+)")
    # ECMAScript semantics: `\b` and `\w` are ASCII only.
    return re.compile(f"^({expression})\\b", re.ASCII)


def read_funcignore(path: Path) -> str | None:
    """The text of the .funcignore file `path` (None when there is none), read as Core Tools
    reads it: UTF-8, with or without a BOM (taken off); line endings as they are."""
    if not path.is_file():
        return None
    try:
        return read_bounded(path).decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read ({error}); save it as UTF-8 text") from None


def leaves_out(text: str | None, path: str) -> bool:
    """Whether the .funcignore text `text` (None: no file) leaves `path` out of the package."""
    return text is not None and parse_funcignore(text).denies(path) is not None


def with_ignored(text: str | None, folder: str) -> str:
    """`text` (a .funcignore's, or None for none) with a line that leaves out `folder` (relative
    to the app, forward slashes) appended, in the file's own line ending. A negation that keeps
    a file of `folder` in still wins (Core Tools' rule): check the result with `leaves_out`."""
    # `\b` must follow the pattern: a folder whose name ends in a word character is matched by
    # its name alone (it then also leaves out `<folder>.txt`, as Core Tools would).
    line = folder if re.match(r".*\w$", folder, re.ASCII) else f"{folder}/**"
    base = text or ""
    newline = "\r\n" if "\r\n" in base else "\n"
    if base and not base.endswith("\n"):
        base += newline
    comment = f"# vendorer: {folder}/ stays out of the package"
    return f"{base}{comment}{newline}{line}{newline}"
