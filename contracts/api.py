"""The card API's paths and auth bodies (docs/contracts.md section 1), served by the simulator and called by the client.

The paths are the real Plutus API's, as public clients call them (docs/source-api.md names the repositories
and files): `GET /v3/rewards/list` and `GET /v3/statement/list`, paged with `limit` and `page`, and
`POST /auth/refresh-token` with `{"client_id", "refresh_token"}`. The real login needs a captcha, so
production hands over a refresh token; `POST /auth/login` with `LOGIN_FIELDS` is the simulator's demo login
(local only). The real API has no rate feed: `/rates/plu` is the simulator's own.
"""

from __future__ import annotations

from contracts.landing import Entity

LOGIN_PATH = "/auth/login"
REFRESH_PATH = "/auth/refresh-token"
HEALTH_PATH = "/health"
REWARDS_PATH = "/v3/rewards/list"
STATEMENT_PATH = "/v3/statement/list"
PLU_RATES_PATH = "/rates/plu"
# The legacy reward list (`GET /platform/transactions/pluton`, one unpaged JSON array). Exports of it are
# read by `contracts.plutus_legacy`; the extraction calls the v3 paths.
LEGACY_REWARDS_PATH = "/platform/transactions/pluton"
ENTITY_PATHS: dict[Entity, str] = {
    "transactions": STATEMENT_PATH,
    "rewards": REWARDS_PATH,
    "plu_rates": PLU_RATES_PATH,
}
# Entities the real API serves; the simulator serves `plu_rates` too (the real app has no public rate feed).
REAL_API_ENTITIES: tuple[Entity, ...] = ("transactions", "rewards")

# Request bodies, field names as the real API takes them (refresh) and as the simulator's demo login does.
REFRESH_FIELDS = ("client_id", "refresh_token")
LOGIN_FIELDS = ("email", "password", "totp", "clientId")
# Paging: `limit` records per page, 1-based `page`; a page shorter than `limit` (or empty) is the last.
PAGE_PARAMS = ("limit", "page")
