"""The staging area: local folders and fsspec URLs, several extraction processes at once, crashes on both sides."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import fsspec
import pyarrow as pa
import pytest

from flows.ingest import StagingSink, merge
from ground.config import ConfigError, load_config
from ground.records import QuarantineRecord
from tests.conftest import EXAMPLE_CONFIG, write_config
from tests.test_warehouse import mail, rows
from warehouse.db import open_writer
from warehouse.load import BackgroundMerge, merge_staged
from warehouse.staging import (
    ABANDONED_TEMP_AGE,
    SLACK_CHANNEL_SCHEMA,
    SLACK_CHANNELS,
    CursorStore,
    StagingWriter,
    part_kind,
    staged_parts,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def memory_url() -> Iterator[str]:
    """A staging location of its own in fsspec's in-process memory filesystem, removed afterwards."""
    url = f"memory://staging-{uuid.uuid4().hex}"
    yield url
    fs = fsspec.filesystem("memory")
    if fs.exists(url):
        fs.rm(url, recursive=True)


@contextlib.contextmanager
def children(*commands: list[str], **popen: object) -> Iterator[list[subprocess.Popen]]:
    """Python child processes started from the repository root; killed if the test leaves them running."""
    procs = [subprocess.Popen([sys.executable, "-c", *c], cwd=ROOT, **popen) for c in commands]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.kill()  # a no-op for a child already waited for
            proc.wait()
            if proc.stdout:
                proc.stdout.close()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A local S3 server (moto) on 127.0.0.1 that s3fs talks to over HTTP, as it would to AWS."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_url(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket on the local S3 server; s3fs finds the endpoint and keys in the environment, as botocore
    does for a real deployment."""
    for name, value in {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "NO_PROXY": "127.0.0.1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    bucket = f"staging-{uuid.uuid4().hex[:12]}"
    fsspec.filesystem("s3", skip_instance_cache=True).mkdir(bucket)
    return f"s3://{bucket}/commhealth/staging"


@pytest.mark.parametrize("scheme", ["memory", "file", "s3"])
def test_staged_to_a_url_merges_every_record_once_and_deletes_the_parts(
    tmp_path: Path, request: pytest.FixtureRequest, scheme: str
) -> None:
    if scheme == "file":
        url = tmp_path.joinpath("staging").as_uri()
    else:
        url = request.getfixturevalue(f"{scheme}_url")
    writer = StagingWriter(url, "inbox", batch_size=2)
    cursors = CursorStore(writer)
    writer.add_all(
        [mail("a@x"), mail("b@x"), mail("a@x"), QuarantineRecord("mbox", "box#9", "no_usable_date")]
    )
    cursors.set("mbox", "inbox", "42")
    writer.add(mail("c@x"))
    parts = writer.close()
    assert staged_parts(url) == parts
    assert [part_kind(p) for p in parts] == ["messages", "messages", "quarantine", "sync_state", "messages"]
    assert all(str(p).startswith(f"{scheme}://") and str(p).endswith(".parquet") for p in parts)
    assert CursorStore(StagingWriter(url, "resumed")).get("mbox", "inbox") == "42"

    with open_writer(tmp_path / "w.duckdb") as con:
        stats = merge_staged(con, url)
        assert (stats.read, stats.new, stats.already_stored, stats.quarantined_total) == (4, 3, 1, 1)
        assert rows(con, "SELECT message_key FROM core.messages ORDER BY 1") == [("a@x",), ("b@x",), ("c@x",)]
        assert rows(con, "SELECT cursor FROM meta.sync_state") == [("42",)]
        assert merge_staged(con, url).read == 0
    fs, root = fsspec.core.url_to_fs(url)
    fs.invalidate_cache()
    assert fs.find(root) == []  # no part and no temp file left


def test_writers_started_in_the_same_nanosecond_never_overwrite_each_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "time_ns", lambda: 1_700_000_000_000_000_000)  # two machines, one instant
    first, second = (StagingWriter(tmp_path, "inbox", batch_size=2) for _ in range(2))
    first.add_all(mail(f"first{i}@x") for i in range(3))
    second.add_all(mail(f"second{i}@x") for i in range(3))
    parts = first.close() + second.close()
    assert len(parts) == len(staged_parts(tmp_path)) == 4
    with open_writer(":memory:") as con:
        assert merge_staged(con, tmp_path).new == 6


def test_two_extractions_staged_at_once_then_one_merge(tmp_path: Path) -> None:
    inbox = StagingWriter(tmp_path, "inbox", batch_size=2)
    sent = StagingWriter(tmp_path, "sent", batch_size=2)
    for i in range(5):  # interleaved, as two workers would; the same message seen from both mailboxes
        inbox.add(mail(f"m{i}@x"))
        sent.add(mail(f"m{i}@x"))
    inbox.close()
    sent.close()
    with open_writer(":memory:") as con:
        stats = merge_staged(con, tmp_path)
        assert (stats.read, stats.new, stats.already_stored, stats.conflicts) == (10, 5, 5, 0)
        assert rows(con, "SELECT count(*) FROM core.messages") == [(5,)]
    assert staged_parts(tmp_path) == []


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.01)


def test_a_background_merge_stores_parts_while_extraction_still_stages(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    leftover = StagingWriter(staging, "killed-run", batch_size=2)
    leftover.add_all([mail("old1@x"), mail("shared@x", "first copy")])
    leftover.close()
    with open_writer(tmp_path / "w.duckdb") as con:
        merger = BackgroundMerge(con, leftovers=staged_parts(staging))
        writer = StagingWriter(staging, "inbox", batch_size=3, on_part=merger.submit)
        # A run of message parts is merged once it is big enough or another kind of part follows it.
        writer.add_all(
            [mail("a@x"), mail("shared@x", "later copy"), QuarantineRecord("mbox", "box#9", "bad")]
        )
        # The writer is still open, yet its first parts are merged and gone: the merge follows extraction.
        wait_until(lambda: staged_parts(staging) == [], "the first parts to be merged")
        # Committed already (read through a cursor of its own: the merge thread owns `con`).
        assert rows(con.cursor(), "SELECT count(*) FROM core.messages") == [(3,)]
        writer.add_all([mail("b@x"), mail("c@x"), mail("d@x")])
        writer.close()
        stats = merger.finish()
        assert (stats.read, stats.new, stats.already_stored, stats.conflicts) == (7, 6, 0, 1)
        assert stats.quarantined == {"bad": 1, "duplicate_key_conflict": 1}
        # The leftovers of the earlier run are merged first, so their copy of a key is the one kept.
        assert rows(con, "SELECT body_full FROM core.messages WHERE message_key = 'shared@x'") == [
            ("first copy",)
        ]
        assert rows(con, "SELECT count(*) FROM core.messages") == [(6,)]
    assert staged_parts(staging) == []


def test_a_failing_background_merge_stops_extraction_and_keeps_what_is_staged(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    with open_writer(tmp_path / "w.duckdb") as con:
        merger = BackgroundMerge(con)
        writer = StagingWriter(staging, "inbox", batch_size=1, on_part=merger.submit)
        writer.add(mail("merged@x"))
        writer.add_table("no_such_kind", pa.table({"x": [1]}))  # the merge cannot store this part

        def stage_until_refused() -> None:
            for i in range(3000):
                writer.add(mail(f"after{i}@x"))
                time.sleep(0.01)

        with pytest.raises(ValueError, match="unknown staged part kind"):
            stage_until_refused()  # extraction learns of the failure at its next part
        with pytest.raises(ValueError, match="unknown staged part kind"):
            merger.finish()
        assert rows(con, "SELECT message_key FROM core.messages") == [("merged@x",)]
    kinds = [part_kind(p) for p in staged_parts(staging)]
    assert kinds[0] == "no_such_kind" and set(kinds[1:]) == {"messages"}  # nothing after the failure is lost


def test_a_background_merge_stopped_without_draining_leaves_the_rest_staged(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    keys = [f"m{i}@x" for i in range(40)]
    with open_writer(tmp_path / "w.duckdb") as con:
        merger = BackgroundMerge(con)
        writer = StagingWriter(staging, "inbox", batch_size=1, on_part=merger.submit)
        writer.add_all(mail(key) for key in keys)
        merged = merger.finish(drain=False).new  # as after Ctrl-C: whatever the merge had reached
        assert len(staged_parts(staging)) == len(keys) - merged
        assert merge_staged(con, staging).new == len(keys) - merged
        assert rows(con, "SELECT count(*), count(DISTINCT message_key) FROM core.messages") == [(40, 40)]


# Stages 500 messages shared with the other process, then 1,500 of its own; it waits after its first part
# until the other's first part is staged, so the two are writing at the same time whatever the start-up delays.
STAGE_ALONGSIDE = """
import sys, time
from tests.test_warehouse import mail
from warehouse.staging import StagingWriter, staged_parts

