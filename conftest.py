"""Project-wide test guard: any connection to a non-loopback address fails the test.

The mock promises no network; this makes the whole suite prove it.  The
connection is refused (so nothing leaves the machine) and the test that
tried it fails, even if the code under test swallowed the error.
"""
from __future__ import annotations

import ipaddress
import socket

import pytest

_violations: list = []
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_local(address) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX paths and the like
        return True
    host = address[0]
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _guard(real):
    def connect(self, address):
        if not _is_local(address):
            _violations.append(address)
            raise ConnectionRefusedError(f"test network guard: connection to {address!r} refused")
        return real(self, address)
    return connect


def pytest_configure(config):
    socket.socket.connect = _guard(_real_connect)
    socket.socket.connect_ex = _guard(_real_connect_ex)


def pytest_unconfigure(config):
    socket.socket.connect = _real_connect
    socket.socket.connect_ex = _real_connect_ex


@pytest.fixture(autouse=True)
def _no_network():
    _violations.clear()
    yield
    if _violations:
        seen = list(_violations)
        _violations.clear()
        pytest.fail(f"the test tried to reach the network: {seen}")
