"""Who is who: explicit ids and addresses first, then Slack team, then email domain (subdomains too).

The build decides it for every stored message (transforms/models/03_stg_message_parties.sql); a live Slack read
decides it for Slack users with PartyResolver, to pick the DMs to read. Each case is checked on both, so the two
never drift apart.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from ground.config import Config, load_config
from ground.parties import PartyResolver
from tests.transforms.transforms_testlib import INSERT_MESSAGE, message_row
from transforms.build import build_marts
from warehouse.db import open_writer

T0 = dt.datetime(2026, 11, 16, 9, tzinfo=dt.UTC)


@pytest.fixture
def config(config_path: Path) -> Config:
    return load_config(config_path)


def built(config: Config, rows: list[dict[str, Any]]) -> list[tuple[str, str | None, list[str], bool]]:
    """(side, vendor_id, recipient_vendor_ids, is_internal) of each message, as a build decides them."""
    rows = [
        {"message_key": f"k{i}", "conversation_key": f"k{i}", "sent_at": T0, **r} for i, r in enumerate(rows)
    ]
    with open_writer(":memory:") as con:
        con.executemany(INSERT_MESSAGE, [message_row(r, i) for i, r in enumerate(rows)])
        build_marts(con, config, T0 + dt.timedelta(hours=1))
        found = {
            key: (side, vendor_id, recipients, internal)
            for key, side, vendor_id, recipients, internal in con.execute(
                "SELECT message_key, side, vendor_id, recipient_vendor_ids, is_internal FROM staging.stg_message_parties"
            ).fetchall()
        }
    return [found[r["message_key"]] for r in rows]


def email(sender: str, *recipients: str) -> dict[str, Any]:
    return {"sender": sender, "recipients": list(recipients)}


def slack(user: str, team: str | None = None, profile_email: str | None = None) -> dict[str, Any]:
    return {
        "slack_channel_id": "C1",
        "sender": user,
        "sender_team_id": team,
        "sender_email": profile_email,
    }


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("jean@norelec.fr", ("company", None)),
        ("JEAN@NoRelec.FR", ("company", None)),
        ("ops@paris.it.norelec.fr", ("company", None)),  # subdomain
        ("priya@kappa-offshore.in", ("vendor", "kappa")),
        ("x@mail.lumen.ro", ("vendor", "lumen")),
        ("consultant@gmail.com", ("vendor", "lumen")),  # explicit address beats the (unknown) domain
        ("someone@gmail.com", ("other", None)),
        ("notanaddress", ("other", None)),
        ("x@fakenorelec.fr", ("other", None)),  # a suffix that is not a subdomain
        ("Jean <jean@norelec.fr>", ("company", None)),  # a display name left around the address
    ],
)
def test_email_sender_side(config: Config, address: str, expected: tuple[str, str | None]) -> None:
    assert PartyResolver(config).resolve(address=address) == expected
    [(side, vendor_id, _, internal)] = built(config, [email(address, "a@kappa-offshore.in")])
    assert (side, vendor_id, internal) == (*expected, False)  # never NULL, even for a stranger


def test_internal_when_company_writes_to_no_vendor(config: Config) -> None:
    internal, external, vendor_to_vendor, nobody = built(
        config,
        [
            email("jean@norelec.fr", "marie@norelec.fr", "boss@norelec.fr"),
            email("jean@norelec.fr", "marie@norelec.fr", "P@Kappa-Offshore.in", "x@lumen.ro", "y@lumen.ro"),
            email("p@kappa-offshore.in", "marie@norelec.fr"),
            email("jean@norelec.fr"),
        ],
    )
    assert internal == ("company", None, [], True)
    assert external == ("company", None, ["kappa", "lumen"], False)  # once each, sorted
    assert vendor_to_vendor == ("vendor", "kappa", [], False)
    assert nobody == ("company", None, [], True)


def test_slack_order_explicit_then_team_then_domain(config: Config) -> None:
    cases = [
        # Explicit user id wins over a team that says company.
        (slack("U0LUMENBOSS", team="T0NORELEC", profile_email="boss@norelec.fr"), ("vendor", "lumen")),
        # Team id wins over the profile email domain.
        (slack("U1", team="T0KAPPA", profile_email="guest@norelec.fr"), ("vendor", "kappa")),
        # An explicit address wins over the team.
        (slack("U4", team="T0NORELEC", profile_email="consultant@gmail.com"), ("vendor", "lumen")),
        # No known team: the profile email domain decides.
        (slack("U2", team="T0GUEST", profile_email="dev@kappa-offshore.in"), ("vendor", "kappa")),
        (slack("U3"), ("other", None)),
    ]
    resolver = PartyResolver(config)
    for message, expected in cases:
        address, team = message["sender_email"], message["sender_team_id"]
        assert resolver.resolve(slack_user_id=message["sender"], address=address, team_id=team) == expected
    decided = built(config, [message for message, _ in cases])
    assert [(side, vendor_id) for side, vendor_id, _, _ in decided] == [expected for _, expected in cases]
    # Slack has no recipients: which Slack conversations are a vendor's is staging.stg_slack_conversations' job.
    assert all(recipients == [] and not internal for _, _, recipients, internal in decided)


def test_a_config_change_reclassifies_history_at_the_next_build(config: Config) -> None:
    """What live sources never read again still follows the config: the next build reclassifies it."""
    row = {
        "message_key": "k",
        "conversation_key": "k",
        "sent_at": T0,
        **email("ana@newvendor.pt", "jean@norelec.fr"),
    }
    claimed = config.model_copy(
        update={
            "vendors": [
                v.model_copy(update={"email_domains": [*v.email_domains, "newvendor.pt"]})
                if v.id == "kappa"
                else v
                for v in config.vendors
            ]
        }
    )
    with open_writer(":memory:") as con:
        con.execute(INSERT_MESSAGE, message_row(row, 0))
        sides = []
        for current in (config, claimed):
            counts = build_marts(con, current, T0 + dt.timedelta(hours=1))
            sides.append(
                (
                    counts["full_build"],
                    *con.execute("SELECT side, vendor_id FROM staging.stg_message_parties").fetchone(),
                )
            )
    assert sides == [(1, "other", None), (1, "vendor", "kappa")]
