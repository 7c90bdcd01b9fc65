"""Which doors an activation opens: the botocore events (aiobotocore rides on
them) and ``requests``.  The registry runs ``open_doors`` under its lock when
the first activation starts and ``close_doors`` when the last one ends, so
"a mock is active" and "every door intercepts" change together.  (The HTTP
server is a door too, but it serves one service of its own and needs no
activation.)"""
from __future__ import annotations

from chime_mock.activation import threads
from chime_mock.doors.botocore import hooks


def open_doors() -> None:
    from chime_mock.doors.requests import adapter   # imports requests: only once a mock starts

    hooks.open_door()
    adapter.open_door()
    threads.install()


def close_doors() -> None:
    from chime_mock.doors.requests import adapter

    adapter.close_door()
    hooks.close_door()


__all__ = ["open_doors", "close_doors"]
