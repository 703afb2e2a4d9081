"""The redis-server of the redis scenario: Debian's binary on a free loopback port with its own data
directory, started and stopped like every other bench process (benchlib.procs.Service: own session,
logged, stopped on error and Ctrl-C). The bench never uses a system or shared instance.

Persistence is what a durable deployment runs: the append-only file with `appendfsync everysec`
(Redis' own default for AOF, at most about a second of writes lost on a crash). motia-core and BullMQ
run on the same server with the same settings, so neither gets a cheaper Redis than the other.
"""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

from benchlib.procs import Service, free_port


class RedisServer:
    def __init__(self, workdir: Path, log: Path, cpus: str | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (make bench installs it: apt-get install redis-server)")
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.service = Service(
            "redis-server",
            [
                binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(workdir),
                "--save", "",
                "--appendonly", "yes",
                "--appendfsync", "everysec",
                "--protected-mode", "yes",
                "--daemonize", "no",
            ],
            log=log,
            cpus=cpus,
        )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.service.pid

    def start(self, timeout: float = 15.0) -> RedisServer:
        self.service.start()
        deadline = time.monotonic() + timeout
        while not self.ping():
            if not self.service.alive():
                raise RuntimeError(f"redis-server exited at start: {self.service.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer PING on port {self.port} within {timeout:g} s")
            time.sleep(0.02)
        return self

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def info(self, section: str) -> dict[str, str]:
        """`INFO <section>` as a dict (used_memory, total_commands_processed, ...): one RESP round trip."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(f"INFO {section}\r\n".encode())
            buf = b""
            while b"\r\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    raise RuntimeError("redis-server closed the connection during INFO")
                buf += chunk
            head, _, body = buf.partition(b"\r\n")
            size = int(head[1:])
            while len(body) < size:
                chunk = s.recv(65536)
                if not chunk:
                    raise RuntimeError("redis-server closed the connection during INFO")
                body += chunk
        out: dict[str, str] = {}
        for line in body[:size].decode().splitlines():
            key, sep, value = line.partition(":")
            if sep and not key.startswith("#"):
                out[key] = value
        return out

    def stop(self) -> None:
        self.service.stop(grace=5.0)
