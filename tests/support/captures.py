"""What the capture script prints on a real server, for the servers tests cannot reach."""

from __future__ import annotations

from typing import Any

from vendorer.target.catalog import ProfileCatalog
from vendorer.target.profile import profile_to_dict


def windows_site_facts() -> dict[str, Any]:
    """Facts as the script prints them on App Service's python361x64 (values from its
    sysconfig)."""
    return {
        "vendorer_capture": 1,
        "markers": profile_to_dict(ProfileCatalog().load("python361x64"))["markers"],
        "version_info": [3, 6, 1],
        "executable": "D:\\home\\python361x64\\python.exe",
        "prefix": "D:\\home\\python361x64",
        "maxsize": 2**63 - 1,
        "maxunicode": 0x10FFFF,
        "debug_build": False,
        "sysconfig_platform": "win-amd64",
        "config_vars": {"SOABI": None, "EXT_SUFFIX": ".cp36-win_amd64.pyd", "Py_DEBUG": None},
        "purelib": "D:\\home\\python361x64\\Lib\\site-packages",
        "glibc": "",
        "mac_ver": "",
        "home": "D:\\home",
        "app_service": True,
        "functions": False,
        "wfastcgi": True,
    }