staging, me, other = sys.argv[1:]
keys = [f"shared{i}@x" for i in range(500)] + [f"{me}{i}@x" for i in range(1500)]
writer = StagingWriter(staging, me, batch_size=100)
writer.add_all(mail(key) for key in keys[:100])
deadline = time.monotonic() + 60
while not any(f"-{other}-" in part.name for part in staged_parts(staging)):
    if time.monotonic() > deadline:
        sys.exit("the other process never staged anything")
    time.sleep(0.005)
writer.add_all(mail(key) for key in keys[100:])
writer.close()
"""


def test_two_processes_staging_at_once_then_one_merge_store_each_message_once(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    script = [STAGE_ALONGSIDE, str(staging)]
    with children([*script, "left", "right"], [*script, "right", "left"]) as procs:
        assert [proc.wait(timeout=120) for proc in procs] == [0, 0]
    assert len(staged_parts(staging)) == 40
    with open_writer(tmp_path / "w.duckdb") as con:
        stats = merge_staged(con, staging)
        assert (stats.read, stats.new, stats.already_stored, stats.conflicts) == (4000, 3500, 500, 0)
        assert rows(con, "SELECT count(*), count(DISTINCT message_key) FROM core.messages") == [(3500, 3500)]
    assert os.listdir(staging) == []  # every part deleted, no temp file left behind


# Stages numbered messages forever, 100 a part, printing how many parts are staged after each one.
STAGE_UNTIL_KILLED = """
import itertools, sys
from tests.test_warehouse import mail
from warehouse.staging import StagingWriter

