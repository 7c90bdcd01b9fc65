"""The switch's botocore side: event handlers and the stack of active mocks.

Handlers are installed once, at the first activation, and stay installed;
while no mock is active each one returns None at its first line, so botocore
carries on as if they were not there.  Installing them:

* into ``botocore.handlers.BUILTIN_HANDLERS``, which every botocore session
  created from then on registers (boto3's default session included);
* onto every botocore session and ``chime-sdk-meetings`` client that already
  exists (one ``gc`` walk), so module-level clients built before the first
  activation, or before ``chime_mock`` was imported, are answered too.

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
import gc
import sys
import threading
from typing import TYPE_CHECKING, Any, Iterator, List, Optional, Tuple, cast

import botocore
from botocore import handlers as _botocore_handlers
from botocore.awsrequest import AWSResponse
from botocore.client import BaseClient
from botocore.credentials import ContainerProvider, InstanceMetadataProvider
from botocore.endpoint import Endpoint
from botocore.utils import IMDSRegionProvider
from botocore.session import Session

from chime_mock.doors import aiobotocore_patch as _aio

from chime_mock.doors import credentials as _credentials
from chime_mock.ground.locks import ForkSafeLock
from chime_mock.ground.endpoints import is_chime_url
from chime_mock.ground.errors import ChimeMockError
from chime_mock.protocol.restjson import header_text

if TYPE_CHECKING:  # pragma: no cover
    from chime_mock.activation.handle import ChimeMeetingsMock

SERVICE_ID = "chime-sdk-meetings"
REGION_HINT = "x-chime-mock-region"
_SEND_PREFIX = f"before-send.{SERVICE_ID}."

#: Active mocks of the whole process, in activation order.  Read without the
#: lock (a list read is atomic); changed only under ``_stack_lock``, together
#: with everything else the switch patches, so "a mock is active" and "every
#: front door is intercepted" are one state.
ACTIVE: List["ChimeMeetingsMock"] = []
_stack_lock = ForkSafeLock()
#: The activations started in this context (thread or task), innermost last,
#: as (handle, generation, owner): an entry is live only while that handle is
#: still in the same activation.  A task or thread that inherited a copy of
#: the context and outlives the activation holds a stale entry, and its calls
#: are refused rather than answered by a later test's mock.  (The owner, the
#: thread and task that started it, merely drops an entry that another thread
#: stopped.)
_Entry = Tuple["ChimeMeetingsMock", int, Tuple[int, int]]
_CONTEXT: "contextvars.ContextVar[Tuple[_Entry, ...]]" = contextvars.ContextVar(
    "chime_mock_activations", default=())
_interceptor: Any = None


class RawBody:
    """The minimal ``raw`` object ``AWSResponse.content`` reads."""

    __slots__ = ("_body",)

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body

    def read(self, *_: Any) -> bytes:
        return self._body


def as_bytes(body: Any) -> bytes:
    """A request body as bytes, whatever form the HTTP client keeps it in."""
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        data = body.read()
        if hasattr(body, "seek"):
            body.seek(0)
        return data if isinstance(data, bytes) else str(data).encode("utf-8")
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    # A streamed body (generator or iterable of chunks).
    return b"".join(chunk if isinstance(chunk, bytes) else str(chunk).encode("utf-8") for chunk in body)


def choose_signer(**_: Any) -> Optional[object]:
    """While a mock is active Chime requests go unsigned: no credentials needed.
    (Work that outlived its mock is refused here, before any signing.)"""
    if ACTIVE:
        return cast(object, botocore.UNSIGNED)
    if _CONTEXT.get() and _stale_here():
        _refuse_stale()
    return None


def before_sign(request: Any, region_name: Optional[str] = None, request_signer: Any = None,
                **_: Any) -> None:
    """Tell the backend the client's own region (a client is answered in its
    ``region_name`` whatever its ``endpoint_url``; unsigned requests carry no
    credential scope), and whether the client is aiobotocore's."""
    if not ACTIVE:
        return
    context = getattr(request, "context", None) or {}
    region = context.get("client_region") or region_name
    if region:
        request.headers[REGION_HINT] = region
    if _aio.is_aio_signer(request_signer):
        request.headers[_aio.MARK] = _aio.AIO


