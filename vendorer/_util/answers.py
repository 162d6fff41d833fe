"""A command that found everything true answers again at once while nothing it read has changed.

`vendorer check` on an unchanged app is what hooks and CI run most. When it finds everything true
it keeps its answer with the signature (lstat: mode, inode, device, size, mtime, ctime) of every
file and folder it read or looked for, and of vendorer's own files. Run again with the same
arguments, working folder, environment and Python, it prints that answer when every signature
still holds, before the rest of vendorer is imported. A folder's signature changes when an entry
is added, removed or renamed in it; a file's when it is written (the kernel sets the ctime, so an
mtime put back does not hide an edit). As git does with its index, an answer is kept only when
nothing it depends on changed within `SETTLED_NS` before the run began: an edit in the same tick
of a coarse clock (2 s on FAT) would leave size and times as they were.

Only the standard library is imported here, and no pathlib: this module runs before the rest of
vendorer, whose start it saves.
"""
# ruff: noqa: PTH100, PTH103, PTH105, PTH108, PTH109, PTH111, PTH117, PTH118, PTH120, PTH123

from __future__ import annotations

import marshal
import os
import sys
import time
from array import array
from stat import S_ISREG

TYPE_CHECKING = False  # typing and collections.abc are not imported to answer (2-5 ms)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

try:  # hashlib's BLAKE2, without loading OpenSSL for hashlib's other algorithms (3.5 ms)
    from _blake2 import blake2b
except ImportError:  # a Python without CPython's module
    from hashlib import blake2b

__all__ = ["STARTED_NS", "SWITCH", "keep", "replayed", "tree"]

STARTED_NS = time.time_ns()  # imported first thing by `vendorer.cli.main`
SETTLED_NS = 2_000_000_000
FORMAT = 3
SWITCH = "VENDORER_KEEP_ANSWERS"  # 0: answers are neither kept nor given
MAX_RECORD = 64 << 20
OWN = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the vendorer package

_SHELLS = frozenset({"_", "OLDPWD"})

# Each path's signature, six numbers: mode, inode, device, size, mtime, ctime (all 0: absent or
# unreadable); inode and device to 63 bits (they may use 64: an array of signed numbers)
FIELDS = 6
_63_BITS = (1 << 63) - 1


def replayed(argv: Sequence[str]) -> int | None:
    """When `argv` run here was answered before and nothing that answer read has changed: write
    the answer again and return its exit code (0); else None."""
    if not _enabled():
        return None
    try:
        record = marshal.loads(_read(_record_path(argv)))
        if record.get("context") != _context(argv):
            return None
        if _digest(_signatures(record["paths"].split("\0"))) != record["digest"]:
            return None
        streams = {"stdout": sys.stdout, "stderr": sys.stderr}
        said = [(streams[stream], str(text)) for stream, text in record["said"]]
    except (OSError, ValueError, EOFError, KeyError, TypeError, AttributeError):
        return None  # no answer, or one this version cannot read: the command runs
    for stream, text in said:
        stream.write(text)
        stream.flush()
    return 0


def keep(
    argv: Sequence[str], paths: Callable[[], Iterable[str]], said: Sequence[tuple[str, str]]
) -> None:
    """Remember that `argv` exited with 0 having `said` (each text with its stream, "stdout" or
    "stderr", in order) and read `paths()` (files and folders, present or not) as they are now,
    vendorer's own files (not `__pycache__`, which Python writes as it imports) and the folders
    it imports from (a package installed, upgraded or removed there changes them). Nothing is
    kept when one of them changed too recently to be trusted; a record that cannot be written is
    only time lost."""
    import contextlib  # here, not above: a command that is answered never needs it

    if _enabled():
        with contextlib.suppress(OSError):  # the working folder gone, a cache that is a file
            _keep(argv, paths, said)


