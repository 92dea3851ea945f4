"""Judgement on real messages: needs-reply, acknowledgements and signals, against labels written by people.

The texts come from public archives (bench/eval/SOURCES.md) and are not part of the repository: `corpus.py` rebuilds
them from the fetched mirrors into a data folder (default /work/evaldata, or $COMMHEALTH_EVAL_DATA). The repository
keeps only the labels (`bench/eval/labels/*.jsonl`: id, text_sha1, labels; see LABELLING.md). Files named `dev-*`
are the development split, the only messages whose errors a developer reads while tuning the rules; the other
files are held out, and their figures are the ones to quote. Each labelled message
goes through what production runs: email bodies through the new-text extractor, then one real build of the marts,
where it is the last counted message of its real conversation: every message of that conversation up to it (the
unlabelled ones too), in their order, at their time, each on its side, so that rules reading the exchange (a
chaser after one's own unanswered message, a question asked again) see what the labeller saw. The verdicts are
read back from staging.stg_message_requests and marts.message_signals.

Sides: the archives are support forums, lists and care accounts where one person asks and others answer, so the
author of the conversation's first message (the opener) is the company and every other author the vendor, which
answers it (users answering users on a mailing list play the vendor's part); an author whose `author_role` is
`vendor` or `staff` is always the vendor, and in a conversation the vendor opened (an announcement) the authors
whose role is `customer` or `user` are the company. A message without a date (some tweets), or dated no later than
the one before it (data.gouv.fr gives every message its discussion's date and author), is placed a minute after
the one before it. On data.gouv.fr every message thus has the opener's side, the producer's answers too: rules
that read who wrote last cannot be judged there.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from connectors.mail.newtext import extract_new_text
from ground.config import Config
from transforms.build import build_marts
from warehouse.db import open_writer

LABELS_DIR = Path(__file__).with_name("labels")
SIGNALS = ("clarification", "info_request", "nudge", "repetition", "rework", "escalation")
AS_OF = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
_VENDOR_ROLES = ("vendor", "staff")
_CONFIG = {
    "company": {"name": "Customer", "timezone": "UTC", "email_domains": ["customer.example"]},
    "vendors": [{"id": "vendor", "name": "Vendor", "timezone": "UTC", "email_domains": ["vendor.example"]}],
}
# Who writes from where: the build tells the sides apart by these addresses, as it does with real mail.
_ADDRESSES = {"company": "customer@customer.example", "vendor": "staff@vendor.example"}


@dataclasses.dataclass(frozen=True)
class Context:
    """A message of the conversation before a labelled one, labelled or not."""

    channel: str
    text: str
    side: str  # company or vendor
    sent_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class Labelled:
    """One labelled message with its text."""

    id: str
    lang: str
    channel: str
    text: str
    context: tuple[Context, ...]  # the messages before it in its conversation, oldest first
    side: str  # company or vendor
    sent_at: dt.datetime
    needs_reply: bool
    ack: bool
    signals: frozenset[str]
    split: str  # dev or held_out


@dataclasses.dataclass
class Score:
    """Counts of one binary decision against the labels."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, predicted: bool, actual: bool) -> None:
        if predicted and actual:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif actual:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p and r else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "support": self.tp + self.fn,
            "predicted": self.tp + self.fp,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            **dataclasses.asdict(self),
        }


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def load_labelled(data_dir: Path, labels_dir: Path = LABELS_DIR) -> tuple[list[Labelled], dict[str, int]]:
    """Labels joined with the corpus texts; counts of what could not be used (missing text, changed text,
    marked unusable)."""
    corpus: dict[str, dict[str, Any]] = {}
    conversations: dict[str, list[dict[str, Any]]] = {}
    with (data_dir / "messages.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            item = json.loads(line)
            corpus[item["id"]] = item
            conversations.setdefault(item["conversation_id"], []).append(item)
    placed = {
        item["id"]: message
        for conversation in conversations.values()
        for item, message in zip(
            sorted(conversation, key=lambda m: m["position"]), _placed(conversation), strict=True
        )
    }
    found: list[Labelled] = []
    skipped: Counter[str] = Counter()
    seen: set[str] = set()
    for path in sorted(labels_dir.glob("*.jsonl")):
        split = "dev" if path.name.startswith("dev-") else "held_out"
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                label = json.loads(line)
                item = corpus.get(label["id"])
                if (
                    label["id"] in seen
                ):  # labelled twice (the agreement overlap): the first file's label counts
                    skipped["second_label"] += 1
                elif item is None:
                    skipped["text_missing"] += 1
                elif _sha1(item["text"]) != label["text_sha1"]:
                    skipped["text_changed"] += 1
                elif label.get("unusable"):
                    skipped["unusable"] += 1
                else:
                    found.append(
                        Labelled(
                            id=label["id"],
                            lang=item["lang"],
                            channel=item["channel"],
                            text=item["text"],
                            context=tuple(
                                placed[m["id"]]
                                for m in sorted(
                                    conversations[item["conversation_id"]], key=lambda m: m["position"]
                                )
                                if m["position"] < item["position"]
                            ),
                            side=placed[item["id"]].side,
                            sent_at=placed[item["id"]].sent_at,
                            needs_reply=bool(label["needs_reply"]),
                            ack=bool(label["ack"]),
                            signals=frozenset(label.get("signals") or ()),
                            split=split,
                        )
                    )
                    seen.add(label["id"])
    return found, dict(skipped)


def _placed(conversation: list[dict[str, Any]]) -> list[Context]:
    """The messages of one conversation in order, each with its side and time (see the module docstring)."""
    ordered = sorted(conversation, key=lambda m: m["position"])
    opener = ordered[0]
    vendor_opened = opener.get("author_role") in _VENDOR_ROLES
    found: list[Context] = []
    for message in ordered:
        if message.get("author_role") in _VENDOR_ROLES:
            side = "vendor"
        elif vendor_opened or message["author_key"] == opener["author_key"]:
            side = "company"
        else:
            side = "vendor"
        sent_at = dt.datetime.fromisoformat(message["sent_at"]) if message.get("sent_at") else None
        if found and (sent_at is None or sent_at <= found[-1].sent_at):
            sent_at = found[-1].sent_at + dt.timedelta(minutes=1)
        elif sent_at is None:
            sent_at = AS_OF - dt.timedelta(days=30)
        found.append(Context(channel=message["channel"], text=message["text"], side=side, sent_at=sent_at))
    return found


def new_text(item: Labelled | Context) -> str:
    """What production reads: the new text of an email (quotes, signature removed), a chat message as written."""
    return extract_new_text(item.text) if item.channel == "email" else item.text


def classify(items: Iterable[Labelled]) -> dict[str, dict[str, Any]]:
    """Verdicts of one real build, by message id: asks, is_acknowledgement, reason, signals."""
    items = list(items)
    rows = []
    for i, item in enumerate(items):
        # Each labelled message ends a conversation of its own (c{i}) holding what came before it in its real one,
        # so that two labelled messages of one conversation are each judged on what preceded them only.
        for j, earlier in enumerate(item.context):
            rows.append(_row(f"p{i}_{j}", f"c{i}", earlier.sent_at, earlier.side, new_text(earlier)))
        rows.append(_row(f"m{i}", f"c{i}", item.sent_at, item.side, new_text(item)))
    config = Config.model_validate(_CONFIG)
    with open_writer(":memory:") as con:
        con.executemany(  # every message is email, so that it is counted for the vendor
            "INSERT INTO core.messages (message_key, channel, source, conversation_key, sent_at, sender, recipients, "
            "body_text, is_automated, content_hash, raw_ref, ingested_at) "
            "VALUES (?, 'email', 'eval', ?, ?, ?, ?, ?, false, '', 'eval', now())",
            rows,
        )
        build_marts(con, config, AS_OF)
        asks = {
            key: (asks, ack, reason)
            for key, asks, ack, reason in con.execute(
                "SELECT message_key, asks, is_acknowledgement, reason FROM staging.stg_message_requests"
            ).fetchall()
        }
        signals: dict[str, set[str]] = {}
        for key, signal in con.execute("SELECT message_key, signal FROM marts.message_signals").fetchall():
            signals.setdefault(key, set()).add(signal)
    verdicts = {}
    for i, item in enumerate(items):
        key = f"m{i}"
        ask, ack, reason = asks[key]
        verdicts[item.id] = {"asks": ask, "ack": ack, "reason": reason, "signals": signals.get(key, set())}
    return verdicts


def _row(key: str, conversation: str, sent_at: dt.datetime, side: str, text: str) -> list[Any]:
    """A core.messages row: the vendor's message, or the company's addressed to the vendor."""
    other = "company" if side == "vendor" else "vendor"
    return [key, conversation, sent_at, _ADDRESSES[side], [_ADDRESSES[other]], text]


def score(items: list[Labelled], verdicts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Precision, recall and F1 of needs-reply, acknowledgements and each signal: held out (overall and per
    language), and on the development split."""
    result: dict[str, Any] = {
        "messages": len(items),
        "by_split": dict(Counter(i.split for i in items)),
        "by_language": dict(Counter(i.lang for i in items)),
    }
    held_out = [i for i in items if i.split == "held_out"]
    groups = {
        "held_out": held_out,
        **{
            f"held_out_{lang}": [i for i in held_out if i.lang == lang]
            for lang in sorted({i.lang for i in items})
        },
        "dev": [i for i in items if i.split == "dev"],
    }
    for name, group in groups.items():
        needs, ack = Score(), Score()
        signals = {s: Score() for s in SIGNALS}
        for item in group:
            verdict = verdicts[item.id]
            needs.add(verdict["asks"], item.needs_reply)
            ack.add(verdict["ack"], item.ack)
            for signal in SIGNALS:
                signals[signal].add(signal in verdict["signals"], signal in item.signals)
        result[name] = {
            "needs_reply": needs.as_dict(),
            "acknowledgement": ack.as_dict(),
            "signals": {s: sc.as_dict() for s, sc in signals.items()},
        }
    return result


def errors(items: list[Labelled], verdicts: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every disagreement on the development split, with the text, for the developer's eyes only (kept outside
    the repository); held-out errors are not shown, so that the rules are not tuned on them."""
    found = []
    for item in items:
        if item.split != "dev":
            continue
        verdict = verdicts[item.id]
        wrong = []
        if verdict["asks"] != item.needs_reply:
            wrong.append("needs_reply")
        if verdict["ack"] != item.ack:
            wrong.append("ack")
        wrong += [f"signal:{s}" for s in SIGNALS if (s in verdict["signals"]) != (s in item.signals)]
        if wrong:
            found.append(
                {
                    "id": item.id,
                    "wrong": wrong,
                    "label": {
                        "needs_reply": item.needs_reply,
                        "ack": item.ack,
                        "signals": sorted(item.signals),
                    },
                    "verdict": {**verdict, "signals": sorted(verdict["signals"])},
                    "new_text": new_text(item)[:1500],
                }
            )
    return found


def agreement(labels_dir: Path = LABELS_DIR) -> dict[str, Any]:
    """How far two labellers agree on the messages both labelled (each batch shares 30 with another):
    Cohen's kappa for needs-reply and acknowledgements, and per signal the share of messages where both said
    the same (with how many either labeller flagged)."""
    by_id: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(labels_dir.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    label = json.loads(line)
                    by_id.setdefault(label["id"], []).append(label)
    pairs = [
        (labels[0], labels[1])
        for labels in by_id.values()
        if len(labels) >= 2 and not (labels[0].get("unusable") or labels[1].get("unusable"))
    ]
    result: dict[str, Any] = {"messages": len(pairs)}
    for field in ("needs_reply", "ack"):
        result[field] = _kappa([(bool(a[field]), bool(b[field])) for a, b in pairs])
    result["signals"] = {}
    for signal in SIGNALS:
        flags = [(signal in (a.get("signals") or ()), signal in (b.get("signals") or ())) for a, b in pairs]
        result["signals"][signal] = {
            "either": sum(1 for x, y in flags if x or y),
            "both": sum(1 for x, y in flags if x and y),
        }
    return result


def _kappa(pairs: list[tuple[bool, bool]]) -> float | None:
    """Cohen's kappa of two labellers' yes/no decisions."""
    n = len(pairs)
    if not n:
        return None
    observed = sum(1 for a, b in pairs if a == b) / n
    p_a, p_b = sum(a for a, _ in pairs) / n, sum(b for _, b in pairs) / n
    expected = p_a * p_b + (1 - p_a) * (1 - p_b)
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)
