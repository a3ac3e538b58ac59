"""`python cardlake/spark_runner/guard.py PARENT_PID CMD...`: run CMD in this process group, and take the whole
group (spark-submit, its JVM, the Python driver and workers) down when the process that started the guard dies,
even by SIGKILL, so no Spark job goes on writing the lake for nobody.

On Linux the guard asks for a parent-death signal (prctl PR_SET_PDEATHSIG); the runner starts it as the leader
of a new session, so SIGTERM to the group (a cancelled flow) reaches it the same way.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
from types import FrameType

PR_SET_PDEATHSIG = 1
GRACE_S = 10.0


def die_with_parent() -> bool:
    """Ask the kernel to send SIGTERM when the parent dies; False where the platform has no such call."""
    name = ctypes.util.find_library("c")
    if not sys.platform.startswith("linux") or name is None:
        return False
    return ctypes.CDLL(name, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM) == 0


def stop_group(signum: int = signal.SIGTERM, frame: FrameType | None = None) -> None:
    """SIGTERM to every process of the group, SIGKILL to what is left after the grace period, then exit."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(0, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_S
    while time.monotonic() < deadline and _others_in_group():
        with contextlib.suppress(ChildProcessError):
            os.waitpid(-1, os.WNOHANG)  # reap what has exited
        time.sleep(0.1)
    if _others_in_group():
        os.killpg(0, signal.SIGKILL)  # the guard goes with them
    os._exit(128 + signum)


def _others_in_group() -> bool:
    """Whether a process of this group other than the guard is still alive (zombies count as gone)."""
    group, me = os.getpgid(0), os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == group:
            return True
    return False


def main(argv: list[str]) -> int:
    parent, command = int(argv[0]), argv[1:]
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop_group)
    die_with_parent()
    if os.getppid() != parent:  # the parent died before the signal was asked for
        stop_group()
    return subprocess.Popen(command).wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
