"""Data-in/data-out cases: tests/transforms/cases/*.yaml.

Each case file holds:
  description: what the case proves
  config: optional override of the base config (transforms_testlib.BASE_CONFIG); vendors merged by id
  extra_lexicon: optional list of lexicon entries, written to a file and set as [signals] extra_lexicon
  config may hold an [alerts] override (thresholds, windows, slack_workspace_url)
  as_of: the build instant (ISO 8601); a date alone (2026-11-20) goes through parse_as_of like `--as-of`
         (the start of the next company-local day)
  messages: rows of core.messages, only the relevant columns (defaults: channel email, conversation c1, ...;
            with a slack_channel_id: channel slack, conversation {slack_channel_id}:main)
  slack_channels, slack_users: optional rows of raw.slack_channels and raw.slack_users (the Slack directory)
  feedback: optional rows of meta.feedback (user decisions: not_a_request, dismiss), author and origin defaulted
  source_reads: optional rows of meta.source_reads (what extractions recorded reading, per source partition)
  expect: {mart name: [expected rows]} with a subset of columns; the mart must hold exactly these rows
          (compared on those columns, in any order; floats to 1e-6, timestamps and dates parsed from strings).
          A list column (alerts.evidence) is compared in order and in length; each expected item is either a
          message_key string or a dict checked on a subset of the struct's fields.
  rebuild: optional {config: override of the base config, as_of: ..., expect: ...}, or a list of them: the same
           warehouse built again, in order, with that config and as_of instead (default: the case's), and what it
           must hold then; consecutive as_of values follow alert states from one report day to the next
"""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from transforms_testlib import (
    as_datetime,
    insert_feedback,
    insert_messages,
    insert_slack_directory,
    insert_source_reads,
    make_config,
    write_lexicon,
)

from ground.config import Config
from transforms.build import build_marts, parse_as_of

CASES = sorted((Path(__file__).parent / "cases").glob("*.yaml"))
MARTS = {
    "stg_slack_conversations",
    "responses",
    "awaiting",
    "message_signals",
    "vendor_daily",
    "int_turns",
    "int_counted_messages",
    "stg_message_requests",
    "int_alert_items",
    "dismissals",
    "dismissed_alerts",
    "alerts",
    "alert_history",
    "digest_vendors",
    "digest_latency",
    "source_freshness",
    "vendor_data_status",
}


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _same_item(expected: Any, actual: Any) -> bool:
    if isinstance(actual, dict) and isinstance(expected, str):
        return expected == actual.get("message_key")
    if isinstance(actual, dict) and isinstance(expected, dict):
        return set(expected) <= set(actual) and _matches(expected, actual)
    return _same(expected, actual)


def _same(expected: Any, actual: Any) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(actual, list):
        return (
            isinstance(expected, list)
            and len(expected) == len(actual)
            and all(_same_item(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(actual, bool) or isinstance(expected, bool):
        return expected == actual
    if isinstance(actual, float) or isinstance(expected, float):
        return math.isclose(float(expected), float(actual), rel_tol=0, abs_tol=1e-6)
    if isinstance(actual, dt.datetime):
        return as_datetime(expected) == actual
    if isinstance(actual, dt.date):
        return (expected if isinstance(expected, dt.date) else dt.date.fromisoformat(str(expected))) == actual
    return expected == actual


def _matches(expected: dict[str, Any], actual: dict[str, Any]) -> bool:
    return all(_same(value, actual[column]) for column, value in expected.items())


def compare(table: str, expected_rows: list[dict[str, Any]], actual_rows: list[dict[str, Any]]) -> None:
    columns = {c for row in expected_rows for c in row}
    missing = columns - set(actual_rows[0]) if actual_rows else set()
    assert not missing, f"{table}: no such columns {sorted(missing)}"
    unmatched = list(actual_rows)
    problems = []
    for row in expected_rows:
        hit = next((a for a in unmatched if _matches(row, a)), None)
        if hit is None:
            problems.append(f"expected row not found: {row}")
        else:
            unmatched.remove(hit)
    for row in unmatched:
        problems.append(f"unexpected row: { {c: row[c] for c in sorted(columns)} if columns else row }")
    assert not problems, f"{table}:\n  " + "\n  ".join(problems)


def _config(case: dict[str, Any], override: dict[str, Any] | None, tmp_path: Path) -> Config:
    override = dict(override or {})
    if case.get("extra_lexicon"):
        lexicon_path = write_lexicon(tmp_path / "extra_lexicon.yaml", case["extra_lexicon"])
        override["signals"] = {**override.get("signals", {}), "extra_lexicon": str(lexicon_path)}
    return make_config(override)


def _build_and_compare(warehouse, fetch, config: Config, as_of: Any, expect: dict[str, Any]) -> None:
    if (isinstance(as_of, dt.date) and not isinstance(as_of, dt.datetime)) or _DATE_ONLY.match(str(as_of)):
        as_of = parse_as_of(str(as_of), config)
    build_marts(warehouse, config, as_datetime(as_of))
    assert expect, "a case must expect something"
    for table, rows in expect.items():
        assert table in MARTS, f"unknown mart {table!r}"
        compare(table, rows or [], fetch(warehouse, table))


@pytest.mark.parametrize("case_path", CASES, ids=[p.stem for p in CASES])
def test_case(case_path: Path, warehouse, fetch, tmp_path: Path) -> None:
    case = yaml.safe_load(case_path.read_text(encoding="utf-8"))
    insert_messages(warehouse, case.get("messages") or [])
    insert_slack_directory(warehouse, case.get("slack_channels") or [], case.get("slack_users") or [])
    insert_feedback(warehouse, case.get("feedback") or [])
    insert_source_reads(warehouse, case.get("source_reads") or [])
    config = _config(case, case.get("config"), tmp_path)
    _build_and_compare(warehouse, fetch, config, case["as_of"], case.get("expect"))
    rebuilds = case.get("rebuild") or []
    for rebuild in [rebuilds] if isinstance(rebuilds, dict) else rebuilds:
        rebuilt = _config(case, rebuild.get("config", case.get("config")), tmp_path)
        _build_and_compare(
            warehouse, fetch, rebuilt, rebuild.get("as_of", case["as_of"]), rebuild.get("expect")
        )
