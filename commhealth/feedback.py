"""User decisions about the marts (meta.feedback): dismiss an alert or an overdue item, mark a message not a request.

Every decision is one row; undoing stamps revoked_at, so the history stays. The next build applies the decisions in
force (transforms/models/07_stg_message_requests.sql, 45_dismissals.sql). A Slack interaction handler would insert
the same rows with origin 'slack' (README, Feedback).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from ground.rules import ITEM_RULES, VENDOR_RULES


class FeedbackError(ValueError):
    """A decision that names something the warehouse does not hold; the message says what to do."""


def _one(con: duckdb.DuckDBPyConnection, query: str, params: list[Any]) -> tuple[Any, ...] | None:
    try:
        return con.execute(query, params).fetchone()
    except duckdb.CatalogException:  # the marts are not built yet
        raise FeedbackError("no marts built yet; run `commhealth build` first") from None


def _record(
    con: duckdb.DuckDBPyConnection, target: dict[str, Any], *, author: str, note: str | None, **extra: Any
) -> int:
    """Insert one decision, revoking the earlier ones in force on the same target (the newest decision wins)."""
    where = " AND ".join(f"{column} = ?" for column in target)
    con.execute(
        f"UPDATE meta.feedback SET revoked_at = current_timestamp, revoked_by = ? WHERE revoked_at IS NULL AND {where}",
        [author, *target.values()],
    )
    values = {**target, **extra, "author": author, "origin": "cli", "note": note}
    row = con.execute(
        f"INSERT INTO meta.feedback ({', '.join(values)}) VALUES ({', '.join('?' * len(values))}) RETURNING id",
        list(values.values()),
    ).fetchone()
    return int(row[0])


def dismiss_alert(
    con: duckdb.DuckDBPyConnection,
    vendor_ids: list[str],
    vendor_id: str,
    rule: str,
    *,
    until: dt.date | None,
    author: str,
    note: str | None,
) -> int:
    """Dismiss a vendor rule: through `until`, or (without it) the alert of the last built day until it changes."""
    if vendor_id not in vendor_ids:
        raise FeedbackError(f"unknown vendor {vendor_id!r}; configured vendors: {', '.join(vendor_ids)}")
    if rule in ITEM_RULES:
        raise FeedbackError(
            f"{rule} is about overdue items: dismiss each with `commhealth dismiss item MESSAGE_KEY`"
        )
    if rule not in VENDOR_RULES:
        raise FeedbackError(f"unknown rule {rule!r}; rules: {', '.join(VENDOR_RULES)}")
    extra: dict[str, Any] = {"kind": "dismiss", "until": until}
    if until is None:
        alert = _one(
            con,
            "SELECT day, severity FROM marts.alerts WHERE vendor_id = ? AND rule = ? AND state <> 'resolved'",
            [vendor_id, rule],
        )
        if alert is None:
            raise FeedbackError(
                f"{vendor_id} has no {rule} alert on the last built day; to dismiss it ahead, give --until DATE"
            )
        extra |= {"alert_day": alert[0], "alert_severity": alert[1]}
    return _record(con, {"vendor_id": vendor_id, "rule": rule}, author=author, note=note, **extra)


def dismiss_item(con: duckdb.DuckDBPyConnection, message_key: str, *, author: str, note: str | None) -> int:
    """Dismiss the overdue item opened by `message_key` for as long as it waits."""
    item = _one(
        con,
        "SELECT conversation_key FROM marts.awaiting WHERE request_message_key = ? ORDER BY conversation_key",
        [message_key],
    )
    if item is None:
        raise FeedbackError(
            f"no item awaiting a reply asked by message {message_key!r} (marts.awaiting, last build)"
        )
    target = {"conversation_key": item[0], "request_message_key": message_key}
    return _record(con, target, author=author, note=note, kind="dismiss")


def mark_not_a_request(
    con: duckdb.DuckDBPyConnection, message_key: str, *, author: str, note: str | None
) -> int:
    """Record that `message_key` asks nothing: from the next build its turn opens no clock."""
    if con.execute("SELECT 1 FROM core.messages WHERE message_key = ?", [message_key]).fetchone() is None:
        raise FeedbackError(f"no message {message_key!r} in the warehouse")
    return _record(con, {"message_key": message_key}, author=author, note=note, kind="not_a_request")


def undo(con: duckdb.DuckDBPyConnection, decision_id: int, *, author: str) -> None:
    """Revoke a decision in force; the row stays, with who undid it and when."""
    row = con.execute(
        "UPDATE meta.feedback SET revoked_at = current_timestamp, revoked_by = ? "
        "WHERE id = ? AND revoked_at IS NULL RETURNING id",
        [author, decision_id],
    ).fetchone()
    if row is None:
        raise FeedbackError(f"no decision {decision_id} in force; `commhealth dismiss list` shows them")


LIST_COLUMNS = ("id", "created", "kind", "target", "until", "author", "origin", "note")


def active_decisions(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    """The decisions in force, oldest first, as LIST_COLUMNS."""
    return con.execute(
        """
        SELECT
            id,
            strftime(created_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M UTC'),
            CASE WHEN kind = 'not_a_request' THEN 'not a request'
                 WHEN vendor_id IS NOT NULL THEN 'dismiss alert' ELSE 'dismiss item' END,
            coalesce(message_key, vendor_id || ' ' || rule, request_message_key),
            coalesce(
                strftime(until, '%Y-%m-%d'),
                CASE WHEN vendor_id IS NOT NULL THEN 'until it changes' END,
                ''
            ),
            author,
            origin,
            coalesce(note, '')
        FROM meta.feedback
        WHERE revoked_at IS NULL
        ORDER BY id
        """
    ).fetchall()
