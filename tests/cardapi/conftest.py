"""Fixtures of the card API simulator tests: a small data set served on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cardapi.config import SimulatorConfig
from cardapi.server import serve_in_thread
from tests.cardapi.helpers import ApiClient, small_config


@pytest.fixture(scope="module")
def config() -> SimulatorConfig:
    return small_config()


@pytest.fixture(scope="module")
def server(config: SimulatorConfig) -> Iterator[str]:
    with serve_in_thread(config) as url:
        yield url


@pytest.fixture(scope="module")
def api(server: str, config: SimulatorConfig) -> ApiClient:
    return ApiClient(server, config)
