"""Print, as JSON, the facts vendorer needs about the Python that runs this script.

Standard library only, and runnable by Python 2.7 and 3.x: run it with the server's interpreter
(for example in the Kudu console: D:\\home\\python361x64\\python.exe capture.py > capture.json),
then turn its output into a profile with `vendorer profiles capture --from capture.json NAME`.
"""

from __future__ import print_function

import json
import os
import platform
import sys
import sysconfig

CONFIG_VARS = (
    "SOABI",
    "EXT_SUFFIX",
    "SO",
    "Py_DEBUG",
    "WITH_PYMALLOC",
    "Py_UNICODE_SIZE",
    "Py_GIL_DISABLED",
    "MULTIARCH",
)


def marker_environment():  # type: () -> dict[str, str]
    """The PEP 508 environment, computed the way the PEP's reference code does."""
    if hasattr(sys, "implementation"):
        info = sys.implementation.version
        version = "{0.major}.{0.minor}.{0.micro}".format(info)
        if info.releaselevel != "final":
            version += info.releaselevel[0] + str(info.serial)
        name = sys.implementation.name
    else:  # Python 2
        version, name = "0", ""
    return {
        "implementation_name": name,
        "implementation_version": version,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_python_implementation": platform.python_implementation(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


def glibc_version():  # type: () -> str
    """'glibc 2.31' on a glibc Linux, else ''."""
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (AttributeError, OSError, ValueError):  # Python 2 has no such name: ask libc itself
        pass
    try:
        import ctypes

        version = ctypes.CDLL(None).gnu_get_libc_version
        version.restype = ctypes.c_char_p
        return "glibc " + str(version().decode("ascii"))
    except (AttributeError, OSError, ImportError):
        return ""


def facts():  # type: () -> dict[str, object]
    paths = sysconfig.get_paths()
    return {
        "vendorer_capture": 1,
        "markers": marker_environment(),
        "version_info": list(sys.version_info[:3]),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "maxsize": sys.maxsize,
        "maxunicode": sys.maxunicode,
        "debug_build": hasattr(sys, "gettotalrefcount"),
        "sysconfig_platform": sysconfig.get_platform(),
        "config_vars": dict((key, sysconfig.get_config_var(key)) for key in CONFIG_VARS),
        "purelib": paths.get("purelib"),
        "platlib": paths.get("platlib"),
        "glibc": glibc_version(),
        "mac_ver": platform.mac_ver()[0],
        "home": os.environ.get("HOME", ""),
        "app_service": "WEBSITE_SITE_NAME" in os.environ,
        "functions": "FUNCTIONS_WORKER_RUNTIME" in os.environ,
        "wfastcgi": os.path.exists(os.path.join(sys.prefix, "wfastcgi.py")),
    }


if __name__ == "__main__":
    print(json.dumps(facts(), indent=2, sort_keys=True))
