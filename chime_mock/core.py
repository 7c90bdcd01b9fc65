"""The mock handle: activation (decorator / context manager / start-stop), the
call pipeline (protocol -> controls -> backend) and the test-author controls.
"""
from __future__ import annotations

import collections
import copy
import functools
import inspect
import threading
import unittest
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Tuple

from . import _hooks
from ._http import INTERCEPTOR
from .backend import DEFAULT_ACCOUNT, IDLE_TIMEOUT, MEETING_MAX_AGE, Attendee, CallContext, ChimeBackend, Meeting, Quotas
from .controls import Call, Fault, Faults, Journal
from .errors import ChimeMockInternalError, ServiceError, UnsupportedOperationError
from .ids import IdGenerator
from .protocol import Protocol, RouteNotFound, WireResponse, header_text, region_from_auth, region_from_host
from .validation import raise_for

_PROTOCOL: Optional[Protocol] = None
_PROTOCOL_LOCK = threading.Lock()


def protocol() -> Protocol:
    """The process-wide protocol engine (compiled on first use)."""
    global _PROTOCOL
    if _PROTOCOL is None:
        with _PROTOCOL_LOCK:
            if _PROTOCOL is None:
                _PROTOCOL = Protocol()
    return _PROTOCOL


class ChimeMeetingsMock:
    """An in-memory Chime SDK Meetings service that botocore calls reach.

    Use it as a decorator, a context manager (``with``/``async with``) or with
    ``start()``/``stop()``.  Each outermost activation starts from empty state.
    While active, the handle exposes the service's state, a journal of calls,
    fault injection and meeting-lifetime controls.

    :param account_id: the account every call acts as (D7).
    :param default_region: control region for a request whose region cannot be
        told from its host, credential scope or client.
    :param seed: makes every ID, token and request ID reproducible.
    :param quotas: raisable quotas to enforce (``Quotas.aws_defaults()`` for
        AWS's starting values); none are enforced by default (D11).
    :param auto_end: end meetings as the service does on its own (24 hours;
        5 minutes with nobody connected), checked on every call against
        ``clock``.
    :param clock: returns the current time in seconds; defaults to
        ``time.time()`` read at call time (so freezegun works).
    """

    def __init__(self, *, account_id: str = DEFAULT_ACCOUNT, default_region: str = "us-east-1",
                 seed: Optional[int] = None, quotas: Optional[Quotas] = None, auto_end: bool = False,
                 clock: Optional[Callable[[], float]] = None) -> None:
        if not (isinstance(account_id, str) and len(account_id) == 12 and account_id.isdigit()):
            raise ValueError(f"account_id must be 12 digits, got {account_id!r}")
        self.account_id = account_id
        self.default_region = default_region
        self.seed = seed
        self.quotas = quotas or Quotas()
        self.auto_end = auto_end
        self._clock = clock
        self._depth = 0
        self._lock = threading.RLock()
        self._rate: Dict[Tuple[str, str, str], Deque[float]] = {}
        self._contexts: Dict[Tuple[str, str], CallContext] = {}
        self._fresh_state()

    def _fresh_state(self) -> None:
        self.ids = IdGenerator(self.seed)
        self.backend = ChimeBackend(self.ids, self.quotas, self._clock)
        self.journal = Journal()
        self.faults = Faults()
        self._rate.clear()

    # -- activation --------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self._depth > 0

    def start(self) -> "ChimeMeetingsMock":
        """Activate.  A nested ``start`` of the same handle keeps its state."""
        with self._lock:
            if self._depth == 0:
                self._fresh_state()
                protocol()
                _hooks.push(self)
                INTERCEPTOR.start(_hooks.current)
            self._depth += 1
        return self

    def stop(self) -> None:
        """Deactivate.  State stays readable until the next ``start``."""
        with self._lock:
            if self._depth == 0:
                raise RuntimeError("chime_mock: stop() called on a mock that is not started")
            self._depth -= 1
            if self._depth == 0:
                _hooks.pop(self)
                if _hooks.current() is None:
                    INTERCEPTOR.stop()

    def __enter__(self) -> "ChimeMeetingsMock":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    async def __aenter__(self) -> "ChimeMeetingsMock":
        return self.start()

    async def __aexit__(self, *exc: Any) -> None:
        self.stop()

    def __call__(self, target: Any) -> Any:
        """Decorate a function, coroutine function or class."""
        if inspect.isclass(target):
            return self._decorate_class(target)
        if inspect.iscoroutinefunction(target):
            @functools.wraps(target)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self._fresh_copy():
                    return await target(*args, **kwargs)
            return async_wrapper
        if callable(target):
            @functools.wraps(target)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                with self._fresh_copy():
                    return target(*args, **kwargs)
            return wrapper
        raise TypeError(f"mock_chime_meetings cannot decorate {target!r}")

    def _fresh_copy(self) -> "ChimeMeetingsMock":
        # A decorated function may run concurrently or recursively: each run
        # gets its own activation of this handle's configuration.  The handle
        # itself follows the latest run so ``handle.journal`` etc. work.
        return self if not self.active else ChimeMeetingsMock(**self._config())

    def _config(self) -> Dict[str, Any]:
        return dict(account_id=self.account_id, default_region=self.default_region, seed=self.seed,
                    quotas=copy.copy(self.quotas), auto_end=self.auto_end, clock=self._clock)

    def _decorate_class(self, cls: type) -> type:
        if issubclass(cls, unittest.TestCase):
            # setUp, the test, tearDown and cleanups all run inside one fresh activation.
            original_run = cls.run

            @functools.wraps(original_run)
            def run(test_self: unittest.TestCase, result: Any = None) -> Any:
                with self._fresh_copy():
                    return original_run(test_self, result)
            cls.run = run
            return cls
        if callable(getattr(cls, "setup_method", None)):
            # pytest-style class with setup_method: the activation spans
            # setup_method, the test and teardown_method (one per test).
            self._wrap_setup_teardown(cls)
            return cls
        for name, attr in list(vars(cls).items()):
            if name.startswith("test") and callable(attr):
                setattr(cls, name, self(attr))
        return cls

    def _wrap_setup_teardown(self, cls: type) -> None:
        setup = cls.setup_method
        teardown = getattr(cls, "teardown_method", None)
        handle = self

        @functools.wraps(setup)
        def setup_method(test_self: Any, method: Any = None) -> None:
            activation = handle._fresh_copy()
            activation.start()
            test_self._chime_mock_activation = activation
            try:
                setup(test_self, method)
            except BaseException:
                activation.stop()   # pytest skips teardown when setup fails
                raise

        def teardown_method(test_self: Any, method: Any = None) -> None:
            try:
                if teardown is not None:
                    teardown(test_self, method)
            finally:
                test_self.__dict__.pop("_chime_mock_activation").stop()

        if teardown is not None:
            teardown_method = functools.wraps(teardown)(teardown_method)
        cls.setup_method = setup_method
        cls.teardown_method = teardown_method

    # -- the call pipeline ----------------------------------------------------------
    def dispatch(self, method: str, url: str, headers: Mapping[str, Any], body: bytes,
                 operation: Optional[str] = None, region: Optional[str] = None) -> WireResponse:
        """Answer one raw HTTP request (the entry point of both switches)."""
        proto = protocol()
        request_id = self.ids.uuid4()
        host, path, raw_query = proto.split_url(url)
        if region is None:
            region = (region_from_host(host) or header_text(headers, _hooks.REGION_HINT)
                      or region_from_auth(headers) or self.default_region)
        op = proto.operations.get(operation) if operation else None
        if op is None:
            query = proto.parse_query(raw_query)
            try:
                op = proto.route(method, path, query)
            except RouteNotFound:
                error = ServiceError(f"No operation of chime-sdk-meetings matches {method} {path}",
                                     shape="NotFoundException")
                return proto.error_response(error, request_id)
        else:
            query = proto.parse_query(raw_query) if op.query_members else {}
        call = Call(op.name, {}, region, self.account_id, request_id)
        try:
            try:
                params = op.parse(path, query, headers, body)
                call.params = params
                handler = self.backend.handler(op.name)
                if handler is None:
                    raise UnsupportedOperationError(
                        f"chime_mock does not implement {op.name}, which the installed botocore "
                        f"knows; the request was not sent to AWS")
                self._before_call(op.name, region, params)
                result = handler(self._context(region), params)
            except ServiceError as error:
                call.error, call.error_message = error.shape, error.message
                call.injected = error.injected
                wire = proto.error_response(error, request_id)
            else:
                call.answer = result
                wire = op.serialize(result, request_id)
        except UnsupportedOperationError:
            raise
        except Exception as exc:  # a bug in chime_mock: fail loudly, never retried
            raise ChimeMockInternalError(
                f"chime_mock failed while answering {op.name}: {type(exc).__name__}: {exc}") from exc
        call.status = wire.status
        self.journal.append(call)
        return wire

    def _context(self, region: str) -> CallContext:
        key = (self.account_id, region)
        ctx = self._contexts.get(key)
        if ctx is None:
            ctx = self._contexts[key] = CallContext(self.account_id, region)
        return ctx

    def _before_call(self, operation: str, region: str, params: Dict[str, Any]) -> None:
        """Faults, quotas and lifetime rules that run before the backend."""
        if self.auto_end:
            self.end_due_meetings()
        injected = self.faults.take(operation, params)
        if injected is not None:
            raise injected
        rps = self.quotas.requests_per_second
        if rps is not None:
            now = self.backend.clock()
            with self._lock:
                window = self._rate.setdefault((self.account_id, region, operation), collections.deque())
                while window and now - window[0] >= 1.0:
                    window.popleft()
                if len(window) >= rps:
                    raise ServiceError(f"Rate exceeded: more than {rps} {operation} requests per second",
                                       shape="ThrottlingException")
                window.append(now)

    # -- state: read ------------------------------------------------------------------
    def meetings(self, *, account: Optional[str] = None, region: Optional[str] = None) -> List[Meeting]:
        """Live meetings (optionally of one account and/or control region)."""
        with self.backend.lock:
            return [m for m in self.backend.iter_meetings()
                    if (account is None or m.account == account) and (region is None or m.region == region)]

    def meeting(self, meeting_id: str) -> Optional[Meeting]:
        """The live meeting with this ID in any account/region, or None."""
        with self.backend.lock:
            return self.backend.find_meeting(meeting_id)

    def attendees(self, meeting_id: str) -> List[Attendee]:
        """Attendees of a live meeting in creation order (KeyError if unknown)."""
        with self.backend.lock:
            return list(self._require(meeting_id).attendees.values())

    def tags(self, meeting_id: str) -> Dict[str, str]:
        with self.backend.lock:
            return dict(self._require(meeting_id).tags)

    def transcription(self, meeting_id: str) -> Optional[Dict[str, Any]]:
        """The running transcription configuration, or None."""
        with self.backend.lock:
            return copy.deepcopy(self._require(meeting_id).transcription)

    def _require(self, meeting_id: str) -> Meeting:
        meeting = self.backend.find_meeting(meeting_id)
        if meeting is None:
            raise KeyError(f"no live meeting {meeting_id!r}")
        return meeting

    # -- state: write -------------------------------------------------------------------
    def add_meeting(self, *, external_meeting_id: str = "seeded-meeting", media_region: str = "us-east-1",
                    region: Optional[str] = None, account: Optional[str] = None,
                    **fields: Any) -> Meeting:
        """Create a meeting directly, under the same rules as CreateMeeting.

        ``fields`` take CreateMeeting's parameter names (``MeetingFeatures``,
        ``Tags``, ``TenantIds``...)."""
        params: Dict[str, Any] = {"ClientRequestToken": self.ids.uuid4(), "ExternalMeetingId": external_meeting_id,
                                  "MediaRegion": media_region, **fields}
        result = self._direct("CreateMeeting", params, region, account)
        return self.backend.find_meeting(result["Meeting"]["MeetingId"])

    def add_attendee(self, meeting_id: str, external_user_id: str,
                     capabilities: Optional[Dict[str, str]] = None) -> Attendee:
        """Add an attendee directly, under the same rules as CreateAttendee."""
        meeting = self._require(meeting_id)
        params: Dict[str, Any] = {"MeetingId": meeting.meeting_id, "ExternalUserId": external_user_id}
        if capabilities is not None:
            params["Capabilities"] = capabilities
        result = self._direct("CreateAttendee", params, meeting.region, meeting.account)
        return meeting.attendees[result["Attendee"]["AttendeeId"]]

    def _direct(self, operation: str, params: Dict[str, Any], region: Optional[str], account: Optional[str]) -> Dict[str, Any]:
        op = protocol().operations[operation]
        errors: List[str] = []
        op.validate(params, "", errors)
        raise_for(errors)
        ctx = CallContext(account or self.account_id, region or self.default_region)
        return self.backend.handler(operation)(ctx, params)

    def reset(self) -> None:
        """Forget every meeting, the journal and the fault rules."""
        self.backend.reset()
        self.journal.clear()
        self.faults.clear()
        self._rate.clear()

    # -- faults -------------------------------------------------------------------------
    def inject(self, error: str, operation: Optional[str] = None, *, times: Optional[int] = 1,
               when: Optional[Callable[[Dict[str, Any]], bool]] = None, message: Optional[str] = None,
               retry_after: Optional[int] = None, **members: Any) -> Fault:
        """Make the next ``times`` matching calls fail with the modeled ``error``
        (e.g. ``"ThrottlingException"``); ``times=None`` until ``remove_fault``."""
        return self.faults.add(Fault(error, operation, times, when, message, retry_after, members))

    def remove_fault(self, fault: Fault) -> None:
        self.faults.remove(fault)

    # -- meeting lifetime -----------------------------------------------------------------
    def end_meeting(self, meeting_id: str) -> None:
        """End a meeting as the service does on its own: it and its attendees,
        tags, transcription and replicas are gone; later calls get NotFound."""
        with self.backend.lock:
            self.backend.remove_meeting(self._require(meeting_id))

    def set_connected(self, meeting_id: str, attendee_id: str, connected: bool = True) -> None:
        """Mark an attendee as connected to the meeting's media (or not), for
        the 5-minutes-without-anyone rule of ``auto_end``."""
        with self.backend.lock:
            meeting = self._require(meeting_id)
            attendee = meeting.attendees.get(attendee_id.lower())
            if attendee is None:
                raise KeyError(f"no attendee {attendee_id!r} in meeting {meeting_id!r}")
            attendee.connected = connected
            meeting.last_occupied_at = self.backend.clock()

    def end_due_meetings(self) -> List[str]:
        """End every meeting the service would have ended by now; returns their IDs."""
        now = self.backend.clock()
        ended: List[str] = []
        with self.backend.lock:
            for meeting in list(self.backend.iter_meetings()):
                if self.backend.find_meeting(meeting.meeting_id) is not meeting:
                    continue  # already gone with its primary
                too_old = now - meeting.created_at >= MEETING_MAX_AGE
                idle = (meeting.primary_meeting_id is None
                        and not any(a.connected for a in meeting.attendees.values())
                        and now - meeting.last_occupied_at >= IDLE_TIMEOUT)
                if too_old or idle:
                    ended.append(meeting.meeting_id)
                    ended.extend(meeting.replicas)
                    self.backend.remove_meeting(meeting)
        return ended


def mock_chime_meetings(target: Any = None, **config: Any) -> Any:
    """``@mock_chime_meetings``, ``@mock_chime_meetings(seed=1)`` or
    ``with mock_chime_meetings() as m:``; see ``ChimeMeetingsMock``."""
    if target is not None:
        return ChimeMeetingsMock(**config)(target)
    return ChimeMeetingsMock(**config)


def current() -> Optional[ChimeMeetingsMock]:
    """The mock answering Chime calls right now (innermost active), or None."""
    return _hooks.current()
