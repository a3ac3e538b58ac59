"""Helpers of the card API simulator tests: small configurations and a minimal contract client."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import requests

from cardapi.auth import totp_now
from cardapi.config import SimulatorConfig
from tests.devdata import KAGGLE_HEAD as KAGGLE_HEAD_FILE
from tests.devdata import shared_file

DATA = Path(__file__).parent / "data"


KAGGLE_HEAD = shared_file(KAGGLE_HEAD_FILE)
PATHS = {"transactions": "/v3/statement/list", "rewards": "/v3/rewards/list", "plu_rates": "/rates/plu"}


def small_config(**overrides: object) -> SimulatorConfig:
    """40 cards over two months: enough for every record kind, fast to generate."""
    base: dict[str, object] = {"seed": 7, "n_cards": 40, "start": date(2024, 1, 1), "end": date(2024, 3, 1)}
    return SimulatorConfig(**{**base, **overrides})


class ApiClient:
    """A minimal client of the contract: login, then page windows (optionally retrying injected faults)."""

    def __init__(self, base_url: str, config: SimulatorConfig) -> None:
        self.base_url = base_url
        self.config = config
        self.session = requests.Session()
        self.token = self.login()

    def login(self) -> str:
        body = {
            "email": self.config.email,
            "password": self.config.password,
            "totp": totp_now(self.config.totp_secret),
            "clientId": self.config.client_id,
        }
        response = self.session.post(f"{self.base_url}/auth/login", json=body, timeout=10)
        response.raise_for_status()
        return response.json()["id_token"]

    def get(self, entity: str, **params: object) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return self.session.get(f"{self.base_url}{PATHS[entity]}", params=params, headers=headers, timeout=30)

    def page(self, entity: str, start: str, end: str, page: int = 1, limit: int = 500) -> list[dict]:
        response = self.get(entity, **{"from": start, "to": end, "page": page, "limit": limit})
        response.raise_for_status()
        return response.json()["data"]

    def extract(self, entity: str, start: str, end: str, limit: int = 500, retry: bool = False) -> list[dict]:
        """Every record of the window, page by page until a short page; with `retry`, retries faults."""
        out: list[dict] = []
        page = 1
        while True:
            for _ in range(50):
                response = self.get(entity, **{"from": start, "to": end, "page": page, "limit": limit})
                if retry and response.status_code in (429, 500, 502, 503):
                    time.sleep(float(response.headers.get("Retry-After", "0")))
                    continue
                response.raise_for_status()
                try:
                    data = response.json()["data"]
                except ValueError:
                    if retry:
                        continue
                    raise
                break
            else:
                raise AssertionError("too many retries")
            out.extend(data)
            if len(data) < limit:
                return out
            page += 1
