"""Permanent faults fail at once with the status and the endpoint; auth failures say what was refused."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from cardapi.server import serve_in_thread
from cardlake.source import client as client_module
from cardlake.source.client import CardApiClient
from cardlake.source.errors import ApiAuthError, ApiUnreachableError, PermanentApiError, TransientApiError
from cardlake.source.retry import RetryPolicy

from .conftest import WINDOW, RecordingSession, demo_credentials, make_client, sim_config

pytestmark = pytest.mark.slow


def test_a_permanent_4xx_fails_at_once_with_status_and_endpoint(
    clean_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(client_module.ENDPOINTS, "transactions", "/v9/no-such-endpoint")
    client, session = make_client(clean_url)
    with pytest.raises(PermanentApiError, match=r"GET /v9/no-such-endpoint .*HTTP 404") as info:
        next(client.iter_pages("transactions", *WINDOW))
    assert info.value.status == 404
    assert session.count("/v9/no-such-endpoint") == 1  # not retried


def test_wrong_password_fails_with_a_clear_message_and_no_secret(clean_url: str) -> None:
    creds = demo_credentials(clean_url, password=SecretStr("wrong-password-123"))
    client = CardApiClient(creds, session=RecordingSession())
    with pytest.raises(ApiAuthError, match=r"POST /auth/login answered HTTP 401") as info:
        next(client.iter_pages("rewards", *WINDOW))
    assert "wrong-password-123" not in str(info.value)


def test_a_revoked_refresh_token_fails_with_one_line_naming_the_fix(
    clean_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    creds = demo_credentials(
        clean_url, email=None, password=None, totp_secret=None, refresh_token=SecretStr("not-a-real-token")
    )
    session = RecordingSession()
    with caplog.at_level("DEBUG"), pytest.raises(ApiAuthError) as info:
        next(CardApiClient(creds, session=session).iter_pages("rewards", *WINDOW))
    message = str(info.value)
    assert "\n" not in message and "refused the refresh token" in message
    assert "refresh_token" in message and "cardapi-credentials" in message  # where the new token goes
    assert "not-a-real-token" not in message and "not-a-real-token" not in caplog.text
    assert session.count("/auth/refresh-token") == 1 and session.count("/v3/rewards/list") == 0


def test_a_configured_refresh_token_is_never_traded_for_a_login(clean_url: str) -> None:
    """Production's refresh token refused: logging in cannot help (the real login needs a captcha)."""
    creds = demo_credentials(clean_url, refresh_token=SecretStr("revoked-token"))  # login fields present too
    session = RecordingSession()
    with pytest.raises(ApiAuthError, match="refused the refresh token"):
        next(CardApiClient(creds, session=session).iter_pages("rewards", *WINDOW))
    assert session.count("/auth/login") == 0


def test_transient_faults_that_never_end_exhaust_a_bounded_budget(serve: Callable[..., str]) -> None:
    url = serve(fault_5xx_rate=1.0)
    client, session = make_client(url, policy=RetryPolicy(max_attempts=3, base_delay=0.01))
    with pytest.raises(TransientApiError, match=r"after 3 attempts; last error: HTTP 5\d\d"):
        next(client.iter_pages("transactions", *WINDOW))
    assert sum(1 for *_, status in session.calls if isinstance(status, int) and status >= 500) == 3


def test_an_api_refusing_the_first_connection_fails_fast_with_one_clear_error(
    unused_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    base_url = f"http://127.0.0.1:{unused_port}"
    client, session = make_client(base_url, policy=RetryPolicy())  # the production policy: minutes of retries
    started = time.monotonic()
    with pytest.raises(ApiUnreachableError, match=rf"{base_url} is not reachable .*is the simulator running"):
        next(client.iter_pages("transactions", datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 2, tzinfo=UTC)))
    assert time.monotonic() - started < 3
    assert len(session.calls) == 1 and not caplog.records  # one attempt, no retry warnings


def test_a_connection_lost_after_earlier_answers_is_still_retried() -> None:
    with serve_in_thread(sim_config(), host="127.0.0.1", port=0) as url:
        client, session = make_client(url, policy=RetryPolicy(max_attempts=3, base_delay=0.01))
        pages = client.iter_pages("transactions", *WINDOW, limit=5)
        next(pages)
    # The simulator is gone: the next page's connection fails, and is retried as a transient fault.
    with pytest.raises(TransientApiError, match=r"after 3 attempts; last error: ConnectionError"):
        next(pages)
    assert session.count("/v3/statement/list", "ConnectionError") == 3


@pytest.fixture()
def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
