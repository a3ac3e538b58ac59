"""Landing zone in S3, through prefect-aws's S3Bucket block (its boto3 client, so calls stay synchronous)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from prefect_aws import S3Bucket

from cardlake.landing.base import LandingZone, check_key


class S3LandingZone(LandingZone):
    def __init__(self, bucket: S3Bucket) -> None:
        self.bucket = bucket
        self.prefix = bucket.bucket_folder.strip("/")
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self.bucket.credentials.get_s3_client()
        return self._client

    def _object_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def write_bytes(self, key: str, data: bytes) -> None:
        # A single PUT is atomic in S3: readers see the previous object or the new one.
        self.client.put_object(Bucket=self.bucket.bucket_name, Key=self._object_key(key), Body=data)

    def read_bytes(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket.bucket_name, Key=self._object_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(f"landing object {key!r} not found in {self.uri_of('')}") from exc
            raise
        return response["Body"].read()

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket.bucket_name, Key=self._object_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
        return True

    def list(self, prefix: str) -> list[str]:
        full = f"{self.prefix}/{prefix}" if self.prefix else prefix
        strip = len(self.prefix) + 1 if self.prefix else 0
        paginator = self.client.get_paginator("list_objects_v2")
        keys = [
            obj["Key"][strip:]
            for page in paginator.paginate(Bucket=self.bucket.bucket_name, Prefix=full)
            for obj in page.get("Contents", [])
        ]
        return sorted(keys)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket.bucket_name, Key=self._object_key(key))

    def uri_of(self, key: str) -> str:
        base = f"s3://{self.bucket.bucket_name}"
        base = f"{base}/{self.prefix}" if self.prefix else base
        return f"{base}/{key}" if key else base
