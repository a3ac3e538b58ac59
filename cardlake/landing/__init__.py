"""Landing-zone storage: one interface, a local and an S3 implementation, picked by `settings.landing`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cardlake.landing.base import LandingZone, LandingZoneError
from cardlake.landing.local import LocalLandingZone
from cardlake.landing.s3 import S3LandingZone

if TYPE_CHECKING:
    from cardlake.config import PipelineConfig

__all__ = ["LandingZone", "LandingZoneError", "LocalLandingZone", "S3LandingZone", "get_landing_zone"]


def get_landing_zone(config: PipelineConfig) -> LandingZone:
    if config.landing_bucket is not None:
        return S3LandingZone(config.landing_bucket)
    return LocalLandingZone.at(config.settings.landing_root)
