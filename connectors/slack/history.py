"""Slack Web API connector: the vendor conversations' history, threads and users, incrementally, into a Sink.

The conversations read: the vendors' slack_channels; the Slack Connect channels the app is in that are shared
with a vendor's team; and, with ``[sources.slack] read_dms``, the DMs and group DMs the token's user is in
(``users.conversations``) with a vendor's person among their members. Which of them are measured, and for
whom, is decided when the marts are built, from the config of that build.

Messages go through the Slack export parser, so a message read here and the same message read from an export
are one row (same key ``{channel_id}:{ts}``, same content hash). Per channel, the cursor (see
:mod:`connectors.slack.history_state`) is checkpointed after every history page, with the page's messages and
its threads' replies staged before it, so a killed run resumes with nothing lost or doubled.

One run, per conversation:

1. the history pass: ``conversations.history`` newer than the watermark (or what is left of an interrupted
   pass), page by page, newest first; every parent with replies gets its ``conversations.replies``;
2. the thread re-scan: ``conversations.history`` over the lookback window up to what earlier runs had read,
   to see the parents' current ``latest_reply``; only threads whose ``latest_reply`` moved are fetched again,
   and only their new replies are added.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
from collections.abc import Callable, Iterator
from http.client import HTTPException
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.handler import default_interval_calculator
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator

from connectors.base import WHOLE_SOURCE, Sink, SourceAuthError, SourceError
from connectors.slack_export import settings as export_settings
from connectors.slack_export.parse import (
    Conversation,
    Directory,
    SlackChannelRecord,
    SlackUserRecord,
    parse_channels,
    parse_message,
    parse_users,
    safe_excerpt,
    skip_reason,
)
from ground.config import Config, SlackSource, channel_key
from ground.parties import VENDOR, PartyResolver
from ground.records import MessageRecord, QuarantineRecord

from .client import CHANNEL_ID, make_client, publish_error
from .history_state import ChannelState, newer, ts_key, ts_of

__all__ = ["SOURCE", "extract_slack", "partitions"]

log = logging.getLogger(__name__)

SOURCE = "slack_api"
CHANNEL_TYPES = "public_channel,private_channel"
DIRECT_TYPES = "im,mpim"
# Slack refused the token itself: retrying or going on with other channels cannot help.
AUTH_ERRORS = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"})
# The channel is gone or the bot is not in it: quarantined, the other channels are read.
INACCESSIBLE_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived_and_not_member"})
MISSING_USER_ERRORS = frozenset({"user_not_found", "user_not_visible"})
Q_CHANNEL_NOT_ACCESSIBLE = "channel_not_accessible"


class _ApiError(Exception):
    """A Slack call failed for a reason other than the token: Slack's error code (never the request)."""

    def __init__(self, method: str, code: str, status: int | None) -> None:
        self.method, self.code, self.status = method, code, status
        super().__init__(self.describe())  # what a failed read of a channel records

    def describe(self) -> str:
        detail = f" (HTTP {self.status})" if self.status and self.status != 200 else ""
        return f"Slack API {self.method} failed: {self.code}{detail}"


class _Slack:
    """Calls through the configured WebClient; errors become _ApiError or SourceAuthError, token-free."""

    def __init__(self, client: WebClient, token: str) -> None:
        self._client = client
        self._token = token
        self.calls: collections.Counter[str] = collections.Counter()

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        function = getattr(self._client, method.replace(".", "_"))
        self.calls[method] += 1
        try:
            response = function(**params)
        except SlackApiError as exc:
            error = publish_error(method, exc, self._token)
            if error.error in AUTH_ERRORS:
                raise SourceAuthError(
                    f"Slack refused the token ({error.error}) on {method}: check [sources.slack] token_env "
                    "or token_secret_block, and that the app is installed in the workspace"
                ) from None
            raise _ApiError(method, error.error, error.status) from None
        except SlackClientError:
            raise _ApiError(method, "request_failed", None) from None
        except (OSError, HTTPException) as exc:  # connection errors once the retry handler gave up
            raise _ApiError(method, f"connection_failed ({type(exc).__name__})", None) from None
        data = response.data
        return data if isinstance(data, dict) else {}

    def pages(self, method: str, key: str, **params: Any) -> Iterator[tuple[list[Any], bool]]:
        """(items, is_last) per page, following ``response_metadata.next_cursor``."""
        cursor: str | None = None
        while True:
            data = self.call(method, cursor=cursor, **params)
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
            items = data.get(key)
            yield (items if isinstance(items, list) else []), cursor is None
            if cursor is None:
                return


