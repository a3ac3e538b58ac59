"""The card API's paths (docs/contracts.md section 1), served by the simulator and called by the client."""

from __future__ import annotations

from contracts.landing import Entity

LOGIN_PATH = "/auth/login"
REFRESH_PATH = "/auth/refresh-token"
HEALTH_PATH = "/health"
ENTITY_PATHS: dict[Entity, str] = {
    "transactions": "/transactions",
    "rewards": "/v3/rewards",
    "plu_rates": "/rates/plu",
}