def before_send(request: Any, event_name: str = "", **_: Any) -> Optional[AWSResponse]:
    """Answer a Chime request from the mock active for this caller."""
    if not ACTIVE:
        if _CONTEXT.get() and _stale_here():
            _refuse_stale()
        return None
    mock = current()
    if mock is None:  # pragma: no cover - stopped between the two reads
        raise ChimeMockError("chime_mock stopped while a Chime call was being made; it was not sent to AWS")
    is_aio = _aio.check(request)      # refuses an unsupported aiobotocore before any state changes
    operation = event_name[len(_SEND_PREFIX):] if event_name.startswith(_SEND_PREFIX) else None
    url = request.url
    region = header_text(request.headers, REGION_HINT)
    if region is not None:
        del request.headers[REGION_HINT]
    if operation:
        url = strip_base_path(url, operation)   # an endpoint_url with a path
    wire = mock.dispatch(request.method, url, request.headers, as_bytes(request.body),
                         operation=operation or None, region=region)
    if is_aio:
        return _aio.respond(request.url, wire.status, wire.headers, wire.body)
    return AWSResponse(request.url, wire.status, wire.headers, RawBody(wire.body))


def strip_base_path(url: str, operation: str) -> str:
    """``url`` without the base path of the client's ``endpoint_url``.

    botocore appends the operation's path to the endpoint's own path
    (``http://localhost:4566/chime`` + ``/meetings/{MeetingId}``).  Labels are
    percent-encoded, so the operation's path has a fixed number of segments:
    it is the URL path's last that many segments (plus an optional trailing
    slash), and what comes before is the base path."""
    from chime_mock.service.pipeline import protocol

    op = protocol().operations.get(operation)
    start = url.find("://")
    slash = url.find("/", start + 3 if start >= 0 else 0)
    if op is None or slash < 0:
        return url
    path, sep, rest = url[slash:].partition("?")
    if op.path_regex.fullmatch(path):
        return url
    index = len(path)
    while index > 0:
        index = path.rfind("/", 0, index)
        if index <= 0:
            break
        if op.path_regex.fullmatch(path[index:]):
            return url[:slash] + path[index:] + sep + rest
    return url


_HANDLERS = (
    (f"choose-signer.{SERVICE_ID}", choose_signer, "chime_mock.choose-signer"),
    (f"before-sign.{SERVICE_ID}", before_sign, "chime_mock.before-sign"),
    (f"before-send.{SERVICE_ID}", before_send, "chime_mock.before-send"),
)


# -- fail-closed backstop ------------------------------------------------------
_original_send = Endpoint._send

# Credential providers that reach the network (EC2 instance metadata, ECS/EKS
# container credentials).  While a mock is active they are skipped: Chime
# requests are unsigned, and a test must never wait on (or be failed by) a
# metadata lookup.  Environment and file credentials are untouched.
_NETWORK_PROVIDERS = (InstanceMetadataProvider, ContainerProvider)
_original_loads = {cls: cls.load for cls in _NETWORK_PROVIDERS}


def _no_network_credentials(self: Any) -> None:
    return None


# ``defaults_mode="auto"`` asks EC2 instance metadata for the region when a
# client is created; while a mock is active that lookup is skipped too.
_original_imds_region = IMDSRegionProvider.provide


def _no_imds_region(self: Any) -> None:
    return None


def _guarded_send(self: Endpoint, request: Any) -> Any:
    """While a mock is active, a Chime request that somehow skipped the
    before-send handler is answered here rather than sent to AWS."""
    if ACTIVE and is_chime_url(request.url or ""):
        return before_send(request, event_name="")
    return _original_send(self, request)


_installed = False


def _install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    _credentials.install()
    _aio.install(before_send, is_chime_url)
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
            elif isinstance(obj, BaseClient) and obj.meta.service_model.service_name == SERVICE_ID:
                for event, handler, unique in _HANDLERS:
                    obj.meta.events.register(event, handler, unique_id=unique)
        except Exception:  # pragma: no cover - a half-built object; skip it
            continue


