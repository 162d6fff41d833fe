"""The cache of unpacked wheels: copied into the trees that need a wheel again.

A wheel's files as vendoring wrote them (for one target's interpreter and launchers, with or
without --slim) are kept in `<cache>/unpacked/<key>/` the second time this machine unpacks that
wheel: the first time only its key is noted, so that a build from empty caches writes each file
once. A tree that needs the wheel again gets copies (made in the kernel, and cloned where the
filesystem can), written under unpacking's rules (over nothing, through no link), with the
sha256s the wheel's RECORD gave when it was unpacked. Never a link: an edit in one app's tree
changes no other app's. Each kept file must still be as it was kept: its size, times and inode
unchanged (as vendorer's no-op path trusts a tree), or else its copy's sha256 the one kept (an
entry restored from a backup or a CI cache, then signed anew). An entry that is not is removed,
and the wheel unpacked from its file. Entries and notes not used for `UNUSED_DAYS` are removed
by a run that keeps another.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from vendorer._util.files import copy_to_new_file, open_to_read, sha256_of, write_text_atomic
from vendorer.install.errors import writing
from vendorer.install.libfolder import remove_tree
from vendorer.install.placing import install_files
from vendorer.target.profile import Profile

__all__ = ["UnpackedCache"]

FORMAT: Final = 1  # of an entry, and of what its key covers
UNUSED_DAYS: Final = 30
RECORD: Final = "record.json"  # path below `FILES` -> [sha256, signature...]: written last
FILES: Final = "files"
NOTES: Final = "seen"
_TEMPORARY: Final = ".tmp-"

Files = dict[str, str]  # path -> sha256, hex


class UnpackedCache:
    """The unpacked wheels kept in `root`, as vendoring writes them for `profile` (`slim` or
    not)."""

    def __init__(self, root: Path, profile: Profile, *, slim: bool) -> None:
        self._root, self._profile, self._slim = root, profile, slim
        self._swept = False  # entries not used for long: removed by the first keep of a run

    def _key(self, sha256: str) -> str:
        """What an entry's files depend on: the wheel, the launchers' interpreter and kind,
        --slim."""
        server = self._profile.server
        parts = [FORMAT, sha256, server.python, server.launcher, self._slim]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]

    def has(self, sha256: str) -> bool:
        """Whether the wheel `sha256` is kept (whether it is whole is seen as it is copied)."""
        return (self._root / self._key(sha256) / RECORD).is_file()

    def copy_into(self, sha256: str, target: Path, shown: str) -> Files | None:
        """The kept files of the wheel `sha256` (named `shown` in what is said) copied into
        `target`; their sha256s. None if it is not kept, or if a kept file changed since (the
        entry is then removed, and so is whatever was copied). A write that fails, or a path
        taken in `target`, is the VendorError unpacking would raise."""
        entry = self._root / self._key(sha256)
        try:
            kept = _read_record(entry / RECORD)
        except FileNotFoundError:  # not kept
            return None
        except (OSError, ValueError):  # its record is damaged: removed, kept again later
            with contextlib.suppress(OSError):
                remove_tree(entry)
            return None
        copied: dict[str, os.stat_result | None] = {}
        with contextlib.suppress(OSError):  # opening a kept file: gone, or unreadable
            install_files(entry / FILES, kept, target, shown, copied)
        if len(copied) == len(kept) and _as_kept(kept, copied, target):
            with contextlib.suppress(OSError):  # marked as used: not removed as unused
                if (signed := _record(kept, copied)) != kept:
                    write_text_atomic(entry / RECORD, json.dumps(signed))  # next time: fast
                else:
                    os.utime(entry / RECORD)
            return {path: str(value[0]) for path, value in kept.items()}
        for relative in copied:  # written by this copy
            with writing(target / relative):
                (target / relative).unlink()
        with contextlib.suppress(OSError):
            remove_tree(entry)
        return None

    def keep(self, sha256: str, source: Path, files: Mapping[str, str]) -> bool:
        """The wheel `sha256` was unpacked into `source`, writing `files` (their sha256s, each
        checked against its RECORD): noted the first time, its files kept the second; whether
        they were copied now. A cache that cannot be written costs time, no more: never
        raises."""
        key = self._key(sha256)
        note = self._root / NOTES / key
        with contextlib.suppress(OSError):
            if self.has(sha256):
                return False
            if not note.is_file():
                note.parent.mkdir(parents=True, exist_ok=True)
                note.touch()
                return False
            if not self._swept:  # once a run
                self._swept = True
                self._remove_unused()
            self._fill(key, source, files)
            return True
        return False

    def _fill(self, key: str, source: Path, files: Mapping[str, str]) -> None:
        """A new entry: its files copied into a temporary folder, then renamed into place whole
        (one that another run kept meanwhile stays)."""
        temporary = self._root / f"{_TEMPORARY}{secrets.token_hex(8)}"
        record: dict[str, list[object]] = {}
        made: set[str] = set()
        try:
            for relative, sha256 in files.items():
                copy = os.path.join(temporary, FILES, relative)
                if (folder := os.path.dirname(copy)) not in made:
                    os.makedirs(folder, exist_ok=True)
                    made.add(folder)
                _copy_file(os.path.join(source, relative), copy)
                record[relative] = [sha256, *_signature(os.stat(copy))]
            (temporary / RECORD).write_text(json.dumps(record), encoding="utf-8")
            temporary.rename(self._root / key)
        finally:
            if temporary.exists():
                remove_tree(temporary)

    def _remove_unused(self) -> None:
        """Entries and notes not used for `UNUSED_DAYS`, and what runs killed while keeping an
        entry left a day ago."""
        now = time.time()
        for path in [*self._root.iterdir(), *(self._root / NOTES).iterdir()]:
            if path.name == NOTES:
                continue
            temporary = path.name.startswith(_TEMPORARY)
            used = path if temporary or path.parent.name == NOTES else path / RECORD
            with contextlib.suppress(OSError):
                if now - used.lstat().st_mtime > (1 if temporary else UNUSED_DAYS) * 86400:
                    remove_tree(path)


def _copy_file(source: str, copy: str) -> None:
    """`source` copied to the new file `copy`, mode and all (in the kernel where it can)."""
    original = open_to_read(source)
    try:
        status = os.fstat(original)
        if copy_to_new_file(original, status, copy) != status.st_size:
            raise OSError(errno.EIO, "the file got shorter while it was copied", source)
    finally:
        os.close(original)


def _as_kept(
    kept: Mapping[str, list[object]], copied: Mapping[str, os.stat_result | None], target: Path
) -> bool:
    """Whether every file copied into `target` is as it was kept: its source's signature
    unchanged, or else (an entry copied or restored from a backup: new inodes and times) the
    copy's sha256 the one kept."""
    for path, status in copied.items():
        if status is None:
            return False
        if _signature(status) != kept[path][1:] and sha256_of(target / path) != kept[path][0]:
            return False
    return True


def _record(
    kept: Mapping[str, list[object]], copied: Mapping[str, os.stat_result | None]
) -> dict[str, list[object]]:
    """The record of an entry whose files were `copied` as they are now."""
    return {
        path: [value[0], *_signature(status)] if (status := copied[path]) else value
        for path, value in kept.items()
    }


def _signature(status: os.stat_result) -> list[object]:
    """What changes when a file is written to, replaced or has its mode changed."""
    return [status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino]


def _read_record(path: Path) -> dict[str, list[object]]:
    """path -> [sha256, signature...]; a ValueError for anything else."""
    record = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(record, dict) or not all(
        _safe_path(relative) and isinstance(value, list) and value and isinstance(value[0], str)
        for relative, value in record.items()
    ):
        raise ValueError(f"{path} is not a record of kept files")
    return record


def _safe_path(relative: object) -> bool:
    """A relative path below the entry's folder (judged as a string: a PurePosixPath for each
    of a tree's thousands of files was a tenth of its copying)."""
    if not isinstance(relative, str) or not relative or relative.startswith("/"):
        return False
    return ".." not in relative.split("/") and "\\" not in relative
