"""Ingestion end to end through the CLI: demo data and nasty files, twice, into a real warehouse file."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from commhealth.demo_data import write_demo_dataset
from flows.ingest import Extraction, configured_plan, ingest, plan, selected_sources, with_mailboxes
from ground.config import load_config
from ground.secrets import SecretUnavailableError
from tests.conftest import EXAMPLE_CONFIG, write_config
from tests.test_cli import commhealth
from warehouse.staging import staged_parts


def published(folder: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(folder / "warehouse.published.duckdb"), read_only=True)


def test_ingest_all_twice_stores_nothing_twice(tmp_path: Path) -> None:
    dataset = write_demo_dataset(tmp_path / "demo", weeks=1)
    first = commhealth("--config", str(dataset.config_path), "ingest", "all", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Ingestion summary" in first.stdout
    con = published(dataset.config_path.parent)
    stored = con.execute("SELECT count(*), count(DISTINCT message_key) FROM core.messages").fetchone()
    assert stored[0] == stored[1] > 100
    domains = {
        d for (d,) in con.execute("SELECT DISTINCT split_part(sender, '@', 2) FROM core.messages").fetchall()
    }
    assert {"norelec.fr", "kappa-offshore.in"} <= domains  # both sides' mail, told apart at build time
    con.close()

    second = commhealth("--config", str(dataset.config_path), "ingest", "all", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    con = published(dataset.config_path.parent)
    assert con.execute("SELECT count(*) FROM core.messages").fetchone()[0] == stored[0]
    runs = con.execute("SELECT new, already_stored FROM meta.runs ORDER BY started_at").fetchall()
    assert runs[0][0] == stored[0]
    assert runs[1] == (0, runs[0][0] + runs[0][1])


def test_bad_files_are_quarantined_and_the_rest_is_loaded(tmp_path: Path, config_path: Path) -> None:
    mail = tmp_path / "mail"
    mail.mkdir()
    (mail / "empty.mbox").write_bytes(b"")
    (mail / "binary.eml").write_bytes(b"\x00\x01\x02PK\x03\x04" * 100)
    (mail / "good.eml").write_bytes(
        b"Message-ID: <ok@kappa-offshore.in>\r\nDate: Mon, 16 Nov 2026 10:12:00 +0530\r\n"
        b"From: Priya <priya@kappa-offshore.in>\r\nTo: jean@norelec.fr\r\nSubject: Hello\r\n\r\nHi Jean\r\n"
    )
    (mail / "nodate.eml").write_bytes(b"Message-ID: <nodate@x>\r\nFrom: a@b.c\r\n\r\nbody\r\n")
    export = tmp_path / "export"
    (export / "ext-kappa").mkdir(parents=True)
    (export / "users.json").write_text(json.dumps([{"id": "U1", "team_id": "T0KAPPA", "name": "priya"}]))
    (export / "channels.json").write_text(json.dumps([{"id": "C1", "name": "ext-kappa"}]))
    (export / "ext-kappa" / "2026-11-16.json").write_text(json.dumps({"not": "a list"}))
    (export / "ext-kappa" / "2026-11-17.json").write_text(
        json.dumps(
            [
                {"type": "message", "user": "U1", "text": "Any update?", "ts": "1763370000.000100"},
                {"text": "no ts"},
            ]
        )
    )

    for _ in range(2):
        result = commhealth("--config", str(config_path), "ingest", "mbox", str(mail), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        result = commhealth("--config", str(config_path), "ingest", "slack-export", str(export), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    con = published(config_path.parent)
    assert sorted(
        con.execute("SELECT message_key, sender, sender_team_id FROM core.messages").fetchall()
    ) == [
        ("C1:1763370000.000100", "U1", "T0KAPPA"),
        ("ok@kappa-offshore.in", "priya@kappa-offshore.in", None),
    ]
    reasons = sorted(r for (r,) in con.execute("SELECT reason FROM core.quarantine").fetchall())
    assert reasons == [
        "binary_file",
        "day_file_not_a_list",
        "empty_file",
        "message_without_ts",
        "no_usable_date",
    ]


def test_build_publishes_marts_and_rejects_a_bad_as_of(tmp_path: Path) -> None:
    dataset = write_demo_dataset(tmp_path / "demo", weeks=2)
    config = str(dataset.config_path)
    assert commhealth("--config", config, "ingest", "all", cwd=tmp_path).returncode == 0
    bad = commhealth("--config", config, "build", "--as-of", "yesterday", cwd=tmp_path)
    assert bad.returncode == 2 and "--as-of 'yesterday'" in bad.stderr and "Traceback" not in bad.stderr
    built = commhealth("--config", config, "build", "--as-of", dataset.as_of.isoformat(), cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    con = published(dataset.config_path.parent)
    late = con.execute(
        "SELECT count(*) FROM marts.responses WHERE responded_at > ?", [dataset.as_of]
    ).fetchone()
    assert late == (0,)
    directions = {d for (d,) in con.execute("SELECT DISTINCT direction FROM marts.responses").fetchall()}
    assert directions == {"vendor_response", "company_response"}
    assert con.execute("SELECT count(*) FROM marts.vendor_daily").fetchone()[0] > 0


def test_a_failing_live_source_still_stores_and_publishes_what_was_read_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COMMHEALTH_TEST_ABSENT_TOKEN", raising=False)
    config_path = write_config(
        tmp_path, EXAMPLE_CONFIG + '\n[sources.slack]\ntoken_env = "COMMHEALTH_TEST_ABSENT_TOKEN"\n'
    )
    mbox = tmp_path / "box.mbox"
    mbox.write_bytes(
        b"From priya@kappa-offshore.in Mon Nov 16 10:12:00 2026\n"
        b"Message-ID: <ok@kappa-offshore.in>\nDate: Mon, 16 Nov 2026 10:12:00 +0530\n"
        b"From: Priya <priya@kappa-offshore.in>\nTo: jean@norelec.fr\nSubject: Hello\n\nHi Jean\n"
    )
    config = load_config(config_path)

    with pytest.raises(SecretUnavailableError, match="COMMHEALTH_TEST_ABSENT_TOKEN"):
        ingest(config, Console(quiet=True), mail=[mbox], live=["slack"])

    con = published(tmp_path)  # published although the run failed
    assert con.execute("SELECT message_key FROM core.messages").fetchall() == [("ok@kappa-offshore.in",)]
    assert con.execute("SELECT command, status, new FROM meta.runs").fetchall() == [
        ("ingest mbox slack", "failed", 1)
    ]
    assert staged_parts(config.warehouse.staging_path) == []


EXCHANGE_SECTION = """
[sources.exchange]
endpoint = "https://mail.norelec.fr/EWS/Exchange.asmx"
username = "svc-commhealth"
mailboxes = ["achats@norelec.fr", "projets@norelec.fr", "support@norelec.fr"]
"""


def test_extraction_is_split_by_source_and_mailbox_only_as_configured(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, EXAMPLE_CONFIG + EXCHANGE_SECTION))
    assert selected_sources(config, None) == ["exchange"]
    assert selected_sources(config, []) == []
    with pytest.raises(ValueError, match=r"source\(s\) graph not configured; configured: exchange"):
        selected_sources(config, ["graph"])

    split = with_mailboxes(config, "exchange", ["Support@norelec.fr", "achats@norelec.fr"])
    assert split.sources.exchange.mailboxes == ["support@norelec.fr", "achats@norelec.fr"]
    assert config.sources.exchange.mailboxes[1] == "projets@norelec.fr"  # the loaded config is left as it was
    with pytest.raises(ValueError, match=r"mailbox\(es\) boss@norelec\.fr not in \[sources\.exchange\]"):
        with_mailboxes(config, "exchange", ["boss@norelec.fr"])
    with pytest.raises(ValueError, match="only exchange and graph split by mailbox, not slack"):
        with_mailboxes(config, "slack", ["achats@norelec.fr"])

    # What the flow and the CLI run: one extraction per source, per Slack export, mail paths together.
    assert configured_plan(config) == [Extraction("exchange")]
    assert configured_plan(config, []) == []
    assert configured_plan(config, None, ["Support@norelec.fr"]) == [
        Extraction("exchange", mailboxes=("support@norelec.fr",))
    ]
    with pytest.raises(ValueError, match=r"mailbox\(es\) boss@norelec\.fr not in"):
        configured_plan(config, None, ["boss@norelec.fr"])
    a, b, x, y = (tmp_path / name for name in ("a.mbox", "b", "x.zip", "y"))
    mixed = plan(config, mail=[a, b], slack_exports=[x, y], live=["exchange"])
    assert mixed == [
        Extraction("mbox", (a, b)),
        Extraction("slack_export", (x,)),
        Extraction("slack_export", (y,)),
        Extraction("exchange"),
    ]
    assert [e.label for e in mixed] == ["mbox", f"slack_export {x}", f"slack_export {y}", "exchange"]
    assert [e.over_network for e in mixed] == [False, False, False, True]


def test_a_large_mbox_parsed_in_processes_stores_what_one_process_stores(tmp_path: Path) -> None:
    # Over 16 MB (PARSE_PROCESSES_MIN_BYTES) in few messages: long bodies cost little to parse.
    line = b"The nightly export finished; row counts match the ledger for every region.\n"
    raws = [
        b"From priya@kappa-offshore.in Mon Nov 16 10:12:00 2026\n"
        + f"Message-ID: <big{i}@kappa-offshore.in>\nDate: Mon, 16 Nov 2026 10:{i % 60:02d}:00 +0530\n".encode()
        + b"From: Priya <priya@kappa-offshore.in>\nTo: jean@norelec.fr\nSubject: Export\n\n"
        + f"Jean, can you confirm run {i}?\n".encode()
        + line * 1400
        for i in range(180)
    ]
    mbox = tmp_path / "mail" / "archive.mbox"
    mbox.parent.mkdir()
    mbox.write_bytes(b"\n".join(raws) + b"\nFrom broken@x Mon Nov 16 10:12:00 2026\nno headers here\n")
    assert mbox.stat().st_size > 16 * 1024 * 1024
    stored = {}
    for processes in (1, 2):
        folder = tmp_path / f"p{processes}"
        text = EXAMPLE_CONFIG.replace("[warehouse]\n", f"[warehouse]\nparse_processes = {processes}\n", 1)
        config = write_config(folder, text)
        result = commhealth("--config", str(config), "ingest", "mbox", str(mbox), cwd=folder)
        assert result.returncode == 0, result.stderr
        assert ("in 2 processes" in result.stderr) == (processes == 2), result.stderr
        con = published(folder)
        stored[processes] = con.execute(
            "SELECT message_key, sent_at, body_text, content_hash, raw_ref FROM core.messages ORDER BY raw_ref"
        ).fetchall()
        assert con.execute("SELECT reason FROM core.quarantine").fetchall() == [("no_headers",)]
        con.close()
    assert len(stored[1]) == 180 and stored[1][0][2].startswith("Jean, can you confirm run 0?")
    assert stored[2] == stored[1]
