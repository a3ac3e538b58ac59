"""Start a throwaway PostgreSQL 15 server from the installed binaries (tests and bench/bench_warehouse.py).

A free 127.0.0.1 port, a temporary folder, password auth (md5 in pg_hba; new passwords hashed md5 so
redshift_connector, which cannot do SCRAM, can log in); always stopped and removed on exit. As root (initdb
refuses root) the server runs as the `postgres` account.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path(os.environ.get("CARDLAKE_PG_BIN", "/usr/lib/postgresql/15/bin"))
ADMIN = "cardlake_admin"


class PgUnavailable(RuntimeError):
    """No server binaries (or no account to run them as): callers skip with this reason."""


@dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    password: str

    def dsn(self, dbname: str = "postgres", user: str = ADMIN, password: str | None = None) -> str:
        return f"host={self.host} port={self.port} dbname={dbname} user={user} password={password or self.password}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise PgUnavailable("running as root and there is no 'postgres' account to run the server as") from exc
    return ["runuser", "-u", "postgres", "--"]


@contextmanager
def throwaway_postgres(extra_conf: str = "") -> Iterator[PgServer]:
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        raise PgUnavailable(
            f"PostgreSQL server binaries not found in {PG_BIN} (install postgresql-15 or set CARDLAKE_PG_BIN)"
        )
    prefix = _as_server_user()
    password = "admin-" + uuid.uuid4().hex[:12]
    root = Path(tempfile.mkdtemp(prefix="cardlake-pg-"))
    data, log, pwfile = root / "data", root / "server.log", root / "pwfile"
    pwfile.write_text(password + "\n")
    if prefix:
        shutil.chown(root, "postgres")
        shutil.chown(pwfile, "postgres")
    pg_ctl = [*prefix, str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log)]
    try:
        initdb = [*prefix, str(PG_BIN / "initdb"), "-D", str(data), "-U", ADMIN, f"--pwfile={pwfile}", "-A", "md5"]
        subprocess.run([*initdb, "-E", "UTF8", "--locale=C"], check=True, capture_output=True)
        port = free_port()
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{root}'\n"
                f"password_encryption = md5\n{extra_conf}\n"
            )
        started = subprocess.run([*pg_ctl, "-w", "-t", "60", "start"], capture_output=True, text=True)
        if started.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start: {started.stderr}\n{log.read_text() if log.exists() else ''}")
        yield PgServer("127.0.0.1", port, password)
    finally:
        subprocess.run([*pg_ctl, "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
