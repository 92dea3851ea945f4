"""Helpers for the Teams connector tests: the config, a Norelec-Kappa world in the fake, one run, queries."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from connectors.teams.live import extract_teams
from flows.ingest import StagingSink, merge
from ground.config import Config, load_config
from ground.secrets import require_secret
from tests.conftest import EXAMPLE_CONFIG
from tests.fakes.graph import TENANT_ID, FakeGraph
from tests.graph.graph_testlib import query

# The company signs in to its own tenant; Kappa's people come from theirs (federated users).
KAPPA_TENANT = "0a0a0a0a-1111-2222-3333-kappa0000001"
BUYER = "b0000000-0000-0000-0000-0000000buyer"  # a Norelec user whose chats are read
RAVI = "r0000000-0000-0000-0000-00000000ravi"  # Kappa
COLLEAGUE = "c0000000-0000-0000-0000-0colleague"  # Norelec, not read
KAPPA_CHAT = "19:buyer_ravi@unq.gbl.spaces"
INTERNAL_CHAT = "19:buyer_colleague@unq.gbl.spaces"
TEAM = "7e7e7e7e-0000-0000-0000-000000team01"
SUPPORT_CHANNEL = "19:support@thread.tacv2"
GENERAL_CHANNEL = "19:general@thread.tacv2"
START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)  # a Monday


def teams_config_text(
    fake: FakeGraph, *, page_size: int = 5, max_retries: int = 2, channels: tuple[str, ...] = ()
) -> str:
    text = EXAMPLE_CONFIG.replace(
        'slack_team_ids = ["T0NORELEC"]\n',
        f'slack_team_ids = ["T0NORELEC"]\nteams_tenant_ids = ["{TENANT_ID}"]\n',
    ).replace('id = "kappa"\n', f'id = "kappa"\nteams_tenant_ids = ["{KAPPA_TENANT.upper()}"]\n')
    listed = ", ".join(f'"{c}"' for c in channels)
    return text + (
        "\n[sources.teams]\n"
        f'tenant_id = "{fake.tenant_id}"\n'
        f'client_id = "{fake.client_id}"\n'
        'client_secret_env = "GRAPH_CLIENT_SECRET"\n'
        f'authority = "{fake.authority}"\n'
        f'api_url = "{fake.api_url}"\n'
        f'users = ["{BUYER}"]\n'
        f'teams = ["{TEAM}"]\n'
        f"channels = [{listed}]\n"
        "backfill_days = 0\n"
        f"page_size = {page_size}\n"
        f"max_retries = {max_retries}\n"
    )


def seed_world(fake: FakeGraph) -> dict[str, list[str]]:
    """A chat with Kappa (questions and answers), an internal chat, and a team whose support channel has a
    thread with Kappa; returns the message ids by place."""
    fake.add_chat(KAPPA_CHAT, [BUYER, RAVI])
    fake.add_chat(INTERNAL_CHAT, [BUYER, COLLEAGUE])
    fake.add_team(TEAM, SUPPORT_CHANNEL, GENERAL_CHANNEL)
    ids: dict[str, list[str]] = {"kappa_chat": [], "internal_chat": [], "support": [], "general": []}
    for day in range(3):
        at = START + dt.timedelta(days=day)
        ids["kappa_chat"].append(
            buyer_says(fake, KAPPA_CHAT, f"<p>Can you send the test report for lot {day}?</p>", at)
        )
        ids["kappa_chat"].append(
            ravi_says(fake, KAPPA_CHAT, f"<p>Sure, report {day} attached.</p>", at, hours=2)
        )
    ids["internal_chat"].append(
        fake.add_chat_message(
            INTERNAL_CHAT, sender_id=BUYER, sender_name="Buyer", html="<p>Lunch?</p>", created=START
        )
    )
    root = fake.add_channel_message(
        TEAM,
        SUPPORT_CHANNEL,
        sender_id=BUYER,
        sender_name="Buyer",
        html="<p>Is the API down?</p>",
        created=START,
        subject="API outage",
    )
    reply = fake.add_channel_message(
        TEAM,
        SUPPORT_CHANNEL,
        sender_id=RAVI,
        sender_name="Ravi Kumar",
        tenant_id=KAPPA_TENANT,
        identity_type="federatedUser",
        html="<p>Looking into it now.</p>",
        created=START + dt.timedelta(hours=1),
        reply_to=root,
    )
    ids["support"] += [root, reply]
    ids["general"].append(
        fake.add_channel_message(
            TEAM,
            GENERAL_CHANNEL,
            sender_id=COLLEAGUE,
            sender_name="Colleague",
            html="<p>Welcome!</p>",
            created=START,
        )
    )
    return ids


def buyer_says(fake: FakeGraph, chat: str, html: str, at: dt.datetime, hours: float = 0) -> str:
    return fake.add_chat_message(
        chat, sender_id=BUYER, sender_name="Buyer", html=html, created=at + dt.timedelta(hours=hours)
    )


def ravi_says(fake: FakeGraph, chat: str, html: str, at: dt.datetime, hours: float = 0) -> str:
    return fake.add_chat_message(
        chat,
        sender_id=RAVI,
        sender_name="Ravi Kumar",
        tenant_id=KAPPA_TENANT,
        identity_type="federatedUser",
        html=html,
        created=at + dt.timedelta(hours=hours),
    )


def config_at(path: Path) -> Config:
    return load_config(path)


def extract(config: Config, now: dt.datetime | None = None) -> dict[str, object]:
    """One extraction the way the CLI and the flow run it: secret from the env, a StagingSink, closed after."""
    source = config.sources.teams
    assert source is not None
    secret = require_secret(
        source.client_secret_env, source.client_secret_secret_block, "the Graph client secret"
    )
    sink = StagingSink(config, "teams")
    try:
        return extract_teams(config, source, secret, sink, now=now)
    finally:
        sink.close()


def run_and_merge(config: Config, now: dt.datetime | None = None) -> tuple[dict[str, object], dict[str, Any]]:
    notes = extract(config, now)
    stats = merge(config, [{"teams": notes}], command="ingest teams")
    return notes, stats.as_dict()


def cursors(config: Config) -> dict[str, str | None]:
    return dict(query(config, "SELECT partition_key, cursor FROM meta.sync_state WHERE source = 'teams'"))
