"""The `commhealth` command line."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from commhealth.feedback import FeedbackError
from commhealth.report import print_summary
from ground.config import Config, ConfigError, load_config
from transforms.lexicon import LexiconError
from warehouse.db import WarehouseBusyError, WarehouseFileError
from warehouse.load import LoadStats
from warehouse.session import WarehouseOutOfMemoryError

if TYPE_CHECKING:
    import duckdb

# Prefect's temporary local server would otherwise send usage analytics.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

_HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}  # sub-commands inherit them
app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    context_settings=_HELP_OPTIONS,
    help="Vendor communication health from email and Slack.",
)
ingest_app = typer.Typer(no_args_is_help=True, help="Read messages into the warehouse.")
app.add_typer(ingest_app, name="ingest")
dismiss_app = typer.Typer(
    no_args_is_help=True,
    help="Dismiss false alerts and overdue items, mark messages not a request (applied by the next build).",
)
app.add_typer(dismiss_app, name="dismiss")

console = Console()
err_console = Console(stderr=True)


class _State:
    config_path: Path | None = None


# Mistakes users can make whose message already says what to do, with their exit codes (see README, Exit codes).
USER_ERRORS: dict[type[Exception], int] = {
    ConfigError: 2,
    FeedbackError: 2,
    LexiconError: 2,
    WarehouseFileError: 2,
    WarehouseBusyError: 3,
    WarehouseOutOfMemoryError: 1,
}
NOTHING_INGESTED = (
    "nothing ingested yet; run `commhealth ingest mbox|slack-export PATH...` or `commhealth ingest all` first"
)


def print_error(message: str, label: str = "error") -> None:
    """One line on stderr. Escaped: messages name config tables and keys ([sources.slack], a pattern such as
    [a-z0-9]) that rich would otherwise take for markup and drop."""
    err_console.print(f"[bold red]{label}:[/] {escape(message)}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    print_error(message)
    return typer.Exit(code)


def config() -> Config:
    return load_config(_State.config_path)  # a ConfigError is reported by main()


def config_with_lexicon() -> Config:
    """The config, its extra lexicon read and checked: a broken one is a config mistake, told before any work."""
    from transforms.lexicon import load_entries

    cfg = config()
    load_entries(cfg)
    return cfg


def _print_version(asked: bool) -> None:
    if asked:
        console.print(f"commhealth {importlib.metadata.version('commhealth')}", highlight=False)
        raise typer.Exit()


@app.callback()
def main_options(
    config_path: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="commhealth.toml to use (default: $COMMHEALTH_CONFIG, else ./commhealth.toml).",
        ),
    ] = None,
    _version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_print_version, help="Show the version and exit."),
    ] = False,
) -> None:
    _State.config_path = config_path


def _ingest_files(
    cfg: Config,
    mail: list[Path],
    slack_exports: list[Path],
    live: list[str] = (),
    *,
    teams_files: list[Path] = (),
    empty_mail_is_a_problem: bool = True,
) -> None:
    """Ingest what can be read; each input that cannot (missing, not an export, no mail in it) gets its own
    line and, once the others are stored, a non-zero exit."""
    missing = [p for p in [*mail, *slack_exports, *teams_files] if not p.exists()]
    for path in missing:
        print_error(f"no such file or folder: {path}")
    mail = [p for p in mail if p not in missing]
    slack_exports = [p for p in slack_exports if p not in missing]
    teams_files = [p for p in teams_files if p not in missing]
    problems: list[str] = []
    if mail or slack_exports or teams_files or live:
        problems = _run_ingest(
            cfg,
            mail=mail,
            slack_exports=slack_exports,
            teams_files=teams_files,
            live=live,
            empty_mail_is_a_problem=empty_mail_is_a_problem,
        ).problems
    for line in problems:
        print_error(line)
    if missing or problems:
        raise typer.Exit(2)


def _run_ingest(
    cfg: Config,
    *,
    mail: list[Path] = (),
    slack_exports: list[Path] = (),
    teams_files: list[Path] = (),
    live: list[str] = (),
    empty_mail_is_a_problem: bool = True,
) -> LoadStats:
    from connectors.base import SourceAuthError, SourceError
    from flows.ingest import ingest
    from ground.secrets import SecretUnavailableError

    try:
        stats = ingest(
            cfg,
            err_console,
            mail=list(mail),
            slack_exports=list(slack_exports),
            teams_files=list(teams_files),
            live=list(live),
            empty_mail_is_a_problem=empty_mail_is_a_problem,
        )
    except WarehouseBusyError as exc:
        raise fail(f"{exc} Staged data waits for the next run.", code=3) from None
    except (SourceAuthError, SecretUnavailableError) as exc:
        raise fail(str(exc)) from None
    except SourceError as exc:
        raise fail(f"{exc} (what was read so far is stored; run again to resume)", code=1) from None
    print_summary(stats, console)
    console.print(
        f"Warehouse: {cfg.warehouse.path}  (analysts open {cfg.warehouse.published_path})", markup=False
    )
    return stats


@ingest_app.command("mbox")
def ingest_mbox(
    paths: Annotated[
        list[Path], typer.Argument(help="mbox files, maildir folders, .eml files or folders of them.")
    ],
) -> None:
    """Read email from files."""
    _ingest_files(config(), mail=paths, slack_exports=[])


@ingest_app.command("slack-export")
def ingest_slack_export(
    paths: Annotated[list[Path], typer.Argument(help="Slack export folders or .zip files.")],
) -> None:
    """Read a standard Slack export."""
    _ingest_files(config(), mail=[], slack_exports=paths)


@ingest_app.command("teams-export")
def ingest_teams_export(
    paths: Annotated[
        list[Path],
        typer.Argument(help="JSON files saved from the Teams export APIs (or folders of them)."),
    ],
) -> None:
    """Read saved Microsoft Teams messages (Graph chatMessage JSON)."""
    _ingest_files(config(), mail=[], slack_exports=[], teams_files=paths)


def _run_live(name: str) -> None:
    cfg = config()
    if getattr(cfg.sources, name) is None:
        raise fail(f"{cfg.source_file}: no [sources.{name}] section; see the README, Live sources")
    _run_ingest(cfg, live=[name])


@ingest_app.command("slack")
def ingest_slack() -> None:
    """Pull new messages from the vendors' Slack channels (Web API, incremental)."""
    _run_live("slack")


