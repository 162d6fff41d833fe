"""The server layout: paths in the server's spelling, and the lib folder's PYTHONPATH entry."""

from __future__ import annotations

from vendorer.target.catalog import ProfileCatalog
from vendorer.target.layout import SELF_LOADED, pythonpath_entry, server_path

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
    for folder in SELF_LOADED:
        assert pythonpath_entry(FUNCTIONS, folder) is None
        assert pythonpath_entry(LINUX, folder) is None
        assert pythonpath_entry(WINDOWS, folder) is not None  # Windows loads none by itself
