"""What a step's worker processes use: `os.wait4` sees the step's own process only, not the processes it starts
through a fork server (mail parsing), so the step samples its process tree itself.

Linux only (it reads /proc); elsewhere it samples nothing and the figures are the step's own.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType
from typing import Self

_PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class ProcessTree:
    """Samples this process and its descendants every `interval` seconds while in a `with` block: the largest sum
    of their proportional set sizes (shared pages counted once) and the CPU seconds each descendant used."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak_pss_mb = 0.0
        self._cpu: dict[int, float] = {}  # descendant pid -> CPU seconds at its last sample
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="process-tree", daemon=True)

    @property
    def descendants_cpu_s(self) -> float:
        return sum(self._cpu.values())

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        if not _PROC.is_dir():
            return
        me = os.getpid()
        parents: dict[int, int] = {}
        for entry in _PROC.iterdir():
            if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
                parents[int(entry.name)] = int(stat[1])
        tree, frontier = {me}, [me]
        while frontier:
            parent = frontier.pop()
            children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
            tree.update(children)
            frontier.extend(children)
        self.peak_pss_mb = max(self.peak_pss_mb, sum(_pss_kb(pid) for pid in tree) / 1024)
        for pid in tree - {me}:
            if (stat := _stat(pid)) is not None:
                self._cpu[pid] = (int(stat[11]) + int(stat[12])) / _TICKS  # utime, stime


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name: [state, ppid, ...]; None once the process is gone."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _pss_kb(pid: int) -> int:
    try:
        for line in (_PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
