"""One Prefect test harness for the whole session, only for the flow tests (it costs several seconds)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
from prefect.testing.utilities import prefect_test_harness

os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"


@pytest.fixture(scope="session", autouse=True)
def prefect_harness() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=180):
        yield
    # Prefect logs "stopping temporary server" at interpreter exit, after pytest closed the captured stream;
    # the stdlib would print a scary traceback for that harmless message.
    logging.raiseExceptions = False
