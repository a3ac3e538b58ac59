"""Card numbers: a keyed token (HMAC-SHA256) and the last four digits; nothing else of the PAN leaves raw.

The HMAC is built from Spark SQL functions (the key is a constant, so its ipad/opad blocks are literals), which
keeps the whole job in the JVM: no Python UDF and no per-row serialisation.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

_BLOCK = 64
# 11-19 digits standing alone (not inside a hex id or hash): the length range of card numbers seen in real data
# (the Kaggle set has 11-digit ones). Used to mask raw text kept in quarantine.
PAN_PATTERN = r"(?<![0-9A-Za-z])[0-9]{7,15}([0-9]{4})(?![0-9A-Za-z])"


def hmac_sha256_hex(message: Column, key: str) -> Column:
    if not key:
        raise ValueError("the PAN token key is empty; set it in the Secret block or CARDLAKE_PAN_TOKEN_KEY")
    raw_key = key.encode()
    if len(raw_key) > _BLOCK:
        import hashlib

        raw_key = hashlib.sha256(raw_key).digest()
    block = raw_key.ljust(_BLOCK, b"\0")
    ipad = bytes(b ^ 0x36 for b in block)
    opad = bytes(b ^ 0x5C for b in block)
    data = F.encode(message, "UTF-8")
    inner = F.unhex(F.sha2(F.concat(F.lit(ipad), data), 256))
    return F.when(message.isNull(), F.lit(None)).otherwise(F.sha2(F.concat(F.lit(opad), inner), 256))


def card_token(pan: Column, key: str) -> Column:
    return hmac_sha256_hex(F.regexp_replace(pan, r"[\s-]", ""), key)


def card_last4(pan: Column) -> Column:
    digits = F.regexp_replace(pan, r"[^0-9]", "")
    return F.when(F.length(digits) >= 4, F.substring(digits, -4, 4))


def mask_pans(text: Column) -> Column:
    """Replace every free-standing 11-19 digit run by stars and its last four: quarantined text holds no PAN."""
    return F.regexp_replace(text, PAN_PATTERN, "************$1")
