"""Helpers for the transforms tests: a base config, message rows with defaults, a migrated in-memory warehouse.

A message row may say who sent it the short way (side, vendor_id, recipient_vendor_ids, is_internal): the row
then gets the addresses that the build classifies that way (03_stg_message_parties.sql), the company writing from
acme.test and each vendor from `{vendor id}.test`, the email domains the test config gives them.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from ground.config import Config
from transforms.build import qualified
from warehouse.db import open_writer

COMPANY_DOMAIN = "acme.test"
BASE_CONFIG: dict[str, Any] = {
    "company": {
        "name": "Acme",
        "email_domains": [COMPANY_DOMAIN],
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
    "sender_email",
    "recipients",
    "is_automated",
    "automated_reason",
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
# Who sent a message, the short way: turned into addresses by message_row.
PARTY_SHORTHAND = ("side", "vendor_id", "recipient_vendor_ids", "is_internal")
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
    data = merge_config(override)
    for vendor in data["vendors"]:  # each vendor writes from its own domain unless the test says otherwise
        vendor.setdefault("email_domains", [vendor_domain(vendor["id"])])
    return Config.model_validate(data)


def vendor_domain(vendor_id: str) -> str:
    return f"{vendor_id}.test"


def _domains(config: Config | None) -> dict[str | None, str]:
    """The domain each party writes from: its first configured one (the test config's by default)."""
    if config is None:
        return {}
    found: dict[str | None, str] = {}
    if config.company.email_domains:
        found[None] = config.company.email_domains[0]
    found.update({v.id: v.email_domains[0] for v in config.vendors if v.email_domains})
    return found


def with_addresses(rows: list[dict[str, Any]], config: Config | None = None) -> list[dict[str, Any]]:
    """Rows with the party shorthand turned into sender and recipient addresses, on the domains of `config`
    (default: the test config's). A company email addressed to no vendor and not internal answers the vendors
    that wrote in its conversation, as a reply does."""
    domains = _domains(config)

    def _party_address(side: str, vendor_id: str | None, name: str = "someone") -> str:
        if side == "company":
            return f"{name}@{domains.get(None, COMPANY_DOMAIN)}"
        if side == "vendor":
            return f"{name}@{domains.get(vendor_id) or vendor_domain(str(vendor_id))}"
        return f"{name}@elsewhere.example"

    conversation_vendors: dict[str, list[str]] = {}
    for row in rows:
        if row.get("side") == "vendor" and not row.get("slack_channel_id"):
            vendors = conversation_vendors.setdefault(row.get("conversation_key", "c1"), [])
            if row.get("vendor_id") not in vendors:
                vendors.append(row.get("vendor_id"))
    done = []
    for row in rows:
        row = dict(row)
        side = row.pop("side", "company")
        vendor_id = row.pop("vendor_id", None)
        addressed = row.pop("recipient_vendor_ids", None) or []
        internal = row.pop("is_internal", False)
        if side == "vendor" and vendor_id is None:
            raise ValueError(f"a vendor message needs its vendor_id: {row}")
        if row.get("slack_channel_id"):
            row.setdefault("sender", f"U{side.upper()}{(vendor_id or '').upper()}")
            row.setdefault("sender_email", _party_address(side, vendor_id))
        else:
            row.setdefault("sender", _party_address(side, vendor_id))
            if "recipients" not in row:
                if side == "company" and not addressed and not internal:
                    addressed = conversation_vendors.get(row.get("conversation_key", "c1"), [])
                recipients = [_party_address("vendor", v, "contact") for v in addressed]
                if internal or side != "company":
                    recipients.append(_party_address("company", None, "colleague"))
                row["recipients"] = recipients
        done.append(row)
    return done


def message_row(row: dict[str, Any], index: int) -> list[Any]:
    """A core.messages row with defaults; the party shorthand must have been turned into addresses."""
    unknown = set(row) - set(MESSAGE_COLUMNS)
    if unknown:
        raise ValueError(f"unknown message columns {sorted(unknown)}")
    slack_channel = row.get("slack_channel_id")
    values = {
        "message_key": f"m{index}",
        "channel": "slack" if slack_channel else "email",
        "source": "test",
        "conversation_key": f"{slack_channel}:main" if slack_channel else "c1",
        "sender": None,
        "sender_name": None,
        "sender_email": None,
        "recipients": None,
        "is_automated": False,
        "automated_reason": None,
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


def insert_messages(
    con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], config: Config | None = None
) -> None:
    """Insert message rows; the party shorthand is written on the domains of `config` (default: the test
    config's)."""
    if rows:
        rows = with_addresses(rows, config)
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


SOURCE_READ_COLUMNS = (
    "source",
    "partition_key",
    "partition_name",
    "last_read_at",
    "last_failed_at",
    "last_error",
    "newest_sent_at",
)


def insert_source_reads(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """Rows of meta.source_reads, with the given columns (the others NULL), as extractions would record them."""
    for row in rows:
        unknown = set(row) - set(SOURCE_READ_COLUMNS)
        if unknown:
            raise ValueError(f"unknown meta.source_reads columns {sorted(unknown)}")
        con.execute(
            f"INSERT INTO meta.source_reads ({', '.join(SOURCE_READ_COLUMNS)}, updated_at) "
            f"VALUES ({', '.join('?' * len(SOURCE_READ_COLUMNS))}, now())",
            [row.get(c) for c in SOURCE_READ_COLUMNS],
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
        rel = con.table(qualified(table))
        names = rel.columns
        return [dict(zip(names, row, strict=True)) for row in rel.fetchall()]

    return _fetch
