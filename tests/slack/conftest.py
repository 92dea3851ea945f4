"""Fixtures for the Slack digest tests: the fake Slack Web API, and no proxies."""

from __future__ import annotations

import pytest

from tests.fakes.slack_api import fake_slack
from tests.test_alerting import config, slack  # a fake Slack and a config whose [alerts] point at it

__all__ = ["config", "fake_slack", "slack"]


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack_sdk and urllib honour proxy variables; the fake lives on 127.0.0.1."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
