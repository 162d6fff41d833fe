"""The options several commands share (argparse parents), and what they say as the application's
choices: the project (app, profile, requirements, indexes, lib dir, wheelhouse) and resolving."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from vendorer._util.urls import find_links_problem, redact, url_problem
from vendorer.app.project import (
    IndexChoices,
    Project,
    ProjectChoices,
    ResolveChoices,
    load_project,
)
from vendorer.errors import UsageError
from vendorer.inputs.options import INDEX_STRATEGIES, KEYRING_PROVIDERS
from vendorer.report import Reporter

if TYPE_CHECKING:
    from vendorer.app.sites import SiteChoice

__all__ = [
    "MAX_TIMEOUT",
    "Commands",
    "OptionGroups",
    "check_paths",
    "index_choices",
    "option_groups",
    "project_of",
    "resolve_choices",
    "seconds_type",
    "site_choice",
]

# what `add_subparsers` returns: a command group's `add_parser`
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
MAX_TIMEOUT = 3600  # seconds; far more than any index needs, and within what sockets accept


@dataclass(frozen=True, slots=True)
class OptionGroups:
    """Parent parsers: each command takes the groups it needs."""

    common: argparse.ArgumentParser  # --app
    targeted: argparse.ArgumentParser  # + --profile, --requirements
    resolving: argparse.ArgumentParser  # + the indexes and how to resolve
    wheelhouse: argparse.ArgumentParser  # --wheelhouse
    lib: argparse.ArgumentParser  # --lib-dir
    native: argparse.ArgumentParser  # --native
    vendoring: argparse.ArgumentParser  # + --slim, --dry-run
    credentials: argparse.ArgumentParser  # the site: --site, -g, --subscription, --publish-profile


def option_groups() -> OptionGroups:
    common = _parent()
    common.add_argument(
        "--app",
        type=Path,
        default=Path(),
        metavar="DIR",
        help="the app's folder: where pyproject.toml, requirements and profiles/ are (default: .)",
    )
    targeted = _parent(common)
    targeted.add_argument(
        "-p", "--profile", help="target profile name or file (default: [tool.vendorer] profile)"
    )
    targeted.add_argument(
        "-r",
        "--requirements",
        type=Path,
        metavar="FILE",
        help="requirements file, next to which the lock sits "
        "(default: requirements.txt, or requirements.in)",
    )
    resolving = _parent(targeted)
    _add_index_options(resolving)
    _add_resolution_options(resolving)
    lib = _option(
        "--lib-dir", metavar="PATH", help="the lib folder inside the app (default: the profile's)"
    )
    return OptionGroups(
        common=common,
        targeted=targeted,
        resolving=resolving,
        wheelhouse=_option(
            "--wheelhouse",
            type=Path,
            metavar="DIR",
            help="the wheelhouse root (default: <app>/wheelhouse)",
        ),
        lib=lib,
        native=_option(
            "--native",
            choices=["report", "cibuildwheel"],
            default="report",
            help="what to do with sdists that compile code: report their routes (default), or "
            "build them here with cibuildwheel (Linux targets, needs docker or podman)",
        ),
        vendoring=_vendoring_options(lib),
        credentials=_site_options(),
    )


def _site_options() -> argparse.ArgumentParser:
    """How a command names the site: through Azure (--site, -g, --subscription) or its SCM site."""
    site = _parent()
    site.add_argument(
        "--site", metavar="NAME", help="the site, found through Azure Resource Manager (az login)"
    )
    site.add_argument(
        "-g", "--resource-group", metavar="RG", help="the site's resource group (with --site)"
    )
    site.add_argument(
        "--subscription",
        metavar="ID",
        help="the site's subscription (default: AZURE_SUBSCRIPTION_ID, else az's current one)",
    )
    site.add_argument(
        "--publish-profile",
        type=Path,
        metavar="FILE",
        help="without --site: the site's .PublishSettings (else VENDORER_KUDU_URL, _USER and "
        "_PASSWORD)",
    )
    return site


def _parent(*parents: argparse.ArgumentParser) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(add_help=False, parents=list(parents))


def _add_index_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-i",
        "--index-url",
        type=_index_url,
        metavar="URL",
        help="package index (PEP 503/691; default: PyPI)",
    )
    parser.add_argument(
        "--extra-index-url",
        action="append",
        type=_index_url,
        default=[],
        metavar="URL",
        dest="extra_index_urls",
        help="another index to search (repeatable)",
    )
    parser.add_argument(
        "-f",
        "--find-links",
        action="append",
        type=_find_link,
        default=[],
        metavar="DIR|URL",
        help="a folder or HTML page of distributions (repeatable)",
    )
    parser.add_argument(
        "--index-strategy",
        choices=INDEX_STRATEGIES,
        help="unsafe-best-match (default, as pip): every index's files of a project compete; "
        "first-index (as uv): only the first index that has the project, so a public index "
        "cannot shadow a private one",
    )
    parser.add_argument(
        "--prefer-newest",
        action="store_true",
        help="take the newest version even when only its sdist fits the target",
    )
    parser.add_argument("--pre", action="store_true", help="allow pre-release versions")


def _add_resolution_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--offline",
        action="store_true",
        help="no network: answer from vendorer's HTTP and file caches only",
    )
    parser.add_argument(
        "-U",
        "--upgrade",
        action="store_true",
        help="resolve again to the newest versions that fit, keeping none of the lock's",
    )
    parser.add_argument(
        "-P",
        "--upgrade-package",
        dest="upgrade_packages",
        action="append",
        default=[],
        metavar="NAME",
        help="resolve again, moving NAME to its newest fitting version, or within a bound "
        "(NAME==VERSION, 'NAME<SPEC'); repeatable; the lock's other versions are kept where they "
        "still fit",
    )
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="ask the index again for every page, even one whose Cache-Control max-age lasts",
    )
    parser.add_argument(
        "--keyring-provider",
        choices=KEYRING_PROVIDERS,
        help="subprocess: ask the `keyring` command for the password of an index URL that names "
        "only a user (https://user@host/simple/), as pip and uv do (default: disabled)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show what build backends and pip print while sdists are built (otherwise only the "
        "last lines of a failed build are shown)",
    )
    parser.add_argument(
        "--timeout",
        type=_timeout,
        default=15.0,
        metavar="SECONDS",
        help=f"network timeout per request (default: 15; at most {MAX_TIMEOUT})",
    )


def _option(*flags: str, **spec: Any) -> argparse.ArgumentParser:
    """A parent parser of one option."""
    parser = _parent()
    parser.add_argument(*flags, **spec)
    return parser


def _vendoring_options(lib: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser = _parent(lib)
    parser.add_argument(
        "--slim", action="store_true", help="leave out test suites, __pycache__ and type stubs"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="show what vendoring would change in the lib folder, and change nothing there",
    )
    return parser


def seconds_type(most: float, example: str) -> Callable[[str], float]:
    """An option's type: a number of seconds above 0 (0 would mean non-blocking sockets, or no
    time at all) and at most `most`."""

    def seconds(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and 0 < value <= most):
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a number of seconds above 0 and at most {most:g} (e.g. {example})"
            )
        return value

    return seconds


_timeout = seconds_type(MAX_TIMEOUT, "15")  # --timeout of a request


def _url_check(what: str, problem_of: Callable[[str], str | None]) -> Callable[[str], str]:
    """An option's type that takes a location only if it parses (URLs without unexpanded
    ${VAR} credentials)."""

    def check(text: str) -> str:
        problem = problem_of(text)
        if problem is not None:
            raise argparse.ArgumentTypeError(f"{what} {redact(text)!r} {problem}")
        return text

    return check


_index_url = _url_check("index URL", url_problem)  # -i / --extra-index-url
_find_link = _url_check("find-links", find_links_problem)  # -f: a folder too


def check_text(arguments: Sequence[str]) -> None:
    """Every argument must be text: bytes that are not UTF-8 (Python keeps them as surrogates)
    cannot go into the UTF-8 files vendorer writes (the lock, the manifest, web.config)."""
    for argument in arguments:
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            shown = argument.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise UsageError(
                f"the argument '{shown}' is not UTF-8 text; give it in UTF-8 (rename the file "
                "or folder it names)"
            ) from None


def check_paths(args: argparse.Namespace) -> None:
    """Before anything is read or written: the app's folder must be one, and an output file's
    folder must exist (vendorer creates neither)."""
    app: Path | None = getattr(args, "app", None)  # the commands that have --app, -o
    if app is not None and not app.is_dir():
        what = "is a file, not a folder" if app.exists() else "does not exist"
        raise UsageError(
            f"--app {app} {what}; give the app's folder (where its pyproject.toml and "
            "requirements are)"
        )
    output: Path | None = getattr(args, "output", None)
    if output is not None and output.is_dir():
        raise UsageError(f"-o {output} is a folder; name the file to write")
    if output is not None and not output.parent.is_dir():
        raise UsageError(f"-o {output}: the folder {output.parent} does not exist; create it first")


def project_of(
    args: argparse.Namespace,
    reporter: Reporter,
    *,
    indexes: IndexChoices | None = None,
    lib_dir: str | None = None,
    wheelhouse: Path | None = None,
) -> Project:
    """The project the `targeted` group's options name, with those of the groups the command
    also has (the indexes, --lib-dir, --wheelhouse); `reporter` hears the profile catalog."""
    choices = ProjectChoices(
        app=args.app,
        profile=args.profile,
        requirements=args.requirements,
        indexes=indexes or IndexChoices(),
        lib_dir=lib_dir,
        wheelhouse=wheelhouse,
    )
    return load_project(choices, reporter)


def site_choice(args: argparse.Namespace) -> SiteChoice:
    """The site as the `credentials` group names it."""
    from vendorer.app.sites import SiteChoice  # the deploy layer: for commands that reach a site

    return SiteChoice(
        site=args.site,
        resource_group=args.resource_group,
        subscription=args.subscription,
        publish_profile=args.publish_profile,
    )


def index_choices(args: argparse.Namespace) -> IndexChoices:
    """The `resolving` group's indexes."""
    return IndexChoices(
        index_url=args.index_url,
        extra_index_urls=tuple(args.extra_index_urls),
        find_links=tuple(args.find_links),
        keyring_provider=args.keyring_provider,
        index_strategy=args.index_strategy,
    )


def resolve_choices(args: argparse.Namespace) -> ResolveChoices:
    """The `resolving` group's choices beyond the indexes."""
    return ResolveChoices(
        prefer_newest=args.prefer_newest,
        pre=args.pre,
        timeout=args.timeout,
        offline=args.offline,
        refresh=args.refresh,
    )
