"""The switch's botocore side: event handlers and the stack of active mocks.

Handlers are installed once, at the first activation, and stay installed;
while no mock is active each one returns None at its first line, so botocore
carries on as if they were not there.  Installing them:

* into ``botocore.handlers.BUILTIN_HANDLERS``, which every botocore session
  created from then on registers (boto3's default session included);
* onto every botocore session and ``chime-sdk-meetings`` client that already
  exists (one ``gc`` walk), so module-level clients built before the first
  activation, or before ``chime_mock`` was imported, are answered too;
* onto every ``chime-sdk-meetings`` client created from then on whose session
  lacks them (``include_builtin_handlers=False``; botocore's through
  ``credentials``, aiobotocore's through ``aio``), under a mock or not, so such
  a client is answered by any mock active when it is used.

Which activation answers a call: the innermost active one of the caller's
context (a ``ContextVar``: each thread and each asyncio task has its own),
else, for a thread with no context of its own, the one service active in the
process; when several are, the call is refused rather than guessed.

They listen on the most specific events (``*.chime-sdk-meetings``), which
botocore calls before generic ones such as moto's ``before-send``, so other
services' calls never reach chime_mock and Chime calls never reach moto.
"""
from __future__ import annotations

import contextvars
import functools
import gc
import ipaddress
import logging
import time
from typing import Any, Dict, Iterator, Optional, Tuple, cast
from urllib.parse import urlsplit

import botocore
from botocore import handlers as _botocore_handlers
from botocore.awsrequest import AWSResponse
from botocore.client import BaseClient
from botocore.credentials import ContainerProvider, Credentials, InstanceMetadataProvider
from botocore.endpoint import Endpoint
from botocore.hooks import first_non_none_response
from botocore.retries.adaptive import ClientRateLimiter
from botocore.utils import IMDSRegionProvider
from botocore.session import Session
from botocore.signers import RequestSigner

from chime_mock.doors.botocore import aio as _aio
from chime_mock.doors.botocore import credentials as _credentials
from chime_mock.doors.request import answer, as_bytes
from chime_mock.ground.endpoints import is_chime_url
from chime_mock.ground.errors import ChimeMockError
from chime_mock.ground.model import SERVICE_NAME, service_model
from chime_mock.service import registry
from chime_mock.protocol.restjson import protocol

#: Carries the client's credential scope from ``before-sign`` to the
#: ``before-send`` of the same request (botocore emits both in the caller's
#: thread, aiobotocore in its task): (signing region, static access key id,
#: made by aiobotocore).  Nothing is added to the request itself.  Every
#: ``before-sign`` starts a new request in its context, so it also clears what
#: a call that never reached ``before-send`` left behind.
_SCOPE: "contextvars.ContextVar[Optional[Tuple[Optional[str], Optional[str], bool]]]" = \
    contextvars.ContextVar("chime_mock_client_scope", default=None)
_SEND_PREFIX = f"before-send.{SERVICE_NAME}."
_SEND_PREFIX_LENGTH = len(_SEND_PREFIX)
#: The key ``choose_signer`` sets in a request's context when a mock made it unsigned.
_UNSIGNED_BY_MOCK = "chime_mock_unsigned"
#: The scope of a request made unsigned by a mock that stopped before ``before_sign``.
_STOPPED_SCOPE: Tuple[Optional[str], Optional[str], bool] = (None, None, False)
_botocore_log = logging.getLogger("botocore.endpoint")


class RawBody:
    """The minimal ``raw`` object ``AWSResponse.content`` reads."""

    __slots__ = ("_body",)

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body

    def read(self, *_: Any) -> bytes:
        return self._body


