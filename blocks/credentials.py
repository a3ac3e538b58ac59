"""Card API credentials: inline (Prefect encrypts SecretStr fields) or a Secrets Manager secret by id."""

from __future__ import annotations

import json
from typing import Any

from prefect.blocks.core import Block
from pydantic import Field, SecretStr, model_validator

SECRET_KEYS = ("email", "password", "totp_secret", "client_id", "refresh_token")


class CardApiCredentials(Block):
    """Login for the card API: the one credentials class, saved as a block or built from settings for the simulator.

    Either a login (email, password, TOTP secret) or a refresh token, and a client id. Production users
    usually hand over a refresh token (the real login has a captcha). Secrets are SecretStr: they never print.
    """

    _block_type_name = "Card API Credentials"
    _block_type_slug = "cardlake-card-api-credentials"
    _description = "Card API base URL and login (email/password/TOTP or refresh token), or a Secrets Manager id."

    base_url: str = Field(..., description="e.g. http://127.0.0.1:8765 for the simulator")
    email: str | None = None
    password: SecretStr | None = None
    totp_secret: SecretStr | None = Field(None, description="base32 TOTP secret of the account")
    client_id: str | None = None
    refresh_token: SecretStr | None = None
    aws_secret_id: str | None = Field(
        None, description="Secrets Manager id (cardlake/card-api) holding JSON with the fields above."
    )
    region: str | None = Field(None, description="Region of the Secrets Manager secret.")

    @model_validator(mode="after")
    def _has_a_way_to_log_in(self) -> CardApiCredentials:
        if self.aws_secret_id:
            return self
        self._check_complete()
        return self

    def _check_complete(self) -> None:
        if not self.client_id:
            raise ValueError("client_id is required (or aws_secret_id)")
        if self.refresh_token is not None:
            return
        missing = [name for name in ("email", "password", "totp_secret") if not getattr(self, name)]
        if missing:
            raise ValueError(f"give a refresh_token, or email, password and totp_secret (missing: {missing})")

    def resolve(self, secrets_client: Any | None = None) -> CardApiCredentials:
        """These credentials with the Secrets Manager values filled in (fields set on the block win)."""
        if not self.aws_secret_id:
            return self
        if secrets_client is None:
            import boto3

            secrets_client = boto3.client("secretsmanager", region_name=self.region)
        raw = secrets_client.get_secret_value(SecretId=self.aws_secret_id)["SecretString"]
        try:
            stored = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"secret {self.aws_secret_id} is not JSON with keys {SECRET_KEYS}") from exc
        values = {key: stored.get(key) for key in SECRET_KEYS if stored.get(key)}
        own = {name: getattr(self, name) for name in type(self).model_fields if name != "aws_secret_id"}
        values.update({key: value for key, value in own.items() if value is not None})
        return CardApiCredentials(**values)

    @property
    def can_login(self) -> bool:
        return bool(self.email and self.password and self.totp_secret)
