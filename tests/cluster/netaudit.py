"""Which addresses the control-plane processes talk to and listen on, read from /proc (Linux).

Each process's sockets (`/proc/PID/fd` → `socket:[inode]`) are matched with the kernel's tables of its network
namespace (`/proc/PID/net/{tcp,tcp6,udp,udp6}`). `SocketAudit` samples them in a background thread for the
cluster's whole life and keeps every endpoint outside 127.0.0.0/8 (and ::1): a remote peer, or a listener bound to
another address. The egress proxy (egress.py) is the guarantee; this is the evidence.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import os
import pathlib
import socket
import struct
import threading
from collections.abc import Callable, Iterable

_TABLES = ("tcp", "tcp6", "udp", "udp6")
_TCP_LISTEN = "0A"


@dataclasses.dataclass(frozen=True)
class Endpoint:
    process: str
    protocol: str
    local: str
    remote: str
    listening: bool

    def __str__(self) -> str:
        what = f"listening on {self.local}" if self.listening else f"{self.local} -> {self.remote}"
        return f"{self.process}: {self.protocol} {what}"


def _address(hex_addr: str, v6: bool) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]:
    host, port = hex_addr.split(":")
    raw = bytes.fromhex(host)
    if v6:  # four host-order 32-bit words
        raw = b"".join(struct.pack("<I", word) for word in struct.unpack(">4I", raw))
        return ipaddress.IPv6Address(raw), int(port, 16)
    return ipaddress.IPv4Address(struct.pack("<I", int(host, 16))), int(port, 16)


def _is_local(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _unspecified(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return address.is_unspecified


def _socket_inodes(pid: int) -> set[str]:
    inodes: set[str] = set()
    fd_dir = pathlib.Path(f"/proc/{pid}/fd")
    with contextlib.suppress(OSError):
        for fd in fd_dir.iterdir():
            with contextlib.suppress(OSError):
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
    return inodes


def endpoints(processes: Iterable[tuple[str, int]]) -> list[Endpoint]:
    """The IP endpoints of these (name, pid) processes now; processes that are gone are skipped."""
    found: list[Endpoint] = []
    for name, pid in processes:
        inodes = _socket_inodes(pid)
        if not inodes:
            continue
        for table in _TABLES:
            try:
                lines = pathlib.Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
            except OSError:
                continue
            v6 = table.endswith("6")
            for line in lines:
                fields = line.split()
                if len(fields) < 10 or fields[9] not in inodes:
                    continue
                local, local_port = _address(fields[1], v6)
                remote, remote_port = _address(fields[2], v6)
                listening = (table.startswith("tcp") and fields[3] == _TCP_LISTEN) or (
                    table.startswith("udp") and _unspecified(remote)
                )
                found.append(
                    Endpoint(
                        name,
                        table,
                        _format(local, local_port),
                        _format(remote, remote_port),
                        listening,
                    )
                )
    return found


def _format(address: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int) -> str:
    return f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"


def _host(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    host = text.rsplit(":", 1)[0].strip("[]")
    return ipaddress.ip_address(host)


def beyond_loopback(found: Iterable[Endpoint]) -> list[Endpoint]:
    """Endpoints that leave 127.0.0.0/8 and ::1: a remote peer elsewhere, or a listener on another address."""
    bad = []
    for endpoint in found:
        if endpoint.listening:
            if not _is_local(_host(endpoint.local)):
                bad.append(endpoint)
        elif not _is_local(_host(endpoint.remote)):
            bad.append(endpoint)
    return bad


class SocketAudit:
    """Samples the endpoints of `processes()` every `interval` seconds until stopped; keeps those beyond loopback."""

    def __init__(self, processes: Callable[[], list[tuple[str, int]]], interval: float = 0.02) -> None:
        self._processes = processes
        self._interval = interval
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._violations: dict[Endpoint, None] = {}
        self.samples = 0
        self.peers: set[str] = set()  # every remote address seen (host part), for the record
        self._thread: threading.Thread | None = None

    @property
    def violations(self) -> list[Endpoint]:
        with self._lock:
            return list(self._violations)

    def sample(self) -> None:
        found = endpoints(self._processes())
        bad = beyond_loopback(found)
        with self._lock:
            self.samples += 1
            self.peers.update(str(_host(e.remote)) for e in found if not e.listening)
            for endpoint in bad:
                self._violations[endpoint] = None

    def start(self) -> SocketAudit:
        self._thread = threading.Thread(target=self._run, name="socket-audit", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()


def loopback_only(host: str) -> bool:
    """Whether `host` (a name or an address) resolves only to loopback addresses."""
    infos = socket.getaddrinfo(host, None)
    return all(_is_local(ipaddress.ip_address(info[4][0])) for info in infos)