writer = StagingWriter(sys.argv[1], "doomed", batch_size=100)
for i in itertools.count():
    writer.add(mail(f"m{i:07d}@x"))
    if (i + 1) % 100 == 0:
        print(len(writer.parts), flush=True)
"""


def test_an_extraction_killed_mid_way_loses_none_of_its_staged_parts(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    with children([STAGE_UNTIL_KILLED, str(staging)], stdout=subprocess.PIPE, text=True) as (proc,):
        for line in proc.stdout:
            if int(line) >= 5:
                break
        proc.kill()  # SIGKILL, wherever it is: maybe in the middle of writing a part
        proc.wait(timeout=30)
    staged = len(staged_parts(staging))
    assert staged >= 5
    temp_files = {name for name in os.listdir(staging) if name.startswith(".")}  # a part cut short, if any

    with open_writer(tmp_path / "w.duckdb") as con:
        stats = merge_staged(con, staging)
        assert (stats.read, stats.new) == (staged * 100, staged * 100)
        assert rows(con, "SELECT message_key FROM core.messages ORDER BY 1") == [
            (f"m{i:07d}@x",) for i in range(staged * 100)
        ]
        assert merge_staged(con, staging).read == 0
        # The resumed extraction reads everything again, and further: only what is new is stored.
        writer = StagingWriter(staging, "resumed")
        writer.add_all(mail(f"m{i:07d}@x") for i in range(staged * 100 + 50))
        writer.close()
        stats = merge_staged(con, staging)
        assert (stats.new, stats.already_stored) == (50, staged * 100)
    assert set(os.listdir(staging)) == temp_files  # the merge touches nothing that is not a whole part


def test_temp_files_of_parts_abandoned_long_ago_are_swept_by_the_merge(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    writer = StagingWriter(staging, "inbox")
    writer.add(mail("kept@x"))
    writer.close()
    abandoned = staging / f".{writer.parts[0].name.replace('inbox', 'killed')}.tmp"
    in_progress = staging / f".{writer.parts[0].name.replace('inbox', 'elsewhere')}.tmp"
    for path in (abandoned, in_progress):
        path.write_bytes(b"PAR1 cut short")
    stale = time.time() - ABANDONED_TEMP_AGE.total_seconds() - 60
    os.utime(abandoned, (stale, stale))
    (staging / ".not-a-part").write_bytes(b"someone else's")
    os.utime(staging / ".not-a-part", (stale, stale))

    with open_writer(tmp_path / "w.duckdb") as con:
        stats = merge_staged(con, staging)
    assert stats.new == 1 and stats.notes == {"abandoned_temp_files_removed": 1}
    # A recent temp file may be a part another worker is still writing; other files are not ours.
    assert sorted(os.listdir(staging)) == sorted([in_progress.name, ".not-a-part"])


MERGE = """
import sys
from warehouse.db import open_writer
from warehouse.load import merge_staged

