"""The LandingZone interface behaves the same on a local folder and on S3 (moto's server on loopback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cardlake.config import PipelineConfig, api_credentials, warehouse_connection
from cardlake.landing import LandingZone, LandingZoneError, LocalLandingZone, get_landing_zone
from cardlake.settings import Settings

from .conftest import make_s3_zone


@pytest.fixture(params=["local", "s3"])
def zone(request: pytest.FixtureRequest, tmp_path: Path) -> LandingZone:
    if request.param == "local":
        return LocalLandingZone.at(tmp_path / "landing")
    endpoint = request.getfixturevalue("moto_endpoint")
    return make_s3_zone(endpoint, f"bucket-{abs(hash(tmp_path)) % 10**8}")


def test_write_read_list_delete_round_trip(zone: LandingZone) -> None:
    zone.write_bytes("raw/cardapi/transactions/a-00001.json.gz", b"one")
    zone.write_bytes("raw/cardapi/transactions/a-00002.json.gz", b"two")
    zone.write_bytes("raw/cardapi/rewards/a-00001.json.gz", b"three")
    zone.write_bytes("raw/cardapi/transactions/a-00001.json.gz", b"one again")  # replace in place

    assert zone.read_bytes("raw/cardapi/transactions/a-00001.json.gz") == b"one again"
    assert zone.list("raw/cardapi/transactions/a-") == [
        "raw/cardapi/transactions/a-00001.json.gz",
        "raw/cardapi/transactions/a-00002.json.gz",
    ]
    assert zone.list("raw/cardapi/") == sorted(
        [*zone.list("raw/cardapi/transactions/"), "raw/cardapi/rewards/a-00001.json.gz"]
    )
    assert zone.list("raw/nothing/") == []

    zone.delete("raw/cardapi/transactions/a-00002.json.gz")
    zone.delete("raw/cardapi/transactions/never-written")  # deleting what is not there is fine
    assert not zone.exists("raw/cardapi/transactions/a-00002.json.gz")
    assert zone.exists("raw/cardapi/transactions/a-00001.json.gz")
    with pytest.raises(FileNotFoundError, match="a-00002"):
        zone.read_bytes("raw/cardapi/transactions/a-00002.json.gz")


@pytest.mark.parametrize("key", ["/etc/passwd", "raw/../../escape", "raw//double", ""])
def test_keys_that_could_escape_the_root_are_refused(zone: LandingZone, key: str) -> None:
    with pytest.raises(LandingZoneError, match="invalid landing key"):
        zone.write_bytes(key, b"x")


def test_local_uri_is_an_absolute_path_spark_can_read(tmp_path: Path) -> None:
    zone = LocalLandingZone.at(tmp_path / "landing")
    zone.write_bytes("raw/x/y.json.gz", b"data")
    uri = zone.uri_of("raw/x/y.json.gz")
    assert Path(uri).is_absolute() and Path(uri).read_bytes() == b"data"
    assert zone.uri_of("") == str((tmp_path / "landing").resolve())


def test_local_write_leaves_no_temporary_file_behind(tmp_path: Path) -> None:
    zone = LocalLandingZone.at(tmp_path / "landing")
    zone.write_bytes("raw/x/page.json.gz", b"data")
    assert sorted(p.name for p in (tmp_path / "landing" / "raw" / "x").iterdir()) == ["page.json.gz"]


def test_s3_uri_names_bucket_and_prefix(moto_endpoint: str) -> None:
    zone = make_s3_zone(moto_endpoint, "uri-bucket", folder="landing/")
    zone.write_bytes("raw/x/y.json.gz", b"data")
    assert zone.uri_of("raw/x/y.json.gz") == "s3://uri-bucket/landing/raw/x/y.json.gz"
    # The object really sits under the block's folder.
    assert zone.client.get_object(Bucket="uri-bucket", Key="landing/raw/x/y.json.gz")["Body"].read() == b"data"


def test_settings_pick_the_local_zone(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, landing="local")
    config = PipelineConfig(settings=settings, api=api_credentials(settings), warehouse=warehouse_connection(settings))
    zone = get_landing_zone(config)
    assert isinstance(zone, LocalLandingZone)
    assert zone.uri_of("") == str((tmp_path / "landing").resolve())