def push(mock: "ChimeMeetingsMock") -> None:
    global _interceptor
    with _stack_lock:
        if not ACTIVE:
            _install()
            if _interceptor is None:
                from chime_mock.doors.requests_adapter import INTERCEPTOR
                _interceptor = INTERCEPTOR
            Endpoint._send = _guarded_send
            for cls in _NETWORK_PROVIDERS:
                cls.load = _no_network_credentials
            IMDSRegionProvider.provide = _no_imds_region
            _interceptor.start(current)
        ACTIVE.append(mock)


def pop(mock: "ChimeMeetingsMock") -> None:
    with _stack_lock:
        # Remove the latest activation of this mock (stops need not be LIFO).
        for index in range(len(ACTIVE) - 1, -1, -1):
            if ACTIVE[index] is mock:
                del ACTIVE[index]
                break
        if not ACTIVE:
            _interceptor.stop()
            if IMDSRegionProvider.provide is _no_imds_region:
                IMDSRegionProvider.provide = _original_imds_region
            if Endpoint._send is _guarded_send:
                Endpoint._send = _original_send
            for cls, load in _original_loads.items():
                if cls.load is _no_network_credentials:
                    cls.load = load


def _owner() -> Tuple[int, int]:
    """This thread and asyncio task (0 outside a task)."""
    task = None
    asyncio = sys.modules.get("asyncio")
    if asyncio is not None:
        try:
            task = asyncio.current_task()
        except RuntimeError:  # no running event loop in this thread
            task = None
    return threading.get_ident(), id(task) if task is not None else 0


def enter_context(mock: "ChimeMeetingsMock") -> None:
    _CONTEXT.set(_CONTEXT.get() + ((mock, mock.generation, _owner()),))


def leave_context(mock: "ChimeMeetingsMock") -> None:
    """Forget the latest entry of ``mock`` in this context (if it was started
    here; a stop from another context leaves a stale entry behind)."""
    stack = _CONTEXT.get()
    for index in range(len(stack) - 1, -1, -1):
        if stack[index][0] is mock:
            _CONTEXT.set(stack[:index] + stack[index + 1:])
            return


def context_handle(joinable: bool = False) -> Optional["ChimeMeetingsMock"]:
    """The innermost mock active in this context (with ``joinable``, the
    innermost one another activation may join), or None."""
    for mock, generation, _ in reversed(_CONTEXT.get()):
        if mock.active and mock.generation == generation and (mock.joinable or not joinable):
            return mock
    return None


def _stale_here() -> bool:
    """True when this context holds activations that have ended, inherited
    from the thread or task that started them; the starter's own stale
    entries (stopped from elsewhere) are dropped instead."""
    stack = _CONTEXT.get()
    if not stack:
        return False
    owner = _owner()
    live = tuple(entry for entry in stack if entry[2] != owner
                 or (entry[0].active and entry[0].generation == entry[1]))
    if len(live) < len(stack):
        _CONTEXT.set(live)
    return any(not (mock.active and mock.generation == generation) for mock, generation, _ in live)


def _refuse_stale() -> None:
    raise ChimeMockError(
        "this thread or task was started inside a chime_mock activation that has ended, so its "
        "Chime calls are refused (not sent to AWS, nor answered by another test's mock); finish "
        "background work before the mock stops")


def current() -> Optional["ChimeMeetingsMock"]:
    """The mock answering Chime calls here: this context's innermost active
    one, else the process's one active service; several -> ChimeMockError."""
    mock = context_handle()
    if mock is not None:
        return mock
    if _CONTEXT.get() and _stale_here():
        _refuse_stale()
    active = list(ACTIVE)
    if not active:
        return None
    if all(m.service is active[-1].service for m in active):
        return active[-1]
    raise ChimeMockError(
        f"{len(active)} separate chime_mock services are active in other threads or tasks and this "
        f"thread has none of its own, so chime_mock cannot tell which should answer this Chime call "
        f"(it was not sent to AWS). Start the thread's work inside the activation it belongs to "
        f"(`with handle:`), or run it with contextvars.copy_context().run(...)")
