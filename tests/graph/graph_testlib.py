"""Helpers for the Graph connector tests: MIME builders, one extraction run, the merge, warehouse queries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from connectors.graph import extract_graph
from flows.ingest import StagingSink, merge
from ground.config import Config, load_config
from ground.secrets import require_secret
from tests.fakes.graph import FakeGraph

MAILBOX = "achats@norelec.fr"


def make_mime(n: int, *, vendor: bool = True, crlf: bool = True, reply_to: int | None = None) -> bytes:
    """One plain-text email between Norelec and Kappa, numbered n (Message-ID <n.graph-test@...>)."""
    sender, to = ("ravi@kappa-offshore.in", MAILBOX) if vendor else (MAILBOX, "ravi@kappa-offshore.in")
    headers = [
        f"From: {'Ravi Kumar' if vendor else 'Achats Norelec'} <{sender}>",
        f"To: <{to}>",
        f"Subject: Order {1000 + n}: delivery schedule",
        f"Date: Tue, 03 Mar 2026 {8 + n // 60 % 10:02d}:{n % 60:02d}:00 +0100",
        f"Message-ID: <{n}.graph-test@{sender.split('@')[1]}>",
    ]
    if reply_to is not None:
        ref = f"<{reply_to}.graph-test@kappa-offshore.in>"
        headers += [f"In-Reply-To: {ref}", f"References: {ref}"]
    headers += [
        "MIME-Version: 1.0",
        'Content-Type: text/plain; charset="utf-8"',
        "Content-Transfer-Encoding: 8bit",
    ]
    body = [f"Hello, about order {1000 + n}:", "the parts ship on Friday.", "", "Regards,"]
    text = "\n".join([*headers, "", *body, ""])
    if crlf:
        text = text.replace("\n", "\r\n")
    return text.encode("utf-8")


def seed(fake: FakeGraph, folder: str, numbers: range | list[int], **kwargs: Any) -> list[str]:
    return [fake.add_message(MAILBOX, folder, make_mime(n, **kwargs)) for n in numbers]


def config_at(path: Path) -> Config:
    return load_config(path)


def extract(config: Config) -> dict[str, object]:
    """One extraction the way the CLI and the flow run it: secret from the env, a StagingSink, closed after."""
    source = config.sources.graph
    assert source is not None
    secret = require_secret(
        source.client_secret_env, source.client_secret_secret_block, "the Graph client secret"
    )
    sink = StagingSink(config, "graph")
    try:
        return extract_graph(config, source, secret, sink)
    finally:
        sink.close()


def run_and_merge(config: Config) -> tuple[dict[str, object], dict[str, object]]:
    notes = extract(config)
    stats = merge(config, [{"graph": notes}], command="ingest graph")
    return notes, stats.as_dict()


def query(config: Config, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(config.warehouse.path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def message_keys(config: Config) -> list[str]:
    return [r[0] for r in query(config, "SELECT message_key FROM core.messages ORDER BY message_key")]


def cursors(config: Config) -> dict[str, str | None]:
    rows = query(config, "SELECT partition_key, cursor FROM meta.sync_state WHERE source = 'graph'")
    return dict(rows)


def expected_keys(numbers: list[int] | range, *, vendor: bool = True) -> list[str]:
    domain = "kappa-offshore.in" if vendor else "norelec.fr"
    return sorted(f"{n}.graph-test@{domain}" for n in numbers)
