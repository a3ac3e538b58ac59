"""One safe log store on S3 (docs/adr/0015): delta-spark commits through S3DynamoDBLogStore, delta-rs never writes
an S3 lake, and the DynamoDB table Terraform declares gives one winner per table version (moto)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from pyspark.sql.types import LongType, StructField, StructType

from cardlake.config import ConfigError, check_lake_engine
from cardlake.settings import Settings
from spark_jobs.delta_io.delta_rs import DeltaRsIO, UnsafeDeltaWriteError
from tests.infra import tf_model as tf

SCHEMA = StructType([StructField("id", LongType())])
REGION = "eu-west-2"


@pytest.mark.parametrize("uri", ["s3://cardlake-lake/lake/silver/transactions", "s3a://bucket/lake/gold/x"])
def test_delta_rs_refuses_to_write_an_s3_table_with_one_line(uri: str) -> None:
    io = DeltaRsIO()
    for write in (lambda: io.create_if_absent(uri, SCHEMA), lambda: io.compact(uri), lambda: io.vacuum(uri, 168)):
        with pytest.raises(UnsafeDeltaWriteError) as refused:
            write()
        message = str(refused.value)
        assert "\n" not in message and "S3DynamoDBLogStore" in message
        assert "CARDLAKE_DELTA_ENGINE=delta-spark" in message


def test_delta_rs_still_writes_a_local_table(tmp_path: Path) -> None:
    assert DeltaRsIO().create_if_absent(str(tmp_path / "t"), SCHEMA) is True


def settings(**values: str) -> Settings:
    return Settings(**values)  # type: ignore[arg-type]


def test_an_s3_lake_with_the_delta_rs_engine_is_refused_at_configuration() -> None:
    with pytest.raises(ConfigError, match=r"CARDLAKE_DELTA_ENGINE=delta-rs cannot write the S3 lake s3://b/lake"):
        check_lake_engine(settings(lake_uri="s3://b/lake", spark_runner="local-submit", delta_engine="delta-rs"))
    check_lake_engine(settings(lake_uri="s3://b/lake", spark_runner="local-submit", delta_engine="delta-spark"))
    check_lake_engine(settings(lake_uri="s3://b/lake", spark_runner="emr-serverless", delta_engine="delta-rs"))
    check_lake_engine(settings(spark_runner="local-submit", delta_engine="delta-rs"))  # the local lake


def test_the_cli_says_it_in_one_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CARDLAKE_HOME": str(tmp_path)}
    env |= {"CARDLAKE_LAKE_URI": "s3://b/lake", "CARDLAKE_DELTA_ENGINE": "delta-rs"}
    cardlake = str(Path(sys.executable).parent / "cardlake")
    done = subprocess.run([cardlake, "run", "--start", "2025-06-01", "--end", "2025-06-02"], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode != 0
    lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot write the S3 lake" in lines[0], lines


@pytest.fixture()
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        yield boto3.client("dynamodb", region_name=REGION)


def terraform_table(client: object) -> str:
    """The table as infra/delta_log.tf declares it, created in moto from the parsed attributes."""
    table = tf.resources("aws_dynamodb_table")["delta_log"]
    attributes = [
        {"AttributeName": tf.attr(a, "name"), "AttributeType": tf.attr(a, "type")}
        for a in tf.nested(table, "attribute")
    ]
    name = tf.attr(table, "name")
    client.create_table(  # type: ignore[attr-defined]
        TableName=name,
        BillingMode=tf.attr(table, "billing_mode"),
        AttributeDefinitions=attributes,
        KeySchema=[
            {"AttributeName": tf.attr(table, "hash_key"), "KeyType": "HASH"},
            {"AttributeName": tf.attr(table, "range_key"), "KeyType": "RANGE"},
        ],
    )
    (ttl,) = tf.nested(table, "ttl")
    client.update_time_to_live(  # type: ignore[attr-defined]
        TableName=name,
        TimeToLiveSpecification={"Enabled": tf.attr(ttl, "enabled"), "AttributeName": tf.attr(ttl, "attribute_name")},
    )
    return name


def test_the_terraform_table_lets_one_writer_win_each_table_version(dynamodb: object) -> None:
    """What S3DynamoDBLogStore does per commit: put (tablePath, fileName) only if absent; the second writer of the
    same version is refused and must retry at the next version, whatever the other table paths do."""
    from contracts.names import DELTA_LOG_TABLE

    name = terraform_table(dynamodb)
    assert name == DELTA_LOG_TABLE
    described = dynamodb.describe_time_to_live(TableName=name)  # type: ignore[attr-defined]
    assert described["TimeToLiveDescription"]["AttributeName"] == "expireTime"

    def commit(table_path: str, version: int, writer: str) -> bool:
        item = {
            "tablePath": {"S": table_path},
            "fileName": {"S": f"{version:020d}.json"},
            "tempPath": {"S": f".tmp/{version}.json.{writer}"},
            "complete": {"S": "false"},
        }
        try:
            dynamodb.put_item(TableName=name, Item=item, ConditionExpression="attribute_not_exists(fileName)")  # type: ignore[attr-defined]
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException"
            return False
        return True

    lake = "s3://cardlake-lake/lake"
    assert commit(f"{lake}/silver/transactions", 7, "daily") is True
    assert commit(f"{lake}/silver/transactions", 7, "alerts") is False  # same version: refused
    assert commit(f"{lake}/silver/transactions", 8, "alerts") is True  # the retry at the next version
    assert commit(f"{lake}/silver/rewards", 7, "alerts") is True  # another table is independent
