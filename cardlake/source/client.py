"""HTTP client of the card API: auth with early refresh, paging, and bounded retries of transient faults.

It calls the real API's paths (`contracts.api`: `GET /v3/statement/list`, `GET /v3/rewards/list`, paged by
`limit` and `page`) and hands on pages of landing records: each record as `contracts.plutus_v3` adapts it,
none dropped (docs/adr/0014-landing-holds-adapted-records.md). Production authenticates with a refresh token
(`POST /auth/refresh-token`); the email/password/TOTP login is the simulator's demo login.
"""

from __future__ import annotations

import gc
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any

import orjson
import requests
from pydantic import SecretStr

from blocks.credentials import CardApiCredentials
from cardlake.source.auth import jwt_expiry, totp
from cardlake.source.errors import ApiAuthError, ApiUnreachableError, PermanentApiError, TransientApiError
from cardlake.source.retry import Backoff, RetryPolicy, parse_retry_after
from contracts import names
from contracts.api import ENTITY_PATHS, LOGIN_PATH, REFRESH_PATH
from contracts.landing import Entity, iso, utc
from contracts.plutus_v3 import to_landing, window_time

log = logging.getLogger(__name__)

ENDPOINTS: dict[Entity, str] = ENTITY_PATHS
MAX_LIMIT = 5000

_NETWORK_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


REVOKED_REFRESH_TOKEN = (
    "the card API refused the refresh token (revoked, expired or for another client id): sign in to the "
    "Plutus app again, copy its new refresh token into `refresh_token` of the "
    f"{names.CARD_API_CREDENTIALS_BLOCK} block (or the cardlake/card-api secret) and run again"
)


@dataclass(frozen=True)
class Page:
    """One page as the landing keeps it: its number, the body (`{"data", "page", "limit"}` with landing
    records) and those records."""

    number: int
    body: bytes
    records: list[Any]

    @property
    def record_count(self) -> int:
        return len(self.records)


