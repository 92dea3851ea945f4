"""What every live connector shares: where it writes, and the errors it raises."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

from ground.records import MessageRecord, QuarantineRecord

if TYPE_CHECKING:
    from connectors.slack_export.parse import SlackChannelRecord, SlackUserRecord


# meta.source_reads.partition_key of a whole live source, for one whose partitions are only known once it is read
# (Slack's channels): its failure stands for every partition it did not read.
WHOLE_SOURCE = "*"


class SourceError(RuntimeError):
    """A source could not be read; the message says which and why, never a secret."""


class SourceAuthError(SourceError):
    """The credentials were refused: fail fast rather than retry."""


class Sink(Protocol):
    """Where a connector puts what it read (implemented by flows.ingest.StagingSink).

    `add` takes records in order; `checkpoint` stores a partition's cursor AFTER the records added before it, so
    a run killed between pages resumes from the last checkpoint with nothing lost or doubled. A connector reads
    each partition (channel, mailbox folder) inside `reading(...)`, which records it as read to the end, or as
    failed with the error that escaped; `record_read` records a partition it could not even start on.
    """

    def add(self, record: MessageRecord | QuarantineRecord) -> None: ...

    def add_slack_users(self, users: Iterable[SlackUserRecord], source: str) -> None: ...

    def add_slack_channels(
        self, channels: Iterable[SlackChannelRecord], source: str, raw_ref: str | None = None
    ) -> None: ...

    def known_slack_users(self) -> dict[str, SlackUserRecord]: ...

    def cursor(self, source: str, partition: str) -> str | None: ...

    def checkpoint(self, source: str, partition: str, cursor: str | None) -> None: ...

    def reading(
        self, source: str, partition: str, name: str | None = None
    ) -> AbstractContextManager[None]: ...

    def record_read(
        self, source: str, partition: str, *, name: str | None = None, error: str | None = None
    ) -> None: ...
