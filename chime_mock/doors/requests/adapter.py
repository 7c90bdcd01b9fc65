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

Backstop (fail closed): a caller can get around ``Session.get_adapter`` (a
``Session`` subclass that overrides it, an adapter's ``send`` called
directly).  Every such request still ends in ``HTTPAdapter.send`` (custom
adapters call it through ``super().send``), so while a mock is active that
``send`` hands Chime URLs to ``ChimeAdapter``: the same answer, one journal
entry (``ChimeAdapter.send`` is its own, so a request the door routed is never
seen twice).  It is put in place when the first mock starts and put back when
the last one stops, as the botocore door's patches are (``responses`` and
moto patch ``HTTPAdapter.send`` for a while too).  And
``HTTPAdapter.get_connection_with_tls_context`` (and ``get_connection``),
which open the real connection, refuse Chime URLs while a mock is active or in
work that outlived its mock: a send that skipped the backstop (an adapter with
a ``send`` of its own, a mock's pass-through to the original ``send``, work
that outlived its mock after the backstop was put back) is refused, never
sent.  Like the door, they stay installed, inert while no mock is active.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

from requests import Session
from requests.adapters import HTTPAdapter

from chime_mock.doors.request import answer, as_bytes, scope_of
from chime_mock.ground.endpoints import is_chime_url
from chime_mock.ground.errors import ChimeMockError
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


def _routed_here(url: Any) -> bool:
    """Is ``url`` a Chime URL that chime_mock must answer (or refuse) now?
    (False, one list read and one context read, while no mock is active.)"""
    return bool(registry.ACTIVE or registry.stale_here()) and isinstance(url, str) and is_chime_url(url)


#: ``HTTPAdapter``'s methods as they were when chime_mock installed its own
#: (a patch made before that is called for everything chime_mock does not take).
_previous_send = HTTPAdapter.send
_previous_connection: Dict[str, Any] = {}


def _send(self: HTTPAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
    """``HTTPAdapter.send``: a Chime URL that got around ``_get_adapter`` gets
    the door's answer (refused in work that outlived its mock); everything
    else, and everything while no mock is active, goes where it went before."""
    if _routed_here(getattr(request, "url", None)):
        if not registry.ACTIVE:
            registry.refuse_if_stale()
        return _ADAPTER.send(request, *args, **kwargs)
    return _previous_send(self, request, *args, **kwargs)


def _refusing(name: str) -> Any:
    """``HTTPAdapter.<name>`` (opens the connection a real send uses) that
    refuses Chime URLs while a mock is active or outlived."""
    def connection(self: HTTPAdapter, *args: Any, **kwargs: Any) -> Any:
        url = getattr(args[0], "url", args[0]) if args else None
        if url is None:
            url = kwargs.get("url", getattr(kwargs.get("request"), "url", None))
        if _routed_here(url):
            registry.refuse_if_stale()
            raise ChimeMockError(
                f"a requests adapter tried to open a real connection for the Chime URL {url} while chime_mock "
                f"is active; it was refused, not sent to AWS (an adapter whose send does not go through "
                f"HTTPAdapter.send, or a mock passing the request through to the network)")
        return _previous_connection[name](self, *args, **kwargs)
    connection.__name__ = connection.__qualname__ = name
    return connection


#: The connection methods of this ``requests`` (``get_connection`` is
#: deprecated; ``get_connection_with_tls_context`` arrived in 2.32).
_CONNECTION_METHODS = tuple(name for name in ("get_connection_with_tls_context", "get_connection")
                            if hasattr(HTTPAdapter, name))
_REFUSING = {name: _refusing(name) for name in _CONNECTION_METHODS}
_previous_connection.update((name, getattr(HTTPAdapter, name)) for name in _CONNECTION_METHODS)


class RequestsInterceptor:
    """Routes Chime URLs to ``ChimeAdapter`` while a mock is active.

    The ``responses`` mock is built once and its ``send`` stays installed on
    ``ChimeAdapter`` (which nothing reaches while no mock is active), so
    activating is a few attribute swaps: ``requests.Session.get_adapter``, and
    the backstop on ``HTTPAdapter`` (see the module docstring).
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
        """Install ``_get_adapter`` and the connection guards (once; they stay,
        inert while no mock is active, so that work outliving a mock is refused
        rather than sent to AWS) and the ``HTTPAdapter.send`` backstop (until
        ``stop``)."""
        global _previous_get_adapter, _previous_send
        with self._lock:
            if self._rmock is None:
                self._rmock = self._build()
            self._rmock.calls.reset()
            if Session.get_adapter is not _get_adapter:
                _previous_get_adapter = Session.get_adapter
                setattr(Session, "get_adapter", _get_adapter)
            if HTTPAdapter.send is not _send:
                _previous_send = HTTPAdapter.send
                setattr(HTTPAdapter, "send", _send)
            for name, ours in _REFUSING.items():
                current = getattr(HTTPAdapter, name)
                if current is not ours:
                    _previous_connection[name] = current
                    setattr(HTTPAdapter, name, ours)

    def stop(self) -> None:
        """Put back the ``HTTPAdapter.send`` that ``start`` replaced (unless
        someone patched over it since).  ``responses`` and moto patch that
        ``send`` for a while and put back what they found, so a ``_send`` left
        in place would keep calling their stopped mock.  ``_get_adapter`` and
        the connection guards stay: they pass everything on while no mock is
        active, and refuse Chime URLs in work that outlived its mock."""
        with self._lock:
            if HTTPAdapter.send is _send:
                setattr(HTTPAdapter, "send", _previous_send)


INTERCEPTOR = RequestsInterceptor()


def open_door() -> None:
    """Route Chime URLs of every ``requests`` session to chime_mock."""
    INTERCEPTOR.start()


def close_door() -> None:
    INTERCEPTOR.stop()
