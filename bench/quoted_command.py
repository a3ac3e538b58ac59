"""The command line a benchmark's results quote: without `--workdir` and its value, a folder of this machine."""

from __future__ import annotations

from collections.abc import Sequence


def public_command(script: str, argv: Sequence[str]) -> str:
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--workdir":
            skip = True
        elif not arg.startswith("--workdir="):
            kept.append(arg)
    return " ".join([script, *kept])
