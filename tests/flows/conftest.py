"""One Prefect test harness for the whole session, only for the flow tests (it costs several seconds); the
fake live sources a flow can read, and retries without their production delays."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness

from flows import daily as daily_flows
from tests.fakes.ews import FakeEWS
from tests.fakes.graph import FakeGraph, make_tls_files
from tests.flows.live_sources import EXCHANGE_PASSWORD_ENV, GRAPH_SECRET_ENV, PROXY_VARIABLES

os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"


@pytest.fixture(scope="session", autouse=True)
def prefect_harness() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=180):
        yield
    # Prefect logs "stopping temporary server" at interpreter exit, after pytest closed the captured stream;
    # the stdlib would print a scary traceback for that harmless message.
    logging.raiseExceptions = False


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The network tasks keep their retry counts and conditions, but retry at once instead of after minutes:
    Prefect's own per-task delay setting, not our code, is changed."""
    for network_task in (daily_flows.stage_live_source, daily_flows.post_to_slack):
        monkeypatch.setattr(network_task, "retry_delay_seconds", 0)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def local_network(monkeypatch: pytest.MonkeyPatch, tls_files: tuple[Path, Path]) -> None:
    """No proxies (the fakes listen on 127.0.0.1); the fake Graph's certificate is trusted (httpx,
    requests)."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files[0]))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_files[0]))


@pytest.fixture
def graph(
    tls_files: tuple[Path, Path], local_network: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeGraph]:
    with FakeGraph(tls_files) as fake:
        monkeypatch.setenv(GRAPH_SECRET_ENV, fake.client_secret)
        yield fake


@pytest.fixture
def ews(local_network: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEWS]:
    with FakeEWS() as fake:
        monkeypatch.setenv(EXCHANGE_PASSWORD_ENV, fake.password)
        yield fake
