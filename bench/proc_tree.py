"""Resident memory of a process tree, read from /proc: what the benchmarks report as a command's peak memory
(a JVM under spark-submit under a CLI is several processes; ru_maxrss sees only the largest one)."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def tree_rss_kb(root_pid: int) -> int:
    """Resident memory of `root_pid` and all its descendants in KiB (0 once it has ended)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * page_kb
        except (OSError, ValueError, IndexError):  # it ended while being read
            continue
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        pid = frontier.pop()
        children = [c for c, p in parents.items() if p == pid and c not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(rss.get(pid, 0) for pid in tree)


class PeakTreeRss:
    """While open, samples the tree of `pid` once per `interval` in a thread; `peak_kb` is the largest seen."""

    def __init__(self, pid: int, interval: float = 1.0) -> None:
        self.pid, self.interval, self.peak_kb = pid, interval, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(self.interval):
            self.peak_kb = max(self.peak_kb, tree_rss_kb(self.pid))

    def __enter__(self) -> PeakTreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
