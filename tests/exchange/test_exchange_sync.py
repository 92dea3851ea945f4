"""Incremental pulls through real exchangelib against the fake EWS server, into a real warehouse."""

from __future__ import annotations

import base64
from pathlib import Path

from rich.console import Console

from connectors.mail import parse_email
from flows.ingest import merge, stage_mail
from ground.records import MessageRecord, QuarantineRecord
from tests.exchange.conftest import MAILBOX, Env, Seeder, vendor_mail
from tests.mail.mail_samples import mbox, message, write


def test_first_run_pages_through_sync_state_and_loads_every_mail(env: Env, seed: Seeder) -> None:
    config = env.write(page_size=3)
    seed("inbox", 0, 7)
    seed("sentitems", 100, 2, prefix="s")

    notes, stats = env.run(config)

    assert notes == {"exchange_folders": 2, "exchange_messages": 9}
    assert (stats.new, stats.already_stored, stats.quarantined_total) == (9, 0, 0)
    syncs = env.ews.ops("SyncFolderItems")
    # inbox: 7 changes in pages of 3 (the first without a SyncState), then sent items: 2 in one page
    assert [c.sync_state is None for c in syncs] == [True, False, False, True]
    keys = env.rows(config, "SELECT message_key, source, raw_ref FROM core.messages ORDER BY message_key")
    assert [k for k, _, _ in keys] == sorted(
        [f"k{n}@kappa-offshore.in" for n in range(7)] + ["s100@kappa-offshore.in", "s101@kappa-offshore.in"]
    )
    assert {source for _, source, _ in keys} == {"exchange"}
    assert all(
        ref.startswith((f"exchange:{MAILBOX}/inbox/", f"exchange:{MAILBOX}/sent/")) for _, _, ref in keys
    )
    domains = env.rows(config, "SELECT DISTINCT split_part(sender, '@', 2) FROM core.messages")
    assert domains == [("kappa-offshore.in",)]
    # Full items were fetched with an explicit field list built around the MIME content.
    get_item = env.ews.ops("GetItem")[0].body.decode()
    assert "item:MimeContent" in get_item and "message:InternetMessageId" in get_item
    assert "AllProperties" not in get_item
    assert env.cursor(config, "inbox") and env.cursor(config, "sent")


def test_second_run_sends_the_stored_state_and_fetches_only_what_is_new(env: Env, seed: Seeder) -> None:
    config = env.write()
    seed("inbox", 0, 4)
    env.run(config)
    stored_inbox = env.cursor(config, "inbox")
    stored_sent = env.cursor(config, "sent")
    first_calls = len(env.ews.calls)

    new_ids = seed("inbox", 4, 2)
    notes, stats = env.run(config)

    later = env.ews.calls[first_calls:]
    syncs = [c for c in later if c.operation == "SyncFolderItems"]
    assert [c.sync_state for c in syncs] == [stored_inbox, stored_sent]
    assert [i for c in later if c.operation == "GetItem" for i in c.item_ids] == new_ids
    assert notes == {"exchange_folders": 2, "exchange_messages": 2}
    assert (stats.new, stats.already_stored) == (2, 0)
    counts = env.rows(config, "SELECT count(*), count(DISTINCT message_key) FROM core.messages")
    assert counts == [(6, 6)]
    assert env.cursor(config, "inbox") != stored_inbox

    # Nothing new: one SyncFolderItems per folder, no GetItem, nothing staged.
    before = len(env.ews.calls)
    notes, stats = env.run(config)
    assert notes == {"exchange_folders": 2}
    assert "GetItem" not in [c.operation for c in env.ews.calls[before:]]
    assert stats.read == 0


