"""Fixtures for the Teams connector: the fake authority + Graph server with Teams, a config pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.fakes.graph import FakeGraph
from tests.graph.conftest import SECRET_ENV, _local_only, tls_files  # noqa: F401 - the same local TLS setup
from tests.teams.teams_testlib import teams_config_text


@pytest.fixture
def graph(tls_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGraph]:  # noqa: F811
    with FakeGraph(tls_files) as fake:
        monkeypatch.setenv(SECRET_ENV, fake.client_secret)
        yield fake


@pytest.fixture
def config_file(tmp_path: Path, graph: FakeGraph) -> Path:
    return write_config(tmp_path / "project", teams_config_text(graph))
