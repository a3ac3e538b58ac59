"""The card API source: the client and the extraction into the landing zone."""

from cardlake.source.client import ENDPOINTS, CardApiClient, Page
from cardlake.source.errors import ApiAuthError, CardApiError, PermanentApiError, TransientApiError
from cardlake.source.extraction import Extractor, chunk_windows
from cardlake.source.retry import RetryPolicy

__all__ = [
    "ENDPOINTS",
    "ApiAuthError",
    "CardApiClient",
    "CardApiError",
    "Extractor",
    "Page",
    "PermanentApiError",
    "RetryPolicy",
    "TransientApiError",
    "chunk_windows",
]
