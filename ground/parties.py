"""Who is who at extraction time: whether a Slack user is a vendor's, which decides the DMs a live Slack read
covers. A message's side is decided at build time, in SQL, by the same rules (03_stg_message_parties.sql)."""

from __future__ import annotations

from ground.config import Config

COMPANY = "company"
VENDOR = "vendor"
OTHER = "other"

# A party is the company (None) or a vendor id.
Party = str | None
_UNKNOWN = object()


def email_domain(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    return address.rsplit("@", 1)[1].strip().strip(">").lower() or None


class PartyResolver:
    """Resolves a sender to its party, in the documented order (the order of 03_stg_message_parties.sql)."""

    def __init__(self, config: Config) -> None:
        self._user_ids: dict[str, Party] = {}
        self._addresses: dict[str, Party] = {}
        self._teams: dict[str, Party] = {}
        self._domains: dict[str, Party] = {}
        parties: list[tuple[Party, object]] = [(None, config.company)]
        parties += [(v.id, v) for v in config.vendors]
        for party_id, party in parties:
            self._user_ids.update(dict.fromkeys(party.slack_user_ids, party_id))
            self._addresses.update(dict.fromkeys(party.email_addresses, party_id))
            self._teams.update(dict.fromkeys(party.slack_team_ids, party_id))
            self._domains.update(dict.fromkeys(party.email_domains, party_id))
        self._domain_cache: dict[str, object] = {}

    def _by_domain(self, domain: str | None) -> object:
        """Longest matching suffix wins, so `it.norelec.fr` follows `norelec.fr` unless claimed itself."""
        if not domain:
            return _UNKNOWN
        cached = self._domain_cache.get(domain, _UNKNOWN)
        if cached is not _UNKNOWN:
            return cached
        result: object = _UNKNOWN
        labels = domain.split(".")
        for i in range(len(labels) - 1):
            candidate = ".".join(labels[i:])
            if candidate in self._domains:
                result = self._domains[candidate]
                break
        self._domain_cache[domain] = result
        return result

    def resolve(
        self,
        *,
        slack_user_id: str | None = None,
        address: str | None = None,
        team_id: str | None = None,
    ) -> tuple[str, str | None]:
        """(side, vendor_id): explicit user id or address, then Slack team, then email domain."""
        for key, table in ((slack_user_id, self._user_ids), ((address or "").lower(), self._addresses)):
            if key and key in table:
                return _side(table[key])
        if team_id and team_id in self._teams:
            return _side(self._teams[team_id])
        party = self._by_domain(email_domain(address))
        if party is _UNKNOWN:
            return OTHER, None
        return _side(party)  # type: ignore[arg-type]


def _side(party: Party) -> tuple[str, str | None]:
    return (COMPANY, None) if party is None else (VENDOR, party)
