"""Shared fixtures: the issue's example configuration, written to a temp folder."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from ground.records import MessageRecord, QuarantineRecord
from warehouse.load import LoadStats, merge_staged
from warehouse.staging import StagingWriter

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

EXAMPLE_CONFIG = """\
[company]
name = "Norelec"
email_domains = ["norelec.fr"]          # subdomains match too; case-insensitive
slack_team_ids = ["T0NORELEC"]
slack_user_ids = []                      # optional explicit members
timezone = "Europe/Paris"                # IANA
holidays = "FR"
closures = ["2026-12-24"]
business_hours = ["09:00-12:30", "13:30-18:00"]
workdays = ["mon", "tue", "wed", "thu", "fri"]
sla_hours = 8

[[vendors]]
id = "kappa"
name = "Kappa Offshore"
email_domains = ["kappa-offshore.in"]
slack_team_ids = ["T0KAPPA"]
slack_user_ids = []
slack_channels = ["ext-kappa"]
timezone = "Asia/Kolkata"
holidays = "IN"
business_hours = ["09:30-18:30"]
workdays = ["mon", "tue", "wed", "thu", "fri"]
sla_hours = 8
alert_channel = "#vendor-kappa"

[[vendors]]
id = "lumen"
name = "Lumen Nearshore"
email_domains = ["lumen.ro"]
slack_team_ids = ["T0LUMEN"]
slack_user_ids = ["U0LUMENBOSS"]
email_addresses = ["consultant@gmail.com"]
slack_channels = ["C0LUMEN"]
timezone = "Europe/Bucharest"
holidays = "RO"
business_hours = ["09:00-17:00"]
workdays = ["mon", "tue", "wed", "thu", "fri", "sat"]
sla_hours = 16

[metrics]
awaiting_lookback_days = 14

[warehouse]
path = "warehouse.duckdb"
store_bodies = true
"""


def write_config(folder: Path, text: str = EXAMPLE_CONFIG, name: str = "commhealth.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return write_config(tmp_path)


def load_records(
    con: duckdb.DuckDBPyConnection,
    records: list[MessageRecord | QuarantineRecord],
    staging_dir: Path,
    *,
    store_bodies: bool = True,
    batch_size: int = 5000,
) -> LoadStats:
    """Stage then merge in one go, as an ingest run does in two steps."""
    writer = StagingWriter(staging_dir, "direct", store_bodies=store_bodies, batch_size=batch_size)
    writer.add_all(records)
    writer.close()
    return merge_staged(con, staging_dir)
