"""Auth as the real card API does it: TOTP login, short-lived HS256 JWT id_token, refresh tokens.

Stdlib only (hmac, hashlib, base64) so the extraction client can reuse `totp_now` without new dependencies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
import struct
import threading
import time
from collections import OrderedDict

TOTP_STEP = 30
TOTP_DIGITS = 6


class AuthError(Exception):
    """Credentials or token rejected; the message is safe to show to the caller."""


def totp_now(secret_b32: str, at: float | None = None) -> str:
    """RFC 6238 TOTP (SHA-1, 30 s step, 6 digits) of a base32 secret at `at` (default: now)."""
    return _totp(secret_b32, int((time.time() if at is None else at) // TOTP_STEP))


def _totp(secret_b32: str, counter: int) -> str:
    cleaned = secret_b32.replace(" ", "").upper()
    key = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**TOTP_DIGITS
    return f"{code:0{TOTP_DIGITS}d}"


def totp_valid(secret_b32: str, code: str, at: float | None = None) -> bool:
    """Accept the code of the current and the previous 30 s step (clock skew, a code typed late)."""
    counter = int((time.time() if at is None else at) // TOTP_STEP)
    return any(hmac.compare_digest(_totp(secret_b32, c), code) for c in (counter, counter - 1))


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_encode(claims: dict, key: bytes) -> str:
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


def jwt_decode(token: str, key: bytes, now: float | None = None) -> dict:
    """Verify an HS256 JWT and its `exp`; raise AuthError with the reason otherwise."""
    parts = token.split(".")
    if len(parts) != 3:
        raise AuthError("malformed token")
    header_b64, payload_b64, signature_b64 = parts
    try:
        header = json.loads(_b64url_decode(header_b64))
        claims = json.loads(_b64url_decode(payload_b64))
        signature = _b64url_decode(signature_b64)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AuthError("malformed token") from exc
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
        raise AuthError("unsupported token")
    expected = hmac.new(key, f"{header_b64}.{payload_b64}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise AuthError("invalid token signature")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or (time.time() if now is None else now) >= exp:
        raise AuthError("token expired")
    return claims


class TokenService:
    """Issues id_tokens signed with a key generated per server process, and keeps refresh tokens in memory."""

    MAX_REFRESH_TOKENS = 10_000

    def __init__(self, *, email: str, password: str, totp_secret: str, client_id: str, ttl_seconds: int) -> None:
        self._email = email
        self._password = password
        self._totp_secret = totp_secret
        self._client_id = client_id
        self.ttl_seconds = ttl_seconds
        self._key = secrets.token_bytes(32)
        self._refresh: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def login(self, email: str, password: str, totp: str, client_id: str) -> tuple[str, str]:
        ok = (
            hmac.compare_digest(email.encode(), self._email.encode())
            & hmac.compare_digest(password.encode(), self._password.encode())
            & hmac.compare_digest(client_id.encode(), self._client_id.encode())
        )
        if not ok or not totp_valid(self._totp_secret, totp):
            raise AuthError("invalid credentials or one-time code")
        refresh = secrets.token_urlsafe(32)
        with self._lock:
            self._refresh[refresh] = email
            while len(self._refresh) > self.MAX_REFRESH_TOKENS:
                self._refresh.popitem(last=False)
        return self.issue(email), refresh

    def refresh(self, client_id: str, refresh_token: str) -> str:
        with self._lock:
            subject = self._refresh.get(refresh_token)
        if subject is None or not hmac.compare_digest(client_id.encode(), self._client_id.encode()):
            raise AuthError("unknown refresh token")
        return self.issue(subject)

    def issue(self, subject: str) -> str:
        now = time.time()
        claims = {
            "sub": subject,
            "aud": self._client_id,
            "iat": int(now),
            "exp": math.ceil(now + self.ttl_seconds),
            "jti": secrets.token_hex(8),
        }
        return jwt_encode(claims, self._key)

    def verify(self, authorization: str | None) -> dict:
        if not authorization:
            raise AuthError("missing Authorization header")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("Authorization must be 'Bearer <id_token>'")
        return jwt_decode(token.strip(), self._key)
