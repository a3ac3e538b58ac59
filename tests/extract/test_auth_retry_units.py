"""Pure pieces of the client: TOTP codes, the JWT expiry, backoff bounds, windows and keys."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from blocks.credentials import CardApiCredentials
from cardlake.source.auth import jwt_expiry, totp
from cardlake.source.extraction import chunk_windows
from cardlake.source.retry import Backoff, RetryPolicy, parse_retry_after
from contracts.landing import Window, manifest_key, page_key, watermark_key

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(("at", "code"), [(59, "287082"), (1111111109, "081804"), (2000000000, "279037")])
def test_totp_matches_rfc6238_vectors(at: int, code: str) -> None:
    assert totp(RFC_SECRET, at) == code


def _jwt(claims: dict) -> str:
    enc = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()  # noqa: E731
    return f"{enc(b'{}')}.{enc(json.dumps(claims).encode())}.sig"


def test_jwt_expiry_reads_exp_and_tolerates_garbage() -> None:
    assert jwt_expiry(_jwt({"exp": 1700000300, "sub": "x"})) == 1700000300.0
    assert jwt_expiry("not-a-jwt") is None
    assert jwt_expiry(_jwt({"sub": "no exp"})) is None


def test_backoff_is_bounded_by_attempts_and_total_time() -> None:
    now = [0.0]
    backoff = Backoff(
        RetryPolicy(max_attempts=4, base_delay=1, max_delay=8), clock=lambda: now[0], rng=random.Random(1)
    )
    delays = [backoff.next_delay() for _ in range(4)]
    assert all(d is not None and 0 <= d <= 2**i for i, d in enumerate(delays[:3]))
    assert delays[3] is None  # the fourth failure spends the budget

    timed = Backoff(RetryPolicy(max_attempts=100, max_total_seconds=10), clock=lambda: now[0])
    now[0] = 9.5
    assert timed.next_delay(retry_after=2.0) is None  # waiting would overrun the total time


def test_retry_after_is_honoured_over_a_shorter_jitter() -> None:
    backoff = Backoff(RetryPolicy(base_delay=0.01), rng=random.Random(0))
    assert backoff.next_delay(retry_after=1.5) == 1.5
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("garbage") is None
    assert parse_retry_after(None) is None


def test_credentials_need_a_login_or_a_refresh_token_and_never_print_secrets() -> None:
    with pytest.raises(ValueError, match="refresh_token"):
        CardApiCredentials(base_url="http://x", client_id="c", email="a@b")
    from pydantic import SecretStr

    creds = CardApiCredentials(base_url="http://x", client_id="c", refresh_token=SecretStr("very-secret-token"))
    assert "very-secret-token" not in repr(creds) and "very-secret-token" not in str(creds)


def test_windows_and_keys_follow_the_contract() -> None:
    window = Window(datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 2, 6, tzinfo=UTC))
    assert window.label == "20250601T000000Z_20250602T060000Z"
    assert page_key("cardapi", "transactions", window, 3) == (
        "raw/cardapi/transactions/ingest_date=2025-06-01/20250601T000000Z_20250602T060000Z-00003.json.gz"
    )
    assert manifest_key("cardapi", "rewards", window) == (
        "raw/cardapi/rewards/_manifests/20250601T000000Z_20250602T060000Z.json"
    )
    assert watermark_key("cardapi", "plu_rates") == "raw/cardapi/plu_rates/_watermark.json"
    chunks = chunk_windows(window.start, window.end, timedelta(days=1))
    assert [c.label for c in chunks] == ["20250601T000000Z_20250602T000000Z", "20250602T000000Z_20250602T060000Z"]
    with pytest.raises(ValueError, match="after its start"):
        Window(window.end, window.start)


def test_task_retries_only_transient_api_failures() -> None:
    from prefect.states import Failed

    from cardlake.source.errors import PermanentApiError, TransientApiError
    from flows.extract import is_transient_failure

    transient = Failed(data=TransientApiError("GET /transactions still failing", attempts=8))
    permanent = Failed(data=PermanentApiError("GET /transactions failed with HTTP 404", status=404))
    assert is_transient_failure(None, None, transient) is True  # type: ignore[arg-type]
    assert is_transient_failure(None, None, permanent) is False  # type: ignore[arg-type]


def test_prefetch_keeps_order_passes_errors_and_stops_the_producer_early() -> None:
    from cardlake.source.prefetch import prefetched

    assert list(prefetched(iter(range(50)), depth=2)) == list(range(50))

    def failing() -> Iterator[int]:
        yield 1
        raise RuntimeError("page 2 broke")

    with pytest.raises(RuntimeError, match="page 2 broke"):
        list(prefetched(failing(), depth=1))

    produced: list[int] = []

    def endless() -> Iterator[int]:
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    consumer = prefetched(endless(), depth=1)
    assert [next(consumer), next(consumer)] == [0, 1]
    consumer.close()
    assert len(produced) <= 4  # stopped within the prefetch depth, not run away
