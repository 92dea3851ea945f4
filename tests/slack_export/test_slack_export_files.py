"""The export as a whole: layout, directory files, bad input, zip versus folder, errors, fuzzing."""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.slack_export import SlackChannelRecord, SlackExport, SlackExportError, SlackUserRecord
from ground.records import MessageRecord, QuarantineRecord

MSG = {"user": "U1", "text": "hello", "ts": "1731751920.000200"}


def inside(export: Path, ref: str) -> str:
    """A raw_ref without the export's path that starts it."""
    prefix = f"{export.as_posix()}/"
    assert ref.startswith(prefix), ref
    return ref.removeprefix(prefix)


def reasons(export: Path, records: list) -> list[tuple[str, str]]:
    return [(inside(export, r.raw_ref), r.reason) for r in records if isinstance(r, QuarantineRecord)]


def test_users_and_channels(make_export, kit) -> None:
    users = [*kit.BASE_FILES["users.json"], "not an object", {"name": "no id"}]
    path = make_export({"users.json": users})
    at = f"{path.as_posix()}/"
    with SlackExport(path) as export:
        assert export.users == [
            SlackUserRecord(
                "U1", "T1", "alice", "Alice Company", "alice@co.example", False, at + "users.json#0"
            ),
            SlackUserRecord("U2", "T2", "vic", "Vic V", "vic@vendor.example", False, at + "users.json#1"),
            SlackUserRecord("U3", "T1", "handle-only", None, None, False, at + "users.json#2"),
            SlackUserRecord("B1", "T1", "deploybot", "Deploy Bot", None, True, at + "users.json#3"),
        ]
        # The kind comes from the directory file; members are kept for DMs and group DMs only.
        assert export.channels == [
            SlackChannelRecord("C1", "general", None, at + "channels.json#0", "public_channel"),
            SlackChannelRecord("C2", "vendor-acme", True, at + "channels.json#1", "public_channel"),
            SlackChannelRecord("G1", "private-stuff", False, at + "groups.json#0", "private_channel"),
            SlackChannelRecord(
                "G2", "mpdm-alice--vic-1", None, at + "mpims.json#0", "mpim", member_ids=["U1", "U2"]
            ),
            SlackChannelRecord("D1", None, None, at + "dms.json#0", "im", member_ids=["U1", "U2"]),
        ]
        records = list(export.messages())
    assert reasons(path, records) == [
        ("users.json#4", "user_not_an_object"),
        ("users.json#5", "user_without_id"),
    ]


def test_conversation_kind_teams_and_members(make_export) -> None:
    """An entry's own flags win over its file's kind (old exports list group DMs in groups.json); the teams of a
    Slack Connect channel are gathered from every field Slack spreads them over, pending ones left out."""
    channels = [
        {
            "id": "C9",
            "name": "ext-acme",
            "is_ext_shared": True,
            "shared_team_ids": ["T2"],
            "connected_team_ids": ["T2", "T1"],
            "conversation_host_id": "T2",
            "pending_connected_team_ids": ["T3"],
            "members": ["U1", "U2"],
        }
    ]
    groups = [{"id": "G7", "name": "mpdm-alice--vic-2", "is_mpim": True, "members": ["U1", "U2", 3, ""]}]
    path = make_export({"channels.json": channels, "groups.json": groups})
    at = f"{path.as_posix()}/"
    with SlackExport(path) as export:
        assert export.channels[:2] == [
            SlackChannelRecord(
                "C9", "ext-acme", True, at + "channels.json#0", "public_channel", team_ids=["T2", "T1"]
            ),
            SlackChannelRecord(
                "G7", "mpdm-alice--vic-2", None, at + "groups.json#0", "mpim", member_ids=["U1", "U2"]
            ),
        ]


