"""Slack exports into a real warehouse: poison text, quarantine keys, and what is skipped."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from flows.ingest import ingest
from ground.config import load_config
from tests.test_cli import commhealth

LONE = "\ud800"  # valid JSON ("\ud800"), but no UTF-8 can hold it


def _published(config_path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(config_path.parent / "warehouse.published.duckdb"), read_only=True)


def _ingest(config_path: Path, *exports: Path):
    return ingest(load_config(config_path), Console(quiet=True), slack_exports=list(exports))


@pytest.mark.parametrize("packed", [False, True], ids=["folder", "zip"])
def test_lone_surrogates_are_repaired_and_flagged_and_the_channel_loads(
    make_export, zip_of, config_path: Path, packed: bool
) -> None:
    export = make_export(
        {
            "users.json": [
                {
                    "id": "U1",
                    "team_id": "T0NORELEC",
                    "name": f"al{LONE}ice",
                    "profile": {"email": "a@norelec.fr"},
                },
                {"id": "U2", "team_id": "T0KAPPA", "name": "priya"},
            ],
            "channels.json": [{"id": "C1", "name": "ext-kappa"}, {"id": "C2", "name": f"odd{LONE}"}],
            "ext-kappa/2026-11-16.json": [
                {"user": "U2", "text": LONE, "ts": "1763283600.000100"},
                {
                    "user": "U1",
                    "text": "Noted",
                    "ts": "1763283700.000100",
                    "files": [{"name": f"f{LONE}.pdf"}],
                },
                {"user": "U2", "text": "Clean one", "ts": "1763283800.000100"},
            ],
        },
        base=False,
    )
    # json.dump escapes the lone surrogate as the six characters \ud800: the file is plain ASCII JSON.
    assert b"\\ud800" in (export / "ext-kappa" / "2026-11-16.json").read_bytes()
    path = zip_of(export) if packed else export

    for _ in range(2):  # a rerun stores nothing twice
        _ingest(config_path, path)

    con = _published(config_path)
    assert con.execute(
        "SELECT message_key, body_full, sender_name, flags FROM core.messages ORDER BY message_key"
    ).fetchall() == [
        ("C1:1763283600.000100", "\ufffd", "priya", ["text_repaired"]),
        ("C1:1763283700.000100", "Noted", "al\ufffdice", ["text_repaired"]),
        ("C1:1763283800.000100", "Clean one", "priya", []),
    ]
    assert con.execute("SELECT user_id, name FROM raw.slack_users ORDER BY 1").fetchall() == [
        ("U1", "al\ufffdice"),
        ("U2", "priya"),
    ]
    assert con.execute("SELECT channel_id, name FROM raw.slack_channels ORDER BY 1").fetchall() == [
        ("C1", "ext-kappa"),
        ("C2", "odd\ufffd"),
    ]
    assert con.execute("SELECT count(*) FROM core.quarantine").fetchone() == (0,)
    assert con.execute("SELECT status, new FROM meta.runs ORDER BY started_at").fetchall() == [
        ("succeeded", 3),
        ("succeeded", 0),
    ]


def test_undecodable_file_names_are_repaired_in_raw_ref(tmp_path: Path, config_path: Path) -> None:
    """Mail too: a file name that is not UTF-8 reaches raw_ref surrogate-escaped, and is stored repaired."""
    folder = tmp_path / "mail"
    folder.mkdir()
    name = "inbox-\udcff.mbox"  # the byte 0xFF in the name, as Python hands it over
    (folder / name).write_bytes(
        b"From priya@kappa-offshore.in Mon Nov 16 10:12:00 2026\n"
        b"Message-ID: <ok@kappa-offshore.in>\nDate: Mon, 16 Nov 2026 10:12:00 +0530\n"
        b"From: Priya <priya@kappa-offshore.in>\nTo: jean@norelec.fr\nSubject: Hello\n\nHi Jean\n"
    )
    ingest(load_config(config_path), Console(quiet=True), mail=[folder])
    con = _published(config_path)
    assert con.execute("SELECT raw_ref, flags FROM core.messages").fetchall() == [
        (f"{folder}/inbox-\ufffd.mbox#0", ["text_repaired"])
    ]


def test_each_export_keeps_its_own_quarantine_rows(make_export, zip_of, config_path: Path) -> None:
    """The same bad message at the same place in two exports is two rows; reading one again adds none."""
    day = {"ext-kappa/2026-11-16.json": [{"user": "U2", "text": "no ts"}]}
    first, second = make_export(day), make_export(day)
    packed = zip_of(second)

    for _ in range(2):
        _ingest(config_path, first, packed)

    con = _published(config_path)
    assert sorted(con.execute("SELECT raw_ref, reason FROM core.quarantine").fetchall()) == [
        (f"{first}/ext-kappa/2026-11-16.json#0", "message_without_ts"),
        (f"{packed}/ext-kappa/2026-11-16.json#0", "message_without_ts"),
    ]


def test_files_not_read_are_in_the_summary_or_quarantined(make_export, zip_of, config_path: Path) -> None:
    export = make_export(
        {
            "ext-kappa/2026-11-16.json": [{"user": "U2", "text": "hello", "ts": "1763283600.000100"}],
            "ext-kappa/2026-02-30.json": [{"user": "U2", "text": "lost?", "ts": "1763283700.000100"}],
            "ext-kappa/canvas.json": {},
            "__MACOSX/ext-kappa/._2026-11-16.json": "",
            "integration_logs.json": {"logs": []},
        }
    )
    result = commhealth(
        "--config", str(config_path), "ingest", "slack-export", str(zip_of(export)), cwd=export.parent
    )
    assert result.returncode == 0, result.stderr
    lines = [" ".join(line.strip("│ ").replace("│", " ").split()) for line in result.stdout.splitlines()]
    assert "Slack export files not read 3" in lines
    assert {"not_a_day_file 1", "os_metadata 1", "unused_root_file 1", "invalid_day_file_name 1"} <= set(
        lines
    )
    con = _published(config_path)
    assert con.execute("SELECT reason FROM core.quarantine").fetchall() == [("invalid_day_file_name",)]
