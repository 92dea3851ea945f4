"""The warehouse: migrations, idempotent batched loads, conflicts, email chains, the published copy."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from commhealth.config import load_config
from commhealth.records import MessageRecord, QuarantineRecord
from tests.conftest import EXAMPLE_CONFIG, write_config
from warehouse.db import WarehouseBusyError, migration_files, open_writer, transaction
from warehouse.load import load_records, merge_staged, resolve_email_conversations
from warehouse.session import WarehouseOutOfMemoryError, writing
from warehouse.staging import CursorStore, StagingWriter, staged_parts

T0 = dt.datetime(2026, 11, 16, 9, tzinfo=dt.UTC)


def mail(key: str, body: str = "hello", **fields: object) -> MessageRecord:
    return MessageRecord(
        key,
        "email",
        "mbox",
        T0,
        f"box#{key}",
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


def test_messages_stored_before_the_key_index_was_dropped_keep_their_rows_and_comments(
    tmp_path: Path,
) -> None:
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA meta")
    con.execute(
        "CREATE TABLE meta.schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
        "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    for version, name, statements in migration_files():
        if version < 5:  # the warehouse as the previous release left it
            con.execute(statements)
            con.execute("INSERT INTO meta.schema_migrations (version, name) VALUES (?, ?)", [version, name])
    con.close()
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
            con, [mail("a@x", "first"), mail("a@x", "second"), mail("a@x", "first")], tmp_path
        )
        assert (stats.new, stats.already_stored, stats.conflicts) == (1, 1, 1)
        assert rows(con, "SELECT body_full FROM core.messages") == [("first",)]
        assert rows(con, "SELECT reason FROM core.quarantine") == [("duplicate_key_conflict",)]
        assert load_records(con, [mail("a@x", "third")], tmp_path).conflicts == 1
        assert rows(con, "SELECT body_full FROM core.messages") == [("first",)]


def test_parts_merged_in_one_transaction_keep_the_first_copy(tmp_path: Path) -> None:
    # One part per record: consecutive message parts are merged together, in part order.
    copies = [mail("a@x", "first"), mail("b@x"), mail("a@x", "second"), mail("a@x", "first")]
    with open_writer(":memory:") as con:
        stats = load_records(con, copies, tmp_path, batch_size=1)
        assert (stats.read, stats.new, stats.already_stored, stats.conflicts) == (4, 2, 1, 1)
        assert rows(con, "SELECT body_full FROM core.messages WHERE message_key = 'a@x'") == [("first",)]
        assert rows(con, "SELECT reason FROM core.quarantine") == [("duplicate_key_conflict",)]
    assert staged_parts(tmp_path) == []


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]])
def test_email_conversation_is_the_earliest_known_ancestor_whatever_the_load_order(
    tmp_path: Path, order: list[int]
) -> None:
    messages = [
        mail("root@x"),
        mail("r1@x", in_reply_to="root@x"),  # no References header: chain via In-Reply-To
        mail("r2@x", in_reply_to="r1@x"),
        mail("r3@x", in_reply_to="r2@x", references=["r1@x", "r2@x"]),  # truncated References
    ]
    with open_writer(":memory:") as con:
        for i in order:  # one batch each, as if read on different days
            load_records(con, [messages[i]], tmp_path)
        assert set(rows(con, "SELECT conversation_key FROM core.messages")) == {("root@x",)}


@pytest.mark.parametrize("seed", range(6))
def test_chains_loaded_in_random_batches_resolve_like_one_global_pass(tmp_path: Path, seed: int) -> None:
    """Each merge follows only the chains its batch touches; the result must equal resolving everything."""
    rng = random.Random(seed)
    messages, roots = [], {}
    for i in range(300):
        key = f"m{i}@x"
        parent = rng.choice(messages) if messages and rng.random() < 0.8 else None
        if parent is None:
            roots[key] = key
            messages.append(mail(key))
            continue
        roots[key] = roots[parent.message_key]
        ancestors = [*parent.references, parent.message_key]
        # Real clients send the whole References list, a truncated one, or only In-Reply-To.
        references = rng.choice([ancestors, ancestors[-2:], []])
        messages.append(mail(key, in_reply_to=parent.message_key, references=references))
    rng.shuffle(messages)
    cuts = sorted(rng.sample(range(1, len(messages)), 7))
    with open_writer(":memory:") as con:
        for start, end in itertools.pairwise([0, *cuts, len(messages)]):
            load_records(con, messages[start:end], tmp_path)
        stored = dict(rows(con, "SELECT message_key, conversation_key FROM core.messages"))
        assert stored == roots
        assert resolve_email_conversations(con) == 0  # a global pass finds nothing left to move


def test_unknown_parent_id_is_the_conversation_until_it_arrives(tmp_path: Path) -> None:
    with open_writer(":memory:") as con:
        load_records(con, [mail("child@x", in_reply_to="missing@x")], tmp_path)
        assert rows(con, "SELECT conversation_key FROM core.messages") == [("missing@x",)]


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