def test_broken_directory_files_are_quarantined(make_export, read) -> None:
    path = make_export(
        {"users.json": b"{not json", "channels.json": {"C1": "general"}, "general/2024-11-16.json": [MSG]}
    )
    with SlackExport(path) as export:
        assert export.users == []
        assert [c.channel_id for c in export.channels] == ["G1", "G2", "D1"]
    records, stats = read(path)
    assert reasons(path, records) == [
        ("users.json", "invalid_json"),
        ("channels.json", "directory_file_not_a_list"),
    ]
    [msg] = [r for r in records if isinstance(r, MessageRecord)]
    # Without channels.json the folder is unknown: read anyway, named by the folder, flagged.
    assert (msg.message_key, msg.slack_channel_name, msg.flags) == (
        "general:1731751920.000200",
        "general",
        ["channel_not_in_export_directory"],
    )
    assert stats["quarantined"] == 2


def test_unknown_channel_folder_is_read_and_flagged(make_export, read) -> None:
    records, stats = read(make_export({"mystery/2024-11-16.json": [MSG], "general/2024-11-16.json": [MSG]}))
    assert [(r.message_key, r.slack_channel_id, r.slack_channel_name, r.flags) for r in records] == [
        ("C1:1731751920.000200", "C1", "general", []),
        ("mystery:1731751920.000200", "mystery", "mystery", ["channel_not_in_export_directory"]),
    ]
    assert stats["unknown_channel_folders"] == ["mystery"]


def test_files_not_read_are_counted_or_quarantined(make_export, read, tmp_path) -> None:
    """Known junk is counted by reason; suspicious names are quarantined; nothing is dropped silently."""
    outside = tmp_path / "secret.json"
    outside.write_text(json.dumps([MSG]), encoding="utf-8")
    files = {
        "general/2024-11-16.json": [MSG],
        "general/canvas.json": {"not": "a day"},
        "general/2024-13-40.json": "not a real date",
        "general/2026-02-30.json": [MSG],
        "general/2024-11-16.json.bak": b"\x00\x01",
        "general/notes.txt": "text",
        "general/sub/2024-11-17.json": [MSG],
        "general/.DS_Store": b"\x00",
        "general/._2024-11-16.json": b"\x00",
        "__MACOSX/general/._2024-11-16.json": b"\x00",
        "canvas.json": b"{broken",
        "integration_logs.json": {"logs": []},
        "org_users.json": [],
        "README": "hi",
    }
    path = make_export(files)
    (path / "general" / "2024-11-17.json").symlink_to(outside)  # a link out of the export
    (path / "general" / "2024-11-18.json").symlink_to(path / "general" / "2024-11-16.json")  # one inside
    os.mkfifo(path / "general" / "2024-11-19.json")  # reading it would block forever
    records, stats = read(path)
    assert reasons(path, records) == [
        ("general/2024-11-17.json", "unsafe_path"),
        ("general/2024-11-19.json", "unsafe_path"),
        ("general/2024-13-40.json", "invalid_day_file_name"),
        ("general/2026-02-30.json", "invalid_day_file_name"),
    ]
    assert [inside(path, r.raw_ref) for r in records if isinstance(r, MessageRecord)] == [
        "general/2024-11-16.json#0",
        "general/2024-11-18.json#0",
    ]
    assert stats["skipped_files"] == {
        "not_a_day_file": 4,
        "os_metadata": 3,
        "unused_root_file": 4,
    }
    assert (stats["day_files"], stats["conversations"]) == (2, 1)


def _zip_with_names(path: Path, members: dict[str, object]) -> Path:
    """A zip whose member names are stored as given, NUL bytes included (zipfile would cut them)."""
    stand_ins = {name: name.replace("\x00", "~") for name in members}
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in members.items():
            zf.writestr(stand_ins[name], json.dumps(content))
    data = path.read_bytes()
    for name, stand_in in stand_ins.items():
        data = data.replace(stand_in.encode(), name.encode())
    path.write_bytes(data)
    return path


