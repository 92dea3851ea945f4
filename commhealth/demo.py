"""`commhealth demo` and `commhealth status`: generate, ingest and show, with queries a newcomer can copy."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from commhealth.config import load_config
from commhealth.demo_data import write_demo_dataset
from commhealth.ingest import configured_paths, ingest
from commhealth.metrics import build
from commhealth.report import print_status, print_summary


def run_demo(target: Path, *, seed: int, console: Console) -> None:
    dataset = write_demo_dataset(target, seed=seed)
    console.print(f"Demo dataset written to {target}/ ({dataset.messages_written:,} messages, seed {seed}).")
    config = load_config(dataset.config_path)
    stats = ingest(
        config,
        console,
        mail=configured_paths(config, "mbox"),
        slack_exports=configured_paths(config, "slack_export"),
    )
    print_summary(stats, console)
    counts = build(config, dataset.as_of)
    console.print(
        f"Built the marts as of {dataset.as_of.isoformat()} (the end of the demo's last day): "
        f"{counts['responses']:,} responses, {counts['awaiting']:,} awaiting, "
        f"{counts['message_signals']:,} signals."
    )
    print_status(config.warehouse.published_path, console)
    console.print(
        f"Explore it yourself: [bold]duckdb {config.warehouse.published_path}[/] "
        "(the published read-only copy; the writer keeps the other file)."
    )
