"""Landing-zone storage: one interface, a local and an S3 implementation, picked by `settings.landing`."""

from __future__ import annotations

from cardlake.landing.base import LandingZone, LandingZoneError
from cardlake.landing.local import LocalLandingZone
from cardlake.landing.s3 import S3LandingZone
from cardlake.settings import Settings

__all__ = ["LandingZone", "LandingZoneError", "LocalLandingZone", "S3LandingZone", "get_landing_zone"]


def get_landing_zone(settings: Settings) -> LandingZone:
    if settings.landing == "s3":
        from prefect_aws import S3Bucket

        return S3LandingZone(S3Bucket.load(settings.landing_s3_bucket_block, _sync=True))
    return LocalLandingZone.at(settings.landing_root)
