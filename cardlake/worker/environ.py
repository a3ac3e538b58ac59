"""One flow run's environment, set in this process for the run and restored after it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping


@contextlib.contextmanager
def scoped_environ(overrides: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, unset) each variable; on exit put back exactly what was there before.

    Safe only because the worker runs one flow run at a time: `os.environ` is the whole process's.
    """
    saved = {name: os.environ.get(name) for name in overrides}
    try:
        for name, value in overrides.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def kept_working_directory() -> Iterator[None]:
    """The deployment's pull step (`set_working_directory`) changes this process's directory; change it back."""
    before = os.getcwd()
    try:
        yield
    finally:
        os.chdir(before)
