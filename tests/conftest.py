"""Fixtures: real indexes on loopback over folders of distributions the tests build.

Measured here: pypiserver starts in 0.15 s (median of 15; 0.12 to 0.21 s) and stops in 3 ms; a
StaticIndex starts at once and stops in 0.05 s. So each test may start its own over its own folder;
a module whose tests only add files can share one pypiserver through `module_pypi_server`.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.support.arm import ArmServer
from tests.support.azure import AzureSite
from tests.support.azurite import MISSING, Azurite, find_azurite
from tests.support.entra import (
    ARM_AUDIENCE,
    ARM_CLASSIC_AUDIENCE,
    SCM_AUDIENCE,
    STORAGE_AUDIENCE,
    FakeAz,
    StandInCredential,
)
from tests.support.index import PypiServer, StaticIndex


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own vendorer cache: nothing leaks between tests or from the user."""
    monkeypatch.setenv("VENDORER_CACHE_DIR", str(tmp_path / "vendorer-cache"))
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))


@pytest.fixture
def dist_dir(tmp_path: Path) -> Path:
    """An empty folder for the test's distributions."""
    folder = tmp_path / "dists"
    folder.mkdir()
    return folder


@pytest.fixture
def pypi_server() -> Iterator[Callable[[Path], PypiServer]]:
    """Start the real pypiserver over a folder: `server = pypi_server(folder)`; stopped after."""
    with ExitStack() as stack:

        def start(root: Path) -> PypiServer:
            return stack.enter_context(PypiServer(root))

        yield start


@pytest.fixture(scope="module")
def module_pypi_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PypiServer]:
    """One pypiserver for the whole module over its own folder (`.root`).

    Tests add their files to `.root` (it serves them at once) and see the other tests' files:
    give each test its own project names.
    """
    with PypiServer(tmp_path_factory.mktemp("pypi")) as server:
        yield server


@pytest.fixture
def static_index() -> Iterator[Callable[..., StaticIndex]]:
    """Start a static PEP 691/503 index: `index = static_index(folder, yanked={...})`."""
    with ExitStack() as stack:

        def start(
            root: Path,
            *,
            yanked: Mapping[str, str] | None = None,
            metadata: bool = True,
            ranges: bool = True,
            auth: tuple[str, str] | None = None,
        ) -> StaticIndex:
            return stack.enter_context(
                StaticIndex(root, yanked=yanked, metadata=metadata, ranges=ranges, auth=auth)
            )

        yield start


@pytest.fixture
def keyring_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str, str, str], None]:
    """The real `keyring` command on PATH, over a plain-file backend in the test's folder."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "keyring-data"))

    def store(service: str, user: str, password: str) -> None:
        subprocess.run(["keyring", "set", service, user], input=f"{password}\n", text=True,
                       check=True, capture_output=True)  # fmt: skip

    return store


@pytest.fixture
def azure_credential() -> StandInCredential:
    """A credential object with one token per audience: ARM (both of its names), the SCM site,
    Storage. The ARM stand-in takes every one of them; SCM sites take the SCM and ARM ones."""
    return StandInCredential.for_audiences(
        ARM_AUDIENCE, ARM_CLASSIC_AUDIENCE, SCM_AUDIENCE, STORAGE_AUDIENCE
    )


@pytest.fixture
def arm_server(azure_credential: StandInCredential) -> Iterator[ArmServer]:
    """The ARM stand-in, accepting the credential's tokens."""
    with ArmServer(tokens=azure_credential.tokens.values()) as arm:
        yield arm


@pytest.fixture
def azure_site(
    tmp_path: Path, arm_server: ArmServer, azure_credential: StandInCredential
) -> Iterator[Callable[..., AzureSite]]:
    """`site = azure_site("linux", **options)`: a site of that plan (tests/support/azure.py
    PLANS) in `arm_server`, with its Kudu and app servers; its SCM site takes the credential's
    SCM and ARM tokens (research §10: production clients send both). Stopped after the test."""
    numbers = itertools.count()
    scm_tokens = tuple(
        azure_credential.token(audience)
        for audience in (SCM_AUDIENCE, ARM_AUDIENCE, ARM_CLASSIC_AUDIENCE)
    )
    with ExitStack() as stack:

        def start(plan: str, **options: Any) -> AzureSite:
            number = next(numbers)
            options.setdefault("scm_tokens", scm_tokens)
            options.setdefault("name", f"standin-app{number or ''}")
            home = tmp_path / f"azure-site{number}" / "home"
            return stack.enter_context(AzureSite(arm_server, home, plan, **options))

        yield start


@pytest.fixture
def azurite(tmp_path: Path) -> Iterator[Azurite]:
    """A running Azurite blob service (its own folder); skips when Azurite is not installed.

    It starts in 0.7 to 2.5 s (more on a busy machine): a module whose tests keep to their own
    containers or blob names can share one through `module_azurite`."""
    program = find_azurite()
    if program is None:
        pytest.skip(MISSING)
    with Azurite(program, tmp_path / "azurite") as storage:
        yield storage


@pytest.fixture(scope="module")
def module_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """One Azurite for the whole module (see `azurite`)."""
    program = find_azurite()
    if program is None:
        pytest.skip(MISSING)
    with Azurite(program, tmp_path_factory.mktemp("azurite")) as storage:
        yield storage


@pytest.fixture
def fake_az(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, azure_credential: StandInCredential
) -> FakeAz:
    """A fake `az` first on PATH that hands out the credential's tokens (tests/support/entra.py)."""
    az = FakeAz(tmp_path / "fake-az", azure_credential.tokens)
    monkeypatch.setenv("PATH", az.path_with_az())
    return az
