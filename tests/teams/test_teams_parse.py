"""One Graph chatMessage at a time: keys, time, sender, skips, quarantine and text."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from connectors.teams import settings
from connectors.teams.parse import message_text, parse_chat_message
from ground.records import MessageRecord, QuarantineRecord

UTC = dt.UTC
SOURCE = "teams"
REF = "users/u1/chats/getAllMessages#0"

CHAT_ID = "19:2da4c29f6d7041eca70b638b43d45437@thread.v2"
TEAM_ID = "fbe2bf47-16c8-47cf-b4a5-4b9b187c508b"
CHANNEL_ID = "19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2"
COMPANY_TENANT = "dcd219dd-bc68-4b9b-bf0b-4a33a796be35"
VENDOR_TENANT = "7A1C5E0F-3B2D-4E6F-8A9B-0C1D2E3F4A5B"
ALICE = "8ea0e38b-efb3-4757-924a-5f94061cf8c2"
RAVI = "E1F2A3B4-C5D6-4E7F-8A9B-0C1D2E3F4A5B"


def user(user_id: str, name: str, tenant: str | None, kind: str = "aadUser") -> dict[str, Any]:
    """A `from` naming a person, as Graph writes it."""
    return {
        "application": None,
        "device": None,
        "user": {
            "@odata.type": "#microsoft.graph.teamworkUserIdentity",
            "id": user_id,
            "displayName": name,
            "userIdentityType": kind,
            "tenantId": tenant,
        },
    }


def chat_message(**fields: Any) -> dict[str, Any]:
    """A message of a one-on-one or group chat, as /users/{id}/chats/getAllMessages returns it."""
    item: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.chatMessage",
        "id": "1616965872395",
        "replyToId": None,
        "etag": "1616965872395",
        "messageType": "message",
        "createdDateTime": "2021-03-29T03:22:46.893Z",
        "lastModifiedDateTime": "2021-03-29T03:22:46.893Z",
        "lastEditedDateTime": None,
        "deletedDateTime": None,
        "subject": None,
        "summary": None,
        "chatId": CHAT_ID,
        "importance": "normal",
        "locale": "en-us",
        "webUrl": None,
        "channelIdentity": None,
        "policyViolation": None,
        "eventDetail": None,
        "from": user(ALICE, "Alice Company", COMPANY_TENANT),
        "body": {"contentType": "html", "content": "<p>Can you send the invoice?</p>"},
        "attachments": [],
        "mentions": [],
        "reactions": [],
    }
    item.update(fields)
    return item


def channel_message(**fields: Any) -> dict[str, Any]:
    """A channel post or reply, as /teams/{id}/channels/getAllMessages returns it."""
    item = chat_message(
        id="1616990032035",
        chatId=None,
        subject="Q3 delivery",
        channelIdentity={"teamId": TEAM_ID, "channelId": CHANNEL_ID},
        webUrl="https://teams.microsoft.com/l/message/19%3A4a95f7d8db4c4e7fae857bcebe0623e6%40thread.tacv2/1",
        createdDateTime="2021-03-29T05:53:52.035Z",
    )
    item.update(fields)
    return item


def parse(item: object) -> MessageRecord:
    record = parse_chat_message(item, raw_ref=REF, source=SOURCE)
    assert isinstance(record, MessageRecord), record
    return record


def html(content: str) -> dict[str, str]:
    return {"contentType": "html", "content": content}


def quote_attachment(attachment_id: str, preview: str, sender: str | None) -> dict[str, Any]:
    """A messageReference attachment: Graph's content is JSON text, not an object."""
    message_sender = user("11111111-2222-3333-4444-555555555555", sender, COMPANY_TENANT) if sender else None
    content = {"messageId": attachment_id, "messagePreview": preview, "messageSender": message_sender}
    return {
        "id": attachment_id,
        "contentType": "messageReference",
        "contentUrl": None,
        "content": json.dumps(content),
        "name": None,
        "thumbnailUrl": None,
        "teamsAppId": None,
    }


# --- keys, time and sender ---------------------------------------------------------------------------------


