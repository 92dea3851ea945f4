"""The script a user would write instead of commhealth: plain Python, the stdlib's mail parser, no warehouse.

    python -m bench.naive CONFIG AS_OF OUT.json MBOX... --slack-export DIR

The bench runs it on the same archive as commhealth and compares the CPU both spend end to end (commhealth:
ingest of the mail and of the Slack export, then the full build). It keeps commhealth's core definitions, in their
plainest form, so that the comparison is of the same work:

- mail read with the email package's documented API (`policy.default`, `get_body`, `get_content`);
- who is who: a mail's side from its sender's domain, a Slack message's from its author's team (users.json);
- conversations: a mail thread (the first of References, else In-Reply-To, else its own Message-ID), a Slack thread
  (thread_ts, else the message's own ts) in its channel;
- a response: the first message of one side after a message of the other side in the same conversation; its latency
  counts the responder's business minutes (workdays, working hours, public holidays and closures, in its zone);
- awaiting: a conversation whose last message asks something (a "?" in it) and whose other side has not answered
  by as_of; overdue past that side's sla_hours of business time.

It reports, per vendor, the responses each way with their median business minutes and the items awaiting each side.
"""

from __future__ import annotations

import argparse
import datetime as dt
import email
import email.policy
import email.utils
import itertools
import json
import mailbox
import statistics
import tomllib
from collections import defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Calendar:
    """One party's business time: its zone, working hours per workday, public holidays and closures."""

    def __init__(self, party: dict) -> None:
        self.zone = ZoneInfo(party.get("timezone", "UTC"))
        self.hours = []
        for span in party.get("business_hours", ["09:00-18:00"]):
            start, end = span.split("-")
            self.hours.append((dt.time.fromisoformat(start), dt.time.fromisoformat(end)))
        self.workdays = {WEEKDAYS.index(day) for day in party.get("workdays", WEEKDAYS[:5])}
        code = party.get("holidays")
        if code:
            country, _, subdiv = code.partition("-")
            self.holidays = holidays.country_holidays(country, subdiv=subdiv or None)
        else:
            self.holidays = {}
        self.closures = {dt.date.fromisoformat(str(day)) for day in party.get("closures", [])}

    def minutes(self, start: dt.datetime, end: dt.datetime) -> float:
        """Business minutes between two instants."""
        if end <= start:
            return 0.0
        local_start, local_end = start.astimezone(self.zone), end.astimezone(self.zone)
        total = 0.0
        day = local_start.date()
        while day <= local_end.date():
            if day.weekday() in self.workdays and day not in self.holidays and day not in self.closures:
                for open_at, close_at in self.hours:
                    opened = dt.datetime.combine(day, open_at, self.zone)
                    closed = dt.datetime.combine(day, close_at, self.zone)
                    overlap = (min(closed, local_end) - max(opened, local_start)).total_seconds()
                    if overlap > 0:
                        total += overlap / 60
            day += dt.timedelta(days=1)
        return total


def text_of(msg: email.message.EmailMessage) -> str:
    """The text body as the email package's documentation shows it: plain text preferred, else HTML."""
    body = msg.get_body(preferencelist=("plain", "html"))
    try:
        return body.get_content() if body is not None else ""
    except (LookupError, UnicodeError):  # an unknown charset
        return ""


def read_mail(paths: list[str], side_of_domain: dict[str, str]) -> list[dict]:
    messages = []
    roots: dict[str, str] = {}
    for path in paths:
        box = mailbox.mbox(
            path, factory=lambda f: email.message_from_binary_file(f, policy=email.policy.default)
        )
        for msg in box:
            sender = email.utils.parseaddr(str(msg.get("From", "")))[1].lower()
            side = side_of_domain.get(sender.rpartition("@")[2])
            date = msg.get("Date")
            if side is None or date is None:
                continue
            own = str(msg.get("Message-ID", "")).strip()
            references = str(msg.get("References", "")).split()
            parent = references[0] if references else str(msg.get("In-Reply-To", "")).strip()
            root = roots.get(parent, parent) if parent else own
            roots[own] = root
            messages.append(
                {
                    "conversation": root,
                    "side": side,
                    "at": email.utils.parsedate_to_datetime(str(date)),
                    "asks": "?" in text_of(msg),
                }
            )
    return messages


