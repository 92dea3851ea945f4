"""Data you can trust before you judge: reads recorded per source partition (meta.source_reads), freshness at
build time (marts.source_freshness, marts.vendor_data_status) and the digest saying so first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from connectors.base import SourceError
from digest import queries
from digest.delivery import digest_markdown, write_digest_files
from flows.ingest import ingest, merge, stage_mail
from ground.config import Config, load_config
from tests.conftest import EXAMPLE_CONFIG, write_config
from tests.fakes.slack_api import FakeSlackAPI
from tests.slack_api.conftest import seed_users, shared_with
from transforms.build import build_marts, parse_as_of, report_day
from warehouse.db import open_writer

QUIET = Console(quiet=True)
TOKEN_ENV = "COMMHEALTH_TEST_FRESHNESS_TOKEN"


def mail(sent: str, sender: str, to: str, key: str) -> bytes:
    """One mbox message sent at `sent` (RFC 2822 date)."""
    return (
        f"From {sender} {sent}\nMessage-ID: <{key}>\nDate: {sent}\nFrom: {sender}\nTo: {to}\n"
        f"Subject: Status {key}\n\nWhere are we on {key}?\n\n"
    ).encode()


def write_mbox(path: Path, *messages: bytes) -> Path:
    path.write_bytes(b"".join(messages))
    return path


def read_rows(config: Config, query: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(config.warehouse.published_path), read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config(write_config(tmp_path, EXAMPLE_CONFIG))


def kappa_mbox(folder: Path) -> Path:
    """Kappa's mail ending on Fri 13 Nov 2026."""
    return write_mbox(
        folder / "achats.mbox",
        mail(
            "Thu, 12 Nov 2026 09:00:00 +0100", "jean@norelec.fr", "priya@kappa-offshore.in", "q1@norelec.fr"
        ),
        mail("Thu, 12 Nov 2026 15:00:00 +0530", "priya@kappa-offshore.in", "jean@norelec.fr", "a1@kappa"),
        mail(
            "Fri, 13 Nov 2026 10:00:00 +0100", "jean@norelec.fr", "priya@kappa-offshore.in", "q2@norelec.fr"
        ),
    )


def test_an_mbox_read_and_re_read_is_recorded_once_with_its_newest_message(
    config: Config, tmp_path: Path
) -> None:
    mbox = kappa_mbox(tmp_path)
    ingest(config, QUIET, mail=[mbox])
    first = read_rows(config, "SELECT * FROM meta.source_reads")
    ingest(config, QUIET, mail=[mbox])  # read again: the same partition, a later read

    rows = read_rows(
        config,
        "SELECT source, partition_key, last_read_at, last_failed_at, last_error, newest_sent_at "
        "FROM meta.source_reads",
    )
    assert len(first) == 1 and len(rows) == 1
    source, partition, read_at, failed_at, error, newest = rows[0]
    assert (source, partition, failed_at, error) == ("mbox", str(mbox), None, None)
    assert newest == dt.datetime(2026, 11, 13, 9, tzinfo=dt.UTC)
    assert read_at > first[0][3]  # the re-read moved the last successful read


def test_a_mail_folder_that_vanished_is_a_failed_read_and_keeps_the_last_success(
    config: Config, tmp_path: Path
) -> None:
    """A configured mail path that cannot be read this run (an unmounted share, say): the read fails, the
    failure is staged with its error, and the path's last successful read and newest message stay."""
    mbox = kappa_mbox(tmp_path)
    ingest(config, QUIET, mail=[mbox])
    mbox.unlink()
    stage_mail(config, [mbox], QUIET)
    merge(config, command="test merge")

    rows = read_rows(
        config,
        "SELECT partition_key, last_failed_at IS NOT NULL, last_error, newest_sent_at FROM meta.source_reads",
    )
    assert len(rows) == 1
    partition, failed, error, newest = rows[0]
    assert (partition, failed) == (str(mbox), True)
    assert error.startswith(f"cannot read {mbox}: FileNotFoundError")
    assert newest == dt.datetime(2026, 11, 13, 9, tzinfo=dt.UTC)


def test_reads_staged_on_another_machine_are_recorded_when_merged(tmp_path: Path) -> None:
    shared_staging = tmp_path / "staging"
    extractor = load_config(
        write_config(
            tmp_path / "extractor",
            EXAMPLE_CONFIG.replace(
                'path = "warehouse.duckdb"', f'staging_dir = "{shared_staging.as_posix()}"'
            ),
        )
    )
    writer = load_config(
        write_config(
            tmp_path / "writer",
            EXAMPLE_CONFIG.replace(
                'path = "warehouse.duckdb"',
                f'path = "warehouse.duckdb"\nstaging_dir = "{shared_staging.as_posix()}"',
            ),
        )
    )
    mbox = kappa_mbox(tmp_path)

    stage_mail(extractor, [mbox], QUIET)  # staged parts only: no warehouse on this "machine"
    assert not extractor.warehouse.path.exists()
    merge(writer, command="test merge")

    assert read_rows(writer, "SELECT source, partition_key, newest_sent_at FROM meta.source_reads") == [
        ("mbox", str(mbox), dt.datetime(2026, 11, 13, 9, tzinfo=dt.UTC))
    ]