def choose_signer(context: Optional[Dict[str, Any]] = None, **_: Any) -> Optional[object]:
    """While a mock is active Chime requests go unsigned: no credentials needed.
    The request's own context remembers it, so a request whose mock stops
    before ``before_sign`` is still refused.  (Work that outlived its mock is
    refused here, before any signing.)"""
    if registry.ACTIVE:
        if context is not None:
            context[_UNSIGNED_BY_MOCK] = True
        return cast(object, botocore.UNSIGNED)
    registry.refuse_if_stale()
    return None


def before_sign(request: Any, region_name: Optional[str] = None, request_signer: Any = None,
                **_: Any) -> None:
    """Tell ``before_send`` the client's own credential scope (unsigned
    requests carry none): its signing region, and its access key id when the
    client has static credentials (reading any other kind could resolve or
    refresh them), and whether the client is aiobotocore's."""
    context = getattr(request, "context", None) or {}
    if not registry.ACTIVE:
        if context.get(_UNSIGNED_BY_MOCK):
            # Made unsigned by a mock that stopped since: before_send must not let it out.
            _SCOPE.set(_STOPPED_SCOPE)
        elif _SCOPE.get() is not None:
            # Left by an earlier call of this context that never reached before_send (a
            # handler in between raised, or took before_send's place): it is not this
            # request's, and must not get this request refused.
            _SCOPE.set(None)
        return
    region = context.get("client_region") or region_name
    key = None
    if region:
        credentials: Any = getattr(request_signer, "_credentials", None)
        key = credentials.access_key if type(credentials) is Credentials else None
    _SCOPE.set((region or None, key,
                type(request_signer) is not RequestSigner and _aio.is_aio_signer(request_signer)))


def before_send(request: Any, event_name: str = "", **_: Any) -> Optional[AWSResponse]:
    """Answer a Chime request from the service active for this caller."""
    if not registry.ACTIVE:
        registry.refuse_if_stale()
        signed_under_mock = _SCOPE.get() is not None
        if signed_under_mock:
            _SCOPE.set(None)
        if signed_under_mock or (not request.headers.get("Authorization") and is_chime_url(request.url or "")):
            # Prepared unsigned under a mock that stopped while the call was under way
            # (AWS answers no unsigned Chime request): it must not go out.
            raise ChimeMockError("chime_mock stopped while this Chime call was being made; it was not "
                                 "sent to AWS")
        return None
    service = registry.answering()
    scope = _SCOPE.get()
    if scope is not None:     # what before_sign saw of this request's client
        _SCOPE.set(None)
        scope_region, access_key, is_aio = scope
        if is_aio:
            _aio.response_class()   # refuses an unsupported aiobotocore before any state changes
    else:                     # a request that reached a fallback (see _guarded_send) without before_sign
        scope_region = access_key = None
        is_aio = _aio.check(request)
    url = request.url
    operation = event_name[_SEND_PREFIX_LENGTH:] if event_name.startswith(_SEND_PREFIX) else None
    if operation:
        url = protocol().strip_base_path(url, operation)   # an endpoint_url with a path
    else:
        operation = None
    body = request.body
    wire = answer(service, request.method, url, request.headers,
                  body if type(body) is bytes else as_bytes(body),
                  scope_region=scope_region, access_key=access_key, operation=operation)
    if is_aio:
        return _aio.respond(request.url, wire.status, wire.headers, wire.body)
    return AWSResponse(request.url, wire.status, wire.headers, RawBody(wire.body))


def answer_unhooked(request: Any, **_: Any) -> Optional[AWSResponse]:
    """Answer a Chime request that reached the network layer without passing
    chime_mock's handlers (so no before_sign saw it): no client scope."""
    _SCOPE.set(None)
    return before_send(request, event_name="")


# -- retries without their sleeps ------------------------------------------------
# While a mock is active, botocore's retries of a Chime call still happen (each
# attempt goes through the mock and its journal, and the client's own retry
# mode and max_attempts decide how many), but without the backoff sleeps:
# ``Endpoint._needs_retry`` (legacy and standard modes: it sleeps for the delay
# the needs-retry handlers return) and the adaptive mode's client-side rate
# limiter (``ClientRateLimiter.on_sending_request`` waits on its token bucket).
# A handle made with ``retry_delays=True`` keeps the real delays.



