"""Pieces of the card API's auth: RFC 6238 TOTP codes and the `exp` claim of an id_token.

The client computes TOTP itself (SHA-1, 30 s step, 6 digits, as the contract pins it), so production code
does not depend on the simulator.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import struct
import time


def totp(secret_b32: str, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    """The TOTP code of a base32 secret at unix time `at` (now by default)."""
    cleaned = secret_b32.replace(" ", "").upper()
    key = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    counter = int((time.time() if at is None else at) // step)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return str(code).zfill(digits)


def jwt_expiry(token: str) -> float | None:
    """The `exp` claim (unix seconds) of a JWT, read without verifying it; None if unreadable.

    The client only needs to know when to refresh; the server is the one that verifies signatures.
    """
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = claims["exp"]
    except (IndexError, ValueError, KeyError, TypeError):
        return None
    return float(exp) if isinstance(exp, int | float) else None
