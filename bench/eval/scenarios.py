"""Alerts on generated scenarios: how soon each degradation is flagged, and how often the healthy vendors are.

For each seed, a scenario (the demo's, or one read from a file) is generated into a temporary folder with its
ground truth (scenario.json) and ingested once. Then each company business day of the last `weeks` weeks is built as
of the end of that day, as the daily flow would (incremental builds, day after day), and the vendors' statuses
(marts.digest_vendors) and the alerts that fired (marts.alerts) are read back. The harness decides nothing: the
marts do; it only compares what they say with the ground truth.

- A vendor is **flagged** on a day when its status is warning or critical; `no_data` days are counted apart.
- A **degrading** vendor's delay is the number of company business days from its onset (or the first business day
  after it) to its first flagged day; the rules that fired that day are compared with its kind (KIND_RULES).
- An **our_side** degradation (the company gets slower with a vendor) must not flag the vendor itself: its delay is
  to the first company-side alert ("waiting on us": an alert of marts.alerts whose subject is the company),
  and the share of its days flagged after the onset is reported beside it.
- A **healthy** vendor gives the share of its days not ok (flagged) and critical; the days of degrading vendors
  before their onset are reported apart, as false alarms of another kind.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import duckdb
from rich.console import Console

from commhealth.demo_data import write_scenario_dataset
from commhealth.scenario import Scenario
from flows.ingest import configured_paths, ingest
from ground.config import Config, load_config
from transforms.build import build_marts, parse_as_of
from transforms.calendar import expand_party
from warehouse.session import writing

DEFAULT_SEEDS = (7, 8, 9)
DEFAULT_WEEKS = 5
FLAGGED = ("warning", "critical")
NO_DATA = "no_data"
TARGET_DELAY_DAYS = 2
TARGET_HEALTHY_NOT_OK = 0.05
TARGET_HEALTHY_CRITICAL = 0.01
# The vendor rules of marts.alerts that speak to each kind of degradation. On a degrading vendor's first flagged
# day, "kind matches" when one of them fired.
KIND_RULES = {
    "latency": frozenset({"latency_drift", "vendor_overdue"}),
    "confusion": frozenset({"misunderstanding_spike"}),
    "silence": frozenset({"silence", "vendor_overdue"}),
    "chasing": frozenset({"chasing", "misunderstanding_spike", "vendor_overdue", "latency_drift"}),
    "our_side": frozenset(),  # judged on the alerts whose subject is the company, not on these
}
STRIP = {"ok": ".", "warning": "w", "critical": "C", NO_DATA: "-"}  # one character per day in the report


@dataclasses.dataclass(frozen=True)
class DayView:
    """What the marts say about one vendor on one report day."""

    status: str
    rules: tuple[tuple[str, str, bool], ...]  # (rule, severity, company side), the alerts in force that day

    @property
    def flagged(self) -> bool:
        return self.status in FLAGGED

    def vendor_rules(self) -> list[str]:
        return sorted({rule for rule, _, company in self.rules if not company})

    def company_rules(self) -> list[str]:
        return sorted({rule for rule, _, company in self.rules if company})


def read_day(con: duckdb.DuckDBPyConnection) -> dict[str, DayView]:
    """Every vendor's status and alerts in the marts as just built."""
    statuses = dict(con.execute("SELECT vendor_id, status FROM marts.digest_vendors").fetchall())
    # A resolved row says a rule stopped firing that day; subject 'company' is about our side ("waiting on us").
    rows = con.execute(
        "SELECT vendor_id, rule, severity, subject = 'company' FROM marts.alerts WHERE state <> 'resolved'"
    ).fetchall()
    rules: dict[str, list[tuple[str, str, bool]]] = {}
    for vendor, rule, severity, company in rows:
        rules.setdefault(vendor, []).append((rule, severity, company))
    return {
        vendor: DayView(str(status), tuple(sorted(rules.get(vendor, ()))))
        for vendor, status in statuses.items()
    }


