"""The FastAPI application of the card API simulator (contract: docs/contracts.md section 1)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from cardapi.auth import AuthError, TokenService
from cardapi.config import SimulatorConfig
from cardapi.faults import FaultPlan
from cardapi.jsonfmt import parse_iso
from cardapi.live import SlicePager
from cardapi.models import (
    ErrorResponse,
    LoginRequest,
    LoginResponse,
    PluRatePage,
    RefreshRequest,
    RefreshResponse,
    RewardPage,
    TransactionPage,
)
from cardapi.source import Simulator, build_simulator
from contracts.api import ENTITY_PATHS, HEALTH_PATH, LOGIN_PATH, REFRESH_PATH

# module level: FastAPI resolves these annotations by name (postponed evaluation)
Limit = Annotated[int, Query(ge=1, le=5000, description="Page size")]
Page = Annotated[int, Query(ge=1, description="1-based page number")]
From = Annotated[str | None, Query(alias="from", description="Window start (inclusive), ISO-8601 UTC")]
To = Annotated[str | None, Query(alias="to", description="Window end (exclusive), ISO-8601 UTC")]

UNBOUNDED_FROM = 0
UNBOUNDED_TO = 4_102_444_800  # 2100-01-01


def page_body(items: list[bytes], page: int, limit: int) -> bytes:
    return b'{"data":[' + b",".join(items) + b'],"page":%d,"limit":%d}' % (page, limit)


LiveHook = Callable[[Simulator], SlicePager]


def create_app(config: SimulatorConfig, live: LiveHook | None = None) -> FastAPI:
    """The API; `live` builds the statement's pager from the simulator (live mode, `cardapi.live`)."""
    sim: Simulator = build_simulator(config)
    pagers: dict[str, SlicePager] = dict(sim.pagers)
    if live is not None:
        pagers["transactions"] = live(sim)
    tokens = TokenService(
        email=config.email,
        password=config.password,
        totp_secret=config.totp_secret,
        client_id=config.client_id,
        ttl_seconds=config.token_ttl_seconds,
    )
    faults = FaultPlan(config)
    app = FastAPI(
        title="cardlake card API simulator",
        version="1.0",
        description="A Plutus-shaped card API serving a deterministic Sparkov-like data set (local only).",
    )
    app.state.simulator = sim
    app.state.pagers = pagers
    app.state.tokens = tokens

    unauthorized: dict[int | str, dict[str, Any]] = {
        401: {"model": ErrorResponse, "description": "Missing, malformed, wrong or expired token"}
    }

    @app.get(HEALTH_PATH, include_in_schema=False)
    def health() -> dict:
        return {"status": "ok"}

    @app.post(LOGIN_PATH, response_model=LoginResponse, responses={401: {"model": ErrorResponse}})
    def login(body: LoginRequest) -> LoginResponse:
        try:
            id_token, refresh = tokens.login(body.email, body.password, body.totp, body.clientId)
        except AuthError as exc:
            raise HTTPException(401, str(exc)) from exc
        return LoginResponse(id_token=id_token, refresh_token=refresh, expires_in=tokens.ttl_seconds)

    @app.post(REFRESH_PATH, response_model=RefreshResponse, responses={401: {"model": ErrorResponse}})
    def refresh(body: RefreshRequest) -> RefreshResponse:
        try:
            id_token = tokens.refresh(body.client_id, body.refresh_token)
        except AuthError as exc:
            raise HTTPException(401, str(exc)) from exc
        return RefreshResponse(id_token=id_token, expires_in=tokens.ttl_seconds)

    def require_token(authorization: Annotated[str | None, Header()] = None) -> dict:
        try:
            return tokens.verify(authorization)
        except AuthError as exc:
            raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from exc

    async def serve_page(
        entity: str, request: Request, limit: int, page: int, start: str | None, end: str | None
    ) -> Response:
        try:
            a = UNBOUNDED_FROM if start is None else parse_iso(start)
            b = UNBOUNDED_TO if end is None else parse_iso(end)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        if b < a:
            raise HTTPException(422, f"'to' ({end}) is before 'from' ({start})")
        key = (entity, a, b, limit, page)
        fault, delay = faults.transport(key)
        if delay:
            await asyncio.sleep(delay)
        if fault is not None and fault.kind == "429":
            retry = config.retry_after_seconds
            headers = {"Retry-After": str(int(retry) if float(retry).is_integer() else retry)}
            return JSONResponse({"detail": "rate limit exceeded"}, status_code=429, headers=headers)
        if fault is not None and fault.kind == "5xx":
            return JSONResponse({"detail": "upstream error (injected)"}, status_code=503)
        body = await run_in_threadpool(_page_bytes, pagers[entity], a, b, limit, page, faults.duplicate(key))
        if fault is not None and fault.kind == "truncated":
            body = body[: max(1, len(body) // 2)]
        return Response(body, media_type="application/json")

    def _page_bytes(pager: SlicePager, a: int, b: int, limit: int, page: int, dup: bool) -> bytes:
        offset = (page - 1) * limit
        items = [it.body for it in pager.slice(a, b, offset, limit)]
        if dup and page > 1 and items:
            items = [it.body for it in pager.slice(a, b, offset - 1, 1)] + items
        return page_body(items, page, limit)

    @app.get(
        ENTITY_PATHS["transactions"],
        responses={200: {"model": TransactionPage}, **unauthorized},
        dependencies=[Depends(require_token)],
    )
    async def transactions(
        request: Request, limit: Limit = 500, page: Page = 1, start: From = None, end: To = None
    ) -> Response:
        """The statement (v3 records), windowed on updatedAt, ordered by (updatedAt, id)."""
        return await serve_page("transactions", request, limit, page, start, end)

    @app.get(
        ENTITY_PATHS["rewards"],
        responses={200: {"model": RewardPage}, **unauthorized},
        dependencies=[Depends(require_token)],
    )
    async def rewards(
        request: Request, limit: Limit = 500, page: Page = 1, start: From = None, end: To = None
    ) -> Response:
        """Rewards (v3 records) in their latest state as of the window end, windowed on updatedAt."""
        return await serve_page("rewards", request, limit, page, start, end)

    @app.get(
        ENTITY_PATHS["plu_rates"],
        responses={200: {"model": PluRatePage}, **unauthorized},
        dependencies=[Depends(require_token)],
    )
    async def plu_rates(
        request: Request, limit: Limit = 500, page: Page = 1, start: From = None, end: To = None
    ) -> Response:
        """Hourly PLU price in GBP, windowed on timestamp."""
        return await serve_page("plu_rates", request, limit, page, start, end)

    return app
