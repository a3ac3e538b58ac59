"""Landing zone in a local folder, through Prefect's LocalFileSystem block."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import cast

from prefect.filesystems import LocalFileSystem

from cardlake.landing.base import LandingZone, LandingZoneError, check_key

_TMP_MARK = ".tmp-"


class LocalLandingZone(LandingZone):
    def __init__(self, block: LocalFileSystem) -> None:
        if not block.basepath:
            raise LandingZoneError("LocalFileSystem block for the landing zone needs a basepath")
        self.block = block
        self.root = Path(block.basepath).expanduser().resolve()

    @classmethod
    def at(cls, root: str | Path) -> LocalLandingZone:
        return cls(LocalFileSystem(basepath=str(Path(root).expanduser().resolve())))

    def _path(self, key: str) -> Path:
        try:
            return Path(self.block._resolve_path(check_key(key)))
        except ValueError as exc:  # the block refuses paths outside its basepath
            raise LandingZoneError(str(exc)) from exc

    def write_bytes(self, key: str, data: bytes) -> None:
        final = self._path(key)
        # Write beside the target, then rename: the rename is atomic on one file system, so a reader sees
        # the old object or the new one, never a half-written file.
        parent = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
        tmp_key = f"{parent}{_TMP_MARK}{uuid.uuid4().hex}"
        # _sync=True: Prefect's documented sync dispatch, so the result is the sync implementation's str
        tmp = Path(cast(str, self.block.write_path(tmp_key, data, _sync=True)))  # type: ignore[call-arg]
        try:
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def read_bytes(self, key: str) -> bytes:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(f"landing object {key!r} not found under {self.root}")
        return cast(bytes, self.block.read_path(str(path), _sync=True))  # type: ignore[call-arg]

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> list[str]:
        # Walk only the deepest folder the prefix names, then filter by the full string prefix.
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        base = self.root / folder if folder else self.root
        if not base.is_dir():
            return []
        keys = []
        for dirpath, _, files in os.walk(base):
            for name in files:
                if name.startswith(_TMP_MARK):
                    continue
                key = Path(dirpath, name).relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def uri_of(self, key: str) -> str:
        return str(self._path(key)) if key else str(self.root)
