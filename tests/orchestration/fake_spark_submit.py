"""Stands in for bin/spark-submit in fast tests: prints Spark's usual noise, then runs the script in Python."""

from __future__ import annotations

import os
import sys

NOISE = [
    "Using Spark's default log4j profile: org/apache/spark/log4j2-defaults.properties",
    "25/06/01 10:00:00 WARN NativeCodeLoader: Unable to load native-hadoop library for your platform",
    "25/06/01 10:00:01 INFO SparkContext: Running Spark version 3.5.5",
]


def main() -> None:
    args = sys.argv[1:]
    while args and not args[0].endswith(".py"):
        args = args[2:]  # --master X, --conf k=v
    for line in NOISE * 30:
        print(line, file=sys.stderr)
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *args])


if __name__ == "__main__":
    main()
