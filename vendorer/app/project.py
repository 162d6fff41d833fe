"""The project a command works on, resolved once: settings, profile, lib dir and wheelhouse.

`[tool.vendorer]` in the app's pyproject.toml, overridden by the command line's choices, names the
target profile, the requirements, the indexes, the lib folder and the wheelhouse; every step reads
them from one `Project`. The lib dir's precedence (the command line, then `[tool.vendorer]`, then
the profile's) is written here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vendorer.errors import UsageError
from vendorer.inputs.options import LockOptions
from vendorer.inputs.settings import Settings, load_settings
from vendorer.install.libfolder import lib_dir_in_app, lib_folder
from vendorer.lock.model import Lock
from vendorer.lock.pylock import lock_path, read_lock
from vendorer.report import Reporter
from vendorer.target.catalog import ProfileCatalog
from vendorer.target.profile import Profile

__all__ = [
    "IndexChoices",
    "Project",
    "ProjectChoices",
    "ResolveChoices",
    "load_profile",
    "load_project",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexChoices:
    """Where files come from, as the command line says (None or empty: as configured)."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    keyring_provider: str | None = None
    index_strategy: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectChoices:
    """What the command line says about the project; None: `[tool.vendorer]`'s, or the default."""

    app: Path
    profile: str | None = None
    requirements: Path | None = None
    indexes: IndexChoices = field(default_factory=IndexChoices)
    lib_dir: str | None = None
    wheelhouse: Path | None = None  # relative to the app


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolveChoices:
    """How to resolve and download: the command line's choices beyond the indexes."""

    prefer_newest: bool = False
    pre: bool = False
    timeout: float = 15.0
    offline: bool = False
    refresh: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Project:
    app: Path
    settings: Settings
    profile: Profile
    wheelhouse_root: Path  # wheelhouse/ (the profile's folder is below it)
    lib_dir_option: str | None = None  # --lib-dir, if given

    @property
    def lib_dir(self) -> str:
        """The lib folder as a relative POSIX path inside the app (an absolute one is made
        relative; one outside the app is refused): what the server's paths are made of.
        --lib-dir, else `[tool.vendorer] lib-dir`, else the profile's."""
        chosen = self.lib_dir_option
        if chosen is None:
            chosen = self.settings.lib_dir or self.profile.server.lib_dir
        lib_dir = lib_dir_in_app(self.app, chosen)
        folder, wheelhouse = (self.app / lib_dir).resolve(), self.wheelhouse_root.resolve()
        if folder == wheelhouse or wheelhouse in folder.parents or folder in wheelhouse.parents:
            raise UsageError(
                f"lib folder {lib_dir!r} overlaps the wheelhouse ({self.wheelhouse_root}): "
                "vendoring would mix installed files with wheels; choose another --lib-dir"
            )
        return lib_dir

    @property
    def lib(self) -> Path:
        """The lib folder on disk."""
        return lib_folder(self.app, self.lib_dir)

    @property
    def wheelhouse(self) -> Path:
        """wheelhouse/<profile>/."""
        return self.wheelhouse_root / self.profile.name

    @property
    def requirements(self) -> Path:
        return self.settings.requirements

    @property
    def lock_path(self) -> Path:
        return lock_path(self.settings.requirements, self.profile.name)

    def read_lock(self) -> Lock:
        return read_lock(self.lock_path)

    def lock_options(self, choices: ResolveChoices | None = None) -> LockOptions:
        """The options a lock is made (or checked) with: the indexes as configured, and the
        command line's resolving choices (the defaults when checking offline)."""
        chosen = choices or ResolveChoices()
        return LockOptions(
            index_url=self.settings.index_url,
            extra_index_urls=self.settings.extra_index_urls,
            find_links=self.settings.find_links,
            prefer_newest=chosen.prefer_newest,
            pre=chosen.pre,
            index_strategy=self.settings.index_strategy,
            timeout=chosen.timeout,
            offline=chosen.offline,
            refresh=chosen.refresh,
            keyring=self.settings.keyring_provider == "subprocess",
        )


def load_project(choices: ProjectChoices, reporter: Reporter) -> Project:
    """Read `[tool.vendorer]` with the command line's choices over it, and load the profile
    (`reporter` hears what the profile catalog has to say: a shadowed built-in)."""
    indexes = choices.indexes
    settings = load_settings(
        choices.app,
        {
            "profile": choices.profile,
            "requirements": choices.requirements,
            "index_url": indexes.index_url,
            "extra_index_urls": indexes.extra_index_urls,
            "find_links": indexes.find_links,
            "keyring_provider": indexes.keyring_provider,
            "index_strategy": indexes.index_strategy,
        },
    )
    if not settings.profile:
        pyproject = choices.app / "pyproject.toml"
        missing = "" if pyproject.exists() else f" ({pyproject} does not exist: is --app right?)"
        raise UsageError(
            "no target profile: pass --profile NAME or set profile in [tool.vendorer] "
            f"(`vendorer profiles list` shows them){missing}"
        )
    root = choices.app / choices.wheelhouse if choices.wheelhouse else settings.wheelhouse
    return Project(
        app=choices.app,
        settings=settings,
        profile=load_profile(choices.app, settings.profile, reporter),
        wheelhouse_root=Path(root),
        lib_dir_option=choices.lib_dir,
    )


def load_profile(app: Path, name: str, reporter: Reporter) -> Profile:
    """A profile by name (the app's own `profiles/` first, then the built-ins) or by path."""
    return ProfileCatalog(app, reporter=reporter).load(name)
