"""The warehouse: migrations, idempotent batched loads, conflicts, the published copy (email conversations:
tests/test_email_threads.py)."""

from __future__ import annotations

import datetime as dt
import stat
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from ground.config import load_config
from ground.records import MessageRecord, QuarantineRecord
from tests.conftest import EXAMPLE_CONFIG, load_records, write_config
from warehouse.db import WarehouseBusyError, migration_files, open_writer, transaction
from warehouse.load import merge_staged
from warehouse.session import WarehouseOutOfMemoryError, publish_snapshot, writing
from warehouse.staging import CursorStore, StagingWriter, staged_parts

T0 = dt.datetime(2026, 11, 16, 9, tzinfo=dt.UTC)


def mail(key: str, body: str = "hello", raw_ref: str | None = None, **fields: object) -> MessageRecord:
    return MessageRecord(
        key,
        "email",
        "mbox",
        T0,
        raw_ref or f"box#{key}",
        sender="a@norelec.fr",
        body_full=body,
        body_text=body,
        **fields,
    )


def rows(con: duckdb.DuckDBPyConnection, query: str) -> list[tuple]:
    return con.execute(query).fetchall()


def test_migrations_from_an_empty_file_are_recorded_once(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with open_writer(path) as con:
        versions = rows(con, "SELECT version FROM meta.schema_migrations ORDER BY 1")
    assert versions == [(v,) for v, _, _ in migration_files()]
    with open_writer(path) as con:  # reopening applies nothing again
        assert rows(con, "SELECT count(*) FROM meta.schema_migrations") == [(len(versions),)]
        undocumented = rows(
            con,
            """SELECT table_name, column_name FROM duckdb_columns()
               WHERE schema_name IN ('core', 'raw', 'meta') AND comment IS NULL""",
        )
        assert undocumented == []
        assert rows(
            con, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'core' AND comment IS NULL"
        ) == [(0,)]


def older_release_warehouse(path: Path, first_missing: int, *, also: tuple[int, ...] = ()) -> None:
    """A warehouse file as a release that stopped before migration `first_missing` left it, with the later
    migrations in `also` (new tables only) applied so that today's build can run on it."""
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA meta")
    con.execute(
        "CREATE TABLE meta.schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
        "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    for version, name, statements in migration_files():
        if version < first_missing or version in also:
            con.execute(statements)
            con.execute("INSERT INTO meta.schema_migrations (version, name) VALUES (?, ?)", [version, name])
    con.close()


def test_messages_stored_before_the_key_index_was_dropped_keep_their_rows_and_comments(
    tmp_path: Path,
) -> None:
    path = tmp_path / "w.duckdb"
    older_release_warehouse(path, 5)
    load_before = {"message_key": "old@x", "changed_at": "2026-11-01 00:00:00+00"}
    with duckdb.connect(str(path)) as con:
        con.execute(
            """INSERT INTO core.messages (message_key, channel, source, conversation_key, sent_at, side,
               is_automated, is_internal, content_hash, raw_ref, ingested_at, changed_at)
               VALUES ($message_key, 'email', 'mbox', $message_key, TIMESTAMPTZ '2026-11-01 09:00:00+00',
                       'company', false, false, 'h', 'box#1', $changed_at, $changed_at)""",
            load_before,
        )
    with open_writer(path) as con:
        assert rows(con, "SELECT message_key, changed_at::VARCHAR FROM core.messages") == [
            ("old@x", "2026-11-01 00:00:00+00")
        ]
        assert rows(
            con,
            "SELECT count(*) FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' "
            "AND schema_name = 'core' AND table_name = 'messages'",
        ) == [(0,)]
        assert rows(
            con,
            "SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'core' AND table_name = 'messages' "
            "AND comment IS NULL",
        ) == [(0,)]
        load_records(con, [mail("old@x"), mail("new@x")], tmp_path / "staging")
        assert rows(con, "SELECT message_key, count(*) FROM core.messages GROUP BY 1 ORDER BY 1") == [
            ("new@x", 1),
            ("old@x", 1),
        ]


def test_an_upgraded_warehouse_builds_its_models_in_staging_and_intermediate(tmp_path: Path) -> None:
    """The models that lived in marts before the staging and intermediate schemas leave it: the next build (a
    full one) makes them there, and marts keeps only what analysts read."""
    from tests.transforms.transforms_testlib import insert_messages, make_config
    from transforms.build import build_marts

    path = tmp_path / "w.duckdb"
    older_release_warehouse(path, 12)
    with duckdb.connect(str(path)) as con:
        for table in ("stg_turns", "stg_message_requests", "party_slack_ids"):
            con.execute(f"CREATE TABLE marts.{table} (x INTEGER)")
    with open_writer(path) as con:
        leftover = (
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name LIKE 'stg%'"
        )
        assert (
            rows(con, leftover) + rows(con, "FROM duckdb_tables() WHERE table_name = 'party_slack_ids'") == []
        )
        insert_messages(
            con,
            [{"side": "company", "recipient_vendor_ids": ["kappa"], "sent_at": "2026-11-04T09:00:00+00:00"}],
        )
        counts = build_marts(con, make_config(), dt.datetime(2026, 11, 5, tzinfo=dt.UTC))
        assert counts["full_build"] == 1 and counts["int_turns"] == 1
        assert rows(con, "SELECT count(*) FROM intermediate.int_turns") == [(1,)]
        assert rows(con, "SELECT count(*) FROM staging.stg_message_requests") == [(1,)]


def test_slack_directory_before_the_build_time_scope_keeps_its_rows(tmp_path: Path) -> None:
    """Upgrading: Slack channels keep their rows (the ingest-time vendor_id goes, kind/teams/members are
    unknown until read again), and Slack messages that carried the channel's vendor as a recipient are stamped
    for the next build."""
    path = tmp_path / "w.duckdb"
    older_release_warehouse(path, 6)
    with duckdb.connect(str(path)) as con:
        con.execute(
            "INSERT INTO raw.slack_channels VALUES ('C1', 'ext-kappa', true, 'kappa', 'slack_export', "
            "'channels.json#0', TIMESTAMPTZ '2026-11-01 00:00:00+00')"
        )
        for key, channel, recipients in (("C1:1.0", "slack", ["kappa"]), ("m@x", "email", ["kappa"])):
            con.execute(
                """INSERT INTO core.messages (message_key, channel, source, conversation_key, sent_at, side,
                   recipient_vendor_ids, is_automated, is_internal, content_hash, raw_ref, ingested_at,
                   changed_at)
                   VALUES (?, ?, 'test', ?, TIMESTAMPTZ '2026-11-01 09:00:00+00', 'company', ?, false, false,
                           'h', 'ref', TIMESTAMPTZ '2026-11-01 00:00:00+00', TIMESTAMPTZ '2026-11-01 00:00:00+00')""",
                [key, channel, key, recipients],
            )
    with open_writer(path) as con:
        assert rows(con, "SELECT * EXCLUDE (ingested_at) FROM raw.slack_channels") == [
            ("C1", "ext-kappa", True, "slack_export", "channels.json#0", None, None, None)
        ]
        stamped = rows(
            con,
            "SELECT message_key, changed_at > TIMESTAMPTZ '2026-11-01 00:00:00+00' FROM core.messages ORDER BY 1",
        )
        assert stamped == [("C1:1.0", True), ("m@x", False)]
        # and migration 011 dropped who is who as read: the build decides it (staging.stg_message_parties)
        assert (
            rows(
                con,
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'core' AND table_name = 'messages' "
                "AND column_name IN ('side', 'vendor_id', 'recipient_vendor_ids', 'is_internal')",
            )
            == []
        )
        assert rows(
            con,
            "SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'raw' AND table_name = 'slack_channels' "
            "AND comment IS NULL",
        ) == [(0,)]


def test_same_input_twice_stores_nothing_twice(tmp_path: Path) -> None:
    batch = [
        mail("a@x"),
        mail("b@x", in_reply_to="a@x"),
        QuarantineRecord("mbox", "box#9", "no_usable_date", "Date: ?"),
    ]
    with open_writer(":memory:") as con:
        stats = load_records(con, batch, tmp_path, batch_size=2)
        assert (stats.read, stats.new, stats.already_stored, stats.quarantined_total) == (2, 2, 0, 1)
        before = rows(con, "SELECT * FROM core.messages ORDER BY message_key")
        stats = load_records(con, batch, tmp_path)
        assert (stats.new, stats.already_stored) == (0, 2)
        assert rows(con, "SELECT * FROM core.messages ORDER BY message_key") == before
        assert rows(con, "SELECT count(*) FROM core.quarantine") == [(1,)]


def test_duplicate_key_with_other_content_keeps_the_first_and_quarantines_the_second(tmp_path: Path) -> None:
    with open_writer(":memory:") as con:
        stats = load_records(
            con,
            [mail("a@x", "first"), mail("a@x", "second", "box#2"), mail("a@x", "first", "box#3")],
            tmp_path,
        )
        assert (stats.new, stats.already_stored, stats.conflicts) == (1, 1, 1)
        assert rows(con, "SELECT body_full FROM core.messages") == [("first",)]
        assert rows(con, "SELECT reason FROM core.quarantine") == [("duplicate_key_conflict",)]
        assert load_records(con, [mail("a@x", "third", "box#4")], tmp_path).conflicts == 1
        assert rows(con, "SELECT body_full FROM core.messages") == [("first",)]


def test_the_same_message_read_again_with_other_derived_text_is_no_conflict(tmp_path: Path) -> None:
    # A newer extractor renders a stored message's HTML otherwise: read again from the same place, it is the
    # message already stored (kept as it was), not a conflict to quarantine.
    with open_writer(":memory:") as con:
        load_records(con, [mail("a@x", "Hi\n\nthere")], tmp_path)
        stats = load_records(con, [mail("a@x", "Hi\nthere")], tmp_path)
        assert (stats.new, stats.already_stored, stats.conflicts) == (0, 1, 0)
        assert rows(con, "SELECT body_full FROM core.messages") == [("Hi\n\nthere",)]
        assert rows(con, "SELECT count(*) FROM core.quarantine") == [(0,)]
        # From another place, the same key with other content is still a conflict.
        assert load_records(con, [mail("a@x", "Hi\nthere", "other.mbox#1")], tmp_path).conflicts == 1


def test_parts_merged_in_one_transaction_keep_the_first_copy(tmp_path: Path) -> None:
    # One part per record: consecutive message parts are merged together, in part order.
    copies = [
        mail("a@x", "first"),
        mail("b@x"),
        mail("a@x", "second", "box#2"),
        mail("a@x", "first", "box#3"),
    ]
    with open_writer(":memory:") as con:
        stats = load_records(con, copies, tmp_path, batch_size=1)
        assert (stats.read, stats.new, stats.already_stored, stats.conflicts) == (4, 2, 1, 1)
        assert rows(con, "SELECT body_full FROM core.messages WHERE message_key = 'a@x'") == [("first",)]
        assert rows(con, "SELECT reason FROM core.quarantine") == [("duplicate_key_conflict",)]
    assert staged_parts(tmp_path) == []


def test_store_bodies_false_keeps_no_text(tmp_path: Path) -> None:
    with open_writer(":memory:") as con:
        load_records(con, [mail("a@x", "secret words here")], tmp_path, store_bodies=False)
        assert rows(con, "SELECT body_text, body_full, body_words FROM core.messages") == [(None, None, 3)]
    assert b"secret" not in b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())


def test_a_failing_part_rolls_back_keeps_earlier_parts_and_stays_staged(tmp_path: Path) -> None:
    writer = StagingWriter(tmp_path, "test", batch_size=1)
    writer.add(mail("good@x"))
    writer.add(QuarantineRecord("mbox", "box#1", "no_usable_date"))
    parts = writer.close()
    # A damaged part: the merge must stop there, not lose anything.
    Path(parts[1].path).write_bytes(b"not parquet")
    with open_writer(":memory:") as con:
        with pytest.raises(Exception):  # noqa: B017 - any reading error will do
            merge_staged(con, tmp_path)
        assert rows(con, "SELECT message_key FROM core.messages") == [("good@x",)]
        assert staged_parts(tmp_path) == [parts[1]]


@pytest.mark.parametrize("mode", [0o644, 0o640], ids=oct)
def test_published_copy_has_the_writers_file_mode(config_path: Path, mode: int) -> None:
    # Analysts who are not the writer's owner read the copy as far as the writer's mode lets them read the file.
    config = load_config(config_path)
    with writing(config, "test") as (con, _run):
        load_records(con, [mail("a@x")], config.warehouse.staging_path)
    config.warehouse.path.chmod(mode)
    with writing(config, "test") as (con, _run):
        load_records(con, [mail("b@x")], config.warehouse.staging_path)
    assert stat.S_IMODE(config.warehouse.published_path.stat().st_mode) == mode


def test_published_copy_opens_while_the_writer_runs(config_path: Path) -> None:
    config = load_config(config_path)
    with writing(config, "test") as (con, _run):
        load_records(con, [mail("a@x")], config.warehouse.staging_path)
    published = config.warehouse.published_path
    with writing(config, "test") as (con, _run):
        # The writer holds warehouse.duckdb; a separate process reads the published copy meanwhile.
        reader = subprocess.run(
            [
                sys.executable,
                "-c",
                (
                    "import duckdb,sys; c=duckdb.connect(sys.argv[1], read_only=True); "
                    "print(c.execute('select count(*) from core.messages').fetchone()[0])"
                ),
                str(published),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        assert reader.stdout.strip() == "1"
        blocked = subprocess.run(
            [
                sys.executable,
                "-c",
                "import duckdb,sys; duckdb.connect(sys.argv[1], read_only=True)",
                str(config.warehouse.path),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert blocked.returncode != 0 and "lock" in blocked.stderr.lower()
    runs = (
        duckdb.connect(str(published), read_only=True)
        .execute("SELECT command, status FROM meta.runs")
        .fetchall()
    )
    assert runs == [("test", "succeeded"), ("test", "succeeded")]


def test_a_publish_removes_the_temp_copy_a_killed_publish_left(config_path: Path) -> None:
    config = load_config(config_path)
    published = config.warehouse.published_path
    leftover = published.with_name(published.name + ".k1ll3d.tmp")  # the name a killed publish leaves
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_bytes(b"half a warehouse")

    with writing(config, "test") as (con, _run):
        load_records(con, [mail("a@x")], config.warehouse.staging_path)

    assert not leftover.exists()
    assert list(published.parent.glob(published.name + ".*.tmp")) == []
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM core.messages").fetchone() == (1,)


# Another process in the middle of a publish: it holds the publish lock and is writing its temp copy.
LIVE_PUBLISH = """
import os, shutil, sys
from pathlib import Path
from warehouse.db import publish_lock
source, published = Path(sys.argv[1]), Path(sys.argv[2])
tmp = published.with_name(published.name + ".live.tmp")
with publish_lock(published):
    shutil.copyfile(source, tmp)
    print("copying", flush=True)
    sys.stdin.readline()
    os.replace(tmp, published)
"""


def test_a_publish_leaves_the_temp_copy_of_a_live_publish_alone(config_path: Path) -> None:
    config = load_config(config_path)
    with writing(config, "test") as (con, _run):
        load_records(con, [mail("a@x")], config.warehouse.staging_path)
    published = config.warehouse.published_path
    other = subprocess.Popen(
        [sys.executable, "-c", LIVE_PUBLISH, str(config.warehouse.path), str(published)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    assert other.stdout is not None and other.stdin is not None
    assert other.stdout.readline() == "copying\n"
    ours = threading.Thread(target=publish_snapshot, args=(config,))
    ours.start()  # it waits for the other publish instead of sweeping its temp copy away
    other.stdin.write("go on\n")
    other.stdin.close()
    assert other.wait(timeout=60) == 0
    ours.join(timeout=60)
    assert not ours.is_alive()
    assert list(published.parent.glob(published.name + ".*.tmp")) == []


def test_second_writer_gets_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with open_writer(path):
        holder = subprocess.run(
            [
                sys.executable,
                "-c",
                "from warehouse.db import open_writer\nimport sys\nwith open_writer(sys.argv[1]): pass",
                str(path),
            ],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent.parent,
            check=False,
        )
    assert holder.returncode != 0
    assert WarehouseBusyError.__name__ in holder.stderr and "published copy" in holder.stderr


def test_cursor_follows_its_records_and_a_resumed_run_sees_the_staged_one(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    published = tmp_path / "published.duckdb"
    writer = StagingWriter(staging, "slack", batch_size=100)
    cursors = CursorStore(writer, published)
    assert cursors.get("slack_api", "C1") is None
    writer.add(mail("a@x"))
    cursors.set("slack_api", "C1", '{"watermark": "1.0"}')
    writer.close()
    # A new run before any merge (the first was killed) resumes from the staged cursor.
    assert (
        CursorStore(StagingWriter(staging, "again"), published).get("slack_api", "C1")
        == '{"watermark": "1.0"}'
    )
    with open_writer(published) as con:
        merge_staged(con, staging)
        assert rows(con, "SELECT source, partition_key, cursor FROM meta.sync_state") == [
            ("slack_api", "C1", '{"watermark": "1.0"}')
        ]
        assert rows(con, "SELECT count(*) FROM core.messages") == [(1,)]
    assert staged_parts(staging) == []
    # Once merged, the warehouse (its published copy) is where the cursor is read from.
    assert (
        CursorStore(StagingWriter(staging, "later"), published).get("slack_api", "C1")
        == '{"watermark": "1.0"}'
    )


def test_running_out_of_memory_names_the_setting_and_keeps_what_was_committed(config_path: Path) -> None:
    config = load_config(config_path)
    with writing(config, "ingest") as (con, _run):
        load_records(con, [mail("kept@x")], config.warehouse.staging_path)
    too_small = pytest.raises(WarehouseOutOfMemoryError, match=r"merge_memory_limit = '64MB'; raise it")
    small = config.model_copy(
        update={"warehouse": config.warehouse.model_copy(update={"merge_memory_limit": "64MB"})}
    )
    with too_small, writing(small, "ingest", memory_setting="merge_memory_limit") as (con, _run):
        con.execute("SELECT list(range) FROM range(100000000)").fetchall()  # a list cannot spill
    with open_writer(config.warehouse.path) as con:
        assert rows(con, "SELECT message_key FROM core.messages") == [("kept@x",)]
        assert rows(con, "SELECT command, status FROM meta.runs ORDER BY started_at") == [
            ("ingest", "succeeded"),
            ("ingest", "failed"),
        ]


def test_a_transaction_rolls_back_on_error_and_raises_the_first_error() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(ValueError, match="in the body"), transaction(con):
        con.execute("INSERT INTO t VALUES (1)")
        raise ValueError("in the body")
    assert rows(con, "SELECT count(*) FROM t") == [(0,)]
    # A COMMIT that fails ends the transaction before the ROLLBACK runs; the ROLLBACK's complaint that no
    # transaction is active must not replace the error that matters.
    with pytest.raises(ValueError, match="after the commit"), transaction(con):
        con.execute("INSERT INTO t VALUES (2)")
        con.execute("COMMIT")
        raise ValueError("after the commit")
    assert rows(con, "SELECT x FROM t") == [(2,)]


@pytest.mark.parametrize(
    ("setting", "expected"), [("", "warehouse.tmp"), ('temp_dir = "spill/duckdb"\n', "spill/duckdb")]
)
def test_duckdb_spills_to_the_configured_temp_dir(tmp_path: Path, setting: str, expected: str) -> None:
    config = load_config(write_config(tmp_path, EXAMPLE_CONFIG + setting))  # relative to the config file
    with writing(config, "test", publish=False) as (con, _run):
        assert rows(con, "SELECT current_setting('temp_directory')") == [(str(tmp_path / expected),)]