def test_meeting_items_and_other_non_mail_are_skipped(env: Env, seed: Seeder) -> None:
    config = env.write(folders=["inbox"])
    seed("inbox", 0, 2)
    invite = env.ews.add_message(
        MAILBOX, "inbox", message("Teams invite", message_id="<invite@x>"), kind="MeetingRequest"
    )
    env.ews.add_message(
        MAILBOX, "inbox", message("cancel", message_id="<cancel@x>"), kind="MeetingCancellation"
    )
    env.ews.add_message(MAILBOX, "inbox", b"BEGIN:VCARD\r\nEND:VCARD\r\n", kind="Contact")
    seed("inbox", 2, 1)

    notes, stats = env.run(config)

    assert notes == {"exchange_folders": 1, "exchange_messages": 3, "exchange_skipped_non_mail": 3}
    assert stats.new == 3
    fetched = {i for c in env.ews.ops("GetItem") for i in c.item_ids}
    assert invite.item_id not in fetched and len(fetched) == 3
    assert env.rows(config, "SELECT count(*) FROM core.messages WHERE message_key LIKE '%@x'") == [(0,)]


def test_an_item_revealed_as_meeting_only_by_get_item_is_skipped_too(env: Env, seed: Seeder) -> None:
    """Some servers report a meeting item as t:Message in SyncFolderItems; GetItem's element decides."""
    config = env.write(folders=["inbox"])
    seed("inbox", 0, 1)
    item = env.ews.add_message(MAILBOX, "inbox", message("invite", message_id="<invite@x>"))
    item.kind = "MeetingRequest"  # after the sync, as if the server only knew on GetItem
    original = env.ews._op_SyncFolderItems

    def sync_as_message(body, call):  # type: ignore[no-untyped-def]
        item.kind = "Message"
        try:
            return original(body, call)
        finally:
            item.kind = "MeetingRequest"

    env.ews._op_SyncFolderItems = sync_as_message  # type: ignore[method-assign]
    notes, _ = env.run(config)
    assert notes == {"exchange_folders": 1, "exchange_messages": 1, "exchange_skipped_non_mail": 1}
    assert item.item_id in {i for c in env.ews.ops("GetItem") for i in c.item_ids}


def test_same_mime_through_mbox_and_ews_is_one_row(env: Env, tmp_path: Path) -> None:
    """Exchange hands out MIME with CRLF line ends; an mbox export of the same mail has LF."""
    config = env.write(folders=["inbox"])
    raw = vendor_mail(1, body="Please confirm the delivery date.\nThanks,\nPriya\n")
    env.ews.add_message(MAILBOX, "inbox", raw)
    mbox_path = write(tmp_path / "mail" / "export.mbox", mbox([raw.replace(b"\r\n", b"\n")]))
    mbox_record = parse_email(raw.replace(b"\r\n", b"\n"), f"{mbox_path}#0", "mbox")
    assert isinstance(mbox_record, MessageRecord)

    stage_mail(config, [mbox_path], Console(quiet=True))
    first = merge(config, command="ingest mbox")
    assert first.new == 1

    notes, seen = env.extract(config)
    [ews_record] = seen
    assert isinstance(ews_record, MessageRecord)
    assert ews_record.message_key == mbox_record.message_key
    assert ews_record.content_hash() == mbox_record.content_hash()
    assert (ews_record.body_full, ews_record.sent_at) == (mbox_record.body_full, mbox_record.sent_at)
    second = merge(config, [notes], command="ingest exchange")
    assert (second.new, second.already_stored, second.conflicts) == (0, 1, 0)
    assert env.rows(config, "SELECT message_key, source FROM core.messages") == [
        ("k1@kappa-offshore.in", "mbox")
    ]


def test_deletes_are_ignored_and_history_stays(env: Env, seed: Seeder) -> None:
    config = env.write(folders=["inbox"])
    ids = seed("inbox", 0, 3)
    env.run(config)

    env.ews.delete(MAILBOX, "inbox", ids[0])
    seed("inbox", 3, 1)
    notes, _ = env.run(config)

    assert notes == {"exchange_deletes_ignored": 1, "exchange_folders": 1, "exchange_messages": 1}
    assert env.rows(config, "SELECT count(*) FROM core.messages") == [(4,)]