def skip_retry_delays() -> bool:
    """True when a Chime call made here is answered by a mock that skips
    retry delays (every mock does unless made with ``retry_delays=True``)."""
    if not registry.ACTIVE:
        return False
    try:
        activation = registry.current()
    except ChimeMockError:   # the call itself is refused; no reason to wait for that
        return True
    return activation is not None and not getattr(activation.handle, "retry_delays", False)


def _needs_retry(self: Any, attempts: Any, operation_model: Any, request_dict: Any,
                 response: Any = None, caught_exception: Any = None) -> Any:
    """``Endpoint._needs_retry`` without its ``time.sleep`` for a mocked Chime call
    (the mock is asked only when a retry is due: most calls need none)."""
    service_model = operation_model.service_model
    if not (registry.ACTIVE and service_model.service_name == SERVICE_NAME):
        return _previous(Endpoint, "_needs_retry")(self, attempts, operation_model, request_dict,
                                                   response=response, caught_exception=caught_exception)
    service_id = service_model.service_id.hyphenize()
    responses = self._event_emitter.emit(
        f"needs-retry.{service_id}.{operation_model.name}", response=response, endpoint=self,
        operation=operation_model, attempts=attempts, caught_exception=caught_exception,
        request_dict=request_dict)
    handler_response = first_non_none_response(responses)
    if handler_response is None or handler_response is False:
        return False
    if not skip_retry_delays():     # retry_delays=True: botocore's own wait
        _botocore_log.debug("Response received to retry, sleeping for %s seconds", handler_response)
        time.sleep(handler_response)
    return True


def is_chime_send(kwargs: Any) -> bool:
    return str(kwargs.get("event_name", "")).startswith(_SEND_PREFIX)


def _on_sending_request(self: Any, request: Any, **kwargs: Any) -> Any:
    """The adaptive mode's rate limiter, without its wait for a mocked Chime call."""
    if registry.ACTIVE and is_chime_send(kwargs) and skip_retry_delays():
        return None
    return _previous(ClientRateLimiter, "on_sending_request")(self, request, **kwargs)


_HANDLERS = (
    (f"choose-signer.{SERVICE_NAME}", choose_signer, "chime_mock.choose-signer"),
    (f"before-sign.{SERVICE_NAME}", before_sign, "chime_mock.before-sign"),
    (f"before-send.{SERVICE_NAME}", before_send, "chime_mock.before-send"),
)


# -- fail-closed backstop ------------------------------------------------------

# Credential providers that reach the network (EC2 instance metadata, ECS/EKS
# container credentials).  While a mock is active they are skipped: Chime
# requests are unsigned, and a test must never wait on (or be failed by) a
# metadata lookup.  Environment and file credentials are untouched.
_NETWORK_PROVIDERS = (InstanceMetadataProvider, ContainerProvider)


def _no_network_credentials(self: Any) -> None:
    return None


# ``defaults_mode="auto"`` asks EC2 instance metadata for the region when a
# client is created; while a mock is active that lookup is skipped too.


def _no_imds_region(self: Any) -> None:
    return None


@functools.lru_cache(maxsize=256)
def _is_loopback_host(host: str) -> bool:
    """Does this host name this machine (``localhost``, 127.0.0.0/8, ``::1``)?"""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_chime_request(endpoint: Any, request: Any) -> bool:
    """Is this request, about to be sent by ``endpoint``, a Chime one that
    must not leave?  By a Chime host name in its URL, or by the endpoint's
    service (botocore's ``Endpoint`` keeps the model's endpoint prefix: a
    client's ``endpoint_url``, a VPC endpoint say, does not change it) unless
    the URL names this machine: a client whose handlers were taken off to talk
    to a local server (``chime-mock serve``) on purpose is let through."""
    url = request.url or ""
    if getattr(endpoint, "_endpoint_prefix", None) == service_model().endpoint_prefix:
        return not _is_loopback_host(urlsplit(url).hostname or "")
    return is_chime_url(url)


