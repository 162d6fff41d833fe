"""One exception root for everything vendorer reports to a user.

Each error's message says what went wrong and what to do next; the CLI prints it as it is and maps
the class to an exit code (`exit_code`), so no user error ever ends in a traceback.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "IndexError_",
    "LockError",
    "ProfileError",
    "ResolutionError",
    "UsageError",
    "VendorerError",
]


class VendorerError(Exception):
    """A failure vendorer explains to its user. Exit code 1."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(VendorerError):
    """The command line asks for what cannot be (unknown name, bad option). Exit code 2."""

    exit_code = 2


class ConfigError(VendorerError):
    """A configuration file (pyproject.toml, a profile, a requirements file) is malformed."""

    exit_code = 2


class ProfileError(ConfigError):
    """A profile file has missing or malformed keys; `problems` lists every one of them."""

    def __init__(self, source: str, problems: list[str]) -> None:
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{source}: invalid profile:\n{lines}")
        self.source = source
        self.problems = problems


class IndexError_(VendorerError):  # trailing underscore: not the builtin IndexError
    """A package index or find-links location could not be read."""


class ResolutionError(VendorerError):
    """The requirements cannot be satisfied on the target."""


class LockError(VendorerError):
    """A lock file is missing, stale or malformed."""