def test_unsafe_zip_member_names_are_quarantined_and_never_read(tmp_path, read, kit) -> None:
    members = {
        **kit.BASE_FILES,
        "general/2024-11-16.json": [MSG],
        "../2024-11-16.json": [MSG],
        "general/../../etc/2024-11-16.json": [MSG],
        "/abs/2024-11-16.json": [MSG],
        "C:\\Windows\\2024-11-16.json": [MSG],
        "gen\x00eral/2024-11-17.json": [MSG],
        "general/2024-02-30.json": [MSG],
        "__MACOSX/general/._2024-11-16.json": [],
    }
    packed = _zip_with_names(tmp_path / "export.zip", members)
    records, stats = read(packed)
    assert reasons(packed, records) == [
        ("../2024-11-16.json", "unsafe_path"),
        ("/abs/2024-11-16.json", "unsafe_path"),
        ("C:/Windows/2024-11-16.json", "unsafe_path"),
        ("gen\x00eral/2024-11-17.json", "unsafe_path"),
        ("general/../../etc/2024-11-16.json", "unsafe_path"),
        ("general/2024-02-30.json", "invalid_day_file_name"),
    ]
    assert [r.message_key for r in records if isinstance(r, MessageRecord)] == ["C1:1731751920.000200"]
    assert stats["skipped_files"] == {"os_metadata": 1}


def test_a_name_stored_twice_in_a_zip_is_counted(make_export, tmp_path, read) -> None:
    packed = tmp_path / "twice.zip"
    with zipfile.ZipFile(packed, "w") as zf:
        zf.writestr("users.json", "[]")
        zf.writestr("general/2024-11-16.json", json.dumps([MSG]))
        with pytest.warns(UserWarning, match="Duplicate name"):
            zf.writestr("general/2024-11-16.json", json.dumps([MSG | {"text": "second"}]))
    records, stats = read(packed)
    assert [r.body_full for r in records] == ["second"]  # the last one, as unzip does
    assert stats["skipped_files"] == {"duplicate_zip_member": 1}


def test_bad_day_files_and_items_are_quarantined(make_export, read) -> None:
    files = {
        "general/2024-01-01.json": {"ts": "1731751920.000200"},
        "general/2024-01-02.json": b'[{"ts": "1731751920.000200",',
        "general/2024-01-03.json": b"",
        "general/2024-01-04.json": b"  \n",
        "general/2024-01-05.json": b"\xff\xfe\x00garbage",
        "general/2024-01-06.json": [
            MSG,
            "a string",
            42,
            None,
            ["list"],
            {"user": "U1", "text": "no ts"},
            {"user": "U1", "ts": 1731751920.0002},
            {"user": "U1", "ts": "yesterday"},
            {"user": "U1", "ts": "1731751921.000000", "text": "still read after the bad ones"},
        ],
    }
    path = make_export(files)
    records, stats = read(path)
    assert reasons(path, records) == [
        ("general/2024-01-01.json", "day_file_not_a_list"),
        ("general/2024-01-02.json", "invalid_json"),
        ("general/2024-01-03.json", "empty_file"),
        ("general/2024-01-04.json", "empty_file"),
        ("general/2024-01-05.json", "invalid_json"),
        ("general/2024-01-06.json#1", "message_not_an_object"),
        ("general/2024-01-06.json#2", "message_not_an_object"),
        ("general/2024-01-06.json#3", "message_not_an_object"),
        ("general/2024-01-06.json#4", "message_not_an_object"),
        ("general/2024-01-06.json#5", "message_without_ts"),
        ("general/2024-01-06.json#6", "message_without_ts"),
        ("general/2024-01-06.json#7", "message_without_ts"),
    ]
    by_ref = {inside(path, r.raw_ref): r for r in records}
    assert by_ref["general/2024-01-02.json"].excerpt == (
        '{"ts": "1731751920.000200", (Expecting property name enclosed in double quotes)'
    )
    assert by_ref["general/2024-01-06.json#5"].excerpt == '{"user": "U1", "text": "no ts"}'
    assert [inside(path, r.raw_ref) for r in records if isinstance(r, MessageRecord)] == [
        "general/2024-01-06.json#0",
        "general/2024-01-06.json#8",
    ]
    assert (stats["messages"], stats["quarantined"], stats["day_files"], stats["day_files_read"]) == (
        2,
        12,
        6,
        6,
    )


