"""The command line's grammar: every command, in the order `vendorer --help` lists them."""

from __future__ import annotations

import argparse

from vendorer import __version__
from vendorer.cli.building import add_building_commands
from vendorer.cli.cache import add_cache_commands
from vendorer.cli.deploying import add_deploy_commands
from vendorer.cli.hooks import add_hook_commands
from vendorer.cli.inspecting import add_check_commands, add_why_command
from vendorer.cli.options import option_groups
from vendorer.cli.profiles import add_profile_commands
from vendorer.cli.server import add_server_commands

__all__ = ["build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The parser; each command's `handler` (args -> exit code) is in its defaults."""
    parser = argparse.ArgumentParser(
        prog="vendorer",
        description="Resolve, build and vendor Python libraries for a fixed target interpreter.",
    )
    parser.add_argument("--version", action="version", version=f"vendorer {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    groups = option_groups()
    add_profile_commands(commands, groups)
    add_building_commands(commands, groups)  # lock, wheelhouse, build, vendor
    add_check_commands(commands, groups)  # native-plan, check
    add_hook_commands(commands, groups)
    add_server_commands(commands, groups)  # webconfig, arm, upload, kudu
    add_deploy_commands(commands, groups)  # package, deploy
    add_why_command(commands, groups)
    add_cache_commands(commands)  # dir, info, clean
    return parser
