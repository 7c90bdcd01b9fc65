"""The switch's aiobotocore side (aioboto3 builds on it).

aiobotocore emits the same ``before-send`` event as botocore, so the same
handler answers it; only the response differs: aiobotocore awaits
``http_response.content`` and expects its own ``AioAWSResponse`` whose
``raw.read()`` is a coroutine.  ``_hooks.before_send`` asks this module for a
response of the right kind when the request came from an aiobotocore client
(its request signer is aiobotocore's; ``before_sign`` marks the request).

Also here, for aiobotocore only:

* the fail-closed backstop: ``AioEndpoint._send`` answers a Chime request that
  somehow skipped ``before-send`` while a mock is active (aiobotocore does not
  go through ``botocore.endpoint.Endpoint._send``);
* no credential setup for a Chime client created while a mock is active
  (``AioSession`` resolves credentials in its own coroutine; see
  ``_credentials`` for the botocore side);
* the event handlers on every Chime client an ``AioSession`` creates whose
  session lacks them (``include_builtin_handlers=False``), as ``_credentials``
  does for botocore's.

aiobotocore is never imported here unless it is installed and the program
imports it: the patches are applied when ``aiobotocore`` is first imported.
"""
from __future__ import annotations

import asyncio
import contextvars
import importlib.abc
import importlib.machinery
import sys
from typing import Any, Callable, Optional, Tuple

from chime_mock.ground.errors import ChimeMockError
from chime_mock.ground.locks import ForkSafeLock
from chime_mock.ground.model import SERVICE_NAME

#: The oldest aiobotocore this module was verified against (the oldest that
#: installs beside botocore 1.35.0, chime_mock's floor).
MIN_VERSION = (2, 14, 0)
MARK = "x-chime-mock-client"
AIO = "aiobotocore"

_lock = ForkSafeLock(reentrant=False)
_response_class: Optional[type] = None
_patched = False
_creating_chime = contextvars.ContextVar("chime_mock_creating_aio_chime_client", default=False)


class UnsupportedAiobotocore(ChimeMockError, RuntimeError):
    """The installed aiobotocore cannot be answered by this chime_mock."""


def is_aio_signer(request_signer: Any) -> bool:
    """Is this request signer aiobotocore's (without importing aiobotocore)?"""
    return type(request_signer).__module__.startswith("aiobotocore.")


class AsyncRawBody:
    """The ``raw`` object ``AioAWSResponse.content`` awaits (older aiobotocore
    also reads the headers from it, as aiohttp's ``raw_headers`` byte pairs)."""

    __slots__ = ("_body", "raw_headers")

    def __init__(self, body: bytes, headers: Any = ()) -> None:
        self._body = body
        self.raw_headers = tuple((str(k).encode("utf-8"), str(v).encode("utf-8"))
                                 for k, v in dict(headers).items())

    async def read(self, *_: Any) -> bytes:
        return self._body

    def __aiter__(self) -> Any:
        return self._chunks()

    async def _chunks(self) -> Any:
        yield self._body


def _version() -> Tuple[int, ...]:
    import aiobotocore

    parts = []
    for piece in str(getattr(aiobotocore, "__version__", "0")).split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def response_class() -> type:
    """aiobotocore's ``AioAWSResponse``, after checking this aiobotocore is one
    chime_mock can answer (raises ``UnsupportedAiobotocore`` otherwise, before
    the request reaches any state)."""
    global _response_class
    if _response_class is not None:
        return _response_class
    with _lock:
        if _response_class is None:
            try:
                import aiobotocore
                from aiobotocore.awsrequest import AioAWSResponse
            except ImportError as exc:
                raise UnsupportedAiobotocore(
                    f"chime_mock cannot answer this aiobotocore ({exc}); install chime-mock[async] "
                    f"(aiobotocore >= {'.'.join(map(str, MIN_VERSION))})") from None
            version = _version()
            if version < MIN_VERSION or not isinstance(AioAWSResponse.__dict__.get("content"), property):
                raise UnsupportedAiobotocore(
                    f"chime_mock cannot answer aiobotocore {aiobotocore.__version__}: it needs "
                    f"aiobotocore >= {'.'.join(map(str, MIN_VERSION))} (pip install 'chime-mock[async]'); "
                    f"the request was not sent and nothing was changed")
            _response_class = AioAWSResponse
    return _response_class


def check(request: Any) -> bool:
    """True when the request came from an aiobotocore client (checking, for
    those, that the installed aiobotocore is supported)."""
    mark = request.headers.get(MARK)
    if mark is None:
        return False
    del request.headers[MARK]
    response_class()
    return True


def respond(url: str, status: int, headers: Any, body: bytes) -> Any:
    return response_class()(url, status, headers, AsyncRawBody(body, headers))


# -- patches applied once aiobotocore is imported -------------------------------------
def _patch(before_send: Callable[..., Any], is_chime_request: Callable[[Any, Any], bool],
           skip_retry_delays: Callable[[], bool], is_chime_send: Callable[[Any], bool],
           on_chime_client: Callable[[Any], None]) -> None:
    """Apply the aiobotocore patches, once."""
    global _patched
    with _lock:
        if _patched:
            return
        _patched = True
    _patch_send(before_send, is_chime_request)
    _patch_retries(skip_retry_delays, is_chime_send)
    _patch_credentials(on_chime_client)


def _patch_send(before_send: Callable[..., Any], is_chime_request: Callable[[Any, Any], bool]) -> None:
    """The fail-closed backstop: ``AioEndpoint._send`` answers a Chime request
    (by its endpoint's service or its URL: see ``hooks.is_chime_request``) that
    somehow skipped ``before-send`` while a mock is active."""
    from aiobotocore.endpoint import AioEndpoint

    from chime_mock.service.registry import ACTIVE

    original_send = AioEndpoint._send

    async def _send(self: Any, request: Any) -> Any:
        if ACTIVE and is_chime_request(self, request):
            request.headers[MARK] = AIO
            return before_send(request, event_name="")
        return await original_send(self, request)

    AioEndpoint._send = _send