with open_writer(sys.argv[1]) as con:
    merge_staged(con, sys.argv[2])
"""


def test_a_merge_killed_mid_way_is_finished_by_the_next_one_storing_nothing_twice(tmp_path: Path) -> None:
    staging, warehouse = tmp_path / "staging", tmp_path / "w.duckdb"
    writer = StagingWriter(staging, "inbox")
    for batch in range(50):  # alternating kinds: one transaction per part, so the kill lands between many
        writer.add_all(mail(f"m{batch}.{i}@x") for i in range(20))
        writer.add(QuarantineRecord("mbox", f"box#{batch}", "no_usable_date"))
        writer.flush()
    total = len(writer.close())
    with children([MERGE, str(warehouse), str(staging)]) as (proc,):
        deadline = time.monotonic() + 120
        while len(staged_parts(staging)) > total // 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        proc.kill()  # SIGKILL: half the parts committed and deleted, maybe one committed and not yet deleted
        proc.wait(timeout=30)
    assert 0 < len(staged_parts(staging)) < total, "the merge was not caught mid-way"

    with open_writer(warehouse) as con:
        merge_staged(con, staging)
        assert rows(con, "SELECT count(*), count(DISTINCT message_key) FROM core.messages") == [(1000, 1000)]
        assert rows(con, "SELECT count(*), count(DISTINCT raw_ref) FROM core.quarantine") == [(50, 50)]
    assert staged_parts(staging) == []


def test_staging_dir_is_a_folder_beside_the_config_or_a_url(tmp_path: Path, memory_url: str) -> None:
    assert load_config(write_config(tmp_path)).warehouse.staging_path == tmp_path / "warehouse.staging"
    relative = EXAMPLE_CONFIG + 'staging_dir = "parts"\n'
    assert load_config(write_config(tmp_path, relative)).warehouse.staging_path == tmp_path / "parts"
    config = load_config(write_config(tmp_path, EXAMPLE_CONFIG + f'staging_dir = "{memory_url}"\n'))
    assert config.warehouse.staging_path == memory_url
    # The whole ingest path (StagingSink, then the writer's merge) works with a URL.
    sink = StagingSink(config, "mbox")
    sink.add_all([mail("a@kappa-offshore.in"), mail("b@kappa-offshore.in")])
    sink.close()
    assert merge(config).new == 2
    assert staged_parts(memory_url) == []


def test_a_bad_staging_url_is_a_one_line_config_error(tmp_path: Path) -> None:
    path = write_config(tmp_path, EXAMPLE_CONFIG + 'staging_dir = "nosuch://bucket/parts"\n')
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value) == (
        f"{path}: warehouse.staging_dir: unknown protocol 'nosuch' in staging URL 'nosuch://bucket/parts'"
    )


@pytest.mark.skipif(importlib.util.find_spec("gcsfs") is not None, reason="gcsfs is installed")
def test_a_staging_url_whose_package_is_missing_says_what_to_install(tmp_path: Path) -> None:
    path = write_config(tmp_path, EXAMPLE_CONFIG + 'staging_dir = "gcs://bucket/parts"\n')
    with pytest.raises(
        ConfigError, match=r"warehouse\.staging_dir: staging URL 'gcs://bucket/parts': .*gcsfs"
    ):
        load_config(path)


def test_slack_channels_staged_by_an_earlier_version_merge_and_a_poorer_read_keeps_what_was_known(
    tmp_path: Path,
) -> None:
    staging = tmp_path / "staging"
    # A part left staged by a version before kind, team_ids and member_ids (with the vendor_id it had).
    StagingWriter(staging, "old").add_table(
        SLACK_CHANNELS,
        pa.table(
            {
                "channel_id": ["D1", "C1"],
                "name": [None, "ext-kappa"],
                "is_shared": [None, True],
                "vendor_id": [None, "kappa"],
                "source": ["slack_export", "slack_export"],
                "raw_ref": ["dms.json#0", "channels.json#0"],
            }
        ),
    )
    writer = StagingWriter(staging, "new")
    for row in (
        {
            "channel_id": "D1",
            "kind": "im",
            "member_ids": ["U1", "U2"],
            "source": "slack_export",
            "raw_ref": "x",
        },
        {
            "channel_id": "D1",
            "source": "slack_api",
            "raw_ref": "conversations.history",
        },  # known by its id only
    ):
        writer.add_table(SLACK_CHANNELS, pa.Table.from_pylist([row], schema=SLACK_CHANNEL_SCHEMA))
    with open_writer(tmp_path / "w.duckdb") as con:
        merge_staged(con, staging)
        assert rows(
            con,
            "SELECT channel_id, name, kind, is_shared, member_ids, source FROM raw.slack_channels ORDER BY 1",
        ) == [
            ("C1", "ext-kappa", None, True, None, "slack_export"),
            ("D1", None, "im", None, ["U1", "U2"], "slack_api"),
        ]
    assert staged_parts(staging) == []


def test_messages_staged_by_a_release_that_classified_them_still_merge(tmp_path: Path) -> None:
    """Parts a killed run of an older release left behind carry who is who as it was read (side, vendor_id,
    recipient_vendor_ids, is_internal); core.messages no longer has those columns (the build decides)."""
    import pyarrow.parquet as pq

    staging = tmp_path / "staging"
    writer = StagingWriter(staging, "old-release", batch_size=10)
    writer.add_all([mail("a@x"), mail("b@x")])
    writer.close()
    [part] = staged_parts(staging)
    table = pq.read_table(part.path)
    old = (
        table.append_column("side", pa.array(["company", "vendor"]))
        .append_column("vendor_id", pa.array([None, "kappa"], pa.string()))
        .append_column("recipient_vendor_ids", pa.array([["kappa"], []], pa.list_(pa.string())))
        .append_column("is_internal", pa.array([False, False]))
    )
    pq.write_table(old, part.path)
    with open_writer(tmp_path / "w.duckdb") as con:
        stats = merge_staged(con, staging)
        assert (stats.new, stats.quarantined_total) == (2, 0)
        assert rows(con, "SELECT message_key FROM core.messages ORDER BY 1") == [("a@x",), ("b@x",)]
    assert staged_parts(staging) == []