@ingest_app.command("exchange")
def ingest_exchange() -> None:
    """Pull new mail from Exchange Server mailboxes (EWS, incremental)."""
    _run_live("exchange")


@ingest_app.command("graph")
def ingest_graph() -> None:
    """Pull new mail from Exchange Online mailboxes (Microsoft Graph delta, incremental)."""
    _run_live("graph")


@ingest_app.command("teams")
def ingest_teams() -> None:
    """Pull new Microsoft Teams messages: users' chats and teams' channels (Graph export APIs, incremental)."""
    _run_live("teams")


@ingest_app.command(
    "all",
    help=escape(
        "Read every configured source: files ([sources.mbox], [sources.slack_export], [sources.teams_export]) "
        "and live ones."
    ),
)
def ingest_all() -> None:
    from flows.ingest import configured_live_sources, configured_paths

    cfg = config()
    mail = configured_paths(cfg, "mbox")
    exports = configured_paths(cfg, "slack_export")
    teams_files = configured_paths(cfg, "teams_export")
    live = configured_live_sources(cfg)
    if not mail and not exports and not teams_files and not live:
        raise fail(f"{cfg.source_file}: no sources configured (see [sources.*] in the README)")
    _ingest_files(
        cfg,
        mail=mail,
        slack_exports=exports,
        live=live,
        teams_files=teams_files,
        empty_mail_is_a_problem=False,
    )


@app.command()
def build(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="ISO 8601 instant to compute as of (default: now). No offset: company time zone; "
            "a date alone: the whole day.",
        ),
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full", help="Recompute every conversation, not only those touched since the last build."
        ),
    ] = False,
) -> None:
    """Rebuild the metric marts from core.messages; messages after --as-of are ignored."""
    from transforms.build import parse_as_of, run_build

    cfg = config_with_lexicon()
    try:
        instant = parse_as_of(as_of, cfg)
    except ValueError as exc:
        raise fail(str(exc)) from None
    if not cfg.warehouse.path.exists():  # before building would make an empty warehouse
        raise fail(NOTHING_INGESTED)
    counts = run_build(cfg, instant, full=full)
    if not counts["messages"]:
        raise fail(NOTHING_INGESTED)
    mode = (
        "full"
        if counts.get("full_build")
        else f"incremental, {counts.get('scope_conversations', 0):,} conversations"
    )
    console.print(
        f"Built marts ({mode}) as of {instant.isoformat()}: "
        + ", ".join(
            f"{counts[t]:,} {t}" for t in ("responses", "awaiting", "message_signals", "vendor_daily")
        )
    )
    console.print(f"Analysts open {cfg.warehouse.published_path}", markup=False)


