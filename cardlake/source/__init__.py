"""The card API source: client, credentials and the extraction into the landing zone."""

from cardlake.source.client import ENDPOINTS, CardApiClient, Page
from cardlake.source.credentials import ApiCredentials, credentials_from_settings, resolve_credentials
from cardlake.source.errors import ApiAuthError, CardApiError, PermanentApiError, TransientApiError
from cardlake.source.extraction import Extractor, Window, chunk_windows
from cardlake.source.retry import RetryPolicy

__all__ = [
    "ENDPOINTS",
    "ApiAuthError",
    "ApiCredentials",
    "CardApiClient",
    "CardApiError",
    "Extractor",
    "Page",
    "PermanentApiError",
    "RetryPolicy",
    "TransientApiError",
    "Window",
    "chunk_windows",
    "credentials_from_settings",
    "resolve_credentials",
]
