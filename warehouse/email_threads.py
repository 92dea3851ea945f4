"""Email conversations: the connected components of the graph of message ids.

Every stored email is a node, and so is every id it names in In-Reply-To and References, stored or not; each
named id is an edge. A conversation is a connected component (the union of every link, as JWZ threading and
notmuch do), so a reply whose References begin with a ticketing system's synthetic id, or whose In-Reply-To and
References disagree, still joins every conversation it answers. Its key is the message_key of its earliest
stored email by (sent_at, message_key): the same whatever the load order, unchanged by later replies (unless one
is dated before the conversation began), and taken over by an earlier email when one arrives.

Resolution is incremental. Stored emails are grouped by conversation_key already, so a step only links the
conversations of the emails it is given (a merged batch) with the conversations of the ids they name; ids that
no stored email carries are kept with their conversation in core.email_unknown_ids, so that a later email naming
the same id, or carrying it, finds its way. Each query of a step builds on the step's own emails and streams the
stored rows past them, so a daily merge costs the same whatever the history holds.
"""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import pyarrow as pa

from warehouse.db import sql

# The rule stored keys follow, recorded in meta.email_threading: keys an older release set (the earliest
# ancestor through chains) have every stored email resolved again, once, by the next merge.
THREADING_RULE = "connected_components"
# Emails per step when resolving everything stored: a step's joins build on its own emails, so memory is that of
# a step, not of the history.
RESOLVE_ALL_STEP_EMAILS = 50_000
_STEP_TABLES = (
    "pending_emails",
    "email_links",
    "email_edges",
    "email_conversation_starts",
    "email_component_keys",
    "conversation_moves",
    "lost_conversations",
)


def resolve_email_conversations(con: duckdb.DuckDBPyConnection, since: dt.datetime | None = None) -> int:
    """Put the emails stored since `since` (every stored email when None) in the conversation of their
    component; returns how many conversations were merged into another (recorded in meta.conversation_changes).

    Runs in the caller's transaction. Conversations only ever merge, so whatever keys the stored emails have
    (an older release's too) are a valid start: the emails sharing one are linked.
    """
    steps = 1
    if since is None:
        (emails,) = con.execute("SELECT count(*) FROM core.messages WHERE channel = 'email'").fetchone()
        steps = max(1, math.ceil(emails / RESOLVE_ALL_STEP_EMAILS))
    try:
        return sum(_resolve_step(con, since, steps, step) for step in range(steps))
    finally:
        for table in _STEP_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table}")


def resolve_under_current_rule(con: duckdb.DuckDBPyConnection) -> int:
    """If the stored keys follow another rule than THREADING_RULE (a warehouse from an older release), resolve
    every stored email and record the rule; returns the conversations merged (0 when nothing was due)."""
    (rule,) = con.execute("SELECT rule FROM meta.email_threading").fetchone()
    if rule == THREADING_RULE:
        return 0
    merged = resolve_email_conversations(con)
    con.execute("UPDATE meta.email_threading SET rule = ?, resolved_at = current_timestamp", [THREADING_RULE])
    return merged


def _resolve_step(con: duckdb.DuckDBPyConnection, since: dt.datetime | None, steps: int, step: int) -> int:
    con.execute(sql("pending_emails.sql"), {"since": since, "steps": steps, "step": step})
    con.execute(sql("email_links.sql"))
    edges = con.table("email_edges").to_arrow_table()
    nodes, roots = _components(edges.column(0).to_pylist(), edges.column(1).to_pylist())
    con.register(
        "email_components",
        pa.table({"node": pa.array(nodes, pa.string()), "root": pa.array(roots, pa.string())}),
    )
    try:
        con.execute(sql("apply_email_conversations.sql"))
    finally:
        con.unregister("email_components")
    (merged,) = con.execute("SELECT count(*) FROM lost_conversations").fetchone()
    return merged


def _components(left: list[str], right: list[str]) -> tuple[list[str], list[str]]:
    """Union-find over the edges (left[i], right[i]): every node with the root of its component."""
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        root = node
        while (up := parent.get(root, root)) != root:
            root = up
        while node != root:  # path compression: a long chain is walked once
            parent[node], node = root, parent[node]
        return root

    for a, b in zip(left, right, strict=True):
        if (root_a := find(a)) != (root_b := find(b)):
            parent[root_a] = root_b
    nodes = list({*left, *right})
    return nodes, [find(node) for node in nodes]