class CardApiClient:
    def __init__(
        self,
        credentials: CardApiCredentials,
        *,
        policy: RetryPolicy | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        refresh_margin_seconds: float = 30.0,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        rate_feed: bool = True,
    ) -> None:
        self.credentials = credentials
        self.rate_feed = rate_feed  # the real API has no PLU rate feed: its rates entity lands empty
        self.base_url = credentials.base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.timeout = (connect_timeout, read_timeout)
        self.refresh_margin = refresh_margin_seconds
        self.session = session or requests.Session()
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.request_count = 0  # HTTP attempts, auth included: lets callers prove a cache hit made none
        self.reached = False  # whether the API has answered once: after that, a refused connection is an outage
        self._id_token: str | None = None
        self._renew_at = 0.0
        self._refresh_token: SecretStr | None = credentials.refresh_token
        self._refresh_from_login = False  # a configured refresh token is never traded for a login

    def __enter__(self) -> CardApiClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    # -- data -------------------------------------------------------------------------------------------

    def iter_pages(self, entity: str, start: datetime, end: datetime, limit: int = 1000) -> Iterator[Page]:
        """Pages of `entity` updated in [start, end), from page 1 until a short or empty page.

        Records are adapted to landing records (`contracts.plutus_v3.to_landing`) and kept when their window
        time lies in [start, end) or cannot be read (silver judges those): a source that ignores `from`/`to`,
        as public clients suggest the real API does, still lands each window's records only.
        """
        if entity not in ENDPOINTS:
            raise ValueError(f"unknown entity {entity!r}; expected one of {sorted(ENDPOINTS)}")
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"page limit must be within 1..{MAX_LIMIT}, got {limit}")
        if entity == "plu_rates" and not self.rate_feed:
            return
        name: Entity = entity
        low, high = iso(utc(start)), iso(utc(end))
        number = 1
        while True:
            params = {"from": low, "to": high, "limit": limit, "page": number}
            _, parsed = self._send("GET", ENDPOINTS[name], params=params)
            received = parsed.get("data") if isinstance(parsed, dict) else None
            with _collector_paused:
                records = _landing_page(name, received, low, high)
            if records is None or not isinstance(received, list):
                raise PermanentApiError(
                    f"GET {ENDPOINTS[name]} page {number} does not follow the contract: "
                    "expected a JSON object with a 'data' list",
                    status=200,
                    endpoint=ENDPOINTS[name],
                )
            body = orjson.dumps({"data": records, "page": number, "limit": limit})
            yield Page(number, body, records)
            served_limit = parsed.get("limit") if isinstance(parsed.get("limit"), int) else limit
            if len(received) < min(limit, served_limit):
                return
            number += 1

    # -- auth -------------------------------------------------------------------------------------------

    def _token(self) -> str:
        if self._id_token is None or self.clock() >= self._renew_at:
            self._renew()
        assert self._id_token is not None
        return self._id_token

    def _renew(self) -> None:
        """Refresh the id_token with the refresh token.

        A configured refresh token (production) that is refused is an error naming the fix: the real login
        needs a captcha, so nothing here can replace it. Only a refresh token that came from the demo login
        (the simulator's) is replaced by logging in again.
        """
        if self._refresh_token is not None:
            try:
                self._refresh()
                return
            except ApiAuthError as exc:
                if not (self._refresh_from_login and self.credentials.can_login):
                    raise ApiAuthError(REVOKED_REFRESH_TOKEN, status=401, endpoint=REFRESH_PATH) from exc
                log.warning("card API refresh token refused; logging in again")
        if not self.credentials.can_login:
            raise ApiAuthError("no way to get an id_token: no refresh token and no login credentials")
        self._login()

    def _login(self) -> None:
        creds = self.credentials
        assert creds.password is not None and creds.totp_secret is not None
        body = {
            "email": creds.email,
            "password": creds.password.get_secret_value(),
            "totp": totp(creds.totp_secret.get_secret_value(), self.clock()),
            "clientId": creds.client_id,
        }
        _, parsed = self._send("POST", LOGIN_PATH, json_body=body, auth=False)
        self._accept_tokens(parsed, LOGIN_PATH)
        self._refresh_from_login = True
        log.info("logged in to the card API (demo login)")

    def _refresh(self) -> None:
        assert self._refresh_token is not None
        body = {"client_id": self.credentials.client_id, "refresh_token": self._refresh_token.get_secret_value()}
        _, parsed = self._send("POST", REFRESH_PATH, json_body=body, auth=False)
        self._accept_tokens(parsed, REFRESH_PATH)
        log.info("refreshed the card API id_token")

    def _accept_tokens(self, parsed: Any, endpoint: str) -> None:
        token = parsed.get("id_token") if isinstance(parsed, dict) else None
        if not isinstance(token, str):
            raise PermanentApiError(f"POST {endpoint} answered without an id_token", 200, endpoint)
        now = self.clock()
        expires_in = parsed.get("expires_in")
        exp = jwt_expiry(token) or now + (float(expires_in) if isinstance(expires_in, int | float) else 60.0)
        # Refresh ~30 s before expiry, but never more than a quarter of a short lifetime early.
        self._renew_at = exp - min(self.refresh_margin, max(exp - now, 0.0) / 4)
        self._id_token = token
        if isinstance(parsed.get("refresh_token"), str):
            self._refresh_token = SecretStr(parsed["refresh_token"])

    # -- transport --------------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
        auth: bool = True,
    ) -> tuple[bytes, Any]:
        """Body bytes and parsed JSON of a 2xx answer; transient faults retried, permanent ones raised."""
        endpoint = f"{method} {path}" + (f" {_describe(params)}" if params else "")
        backoff = Backoff(self.policy, clock=time.monotonic, sleep=self.sleep, rng=self.rng)
        refreshed = False
        while True:
            headers = {"Accept": "application/json"}
            if auth:
                headers["Authorization"] = f"Bearer {self._token()}"
            retry_after = None
            try:
                self.request_count += 1
                response = self.session.request(
                    method,
                    self.base_url + path,
                    params=params,
                    json=json_body,
                    headers=headers,
                    timeout=self.timeout,
                )
                body = response.content  # reading the body can fail too (connection cut mid-body)
            except _NETWORK_ERRORS as exc:
                if not self.reached and _is_connection_refused(exc):
                    # Nothing listens there (a stopped simulator, a wrong URL): minutes of retries would not help.
                    raise ApiUnreachableError(self.base_url) from exc
                cause = f"{type(exc).__name__}: {exc}"
            else:
                self.reached = True
                status = response.status_code
                if status == 401 and auth and not refreshed:
                    # The token may have expired early or been revoked: renew once, then try again.
                    refreshed = True
                    self._id_token = None
                    continue
                if status == 401:
                    what = "after a token refresh" if auth else "(credentials rejected)"
                    raise ApiAuthError(f"{endpoint} answered HTTP 401 {what}", status=401, endpoint=endpoint)
                if status == 429:
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    cause = f"HTTP 429 (Retry-After: {response.headers.get('Retry-After')})"
                elif status >= 500:
                    cause = f"HTTP {status}"
                elif not 200 <= status < 300:
                    detail = "" if not auth else f": {_detail(body)}"  # auth answers may echo what was sent
                    raise PermanentApiError(
                        f"{endpoint} failed with HTTP {status}{detail}", status=status, endpoint=endpoint
                    )
                else:
                    try:
                        with _collector_paused:
                            return body, orjson.loads(body)  # several times faster than json on big pages
                    except orjson.JSONDecodeError:
                        cause = f"body is not valid JSON ({len(body)} bytes; truncated?)"
            delay = backoff.next_delay(retry_after)
            if delay is None:
                raise TransientApiError(
                    f"{endpoint} still failing after {backoff.attempts} attempts; last error: {cause}",
                    endpoint=endpoint,
                    attempts=backoff.attempts,
                )
            log.warning("%s: %s; retry %d in %.2f s", endpoint, cause, backoff.attempts, delay)
            self.sleep(delay)


