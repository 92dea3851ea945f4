"""Helpers for the transforms tests: a base config, message rows with defaults, a migrated in-memory warehouse."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from commhealth.config import Config
from warehouse.db import open_writer

BASE_CONFIG: dict[str, Any] = {
    "company": {
        "name": "Acme",
        "timezone": "Europe/Paris",
        "holidays": "FR",
        "business_hours": ["09:00-18:00"],
        "sla_hours": 8,
    },
    "vendors": [
        {"id": "kappa", "name": "Kappa", "timezone": "Asia/Kolkata", "holidays": "IN", "sla_hours": 8},
        {"id": "zeta", "name": "Zeta", "timezone": "Europe/Paris", "holidays": "FR", "sla_hours": 4},
        {
            "id": "sigma",
            "name": "Sigma",
            "timezone": "Europe/London",
            "holidays": "GB",
            "business_hours": ["09:00-17:00"],
            "workdays": ["mon", "tue", "wed", "thu", "fri", "sat"],
        },
    ],
}

MESSAGE_COLUMNS = (
    "message_key",
    "channel",
    "source",
    "conversation_key",
    "sent_at",
    "sender",
    "sender_name",
    "recipients",
    "side",
    "vendor_id",
    "recipient_vendor_ids",
    "is_automated",
    "automated_reason",
    "is_internal",
    "subject",
    "body_text",
    "body_full",
    "body_words",
    "slack_channel_id",
    "slack_channel_name",
    "sender_team_id",
    "content_hash",
    "raw_ref",
    "ingested_at",
)
INSERT_MESSAGE = f"INSERT INTO core.messages ({', '.join(MESSAGE_COLUMNS)}) VALUES ({', '.join('?' * len(MESSAGE_COLUMNS))})"
SLACK_CHANNEL_COLUMNS = ("channel_id", "name", "kind", "is_shared", "team_ids", "member_ids")
SLACK_USER_COLUMNS = ("user_id", "team_id", "name", "email", "is_bot")


def as_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime.combine(value, dt.time(0))
    else:
        parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def merge_config(override: dict[str, Any] | None) -> dict[str, Any]:
    """Base config with an override: company/metrics/signals dicts merged, vendors matched by id and merged."""
    data = copy.deepcopy(BASE_CONFIG)
    for key, value in (override or {}).items():
        if key == "vendors":
            by_id = {v["id"]: v for v in data["vendors"]}
            merged = []
            for vendor in value:
                merged.append({**by_id.get(vendor["id"], {}), **vendor})
            data["vendors"] = merged
        elif isinstance(value, dict):
            data[key] = {**data.get(key, {}), **value}
        else:
            data[key] = value
    return data


def make_config(override: dict[str, Any] | None = None) -> Config:
    return Config.model_validate(merge_config(override))


def message_row(row: dict[str, Any], index: int) -> list[Any]:
    unknown = set(row) - set(MESSAGE_COLUMNS)
    if unknown:
        raise ValueError(f"unknown message columns {sorted(unknown)}")
    side = row.get("side", "company")
    slack_channel = row.get("slack_channel_id")
    values = {
        "message_key": f"m{index}",
        "channel": "slack" if slack_channel else "email",
        "source": "test",
        "conversation_key": f"{slack_channel}:main" if slack_channel else "c1",
        "sender": f"{side}@example.test",
        "sender_name": None,
        "recipients": None,
        "side": side,
        "vendor_id": None,
        "recipient_vendor_ids": [],
        "is_automated": False,
        "automated_reason": None,
        "is_internal": False,
        "subject": None,
        "body_text": None,
        "body_full": None,
        "body_words": None,
        "slack_channel_id": None,
        "slack_channel_name": None,
        "sender_team_id": None,
        "content_hash": f"hash-{index}",
        "raw_ref": f"test:{index}",
        "ingested_at": dt.datetime(2026, 12, 31, tzinfo=dt.UTC),
        **row,
    }
    values["sent_at"] = as_datetime(values["sent_at"])
    if values["body_full"] is None:
        values["body_full"] = values["body_text"]
    if values["body_text"] is not None and values["body_words"] is None:
        values["body_words"] = len(values["body_text"].split())
    return [values[c] for c in MESSAGE_COLUMNS]


def insert_messages(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        con.executemany(INSERT_MESSAGE, [message_row(r, i) for i, r in enumerate(rows, start=1)])


def insert_feedback(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """Rows of meta.feedback (user decisions), as `commhealth dismiss` records them: author and origin default."""
    for row in rows:
        values = {"author": "tester", "origin": "cli", **row}
        columns = ", ".join(values)
        con.execute(
            f"INSERT INTO meta.feedback ({columns}) VALUES ({', '.join('?' * len(values))})",
            list(values.values()),
        )


def insert_slack_directory(
    con: duckdb.DuckDBPyConnection, channels: list[dict[str, Any]], users: list[dict[str, Any]] = ()
) -> None:
    """Rows of raw.slack_channels and raw.slack_users, with the given columns (the others NULL)."""
    for table, columns, rows in (
        ("raw.slack_channels", SLACK_CHANNEL_COLUMNS, channels),
        ("raw.slack_users", SLACK_USER_COLUMNS, users),
    ):
        for row in rows:
            unknown = set(row) - set(columns)
            if unknown:
                raise ValueError(f"unknown {table} columns {sorted(unknown)}")
            con.execute(
                f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}, source, raw_ref, ingested_at) "
                f"VALUES ({', '.join('?' * len(columns))}, 'test', 'test', now())",
                [row.get(c) for c in columns],
            )


def write_lexicon(path: Path, entries: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"entries": entries}, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def warehouse() -> Iterator[duckdb.DuckDBPyConnection]:
    with open_writer(":memory:", threads=2) as con:
        yield con


@pytest.fixture
def fetch() -> Callable[[duckdb.DuckDBPyConnection, str], list[dict[str, Any]]]:
    """Rows of a marts table as dicts (table name from a fixed allow-list, via the relational API)."""

    def _fetch(con: duckdb.DuckDBPyConnection, table: str) -> list[dict[str, Any]]:
        rel = con.table(f"marts.{table}")
        names = rel.columns
        return [dict(zip(names, row, strict=True)) for row in rel.fetchall()]

    return _fetch
