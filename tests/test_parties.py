"""Who is who: explicit ids and addresses first, then Slack team, then email domain (subdomains too)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from commhealth.config import load_config
from commhealth.parties import PartyResolver
from commhealth.records import MessageRecord

T0 = dt.datetime(2026, 11, 16, 9, tzinfo=dt.UTC)


@pytest.fixture
def resolver(config_path: Path) -> PartyResolver:
    return PartyResolver(load_config(config_path))


def email(sender: str, *recipients: str) -> MessageRecord:
    return MessageRecord("k@x", "email", "mbox", T0, "ref", sender=sender, recipients=list(recipients))


def slack(
    user: str, team: str | None = None, profile_email: str | None = None, channel: str = "C1"
) -> MessageRecord:
    return MessageRecord(
        f"{channel}:1.0",
        "slack",
        "slack_export",
        T0,
        "ref",
        sender=user,
        sender_team_id=team,
        sender_email=profile_email,
        slack_channel_id=channel,
        slack_channel_name="ext-kappa" if channel == "C1" else None,
    )


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
    ],
)
def test_email_sender_side(resolver: PartyResolver, address: str, expected: tuple[str, str | None]) -> None:
    record = resolver.classify(email(address, "a@kappa-offshore.in"))
    assert (record.side, record.vendor_id) == expected


def test_internal_when_company_writes_to_no_vendor(resolver: PartyResolver) -> None:
    internal = resolver.classify(email("jean@norelec.fr", "marie@norelec.fr", "boss@norelec.fr"))
    assert internal.is_internal and internal.recipient_vendor_ids == []
    external = resolver.classify(
        email("jean@norelec.fr", "marie@norelec.fr", "p@kappa-offshore.in", "x@lumen.ro")
    )
    assert not external.is_internal and external.recipient_vendor_ids == ["kappa", "lumen"]
    vendor_to_vendor = resolver.classify(email("p@kappa-offshore.in", "marie@norelec.fr"))
    assert not vendor_to_vendor.is_internal


def test_slack_order_explicit_then_team_then_domain(resolver: PartyResolver) -> None:
    # Explicit user id wins over a team that says company.
    record = resolver.classify(slack("U0LUMENBOSS", team="T0NORELEC", profile_email="boss@norelec.fr"))
    assert (record.side, record.vendor_id) == ("vendor", "lumen")
    # Team id wins over the profile email domain.
    record = resolver.classify(slack("U1", team="T0KAPPA", profile_email="guest@norelec.fr"))
    assert (record.side, record.vendor_id) == ("vendor", "kappa")
    # No known team: the profile email domain decides.
    record = resolver.classify(slack("U2", team="T0GUEST", profile_email="dev@kappa-offshore.in"))
    assert (record.side, record.vendor_id) == ("vendor", "kappa")
    record = resolver.classify(slack("U3"))
    assert (record.side, record.vendor_id) == ("other", None)


def test_slack_messages_have_no_recipient_vendors(resolver: PartyResolver) -> None:
    """Even in a vendor's listed channel: which Slack conversations are a vendor's is decided at build time."""
    for channel in ("C1", "C0LUMEN", "CGENERAL"):  # ext-kappa by name, lumen's by id, an unlisted one
        record = resolver.classify(slack("U9", team="T0NORELEC", channel=channel))
        assert record.side == "company" and record.recipient_vendor_ids == [] and not record.is_internal