class _CollectorPause:
    """Holds off Python's cyclic garbage collector while pages are parsed and adapted.

    A 5,000-record page is some 30,000 new dicts and lists, none of them in a reference cycle, yet every 700
    allocations start a collection that walks the young objects (and now and then every live one): about a
    third of the client's CPU per record (bench/bench_extract.py, docs/extraction.md). Reference counting
    still frees everything at once. Prefetch and concurrent chunks parse pages on several threads, so the
    collector resumes when the last of them leaves, and only if it was on when the first one came in.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside = 0
        self._resume = False

    def __enter__(self) -> None:
        with self._lock:
            if self._inside == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._inside += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._inside -= 1
            if self._inside == 0 and self._resume:
                gc.enable()


_collector_paused = _CollectorPause()


def _landing_page(entity: Entity, received: Any, low: str, high: str) -> list[Any] | None:
    """The page's records as landing records whose window time lies in [low, high) or cannot be read;
    None when the page has no 'data' list."""
    if not isinstance(received, list):
        return None
    return [r for r in to_landing(entity, received) if _in_window(window_time(entity, r), low, high)]


def _in_window(at: str | None, low: str, high: str) -> bool:
    """Whether a window time (UTC ISO text, which sorts as time) lies in [low, high); unreadable ones stay."""
    return at is None or low <= at < high


def _is_connection_refused(exc: BaseException) -> bool:
    """Whether the socket's ConnectionRefusedError lies under the urllib3 errors that requests wraps it in."""
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return True
        linked = (current.__cause__, current.__context__, getattr(current, "reason", None), *current.args)
        pending.extend(e for e in linked if isinstance(e, BaseException))
    return False


def _describe(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items())


def _detail(body: bytes) -> str:
    try:
        parsed = json.loads(body)
        text = parsed.get("detail", parsed) if isinstance(parsed, dict) else parsed
    except ValueError:
        text = body.decode("utf-8", "replace")
    return str(text)[:200]