def test_chat_message_fields() -> None:
    assert parse(chat_message()) == MessageRecord(
        message_key=f"teams:{CHAT_ID}:1616965872395",
        channel="teams",
        source=SOURCE,
        sent_at=dt.datetime(2021, 3, 29, 3, 22, 46, 893000, tzinfo=UTC),
        raw_ref=REF,
        sender=ALICE,
        sender_name="Alice Company",
        sender_email=None,
        sender_team_id=COMPANY_TENANT,
        recipients=[],
        subject=None,
        body_text="Can you send the invoice?",
        body_full="Can you send the invoice?",
        in_reply_to=None,
        references=[],
        conversation_key=f"teams:{CHAT_ID}:main",
        is_automated=False,
        automated_reason=None,
        slack_channel_id=None,
        slack_channel_name=None,
        slack_thread_ts=None,
        flags=[],
    )


def test_chat_with_reply_to_id_stays_in_the_chat_conversation() -> None:
    msg = parse(chat_message(id="1700000000002", replyToId="1700000000001"))
    assert msg.conversation_key == f"teams:{CHAT_ID}:main"
    assert msg.in_reply_to is None


def test_channel_root_post() -> None:
    msg = parse(channel_message(subject="  Q3 delivery  "))
    assert msg.message_key == f"teams:{CHANNEL_ID}:1616990032035"
    assert msg.conversation_key == f"teams:{CHANNEL_ID}:1616990032035"  # the root starts its thread
    assert msg.in_reply_to is None
    assert msg.subject == "Q3 delivery"
    assert msg.sent_at == dt.datetime(2021, 3, 29, 5, 53, 52, 35000, tzinfo=UTC)


def test_channel_reply_belongs_to_its_root() -> None:
    msg = parse(channel_message(id="1616990171266", replyToId="1616990032035", subject=None))
    assert msg.message_key == f"teams:{CHANNEL_ID}:1616990171266"
    assert msg.conversation_key == f"teams:{CHANNEL_ID}:1616990032035"
    assert msg.in_reply_to == f"teams:{CHANNEL_ID}:1616990032035"
    assert msg.subject is None


@pytest.mark.parametrize("subject", ["", "   ", None])
def test_empty_subject_is_none(subject: str | None) -> None:
    assert parse(channel_message(subject=subject)).subject is None


def test_federated_vendor_sender() -> None:
    # A vendor writing from its own tenant (Teams federation): Graph may spell the GUIDs in upper case.
    msg = parse(chat_message(**{"from": user(RAVI, "Ravi Kumar (Vendor)", VENDOR_TENANT, "federatedUser")}))
    assert msg.sender == RAVI.lower()
    assert msg.sender_name == "Ravi Kumar (Vendor)"
    assert msg.sender_team_id == VENDOR_TENANT.lower()
    assert msg.sender_email is None
    assert (msg.is_automated, msg.automated_reason) == (False, None)


def test_guest_without_tenant() -> None:
    guest = user("a5f1c6e2-0000-4000-8000-000000000001", "Guest Visitor", None, "anonymousGuest")
    msg = parse(chat_message(**{"from": guest}))
    assert (msg.sender, msg.sender_name, msg.sender_team_id) == (
        "a5f1c6e2-0000-4000-8000-000000000001",
        "Guest Visitor",
        None,
    )
    assert msg.is_automated is False


def test_application_sender_is_automated() -> None:
    bot = {
        "user": None,
        "device": None,
        "application": {
            "@odata.type": "#microsoft.graph.teamworkApplicationIdentity",
            "id": "28:0B2C7F1E-9A1D-4C1B-A1E4-6B1B5C7D8E9F",
            "displayName": "Ticket Bot",
            "applicationIdentityType": "bot",
        },
    }
    msg = parse(channel_message(**{"from": bot}))
    assert msg.sender == "28:0b2c7f1e-9a1d-4c1b-a1e4-6b1b5c7d8e9f"
    assert msg.sender_name == "Ticket Bot"
    assert msg.sender_team_id is None
    assert (msg.is_automated, msg.automated_reason) == (True, "teams_application")


