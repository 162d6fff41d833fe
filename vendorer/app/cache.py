"""vendorer's cache folder (`vendorer cache dir | info | clean`): what each part of it holds, and
the parts removed. Losing any of them only costs time: the next run fetches, unpacks or hashes
again. Only the parts vendorer makes are measured or removed, whatever else `VENDORER_CACHE_DIR`
may hold.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from vendorer._util.answers import tree
from vendorer.install.libfolder import remove_tree

__all__ = ["PARTS", "CachePart", "cache_parts", "clean_cache"]

# Each part's folder in the cache, and what it holds.
PARTS: Final = (
    ("http/pages", "project pages, with what revalidates them"),
    ("http/files", "downloaded wheels and sdists, and wheels' metadata"),
    ("sdists", "sdists downloaded to read their metadata"),
    ("unpacked", "unpacked wheels, copied into later trees"),
    ("tree-hashes", "the hashes of vendored trees' and wheelhouses' files"),
    ("answers", "the kept answers of build and check"),
)
_ASIDE: Final = ".removing-"  # a part being removed (one a killed clean left goes next time)


@dataclass(frozen=True, slots=True)
class CachePart:
    name: str  # its folder, relative to the cache folder
    holds: str
    files: int
    size: int  # bytes


def cache_parts(root: Path) -> list[CachePart]:
    """Each part of the cache folder `root`: its files and their bytes (none where it is not)."""
    return [CachePart(name, holds, *_measured(root / name)) for name, holds in PARTS]


def clean_cache(root: Path) -> tuple[int, int]:
    """Every part of the cache folder `root` removed, and what a killed clean left; the files and
    bytes that went (a part is first renamed aside: a run that looks into it meanwhile finds it
    whole or not at all)."""
    files = size = 0
    for name, _ in PARTS:
        part = root / name
        if part.is_dir() and not part.is_symlink():
            count, total = _measured(part)
            part.rename(root / f"{_ASIDE}{secrets.token_hex(8)}")
            files, size = files + count, size + total
    for aside in root.glob(f"{_ASIDE}*"):
        remove_tree(aside)
    return files, size


def _measured(folder: Path) -> tuple[int, int]:
    """The files below `folder` and their bytes (links not followed)."""
    sizes = []
    for path in tree(os.fspath(folder)):  # folders, files and links
        with contextlib.suppress(FileNotFoundError):  # gone meanwhile (or no folder at all)
            status = os.lstat(path)
            if not stat.S_ISDIR(status.st_mode):
                sizes.append(status.st_size)
    return len(sizes), sum(sizes)
