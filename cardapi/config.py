"""Configuration of the card API simulator: data set, auth and fault injection (all faults off by default)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SimulatorConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # data set
    seed: int = 42
    start: date = date(2024, 1, 1)
    end: date = Field(date(2026, 1, 1), description="Exclusive end of the transaction dates.")
    n_cards: int = Field(1000, ge=1, le=1_000_000)
    fraud_far_from_home_share: float = Field(
        0.25,
        ge=0,
        le=1,
        description="Share of fraud transactions placed far from the cardholder's home. The real Kaggle set "
        "has no distance signal; keep this low when training a model evaluated on real rows.",
    )

    # replay instead of the generator (at most one)
    replay_kaggle: Path | None = None
    replay_plutus: Path | None = None

    # auth (the simulator's demo account, local only)
    token_ttl_seconds: int = Field(300, ge=1)
    email: str = "demo@cardlake.local"
    password: str = "cardlake-demo"
    totp_secret: str = "JBSWY3DPEHPK3PXP"
    client_id: str = "cardlake-local"

    # faults (deterministic per fault_seed and per request sequence)
    fault_seed: int = 0
    fault_429_rate: float = Field(0.0, ge=0, le=1)
    retry_after_seconds: float = Field(1.0, ge=0)
    fault_5xx_rate: float = Field(0.0, ge=0, le=1)
    slow_seconds: float = Field(0.0, ge=0)
    slow_rate: float = Field(0.0, ge=0, le=1)
    fault_truncated_rate: float = Field(0.0, ge=0, le=1)
    fault_duplicate_rate: float = Field(0.0, ge=0, le=1)
    malformed_rate: float = Field(0.0, ge=0, le=1)

    # serving caches (bounded: the server never holds the whole data set)
    day_cache_size: int = Field(64, ge=4)
    bucket_cache_size: int = Field(32, ge=2)

    @model_validator(mode="after")
    def _check(self) -> SimulatorConfig:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        if self.replay_kaggle is not None and self.replay_plutus is not None:
            raise ValueError("choose one of replay_kaggle and replay_plutus")
        return self
