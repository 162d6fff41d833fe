"""`vendorer cache dir | info | clean`: vendorer's cache folder."""

from __future__ import annotations

import argparse
import json

from vendorer.cli.options import Commands
from vendorer.cli.output import Output

__all__ = ["add_cache_commands"]


def add_cache_commands(commands: Commands) -> None:
    cache = commands.add_parser(
        "cache",
        help="where vendorer's cache is, what it holds, and emptying it",
        description="vendorer's cache folder (VENDORER_CACHE_DIR, else the user's cache folder): "
        "project pages, downloads, unpacked wheels, hashes and kept answers. Losing any of it "
        "only costs time.",
    )
    cache_commands = cache.add_subparsers(title="cache commands", metavar="COMMAND")
    cache_commands.add_parser("dir", help="print the cache folder's path").set_defaults(
        handler=_cache_dir
    )
    info = cache_commands.add_parser("info", help="the files and bytes in each part of the cache")
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")
    info.set_defaults(handler=_cache_info)
    cache_commands.add_parser(
        "clean",
        help="remove everything vendorer keeps in its cache",
        description="Remove every part of vendorer's cache (only what vendorer keeps there). "
        "Run it while no other vendorer run is going.",
    ).set_defaults(handler=_cache_clean)


def _cache_dir(args: argparse.Namespace) -> int:
    from vendorer.inputs.options import cache_dir

    Output().result(str(cache_dir()))
    return 0


def _cache_info(args: argparse.Namespace) -> int:
    from vendorer.app.cache import cache_parts
    from vendorer.inputs.options import cache_dir

    out, root = Output(), cache_dir()
    parts = cache_parts(root)
    if args.json:
        document = {
            "folder": str(root),
            "parts": [
                {"name": p.name, "holds": p.holds, "files": p.files, "bytes": p.size} for p in parts
            ],
        }
        out.result(json.dumps(document, indent=2))
        return 0
    out.result(f"vendorer's cache: {root}")
    for part in parts:
        out.result(f"  {part.name:12} {_counted(part.files, part.size)}  {part.holds}")
    in_all = _counted(sum(p.files for p in parts), sum(p.size for p in parts))
    out.result(f"  {'in all':12} {in_all}")
    return 0


def _cache_clean(args: argparse.Namespace) -> int:
    from vendorer.app.cache import clean_cache
    from vendorer.inputs.options import cache_dir

    root = cache_dir()
    files, size = clean_cache(root)
    Output().say(f"removed {files:,} {_file_or_files(files)} ({size / 1e6:,.1f} MB) from {root}")
    return 0


def _counted(files: int, size: int) -> str:
    """`files` files of `size` bytes, in aligned columns."""
    return f"{files:>8,} {_file_or_files(files):5} {size / 1e6:>9,.1f} MB"


def _file_or_files(count: int) -> str:
    return "file" if count == 1 else "files"
