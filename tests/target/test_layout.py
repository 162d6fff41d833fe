"""The server layout: paths in the server's spelling, and the lib folder's PYTHONPATH entry."""

from __future__ import annotations

from vendorer.target.catalog import ProfileCatalog
from vendorer.target.layout import (
    FUNCTIONS_LIB,
    ORYX_LIB,
    SELF_LOADED,
    load_conditions,
    never_loaded,
    pythonpath_entry,
    server_path,
)

WINDOWS = ProfileCatalog().load("python361x64")
LINUX = ProfileCatalog().load("linux-python312")
FUNCTIONS = ProfileCatalog().load("functions-python311")


def test_server_paths_are_in_the_servers_spelling() -> None:
    assert server_path(WINDOWS, "lib/sub") == "D:\\home\\site\\wwwroot\\lib\\sub"
    assert server_path(LINUX, "lib/sub") == "/home/site/wwwroot/lib/sub"
    assert server_path(WINDOWS, "..", "wheelhouse") == "D:\\home\\site\\wwwroot\\..\\wheelhouse"


def test_the_pythonpath_entry_is_none_where_the_platform_loads_the_folder() -> None:
    assert pythonpath_entry(WINDOWS, "lib") == "D:\\home\\site\\wwwroot\\lib"
    assert pythonpath_entry(LINUX, "vendor/lib") == "/home/site/wwwroot/vendor/lib"
    assert pythonpath_entry(FUNCTIONS, FUNCTIONS_LIB) is None
    assert pythonpath_entry(LINUX, ORYX_LIB) is None
    for folder in SELF_LOADED:
        assert pythonpath_entry(WINDOWS, folder) is not None  # Windows loads none by itself


def test_each_platform_loads_only_its_own_folder() -> None:
    """Oryx loads __oryx_packages__ only, the Functions worker .python_packages only (and it
    replaces PYTHONPATH, so no other folder is ever loaded there)."""
    functions_lib = f"/home/site/wwwroot/{FUNCTIONS_LIB}"
    assert pythonpath_entry(LINUX, FUNCTIONS_LIB) == functions_lib
    assert never_loaded(LINUX, FUNCTIONS_LIB) is None  # a PYTHONPATH app setting loads it
    assert never_loaded(FUNCTIONS, FUNCTIONS_LIB) is None
    for folder in (ORYX_LIB, "lib"):
        reason = never_loaded(FUNCTIONS, folder)
        assert reason is not None and "replaces PYTHONPATH" in reason
    assert never_loaded(WINDOWS, "lib") is None


def test_what_must_hold_for_a_folder_to_load_by_itself() -> None:
    oryx = " ".join(load_conditions(LINUX, ORYX_LIB))
    assert "antenv" in oryx and "oryx-manifest.toml" in oryx
    assert "when the container starts" in oryx and "user site" in oryx
    assert "--no-build" in " ".join(load_conditions(FUNCTIONS, FUNCTIONS_LIB))
    assert load_conditions(LINUX, "vendor") == ()  # PYTHONPATH loads it, whatever Oryx does
    assert load_conditions(WINDOWS, "lib") == ()
