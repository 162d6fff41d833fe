"""[tool.vendorer] in the app's pyproject.toml, and command-line overrides."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vendorer.errors import ConfigError
from vendorer.inputs.settings import load_settings


def test_defaults_without_a_pyproject(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert settings.profile is None
    assert settings.requirements == tmp_path / "requirements.txt"
    assert settings.wheelhouse == tmp_path / "wheelhouse"
    assert settings.lib_dir is None


def test_requirements_in_is_used_when_it_is_the_only_file(tmp_path: Path) -> None:
    (tmp_path / "requirements.in").write_text("flask\n", encoding="utf-8")
    assert load_settings(tmp_path).requirements == tmp_path / "requirements.in"


def test_tool_table_is_read_and_options_override_it(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.vendorer]\n"
        'profile = "python361x64"\n'
        'requirements = "deploy/requirements.txt"\n'
        'lib-dir = "site_lib"\n'
        'index-url = "https://example.invalid/simple/"\n'
        'find-links = ["wheels", "https://example.invalid/links/"]\n'
        'keyring-provider = "subprocess"\n'
        'index-strategy = "first-index"\n',
        encoding="utf-8",
    )
    settings = load_settings(tmp_path)
    assert settings.keyring_provider == "subprocess"
    assert settings.index_strategy == "first-index"
    assert settings.profile == "python361x64"
    assert settings.requirements == tmp_path / "deploy" / "requirements.txt"
    assert settings.lib_dir == "site_lib"
    assert settings.find_links == (str(tmp_path / "wheels"), "https://example.invalid/links/")
    overridden = load_settings(tmp_path, {"profile": "linux-python312", "lib_dir": None})
    assert overridden.profile == "linux-python312"
    assert overridden.lib_dir == "site_lib"


def test_unknown_and_mistyped_keys_are_all_reported(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.vendorer]\nprofil = "x"\nfind-links = "wheels"\nprofile = 3\n'
        'keyring-provider = "import"\nindex-strategy = "random"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    message = str(caught.value)
    assert "profil: unknown key" in message
    assert "find-links: must be a list of strings" in message
    assert "profile: must be a string" in message
    assert "keyring-provider: one of disabled, subprocess" in message
    assert "index-strategy: one of unsafe-best-match, first-index" in message


def test_a_syntax_error_in_pyproject_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.vendorer\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"pyproject.toml:1:\d+: TOML syntax error"):
        load_settings(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('tool = "x"\n', "[tool] must be a table, not a string"),
        ("tool = [1]\n", "[tool] must be a table, not a list"),
        ("[[tool]]\nvendorer = 1\n", "[tool] must be a table, not a list"),
        ("[tool]\nvendorer = 3\n", "[tool.vendorer] must be a table, not an integer"),
        ("[[tool.vendorer]]\nprofile = 'x'\n", "[tool.vendorer] must be a table, not a list"),
    ],
)
def test_tool_tables_of_the_wrong_type(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    assert str(caught.value) == f"{tmp_path / 'pyproject.toml'}: {message}"


STRING_KEYS = ("profile", "requirements", "lib-dir", "wheelhouse", "index-url",
               "index-strategy", "keyring-provider")  # fmt: skip
LIST_KEYS = ("extra-index-urls", "find-links")


@pytest.mark.parametrize(
    ("value", "kind"), [("3", "an integer"), ("{ a = 1 }", "a table"), ("[1, 2]", "a list")]
)
def test_every_key_of_the_wrong_type_is_named_with_what_it_holds(
    tmp_path: Path, value: str, kind: str
) -> None:
    keys = STRING_KEYS + LIST_KEYS
    text = "[tool.vendorer]\n" + "".join(f"{key} = {value}\n" for key in keys)
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    message = str(caught.value)
    for key in STRING_KEYS:
        assert f"  {key}: must be a string, not {kind}\n" in f"{message}\n"
    for key in LIST_KEYS:
        expected = "and holds an integer" if value == "[1, 2]" else f"not {kind}"
        assert f"  {key}: must be a list of strings, {expected}" in message


def test_empty_strings_are_refused(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.vendorer]\nprofile = ""\nwheelhouse = " "\nfind-links = ["wheels", ""]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    message = str(caught.value)
    assert "profile: must not be empty (leave the key out instead)" in message
    assert "wheelhouse: must not be empty" in message
    assert "find-links: '' is empty" in message  # the URL rules' words


def _odd(path: Path, kind: str) -> None:
    """Put a pyproject.toml of an odd kind at `path`."""
    text = '[tool.vendorer]\nprofile = "python361x64"  # café\n'
    if kind == "folder":
        path.mkdir()
    elif kind == "dangling-link":
        path.symlink_to(path.parent / "elsewhere.toml")
    elif kind == "link-loop":
        path.symlink_to(path.name)
    else:
        data = {
            "binary": bytes(range(128, 256)),
            "utf-16": text.encode("utf-16"),
            "utf-16-no-bom": text.encode("utf-16-le"),
            "latin-1": text.encode("latin-1"),
        }
        path.write_bytes(data[kind])


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("binary", ":1: not UTF-8 text (byte 0x80); it may be binary or in another encoding: "
                   "save it as UTF-8"),
        ("utf-16", ": UTF-16 text, but this file must be UTF-8 (as TOML requires); save it as "
                   "UTF-8"),
        ("utf-16-no-bom", ": holds NUL characters: a binary file, or UTF-16 without a "
                          "byte-order mark, not text; save it as UTF-8"),
        ("latin-1", ":2: not UTF-8 text (byte 0xe9); it may be binary or in another encoding: "
                    "save it as UTF-8"),
        ("folder", " is a folder, not a file; name the file"),
        ("dangling-link", ": a symbolic link to {parent}/elsewhere.toml, which does not exist; "
                          "fix or remove the link"),
        ("link-loop", ": cannot read it (Too many levels of symbolic links)"),
    ],
)  # fmt: skip
def test_a_pyproject_that_cannot_be_read_is_one_error_naming_it(
    tmp_path: Path, kind: str, message: str
) -> None:
    path = tmp_path / "pyproject.toml"
    _odd(path, kind)
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    assert str(caught.value) == f"{path}{message.format(parent=tmp_path)}"


def test_a_pyproject_with_a_utf8_byte_order_mark_is_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes(
        b'\xef\xbb\xbf[tool.vendorer]\nprofile = "python361x64"\n'
    )
    assert load_settings(tmp_path).profile == "python361x64"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x = " + "[" * 5000 + "]" * 5000, "cannot be read: nested too deeply"),
        ("x = " + "9" * 5000, "cannot be read: Exceeds the limit (4300 digits) for integer"),
    ],
)
def test_a_pyproject_too_deep_or_too_large_to_parse(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(tmp_path)