def business_days(config: Config, end: dt.date, weeks: int) -> list[dt.date]:
    """The company's working days of the `weeks` weeks ending on `end`."""
    start = end - dt.timedelta(days=7 * weeks - 1)
    # One row per working interval: a day with a lunch break comes twice.
    return sorted({day for day, _, _ in expand_party(config.company, start, end)})


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def score_vendor(truth: dict[str, Any], days: list[dt.date], views: list[DayView]) -> dict[str, Any]:
    """One vendor of one seed against its ground truth (a vendor entry of scenario.json)."""
    degradation = truth.get("degradation")
    strip = "".join(STRIP.get(v.status, "?") for v in views)
    base: dict[str, Any] = {
        "vendor": truth["id"],
        "confounders": truth.get("confounders") or [],
        "kind": degradation["kind"] if degradation else None,
        "onset": degradation["onset"] if degradation else None,
        "days": len(days),
        "no_data_days": sum(v.status == NO_DATA for v in views),
        "statuses": strip,
    }
    if degradation is None:
        fired = Counter(rule for v in views if v.flagged for rule in v.vendor_rules() + v.company_rules())
        return base | {
            "not_ok_days": sum(v.flagged for v in views),
            "critical_days": sum(v.status == "critical" for v in views),
            "rules_fired": dict(sorted(fired.items())),
        }
    onset = dt.date.fromisoformat(degradation["onset"])
    first = next((i for i, day in enumerate(days) if day >= onset), None)
    before = views[:first] if first is not None else views
    after = views[first:] if first is not None else []
    base |= {
        "onset_index": first,
        "days_before_onset": len(before),
        "flagged_before_onset": sum(v.flagged for v in before),
        "days_after_onset": len(after),
        "flagged_after_onset": sum(v.flagged for v in after),
    }
    if degradation["kind"] == "our_side":
        hit = next((i for i, v in enumerate(after) if v.company_rules()), None)
        rules = after[hit].company_rules() if hit is not None else []
        painted = _share(base["flagged_after_onset"], len(after))
        return base | {
            "delay": hit,
            "rules_first_day": rules,
            "kind_matches": hit is not None and not after[hit].flagged,
            "passed": hit is not None
            and hit <= TARGET_DELAY_DAYS
            and (painted or 0) <= TARGET_HEALTHY_NOT_OK,
        }
    hit = next((i for i, v in enumerate(after) if v.flagged), None)
    rules = after[hit].vendor_rules() + after[hit].company_rules() if hit is not None else []
    return base | {
        "delay": hit,
        "rules_first_day": rules,
        "kind_matches": bool(set(rules) & KIND_RULES[degradation["kind"]]),
        "passed": hit is not None and hit <= TARGET_DELAY_DAYS,
    }


def run_seed(
    scenario: Scenario, seed: int, weeks: int, workdir: Path, say: Callable[[str], None]
) -> dict[str, Any]:
    """Generate, ingest once, build each business day of the last `weeks` weeks; score every vendor."""
    started = time.perf_counter()
    dataset = write_scenario_dataset(workdir / f"seed-{seed}", scenario, seed=seed)
    truth = json.loads(dataset.scenario_path.read_text(encoding="utf-8"))
    config = load_config(dataset.config_path)
    say(f"seed {seed}: {dataset.messages_written:,} messages generated; ingesting")
    ingest(
        config,
        Console(quiet=True),
        mail=configured_paths(config, "mbox"),
        slack_exports=configured_paths(config, "slack_export"),
        publish=False,
    )
    days = business_days(config, scenario.end, weeks)
    views: dict[str, list[DayView]] = {v["id"]: [] for v in truth["vendors"]}
    with writing(config, "eval scenarios", publish=False) as (con, _run):
        for number, day in enumerate(days, 1):
            tick = time.perf_counter()
            build_marts(con, config, parse_as_of(day.isoformat(), config))
            seen = read_day(con)
            for vendor, history in views.items():
                history.append(seen.get(vendor, DayView("missing", ())))
            flagged = sum(seen[v].flagged for v in seen)
            say(
                f"seed {seed}: day {number}/{len(days)} {day} built in {time.perf_counter() - tick:.1f} s, "
                f"{flagged}/{len(seen)} vendors flagged"
            )
    vendors = [score_vendor(v, days, views[v["id"]]) for v in truth["vendors"]]
    return {
        "seed": seed,
        "messages": dataset.messages_written,
        "as_of": truth["as_of"],
        "days": [d.isoformat() for d in days],
        "seconds": round(time.perf_counter() - started, 1),
        "vendors": vendors,
    }