@app.command()
def run(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Report as of this instant (default: end of the last company working day)."
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Render the digest but post nothing.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Post again what was already posted for that day.")
    ] = False,
) -> None:
    """Run the daily flow once: ingest, build, alerts, digest."""
    from flows.ingest import selected_sources

    cfg = config_with_lexicon()
    if as_of:
        from transforms.build import parse_as_of

        try:
            parse_as_of(as_of, cfg)
        except ValueError as exc:
            raise fail(str(exc)) from None
    if not selected_sources(cfg, None) and not cfg.warehouse.path.exists():
        raise fail(f"{cfg.source_file}: no [sources.*] configured, and {NOTHING_INGESTED}")
    from flows.daily import daily

    _start_prefect()
    try:
        result = daily(as_of=as_of, dry_run=dry_run, force=force, config=str(cfg.source_file))
    except WarehouseBusyError as exc:
        raise fail(str(exc), code=3) from None
    except Exception as exc:  # noqa: BLE001 - the flow logged the details; say it failed in one line
        raise fail(f"the daily run failed: {exc}", code=1) from None
    if result["dry_run"]:
        console.print(result["digest_text"], highlight=False, markup=False)
    console.print(
        f"Digest of {result['day']}: {result['status']}. Block Kit JSON: {result['digest_json']}",
        markup=False,
    )
    for line in result["posted"]:
        console.print(f"posted: {line}", markup=False)
    if not result["marts"]["messages"]:
        raise fail(NOTHING_INGESTED)


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="Random seed of the generated dataset.")] = 7,
    target: Annotated[Path, typer.Option(help="Where to write the demo dataset and its warehouse.")] = Path(
        "demo"
    ),
) -> None:
    """Write the demo dataset (over an earlier demo's, from scratch), ingest it, and show what is there."""
    from commhealth.demo import run_demo
    from commhealth.demo_data import DemoTargetError, check_demo_target

    try:
        check_demo_target(target)  # before Prefect's server starts: a wrong --target is a one-line answer
    except DemoTargetError as exc:
        raise fail(str(exc)) from None
    _start_prefect()
    try:
        run_demo(target, seed=seed, console=console)
    except DemoTargetError as exc:
        raise fail(str(exc)) from None
    except tuple(USER_ERRORS):
        raise
    except Exception as exc:  # noqa: BLE001 - the flow logged the details; say it failed in one line
        raise fail(f"the demo failed: {exc}", code=1) from None


# Prefect gives its temporary server 20 s to start by default, which a busy machine exceeded (issue 11); 180 s is
# what our flow tests give Prefect's test harness.
EPHEMERAL_STARTUP_SECONDS = 180


def _start_prefect() -> None:
    """Start Prefect's temporary server now, unless PREFECT_API_URL names a running one, so that a slow start is
    reported as such. PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, when the user set it, wins over our
    longer default."""
    from prefect import get_client
    from prefect.settings import (
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
        get_current_settings,
        temporary_settings,
    )

    ephemeral = get_current_settings().server.ephemeral
    chosen = "startup_timeout_seconds" in ephemeral.model_fields_set
    updates = {} if chosen else {PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: EPHEMERAL_STARTUP_SECONDS}
    with temporary_settings(updates=updates):
        try:
            get_client(sync_client=True)  # starts the temporary server when no API URL is set
        except RuntimeError:
            waited = PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
            raise fail(
                f"Prefect's temporary server did not start within {waited} s; run `prefect server start` "
                "elsewhere and point commhealth at it with PREFECT_API_URL=http://127.0.0.1:4200/api, or allow "
                "more time with PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",
                code=1,
            ) from None


@app.command()
def status() -> None:
    """What the warehouse holds: messages by source, side and vendor, and quarantine by reason."""
    from commhealth.report import print_status

    if not print_status(_published_copy(config()), console):
        print_error(NOTHING_INGESTED, label="note")  # the empty tables are the truth: exit 0


def _published_copy(cfg: Config) -> Path:
    if not cfg.warehouse.published_path.exists():
        raise fail(f"no published warehouse at {cfg.warehouse.published_path}; run an ingest first")
    return cfg.warehouse.published_path


@app.command()
def sql(
    query: Annotated[
        str | None,
        typer.Argument(help="SQL to run (default: what is piped in, else an interactive prompt)."),
    ] = None,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="Write CSV with every row instead of a table.")
    ] = False,
) -> None:
    """Read-only SQL on the analysts' published copy: a prompt, or the query given or piped in."""
    import duckdb

    from commhealth.sql_shell import interactive, one_line, run_script
    from warehouse.db import open_reader

    path = _published_copy(config())
    try:
        con = open_reader(path)
    except duckdb.Error as exc:
        raise fail(f"cannot open {path}: {one_line(exc)}", code=1) from None
    try:
        if query is None and sys.stdin.isatty():
            console.print(f"Read-only SQL on {path}.", highlight=False)
            interactive(con, console, err_console, sys.stdout, as_csv=as_csv)
        else:
            run_script(con, sys.stdin.read() if query is None else query, console, sys.stdout, as_csv=as_csv)
    except duckdb.Error as exc:
        raise fail(one_line(exc)) from None
    finally:
        con.close()


