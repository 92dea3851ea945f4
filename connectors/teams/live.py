"""Microsoft Teams through Microsoft Graph's Teams export APIs: the chats of listed users, the channels of listed
teams, replies included.

Public API: :func:`extract_teams` and :func:`partitions` (the registry in flows.ingest imports this module only
when [sources.teams] is configured: it brings msal and httpx).

Partitions (source ``"teams"``): ``chats:{user}`` reads ``/users/{user}/chats/getAllMessages`` (1:1, group and
meeting chats, external people included); ``team:{team}`` reads ``/teams/{team}/channels/getAllMessages`` (every
channel, shared channels included, root posts and replies). Each is read in rounds over a window of
``lastModifiedDateTime``, the one filter these APIs take, page by page along ``@odata.nextLink``.

Why these APIs and not delta: chat delta reaches back only 8 months and channel delta returns root posts without
their replies; the export APIs go back as far as ``backfill_days`` asks, return replies, and return a message again
when it is edited or deleted (its lastModifiedDateTime moves).

The cursor is JSON, checkpointed after each page's records: ``{"next": link, "since": …, "until": …}`` while a
round is in progress, ``{"since": …}`` once it is finished (the next round reads from there to its own start,
less :data:`~connectors.teams.settings.ROUND_OVERLAP` for messages Graph indexes late). A run killed on page 40
resumes at page 40; a link Graph no longer accepts restarts the round from its ``since``, once per run. The same
message comes back once per chat member and again in an overlapping round: its key (chat or channel id plus
message id) and content make it one row, merged as "already stored".

Edits and deletions: a message keeps the text it had when first stored, as with Slack; an edit read later is a
copy of the key with other content (recorded as a conflict, never replacing the first text); a deleted message is
skipped (rows already stored are kept).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

from connectors.base import Sink, SourceAuthError, SourceError
from connectors.graph.client import GraphClient, GraphError
from connectors.graph.settings import RESYNC_STATUSES
from ground.config import Config, TeamsSource
from ground.records import MessageRecord, QuarantineRecord

from .parse import parse_chat_message
from .settings import (
    CURSOR_NEXT,
    CURSOR_SINCE,
    CURSOR_UNTIL,
    EXPIRED_LINK_CODES,
    PERMISSIONS_HINT,
    ROUND_OVERLAP,
    SKIP_OTHER_CHANNEL,
    SOURCE,
    TEAM_CHANNELS_PATH,
    USER_CHATS_PATH,
    USER_PATH,
    USER_SELECT,
)

__all__ = ["SOURCE", "extract_teams", "partitions"]

log = logging.getLogger(__name__)

_NOTE_KEYS = ("partitions", "pages", "messages", "quarantined", "skipped", "restarts")


def partitions(source: TeamsSource) -> list[str]:
    """The partitions a run reads, in order: each user's chats, then each team's channels."""
    return [f"chats:{user}" for user in source.users] + [f"team:{team}" for team in source.teams]


def extract_teams(
    config: Config, source: TeamsSource, client_secret: str, sink: Sink, *, now: dt.datetime | None = None
) -> dict[str, object]:
    """Pull what changed since the last run in every configured user's chats and team's channels into ``sink``;
    returns counts for the run's notes. ``now`` (UTC) ends the rounds; tests set it.

    Raises SourceAuthError at once when the credentials or a permission are refused, SourceError when Graph keeps
    failing (what was read before stays in the sink with its cursor, so the next run resumes after it).
    ``config`` is not needed here (who is who is decided at build time); it keeps the live connectors' signature.
    """
    del config
    notes: dict[str, int] = dict.fromkeys(_NOTE_KEYS, 0)
    until = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    channels = {channel.lower() for channel in source.channels}
    with GraphClient(source, client_secret, permissions_hint=PERMISSIONS_HINT) as client:
        client.authenticate()
        reader = _Reader(client, sink, _Directory(client), source, until, notes)
        for user in source.users:
            reader.round(f"chats:{user}", USER_CHATS_PATH.format(user=quote(user, safe="@")), channels=None)
        for team in source.teams:
            reader.round(
                f"team:{team}", TEAM_CHANNELS_PATH.format(team=quote(team, safe="")), channels=channels
            )
        directory = reader.directory
    notes["senders_looked_up"] = directory.lookups
    return dict(notes)


class _Directory:
    """Senders' email addresses from the tenant's directory (``GET /users/{id}``), once per user and run.

    A vendor's people invited as guests carry the company's tenant id; their address (``mail``) names the vendor's
    domain. People of other tenants (federated) are not in the directory (404): their tenant says who they are.
    Without the User.Read.All permission (403) the run goes on, telling senders apart by tenant only.
    """

    def __init__(self, client: GraphClient) -> None:
        self.client = client
        self.known: dict[str, str | None] = {}
        self.lookups = 0
        self.denied = False

    def email(self, user_id: str) -> str | None:
        if self.denied:
            return None
        if user_id not in self.known:
            self.known[user_id] = self._look_up(user_id)
        return self.known[user_id]

    def _look_up(self, user_id: str) -> str | None:
        url = f"{self.client.api_url}{USER_PATH.format(user=quote(user_id, safe=''))}?$select={USER_SELECT}"
        self.lookups += 1
        try:
            entry = self.client.get_json(url, what="the directory entry of a Teams sender")
        except SourceAuthError as exc:
            self.denied = True
            log.warning("teams: %s; senders are told apart by their tenant only (grant User.Read.All)", exc)
            return None
        except GraphError as exc:
            if exc.status == 404:
                return None
            raise
        mail = entry.get("mail")
        if isinstance(mail, str) and "@" in mail:
            return mail.strip().lower()
        upn = entry.get("userPrincipalName")
        if isinstance(upn, str) and "@" in upn and "#ext#" not in upn.lower():
            return upn.strip().lower()
        return None


def _iso(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _instant(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def decode_cursor(cursor: str | None) -> dict[str, Any]:
    """The stored cursor as a dict ({} when absent or unreadable)."""
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class _Reader:
    """What a run's rounds share: the client, the sink, the directory, the end of the rounds, the notes."""

    def __init__(
        self,
        client: GraphClient,
        sink: Sink,
        directory: _Directory,
        source: TeamsSource,
        until: dt.datetime,
        notes: dict[str, int],
    ) -> None:
        self.client, self.sink, self.directory = client, sink, directory
        self.source, self.until, self.notes = source, until, notes

    def round(self, partition: str, path: str, *, channels: set[str] | None) -> None:
        _Round(self, partition, path, channels).run()


