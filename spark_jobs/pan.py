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
# A card number written in free text: 13-19 digits, optionally split by single spaces or dashes, standing alone
# (not touching a letter, nor glued to more digits by a separator, so a longer number is not cut into one).
CARD_NUMBER_IN_TEXT = r"(?<![0-9A-Za-z])(?<![0-9][ -])[0-9](?:[ -]?[0-9]){12,18}(?![0-9A-Za-z])(?![ -][0-9])"
# A cheap necessary condition, tried first: almost no free text holds 13 digits, so the rest rarely runs.
_MAYBE_CARD_NUMBER = r"[0-9](?:[ -]?[0-9]){12}"
# Every digit followed by at least four more: all but the last four, whatever separators lie between.
_BUT_LAST_FOUR_DIGITS = r"[0-9](?=(?:[ -]?[0-9]){4})"
_LUHN_DOUBLED = "0246813579"  # the Luhn value of a doubled digit d: 2d, less 9 when that exceeds 9


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


def luhn_valid(digits: Column) -> Column:
    """Whether a string of digits passes the Luhn check, in Spark SQL (no Python UDF)."""
    from_right = F.reverse(digits)
    values = F.transform(F.sequence(F.lit(1), F.length(digits)), lambda i: from_right.substr(i, F.lit(1)).cast("int"))
    # Every second digit from the right (odd 0-based index) is doubled.
    terms = F.transform(
        values, lambda d, i: F.when(i % 2 == 1, F.lit(_LUHN_DOUBLED).substr(d + 1, F.lit(1)).cast("int")).otherwise(d)
    )
    return F.aggregate(terms, F.lit(0), lambda total, term: total + term) % 10 == 0


def mask_card_numbers(text: Column) -> Column:
    """Star every digit but the last four of each Luhn-valid card number in free text, keeping separators.

    `4539 5787 6362 1486` -> `**** **** **** 1486`, `4539-5787-6362-1486` -> `****-****-****-1486`,
    `4539578763621486` -> `************1486`. Digit runs that fail the Luhn check (order or phone numbers) stay.
    """

    def mask_one(masked: Column, candidate: Column) -> Column:
        is_card = luhn_valid(F.regexp_replace(candidate, r"[ -]", ""))
        starred = F.regexp_replace(candidate, _BUT_LAST_FOUR_DIGITS, "*")
        return F.when(is_card, F.replace(masked, candidate, starred)).otherwise(masked)

    candidates = F.regexp_extract_all(text, F.lit(CARD_NUMBER_IN_TEXT), 0)
    return F.when(text.rlike(_MAYBE_CARD_NUMBER), F.aggregate(candidates, text, mask_one)).otherwise(text)
