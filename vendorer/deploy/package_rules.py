"""What stays out of a package, and what in it looks like a secret.

Left out by default (each with its reason in the report):
- the wheelhouse folder; version control (`.git`, `.hg`, `.svn`, a `.git` file too);
- virtual environments: any folder holding `pyvenv.cfg` or `conda-meta/`, and at the app's top the
  folders `.venv`, `venv`, `env`, `.env`, `antenv` unless they hold an `__init__.py` (then they
  are the app's own package);
- caches: `__pycache__`, `.mypy_cache`, `.pytest_cache`, `.ruff_cache`, `.tox`, `.nox`, `*.pyc`,
  `*.pyo`;
- vendorer's own state: `.vendorer-state/` (beside the lib folder), `.vendorer/` at the top, the
  locks `pylock.toml` and `pylock.*.toml` (nothing on the server reads them: the lib folder's
  manifest names the lock it was vendored from), the package being written and partial ones;
- secrets kept beside the app: `.env`, `local.settings.json`, `*.PublishSettings`;
- for Functions, what Core Tools always leaves out too: `.vscode/`, `.funcignore`, `.gitignore`,
  `project.lock.json`.

The `[tool.vendorer] exclude` list holds gitignore-like patterns relative to the app: `*` and
`?` match within a name, `[...]` is a class, `**` as a whole segment matches any number of
folders, a trailing `/` matches folders only, and a pattern with a `/` elsewhere is anchored at
the app's top (otherwise it matches a name at any depth). A matching folder leaves out all it
holds. There is no `!`: list what stays out, not what goes in. The patterns do not reach into
the vendored lib folder: it goes in as `vendorer vendor` wrote it (`--slim` trims it), since a
library may need any of its files (`*.txt` would take `entry_points.txt`); a pattern that names
the lib folder itself leaves it out, which the package refuses.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from vendorer.errors import ConfigError

__all__ = [
    "ExcludePattern",
    "PackageRules",
    "compile_excludes",
    "secret_reason",
]

VCS: Final = frozenset({".git", ".hg", ".svn"})
CACHES: Final = frozenset(
    {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox"}
)
VENV_NAMES: Final = frozenset({".venv", "venv", "env", ".env", "antenv"})
SECRET_FILES: Final = frozenset({".env", "local.settings.json"})
CORE_TOOLS_FILES: Final = frozenset({".funcignore", ".gitignore", "project.lock.json"})
_LOCK = re.compile(r"pylock(\.[^/]+)?\.toml")
EXCLUDE_ORIGIN: Final = "[tool.vendorer] exclude"

# What looks like a secret: names (case-insensitive globs), and content in a file's first MiB.
SECRET_NAMES: Final = (
    "*.pem", "*.key", "*.pfx", "*.p12", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519",
    "secrets.*", ".env.*", ".netrc", "_netrc", ".pypirc",
)  # fmt: skip
NOT_SECRET: Final = frozenset({".env.example", ".env.sample", ".env.template"})
_BASE64 = rb"[A-Za-z0-9+/]{20,}"  # a value, not code that builds one (`AccountKey={key}`)
SECRET_CONTENT: Final = (
    (re.compile(rb"AccountKey=" + _BASE64), 'holds "AccountKey=" (an Azure storage key)'),
    (re.compile(rb"SharedAccessKey=" + _BASE64), 'holds "SharedAccessKey=" (an Azure access key)'),
    (
        re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\r?\n(?:[\w-]+:.*\r?\n|\r?\n)*" + _BASE64),
        "holds a private key",
    ),
)
SCANNED_BYTES: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class ExcludePattern:
    text: str
    regex: re.Pattern[str]
    folders_only: bool

    def matches(self, path: str, *, is_folder: bool) -> bool:
        return (is_folder or not self.folders_only) and self.regex.fullmatch(path) is not None


def compile_excludes(
    patterns: Sequence[str], origin: str = EXCLUDE_ORIGIN
) -> tuple[ExcludePattern, ...]:
    """The patterns of an `exclude` list; every bad one is reported at once."""
    compiled, problems = [], []
    for text in patterns:
        pattern = text.strip()
        if not pattern.strip("/"):
            problems.append(f"  {text!r}: an empty pattern (name a file or folder, e.g. docs/)")
        elif pattern.startswith("!"):
            problems.append(f"  {text!r}: `!` is not supported: list only what stays out")
        elif ".." in pattern.split("/"):
            problems.append(f"  {text!r}: `..` cannot match: patterns are relative to the app")
        else:
            compiled.append(_compile(pattern))
    if problems:
        raise ConfigError(f"{origin}:\n" + "\n".join(problems))
    return tuple(compiled)


def _compile(pattern: str) -> ExcludePattern:
    folders_only = pattern.endswith("/")
    body = pattern.rstrip("/")
    anchored = "/" in body
    segments = body.lstrip("/").split("/")
    expression = "" if anchored else "(?:[^/]+/)*"
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            expression += ".*" if last else "(?:[^/]+/)*"
        else:
            expression += _segment(segment) + ("" if last else "/")
    return ExcludePattern(pattern, re.compile(expression, re.DOTALL), folders_only)


def _segment(segment: str) -> str:
    """One path segment's glob as a regular expression: `*`, `?`, `[...]`, `\\x`."""
    out, index = [], 0
    while index < len(segment):
        char = segment[index]
        index += 1
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\" and index < len(segment):
            out.append(re.escape(segment[index]))
            index += 1
        elif char == "[" and (end := _class_end(segment, index)) > 0:
            members = segment[index:end]
            negated = members[:1] in {"!", "^"}
            members = members[1:] if negated else members
            out.append("[" + ("^" if negated else "") + members.replace("\\", "\\\\") + "]")
            index = end + 1
        else:
            out.append(re.escape(char))
    return "".join(out)


