"""Fixtures for the Slack Web API connector: a seeded fake Slack, a config using it, run and merge helpers."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from connectors.slack.history import extract_slack
from flows.ingest import StagingSink, merge
from ground.config import Config, load_config
from tests.fakes.slack_api import FakeSlackAPI

TOKEN = "xoxb-1111-2222-s3cr3tT0k3nValue"
CHANNEL_ID = "C0EXTKAPPA"
BASE_TS = 1767225600  # 2026-01-01 00:00 UTC, where the fake's clock starts

CONFIG = """\
[company]
name = "Norelec"
email_domains = ["norelec.fr"]
slack_team_ids = ["T0NORELEC"]

[[vendors]]
id = "kappa"
name = "Kappa Offshore"
email_domains = ["kappa-offshore.in"]
slack_team_ids = ["T0KAPPA"]
slack_channels = {channels}

[warehouse]
path = "{warehouse}"

[sources.slack]
api_url = "{api_url}"
page_size = {page_size}
max_retries = {max_retries}
thread_lookback_days = {lookback}
read_dms = {read_dms}
"""


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack_sdk and urllib honour proxy variables; the fake lives on 127.0.0.1."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def ts(seconds: float) -> str:
    """A Slack ts ``seconds`` after BASE_TS."""
    micros = round(seconds * 1_000_000)
    return f"{BASE_TS + micros // 1_000_000}.{micros % 1_000_000:06d}"


def at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(BASE_TS, dt.UTC) + dt.timedelta(seconds=seconds)


def seed_users(fake: FakeSlackAPI) -> None:
    state = fake.state
    state.add_user(
        "U0ALICE",
        "alice",
        team_id="T0NORELEC",
        real_name="Alice Martin",
        profile={"real_name": "Alice Martin", "email": "alice@norelec.fr"},
    )
    state.add_user(
        "U0VIC",
        "vic",
        team_id="T0KAPPA",
        real_name="Vic Rao",
        is_stranger=True,
        profile={"real_name": "Vic Rao", "email": "vic@kappa-offshore.in"},
    )
    state.add_user(
        "U0BOB", "bob", team_id="T0NORELEC", profile={"display_name": "Bob", "email": "bob@norelec.fr"}
    )


def shared_with(team_id: str) -> dict[str, Any]:
    """What Slack says of a Slack Connect channel the company hosts and shares with `team_id`."""
    return {
        "is_shared": True,
        "is_ext_shared": True,
        "shared_team_ids": ["T0NORELEC"],
        "connected_team_ids": ["T0NORELEC", team_id],
        "conversation_host_id": "T0NORELEC",
    }


@pytest.fixture
def fake() -> Iterator[FakeSlackAPI]:
    """The company's workspace in a fake Slack, with the vendor channel #ext-kappa (Slack Connect with Kappa's
    team), an unrelated channel, and three users."""
    with FakeSlackAPI() as server:
        server.state.team_id = "T0NORELEC"
        server.state.add_channel("general", "C0GENERAL1")
        server.state.add_channel("ext-kappa", CHANNEL_ID, **shared_with("T0KAPPA"))
        seed_users(server)
        yield server


def seed_conversation(fake: FakeSlackAPI, parents: int = 7, replies: tuple[int, ...] = (5, 0, 3)) -> None:
    """Alternating company/vendor parents, the first ones with ``replies`` replies each, plus two events."""
    state = fake.state
    state.add_message(CHANNEL_ID, "", subtype="channel_join", user="U0VIC")
    heads = []
    for i in range(parents):
        user, team = ("U0ALICE", "T0NORELEC") if i % 2 == 0 else ("U0VIC", "T0KAPPA")
        heads.append(state.add_message(CHANNEL_ID, f"parent {i} from {user}", user=user, team=team))
    for head, count in zip(heads, replies, strict=False):
        for j in range(count):
            user = "U0VIC" if j % 2 == 0 else "U0ALICE"
            state.add_message(CHANNEL_ID, f"reply {j} to {head['text']}", user=user, thread_ts=head["ts"])
    state.add_message(CHANNEL_ID, "build #42 passed", subtype="bot_message", bot_id="B0CI", username="ci")


def expected_keys(fake: FakeSlackAPI, channel_id: str = CHANNEL_ID) -> set[str]:
    """Keys of every message the connector should store (events skipped as in the export)."""
    return {
        f"{channel_id}:{m['ts']}"
        for m in fake.state.messages[channel_id]
        if m.get("subtype") not in ("channel_join", "message_changed", "message_deleted")
        and not m.get("hidden")
    }


@dataclasses.dataclass
class Env:
    """One commhealth deployment (config, warehouse, staging) talking to the fake."""

    root: Path
    config: Config
    fake: FakeSlackAPI
    merges: list[Any] = dataclasses.field(default_factory=list)

    def extract(
        self, *, now: dt.datetime | None = None, token: str = TOKEN, **options: Any
    ) -> dict[str, object]:
        """extract_slack into a fresh sink; `options` go to it (e.g. backoff)."""
        sink = StagingSink(self.config, "slack")
        try:
            source = self.config.sources.slack
            assert source is not None
            return extract_slack(self.config, source, token, sink, now=now or at(10 * 86400), **options)
        finally:
            sink.close()

    def merge(self) -> Any:
        stats = merge(self.config, command="test slack_api")
        self.merges.append(stats)
        return stats

    def run(self, **kwargs: Any) -> dict[str, object]:
        notes = self.extract(**kwargs)
        self.merge()
        return notes

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        con = duckdb.connect(str(self.config.warehouse.published_path), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def stored(self) -> dict[str, str]:
        """message_key -> content_hash of every stored message."""
        return dict(self.query("SELECT message_key, content_hash FROM core.messages"))


@pytest.fixture
def make_env(tmp_path: Path, fake: FakeSlackAPI) -> Callable[..., Env]:
    def make(
        name: str = "deploy",
        *,
        channels: list[str] | None = None,
        page_size: int = 2,
        max_retries: int = 2,
        lookback: int = 14,
        read_dms: bool = False,
        server: FakeSlackAPI | None = None,
    ) -> Env:
        server = server or fake
        root = tmp_path / name
        root.mkdir()
        text = CONFIG.format(
            channels=str(channels or ["ext-kappa"]).replace("'", '"'),
            warehouse=(root / "warehouse.duckdb").as_posix(),
            api_url=server.url,
            page_size=page_size,
            max_retries=max_retries,
            lookback=lookback,
            read_dms=str(read_dms).lower(),
        )
        (root / "commhealth.toml").write_text(text, encoding="utf-8")
        return Env(root, load_config(root / "commhealth.toml"), server)

    return make
