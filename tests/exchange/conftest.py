"""Fixtures for the Exchange connector tests: the fake EWS server, a config pointing at it, and a real
StagingSink + warehouse to run the connector into."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from connectors.exchange import extract_exchange
from connectors.exchange.client import clear_protocol_cache
from flows.ingest import StagingSink, merge
from ground.config import Config, load_config
from ground.records import MessageRecord, QuarantineRecord
from tests.conftest import EXAMPLE_CONFIG, write_config
from tests.fakes.ews import FakeEWS
from tests.mail.mail_samples import message
from warehouse.load import LoadStats

MAILBOX = "achats@norelec.fr"
PASSWORD_ENV = "COMMHEALTH_TEST_EXCHANGE_PASSWORD"


@pytest.fixture(autouse=True)
def _no_proxy_and_clean_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """requests honours proxy variables, and the fake lives on 127.0.0.1; exchangelib's cache is global."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    clear_protocol_cache()
    yield
    clear_protocol_cache()


@pytest.fixture
def ews() -> Iterator[FakeEWS]:
    with FakeEWS() as fake:
        yield fake


def vendor_mail(n: int, *, prefix: str = "k", body: str | None = None) -> bytes:
    """A vendor email with a unique Message-ID (CRLF line ends, as Exchange stores MIME)."""
    return message(
        body or f"Hello, status update number {n}.\n",
        subject=f"Order {prefix}{n}",
        message_id=f"<{prefix}{n}@kappa-offshore.in>",
        sender="Priya <priya@kappa-offshore.in>",
        date=f"Mon, 16 Nov 2026 10:{n % 60:02d}:00 +0530",
        newline=b"\r\n",
    )


@dataclasses.dataclass
class Env:
    """A config file whose [sources.exchange] points at the fake, and helpers to run and inspect."""

    folder: Path
    ews: FakeEWS
    monkeypatch: pytest.MonkeyPatch

    def write(self, **exchange: object) -> Config:
        settings: dict[str, object] = {
            "endpoint": self.ews.url,
            "auth": "basic",
            "username": self.ews.username,
            "password_env": PASSWORD_ENV,
            "mailboxes": [MAILBOX],
            "folders": ["inbox", "sent"],
            "max_wait_seconds": 10,
            "page_size": 3,
            **exchange,
        }
        lines = [f"{key} = {_toml(value)}" for key, value in settings.items()]
        text = EXAMPLE_CONFIG + "\n[sources.exchange]\n" + "\n".join(lines) + "\n"
        path = write_config(self.folder, text)
        self.monkeypatch.setenv(PASSWORD_ENV, self.ews.password)
        return load_config(path)

    def extract(self, config: Config, secret: str | None = None) -> tuple[dict[str, object], list[object]]:
        """One connector run into a real StagingSink (closed afterwards, also on failure); notes and records."""
        sink = RecordingSink(config, "exchange")
        try:
            assert config.sources.exchange is not None
            notes = extract_exchange(config, config.sources.exchange, secret or _env_secret(), sink)
        finally:
            sink.close()
        return notes, sink.seen

    def run(self, config: Config) -> tuple[dict[str, object], LoadStats]:
        notes, _ = self.extract(config)
        return notes, merge(config, [notes], command="ingest exchange")

    def rows(
        self, config: Config, query: str, params: list[object] | None = None
    ) -> list[tuple[object, ...]]:
        con = duckdb.connect(str(config.warehouse.published_path), read_only=True)
        try:
            return con.execute(query, params or []).fetchall()
        finally:
            con.close()

    def cursor(self, config: Config, folder: str) -> str | None:
        found = self.rows(
            config,
            "SELECT cursor FROM meta.sync_state WHERE source = 'exchange' AND partition_key = ?",
            [f"{MAILBOX}/{folder}"],
        )
        return found[0][0] if found else None


class RecordingSink(StagingSink):
    """The real StagingSink, also keeping what was added so tests can compare records."""

    def __init__(self, config: Config, partition: str) -> None:
        super().__init__(config, partition)
        self.seen: list[MessageRecord | QuarantineRecord] = []

    def add(self, record: MessageRecord | QuarantineRecord) -> None:
        self.seen.append(record)
        super().add(record)


def _env_secret() -> str:
    return os.environ[PASSWORD_ENV]


def _toml(value: object) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


@pytest.fixture
def env(tmp_path: Path, ews: FakeEWS, monkeypatch: pytest.MonkeyPatch) -> Env:
    monkeypatch.chdir(tmp_path)
    return Env(tmp_path / "project", ews, monkeypatch)


Seeder = Callable[..., list[str]]


@pytest.fixture
def seed(ews: FakeEWS) -> Seeder:
    """seed(folder, first, count) adds vendor mails numbered first.. to the mailbox folder; returns item ids."""

    def add(folder: str, first: int, count: int, *, prefix: str = "k") -> list[str]:
        return [
            ews.add_message(MAILBOX, folder, vendor_mail(n, prefix=prefix)).item_id
            for n in range(first, first + count)
        ]

    return add