def _patch_retries(skip_retry_delays: Callable[[], bool], is_chime_send: Callable[[Any], bool]) -> None:
    """Retries of a mocked Chime call without their asyncio.sleep (see the
    botocore side in ``hooks``): ``_needs_retry`` and the adaptive mode's
    rate limiter.  While no mock is active both are aiobotocore's own."""
    from aiobotocore.endpoint import AioEndpoint
    from botocore.hooks import first_non_none_response

    from chime_mock.service.registry import ACTIVE

    original_needs_retry = AioEndpoint._needs_retry

    async def _needs_retry(self: Any, attempts: Any, operation_model: Any, request_dict: Any,
                           response: Any = None, caught_exception: Any = None) -> Any:
        service_model = getattr(operation_model, "service_model", None)
        if not (ACTIVE and getattr(service_model, "service_name", None) == SERVICE_NAME):
            return await original_needs_retry(self, attempts, operation_model, request_dict,
                                              response=response, caught_exception=caught_exception)
        service_id = operation_model.service_model.service_id.hyphenize()
        responses = await self._event_emitter.emit(
            f"needs-retry.{service_id}.{operation_model.name}", response=response, endpoint=self,
            operation=operation_model, attempts=attempts, caught_exception=caught_exception,
            request_dict=request_dict)
        handler_response = first_non_none_response(responses)
        if handler_response is None or handler_response is False:
            return False        # no retry due: the mock need not be asked about delays
        if not skip_retry_delays():     # retry_delays=True: aiobotocore's own wait
            sleep = getattr(self, "_sleep", None) or asyncio.sleep
            await sleep(handler_response)
        return True

    AioEndpoint._needs_retry = _needs_retry
    try:
        from aiobotocore.retries.adaptive import AsyncClientRateLimiter
    except ImportError:  # pragma: no cover - an aiobotocore without the adaptive mode
        return
    original_on_sending = AsyncClientRateLimiter.on_sending_request

    async def on_sending_request(self: Any, request: Any, **kwargs: Any) -> Any:
        if ACTIVE and is_chime_send(kwargs) and skip_retry_delays():
            return None
        return await original_on_sending(self, request, **kwargs)

    AsyncClientRateLimiter.on_sending_request = on_sending_request


def _patch_credentials(on_chime_client: Callable[[Any], None]) -> None:
    """No credential setup for a Chime client created while a mock is active
    (``AioSession`` resolves credentials in its own coroutine), and the event
    handlers on every Chime client created (``on_chime_client`` leaves one
    whose session has them as it is)."""
    from aiobotocore.session import AioSession

    from chime_mock.doors.botocore.credentials import DeferredCredentials
    from chime_mock.service.registry import ACTIVE

    original_create = AioSession._create_client
    original_get_credentials = AioSession.get_credentials

    async def _create_client(self: Any, service_name: Any = None, *args: Any, **kwargs: Any) -> Any:
        if service_name != SERVICE_NAME:
            return await original_create(self, service_name, *args, **kwargs)
        if ACTIVE and kwargs.get("aws_access_key_id") is None:
            token = _creating_chime.set(True)
            try:
                client = await original_create(self, service_name, *args, **kwargs)
            finally:
                _creating_chime.reset(token)
        else:
            client = await original_create(self, service_name, *args, **kwargs)
        on_chime_client(client)
        return client

    async def get_credentials(self: Any) -> Any:
        if _creating_chime.get() and getattr(self, "_credentials", None) is None:
            _creating_chime.set(False)
            return AioDeferredCredentials(self)
        return await original_get_credentials(self)

    class AioDeferredCredentials(DeferredCredentials):
        """Async face of ``DeferredCredentials`` (aiobotocore awaits these)."""

        def __init__(self, session: Any) -> None:
            super().__init__(lambda: None)
            self._session = session

        async def _aio_credentials(self) -> Any:
            if not self._resolved:
                self._real = await original_get_credentials(self._session)
                self._resolved = True
            return self._real

        async def get_frozen_credentials(self) -> Any:
            real = await self._aio_credentials()
            return await real.get_frozen_credentials() if real is not None else None

        async def get_account_id(self) -> Any:
            real = await self._aio_credentials()
            if real is None:
                return None
            getter = getattr(real, "get_account_id", None)
            value = getter() if getter is not None else real.account_id
            return await value if hasattr(value, "__await__") else value

    AioSession._create_client = _create_client
    AioSession.get_credentials = get_credentials


class _OnImport(importlib.abc.MetaPathFinder):
    """Applies ``_patch`` right after ``aiobotocore.session`` is first imported."""

    def __init__(self, apply: Callable[[], None]) -> None:
        self._apply = apply

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "aiobotocore.session":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader, apply = spec.loader, self._apply
        original_exec = loader.exec_module

        def exec_module(module: Any) -> None:
            original_exec(module)
            try:
                sys.meta_path.remove(self)
            except ValueError:  # pragma: no cover
                pass
            apply()

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def install(before_send: Callable[..., Any], is_chime_request: Callable[[Any, Any], bool],
            skip_retry_delays: Callable[[], bool], is_chime_send: Callable[[Any], bool],
            on_chime_client: Callable[[Any], None]) -> None:
    def apply() -> None:
        _patch(before_send, is_chime_request, skip_retry_delays, is_chime_send, on_chime_client)

    if "aiobotocore.session" in sys.modules:
        apply()
    elif not any(isinstance(f, _OnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _OnImport(apply))
