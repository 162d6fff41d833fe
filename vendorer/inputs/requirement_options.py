"""The options pip accepts in a requirements file, parsed with optparse as pip parses them.

Which option is taken, which is accepted with nothing to do, and which is refused (with the next
step to take); and pip's rules for `--only-binary` / `--no-binary` values.
"""

from __future__ import annotations

import optparse
from typing import Any, NoReturn

from packaging.utils import canonicalize_name

from vendorer.inputs.requirement_lines import LineError

__all__ = [
    "BUILD_OPTIONS",
    "IGNORED",
    "REFUSALS",
    "format_control",
    "option_parser",
    "parse_options",
]

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
IGNORED = frozenset(
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
BUILD_OPTIONS = ("--config-settings", "--global-option", "--build-option", "--install-option")
REFUSALS = {
    "--hash": "--hash without a requirement; end the requirement's line with a backslash so "
    "that its --hash lines continue it",
    "--all-releases": "--all-releases is not supported (nor known to the target's pip); use "
    "--pre, or pin the pre-release with ==",
    "--only-final": "--only-final is not supported (nor known to the target's pip); pre-releases "
    "are left out unless --pre is given, so remove it",
    **{option: f"{option}: {_BUILD_REFUSAL}" for option in BUILD_OPTIONS},
}
_OPTIONS_HELP = "-r, -c, -i, --extra-index-url, -f, --no-index, --pre, --only-binary, --no-binary"


class _OptionParser(optparse.OptionParser):
    """optparse, as pip uses it for these lines, with errors that end the line, not the run."""

    def error(self, msg: str) -> NoReturn:
        unknown = msg.removeprefix("no such option: ")
        if unknown != msg:
            raise LineError(
                f"unknown option {unknown}; remove it (a requirements file may hold pip's "
                f"{_OPTIONS_HELP} on lines of their own, and --hash after a requirement)"
            )
        raise LineError(f"{msg}; fix the option")


def option_parser() -> optparse.OptionParser:
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


def parse_options(parser: optparse.OptionParser, words: list[str]) -> list[tuple[str, str | None]]:
    """Each option of `words` under its long name, with its value (None for a flag), in order."""
    if not words:
        return []
    values = optparse.Values({"seen": []})
    _, leftover = parser.parse_args(words, values)
    if leftover:
        raise LineError(
            f"unexpected {leftover[0]!r} among the options; give one value to each option"
        )
    seen: list[tuple[str, str | None]] = values.seen
    return seen


def format_control(option: str, value: str, only_binary: set[str], no_binary: set[str]) -> None:
    """Apply --only-binary / --no-binary `value` to the two sets, with pip's rules for `:all:`
    and `:none:`."""
    if value.startswith("-"):
        raise LineError(f"{option} needs a value: :all:, :none: or project names")
    chosen, other = (
        (only_binary, no_binary) if option == "--only-binary" else (no_binary, only_binary)
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
