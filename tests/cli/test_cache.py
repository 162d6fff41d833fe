"""`vendorer cache dir | info | clean`: the cache folder a build filled, measured and emptied,
only vendorer's parts of it, and a build from the emptied cache."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import make_app, vendorer
from tests.support.dists import make_wheel
from tests.support.index import StaticIndex


def _info() -> dict[str, dict[str, int]]:
    result = vendorer("cache", "info", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["folder"] == os.environ["VENDORER_CACHE_DIR"]
    return {part["name"]: part for part in document["parts"]}


def test_dir_says_where_the_cache_is() -> None:
    result = vendorer("cache", "dir")
    assert (result.returncode, result.stdout) == (0, os.environ["VENDORER_CACHE_DIR"] + "\n")


def test_a_cache_a_build_filled_is_measured_then_emptied_of_vendorers_parts_only(
    tmp_path: Path, static_index: Callable[..., StaticIndex]
) -> None:
    dists = tmp_path / "dists"
    make_wheel(dists, "helper", "1.0")
    app = make_app(tmp_path / "app", static_index(dists).url, "helper", profile="linux-python312")
    assert vendorer("build", cwd=app).returncode == 0
    cache = Path(os.environ["VENDORER_CACHE_DIR"])
    parts = _info()
    on_disk = {
        name: [path.stat().st_size for path in (cache / name).rglob("*") if path.is_file()]
        for name in parts
    }
    assert {name: (part["files"], part["bytes"]) for name, part in parts.items()} == {
        name: (len(sizes), sum(sizes)) for name, sizes in on_disk.items()
    }
    assert parts["http/pages"]["files"] >= 1 and parts["http/files"]["files"] >= 1
    kept_by_you = cache / "notes.txt"
    kept_by_you.write_text("not vendorer's\n", encoding="utf-8")
    (cache / ".removing-0123456789abcdef" / "half").mkdir(parents=True)  # a killed clean's
    files = sum(part["files"] for part in parts.values())
    size = sum(part["bytes"] for part in parts.values())

    cleaned = vendorer("cache", "clean")
    assert cleaned.returncode == 0, cleaned.stderr
    assert f"removed {files:,} files ({size / 1e6:,.1f} MB) from {cache}" in cleaned.stderr
    assert all(part["files"] == 0 for part in _info().values())
    assert sorted(path.name for path in cache.iterdir()) == ["http", "notes.txt"]
    shutil.rmtree(app / "wheelhouse")
    assert vendorer("build", cwd=app).returncode == 0  # the wheel fetched again, and cached
    assert _info()["http/files"]["files"] >= 1


def test_a_cache_folder_that_is_a_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a-file"
    path.write_text("", encoding="utf-8")
    monkeypatch.setenv("VENDORER_CACHE_DIR", str(path))
    result = vendorer("cache", "clean")
    assert result.returncode == 2
    assert "cannot be a folder" in result.stderr and "Traceback" not in result.stderr
    assert path.is_file()