def summarize(seeds: list[dict[str, Any]]) -> dict[str, Any]:
    """Figures over every seed: per vendor, the healthy pool, the degradations, and the targets."""
    rows = [row for seed in seeds for row in seed["vendors"]]
    healthy = [r for r in rows if r["kind"] is None]
    degrading = [r for r in rows if r["kind"] is not None]
    healthy_days = sum(r["days"] for r in healthy)
    not_ok = sum(r["not_ok_days"] for r in healthy)
    critical = sum(r["critical_days"] for r in healthy)
    before_days = sum(r["days_before_onset"] for r in degrading)
    before_flagged = sum(r["flagged_before_onset"] for r in degrading)
    passed = sum(r["passed"] for r in degrading)
    vendors: dict[str, dict[str, Any]] = {}
    for r in rows:
        entry = vendors.setdefault(
            r["vendor"], {"kind": r["kind"], "onset": r["onset"], "confounders": r["confounders"], "seeds": 0}
        )
        entry["seeds"] += 1
        if r["kind"] is None:
            for key in ("days", "no_data_days", "not_ok_days", "critical_days"):
                entry[key] = entry.get(key, 0) + r[key]
        else:
            entry.setdefault("delays", []).append(r["delay"])
            entry.setdefault("kind_matches", []).append(r["kind_matches"])
            entry["passed"] = entry.get("passed", 0) + r["passed"]
            entry["flagged_before_onset"] = entry.get("flagged_before_onset", 0) + r["flagged_before_onset"]
            entry["days_before_onset"] = entry.get("days_before_onset", 0) + r["days_before_onset"]
            entry["flagged_after_onset"] = entry.get("flagged_after_onset", 0) + r["flagged_after_onset"]
            entry["days_after_onset"] = entry.get("days_after_onset", 0) + r["days_after_onset"]
    delays = [r["delay"] for r in degrading if r["delay"] is not None]
    targets = [
        {
            "name": f"degradations flagged within {TARGET_DELAY_DAYS} business days",
            "measured": _share(passed, len(degrading)),
            "count": f"{passed}/{len(degrading)}",
            "target": 1.0,
            "passed": passed == len(degrading),
        },
        {
            "name": "healthy vendor-days not ok",
            "measured": _share(not_ok, healthy_days),
            "count": f"{not_ok}/{healthy_days}",
            "target": TARGET_HEALTHY_NOT_OK,
            "passed": healthy_days > 0 and not_ok / healthy_days <= TARGET_HEALTHY_NOT_OK,
        },
        {
            "name": "healthy vendor-days critical",
            "measured": _share(critical, healthy_days),
            "count": f"{critical}/{healthy_days}",
            "target": TARGET_HEALTHY_CRITICAL,
            "passed": healthy_days > 0 and critical / healthy_days <= TARGET_HEALTHY_CRITICAL,
        },
    ]
    return {
        "targets": targets,
        "healthy_false_alarm_share": _share(not_ok, healthy_days),
        "healthy_critical_share": _share(critical, healthy_days),
        "healthy_no_data_days": sum(r["no_data_days"] for r in healthy),
        "degrading_flagged_before_onset_share": _share(before_flagged, before_days),
        "degradations_detected": len(delays),
        "degradations": len(degrading),
        "median_delay": statistics.median(delays) if delays else None,
        "vendors": vendors,
    }


