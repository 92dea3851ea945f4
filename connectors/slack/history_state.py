"""The per-channel cursor of the Slack history connector, stored as JSON in meta.sync_state.

Format (version 1)::

    {
      "v": 1,
      "watermark": "1767225610.000010",          # newest history ts fully consumed; null before the first run
      "backlog": {"latest": "…", "high": "…"},   # a pass in progress, else null
      "threads": {"<parent ts>": "<latest_reply ts fetched>", …}   # parents within the lookback window
    }

``conversations.history`` answers newest first, so a pass from the watermark reads the newest page first.
Moving the watermark after that page would skip the older pages if the run were killed, so the watermark only
moves once the whole pass is consumed. Meanwhile ``backlog`` says what is left: the window
``(watermark, latest)`` where ``latest`` is the oldest ts read so far (exclusive bounds), and ``high`` is the
newest ts read, the next watermark. A resumed run asks for exactly that window; it needs no opaque Slack
cursor, which could expire or shift when messages arrive between the runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from connectors.slack_export.parse import parse_ts

VERSION = 1


def ts_key(ts: str) -> tuple[int, int]:
    """A sortable key of a Slack ts (seconds, microseconds); invalid ts sort first."""
    when = parse_ts(ts)
    if when is None:
        return (-1, -1)
    seconds, _, fraction = ts.partition(".")
    return (int(seconds), int(fraction.ljust(6, "0")))


def newer(a: str | None, b: str | None) -> bool:
    """True when ts ``a`` is strictly newer than ts ``b`` (a missing ``b`` is older than anything)."""
    if a is None:
        return False
    return b is None or ts_key(a) > ts_key(b)


def ts_of(when: dt.datetime) -> str:
    """The Slack ts of an aware datetime (seconds and microseconds)."""
    delta = when.astimezone(dt.UTC) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    micros = delta // dt.timedelta(microseconds=1)
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


@dataclasses.dataclass
class Backlog:
    latest: str  # exclusive upper bound of what is left of the pass
    high: str  # newest ts seen in the pass: the watermark once the pass is complete


@dataclasses.dataclass
class ChannelState:
    watermark: str | None = None
    backlog: Backlog | None = None
    threads: dict[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str | None) -> ChannelState:
        """The stored state; raises ValueError when ``text`` is not a cursor of this format."""
        if not text:
            return cls()
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("v") != VERSION:
            raise ValueError("not a version 1 Slack history cursor")
        watermark = data.get("watermark")
        backlog = data.get("backlog")
        threads = data.get("threads") or {}
        if watermark is not None and parse_ts(watermark) is None:
            raise ValueError("bad watermark")
        if backlog is not None:
            if not isinstance(backlog, dict) or any(
                parse_ts(backlog.get(k)) is None for k in ("latest", "high")
            ):
                raise ValueError("bad backlog")
            backlog = Backlog(backlog["latest"], backlog["high"])
        if not isinstance(threads, dict) or not all(
            parse_ts(k) is not None and parse_ts(v) is not None for k, v in threads.items()
        ):
            raise ValueError("bad threads")
        return cls(watermark, backlog, dict(threads))

    def to_json(self) -> str:
        backlog = dataclasses.asdict(self.backlog) if self.backlog else None
        threads = dict(sorted(self.threads.items(), key=lambda item: ts_key(item[0])))
        return json.dumps(
            {"v": VERSION, "watermark": self.watermark, "backlog": backlog, "threads": threads},
            separators=(",", ":"),
        )

    def saw_page(self, oldest_ts: str, newest_ts: str, *, complete: bool) -> None:
        """Record a consumed history page of the current pass (``complete``: it was the last one)."""
        high = self.backlog.high if self.backlog and newer(self.backlog.high, newest_ts) else newest_ts
        if complete:
            self.watermark = high if newer(high, self.watermark) else self.watermark
            self.backlog = None
        else:
            self.backlog = Backlog(latest=oldest_ts, high=high)

    def finish_pass(self) -> None:
        """The pass ended on an empty page: what it saw becomes the watermark."""
        if self.backlog is not None:
            if newer(self.backlog.high, self.watermark):
                self.watermark = self.backlog.high
            self.backlog = None

    def prune_threads(self, since: str) -> None:
        """Forget parents older than the lookback window (their late replies are out of scope)."""
        self.threads = {p: r for p, r in self.threads.items() if not newer(since, p)}
