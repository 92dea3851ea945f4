"""`commhealth demo` and `commhealth status`: generate, ingest and show, with queries a newcomer can copy."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

from commhealth.demo_data import write_demo_dataset
from commhealth.report import print_status
from flows.daily import daily
from ground.config import load_config


def run_demo(target: Path, *, seed: int, console: Console) -> None:
    dataset = write_demo_dataset(target, seed=seed)
    console.print(
        f"Demo dataset written to {target}/ ({dataset.messages_written:,} messages, seed {seed}).",
        markup=False,
    )
    config = load_config(dataset.config_path)
    console.print(
        "Running the daily flow on it (Prefect starts a temporary local server; Slack is a dry run)..."
    )
    result = daily(as_of=dataset.as_of.isoformat(), dry_run=True, config=str(dataset.config_path))
    print_status(config.warehouse.published_path, console)
    console.print(f"\nThe digest for {result['day']} ({result['status']}), as it would be posted to Slack:\n")
    console.print(result["digest_text"], highlight=False, markup=False)
    console.print(f"Block Kit JSON: {result['digest_json']}\nChart: {result['chart']}", markup=False)
    console.print(  # the path is the user's --target: brackets in it are not markup
        f"Explore it yourself: [bold]commhealth --config {escape(str(dataset.config_path))} sql[/] "
        "(read-only SQL on the published copy; the writer keeps the other file)."
    )