def read_slack(folder: Path, side_of_team: dict[str, str]) -> list[dict]:
    users = json.loads((folder / "users.json").read_text(encoding="utf-8"))
    team_of_user = {user["id"]: user.get("team_id") or user.get("team") for user in users}
    messages = []
    for day_file in sorted(folder.glob("*/????-??-??.json")):
        for item in json.loads(day_file.read_text(encoding="utf-8")):
            side = side_of_team.get(team_of_user.get(item.get("user"), ""))
            if side is None or item.get("subtype"):
                continue
            messages.append(
                {
                    "conversation": f"{day_file.parent.name}:{item.get('thread_ts') or item['ts']}",
                    "side": side,
                    "at": dt.datetime.fromtimestamp(float(item["ts"]), dt.UTC),
                    "asks": "?" in item.get("text", ""),
                }
            )
    return messages


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.naive", description=__doc__.split("\n")[0])
    parser.add_argument("config")
    parser.add_argument("as_of", type=dt.datetime.fromisoformat)
    parser.add_argument("out", type=Path)
    parser.add_argument("mbox", nargs="*")
    parser.add_argument("--slack-export", type=Path)
    args = parser.parse_args(argv)

    config = tomllib.loads(Path(args.config).read_text(encoding="utf-8"))
    company = config["company"]
    calendars = {"company": Calendar(company)}
    side_of_domain = {domain: "company" for domain in company.get("email_domains", [])}
    side_of_team = {team: "company" for team in company.get("slack_team_ids", [])}
    sla = {"company": company.get("sla_hours", 8)}
    for vendor in config["vendors"]:
        calendars[vendor["id"]] = Calendar(vendor)
        sla[vendor["id"]] = vendor.get("sla_hours", 8)
        side_of_domain.update({domain: vendor["id"] for domain in vendor.get("email_domains", [])})
        side_of_team.update({team: vendor["id"] for team in vendor.get("slack_team_ids", [])})

    messages = read_mail(args.mbox, side_of_domain)
    if args.slack_export:
        messages += read_slack(args.slack_export, side_of_team)

    conversations: dict[str, list[dict]] = defaultdict(list)
    for message in messages:
        if message["at"] <= args.as_of:
            conversations[message["conversation"]].append(message)
    latencies: dict[tuple[str, str], list[float]] = defaultdict(list)  # (vendor, responder side)
    awaiting: dict[tuple[str, str], list[float]] = defaultdict(list)
    for thread in conversations.values():
        thread.sort(key=lambda m: m["at"])
        vendor = next((m["side"] for m in thread if m["side"] != "company"), None)
        if vendor is None:
            continue
        waiting_since = None
        for previous, message in itertools.pairwise(thread):
            if message["side"] != previous["side"]:
                since = waiting_since or previous["at"]
                responder = "company" if message["side"] == "company" else "vendor"
                latencies[(vendor, responder)].append(
                    calendars[message["side"]].minutes(since, message["at"])
                )
                waiting_since = None
            elif waiting_since is None:
                waiting_since = previous["at"]
        last = thread[-1]
        if last["asks"]:
            other = vendor if last["side"] == "company" else "company"
            waited = calendars[other].minutes(last["at"], args.as_of)
            awaiting[(vendor, "vendor" if other == vendor else "company")].append(waited)

    report = {}
    for vendor in sorted(calendars):
        if vendor == "company":
            continue
        report[vendor] = {
            side: {
                "responses": len(latencies[(vendor, side)]),
                "median_business_minutes": statistics.median(latencies[(vendor, side)])
                if latencies[(vendor, side)]
                else None,
                "awaiting": len(awaiting[(vendor, side)]),
                "overdue": sum(
                    minutes > 60 * sla[vendor if side == "vendor" else "company"]
                    for minutes in awaiting[(vendor, side)]
                ),
            }
            for side in ("vendor", "company")
        }
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
