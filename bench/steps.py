"""The benchmark's steps, each run by `bench.run` in a child process: `python -m bench.steps STEP PARAMS RESULT`.

A step reads its parameters from the JSON file PARAMS and writes what it measured to the JSON file RESULT. The
parent process times the child and reads its peak RSS with `os.wait4`, so every step gets its own figure; the
`work_s` a step reports covers its work only, without interpreter start-up and imports.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import itertools
import json
import mailbox
import re
import resource
import shutil
import sys
import time
from collections.abc import Callable
from email.header import decode_header
from email.message import Message
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bench.tree import ProcessTree

if TYPE_CHECKING:
    from ground.config import Config

FLOOR_HEADERS = ("From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References")
DATASET_FILE = "dataset.json"


def _decoded(value: object) -> str:
    """A header value as text: RFC 2047 words decoded with their charset."""
    parts = []
    for chunk, charset in decode_header(str(value)):
        if isinstance(chunk, bytes):
            try:
                chunk = chunk.decode(charset or "ascii", errors="replace")
            except LookupError:
                chunk = chunk.decode("latin-1")
        parts.append(chunk)
    return "".join(parts)


def _text_body(msg: Message) -> str | None:
    """The first text/plain part, transfer-decoded then decoded with its charset."""
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True) or b""
            charset = part.get_content_charset() or "utf-8"
            try:
                return payload.decode(charset, errors="replace")
            except LookupError:
                return payload.decode("latin-1")
    return None


def baseline(params: dict[str, Any]) -> dict[str, Any]:
    """The stdlib baseline: iterate the mbox files with `mailbox`, decode headers and text body, nothing else."""
    messages = chars = 0
    started = time.perf_counter()
    for path in params["mail_paths"]:
        box = mailbox.mbox(path, create=False)
        try:
            for msg in box:
                for name in FLOOR_HEADERS:
                    value = msg.get(name)
                    if value is not None:
                        chars += len(_decoded(value))
                body = _text_body(msg)
                chars += len(body or "")
                messages += 1
        finally:
            box.close()
    return {"work_s": time.perf_counter() - started, "messages": messages, "decoded_chars": chars}


def generate(params: dict[str, Any]) -> dict[str, Any]:
    """Stream the synthetic archive to disk with the demo generator; record where it went. With `increment`, the
    archive's last day is cut out of it into that folder: the history before it, and the day as it comes from one
    continuous history (replies to older threads included)."""
    from commhealth.demo_data import write_synthetic_archive

    target = Path(params["target"])
    started = time.perf_counter()
    dataset = write_synthetic_archive(
        target,
        seed=params["seed"],
        end=dt.date.fromisoformat(params["end"]),
        days=params["days"],
        messages_per_day=params["messages_per_day"],
        mail_mix=params.get("mail_mix", "plain"),
    )
    info = _dataset_info(dataset.config_path, dataset.mail_paths, dataset.slack_export_path, dataset.as_of)
    if params.get("increment"):
        day = dt.date.fromisoformat(params["end"])
        history_as_of = dataset.as_of - dt.timedelta(
            days=(day - dt.date.fromisoformat(params["history_end"])).days
        )
        info, day_info = _cut_last_day(info, Path(params["increment"]), day, history_as_of)
        (Path(params["increment"]) / DATASET_FILE).write_text(json.dumps(day_info, indent=2) + "\n", "utf-8")
        info["increment"] = day_info
    work = time.perf_counter() - started
    (target / DATASET_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return {"work_s": work, **info}


def _dataset_info(config: Path, mail: list[Path], slack: Path, as_of: dt.datetime) -> dict[str, Any]:
    return {
        "config_path": str(config),
        "mail_paths": [str(p) for p in mail],
        "slack_export_path": str(slack),
        "messages_written": _count_messages(mail, slack),
        "as_of": as_of.isoformat(),
        "mbox_bytes": sum(p.stat().st_size for p in mail),
        "slack_export_bytes": sum(p.stat().st_size for p in slack.rglob("*") if p.is_file()),
    }


def _count_messages(mail: list[Path], slack: Path) -> int:
    from connectors.mail.files import split_mbox

    count = 0
    for path in mail:
        with path.open("rb") as fh:
            count += sum(1 for _ in split_mbox(fh))
    for day_file in slack.glob("*/????-??-??.json"):
        count += len(json.loads(day_file.read_text(encoding="utf-8")))
    return count


_DATE_HEADER = re.compile(rb"^Date:[ \t]*(.+?)\r?$", re.MULTILINE | re.IGNORECASE)


def _cut_last_day(
    info: dict[str, Any], folder: Path, day: dt.date, history_as_of: dt.datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Move every message sent on or after `day` (the company's midnight) out of the archive into `folder`: mbox
    messages by their Date, Slack day files (written in the company's zone) by their name."""
    from connectors.mail.files import split_mbox
    from ground.config import load_config

    config_path = Path(info["config_path"])
    config = load_config(config_path)
    cut = dt.datetime.combine(day, dt.time(0), ZoneInfo(config.company.timezone))
    (folder / "mail").mkdir(parents=True, exist_ok=True)
    day_mail = folder / "mail" / f"{day.isoformat()}.mbox"
    with day_mail.open("wb") as out_day:
        for name in info["mail_paths"]:
            path = Path(name)
            kept = path.with_suffix(".history")
            with path.open("rb") as fh, kept.open("wb") as out_history:
                offsets = [offset for offset, _ in split_mbox(fh)] + [path.stat().st_size]
                for start, end in itertools.pairwise(offsets):
                    fh.seek(start)
                    raw = fh.read(end - start)
                    found = _DATE_HEADER.search(raw, 0, raw.find(b"\n\n"))
                    sent = email.utils.parsedate_to_datetime(found[1].decode()) if found else None
                    (out_day if sent is not None and sent >= cut else out_history).write(raw)
            kept.replace(path)
    slack = Path(info["slack_export_path"])
    day_slack = folder / "slack-export"
    day_slack.mkdir(parents=True, exist_ok=True)
    for root_file in slack.glob("*.json"):
        shutil.copy2(root_file, day_slack / root_file.name)
    for day_file in sorted(slack.glob("*/????-??-??.json")):
        if day_file.stem >= day.isoformat():
            (day_slack / day_file.parent.name).mkdir(exist_ok=True)
            day_file.replace(day_slack / day_file.parent.name / day_file.name)
    history = _dataset_info(config_path, [Path(p) for p in info["mail_paths"]], slack, history_as_of)
    one_day = _dataset_info(config_path, [day_mail], day_slack, dt.datetime.fromisoformat(info["as_of"]))
    return history, one_day


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _timed(
    calls: dict[str, float], peaks: dict[str, float], name: str, function: Callable[..., Any]
) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            calls[name] = calls.get(name, 0.0) + time.perf_counter() - started
            peaks[name] = _peak_rss_mb()

    return wrapper