def test_a_run_12_days_after_the_last_message_says_so_first_and_judges_no_vendor(
    config: Config, tmp_path: Path
) -> None:
    ingest(config, QUIET, mail=[kappa_mbox(tmp_path)])
    # the scheduled run of Thu 26 Nov: its default as_of reports Wed 25 Nov, 8 business days after the data ends
    as_of = queries.default_as_of(config, dt.datetime(2026, 11, 26, 6, tzinfo=dt.UTC))
    with open_writer(config.warehouse.path) as con:
        build_marts(con, config, as_of)
        states = con.execute("SELECT DISTINCT state FROM marts.source_freshness").fetchall()
        digest = queries.load_digest(con, config, report_day(config, as_of))
        files = write_digest_files(con, config, digest)

    first_line = "The newest message is from 13 Nov: nothing since; the figures below stop there."
    assert states == [("ended",)]
    assert digest.data_problems[0] == first_line
    assert [(v.vendor_id, v.status, v.alerts) for v in digest.vendors] == [
        ("kappa", "no_data", []),
        ("lumen", "no_data", []),
    ]
    reason = "no message at all since 13 Nov: as_of is past the end of the data"
    assert {v.data_reason for v in digest.vendors} == {reason}
    blocks = files.rendered.main.blocks
    data_block = next(i for i, b in enumerate(blocks) if first_line in str(b))
    assert data_block <= 3  # right under the header and its counts, before any vendor
    assert files.rendered.main.text.startswith(f"Vendor communication health 2026-11-25: {first_line}")
    terminal = files.terminal_text
    assert terminal.index(first_line) < terminal.index("Kappa Offshore")
    assert "0 responses" not in terminal and "no data" in terminal
    markdown = digest_markdown(digest, files)
    assert markdown.index(first_line) < markdown.index("Kappa Offshore")


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlackAPI]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(TOKEN_ENV, "xoxb-freshness-test-token")
    with FakeSlackAPI() as fake:
        fake.state.team_id = "T0NORELEC"
        fake.state.add_channel("ext-kappa", "C0EXTKAPPA", **shared_with("T0KAPPA"))
        seed_users(fake)
        yield fake


def test_a_failed_slack_source_leaves_its_vendor_without_data_and_the_others_judged(
    tmp_path: Path, slack: FakeSlackAPI
) -> None:
    config = load_config(
        write_config(
            tmp_path,
            EXAMPLE_CONFIG
            + f'\n[sources.slack]\napi_url = "{slack.url}"\ntoken_env = "{TOKEN_ENV}"\nmax_retries = 0\n',
        )
    )
    # the fake's clock starts on 1 Jan 2026: Kappa talks in #ext-kappa, Lumen writes by mail on 2 Jan
    slack.state.add_message("C0EXTKAPPA", "Can you send the plan?", user="U0ALICE", team="T0NORELEC")
    slack.state.add_message("C0EXTKAPPA", "Sent, see the drive", user="U0VIC", team="T0KAPPA")
    mbox = write_mbox(
        tmp_path / "lumen.mbox",
        mail("Fri, 02 Jan 2026 09:00:00 +0100", "jean@norelec.fr", "ana@lumen.ro", "q1@norelec.fr"),
        mail("Fri, 02 Jan 2026 11:00:00 +0200", "ana@lumen.ro", "jean@norelec.fr", "a1@lumen.ro"),
    )
    ingest(config, QUIET, mail=[mbox], live=["slack"])
    slack.server_error("conversations.history", times=None)  # Slack answers 500 in this run

    with pytest.raises(SourceError):
        ingest(config, QUIET, mail=[mbox], live=["slack"])

    as_of = parse_as_of("2026-01-02T17:00:00+01:00", config)
    with open_writer(config.warehouse.path) as con:
        build_marts(con, config, as_of)
        freshness = con.execute(
            "SELECT source, partition_key, state, vendor_ids FROM marts.source_freshness ORDER BY ALL"
        ).fetchall()
        status = con.execute(
            "SELECT vendor_id, status, has_data, data_reason FROM marts.digest_vendors ORDER BY vendor_id"
        ).fetchall()
        digest = queries.load_digest(con, config, report_day(config, as_of))

    assert freshness == [
        ("mbox", str(mbox), "ok", ["lumen"]),
        ("slack_api", "*", "failed", []),  # the run stopped: what it did not reach is failed too
        ("slack_api", "C0EXTKAPPA", "failed", ["kappa"]),
        ("slack_api", "C0LUMEN", "failed", ["lumen"]),  # configured for Lumen but not found in Slack
    ]
    (kappa_id, kappa_status, kappa_has_data, kappa_reason), lumen = status
    assert (kappa_id, kappa_status, kappa_has_data) == ("kappa", "no_data", False)
    assert kappa_reason.startswith("the Slack channel #ext-kappa could not be read on ")
    assert "conversations.history" in kappa_reason and "xoxb" not in kappa_reason
    assert lumen[0] == "lumen" and lumen[1] != "no_data" and lumen[2] is True and lumen[3] is None
    # one line for the whole source: its failure and the partitions it left unread
    (problem,) = digest.data_problems
    assert problem.startswith("Slack could not be read on ")
    assert problem.endswith(": Slack API conversations.history failed: http_500 (HTTP 500)")