def _class_end(segment: str, start: int) -> int:
    """Where the `[...]` class opened before `start` closes; -1 when it does not."""
    index = start + (1 if segment[start : start + 1] in {"!", "^"} else 0)
    index += 1 if segment[index : index + 1] == "]" else 0
    return segment.find("]", index)


@dataclass(frozen=True, slots=True, kw_only=True)
class PackageRules:
    """The rules for one package. Paths are relative to the app, with forward slashes."""

    functions: bool = False  # Azure Functions: Core Tools' own exclusions apply too
    wheelhouse: str | None = None  # the wheelhouse folder, when it is inside the app
    output: str | None = None  # the package file, when it is inside the app
    patterns: tuple[ExcludePattern, ...] = ()
    lib_dir: str | None = None  # the vendored folder: the patterns do not reach inside it

    def folder_reason(self, path: str, folder: Path) -> str | None:
        """Why the folder `path` (on disk: `folder`) stays out; None when it goes in."""
        name = path.rpartition("/")[2]
        top = "/" not in path
        if path == self.wheelhouse:
            return "the wheelhouse"
        if name in VCS:
            return "version control"
        if name in CACHES:
            return "a cache"
        if name == ".vendorer-state" or (top and name == ".vendorer"):
            return "vendorer's own state"
        if self.functions and name == ".vscode":
            return "editor settings (Core Tools leaves them out too)"
        if (folder / "pyvenv.cfg").is_file() or (folder / "conda-meta").is_dir():
            return "a virtual environment"
        if top and name in VENV_NAMES and not (folder / "__init__.py").exists():
            return "a virtual environment"
        return self._pattern_reason(path, is_folder=True)

    def file_reason(self, path: str) -> str | None:
        """Why the file `path` stays out; None when it goes in (.funcignore is the caller's)."""
        folder, _, name = path.rpartition("/")
        if path == self.output:
            return "the package itself"
        if self.output and _is_partial(self.output, folder, name):
            return "a partial package (from a run that was stopped)"
        if name in VCS:
            return "version control"
        if name.endswith((".pyc", ".pyo")):
            return "a cache (bytecode)"
        if _LOCK.fullmatch(name):
            return "vendorer's lock (the server does not read it)"
        if name.lower() in SECRET_FILES or name.lower().endswith(".publishsettings"):
            return "a secret"
        if self.functions and name in CORE_TOOLS_FILES:
            return "Core Tools leaves it out too"
        return self._pattern_reason(path, is_folder=False)

    def _pattern_reason(self, path: str, *, is_folder: bool) -> str | None:
        if self.lib_dir and path.startswith(f"{self.lib_dir}/"):
            return None
        for pattern in self.patterns:
            if pattern.matches(path, is_folder=is_folder):
                return f"{EXCLUDE_ORIGIN}: {pattern.text}"
        return None


def _is_partial(output: str, folder: str, name: str) -> bool:
    """Whether `folder/name` is a temporary file a write of `output` leaves when stopped."""
    output_folder, _, output_name = output.rpartition("/")
    pattern = rf"\.{re.escape(output_name)}\.[0-9a-f]+\.tmp"
    return folder == output_folder and re.fullmatch(pattern, name) is not None


def secret_reason(path: str, file: Path) -> str | None:
    """Why the file looks like a secret (by its name, or what its first MiB holds); or None."""
    name = path.rpartition("/")[2].lower()
    if name not in NOT_SECRET:
        for glob in SECRET_NAMES:
            if fnmatch.fnmatchcase(name, glob):
                return f"its name matches {glob}"
    with file.open("rb") as stream:
        head = stream.read(SCANNED_BYTES)
    return next((reason for regex, reason in SECRET_CONTENT if regex.search(head)), None)
