"""Scenarios as data: the vendors of a synthetic dataset, how each relationship behaves over time, and the ground
truth written beside the generated files (`scenario.json`).

A `Scenario` is a list of `VendorSpec`s over a period. Each spec has
- a **profile**: who the vendor is (time zone, calendar with its holidays and closures, language, mail client,
  share of Slack, volume);
- a **baseline** `Behaviour`: how the relationship runs while healthy. Confounder presets shape it (a structurally
  slow vendor, an FYI-heavy one that mostly posts statements, a low-volume one); a closure week is a `closures`
  entry of the profile's calendar, declared in the config like any closure;
- at most one **degradation**: a kind and an onset date, from which the behaviour changes (`DEGRADATIONS`).

`commhealth.demo_data` generates the messages of a scenario; `demo_scenario` is the demo's. The same dictionary
shape serves a scenario file given to `python -m bench.eval --scenario FILE` and the ground truth written beside
the data, which adds the seed, the as_of and each vendor's resolved behaviour before and after its onset.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MON_FRI = WEEKDAYS[:5]
MON_SAT = WEEKDAYS[:6]
DEMO_END = dt.date(2026, 11, 20)
DEMO_WEEKS = 10


@dataclasses.dataclass(frozen=True)
class VendorProfile:
    """Static description of one vendor; people are (first, last, title), the last one is their manager."""

    id: str
    name: str
    domain: str
    team_id: str
    timezone: str
    holidays: str
    business_hours: tuple[str, ...]
    workdays: tuple[str, ...]
    language: str  # "en", "fr" or "mix" (English with some French conversations)
    client: str  # "gmail_en", "gmail_fr", "outlook_en", "outlook_fr"
    people: tuple[tuple[str, str, str], ...]
    slack_share: float = 0.3
    weight: float = 1.0  # conversations relative to the other vendors
    closures: tuple[str, ...] = ()  # ISO dates the vendor is closed, declared in its config calendar


@dataclasses.dataclass(frozen=True)
class Behaviour:
    """How a relationship runs on a given day. Times are business hours of the party that acts; a range
    (low, high) is drawn from uniformly for each message."""

    vendor_slowness: tuple[float, float] = (1.0, 1.0)  # factor on the vendor's answer time
    company_slowness: tuple[float, float] = (1.0, 1.0)  # factor on the company's answer time to this vendor
    trouble: float = 0.05  # chance of each clarification / rework episode in a conversation
    repetition: float = 0.3  # chance that a clarifying answer repeats itself ("as I mentioned")
    escalation: float = 0.01  # chance that a request chased to the end is escalated to a manager
    vendor_ignores: float = 0.0  # share of the company's requests the vendor never answers
    company_ignores: float = 0.0  # share of the vendor's requests the company never answers
    patience: tuple[float, float] = (8.0, 16.0)  # hours the asking side waits before it chases
    max_nudges: int = 2  # chasers per unanswered request
    volume: float = 1.0  # conversations started, relative to the profile's weight
    vendor_initiated: float = 0.2  # share of conversations the vendor starts
    notices: float = 0.45  # share of the vendor's conversations that are statements (notices, weekly reports)


def _scaled(span: tuple[float, float], low: float, high: float) -> tuple[float, float]:
    return (round(span[0] * low, 3), round(span[1] * high, 3))


# Confounders: healthy, stable traits that a naive rule could take for trouble. closure_week needs closures in the
# profile (the calendar does the rest: no work, no business minutes counted, an auto-reply to mail).
CONFOUNDERS: dict[str, dict[str, Any]] = {
    "structurally_slow": {"vendor_slowness": (2.2, 2.8)},  # median answer 2-3x the others', every week
    "closure_week": {},
    "fyi_heavy": {"vendor_initiated": 0.6, "notices": 0.85},  # mostly statements that need no reply
    "low_volume": {"volume": 0.15},  # a few messages a week
}

# Degradations: what changes from the onset on, applied to the vendor's baseline. Sizes are meant to be realistic,
# not cartoonish; the healthy noise (an occasional slow answer or clarification) stays.
DEGRADATIONS: dict[str, Callable[[Behaviour], Behaviour]] = {
    # Its answers get 2.5-4x slower; the company's chasing follows from its patience running out.
    "latency": lambda b: dataclasses.replace(b, vendor_slowness=_scaled(b.vendor_slowness, 2.5, 4.0)),
    # More clarification, rework and repetition, from its side and ours.
    "confusion": lambda b: dataclasses.replace(
        b, trouble=max(b.trouble, 0.2), repetition=max(b.repetition, 0.6)
    ),
    # It leaves part of the requests unanswered and starts fewer conversations itself.
    "silence": lambda b: dataclasses.replace(
        b, vendor_ignores=0.4, vendor_initiated=b.vendor_initiated * 0.4, volume=b.volume * 0.85
    ),
    # The company gets slower with this vendor and leaves some of its requests unanswered: the vendor waits on us.
    "our_side": lambda b: dataclasses.replace(
        b,
        company_slowness=_scaled(b.company_slowness, 2.5, 4.0),
        company_ignores=0.25,
        volume=b.volume * 0.85,
    ),
    # Answers stall somewhat and the company chases hard: sooner, more often, escalating.
    "chasing": lambda b: dataclasses.replace(
        b,
        vendor_slowness=_scaled(b.vendor_slowness, 1.4, 2.0),
        patience=(3.0, 6.0),
        max_nudges=3,
        escalation=0.25,
    ),
}


@dataclasses.dataclass(frozen=True)
class Degradation:
    kind: str  # a key of DEGRADATIONS
    onset: dt.date  # company-local date from which the behaviour changes


@dataclasses.dataclass(frozen=True)
class VendorSpec:
    profile: VendorProfile
    baseline: dict[str, Any] = dataclasses.field(
        default_factory=dict
    )  # Behaviour fields set on top of presets
    confounders: tuple[str, ...] = ()
    degradation: Degradation | None = None

    @property
    def id(self) -> str:
        return self.profile.id

    def healthy(self) -> Behaviour:
        """The baseline behaviour: defaults, then the confounder presets, then the explicit baseline fields."""
        fields: dict[str, Any] = {}
        for name in self.confounders:
            fields.update(CONFOUNDERS[name])
        fields.update(self.baseline)
        return Behaviour(**fields)

    def degraded(self) -> Behaviour | None:
        """The behaviour from the onset on; None for a healthy vendor."""
        return DEGRADATIONS[self.degradation.kind](self.healthy()) if self.degradation else None

    def validate(self) -> None:
        unknown = sorted(set(self.confounders) - set(CONFOUNDERS))
        if unknown:
            raise ValueError(
                f"vendor {self.id}: unknown confounder {unknown[0]!r} (known: {', '.join(CONFOUNDERS)})"
            )
        if "closure_week" in self.confounders and not self.profile.closures:
            raise ValueError(f"vendor {self.id}: closure_week needs the closed dates in profile.closures")
        bad = sorted(set(self.baseline) - {f.name for f in dataclasses.fields(Behaviour)})
        if bad:
            raise ValueError(f"vendor {self.id}: unknown baseline field {bad[0]!r}")
        if self.degradation and self.degradation.kind not in DEGRADATIONS:
            raise ValueError(
                f"vendor {self.id}: unknown degradation kind {self.degradation.kind!r} "
                f"(known: {', '.join(DEGRADATIONS)})"
            )


@dataclasses.dataclass(frozen=True)
class Scenario:
    """Vendors and their behaviour over `days` calendar days ending on `end` (the company's as_of day)."""

    name: str
    end: dt.date
    days: int
    messages_per_day: int
    vendors: tuple[VendorSpec, ...]

    @property
    def start(self) -> dt.date:
        return self.end - dt.timedelta(days=max(1, self.days) - 1)

    def validate(self) -> None:
        ids = [v.id for v in self.vendors]
        if not ids:
            raise ValueError(f"scenario {self.name}: no vendors")
        if len(set(ids)) != len(ids):
            raise ValueError(f"scenario {self.name}: a vendor id is given twice")
        for vendor in self.vendors:
            vendor.validate()

    def to_dict(self) -> dict[str, Any]:
        """The scenario as JSON-ready data; `from_dict` reads it back."""
        return {
            "name": self.name,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "days": self.days,
            "messages_per_day": self.messages_per_day,
            "vendors": [_vendor_dict(v) for v in self.vendors],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        """A scenario from `to_dict`'s shape (a ground truth file too: its computed keys are ignored)."""
        try:
            scenario = cls(
                name=str(data.get("name", "scenario")),
                end=dt.date.fromisoformat(data["end"]),
                days=int(data["days"]),
                messages_per_day=int(data["messages_per_day"]),
                vendors=tuple(_vendor_spec(v) for v in data["vendors"]),
            )
        except KeyError as exc:
            raise ValueError(f"scenario: missing key {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise ValueError(f"scenario: {exc}") from None
        scenario.validate()
        return scenario


def _vendor_dict(spec: VendorSpec) -> dict[str, Any]:
    profile = dataclasses.asdict(spec.profile)
    del profile["id"]
    degradation = spec.degradation
    return {
        "id": spec.id,
        "profile": profile,
        "baseline": dict(spec.baseline),
        "confounders": list(spec.confounders),
        "degradation": {"kind": degradation.kind, "onset": degradation.onset.isoformat()}
        if degradation
        else None,
    }


def _vendor_spec(data: dict[str, Any]) -> VendorSpec:
    profile = dict(data["profile"])
    for key in ("business_hours", "workdays", "closures"):
        if key in profile:
            profile[key] = tuple(profile[key])
    profile["people"] = tuple(tuple(person) for person in profile["people"])
    baseline = {k: tuple(v) if isinstance(v, list) else v for k, v in (data.get("baseline") or {}).items()}
    degradation = data.get("degradation")
    return VendorSpec(
        profile=VendorProfile(id=data["id"], **profile),
        baseline=baseline,
        confounders=tuple(data.get("confounders") or ()),
        degradation=(
            Degradation(degradation["kind"], dt.date.fromisoformat(degradation["onset"]))
            if degradation
            else None
        ),
    )


def ground_truth(scenario: Scenario, *, seed: int, as_of: dt.datetime) -> dict[str, Any]:
    """What scenario.json holds: the scenario, the seed and as_of, and each vendor's resolved behaviour."""
    data = scenario.to_dict()
    data.update(seed=seed, as_of=as_of.isoformat())
    for spec, vendor in zip(scenario.vendors, data["vendors"], strict=True):
        degraded = spec.degraded()
        vendor["behaviour"] = {
            "healthy": dataclasses.asdict(spec.healthy()),
            "degraded": dataclasses.asdict(degraded) if degraded else None,
        }
    return data


# --------------------------------------------------------------------------------------------------------------
# The demo scenario
# --------------------------------------------------------------------------------------------------------------

# fmt: off
KAPPA = VendorProfile(
    id="kappa", name="Kappa Offshore", domain="kappa-offshore.in", team_id="T0KAPPA",
    timezone="Asia/Kolkata", holidays="IN", business_hours=("09:30-18:30",), workdays=MON_FRI,
    language="en", client="gmail_en", slack_share=0.3, weight=1.3,
    people=(("Priya", "Sharma", "Project Manager"), ("Rahul", "Verma", "Tech Lead"),
            ("Anil", "Kumar", "Developer"), ("Deepa", "Nair", "QA Engineer"),
            ("Vikram", "Iyer", "Delivery Manager")),
)
LUMEN = VendorProfile(
    id="lumen", name="Lumen Nearshore", domain="lumen-nearshore.ro", team_id="T0LUMEN",
    timezone="Europe/Bucharest", holidays="RO", business_hours=("09:00-17:30",), workdays=MON_SAT,
    language="mix", client="outlook_en", slack_share=0.5, weight=1.0,
    people=(("Andrei", "Popescu", "Account Manager"), ("Ioana", "Ionescu", "Lead Developer"),
            ("Mihai", "Dumitrescu", "Developer"), ("Elena", "Stan", "Head of Delivery")),
)
ATLAS = VendorProfile(
    id="atlas", name="Atlas Legacy Systems", domain="atlas-legacy.ca", team_id="T0ATLAS",
    timezone="America/Montreal", holidays="CA-QC", business_hours=("08:30-12:00", "13:00-17:00"),
    workdays=MON_FRI, language="fr", client="gmail_fr", slack_share=0.15, weight=0.8,
    people=(("Jean", "Dupont", "Chargé de compte"), ("Marie-Ève", "Tremblay", "Analyste principale"),
            ("Étienne", "Gagnon", "Développeur COBOL"), ("Luc", "Bouchard", "Directeur des opérations")),
)
VINH = VendorProfile(
    id="vinh", name="Vinh Tech Solutions", domain="vinhtech.vn", team_id="T0VINH",
    timezone="Asia/Ho_Chi_Minh", holidays="VN", business_hours=("08:30-12:00", "13:30-17:30"),
    workdays=MON_FRI, language="en", client="outlook_en", slack_share=0.35, weight=0.8,
    people=(("An", "Nguyen", "Project Coordinator"), ("Mai", "Tran", "Senior Developer"),
            ("Duc", "Le", "Tester"), ("Hoa", "Pham", "Delivery Director")),
)
DEMO_VENDORS = (KAPPA, LUMEN, ATLAS, VINH)  # the first four; the synthetic archive starts from them
# fmt: on


def demo_scenario(end: dt.date = DEMO_END, weeks: int = DEMO_WEEKS) -> Scenario:
    """Norelec and twelve vendors: healthy ones (four with a confounder) and five degrading, one of each kind, with
    onsets spread over the last five weeks. Dates are set from `end` (a Friday in the demo)."""

    def before_end(days: int) -> dt.date:
        return end - dt.timedelta(days=days)

    closed = tuple(before_end(d).isoformat() for d in range(18, 13, -1))  # the third week before end's
    # fmt: off
    profiles = {
        "orion": VendorProfile(
            id="orion", name="Orion Mainframe Services", domain="orion-mainframe.pl", team_id="T0ORION",
            timezone="Europe/Warsaw", holidays="PL", business_hours=("08:00-16:00",), workdays=MON_FRI,
            language="en", client="outlook_en", slack_share=0.2, weight=0.8,
            people=(("Piotr", "Nowak", "Account Manager"), ("Anna", "Kowalska", "Mainframe Lead"),
                    ("Tomasz", "Wiśniewski", "COBOL Developer"), ("Marek", "Zieliński", "Delivery Director")),
        ),
        "sigma": VendorProfile(
            id="sigma", name="Sigma Data Maroc", domain="sigmadata.ma", team_id="T0SIGMA",
            timezone="Africa/Casablanca", holidays="MA", business_hours=("09:00-13:00", "14:00-18:00"),
            workdays=MON_FRI, language="fr", client="gmail_fr", slack_share=0.25, weight=0.8, closures=closed,
            people=(("Youssef", "Benali", "Chef de projet"), ("Salma", "El Idrissi", "Ingénieure data"),
                    ("Karim", "Alaoui", "Développeur"), ("Imane", "Tazi", "Directrice technique")),
        ),
        "nimbus": VendorProfile(
            id="nimbus", name="Nimbus Cloud Ops", domain="nimbus-cloudops.pt", team_id="T0NIMBUS",
            timezone="Europe/Lisbon", holidays="PT", business_hours=("09:00-13:00", "14:00-18:00"),
            workdays=MON_FRI, language="en", client="gmail_en", slack_share=0.5, weight=0.9,
            people=(("João", "Ferreira", "Service Delivery Manager"), ("Inês", "Pereira", "SRE"),
                    ("Tiago", "Santos", "Cloud Engineer"), ("Rui", "Martins", "Head of Operations")),
        ),
        "cedar": VendorProfile(
            id="cedar", name="Cedar Analytics", domain="cedar-analytics.tn", team_id="T0CEDAR",
            timezone="Africa/Tunis", holidays="TN", business_hours=("08:30-12:30", "13:30-17:30"),
            workdays=MON_FRI, language="fr", client="gmail_fr", slack_share=0.1, weight=0.8,
            people=(("Amine", "Trabelsi", "Consultant BI"), ("Sarra", "Ben Salah", "Analyste"),
                    ("Nizar", "Mansour", "Directeur associé")),
        ),
        "delta": VendorProfile(
            id="delta", name="Delta Digital Brasil", domain="deltadigital.com.br", team_id="T0DELTA",
            timezone="America/Sao_Paulo", holidays="BR", business_hours=("09:00-18:00",), workdays=MON_FRI,
            language="en", client="outlook_en", slack_share=0.4, weight=1.0,
            people=(("Lucas", "Silva", "Project Manager"), ("Beatriz", "Souza", "Business Analyst"),
                    ("Rafael", "Oliveira", "Developer"), ("Camila", "Costa", "Delivery Director")),
        ),
        "helix": VendorProfile(
            id="helix", name="Helix IT Services", domain="helix-it.ph", team_id="T0HELIX",
            timezone="Asia/Manila", holidays="PH", business_hours=("08:00-17:00",), workdays=MON_SAT,
            language="en", client="gmail_en", slack_share=0.35, weight=1.0,
            people=(("Paolo", "Santos", "Account Manager"), ("Angela", "Reyes", "Team Lead"),
                    ("Miguel", "Cruz", "Developer"), ("Joy", "Bautista", "Operations Head")),
        ),
        "quartz": VendorProfile(
            id="quartz", name="Quartz Consulting", domain="quartz-consulting.es", team_id="T0QUARTZ",
            timezone="Europe/Madrid", holidays="ES", business_hours=("09:00-14:00", "15:00-18:30"),
            workdays=MON_FRI, language="mix", client="outlook_en", slack_share=0.3, weight=0.9,
            people=(("Javier", "García", "Project Lead"), ("Lucía", "Martínez", "Functional Analyst"),
                    ("Pablo", "Sánchez", "Developer"), ("Carmen", "López", "Managing Director")),
        ),
        "polaris": VendorProfile(
            id="polaris", name="Polaris Software", domain="polaris-soft.bg", team_id="T0POLARIS",
            timezone="Europe/Sofia", holidays="BG", business_hours=("09:00-18:00",), workdays=MON_FRI,
            language="en", client="gmail_en", slack_share=0.4, weight=1.0,
            people=(("Georgi", "Ivanov", "Project Manager"), ("Maria", "Petrova", "Tech Lead"),
                    ("Nikolay", "Dimitrov", "Developer"), ("Elena", "Georgieva", "CEO")),
        ),
    }
    # fmt: on
    vendors = (
        VendorSpec(KAPPA, degradation=Degradation("latency", before_end(11))),
        VendorSpec(LUMEN),
        VendorSpec(ATLAS),
        VendorSpec(VINH),
        VendorSpec(profiles["orion"], confounders=("structurally_slow",)),
        VendorSpec(profiles["sigma"], confounders=("closure_week",)),
        VendorSpec(profiles["nimbus"], confounders=("fyi_heavy",)),
        VendorSpec(profiles["cedar"], confounders=("low_volume",)),
        VendorSpec(profiles["delta"], degradation=Degradation("confusion", before_end(23))),
        VendorSpec(profiles["helix"], degradation=Degradation("silence", before_end(16))),
        # A vendor that asks us a lot, so that our own slowness with it shows.
        VendorSpec(
            profiles["quartz"],
            baseline={"vendor_initiated": 0.5, "notices": 0.1},
            degradation=Degradation("our_side", before_end(25)),
        ),
        VendorSpec(profiles["polaris"], degradation=Degradation("chasing", before_end(8))),
    )
    return Scenario("demo", end, weeks * 7, 100, vendors)