class _Round:
    """One partition's round: from the stored cursor to ``until``, recorded as read or as failed."""

    def __init__(self, reader: _Reader, partition: str, path: str, channels: set[str] | None) -> None:
        self.client, self.sink, self.directory = reader.client, reader.sink, reader.directory
        self.source, self.until, self.notes = reader.source, reader.until, reader.notes
        self.partition, self.path, self.channels = partition, path, channels
        self.counts = dict.fromkeys(("pages", "messages", "quarantined", "skipped"), 0)

    def start_url(self, since: dt.datetime | None, until: dt.datetime) -> str:
        window = f"lastModifiedDateTime lt {_iso(until)}"
        if since is not None:
            window = f"lastModifiedDateTime gt {_iso(since)} and {window}"
        query = urlencode({"$top": self.source.page_size, "$filter": window}, quote_via=quote, safe="")
        return f"{self.client.api_url}{self.path}?{query}"

    def run(self) -> None:
        with self.sink.reading(SOURCE, self.partition):
            self._read()
        self.notes["partitions"] += 1
        for key, value in self.counts.items():
            self.notes[key] += value
        log.info(
            "teams %s: %d messages, %d quarantined, %d skipped, %d pages",
            self.partition,
            self.counts["messages"],
            self.counts["quarantined"],
            self.counts["skipped"],
            self.counts["pages"],
        )

    def _read(self) -> None:
        stored = decode_cursor(self.sink.cursor(SOURCE, self.partition))
        since = _instant(stored.get(CURSOR_SINCE))
        if since is None and not stored.get(CURSOR_NEXT):
            since = (
                self.until - dt.timedelta(days=self.source.backfill_days)
                if self.source.backfill_days
                else None
            )
        until = _instant(stored.get(CURSOR_UNTIL)) or self.until
        url = stored.get(CURSOR_NEXT) if isinstance(stored.get(CURSOR_NEXT), str) else None
        if url:
            try:
                self.client.check_url(url)
            except GraphError:
                log.warning(
                    "teams %s: the stored link is not under api_url; restarting the round", self.partition
                )
                url = None
        restarted = False
        if url is None:
            until = self.until
            url = self.start_url(since, until)
        elif until < self.until:
            log.info("teams %s: resuming an interrupted round", self.partition)
        while True:
            try:
                page = self.client.get_json(url, what=f"Teams messages of {self.partition}")
            except GraphError as exc:
                if restarted or not _expired_link(exc) or url == self.start_url(since, until):
                    raise
                log.warning(
                    "teams %s: Graph no longer accepts the stored link (HTTP %s %s); restarting the round",
                    self.partition,
                    exc.status,
                    exc.code or "",
                )
                restarted, until = True, self.until
                url = self.start_url(since, until)
                self.notes["restarts"] += 1
                continue
            self.counts["pages"] += 1
            for record in self._records(page):
                self.sink.add(record)
            next_link = page.get("@odata.nextLink")
            if isinstance(next_link, str) and next_link:
                self.client.check_url(next_link)
                cursor = {
                    CURSOR_NEXT: next_link,
                    CURSOR_SINCE: since and _iso(since),
                    CURSOR_UNTIL: _iso(until),
                }
                self.sink.checkpoint(SOURCE, self.partition, json.dumps(cursor))
                url = next_link
                continue
            # Round done: the next one starts a little before this one's end, for messages indexed late.
            self.sink.checkpoint(
                SOURCE, self.partition, json.dumps({CURSOR_SINCE: _iso(until - ROUND_OVERLAP)})
            )
            return

    def _records(self, page: dict[str, Any]) -> Iterator[MessageRecord | QuarantineRecord]:
        value = page.get("value", [])
        if not isinstance(value, list):
            raise SourceError(f"Microsoft Graph Teams messages of {self.partition}: 'value' is not a list")
        for item in value:
            ref = item.get("id") if isinstance(item, dict) else None
            raw_ref = f"{SOURCE}:{self.partition}/{ref if isinstance(ref, str) else '?'}"
            if self.channels and _channel_of(item) not in self.channels:
                parsed: MessageRecord | QuarantineRecord | str = SKIP_OTHER_CHANNEL
            else:
                parsed = parse_chat_message(item, raw_ref=raw_ref, source=SOURCE)
            if isinstance(parsed, str):  # why the item is skipped, counted under that name
                self.counts["skipped"] += 1
                self.notes[parsed] = self.notes.get(parsed, 0) + 1
                continue
            if isinstance(parsed, MessageRecord):
                self.counts["messages"] += 1
                if parsed.sender and not parsed.is_automated:
                    parsed.sender_email = self.directory.email(parsed.sender)
            else:
                self.counts["quarantined"] += 1
            yield parsed


def _channel_of(item: object) -> str | None:
    identity = item.get("channelIdentity") if isinstance(item, dict) else None
    channel = identity.get("channelId") if isinstance(identity, dict) else None
    return channel.lower() if isinstance(channel, str) else None


def _expired_link(exc: GraphError) -> bool:
    return exc.status == 410 or (
        exc.status in RESYNC_STATUSES and (exc.code or "").lower() in EXPIRED_LINK_CODES
    )