@pytest.mark.parametrize("origin", [None, {"user": None, "application": None, "device": None}])
def test_message_without_sender_is_automated(origin: object) -> None:
    msg = parse(channel_message(**{"from": origin}))
    assert (msg.sender, msg.sender_name, msg.sender_team_id) == (None, None, None)
    assert (msg.is_automated, msg.automated_reason) == (True, "teams_application")


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        ("2023-01-05T09:10:11.1234567Z", dt.datetime(2023, 1, 5, 9, 10, 11, 123456, tzinfo=UTC)),
        ("2023-01-05T09:10:11.9999999Z", dt.datetime(2023, 1, 5, 9, 10, 11, 999999, tzinfo=UTC)),
        ("2023-01-05T09:10:11.5Z", dt.datetime(2023, 1, 5, 9, 10, 11, 500000, tzinfo=UTC)),
        ("2023-01-05T09:10:11Z", dt.datetime(2023, 1, 5, 9, 10, 11, tzinfo=UTC)),
        ("2023-01-05T11:10:11.25+02:00", dt.datetime(2023, 1, 5, 9, 10, 11, 250000, tzinfo=UTC)),
    ],
)
def test_created_time(created: str, expected: dt.datetime) -> None:
    sent_at = parse(chat_message(createdDateTime=created)).sent_at
    assert sent_at == expected
    assert sent_at.utcoffset() == dt.timedelta(0)


# --- skips and quarantine ----------------------------------------------------------------------------------


@pytest.mark.parametrize("message_type", ["systemEventMessage", "chatEvent", "typing", "unknownFutureValue"])
def test_system_messages_are_skipped(message_type: str) -> None:
    event = chat_message(
        messageType=message_type,
        body=html("<systemEventMessage/>"),
        eventDetail={"@odata.type": "#microsoft.graph.membersAddedEventMessageDetail", "members": []},
        **{"from": None},
    )
    assert parse_chat_message(event, raw_ref=REF, source=SOURCE) == settings.SKIP_SYSTEM


def test_deleted_message_is_skipped() -> None:
    deleted = chat_message(deletedDateTime="2021-03-29T04:00:00.000Z", body=html(""))
    assert parse_chat_message(deleted, raw_ref=REF, source=SOURCE) == settings.SKIP_DELETED


@pytest.mark.parametrize(
    "change",
    [
        {"createdDateTime": None},
        {"createdDateTime": "yesterday"},
        {"createdDateTime": "2023-02-30T09:10:11Z"},
        {"createdDateTime": 1616990032},
        {"id": None},
        {"id": ""},
        {"chatId": None},  # neither a chat nor a channel
    ],
)
def test_unreadable_messages_are_quarantined(change: dict[str, Any]) -> None:
    item = chat_message(**change)
    record = parse_chat_message(item, raw_ref=REF, source=SOURCE)
    assert isinstance(record, QuarantineRecord)
    assert (record.source, record.raw_ref, record.reason) == (SOURCE, REF, settings.REASON_UNREADABLE)
    assert record.excerpt.startswith('{"@odata.type": "#microsoft.graph.chatMessage"')
    assert len(record.excerpt) <= 300


def test_missing_created_time_is_quarantined() -> None:
    item = chat_message()
    del item["createdDateTime"]
    record = parse_chat_message(item, raw_ref=REF, source=SOURCE)
    assert isinstance(record, QuarantineRecord)
    assert record.reason == settings.REASON_UNREADABLE
    assert '"id": "1616965872395"' in record.excerpt


@pytest.mark.parametrize("item", [None, "message", ["a"], 42])
def test_non_objects_are_quarantined(item: object) -> None:
    record = parse_chat_message(item, raw_ref=REF, source=SOURCE)
    assert isinstance(record, QuarantineRecord)
    assert record.reason == settings.REASON_UNREADABLE
    assert record.excerpt == json.dumps(item)


# --- text --------------------------------------------------------------------------------------------------


def test_html_with_mention_emoji_and_line_breaks() -> None:
    content = (
        '<p>Hi&nbsp;<at id="0">Ravi</at>&nbsp;<at id="1">Kumar</at>, thanks! '
        '<emoji id="smile" alt="🙂" title="Smile"></emoji></p>'
        "<p>Line one<br>\nline&nbsp;two &amp; more</p>\n"
        "<div><div>Regards,</div><div>Alice</div></div>"
    )
    msg = parse(chat_message(body=html(content)))
    expected = "Hi @Ravi @Kumar, thanks! 🙂\nLine one\nline two & more\nRegards,\nAlice"
    assert msg.body_full == expected
    assert msg.body_text == expected


