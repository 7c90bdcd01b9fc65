"""The switch's ``requests`` side: plain HTTP callers reach the same backend.

While a mock is active, a ``responses.RequestsMock`` answers requests to
``https://meetings-chime.<region>.amazonaws.com/...`` (and the FIPS and
dual-stack hosts) with the same protocol engine; every other URL passes
through to whatever ``HTTPAdapter.send`` was installed before us (the network,
or moto's own ``responses`` mock), untouched.
"""
from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any, Optional, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from .core import ChimeMeetingsMock

CHIME_URL = re.compile(
    r"https?://meetings-chime(?:-fips)?\.[a-z0-9-]+\.(?:amazonaws\.com(?:\.cn)?|api\.aws)(?::\d+)?(?:/.*)?$"
)
_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD")


class RequestsInterceptor:
    """Starts/stops one ``responses`` mock for the outermost activation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mock: Optional[Any] = None

    def start(self, current: "callable") -> None:
        """``current()`` returns the mock to answer with (the innermost one)."""
        with self._lock:
            if self._mock is not None:
                return
            import responses
            from requests.adapters import HTTPAdapter

            def callback(request: Any) -> Tuple[int, dict, bytes]:
                mock = current()
                if mock is None:  # pragma: no cover - stopped concurrently
                    raise ConnectionError("chime_mock is not active")
                body = request.body
                if isinstance(body, str):
                    body = body.encode("utf-8")
                wire = mock.dispatch(request.method, request.url, dict(request.headers), body or b"")
                return wire.status, wire.headers, wire.body

            rmock = responses.RequestsMock(
                assert_all_requests_are_fired=False,
                real_adapter_send=HTTPAdapter.send,  # chain to whatever is installed now
            )
            for method in _METHODS:
                rmock.add_callback(method, CHIME_URL, callback=callback)
            rmock.add_passthru(re.compile(r".*"))
            rmock.start()
            self._mock = rmock

    def stop(self) -> None:
        with self._lock:
            if self._mock is not None:
                self._mock.stop(allow_assert=False)
                self._mock = None


INTERCEPTOR = RequestsInterceptor()
