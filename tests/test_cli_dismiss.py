"""`commhealth dismiss`: real processes on a real warehouse; decisions survive rebuilds and change the marts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from tests.test_cli import commhealth, error_lines, published_keys


def _published(folder: Path, query: str) -> list[tuple]:
    with duckdb.connect(str(folder / "warehouse.published.duckdb"), read_only=True) as con:
        return con.execute(query).fetchall()


def _ingest_and_build(config_path: Path) -> str:
    """One vendor message that asks us something, waiting past its SLA on 2026-11-20; returns its key."""
    mbox = config_path.parent / "inbox.mbox"
    mbox.write_bytes(
        b"From priya@kappa-offshore.in Mon Nov 16 10:12:00 2026\n"
        b"Message-ID: <ask@kappa-offshore.in>\nDate: Mon, 16 Nov 2026 10:12:00 +0530\n"
        b"From: Priya <priya@kappa-offshore.in>\nTo: jean@norelec.fr\nSubject: Invoice\n\n"
        b"Could you send the signed invoice?\n"
    )
    folder = config_path.parent
    assert commhealth("ingest", "mbox", str(mbox), cwd=folder).returncode == 0
    assert commhealth("build", "--as-of", "2026-11-20", cwd=folder).returncode == 0
    (key,) = published_keys(folder)
    assert _published(folder, "SELECT request_message_key FROM marts.awaiting") == [(key,)]
    return key


def test_decisions_are_recorded_listed_applied_by_the_next_build_and_undone(config_path: Path) -> None:
    folder = config_path.parent
    key = _ingest_and_build(config_path)

    item = commhealth("dismiss", "item", key, "--note", "[b]paid[/b]", "--author", "jean", cwd=folder)
    assert item.returncode == 0, item.stderr
    assert "Decision 1: item" in item.stdout
    message = commhealth("dismiss", "message", key, "--not-a-request", cwd=folder)
    assert message.returncode == 0, message.stderr
    listed = commhealth("dismiss", "list", cwd=folder)
    assert listed.returncode == 0
    assert "[b]paid[/b]" in listed.stdout  # user text is printed as written, never as markup
    assert "not a request" in listed.stdout and "dismiss item" in listed.stdout

    # the full rebuild keeps the decisions and applies them: the message asks nothing, nothing waits
    assert commhealth("build", "--full", "--as-of", "2026-11-20", cwd=folder).returncode == 0
    assert _published(folder, "SELECT count(*) FROM meta.feedback") == [(2,)]
    assert _published(folder, "SELECT count(*) FROM marts.awaiting") == [(0,)]
    assert _published(folder, "SELECT asks, reason FROM staging.stg_message_requests") == [
        (False, "feedback: not a request")
    ]

    undone = commhealth("dismiss", "undo", "2", cwd=folder)
    assert undone.returncode == 0, undone.stderr
    assert commhealth("build", "--as-of", "2026-11-20", cwd=folder).returncode == 0
    assert _published(folder, "SELECT request_message_key FROM marts.awaiting") == [(key,)]
    assert _published(folder, "SELECT id FROM meta.feedback WHERE revoked_at IS NOT NULL") == [(2,)]
    assert "not a request" not in commhealth("dismiss", "list", cwd=folder).stdout


def test_unknown_targets_are_one_line_errors_exit_2(config_path: Path) -> None:
    folder = config_path.parent
    key = _ingest_and_build(config_path)
    cases = {
        ("alert", "nobody", "latency_drift"): "unknown vendor 'nobody'",
        ("alert", "kappa", "bogus[x]"): "unknown rule 'bogus[x]'",
        ("alert", "kappa", "vendor_overdue"): "dismiss each with `commhealth dismiss item MESSAGE_KEY`",
        ("alert", "kappa", "latency_drift"): "kappa has no latency_drift alert on the last built day",
        ("alert", "kappa", "silence", "--until", "soon"): "--until 'soon' is not a date",
        ("item", "nosuch"): "no item awaiting a reply asked by message 'nosuch'",
        ("message", "nosuch", "--not-a-request"): "no message 'nosuch' in the warehouse",
        ("message", key): "--not-a-request",
        ("undo", "42"): "no decision 42 in force",
    }
    for args, expected in cases.items():
        result = commhealth("dismiss", *args, cwd=folder)
        assert result.returncode == 2, (args, result.stderr)
        lines = error_lines(result)
        assert len(lines) == 1 and expected in lines[0], (args, result.stderr)
    ahead = commhealth("dismiss", "alert", "kappa", "silence", "--until", "2026-12-01", cwd=folder)
    assert ahead.returncode == 0, ahead.stderr
    assert _published(folder, "SELECT vendor_id, rule, until FROM meta.feedback") == [
        ("kappa", "silence", dt.date(2026, 12, 1))
    ]
