"""The switch's ``requests`` side: plain HTTP callers reach the same backend.

While a mock is active, requests to any Chime SDK Meetings host botocore knows
(``https://meetings-chime.<region>.<partition suffix>/...``, FIPS and
dual-stack hosts, every partition; see ``endpoints``) are answered by the same
protocol engine, through a ``responses`` mock.  Every other URL is untouched.

Order independence: moto and user code patch ``HTTPAdapter.send`` with their
own ``responses`` mocks, and the one patched last sees a request first (moto
answers every ``*.amazonaws.com`` URL it does not know with "not
implemented").  So chime_mock does not join that chain: while active,
``requests.Session.get_adapter`` hands Chime URLs to a dedicated adapter
class, whose ``send`` is the ``responses`` mock's.  Whatever
else patches ``HTTPAdapter.send``, and in whichever order, Chime URLs reach
chime_mock and every other URL goes where it went before.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

from requests import Session
from requests.adapters import HTTPAdapter

from chime_mock.doors.request import answer, as_bytes, scope_of
from chime_mock.ground.endpoints import is_chime_url
from chime_mock.ground.locks import ForkSafeLock
from chime_mock.service import registry

# Only Chime URLs reach ChimeAdapter (``_get_adapter`` decides), so the
# ``responses`` routes match whatever they are given.
_ANY_URL = re.compile(r".*", re.DOTALL)
_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")


class ChimeAdapter(HTTPAdapter):
    """Transport for Chime URLs while a mock is active (``send`` is replaced by
    the ``responses`` mock on first activation)."""

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover
        raise ConnectionError("chime_mock is not active")


#: ``Session.get_adapter`` as it was when chime_mock installed its own (a patch
#: made before that, e.g. by requests-mock or a network guard, is called for
#: every URL that is not a Chime one).
_previous_get_adapter = Session.get_adapter
_ADAPTER = ChimeAdapter()


def _get_adapter(self: Session, url: str) -> Any:
    """Chime URLs go to chime_mock while a mock is active, and are refused in
    work that outlived its mock (never sent to AWS); everything else, and
    everything while no mock is active, goes where it went before."""
    if (registry.ACTIVE or registry.stale_here()) and is_chime_url(url):
        if not registry.ACTIVE:
            registry.refuse_if_stale()
        return _ADAPTER
    return _previous_get_adapter(self, url)


class RequestsInterceptor:
    """Routes Chime URLs to ``ChimeAdapter`` while a mock is active.

    The ``responses`` mock is built once and its ``send`` stays installed on
    ``ChimeAdapter`` (which nothing reaches while no mock is active), so
    activating is one attribute swap on ``requests.Session``.
    """

    def __init__(self) -> None:
        self._lock = ForkSafeLock(reentrant=False)
        self._rmock: Optional[Any] = None

    def _build(self) -> Any:
        import responses

        routes: List[Any] = []

        def callback(request: Any) -> Tuple[int, Dict[str, str], bytes]:
            service = registry.answering()
            # ``responses`` records every call on the mock and on the route;
            # the journal is chime_mock's record, so keep theirs empty rather
            # than growing for the life of the process.
            rmock.calls.reset()
            for route in routes:
                route.calls.reset()
            access_key, scope_region = scope_of(request.headers)
            wire = answer(service, request.method, request.url, request.headers, as_bytes(request.body),
                          scope_region=scope_region, access_key=access_key)
            if request.method.upper() == "HEAD":
                # A HEAD answer has the status and headers of the GET, no body.
                headers = {k: v for k, v in wire.headers.items() if k.lower() != "content-length"}
                return wire.status, headers, b""
            return wire.status, wire.headers, wire.body

        rmock = responses.RequestsMock(assert_all_requests_are_fired=False,
                                       target=f"{__name__}.ChimeAdapter.send")
        for method in _METHODS:
            routes.append(rmock.add_callback(method, _ANY_URL, callback=callback))
        setattr(ChimeAdapter, "send", rmock.unbound_on_send())
        return rmock

    def start(self) -> None:
        """Install (once; it stays, inert while no mock is active, so that work
        outliving a mock is refused rather than sent to AWS)."""
        global _previous_get_adapter
        with self._lock:
            if self._rmock is None:
                self._rmock = self._build()
            self._rmock.calls.reset()
            if Session.get_adapter is not _get_adapter:
                _previous_get_adapter = Session.get_adapter
                setattr(Session, "get_adapter", _get_adapter)

    def stop(self) -> None:
        """Nothing to undo: ``_get_adapter`` passes everything on while no mock is active."""


INTERCEPTOR = RequestsInterceptor()


def open_door() -> None:
    """Route Chime URLs of every ``requests`` session to chime_mock."""
    INTERCEPTOR.start()


def close_door() -> None:
    INTERCEPTOR.stop()
