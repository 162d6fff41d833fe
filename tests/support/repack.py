"""Real wheels of distributions installed in the test venv (gunicorn, azure-functions, ...).

`repack_installed(name, folder)` writes the wheel the installed distribution came from, as far
as its files tell: every file its RECORD lists inside site-packages, read from disk, with the
`.dist-info` files it was installed with, the tags of its `WHEEL` file in the wheel's name, and a
new RECORD whose sha256 and size match each file (so `installer` and vendorer accept it). Left
out: bytecode, files outside site-packages (the console scripts an installer wrote: the next
installer writes them again from `entry_points.txt`) and the installer's own records
(`INSTALLER`, `REQUESTED`, `direct_url.json`, the old `RECORD`).
"""

from __future__ import annotations

from importlib.metadata import Distribution, distribution
from pathlib import Path

from tests.support.dists import escaped, escaped_version, record_hash, write_zip

__all__ = ["compressed_tag", "repack_installed"]

_INSTALLER_FILES = frozenset({"INSTALLER", "REQUESTED", "direct_url.json", "RECORD"})


def repack_installed(name: str, folder: Path) -> Path:
    """The wheel of the installed distribution `name`, written into `folder`."""
    dist = distribution(name)
    members = _members(dist)
    dist_info = next(path.split("/")[0] for path in members if ".dist-info/" in path)
    record = [f"{path},{record_hash(data)},{len(data)}" for path, data in members.items()]
    record.append(f"{dist_info}/RECORD,,")
    members[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel_text = dist.read_text("WHEEL") or ""
    tags = [
        line.split(":", 1)[1].strip() for line in wheel_text.splitlines() if line.startswith("Tag:")
    ]
    stem = f"{escaped(dist.metadata['Name'])}-{escaped_version(dist.version)}"
    filename = f"{stem}-{compressed_tag(tags)}.whl"
    folder.mkdir(parents=True, exist_ok=True)
    return write_zip(folder / filename, members)


def _members(dist: Distribution) -> dict[str, bytes]:
    """The files to pack, the package's first and its `.dist-info` last, each in path order."""
    files: dict[str, bytes] = {}
    dist_info: dict[str, bytes] = {}
    for file in dist.files or ():
        parts = file.parts
        if parts[0] == ".." or "__pycache__" in parts or file.suffix == ".pyc":
            continue
        in_dist_info = parts[0].endswith(".dist-info")
        if in_dist_info and len(parts) == 2 and parts[1] in _INSTALLER_FILES:
            continue
        target = dist_info if in_dist_info else files
        target[file.as_posix()] = Path(str(dist.locate_file(file))).read_bytes()
    return dict(sorted(files.items())) | dict(sorted(dist_info.items()))


def compressed_tag(tags: list[str]) -> str:
    """The compressed tag set of a wheel's name (`cp311-cp311-manylinux_2_17_x86_64.manylinux
    2014_x86_64`) for `tags`, which must be every combination of their parts."""
    parts = [tag.split("-") for tag in tags]
    interpreters, abis, platforms = (list(dict.fromkeys(p[i] for p in parts)) for i in range(3))
    combinations = {f"{i}-{a}-{p}" for i in interpreters for a in abis for p in platforms}
    if not tags or combinations != set(tags):
        raise ValueError(f"tags {tags} are not one compressed tag set")
    return "-".join(".".join(values) for values in (interpreters, abis, platforms))
