"""Fixtures for the Microsoft Graph connector: the fake authority + Graph server, a config pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_CONFIG, write_config
from tests.fakes.graph import FakeGraph, make_tls_files
from tests.graph.graph_testlib import MAILBOX

SECRET_ENV = "GRAPH_CLIENT_SECRET"


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(autouse=True)
def _local_only(monkeypatch: pytest.MonkeyPatch, tls_files: tuple[Path, Path]) -> None:
    """No proxies (the fake is on 127.0.0.1); trust the fake's certificate (httpx and requests/msal)."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files[0]))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_files[0]))
    monkeypatch.delenv("MSAL_FORCE_REGION", raising=False)


@pytest.fixture
def graph(tls_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGraph]:
    with FakeGraph(tls_files) as fake:
        fake.add_mailbox(MAILBOX, "inbox", "sentitems")
        monkeypatch.setenv(SECRET_ENV, fake.client_secret)
        yield fake


def graph_config_text(
    fake: FakeGraph, *, mailboxes: tuple[str, ...] = (MAILBOX,), page_size: int = 10, max_retries: int = 3
) -> str:
    boxes = ", ".join(f'"{m}"' for m in mailboxes)
    return EXAMPLE_CONFIG + (
        "\n[sources.graph]\n"
        f'tenant_id = "{fake.tenant_id}"\n'
        f'client_id = "{fake.client_id}"\n'
        f'client_secret_env = "{SECRET_ENV}"\n'
        f'authority = "{fake.authority}"\n'
        f'api_url = "{fake.api_url}"\n'
        f"mailboxes = [{boxes}]\n"
        'folders = ["inbox", "sentitems"]\n'
        f"page_size = {page_size}\n"
        f"max_retries = {max_retries}\n"
    )


@pytest.fixture
def config_file(tmp_path: Path, graph: FakeGraph) -> Path:
    return write_config(tmp_path / "project", graph_config_text(graph))
