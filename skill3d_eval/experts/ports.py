"""Loopback ports for locally started servers, and proof that a given process listens on them.

A free port is only a guess until the server binds it: another start can take it meanwhile.
So ports are drawn at random *below* the kernel's ephemeral range (where the local ends of
outgoing connections, which `bind(0)` also draws from, never land), never handed out twice by
this process, and the launcher retries with fresh ones when the server reports a bind failure
(`is_bind_failure`) and checks in /proc that the process it started is the one listening
(`listening_ports`) before trusting a readiness answer on that port.
"""

from __future__ import annotations

import os
import random
import re
import socket
import threading
from collections.abc import Iterable
from pathlib import Path

_LOCK = threading.Lock()
_HANDED_OUT: set[int] = set()
_RANDOM = random.SystemRandom()  # unaffected by the harness seeding `random` (two seeded runs would pick alike)
_LOWEST = 10_000  # keep clear of well-known service ports

# What tritonserver prints when a port cannot be bound: taken by another process ("Socket
# '127.0.0.1:N' already in use"), or given twice to its own endpoints ("cannot listen to HTTP
# requests and GRPC requests at the same address and port").
_BIND_FAILURE = re.compile(r"already in use|cannot listen|same address and port|failed to bind|address in use", re.IGNORECASE)


def ephemeral_range() -> tuple[int, int]:
    try:
        low, high = (int(part) for part in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT is no obstacle
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(avoid: Iterable[int] = ()) -> int:
    """A loopback TCP port nothing is bound to now, never one this process returned before."""
    avoid = set(avoid)
    low, _ = ephemeral_range()
    with _LOCK:
        if low - _LOWEST >= 1000:
            for _ in range(200):
                port = _RANDOM.randrange(_LOWEST, low)
                if port not in _HANDED_OUT and port not in avoid and _bindable(port):
                    _HANDED_OUT.add(port)
                    return port
        while True:  # an unusual port range: let the kernel choose
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            if port not in _HANDED_OUT and port not in avoid:
                _HANDED_OUT.add(port)
                return port


def assign_ports(requested: dict[str, int | None]) -> dict[str, int]:
    """`requested` with every None replaced by a free port; all ports distinct."""
    ports = {kind: port for kind, port in requested.items() if port is not None}
    for kind, port in requested.items():
        if port is None:
            ports[kind] = free_port(avoid=ports.values())
    return {kind: ports[kind] for kind in requested}


def is_bind_failure(log_text: str) -> bool:
    return _BIND_FAILURE.search(log_text) is not None


def listening_ports(pid: int) -> set[int] | None:
    """TCP ports `pid` listens on (IPv4 and IPv6), from /proc; None where there is no /proc."""
    if not os.path.isdir("/proc/self/fd"):
        return None
    try:
        inodes = set()
        for fd in os.scandir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(fd.path)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
        ports = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            if not os.path.exists(table):
                continue
            with open(table) as rows:
                next(rows)
                for row in rows:
                    fields = row.split()
                    if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                        ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        return ports
    except (FileNotFoundError, PermissionError, NotADirectoryError):
        return set()  # gone, or not ours