def _guarded_send(self: Endpoint, request: Any) -> Any:
    """While a mock is active, a Chime request that somehow skipped the
    before-send handler is answered here rather than sent to AWS."""
    if registry.ACTIVE and is_chime_request(self, request):
        return answer_unhooked(request)
    return _previous(Endpoint, "_send")(self, request)


_installed = False


def _register_on_client(client: Any) -> None:
    """The handlers on a Chime client whose session has none of them (one made
    with ``include_builtin_handlers=False``), botocore's or aiobotocore's;
    called for every Chime client created once chime_mock is installed, so a
    client that has them already (its session's) is left as it is:
    registering them twice would answer each call twice."""
    emitter = getattr(client.meta.events, "_emitter", None)
    try:
        present = list(emitter._handlers.prefix_search(f"{_SEND_PREFIX}GetMeeting"))  # type: ignore[union-attr]
    except Exception:  # another botocore's internals: register (unique ids keep it to once)
        present = []
    if before_send in present:
        return
    for event, handler, unique in _HANDLERS:
        client.meta.events.register(event, handler, unique_id=unique)


def _install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    _credentials.install(on_chime_client=_register_on_client)
    _aio.install(answer_unhooked, is_chime_request, skip_retry_delays, is_chime_send, _register_on_client)
    builtin = _botocore_handlers.BUILTIN_HANDLERS
    if any(entry[1] is before_send for entry in builtin):
        return
    for event, handler, _ in _HANDLERS:
        builtin.append((event, handler))
    # Sessions and clients that exist already never see BUILTIN_HANDLERS.
    for obj in gc.get_objects():
        try:
            if isinstance(obj, Session):
                for event, handler, unique in _HANDLERS:
                    obj.register(event, handler, unique_id=unique)
            elif isinstance(obj, BaseClient) and obj.meta.service_model.service_name == SERVICE_NAME:
                for event, handler, unique in _HANDLERS:
                    obj.meta.events.register(event, handler, unique_id=unique)
        except Exception:  # pragma: no cover - a half-built object; skip it
            continue


#: What the door puts in place while a mock is active: (class, attribute, ours).
_PATCHES: Tuple[Tuple[type, str, Any], ...] = (
    (Endpoint, "_send", _guarded_send),
    (Endpoint, "_needs_retry", _needs_retry),
    (ClientRateLimiter, "on_sending_request", _on_sending_request),
    (IMDSRegionProvider, "provide", _no_imds_region),
) + tuple((cls, "load", _no_network_credentials) for cls in _NETWORK_PROVIDERS)
#: What each attribute was when the door opened (a patch the user or another
#: library made after importing chime_mock is kept, called and put back).
_PREVIOUS: Dict[Tuple[type, str], Any] = {(cls, name): getattr(cls, name) for cls, name, _ in _PATCHES}


def _previous(cls: type, name: str) -> Any:
    return _PREVIOUS[(cls, name)]


def open_door() -> None:
    """While a mock is active: handlers answer, ``Endpoint._send`` stands guard
    (fail closed), retries skip their sleeps, and the network credential and
    region lookups are skipped.  Called under the registry's lock by the
    activation layer."""
    _install()
    for cls, name, ours in _PATCHES:
        current = getattr(cls, name)
        if current is not ours:
            _PREVIOUS[(cls, name)] = current
            setattr(cls, name, ours)


def close_door() -> None:
    """Put back what ``open_door`` replaced (unless someone patched over it since)."""
    for cls, name, ours in _PATCHES:
        if getattr(cls, name) is ours:
            setattr(cls, name, _PREVIOUS[(cls, name)])
