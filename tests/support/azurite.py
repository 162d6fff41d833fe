"""Azurite, the Azure Storage emulator (npm `azurite`), blob service only, on loopback.

Found at `VENDORER_AZURITE_BLOB`, else `.ci/node_modules/.bin/azurite-blob` (what `bash .ci/run`
installs from `.ci/package.json` with `npm ci --prefix .ci`), else `azurite-blob` on PATH;
`find_azurite()` is None without it, and the `azurite` fixture then skips. Started as research
§11 says: `azurite-blob --location <dir> --blobHost 127.0.0.1 --blobPort 0 --skipApiVersionCheck
--disableTelemetry --silent`; the port is read from its "successfully listens on" line. The
well-known development account `devstoreaccount1` and its key come from Azurite's
`blob/utils/constants.ts`; blob URLs are path-style
(`http://127.0.0.1:<port>/devstoreaccount1/<container>/<blob>`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Self

ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
REPOSITORY = Path(__file__).resolve().parents[2]
MISSING = (
    "Azurite is not installed: run `npm ci --prefix .ci` in the repository "
    "(bash .ci/run does), or set VENDORER_AZURITE_BLOB to an azurite-blob program"
)
_LISTENING = re.compile(r"successfully listens on (http://127\.0\.0\.1:(\d+))")


def find_azurite() -> Path | None:
    configured = os.environ.get("VENDORER_AZURITE_BLOB")
    if configured:
        return Path(configured)
    installed = REPOSITORY / ".ci/node_modules/.bin/azurite-blob"
    if installed.exists():
        return installed
    found = shutil.which("azurite-blob")
    return Path(found) if found else None


class Azurite:
    """`with Azurite(program, folder) as storage:` a running blob service; stopped after."""

    def __init__(self, program: Path, folder: Path, *, start_timeout: float = 60) -> None:
        self.program = program
        self.folder = folder
        self.start_timeout = start_timeout
        self.account = ACCOUNT
        self.key = KEY
        self.blob_endpoint = ""
        self.started_in = 0.0  # seconds from spawn to listening
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account};AccountKey={self.key};"
            f"BlobEndpoint={self.blob_endpoint};"
        )

    def __enter__(self) -> Self:
        data, output = self.folder / "data", self.folder / "azurite.out"
        data.mkdir(parents=True, exist_ok=True)
        command = [
            str(self.program),
            "--location",
            str(data),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            "0",
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--silent",
        ]
        began = time.monotonic()
        with output.open("wb") as sink:  # a file, not a pipe: nothing can fill up and block it
            self._process = subprocess.Popen(
                command, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        try:
            self.blob_endpoint = self._wait_for_port(output) + f"/{self.account}"
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        return self

    def _wait_for_port(self, output: Path) -> str:
        deadline = time.monotonic() + self.start_timeout
        assert self._process is not None
        while time.monotonic() < deadline:
            match = _LISTENING.search(output.read_text(errors="replace"))
            if match:
                return match.group(1)
            if self._process.poll() is not None:
                raise RuntimeError(f"azurite-blob exited: {output.read_text(errors='replace')}")
            time.sleep(0.02)
        raise RuntimeError(f"azurite-blob did not listen within {self.start_timeout} s")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