def test_unfetchable_items_are_quarantined_with_the_reason(env: Env, seed: Seeder) -> None:
    config = env.write(folders=["inbox"])
    seed("inbox", 0, 1)
    gone = env.ews.add_message(MAILBOX, "inbox", vendor_mail(9), fetch_error="ErrorItemNotFound")
    env.ews.add_message(MAILBOX, "inbox", b"")  # a Message whose MIME content is empty
    seed("inbox", 1, 1)

    notes, stats = env.run(config)

    assert notes == {"exchange_folders": 1, "exchange_messages": 2, "exchange_quarantined": 2}
    assert stats.new == 2
    quarantined = env.rows(
        config, "SELECT source, reason, raw_ref, excerpt FROM core.quarantine ORDER BY reason"
    )
    assert [(s, r) for s, r, _, _ in quarantined] == [
        ("exchange", "exchange_item_unavailable"),
        ("exchange", "exchange_item_without_mime"),
    ]
    assert all(ref.startswith(f"exchange:{MAILBOX}/inbox/") for _, _, ref, _ in quarantined)
    assert gone.item_id in quarantined[0][3] and "ErrorItemNotFound" in quarantined[0][3]
    # The folder was fully consumed: its state advanced and a rerun does not retry those items.
    before = len(env.ews.calls)
    env.run(config)
    assert "GetItem" not in [c.operation for c in env.ews.calls[before:]]


def test_custom_folder_is_found_under_the_message_root(env: Env, seed: Seeder) -> None:
    config = env.write(folders=["inbox", "Vendors"])
    seed("inbox", 0, 1)
    seed("Vendors", 10, 2, prefix="v")

    notes, _ = env.run(config)

    assert notes == {"exchange_folders": 2, "exchange_messages": 3}
    assert env.cursor(config, "Vendors")
    assert "FindFolder" in env.ews.operations()


def test_a_refused_sync_state_resyncs_the_folder_without_duplicates(env: Env, seed: Seeder) -> None:
    config = env.write(folders=["inbox"])
    seed("inbox", 0, 2)
    env.run(config)
    # The server no longer accepts the stored state (e.g. mailbox moved): a full resync, nothing doubled.
    folder = env.ews.folder(MAILBOX, "inbox")
    folder.folder_id, old_id = "moved" + folder.folder_id, folder.folder_id
    env.ews.folders["moved" + old_id] = env.ews.folders.pop(old_id)
    seed("inbox", 2, 1)

    notes, stats = env.run(config)

    assert notes == {"exchange_folders": 1, "exchange_messages": 3, "exchange_resyncs": 1}
    assert (stats.new, stats.already_stored) == (1, 2)
    assert env.rows(config, "SELECT count(*) FROM core.messages") == [(3,)]
    state = env.cursor(config, "inbox")
    assert state and base64.b64decode(state).decode().startswith("moved")


def test_records_are_email_messages_from_the_mime(env: Env) -> None:
    config = env.write(folders=["sent"])
    raw = message(
        "Bonjour,\nMerci.\n",
        subject="Re: Order k1",
        message_id="<reply1@norelec.fr>",
        sender="Jean <jean@norelec.fr>",
        extra=[
            "In-Reply-To: <k1@kappa-offshore.in>",
            "References: <k0@kappa-offshore.in> <k1@kappa-offshore.in>",
        ],
        newline=b"\r\n",
    )
    env.ews.add_message(MAILBOX, "sentitems", raw)

    _, seen = env.extract(config)

    [record] = seen
    assert not isinstance(record, QuarantineRecord)
    assert (record.source, record.channel, record.sender) == ("exchange", "email", "jean@norelec.fr")
    assert record.in_reply_to == "k1@kappa-offshore.in"
    assert record.references == ["k0@kappa-offshore.in", "k1@kappa-offshore.in"]
