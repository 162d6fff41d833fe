"""The manifest model: its text round-trips byte for byte, and every problem is reported at once."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from vendorer.install.manifest import (
    GITATTRIBUTES,
    MANIFEST,
    InvalidManifest,
    Manifest,
    ManifestError,
    VendoredDistribution,
    manifest_text,
    owned_paths,
    parse_manifest,
    read_manifest,
)

HELLO = VendoredDistribution(
    version="1.0",
    wheel="hello-1.0-py3-none-any.whl",
    wheel_sha256="a" * 40,
    files={"hello/__init__.py": "b" * 40, "hello-1.0.dist-info/RECORD": "c" * 40},
)
MANIFEST_MODEL = Manifest(
    profile="python361x64", lock_hash="h1", slim=False, distributions={"hello": HELLO}
)
# What vendorer has always written: keys sorted, one-space indent, a final newline.
TEXT = """{
 "distributions": {
  "hello": {
   "files": {
    "hello-1.0.dist-info/RECORD": "cccccccccccccccccccccccccccccccccccccccc",
    "hello/__init__.py": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
   },
   "version": "1.0",
   "wheel": "hello-1.0-py3-none-any.whl",
   "wheel_sha256": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
  }
 },
 "format": 1,
 "lock_hash": "h1",
 "profile": "python361x64",
 "slim": false
}
"""


def test_the_text_is_the_format_vendorer_always_wrote() -> None:
    assert manifest_text(MANIFEST_MODEL) == TEXT


def test_text_and_dict_round_trip() -> None:
    assert parse_manifest(TEXT) == MANIFEST_MODEL
    assert manifest_text(parse_manifest(TEXT)) == TEXT
    assert Manifest.from_dict(MANIFEST_MODEL.to_dict()) == MANIFEST_MODEL
    assert VendoredDistribution.from_dict(HELLO.to_dict()) == HELLO
    empty = Manifest(profile="p", lock_hash="", slim=True, distributions={})
    assert parse_manifest(manifest_text(empty)) == empty


def test_the_model_is_frozen_through_and_through() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        MANIFEST_MODEL.profile = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        MANIFEST_MODEL.distributions["other"] = HELLO  # type: ignore[index]
    with pytest.raises(TypeError):
        HELLO.files["other.py"] = "d" * 64  # type: ignore[index]


def test_owned_paths_and_files() -> None:
    assert MANIFEST_MODEL.files() == dict(HELLO.files)
    assert owned_paths(MANIFEST_MODEL) == {MANIFEST, GITATTRIBUTES, *HELLO.files}
    assert owned_paths(None) == {MANIFEST, GITATTRIBUTES}


def test_every_problem_is_reported_at_once() -> None:
    data: dict[str, Any] = {
        "format": 1,
        "lock_hash": 7,
        "slim": "no",
        "distributions": {
            "good": HELLO.to_dict(),
            "listed": [],
            "partial": {"version": None, "wheel_sha256": "a", "files": {"a.py": 1, "b.py": "x"}},
            "no-files": {"version": "1", "wheel": "w", "wheel_sha256": "a", "files": ["a.py"]},
        },
    }
    with pytest.raises(InvalidManifest) as raised:
        Manifest.from_dict(data)
    assert raised.value.problems == (
        "profile: missing",
        "lock_hash: must be a string, not a number",
        "slim: must be true or false, not a string",
        "distributions.listed: must be an object, not an array",
        "distributions.partial.version: must be a string, not null",
        "distributions.partial.wheel: missing",
        "distributions.partial.files.a.py: must be a string, not a number",
        "distributions.no-files.files: must be an object, not an array",
    )
    assert str(raised.value) == (
        "profile: missing; lock_hash: must be a string, not a number; slim: must be true or "
        "false, not a string; its distributions are malformed: distributions.listed: must be an "
        "object, not an array; distributions.partial.version: must be a string, not null; "
        "distributions.partial.wheel: missing; distributions.partial.files.a.py: must be a "
        "string, not a number; distributions.no-files.files: must be an object, not an array"
    )


def test_a_distributions_value_that_is_not_an_object_is_named() -> None:
    data = {**MANIFEST_MODEL.to_dict(), "distributions": []}
    with pytest.raises(InvalidManifest, match="its distributions are malformed: distributions: "):
        Manifest.from_dict(data)
    with pytest.raises(InvalidManifest) as raised:
        VendoredDistribution.from_dict({"version": "1", "wheel": "w", "wheel_sha256": "a"})
    assert raised.value.problems == ("files: missing",)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "not JSON: Expecting property name enclosed in double quotes"),
        ("[]", "not a vendorer manifest of format 1"),
        ('{"distributions": {}}', "not a vendorer manifest of format 1"),
        ('{"format": "1"}', "not a vendorer manifest of format 1"),
        ('{"format": true}', "not a vendorer manifest of format 1"),
        ('{"format": 1.0}', "not a vendorer manifest of format 1"),
        ('{"format": 0}', "not a vendorer manifest of format 1"),
        ('{"format": 7, "distributions": 3}', "written by a newer vendorer, format 7: upgrade"),
    ],
)
def test_a_manifest_of_another_format_is_one_problem(text: str, problem: str) -> None:
    with pytest.raises(InvalidManifest) as raised:
        parse_manifest(text)
    assert len(raised.value.problems) == 1
    assert raised.value.problems[0].startswith(problem)
    assert isinstance(raised.value, ValueError)  # what an upload treats as "unreadable"


def test_read_manifest_says_what_to_do(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    assert read_manifest(lib) is None
    data = {**MANIFEST_MODEL.to_dict(), "slim": None}
    (lib / MANIFEST).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ManifestError) as raised:
        read_manifest(lib)
    assert raised.value.reason == "slim: must be true or false, not null"
    assert str(raised.value) == (
        f"{lib / MANIFEST} cannot be used (slim: must be true or false, not null); nothing was "
        f"changed. Restore it (`git checkout -- lib/{MANIFEST}`), or move the folder away and run "
        "`vendorer vendor`"
    )
    (lib / MANIFEST).write_text(TEXT, encoding="utf-8")
    assert read_manifest(lib) == MANIFEST_MODEL