def test_quoted_reply_via_message_reference() -> None:
    content = '<attachment id="1616963377068"></attachment>\n<p>Sent it this morning.</p>'
    quote = quote_attachment("1616963377068", "Can you send the invoice?\nIt is overdue.", "Alice Company")
    msg = parse(chat_message(body=html(content), attachments=[quote]))
    assert msg.body_full == (
        "> Alice Company: Can you send the invoice?\n> It is overdue.\nSent it this morning."
    )
    assert msg.body_text == "Sent it this morning."


def test_quote_without_sender_and_without_a_tag() -> None:
    # A quote the HTML does not place still belongs to the full text, first, as Teams shows it.
    quote = quote_attachment("1616963377068", "Is the fix deployed?", None)
    full, new = message_text(html("<p>Yes, since noon.</p>"), [quote])
    assert full == "> Is the fix deployed?\nYes, since noon."
    assert new == "Yes, since noon."


def test_blockquote_quote() -> None:
    content = (
        '<blockquote itemscope="" itemtype="http://schema.skype.com/Reply" itemid="1616963377068">'
        '<strong itemprop="mri">Alice Company</strong><span itemprop="time" itemid="1616963377068"></span>'
        '<p itemprop="preview">Any update on the ticket?</p></blockquote>'
        "<p>Working on it, ETA Friday.</p>"
    )
    msg = parse(chat_message(body=html(content)))
    assert msg.body_full == "> Alice Company\n> Any update on the ticket?\nWorking on it, ETA Friday."
    assert msg.body_text == "Working on it, ETA Friday."


def test_file_only_message() -> None:
    content = '<attachment id="153fa47d-18c9-4179-be08-9879815a9f90"></attachment>'
    file = {
        "id": "153fa47d-18c9-4179-be08-9879815a9f90",
        "contentType": "reference",
        "contentUrl": "https://contoso.sharepoint.com/sites/Vendor/Shared Documents/Invoice-042.pdf",
        "content": None,
        "name": "Invoice-042.pdf",
        "thumbnailUrl": None,
        "teamsAppId": None,
    }
    msg = parse(chat_message(body=html(content), attachments=[file]))
    assert msg.body_full == "Invoice-042.pdf"
    assert msg.body_text == ""  # no attachment placeholders in the new text


def test_file_name_not_added_to_a_message_with_text() -> None:
    file = {"id": "f1", "contentType": "reference", "name": "Invoice-042.pdf", "content": None}
    full, new = message_text(html('<p>Here it is</p><attachment id="f1"></attachment>'), [file])
    assert (full, new) == ("Here it is", "Here it is")


def test_text_content_type_is_used_as_is() -> None:
    msg = parse(chat_message(body={"contentType": "text", "content": "  <b>not html</b> &amp; 2 < 3\n"}))
    assert msg.body_full == "<b>not html</b> &amp; 2 < 3"
    assert msg.body_text == "<b>not html</b> &amp; 2 < 3"


@pytest.mark.parametrize(
    ("body", "attachments"),
    [
        (None, None),
        ({"contentType": "html", "content": None}, "not a list"),
        ({"contentType": None, "content": 12}, [None, 3, {"contentType": "messageReference", "id": 5}]),
        (
            html('<attachment id="q"></attachment>'),
            [{"id": "q", "contentType": "messageReference", "content": "{"}],
        ),
        (
            html('<attachment id="q"></attachment>'),
            [{"id": "q", "contentType": "messageReference", "content": "[]"}],
        ),
        (html("<p><emoji></emoji></p>"), [{"contentType": "reference", "name": None}]),
    ],
)
def test_odd_bodies_give_empty_text(body: object, attachments: object) -> None:
    assert message_text(body, attachments) == ("", "")


def test_deeply_nested_html_does_not_raise() -> None:
    full, new = message_text(html("<p>new</p>" + "<blockquote>" * 2000 + "old" + "<div>" * 5000 + "x"), [])
    # Quote levels past the 20th are rendered flat rather than recursed into.
    assert full.splitlines()[0] == "new"
    assert full.splitlines()[-1] == "> " * 20 + "x"
    assert new == "new"
