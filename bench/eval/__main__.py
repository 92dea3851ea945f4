"""`make eval`: the judgement figures, written to bench/results/eval-<date>.md and .json.

- messages: needs-reply, acknowledgements and signals on real messages labelled by people (bench/eval/labels/),
  when the corpus texts are present (bench/eval/SOURCES.md says how to rebuild them; they are not in the repository).
- scenarios: the alerts, day by day, on generated scenarios whose ground truth is known (bench/eval/scenarios.py):
  how soon each degradation is flagged, how often healthy vendors are.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

from bench.eval import messages, scenarios
from commhealth.scenario import Scenario, demo_scenario

RESULTS = Path(__file__).resolve().parents[1] / "results"
DEFAULT_DATA = Path(os.environ.get("COMMHEALTH_EVAL_DATA", "/work/evaldata"))


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _table(title: str, rows: list[tuple[str, dict]]) -> list[str]:
    lines = [
        f"### {title}",
        "",
        "| decision | support | predicted | precision | recall | F1 |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in rows:
        lines.append(
            f"| {name} | {s['support']} | {s['predicted']} | {_fmt(s['precision'])} | {_fmt(s['recall'])} | "
            f"{_fmt(s['f1'])} |"
        )
    return [*lines, ""]


def messages_report(data_dir: Path) -> tuple[dict, list[str]]:
    items, skipped = messages.load_labelled(data_dir)
    verdicts = messages.classify(items)
    result = messages.score(items, verdicts)
    result["skipped"] = skipped
    errors = messages.errors(items, verdicts)
    (data_dir / "errors.jsonl").write_text(
        "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in errors), encoding="utf-8"
    )
    languages = ", ".join(f"{k}: {v}" for k, v in result["by_language"].items())
    splits = ", ".join(f"{k}: {v}" for k, v in result["by_split"].items())
    lines = [
        "## Real messages: needs-reply, acknowledgements, signals",
        "",
        (
            f"{result['messages']} labelled messages ({languages}; {splits}); left out: {skipped or 'none'}. "
            "The held-out figures are the ones to quote: the rules were tuned on the dev split only."
        ),
        "",
    ]
    agreed = messages.agreement()
    result["agreement"] = agreed
    signal_agreement = ", ".join(f"{s} {v['both']}/{v['either']}" for s, v in agreed["signals"].items())
    lines += [
        (
            f"Two labellers on the same {agreed['messages']} messages: Cohen's kappa needs_reply "
            f"{_fmt(agreed['needs_reply'])}, acknowledgement {_fmt(agreed['ack'])}; signals flagged by both / "
            f"by either: {signal_agreement}."
        ),
        "",
    ]
    for group in [g for g in result if g.startswith(("held_out", "dev")) and g != "by_split"]:
        if not isinstance(result[group], dict) or "needs_reply" not in result[group]:
            continue
        scores = result[group]
        rows = [("needs_reply", scores["needs_reply"]), ("acknowledgement", scores["acknowledgement"])]
        rows += [(f"signal: {s}", v) for s, v in scores["signals"].items()]
        lines += _table(f"{group}", rows)
    return result, lines


def _scenario(path: Path | None) -> Scenario:
    """The scenario to evaluate: the demo's, or one from a JSON file (the shape of a scenario.json)."""
    if path is None:
        return demo_scenario()
    try:
        return Scenario.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise ValueError(f"--scenario {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"--scenario {path}: not JSON ({exc})") from None
    except ValueError as exc:
        raise ValueError(f"--scenario {path}: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.eval", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of the rebuilt corpus texts")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--only", choices=("messages", "scenarios"), help="run one section (default: both)")
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=list(scenarios.DEFAULT_SEEDS), help="scenario seeds (7 8 9)"
    )
    parser.add_argument(
        "--weeks",
        type=int,
        default=scenarios.DEFAULT_WEEKS,
        help="weeks of business days built, ending as_of",
    )
    parser.add_argument(
        "--scenario", type=Path, help="a scenario JSON file (the shape of scenario.json); default: the demo's"
    )
    parser.add_argument(
        "--workdir", type=Path, help="keep the generated data and warehouses here (default: a temp folder)"
    )
    args = parser.parse_args(argv)
    try:
        scenario = _scenario(args.scenario) if args.only != "messages" else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.weeks < 1:
        print("error: --weeks must be at least 1", file=sys.stderr)
        return 2
    today = dt.date.today().isoformat()
    report: dict = {"date": today}
    lines = [f"# Judgement figures, {today}", ""]
    if args.only != "scenarios" and (args.data / "messages.jsonl").is_file():
        report["messages"], section = messages_report(args.data)
        lines += section
    elif args.only != "scenarios":
        print(
            f"messages: no corpus at {args.data}/messages.jsonl; rebuild it with `python -m bench.eval.corpus` "
            "(see bench/eval/SOURCES.md) or set COMMHEALTH_EVAL_DATA",
            file=sys.stderr,
        )
    if scenario is not None:
        report["scenarios"] = scenarios.evaluate(scenario, args.seeds, args.weeks, args.workdir)
        lines += scenarios.report_lines(report["scenarios"])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"eval-{today}.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (args.out / f"eval-{today}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
