"""The landing-zone interface: a flat key -> bytes store that Spark can read by URI.

Keys are relative POSIX paths (`raw/cardapi/transactions/...`); implementations map them onto a local folder
or an S3 prefix. Writes are all-or-nothing: a reader never sees a half-written object.
"""

from __future__ import annotations

import abc


class LandingZoneError(Exception):
    """A landing-zone operation failed (bad key, missing object, storage error)."""


def check_key(key: str) -> str:
    """Reject keys that could escape the landing root or be read differently by S3 and a file system."""
    if not key or key.startswith("/") or "\\" in key:
        raise LandingZoneError(f"invalid landing key {key!r}: must be a relative POSIX path")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise LandingZoneError(f"invalid landing key {key!r}: empty, '.' or '..' segment")
    return key


class LandingZone(abc.ABC):
    """Where raw pages, manifests and watermarks live."""

    @abc.abstractmethod
    def write_bytes(self, key: str, data: bytes) -> None:
        """Store `data` under `key`, replacing any previous object atomically."""

    @abc.abstractmethod
    def read_bytes(self, key: str) -> bytes:
        """The object's bytes; FileNotFoundError when there is none."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool: ...

    @abc.abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Keys starting with `prefix` (a plain string prefix, not only a folder), sorted."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; a missing object is not an error."""

    @abc.abstractmethod
    def uri_of(self, key: str) -> str:
        """The URI Spark reads: an absolute local path or `s3://bucket/prefix/key`; "" gives the root."""
