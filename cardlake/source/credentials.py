"""What the client needs to authenticate; secrets stay SecretStr so they never print."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from cardlake.settings import Settings
from cardlake.source.errors import CardApiError

CREDENTIALS_BLOCK = "cardapi-credentials"  # docs/contracts.md section 5


@dataclass(frozen=True)
class ApiCredentials:
    """Either a login (email, password, TOTP secret) or a refresh token, or both; client id always."""

    base_url: str
    client_id: str
    email: str | None = None
    password: SecretStr | None = None
    totp_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None

    def __post_init__(self) -> None:
        if not self.can_login and self.refresh_token is None:
            raise ValueError("card API credentials need a refresh token, or email + password + TOTP secret for a login")

    @property
    def can_login(self) -> bool:
        return bool(self.email and self.password and self.totp_secret)

    def __repr__(self) -> str:  # dataclass repr would show SecretStr('**********'); keep it shorter still
        return f"ApiCredentials(base_url={self.base_url!r}, client_id={self.client_id!r}, email={self.email!r})"


def credentials_from_settings(settings: Settings) -> ApiCredentials:
    return ApiCredentials(
        base_url=settings.api_base_url,
        client_id=settings.api_client_id,
        email=settings.api_email or None,
        password=settings.api_password,
        totp_secret=settings.api_totp_secret,
        refresh_token=settings.api_refresh_token,
    )


def resolve_credentials(settings: Settings) -> ApiCredentials:
    """The simulator's account from settings, or, for the real API, the saved `cardapi-credentials` block."""
    if settings.source != "card-api":
        return credentials_from_settings(settings)
    from blocks.credentials import CardApiCredentials

    try:
        block = CardApiCredentials.load(CREDENTIALS_BLOCK, _sync=True)
    except ValueError as exc:
        raise CardApiError(
            f"source is 'card-api' but no CardApiCredentials block named {CREDENTIALS_BLOCK!r} is saved"
        ) from exc
    return block.to_api_credentials()