def test_progress_callback_and_total_files(make_export) -> None:
    path = make_export(
        {f"general/2024-11-{d:02d}.json": [MSG] for d in range(1, 4)} | {"D1/2024-11-01.json": []}
    )
    calls = []
    with SlackExport(path) as export:
        assert export.total_files() == 4
        list(export.messages(on_file=lambda: calls.append(1)))
    assert len(calls) == 4


def full_export(make_export, base_users: list) -> Path:
    return make_export(
        {
            "general/2024-11-16.json": [MSG, {"subtype": "channel_join", "user": "U2", "ts": "1.0"}, "bad"],
            "general/2024-11-17.json": [{"user": "U2", "text": "<@U1> ok", "ts": "1731800000.000001"}],
            "general/canvas.json": {},
            "vendor-acme/2024-11-16.json": [
                {
                    "user": "UX",
                    "user_team": "TV",
                    "text": "q",
                    "ts": "1731751999.123456",
                    "thread_ts": "1731751999.123456",
                }
            ],
            "D1/2024-11-16.json": b"not json",
            "mystery/2024-11-16.json": {"not": "a list"},
            "integration_logs.json": {"logs": []},
            "users.json": [*base_users, 7],
        }
    )


def test_zip_and_folder_give_identical_records(make_export, zip_of, read, kit) -> None:
    folder = full_export(make_export, kit.BASE_FILES["users.json"])
    packed = zip_of(folder)
    records_folder, stats_folder = read(folder)
    records_zip, stats_zip = read(packed)
    assert len(records_folder) == 7

    def same_place(records: list, export: Path) -> list[dict]:
        # Only raw_ref differs: it names the export, a folder here and a zip there.
        return [dataclasses.asdict(r) | {"raw_ref": inside(export, r.raw_ref)} for r in records]

    assert same_place(records_zip, packed) == same_place(records_folder, folder)
    assert stats_zip == stats_folder
    with SlackExport(folder) as a, SlackExport(packed) as b:
        assert same_place(a.users, folder) == same_place(b.users, packed)
        assert same_place(a.channels, folder) == same_place(b.channels, packed)


def test_zip_with_wrapper_folder(make_export, zip_of, read) -> None:
    folder = make_export({"general/2024-11-16.json": [MSG]})
    packed = zip_of(folder, prefix="Acme Slack export Nov 1 2024/")
    records, stats = read(packed)
    assert [(r.raw_ref, r.slack_channel_id) for r in records] == [
        (f"{packed}/Acme Slack export Nov 1 2024/general/2024-11-16.json#0", "C1")
    ]
    assert stats["unknown_channel_folders"] == []


def test_corrupt_member_in_zip_is_quarantined(make_export, tmp_path, read) -> None:
    folder = make_export({"general/2024-11-16.json": [MSG], "general/2024-11-17.json": [MSG]})
    zip_path = tmp_path / "stored.zip"
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_STORED) as zf:
        for path in sorted(folder.rglob("*.json")):
            zf.write(path, path.relative_to(folder).as_posix())
    data = bytearray(zip_path.read_bytes())
    # Flip a byte in the stored text of the 16th's day file so that its CRC check fails.
    at = data.index(b'"hello"')
    data[at + 1] ^= 0x20
    zip_path.write_bytes(bytes(data))
    records, _ = read(zip_path)
    assert reasons(zip_path, records) == [("general/2024-11-16.json", "unreadable_file")]
    assert [r.raw_ref for r in records if isinstance(r, MessageRecord)] == [
        f"{zip_path}/general/2024-11-17.json#0"
    ]


def test_corrupt_zip_raises_clear_error(make_export, zip_of, tmp_path) -> None:
    good = zip_of(make_export({"general/2024-11-16.json": [MSG]}))
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(SlackExportError, match=r"truncated\.zip is not a readable zip archive"):
        SlackExport(truncated)
    garbage = tmp_path / "export.zip"
    garbage.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(SlackExportError, match="not a readable zip archive"):
        SlackExport(garbage)


