"""Project-wide test guard: any connection to a non-loopback address fails the test.

The mock promises no network; this makes the whole suite prove it.  The
connection is refused (so nothing leaves the machine) and the test that
tried it fails, even if the code under test swallowed the error.
"""
from __future__ import annotations

import ipaddress
import os
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


# -- parallel by default -------------------------------------------------------------
# `python -m pytest -q` runs the suite on pytest-xdist workers when xdist is
# installed (it is in the `test` extra): most tests wait on subprocesses,
# servers and sockets rather than on the CPU, so this takes the suite from
# about five minutes to about two on a 2-core machine.  Left alone when the
# command line chooses already (`-n 0` runs in one process, `-n 3`, `--dist`,
# `-p no:xdist`), for a run of chosen files or tests (`pytest tests/test_x.py`;
# add `-n auto` to spread those too), under a debugger (`--pdb`, `--trace`), for `--collect-only`,
# inside an xdist worker, and in a pytest started by a test of an xdist run.
# Without xdist the suite simply runs in one process.
def _xdist_chosen(config) -> bool:
    if not config.pluginmanager.hasplugin("xdist") or hasattr(config, "workerinput"):
        return True
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return True
    option = config.option
    if config.args and all("::" in arg or arg.endswith(".py") for arg in config.args):
        return True     # chosen files or tests: starting workers would cost more than it saves
    if getattr(option, "numprocesses", None) is not None or getattr(option, "tx", None):
        return True
    if getattr(option, "dist", "no") != "no":
        return True
    return bool(getattr(option, "usepdb", False) or getattr(option, "trace", False)
                or getattr(option, "collectonly", False))


@pytest.hookimpl(hookwrapper=True)
def pytest_cmdline_main(config):
    if not _xdist_chosen(config):
        config.option.numprocesses = "auto"
        config.option.dist = "load"
    yield


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config):
    """`-n auto` (ours or the user's): at least 4 workers, since the tests
    mostly wait (subprocesses, servers), else one per CPU."""
    return max(4, os.cpu_count() or 1)