def _keep(
    argv: Sequence[str], paths: Callable[[], Iterable[str]], said: Sequence[tuple[str, str]]
) -> None:
    if _folder() != _cache_folder():
        return  # where `replayed` looks is not vendorer's cache here: keep nothing
    own = [*tree(OWN, leave_out="__pycache__"), *(os.path.abspath(entry) for entry in sys.path)]
    listed = list(dict.fromkeys((*paths(), *own)))
    signatures = _signatures(listed)
    settled = STARTED_NS - SETTLED_NS
    if max(signatures[4::FIELDS] + signatures[5::FIELDS], default=0) >= settled:
        return
    record = {
        "context": _context(argv),
        "paths": "\0".join(listed),
        "digest": _digest(signatures),
        "said": said,
    }
    _write(_record_path(argv), marshal.dumps(record))


def _write(target: str, data: bytes) -> None:
    temporary = f"{target}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(temporary, "wb") as stream:
            stream.write(data)
        os.replace(temporary, target)
    except OSError:
        import contextlib

        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _enabled() -> bool:
    return os.environ.get(SWITCH, "").strip() != "0"


def tree(root: str, *, leave_out: str = "") -> list[str]:
    """`root` and every entry below it, links not followed; folders named `leave_out` are."""
    found = [root]
    try:
        entries = list(os.scandir(root))
    except OSError:
        return found
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            found.append(entry.path)
        elif entry.name != leave_out:
            found.extend(tree(entry.path, leave_out=leave_out))
    return found


def _read(path: str) -> bytes:
    """The record's bytes; an OSError for anything but a regular file of a sane size (a fifo
    there would block the read, a device never end it)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with open(fd, "rb") as stream:
        stat = os.fstat(fd)
        if not S_ISREG(stat.st_mode) or stat.st_size > MAX_RECORD:
            raise OSError(f"{path}: not a record")
        return stream.read()


def _signatures(paths: Iterable[str]) -> array[int]:
    """The signatures of `paths`, one after the other in one array (packed: a record of
    thousands of paths is hashed as one block of bytes, faster than as their `repr`)."""
    lstat = os.lstat
    found = array("q")
    add = found.extend
    for path in paths:
        try:
            stat = lstat(path)
        except (OSError, ValueError):
            add((0, 0, 0, 0, 0, 0))
            continue
        add((stat.st_mode, stat.st_ino & _63_BITS, stat.st_dev & _63_BITS, stat.st_size,
             stat.st_mtime_ns, stat.st_ctime_ns))  # fmt: skip
    return found


def _digest(signatures: array[int]) -> str:
    return blake2b(signatures).hexdigest()


def _context(argv: Sequence[str]) -> list[str]:
    """What else the answer depends on: the command line, the folder it ran in, the Python that
    ran it and the environment (as a digest: it may hold secrets), but for what shells keep for
    themselves (the last command, the folder before the last `cd`)."""
    environment = sorted(f"{k}={v}" for k, v in os.environ.items() if k not in _SHELLS)
    digest = _hash("\0".join(environment))
    return [str(FORMAT), *argv, "\0", os.getcwd(), sys.executable, sys.version, digest]


def _record_path(argv: Sequence[str]) -> str:
    return os.path.join(_folder(), _hash("\0".join([os.getcwd(), *argv]))[:16] + ".answer")


def _hash(text: str) -> str:
    return blake2b(text.encode(errors="surrogatepass")).hexdigest()


def _folder() -> str:
    """Where answers are kept: `answers` in VENDORER_CACHE_DIR, or in the user's cache folder
    as platformdirs names it on Linux and macOS, worked out without importing it (10 ms of a
    50 ms answer). `_keep` keeps nothing where platformdirs names another folder."""
    cache = os.environ.get("VENDORER_CACHE_DIR")
    if not cache:
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        home = "~/Library/Caches" if sys.platform == "darwin" else "~/.cache"
        cache = os.path.join(xdg if os.path.isabs(xdg) else os.path.expanduser(home), "vendorer")
    return os.path.join(cache, "answers")


def _cache_folder() -> str:
    """The answers folder in vendorer's cache, as the rest of vendorer finds it."""
    from platformdirs import user_cache_dir

    cache = os.environ.get("VENDORER_CACHE_DIR") or user_cache_dir("vendorer")
    return os.path.join(cache, "answers")
