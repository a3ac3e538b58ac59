"""Fixtures for the extraction tests: the real simulator over HTTP, a recording HTTP session, clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlparse

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer
from prefect_aws import AwsCredentials, S3Bucket

from blocks.credentials import CardApiCredentials
from cardlake.landing import S3LandingZone
from cardlake.source.client import CardApiClient
from cardlake.source.retry import RetryPolicy

# A small data set: enough rows for tens of pages at a small page size, quick to generate.
SIM_START = date(2025, 5, 1)
SIM_END = date(2025, 7, 1)
N_CARDS = 25
WINDOW = (datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 4, tzinfo=UTC))
FAST_RETRIES = RetryPolicy(max_attempts=12, base_delay=0.01, max_delay=0.1, max_total_seconds=60)


class RecordingSession(requests.Session):
    """A requests session that notes (method, path, status or exception name) of every HTTP attempt."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str, int | str]] = []

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        path = urlparse(url).path
        try:
            response = super().request(method, url, *args, **kwargs)
        except Exception as exc:
            self.calls.append((method, path, type(exc).__name__))
            raise
        self.calls.append((method, path, response.status_code))
        return response

    def count(self, path: str | None = None, status: int | str | None = None) -> int:
        return sum(1 for _, p, s in self.calls if (path is None or p == path) and (status is None or s == status))


def sim_config(**faults: Any) -> Any:
    from cardapi.config import SimulatorConfig

    return SimulatorConfig(seed=7, start=SIM_START, end=SIM_END, n_cards=N_CARDS, **faults)


@pytest.fixture()
def serve() -> Iterator[Callable[..., str]]:
    """Start simulators with the given faults for one test; returns their base URL."""
    from cardapi.server import serve_in_thread

    with ExitStack() as stack:

        def start(**faults: Any) -> str:
            return stack.enter_context(serve_in_thread(sim_config(**faults), host="127.0.0.1", port=0))

        yield start


@pytest.fixture(scope="module")
def clean_url() -> Iterator[str]:
    from cardapi.server import serve_in_thread

    with serve_in_thread(sim_config(), host="127.0.0.1", port=0) as url:
        yield url


def demo_credentials(base_url: str, **overrides: Any) -> CardApiCredentials:
    from pydantic import SecretStr

    fields: dict[str, Any] = {
        "base_url": base_url,
        "client_id": "cardlake-local",
        "email": "demo@cardlake.local",
        "password": SecretStr("cardlake-demo"),
        "totp_secret": SecretStr("JBSWY3DPEHPK3PXP"),
    }
    fields.update(overrides)
    return CardApiCredentials(**fields)


def make_client(base_url: str, **kwargs: Any) -> tuple[CardApiClient, RecordingSession]:
    session = RecordingSession()
    kwargs.setdefault("policy", FAST_RETRIES)
    return CardApiClient(demo_credentials(base_url), session=session, **kwargs), session


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def make_s3_zone(endpoint: str, bucket: str, folder: str = "landing") -> S3LandingZone:
    boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=bucket)  # fmt: skip
    credentials = AwsCredentials(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
        aws_client_parameters={"endpoint_url": endpoint},
    )
    return S3LandingZone(S3Bucket(bucket_name=bucket, credentials=credentials, bucket_folder=folder))
