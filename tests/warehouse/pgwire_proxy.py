"""A loopback TCP proxy that lets redshift_connector talk to a plain PostgreSQL server, for tests.

It fixes the two things in the wire protocol that stop the driver: the startup message carries Redshift-only
parameters (client_protocol_version, driver_version, ...) that PostgreSQL rejects, so only PostgreSQL's own
are forwarded; and the driver cannot parse Debian's `server_version` ("15.18 (Debian 15.18-0+deb12u1)"), so
that ParameterStatus is cut to "15.18". Every other byte passes through untouched.
"""

from __future__ import annotations

import socket
import struct
import threading
from contextlib import suppress

_PG_STARTUP_PARAMS = {b"user", b"database", b"application_name", b"client_encoding", b"options", b"datestyle"}


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("peer closed")
        data += chunk
    return data


def _filtered_startup(message: bytes) -> bytes:
    protocol, body = message[4:8], message[8:]
    fields = body.split(b"\x00")
    pairs = [(fields[i], fields[i + 1]) for i in range(0, len(fields) - 1, 2) if fields[i]]
    kept = b"".join(k + b"\x00" + v + b"\x00" for k, v in pairs if k.lower() in _PG_STARTUP_PARAMS) + b"\x00"
    return struct.pack("!I", 8 + len(kept)) + protocol + kept


def _client_to_server(client: socket.socket, server: socket.socket) -> None:
    (length,) = struct.unpack("!I", _recv_exact(client, 4))
    first = struct.pack("!I", length) + _recv_exact(client, length - 4)
    server.sendall(_filtered_startup(first) if first[4:8] == b"\x00\x03\x00\x00" else first)
    while data := client.recv(65536):
        server.sendall(data)


def _server_to_client(server: socket.socket, client: socket.socket) -> None:
    while True:
        kind = _recv_exact(server, 1)
        (length,) = struct.unpack("!I", _recv_exact(server, 4))
        body = _recv_exact(server, length - 4)
        if kind == b"S" and body.startswith(b"server_version\x00"):
            version = body.split(b"\x00")[1].split(b" ")[0]
            body = b"server_version\x00" + version + b"\x00"
        client.sendall(kind + struct.pack("!I", len(body) + 4) + body)


class PgWireProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> PgWireProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()
        for sock in self._sockets:
            with suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            for sock in (client, server):  # small protocol messages: no Nagle/delayed-ACK stalls
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sockets += [client, server]
            for target, args in ((_client_to_server, (client, server)), (_server_to_client, (server, client))):
                threading.Thread(target=self._pump, args=(target, *args), daemon=True).start()

    @staticmethod
    def _pump(target, a: socket.socket, b: socket.socket) -> None:
        with suppress(OSError, ConnectionError):
            target(a, b)
        for sock in (a, b):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