def partitions(source: SlackSource) -> list[str]:
    """The partitions a run is known to read before it starts: the whole source (channels are found as it reads;
    each read channel records its own partition)."""
    del source
    return [WHOLE_SOURCE]


def extract_slack(
    config: Config,
    source: SlackSource,
    token: str,
    sink: Sink,
    *,
    now: dt.datetime | None = None,
    backoff: RetryIntervalCalculator = default_interval_calculator,
) -> dict[str, object]:
    """Pull what is new in the configured vendor channels into ``sink``; returns the run's notes.

    Raises SourceAuthError at once when Slack refuses the token, and SourceError when a call keeps failing
    after the retries (what was read before stays staged with its cursor, so the next run resumes).
    ``backoff`` spaces the retries of failed calls.
    """
    try:
        client = make_client(token, source.api_url, max_retries=source.max_retries, backoff=backoff)
    except ValueError:
        raise SourceAuthError("the Slack token is empty") from None
    slack = _Slack(client, token)
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    extractor = _Extractor(config, source, slack, sink, now)
    try:
        extractor.run()
    except _ApiError as exc:
        raise SourceError(exc.describe()) from None
    return extractor.notes()


def _configured_channels(config: Config) -> list[str]:
    """Every vendor's slack_channels, in config order, once each."""
    seen: set[str] = set()
    channels: list[str] = []
    for vendor in config.vendors:
        for ref in vendor.slack_channels:
            key = channel_key(ref)
            if key and key not in seen:
                seen.add(key)
                channels.append(ref.strip())
    return channels


def _conversation(channel: dict[str, Any], origin: str) -> SlackChannelRecord:
    """An API conversation object as raw.slack_channels keeps it (kind, teams, members), like an export's."""
    records, _ = parse_channels([channel], origin, SOURCE)
    return records[0]  # the callers only pass objects with an id


def _mentioned_users(text: object) -> Iterator[str]:
    if isinstance(text, str):
        for match in export_settings.TOKEN_RE.finditer(text):
            body = match.group(1)
            if body.startswith("@"):
                user_id = body[1:].partition("|")[0]
                if user_id:
                    yield user_id


def _nothing() -> None:
    pass


def _is_parent_with_replies(item: dict[str, Any]) -> bool:
    thread_ts = item.get("thread_ts")
    return (thread_ts in (None, item.get("ts"))) and isinstance(item.get("latest_reply"), str)


