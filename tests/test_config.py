"""[tool.vendorer] in the app's pyproject.toml, and command-line overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from vendorer.config import load_settings
from vendorer.errors import ConfigError


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
