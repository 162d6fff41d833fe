"""Fixtures: real indexes on loopback over folders of distributions the tests build."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support.index import PypiServer, StaticIndex


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own vendorer cache: nothing leaks between tests or from the user."""
    monkeypatch.setenv("VENDORER_CACHE_DIR", str(tmp_path / "vendorer-cache"))
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))


@pytest.fixture
def dist_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "dists"
    folder.mkdir()
    return folder


@pytest.fixture
def pypi_server() -> Iterator[Callable[[Path], PypiServer]]:
    """Start the real pypiserver over a folder: `server = pypi_server(folder)`."""
    with ExitStack() as stack:

        def start(root: Path) -> PypiServer:
            return stack.enter_context(PypiServer(root))

        yield start


@pytest.fixture
def static_index() -> Iterator[Callable[..., StaticIndex]]:
    """Start a static PEP 691/503 index: `index = static_index(folder, yanked={...})`."""
    with ExitStack() as stack:

        def start(
            root: Path,
            *,
            yanked: Mapping[str, str] | None = None,
            metadata: bool = True,
            auth: tuple[str, str] | None = None,
        ) -> StaticIndex:
            return stack.enter_context(
                StaticIndex(root, yanked=yanked, metadata=metadata, auth=auth)
            )

        yield start
