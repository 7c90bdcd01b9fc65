"""No credential setup runs for a Chime client created while a mock is active.

botocore resolves credentials when a client is created (``Session.create_client``
calls ``Session.get_credentials``, which walks the whole provider chain: a
``credential_process`` is run, an SSO cache read, a role assumed...).  A Chime
request under the mock is unsigned, so none of that is needed, and a failing
``credential_process`` would otherwise stop the client before any request.

While a mock is active, a ``chime-sdk-meetings`` client created without
explicit keys gets ``DeferredCredentials`` instead: a stand-in that resolves
the session's real chain only when something reads it (a signed request,
which happens only after the mock has stopped).  Clients of other services,
sessions, the environment and the config files are untouched.
"""
from __future__ import annotations

import contextvars
from typing import Any, Callable, Dict, Optional

from botocore.credentials import Credentials
from botocore.session import Session

from chime_mock.ground.locks import ForkSafeLock
from chime_mock.ground.model import SERVICE_NAME
from chime_mock.service import registry

_creating_chime = contextvars.ContextVar("chime_mock_creating_chime_client", default=False)


class DeferredCredentials(Credentials):  # type: ignore[misc]
    """The session's credentials, resolved at first use rather than at client creation."""

    method = "chime-mock-deferred"

    def __init__(self, resolve: Callable[[], Optional[Credentials]]) -> None:  # no super(): lazy
        self._resolve = resolve
        self._real: Optional[Credentials] = None
        self._resolved = False
        self._lock = ForkSafeLock(reentrant=False)

    def _credentials(self) -> Optional[Credentials]:
        if not self._resolved:
            with self._lock:
                if not self._resolved:
                    self._real = self._resolve()
                    self._resolved = True
        return self._real

    def _get(self, name: str) -> Any:
        real = self._credentials()
        return getattr(real, name, None) if real is not None else None

    access_key = property(lambda self: self._get("access_key"))
    secret_key = property(lambda self: self._get("secret_key"))
    token = property(lambda self: self._get("token"))
    account_id = property(lambda self: self._get("account_id"))

    def get_frozen_credentials(self) -> Any:
        real = self._credentials()
        return real.get_frozen_credentials() if real is not None else None


def _wants_deferral(service_name: Any, kwargs: Dict[str, Any]) -> bool:
    if service_name != SERVICE_NAME or kwargs.get("aws_access_key_id") is not None:
        return False
    # Under a mock, or in work that outlived one (whose calls are refused anyway).
    return bool(registry.ACTIVE) or registry.stale_here()


_original_create_client = Session.create_client
_original_get_credentials = Session.get_credentials


#: Called with every Chime client created once chime_mock is installed, under a
#: mock or not (the event handlers are registered on it unless its session
#: already has them: a client of a session made with
#: ``include_builtin_handlers=False`` would otherwise sign with the real
#: credential chain, and send, when a mock is active by the time it is used).
_on_chime_client: Optional[Callable[[Any], None]] = None


def _create_client(self: Session, service_name: Any = None, *args: Any, **kwargs: Any) -> Any:
    if service_name != SERVICE_NAME:
        return _original_create_client(self, service_name, *args, **kwargs)
    if registry.ACTIVE or registry.stale_here():
        token = _creating_chime.set(_wants_deferral(service_name, kwargs))
        try:
            client = _original_create_client(self, service_name, *args, **kwargs)
        finally:
            _creating_chime.reset(token)
    else:
        client = _original_create_client(self, service_name, *args, **kwargs)
    if _on_chime_client is not None:
        _on_chime_client(client)
    return client


def _get_credentials(self: Session) -> Any:
    if _creating_chime.get() and getattr(self, "_credentials", None) is None:
        _creating_chime.set(False)   # only the client's own lookup is deferred
        return DeferredCredentials(lambda: _original_get_credentials(self))
    return _original_get_credentials(self)


def install(on_chime_client: Optional[Callable[[Any], None]] = None) -> None:
    """Wrap ``Session.create_client``/``get_credentials`` once (pass-through
    for other services; a Chime client gets ``on_chime_client``, and, while a
    mock is active, deferred credentials)."""
    global _on_chime_client
    _on_chime_client = on_chime_client
    if Session.create_client is not _create_client:
        Session.create_client = _create_client
        Session.get_credentials = _get_credentials