class _Extractor:
    def __init__(
        self, config: Config, source: SlackSource, slack: _Slack, sink: Sink, now: dt.datetime
    ) -> None:
        self.config = config
        self.source = source
        self.slack = slack
        self.sink = sink
        self.resolver = PartyResolver(config)
        self.since = ts_of(now - dt.timedelta(days=source.thread_lookback_days))
        self.users = sink.known_slack_users()
        self.missing_users: set[str] = set()
        self.own_user_id: str | None = None  # the token's user (the bot user for a bot token), from auth.test
        self.channel_names: dict[str, str] = {}
        self.directory = Directory(users=self.users, channel_names=self.channel_names)
        self.counts: collections.Counter[str] = collections.Counter()
        self.skipped: collections.Counter[str] = collections.Counter()

    def notes(self) -> dict[str, object]:
        keys = (
            "channels_configured",
            "shared_channels_found",
            "direct_conversations_found",
            "channels_read",
            "channels_not_accessible",
            "history_pages",
            "rescan_pages",
            "reply_pages",
            "messages",
            "quarantined",
            "threads_fetched",
            "thread_rescans",
            "users_fetched",
            "users_not_found",
            "cursor_resets",
        )
        return {
            **{key: self.counts[key] for key in keys},
            "skipped_events": dict(sorted(self.skipped.items())),
            "api_calls": dict(sorted(self.slack.calls.items())),
        }

    # --- channels --------------------------------------------------------------------------------------

    def run(self) -> None:
        own = self.slack.call("auth.test")  # fail fast on a refused token
        self.own_user_id = own.get("user_id") if isinstance(own.get("user_id"), str) else None
        wanted = _configured_channels(self.config)
        self.counts["channels_configured"] = len(wanted)
        vendor_teams = {team for vendor in self.config.vendors for team in vendor.slack_team_ids}
        if not wanted and not vendor_teams and not self.source.read_dms:
            return
        listed: list[dict[str, Any]] = []
        params = {"types": CHANNEL_TYPES, "limit": self.source.page_size}
        for items, _ in self.slack.pages("conversations.list", "channels", **params):
            listed += [c for c in items if isinstance(c, dict) and isinstance(c.get("id"), str)]
        by_id = {c["id"]: c for c in listed}
        by_name = {channel_key(c["name"]): c for c in listed if isinstance(c.get("name"), str)}
        self.channel_names.update({c["id"]: c["name"] for c in listed if isinstance(c.get("name"), str)})
        # channel id -> (how it is named in reports, the conversation object, the method it came from)
        targets: dict[str, tuple[str, dict[str, Any], str]] = {}
        for ref in wanted:
            key = ref.strip().lstrip("#")  # an id keeps its case; a name is compared as channel_key gives it
            channel = by_id.get(key) or by_name.get(channel_key(ref))
            if channel is None and CHANNEL_ID.match(key):
                # not listed (e.g. a DM or another type): the history call decides
                targets.setdefault(key, (ref, {"id": key}, "conversations.history"))
            elif channel is None:
                why = "channel_not_found (not in conversations.list)"
                self._not_accessible(ref, why)
                self.sink.record_read(SOURCE, key, name=key, error=why)  # known by its name only
            else:
                targets.setdefault(channel["id"], (ref, channel, "conversations.list"))
        # Slack Connect channels shared with a vendor's team are measured without being listed: read those the
        # app is in.
        for channel in listed:
            if channel["id"] not in targets and channel.get("is_member") is True:
                teams = _conversation(channel, "conversations.list").team_ids or []
                if vendor_teams.intersection(teams):
                    self.counts["shared_channels_found"] += 1
                    targets[channel["id"]] = (channel["id"], channel, "conversations.list")
        if self.source.read_dms:
            for channel in self._vendor_direct_conversations():
                self.counts["direct_conversations_found"] += 1
                # a DM listed by its id is read once, with what users.conversations says of it
                ref = targets[channel["id"]][0] if channel["id"] in targets else channel["id"]
                targets[channel["id"]] = (ref, channel, "users.conversations")
        for ref, channel, origin in targets.values():
            try:
                self._read_channel(channel, origin)
            except _ApiError as exc:
                if exc.code not in INACCESSIBLE_ERRORS or exc.method != "conversations.history":
                    raise
                self._not_accessible(ref, exc.code)

    def _vendor_direct_conversations(self) -> Iterator[dict[str, Any]]:
        """The DMs and group DMs the token's user (or app) is in whose members include a vendor's person, with
        their members: a DM's are its two sides, a group DM's come from conversations.members."""
        params = {"types": DIRECT_TYPES, "limit": self.source.page_size}
        for items, _ in self.slack.pages("users.conversations", "channels", **params):
            for channel in items:
                if not isinstance(channel, dict) or not isinstance(channel.get("id"), str):
                    continue
                if channel.get("is_im") is True:
                    members = [u for u in (channel.get("user"), self.own_user_id) if isinstance(u, str)]
                else:
                    members = []
                    for page, _ in self.slack.pages(
                        "conversations.members", "members", channel=channel["id"], limit=self.source.page_size
                    ):
                        members += [u for u in page if isinstance(u, str)]
                self.learn_user_ids(members)
                if any(self._is_vendor(user_id) for user_id in members):
                    yield {**channel, "members": members}

    def _is_vendor(self, user_id: str) -> bool:
        """Whether a user is a vendor's, in the documented order (explicit id, team, profile email domain)."""
        user = self.users.get(user_id)
        side, _ = self.resolver.resolve(
            slack_user_id=user_id,
            address=user.email if user else None,
            team_id=user.team_id if user else None,
        )
        return side == VENDOR

    def _not_accessible(self, ref: str, why: str) -> None:
        log.warning("Slack channel %s cannot be read: %s", ref, why)
        self.counts["channels_not_accessible"] += 1
        self.sink.add(QuarantineRecord(SOURCE, f"channel {ref}", Q_CHANNEL_NOT_ACCESSIBLE, why))

    def _stage_channel(self, channel: dict[str, Any], origin: str) -> None:
        self.sink.add_slack_channels([_conversation(channel, origin)], SOURCE, raw_ref=origin)

    def _read_channel(self, channel: dict[str, Any], origin: str) -> None:
        channel_id = channel["id"]
        with self.sink.reading(SOURCE, channel_id, channel.get("name")):
            reader = _ChannelReader(self, channel_id, Conversation(channel_id, channel.get("name")))
            reader.read_history(on_first_page=lambda: self._stage_channel(channel, origin))
            reader.rescan_threads()
        self.counts["channels_read"] += 1

    # --- messages and users ----------------------------------------------------------------------------

    def learn_users(self, items: list[Any]) -> None:
        """users.info for the senders and mentioned users of ``items`` not known yet; new users are staged."""
        wanted: dict[str, None] = {}
        for item in items:
            if isinstance(item, dict):
                user_id = item.get("user")
                if isinstance(user_id, str) and user_id:
                    wanted[user_id] = None
                wanted.update(dict.fromkeys(_mentioned_users(item.get("text"))))
        self.learn_user_ids(list(wanted))

    def learn_user_ids(self, user_ids: list[str]) -> None:
        """users.info for the users not known yet; new users are staged."""
        fetched: list[SlackUserRecord] = []
        for user_id in dict.fromkeys(user_ids):
            if user_id in self.users or user_id in self.missing_users:
                continue
            try:
                data = self.slack.call("users.info", user=user_id)
            except _ApiError as exc:
                if exc.code not in MISSING_USER_ERRORS:
                    raise
                self.missing_users.add(user_id)
                self.counts["users_not_found"] += 1
                continue
            records, _ = parse_users([data.get("user")], f"users.info {user_id}", SOURCE)
            if not records:
                self.missing_users.add(user_id)
                self.counts["users_not_found"] += 1
                continue
            self.users[user_id] = records[0]
            fetched.append(records[0])
        if fetched:
            self.counts["users_fetched"] += len(fetched)
            self.sink.add_slack_users(fetched, SOURCE)

    def parse(self, item: Any, conversation: Conversation) -> MessageRecord | QuarantineRecord | None:
        """One API message through the export parser (skipped events counted and None)."""
        ts = item.get("ts") if isinstance(item, dict) else None
        raw_ref = f"slack_api:{conversation.channel_id}:{ts}"
        try:
            record = parse_message(
                item, conversation=conversation, directory=self.directory, raw_ref=raw_ref, source=SOURCE
            )
        # As in the export: a parser bug is quarantined with the error, not hidden, and the run goes on.
        except Exception as exc:  # noqa: BLE001
            record = QuarantineRecord(
                SOURCE,
                raw_ref,
                export_settings.Q_PARSE_ERROR,
                f"{type(exc).__name__}: {exc} {safe_excerpt(item)}",
            )
        if record is None:
            self.skipped[(skip_reason(item) if isinstance(item, dict) else None) or "other"] += 1
        return record


