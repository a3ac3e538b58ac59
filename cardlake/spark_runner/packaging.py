"""The job code as EMR Serverless gets it: a reproducible zip for --py-files and the entry point script.

Both are content-addressed (`<code_uri><sha256>/...`) so an unchanged tree is uploaded once and a job run
always names the exact code it ran.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ZIP_NAME = "cardlake_jobs.zip"
ENTRY_NAME = "main.py"
_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same sources give the same bytes, hence the same hash
_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
_SKIP_SUFFIXES = {".pyc", ".pyo", ".swp", ".orig", ".rej", ".tmp"}


@dataclass(frozen=True)
class CodeBundle:
    sha256: str
    zip_bytes: bytes
    entry_bytes: bytes

    def zip_uri(self, code_uri: str) -> str:
        return f"{code_uri.rstrip('/')}/{self.sha256}/{ZIP_NAME}"

    def entry_uri(self, code_uri: str) -> str:
        return f"{code_uri.rstrip('/')}/{self.sha256}/{ENTRY_NAME}"


def _package_files(root: Path, package: str) -> list[Path]:
    base = root / package
    if not (base / "__init__.py").exists():
        raise FileNotFoundError(f"{base} is not a Python package (no __init__.py): cannot ship it to EMR")
    return sorted(
        path
        for path in base.rglob("*")
        if path.is_file()
        and path.suffix not in _SKIP_SUFFIXES
        and not path.name.startswith(".")
        and not _SKIP_DIRS & set(path.parts)
    )


def build_code_bundle(root: Path, packages: Iterable[str], entry_point: Path) -> CodeBundle:
    if not entry_point.exists():
        raise FileNotFoundError(f"Spark entry point {entry_point} does not exist")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for package in packages:
            for path in _package_files(root, package):
                info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=_EPOCH)
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    zip_bytes = buffer.getvalue()
    entry_bytes = entry_point.read_bytes()
    digest = hashlib.sha256(zip_bytes)
    digest.update(b"\0" + entry_bytes)
    return CodeBundle(digest.hexdigest(), zip_bytes, entry_bytes)


def split_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def upload_if_absent(s3_client: Any, uri: str, body: bytes) -> bool:
    """Put `body` at `uri` unless an object is already there (the key is content-addressed). True if uploaded."""
    from botocore.exceptions import ClientError

    bucket, key = split_s3_uri(uri)
    try:
        s3_client.head_object(Bucket=bucket, Key=key)
        return False
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
    s3_client.put_object(Bucket=bucket, Key=key, Body=body)
    return True
