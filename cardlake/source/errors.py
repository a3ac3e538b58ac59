"""Errors of the card API client: transient ones are worth retrying later, permanent ones are not."""

from __future__ import annotations


class CardApiError(Exception):
    """Any failure talking to the card API."""


class PermanentApiError(CardApiError):
    """A request the API refuses for good (4xx other than 401/429): retrying cannot help."""

    def __init__(self, message: str, status: int | None = None, endpoint: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.endpoint = endpoint


class ApiAuthError(PermanentApiError):
    """Credentials were rejected, or a fresh token was still refused."""


class TransientApiError(CardApiError):
    """Retries for a transient fault (429, 5xx, network, timeout, unreadable body) were exhausted."""

    def __init__(self, message: str, endpoint: str | None = None, attempts: int = 0) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.attempts = attempts


class ApiUnreachableError(CardApiError):
    """The client's first connection was refused: nothing listens at the base URL, so retrying cannot help."""

    def __init__(self, base_url: str) -> None:
        super().__init__(
            f"the card API at {base_url} is not reachable (connection refused): is the simulator running "
            "(`cardlake api serve`), or does CARDLAKE_API_BASE_URL point at the wrong place?"
        )
        self.base_url = base_url