class _ChannelReader:
    """One channel's run: its cursor state, and the ts added this run (a message is added once)."""

    def __init__(self, extractor: _Extractor, channel_id: str, conversation: Conversation) -> None:
        self.extractor = extractor
        self.slack = extractor.slack
        self.channel_id = channel_id
        self.conversation = conversation
        self.seen: set[str] = set()
        # Records of the page in progress: they reach the sink only together with the cursor that covers them,
        # so a run failing mid-page stages nothing of that page (the next run reads it again, once).
        self.pending: list[MessageRecord | QuarantineRecord] = []
        stored = extractor.sink.cursor(SOURCE, channel_id)
        try:
            self.state = ChannelState.from_json(stored)
        except ValueError:
            log.warning("Slack cursor of %s is unreadable; reading the channel from the start", channel_id)
            extractor.counts["cursor_resets"] += 1
            self.state = ChannelState()
        # What earlier runs had read: the re-scan covers parents up to here.
        self.read_before = self.state.backlog.high if self.state.backlog else self.state.watermark
        self.saved = self.state.to_json() if stored else None

    def add(self, item: Any) -> None:
        record = self.extractor.parse(item, self.conversation)
        if record is not None:
            self.pending.append(record)

    def checkpoint(self) -> None:
        """Stage the page's records, then the cursor that follows them."""
        for record in self.pending:
            self.extractor.counts["messages" if isinstance(record, MessageRecord) else "quarantined"] += 1
            self.extractor.sink.add(record)
        self.pending.clear()
        self.state.prune_threads(self.extractor.since)
        text = self.state.to_json()
        if text != self.saved:
            self.extractor.sink.checkpoint(SOURCE, self.channel_id, text)
            self.saved = text

    def read_history(self, on_first_page: Callable[[], None]) -> None:
        """What is left of an interrupted pass, then everything newer than the watermark."""
        while True:
            resumed = self.state.backlog is not None
            self._history_pass(on_first_page)
            on_first_page = _nothing
            if not resumed:
                return

    def _history_pass(self, on_first_page: Callable[[], None]) -> None:
        """One pass from the watermark (up to the backlog's lower end when resuming), newest first."""
        params: dict[str, Any] = {"channel": self.channel_id, "limit": self.extractor.source.page_size}
        if self.state.watermark:
            params.update(oldest=self.state.watermark, inclusive=False)
        if self.state.backlog:
            params.update(latest=self.state.backlog.latest, inclusive=False)
        first = True
        for items, last in self.slack.pages("conversations.history", "messages", **params):
            if first:
                on_first_page()
                first = False
            self.extractor.counts["history_pages"] += 1
            self.extractor.learn_users(items)
            for item in items:
                ts = item.get("ts") if isinstance(item, dict) else None
                if isinstance(ts, str):
                    if ts in self.seen:
                        continue
                    self.seen.add(ts)
                self.add(item)
                if isinstance(item, dict) and _is_parent_with_replies(item):
                    self.fetch_thread(item)
            stamps = [i["ts"] for i in items if isinstance(i, dict) and ts_key(i.get("ts")) >= (0, 0)]
            if stamps:
                stamps.sort(key=ts_key)
                self.state.saw_page(stamps[0], stamps[-1], complete=last)
            elif last:
                self.state.finish_pass()
            self.checkpoint()

    def rescan_threads(self) -> None:
        """Parents read by earlier runs within the lookback window whose latest_reply moved: new replies."""
        if self.read_before is None or self.extractor.source.thread_lookback_days == 0:
            return
        if newer(self.extractor.since, self.read_before):
            return  # everything read before is older than the window
        params = {
            "channel": self.channel_id,
            "oldest": self.extractor.since,
            "latest": self.read_before,
            "inclusive": True,
            "limit": self.extractor.source.page_size,
        }
        for items, _ in self.slack.pages("conversations.history", "messages", **params):
            self.extractor.counts["rescan_pages"] += 1
            for item in items:
                if (
                    not isinstance(item, dict)
                    or item.get("ts") in self.seen
                    or not _is_parent_with_replies(item)
                ):
                    continue
                if newer(item["latest_reply"], self.state.threads.get(item["ts"])):
                    self.extractor.counts["thread_rescans"] += 1
                    self.fetch_thread(item)
            self.checkpoint()

    def _is_new_reply(self, item: Any, parent_ts: str, known: str | None) -> bool:
        ts = item.get("ts") if isinstance(item, dict) else None
        if not isinstance(ts, str):
            return True  # quarantined by the parser, as in the export
        return ts != parent_ts and ts not in self.seen and newer(ts, known)

    def fetch_thread(self, parent: dict[str, Any]) -> None:
        """The replies of one thread newer than those fetched before (the parent itself is not re-added)."""
        parent_ts, latest = parent["ts"], parent["latest_reply"]
        known = self.state.threads.get(parent_ts)
        if not newer(latest, known):
            return
        self.extractor.counts["threads_fetched"] += 1
        params = {"channel": self.channel_id, "ts": parent_ts, "limit": self.extractor.source.page_size}
        for items, _ in self.slack.pages("conversations.replies", "messages", **params):
            self.extractor.counts["reply_pages"] += 1
            replies = [i for i in items if self._is_new_reply(i, parent_ts, known)]
            self.extractor.learn_users(replies)
            for reply in replies:
                if isinstance(reply, dict) and isinstance(reply.get("ts"), str):
                    self.seen.add(reply["ts"])
                    if newer(reply["ts"], latest):
                        latest = reply["ts"]  # posted between the history and the replies calls
                self.add(reply)
        if not newer(self.extractor.since, parent_ts):
            self.state.threads[parent_ts] = latest