def evaluate(
    scenario: Scenario,
    seeds: Iterable[int] = DEFAULT_SEEDS,
    weeks: int = DEFAULT_WEEKS,
    workdir: Path | None = None,
    say: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> dict[str, Any]:
    """Run every seed (in `workdir`, else a temporary folder removed afterwards) and summarize."""
    scenario.validate()
    with tempfile.TemporaryDirectory(prefix="commhealth-eval-") as scratch:
        root = workdir or Path(scratch)
        runs = [run_seed(scenario, seed, weeks, root, say) for seed in seeds]
    return {
        "scenario": scenario.name,
        "vendors": len(scenario.vendors),
        "start": scenario.start.isoformat(),
        "end": scenario.end.isoformat(),
        "weeks": weeks,
        "seeds": runs,
        "summary": summarize(runs),
    }


# --------------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _days(part: int, whole: int) -> str:
    return f"{part}/{whole} ({_pct(_share(part, whole))})"


def report_lines(result: dict[str, Any]) -> list[str]:
    """The markdown section of `result` (what `evaluate` returned)."""
    summary, runs = result["summary"], result["seeds"]
    days = runs[0]["days"] if runs else []
    lines = [
        "## Scenarios: alerts against the ground truth",
        "",
        (
            f"Scenario `{result['scenario']}`: {result['vendors']} vendors, {result['start']} to {result['end']}; "
            f"seeds {', '.join(str(r['seed']) for r in runs)}. Each company business day of the last "
            f"{result['weeks']} weeks ({len(days)} days, {days[0] if days else '–'} to {days[-1] if days else '–'}) "
            "built as of its end. Flagged = status warning or critical in marts.digest_vendors (no_data counted "
            "apart); rules from marts.alerts. Delay = business days from the onset to the first flagged day "
            "(our_side: to the first company-side alert, and the vendor itself must stay unflagged)."
        ),
        "",
        "| target | measured | count | target | passed |",
        "|---|---|---|---|---|",
    ]
    for t in summary["targets"]:
        goal = "all" if t["target"] == 1.0 else f"≤ {_pct(t['target'])}"
        lines.append(
            f"| {t['name']} | {_pct(t['measured'])} | {t['count']} | {goal} | {'yes' if t['passed'] else 'no'} |"
        )
    lines += [
        "",
        (
            f"Degrading vendors flagged before their onset: {_pct(summary['degrading_flagged_before_onset_share'])} "
            f"of those days. Healthy vendor-days with no data: {summary['healthy_no_data_days']}."
        ),
        "",
        "### Degrading vendors",
        "",
        (
            "| vendor | kind | onset | delay per seed (business days) | kind matches | flagged before onset "
            "| flagged after onset |"
        ),
        "|---|---|---|---|---|---|---|",
    ]
    vendors = summary["vendors"]
    for name, v in vendors.items():
        if v["kind"] is None:
            continue
        delays = ", ".join("missed" if d is None else str(d) for d in v["delays"])
        matches = ", ".join("yes" if m else "no" for m in v["kind_matches"])
        lines.append(
            f"| {name} | {v['kind']} | {v['onset']} | {delays} | {matches} | "
            f"{_days(v['flagged_before_onset'], v['days_before_onset'])} | "
            f"{_days(v['flagged_after_onset'], v['days_after_onset'])} |"
        )
    lines += [
        "",
        "### Healthy vendors",
        "",
        "| vendor | confounders | not ok | critical | no data |",
        "|---|---|---|---|---|",
    ]
    for name, v in vendors.items():
        if v["kind"] is not None:
            continue
        lines.append(
            f"| {name} | {', '.join(v['confounders']) or '–'} | {_days(v['not_ok_days'], v['days'])} | "
            f"{_days(v['critical_days'], v['days'])} | {v['no_data_days']} |"
        )
    lines += [
        "",
        "### Day by day",
        "",
        (
            "One character per business day: `.` ok, `w` warning, `C` critical, `-` no data; `|` marks the onset. "
            "Rules on the first flagged day (degrading) or fired over the period (healthy, with days)."
        ),
        "",
    ]
    for run in runs:
        lines += [f"Seed {run['seed']} ({run['messages']:,} messages, {run['seconds']} s):", "", "```"]
        width = max(len(r["vendor"]) for r in run["vendors"])
        for r in run["vendors"]:
            strip = r["statuses"]
            if r.get("onset_index") is not None:
                strip = strip[: r["onset_index"]] + "|" + strip[r["onset_index"] :]
            if r["kind"] is None:
                note = ", ".join(f"{rule} {n}" for rule, n in r["rules_fired"].items())
            else:
                note = f"{r['kind']}: " + (", ".join(r["rules_first_day"]) or "not flagged")
            lines.append(f"{r['vendor']:<{width}}  {strip}  {note}")
        lines += ["```", ""]
    return lines