def test_missing_path_and_non_exports(tmp_path, zip_of, kit) -> None:
    with pytest.raises(SlackExportError, match="Slack export not found: .*nowhere"):
        SlackExport(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SlackExportError, match="is not a Slack export"):
        SlackExport(empty)
    other = kit.write_export(tmp_path / "other", {"photos/cat.json": {}, "notes.json": []})
    with pytest.raises(SlackExportError, match="is not a Slack export"):
        SlackExport(other)
    with pytest.raises(SlackExportError, match="is not a Slack export"):
        SlackExport(zip_of(other))


def test_export_without_directory_files_is_accepted(make_export, read) -> None:
    records, _ = read(make_export({"general/2024-11-16.json": [MSG]}, base=False))
    assert [(r.message_key, r.sender_name, r.flags) for r in records] == [
        ("general:1731751920.000200", None, ["channel_not_in_export_directory"])
    ]


def test_closed_export_refuses_to_read(make_export, zip_of) -> None:
    export = SlackExport(zip_of(make_export({"general/2024-11-16.json": [MSG]})))
    export.close()
    export.close()
    with pytest.raises(SlackExportError, match="closed"):
        list(export.messages())


def test_messages_can_be_read_twice_with_fresh_stats(make_export) -> None:
    with SlackExport(
        make_export({"general/2024-11-16.json": [MSG, {"subtype": "channel_join", "ts": "1.0"}]})
    ) as e:
        first = list(e.messages())
        second = list(e.messages())
        assert first == second
        assert (e.stats["messages"], e.stats["skipped_events"]) == (1, {"channel_join": 1})


# --- fuzzing --------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
ts_like = st.one_of(
    st.from_regex(r"\A\d{1,12}(\.\d{1,8})?\Z"), st.text(max_size=12), st.integers(), st.floats(), st.none()
)
message_like = st.fixed_dictionaries(
    # Mostly valid ts, so that most messages get past the ts check and exercise the rest of the parser.
    {"ts": st.from_regex(r"\A\d{10}\.\d{6}\Z") | ts_like},
    optional={
        "thread_ts": ts_like,
        "user": st.sampled_from(["U1", "B1", "USLACKBOT", "UX"]) | json_values,
        "subtype": st.sampled_from(["bot_message", "thread_broadcast", "channel_join", "tombstone"])
        | json_values,
        "hidden": json_values,
        "bot_id": json_values,
        "bot_profile": json_values,
        "text": st.text(alphabet="<>@#!|^&;:/ltgampU1C sx", max_size=40) | json_values,
        "files": json_values,
        "user_profile": json_values,
        "user_team": json_values,
        "team": json_values,
        "username": json_values,
    },
)
day_files = st.one_of(json_values, st.lists(st.one_of(message_like, json_values), max_size=8))


# The kit fixture is session-scoped and stateless, so sharing it across examples is safe.
@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(day=day_files, raw=st.binary(max_size=50))
def test_random_day_files_never_raise(kit, day: object, raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # A JSON value as general's day file, and raw bytes as a DM's day file.
        root = kit.write_export(Path(tmp) / "export", kit.BASE_FILES)
        for folder in ("general", "D1"):
            (root / folder).mkdir()
        (root / "general" / "2024-11-16.json").write_text(json.dumps(day), encoding="utf-8")
        (root / "D1" / "2024-11-16.json").write_bytes(raw)
        for path in (root, kit.zip_folder(root, Path(tmp) / "export.zip")):
            with SlackExport(path) as export:
                records = list(export.messages())
            assert all(isinstance(r, MessageRecord | QuarantineRecord) for r in records)
            assert [r for r in records if isinstance(r, QuarantineRecord) and r.reason == "parse_error"] == []
            for record in records:
                if isinstance(record, MessageRecord):
                    assert record.sent_at.tzinfo is not None
                    assert record.message_key.startswith(("C1:", "D1:"))