def ingest(params: dict[str, Any]) -> dict[str, Any]:
    """`flows.ingest.ingest` on the given mbox files and Slack exports, with the time and peak RSS at the
    moment the last part was staged (the merge runs alongside staging; what follows is its tail)."""
    from rich.console import Console

    from flows import ingest as ingest_module
    from ground.config import load_config

    config = load_config(params["config_path"])
    split: dict[str, float] = {}
    peaks: dict[str, float] = {}
    # Time the staging side of the real ingest() without changing it: wrap the module functions it calls.
    for name in ("stage_mail", "stage_slack_export"):
        setattr(ingest_module, name, _timed(split, peaks, name, getattr(ingest_module, name)))
    rss_before = _peak_rss_mb()
    started = time.perf_counter()
    with ProcessTree() as tree:  # mail is parsed in worker processes that wait4 does not see
        stats = ingest_module.ingest(
            config,
            Console(quiet=True),
            mail=[Path(p) for p in params.get("mail_paths", [])],
            slack_exports=[Path(p) for p in params.get("slack_exports", [])],
            publish=False,
        )
    work = time.perf_counter() - started
    stage = split.get("stage_mail", 0.0) + split.get("stage_slack_export", 0.0)
    return {
        "work_s": work,
        "publish_s": _publish(config),
        "stage_s": stage,
        "merge_tail_s": work - stage,
        "peak_rss_mb_after_imports": rss_before,
        "peak_rss_mb_after_staging": max(peaks.get("stage_mail", 0.0), peaks.get("stage_slack_export", 0.0)),
        "workers_cpu_s": tree.descendants_cpu_s,
        "peak_pss_mb_all_processes": tree.peak_pss_mb,
        "stats": stats.counts(),
        "warehouse_bytes": config.warehouse.path.stat().st_size,
    }


def build(params: dict[str, Any]) -> dict[str, Any]:
    """`transforms.build.run_build` as of the dataset's end."""
    from ground.config import load_config
    from transforms.build import run_build

    config = load_config(params["config_path"])
    started = time.perf_counter()
    counts = run_build(config, dt.datetime.fromisoformat(params["as_of"]), publish=False)
    work = time.perf_counter() - started
    return {"work_s": work, "publish_s": _publish(config), "rows": counts}


def _publish(config: Config) -> float:
    """Publish the analysts' copy as the command would have, timed apart: it copies the whole file, so it
    costs what the warehouse weighs, whatever the step did (the daily flow publishes once per run)."""
    from warehouse.session import publish_snapshot

    started = time.perf_counter()
    publish_snapshot(config)
    return time.perf_counter() - started


def naive(params: dict[str, Any]) -> dict[str, Any]:
    """The plain script a user would write (bench.naive) on the same mail and Slack export."""
    from bench import naive as script

    out = Path(params["out"])
    started = time.perf_counter()
    script.main(
        [
            params["config_path"],
            params["as_of"],
            str(out),
            *params["mail_paths"],
            "--slack-export",
            params["slack_export"],
        ]
    )
    return {"work_s": time.perf_counter() - started, "report": json.loads(out.read_text(encoding="utf-8"))}


STEPS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "naive": naive,
    "generate": generate,
    "baseline": baseline,
    "ingest": ingest,
    "build": build,
}


def main(argv: list[str]) -> None:
    step, params_path, result_path = argv
    params = json.loads(Path(params_path).read_text(encoding="utf-8"))
    result = STEPS[step](params)
    Path(result_path).write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
