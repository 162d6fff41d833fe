"""`vendorer hook install`: a git pre-push hook that runs `vendorer check`."""

from __future__ import annotations

import argparse

from vendorer.cli.options import Commands, OptionGroups
from vendorer.cli.output import Output

__all__ = ["add_hook_commands"]


def add_hook_commands(commands: Commands, groups: OptionGroups) -> None:
    hook = commands.add_parser("hook", help="git hooks that run `vendorer check`")
    hook_commands = hook.add_subparsers(title="hook commands", metavar="COMMAND")
    install_hook = hook_commands.add_parser(
        "install",
        parents=[groups.common],
        help="install a git pre-push hook that runs `vendorer check`",
    )
    install_hook.add_argument(
        "--force", action="store_true", help="replace a pre-push hook vendorer did not write"
    )
    install_hook.set_defaults(handler=_hook_install)


def _hook_install(args: argparse.Namespace) -> int:
    from vendorer.deploy.hooks import install_pre_push_hook

    path = install_pre_push_hook(args.app, force=args.force)
    Output().say(f"installed {path}: `git push` now runs `vendorer check` first")
    return 0