NoteOption = Annotated[
    str | None, typer.Option("--note", help="Why, in your words (shown by `dismiss list`).")
]
AuthorOption = Annotated[str | None, typer.Option("--author", help="Who decides (default: the OS user).")]


def _record_decision(
    command: str, decide: Callable[[duckdb.DuckDBPyConnection], int | None], done: str
) -> None:
    """Run one decision in a writing session (which publishes), then say what was recorded."""
    from warehouse.session import writing

    cfg = config()
    if not cfg.warehouse.path.exists():
        raise fail(NOTHING_INGESTED)
    with writing(cfg, command) as (con, run):
        decision_id = decide(con)
        run.detail["feedback_id"] = decision_id
    prefix = f"Decision {decision_id}: " if decision_id is not None else ""
    console.print(f"{prefix}{done}; the next `commhealth build` applies it.", markup=False, highlight=False)


def _author(author: str | None) -> str:
    import getpass

    return author or getpass.getuser()


@dismiss_app.command("alert")
def dismiss_alert(
    vendor: Annotated[str, typer.Argument(help="The vendor id of the alert.")],
    rule: Annotated[str, typer.Argument(help="The alert rule, e.g. latency_drift.")],
    until: Annotated[
        str | None,
        typer.Option(
            "--until", help="Last report day (YYYY-MM-DD) to dismiss it; default: until it changes."
        ),
    ] = None,
    note: NoteOption = None,
    author: AuthorOption = None,
) -> None:
    """Dismiss a vendor's alert: until it changes (turns critical or starts again), or through --until."""
    from commhealth.feedback import dismiss_alert as record

    try:
        last_day = dt.date.fromisoformat(until) if until else None
    except ValueError:
        raise fail(f"--until {until!r} is not a date (YYYY-MM-DD)") from None
    vendor_ids = [v.id for v in config().vendors]
    _record_decision(
        "dismiss alert",
        lambda con: record(con, vendor_ids, vendor, rule, until=last_day, author=_author(author), note=note),
        f"{rule} of {vendor} dismissed" + (f" through {last_day}" if last_day else " until it changes"),
    )


@dismiss_app.command("item")
def dismiss_item(
    message_key: Annotated[
        str, typer.Argument(help="The message that asked (an overdue item's evidence key).")
    ],
    note: NoteOption = None,
    author: AuthorOption = None,
) -> None:
    """Dismiss one overdue item for as long as it waits."""
    from commhealth.feedback import dismiss_item as record

    _record_decision(
        "dismiss item",
        lambda con: record(con, message_key, author=_author(author), note=note),
        f"item {message_key} dismissed",
    )


@dismiss_app.command("message")
def dismiss_message(
    message_key: Annotated[str, typer.Argument(help="The message (core.messages.message_key).")],
    not_a_request: Annotated[
        bool, typer.Option("--not-a-request", help="It asks nothing: its turn opens no response clock.")
    ] = False,
    note: NoteOption = None,
    author: AuthorOption = None,
) -> None:
    """Mark a message not a request (--not-a-request)."""
    from commhealth.feedback import mark_not_a_request

    if not not_a_request:
        raise fail("say what the message is: --not-a-request")
    _record_decision(
        "dismiss message",
        lambda con: mark_not_a_request(con, message_key, author=_author(author), note=note),
        f"message {message_key} marked not a request",
    )


@dismiss_app.command("undo")
def dismiss_undo(
    decision_id: Annotated[int, typer.Argument(help="The decision id (`commhealth dismiss list`).")],
    author: AuthorOption = None,
) -> None:
    """Undo a decision (it stays in meta.feedback, revoked)."""
    from commhealth.feedback import undo

    _record_decision(
        "dismiss undo",
        lambda con: undo(con, decision_id, author=_author(author)),
        f"decision {decision_id} undone",
    )


@dismiss_app.command("list")
def dismiss_list() -> None:
    """The decisions in force."""
    from rich.table import Table

    from commhealth.feedback import LIST_COLUMNS, active_decisions
    from warehouse.db import open_reader

    con = open_reader(_published_copy(config()))
    try:
        rows = active_decisions(con)
    finally:
        con.close()
    if not rows:
        console.print("No decisions in force.")
        return
    table = Table(*LIST_COLUMNS)
    for row in rows:
        table.add_row(*(escape(str(value)) for value in row))
    console.print(table)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted; batches already committed are kept")
        sys.exit(130)
    except tuple(USER_ERRORS) as exc:
        print_error(str(exc))
        sys.exit(next(code for kind, code in USER_ERRORS.items() if isinstance(exc, kind)))
