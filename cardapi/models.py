"""Request and response models: they document the API in OpenAPI (responses are pre-serialised bytes)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LoginRequest(BaseModel):
    email: str
    password: str
    totp: str = Field(description="6-digit RFC 6238 code (SHA-1, 30 s) of the account's base32 secret")
    clientId: str


class LoginResponse(BaseModel):
    id_token: str = Field(description="HS256 JWT; send as `Authorization: Bearer <id_token>`")
    refresh_token: str
    expires_in: int = Field(description="Lifetime of the id_token in seconds")
    token_type: Literal["Bearer"] = "Bearer"


class RefreshRequest(BaseModel):
    """The real API's body (public clients send these names; docs/source-api.md)."""

    client_id: str
    refresh_token: str


class RefreshResponse(BaseModel):
    id_token: str
    expires_in: int
    token_type: Literal["Bearer"] = "Bearer"


class ErrorResponse(BaseModel):
    detail: str


class Address(BaseModel):
    street: str
    city: str
    state: str
    zip: str
    lat: float
    long: float
    cityPopulation: int


class Cardholder(BaseModel):
    id: str
    firstName: str
    lastName: str
    gender: Literal["F", "M"]
    dateOfBirth: str = Field(description="YYYY-MM-DD")
    job: str
    address: Address


class Card(BaseModel):
    number: str = Field(description="Full card number (PAN): it must not leave the raw zone")
    cardholderId: str


class Merchant(BaseModel):
    id: str
    name: str
    category: str
    mcc: str
    lat: float
    long: float


class Transaction(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"description": "A `GET /v3/statement/list` record; amount in major units, as text"}
    )

    id: str
    date: str = Field(description="Transaction time, UTC ISO-8601 with Z")
    type: str = Field(
        description="CARD_SETTLEMENT, CARD_REFUND, or a statement type such as DEPOSIT_FUNDS_RECEIVED, "
        "LOAD_PLUTUS_CARD_FROM_*, PAYIN, PAYOUT, fees (kinds: contracts.records.statement_kind)"
    )
    amount: str = Field(description='Major units as text ("49.97"); positive when isDebit is set, else signed')
    currency: Literal["GBP", "EUR"]
    isDebit: bool | None
    status: str | None = Field(description="Part of the real shape; the simulator serves null")
    totalPluAmount: str | None = Field(description="PLU earned; the simulator serves null (PLU is in the rewards)")
    transactionDescription: str | None
    cleanDescription: str | None
    mcc: str | None
    category: str | None = Field(description="Issuer extension (Sparkov category)")
    card: Card | None = Field(description="Issuer extension (Sparkov fields); null on a personal statement")
    cardholder: Cardholder | None
    merchant: Merchant | None
    isFraud: bool | None
    originalTransactionId: str | None = Field(description="The refunded transaction for CARD_REFUND")
    createdAt: str
    updatedAt: str


class Reward(BaseModel):
    model_config = ConfigDict(json_schema_extra={"description": "A `GET /v3/rewards/list` record"})

    id: str
    ticker: Literal["PLU", "PLUS"]
    amount: str = Field(description="PLU, as text with eight decimals")
    fiatAmountRewarded: int | None = Field(
        description="Minor units: transaction amount (rebates, partials) or perk value; null for a bonus"
    )
    fiatCurrency: Literal["GBP", "EUR"] | None
    status: Literal["pending", "approved", "rejected"]
    type: Literal["DAILY_REBATE_DISTRIBUTION", "REBATE_BONUS"]
    rewardRate: float | None = Field(description="Percent for rebates and partials, 0 for perks, null for bonuses")
    transactionOriginalId: str | None = Field(description="The statement transaction, for rebates")
    referenceType: str | None = Field(
        description="contis_transactions, fiat_transactions, fiat_partial, contis_partial, manual, referring, "
        "or perk_<n>_reward"
    )
    referenceId: str | None = Field(description="The transaction, or for a partial the parent reward")
    transactionDescription: str | None = Field(description="Merchant of the rewarded payment")
    mcc: str | None
    createdAt: str
    updatedAt: str


class PluRate(BaseModel):
    timestamp: str
    ticker: Literal["PLU"]
    currency: Literal["GBP"]
    price: float = Field(description="GBP per PLU")


class _Page(BaseModel):
    page: int
    limit: int


class TransactionPage(_Page):
    data: list[Transaction]


class RewardPage(_Page):
    data: list[Reward]


class PluRatePage(_Page):
    data: list[PluRate]
