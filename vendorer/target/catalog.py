"""Finding profiles: the built-ins shipped with vendorer, the app's `profiles/`, or a file path."""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from vendorer.errors import ProfileError, UsageError
from vendorer.report import NULL_REPORTER, Reporter
from vendorer.target.profile import Profile, load_profile_file

__all__ = ["BUILTIN_DIR", "CatalogEntry", "ProfileCatalog", "names_a_file"]

BUILTIN_DIR = Path(str(importlib.resources.files("vendorer") / "profiles"))


@dataclass(frozen=True, slots=True, kw_only=True)
class CatalogEntry:
    name: str
    path: Path
    source: Literal["built-in", "project"]
    shadows_builtin: bool = False


class ProfileCatalog:
    """Profiles by name. A project profile with a built-in's name wins, and the reporter
    hears so (a notice) when it is loaded."""

    def __init__(
        self,
        project_dir: Path | None = None,
        *,
        builtin_dir: Path = BUILTIN_DIR,
        reporter: Reporter = NULL_REPORTER,
    ) -> None:
        self._reporter = reporter
        builtins = _toml_files(builtin_dir)
        project: dict[str, Path] = {}
        if project_dir is not None:
            folder = project_dir / "profiles"
            if folder.is_dir() and folder.resolve() != builtin_dir.resolve():
                project = _toml_files(folder)
        self._entries = {
            name: CatalogEntry(name=name, path=path, source="built-in")
            for name, path in builtins.items()
        }
        for name, path in project.items():
            self._entries[name] = CatalogEntry(
                name=name, path=path, source="project", shadows_builtin=name in builtins
            )

    def entries(self) -> list[CatalogEntry]:
        return [self._entries[name] for name in sorted(self._entries)]

    def load(self, name_or_path: str) -> Profile:
        """Load a profile by name, or from a file when given a path (`x.toml`, `dir/x.toml`)."""
        if names_a_file(name_or_path):
            return load_profile_file(Path(name_or_path))
        entry = self._entries.get(name_or_path)
        if entry is None:
            raise UsageError(self._unknown(name_or_path))
        profile = load_profile_file(entry.path, source=entry.source)
        if profile.name != entry.name:
            raise ProfileError(
                str(entry.path),
                [f"name: {profile.name!r} differs from the file name {entry.path.name!r}"],
            )
        if entry.shadows_builtin:
            self._reporter.notice(
                f"notice: profile {entry.name!r} comes from {entry.path} (the project's own), "
                "not the built-in of that name"
            )
        return profile

    def _unknown(self, name: str) -> str:
        import difflib

        close = difflib.get_close_matches(name, self._entries, n=5, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return (
            f"unknown profile {name!r}{hint}\n"
            "`vendorer profiles list` shows every profile; a path to a .toml file works too"
        )


def names_a_file(name_or_path: str) -> bool:
    """Whether a profile is named by its file's path (`x.toml`, `dir/x.toml`), not by its name."""
    return name_or_path.endswith(".toml") or "/" in name_or_path or "\\" in name_or_path


def _toml_files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    return {path.stem: path for path in sorted(folder.glob("*.toml"))}
