"""Fixtures of the transforms tests (helpers live in transforms_testlib.py)."""

from transforms_testlib import fetch, warehouse

__all__ = ["fetch", "warehouse"]
