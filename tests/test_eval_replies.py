"""The "new text" section of `make eval` (bench/eval/replies.py): how a case passes, and the skip without mirrors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.eval.replies import Case, passes

ROOT = Path(__file__).resolve().parents[1]


def test_text_comparison_ignores_white_space_rules_and_our_signature_cut() -> None:
    case = Case("x", "body", "The pallets are ready.  \n\n\n\nWe ship Thursday.\n\nThanks,\nDana")
    assert passes(case, "The pallets are ready.\n\nWe ship Thursday.")
    assert passes(case, "The pallets are ready.\n\nWe ship Thursday.\n\nThanks,")
    assert not passes(case, "The pallets are ready.")
    spaced = Case("x", "body", "The pallets are ready.\n\nBest regards,\n\nDana")
    assert passes(spaced, "The pallets are ready.")
    delimited = Case("x", "body", "The pallets are ready.\n\n-- \nDana Reyes\nSent with a mail app")
    assert passes(delimited, "The pallets are ready.")
    assert not passes(
        Case("x", "body", "The pallets are ready.\n\n-- \n" + "line\n" * 6), "The pallets are ready."
    )


def test_lines_nospace_and_contains_comparisons() -> None:
    assert passes(Case("x", "b", "One\n\nTwo", "lines"), "One\nTwo")
    assert passes(Case("x", "b", "Hithere", "nospace"), "Hi\nthere")
    assert passes(
        Case("x", "b", "with regards to the payment", "contains"), "Ok, with regards to the payment."
    )


def test_eval_skips_the_section_in_one_line_without_mirrors(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.eval",
            "--only",
            "replies",
            "--mirrors",
            str(tmp_path),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0
    assert run.stderr.strip().count("\n") == 0 and "no reply-parser suite mirrors" in run.stderr
    report = next(out.glob("eval-*.md")).read_text(encoding="utf-8")
    assert "New text" not in report
