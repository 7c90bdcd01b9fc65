"""The service: one in-memory Chime SDK Meetings service, whatever the front door.

``ChimeService`` owns the state (backend), the journal, the fault rules, the
clock and the call pipeline::

    raw HTTP request -> protocol (route, parse, validate)
                     -> controls (auto-end, faults, rate quota)
                     -> backend (the service rules)
                     -> protocol (serialize, or the error envelope)

It knows nothing about botocore events, ``requests``, aiobotocore, WSGI or
activation: each front door turns its own request into
``handle(method, url, headers, body)`` and its answer back.  The in-process
switch (``ChimeMeetingsMock``) activates a service; the server serves one.
"""
from __future__ import annotations

import collections
import copy
import difflib
import functools
import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Deque, Dict, List, Mapping, Optional, Tuple, Union

from botocore import xform_name

from chime_mock.ground import regions
from chime_mock.ground.locks import ForkSafeLock
from chime_mock.ground.model import service_model
from chime_mock.backend.rules import DEFAULT_ACCOUNT, IDLE_TIMEOUT, MEETING_MAX_AGE, Attendee, CallContext, ChimeBackend, Meeting, Quotas
from chime_mock.controls.journal import Call, Fault, Faults, Journal, UserCallbackError
from chime_mock.events.log import CONTENT_SUFFIX, DEFAULT_LIMIT, EventLog, check_limit
from chime_mock.ground.errors import ChimeMockInternalError, MediaNotFound, ServiceError, UnsupportedOperationError
from chime_mock.ground.hints import checked_keywords, closest
from chime_mock.ground.ids import IdGenerator, uuid_text
from chime_mock.ground.model import error_shapes
from chime_mock.ground.endpoints import split_url
from chime_mock.protocol.restjson import Operation, RouteNotFound, WireResponse, protocol
from chime_mock.service.config import LATEST, check_clock, check_quotas, check_region, configured_region, finite_seconds
from chime_mock.protocol.validation import raise_for

log = logging.getLogger("chime_mock")
_NO_QUERY: Dict[str, List[str]] = {}   # never written: a call's query when its operation reads none
log.addHandler(logging.NullHandler())   # silent unless the application configures logging

def _no_route(method: str, path: str) -> ServiceError:
    return ServiceError(f"No operation of chime-sdk-meetings matches {method} {path}", shape="NotFoundException")


def _check_id(value: Any, argument: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be an ID string (such as a MeetingId), got {value!r}")


class ChimeService:
    """One in-memory Amazon Chime SDK Meetings service.

    :param account_id: the account a call acts as when its front door does not
        name one (12 digits).
    :param default_region: control region for a request whose region cannot be
        told from its host, credential scope or client, and for seeding; by
        default the region boto3 would use here (``AWS_REGION``,
        ``AWS_DEFAULT_REGION``, the config file), else ``us-east-1``.
    :param seed: makes every ID, token and request ID reproducible.
    :param quotas: raisable quotas to enforce: a ``Quotas`` or ``"aws"`` for
        AWS's starting values; none are enforced by default.
    :param auto_end: end meetings as the service does on its own (24 hours;
        5 minutes with nobody connected), checked on every call.
    :param clock: returns the current time in seconds; defaults to
        ``time.time()`` read at call time (so freezegun works).
    :param event_limit: how many meeting events ``events`` keeps (the
        oldest are dropped first); 10,000 by default.
    """

    @checked_keywords("ChimeService")
    def __init__(self, *, account_id: str = DEFAULT_ACCOUNT, default_region: Optional[str] = None,
                 seed: Optional[int] = None, quotas: Union[Quotas, str, None] = None, auto_end: bool = False,
                 clock: Optional[Callable[[], float]] = None, event_limit: int = DEFAULT_LIMIT) -> None:
        check_limit(event_limit, "event_limit")
        if not (isinstance(account_id, str) and len(account_id) == 12 and account_id.isdigit()):
            raise ValueError(f"account_id must be 12 digits, got {account_id!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"seed must be an integer or None, got {seed!r}")
        if not isinstance(auto_end, bool):
            raise TypeError(f"auto_end must be True or False, got {auto_end!r}")
        self.account_id = account_id
        self._default_region = check_region(default_region, "default_region") if default_region is not None \
            else None
        self.seed = seed
        self.quotas = check_quotas(quotas)
        self.auto_end = auto_end
        self._clock = check_clock(clock)
        self._clock_offset = 0.0
        self._lock = ForkSafeLock()
        self._rate: Dict[Tuple[str, str, str], Deque[float]] = {}
        self._contexts: Dict[Tuple[str, str], CallContext] = {}
        #: The meeting events this service emitted, in order (docs/events.md).
        self.events = EventLog(event_limit)
        self._event_ids = IdGenerator(self._event_seed())
        self._fresh_state()

    def _event_seed(self) -> Optional[int]:
        # Event IDs come from a generator of their own, so emitting events
        # never shifts the meeting, attendee and request IDs of a seeded service.
        return None if self.seed is None else (self.seed << 8) ^ 0xE7

    @property
    def default_region(self) -> str:
        """The configured default region, else (read once) the one boto3 would use here."""
        if self._default_region is None:
            self._default_region = configured_region()
        return self._default_region

    def config(self) -> Dict[str, Any]:
        """The keyword arguments that build a service configured like this one."""
        return dict(account_id=self.account_id, default_region=self._default_region, seed=self.seed,
                    quotas=copy.copy(self.quotas), auto_end=self.auto_end, clock=self._clock,
                    event_limit=self.events.limit)

    def _fresh_state(self) -> None:
        self.ids = IdGenerator(self.seed)
        self.backend = ChimeBackend(self.ids, self.quotas, self.now, lock=ForkSafeLock(), emit=self._emit)
        self.journal = Journal()
        self.faults = Faults()
        self._rate.clear()

    # -- time ------------------------------------------------------------------
    def now(self) -> float:
        """The service's clock: ``clock()`` (or ``time.time()``) plus any ``advance``."""
        base = self._clock() if self._clock is not None else time.time()
        return base + self._clock_offset

    def advance(self, seconds: float) -> float:
        """Move the service's clock forward (for ``auto_end``); returns the new time."""
        seconds = finite_seconds(seconds, "seconds", "a number of seconds")
        if seconds < 0:
            raise ValueError(f"seconds must not be negative (time only moves forward), got {seconds!r}")
        finite_seconds(self.now() + seconds, "seconds", "a number of seconds that keeps the clock finite")
        self._clock_offset += seconds
        return self.now()

    @property
    def clock_offset(self) -> float:
        """Seconds that ``advance``/``set_time`` moved this service's clock from its source."""
        return self._clock_offset

    def set_clock_offset(self, offset: float) -> None:
        """Put the clock ``offset`` seconds from its source (what a snapshot saved)."""
        offset = finite_seconds(offset, "offset", "a finite number of seconds")
        with self._lock:
            self._clock_offset = offset

    @property
    def event_ids(self) -> IdGenerator:
        """The generator of event IDs (separate from ``ids``, so that seeded
        meeting and attendee IDs do not depend on which events were read)."""
        return self._event_ids

    def reading(self) -> Any:
        """``with service.reading():`` holds the state still while several
        objects are read together (a page of meetings, a meeting and its
        attendees); calls and controls wait meanwhile."""
        return self.backend.lock

    def set_time(self, timestamp: float) -> None:
        """Set the service's clock to ``timestamp`` (seconds since the epoch); it runs on from there."""
        timestamp = finite_seconds(timestamp, "timestamp", "a number of seconds since the epoch")
        if not 0 <= timestamp < LATEST:
            raise ValueError(f"timestamp must be seconds since the epoch between 1970 and 9999, got {timestamp!r}")
        self._clock_offset += timestamp - self.now()

    # -- the call pipeline -------------------------------------------------------------
    def handle(self, method: str, url: str, headers: Mapping[str, Any], body: bytes, *,
               region: str, account: str, operation: Optional[str] = None) -> WireResponse:
        """Answer one raw HTTP request in ``account``/``region`` (which the
        door decided: ``chime_mock.doors.request.decide``).

        ``operation`` (when the front door already knows it) skips routing.
        """
        proto = protocol()
        request_bits = self.ids.uuid4_bits()      # the journal keeps the number, the answer the text
        request_id = uuid_text(request_bits)
        _, path, raw_query = split_url(url)
        op = proto.operations.get(operation) if operation else None
        if op is None:
            query = proto.parse_query(raw_query)
            try:
                op = proto.route(method, path, query)
            except RouteNotFound:
                log.debug("no route: %s %s -> 404 %s", method, path, request_id)
                return proto.error_response(_no_route(method, path), request_id)
        else:
            query = proto.parse_query(raw_query) if op.query_members else _NO_QUERY
        clock = self._clock
        call = Call(op.name, {}, region, account, request_bits, 0, None, None, False,
                    (clock() if clock is not None else time.time()) + self._clock_offset)
        # Parse, check the controls (faults, quotas, lifetime), run the rule,
        # serialize; a modeled error becomes AWS's envelope, noted on ``call``.
        # (One function: this runs on every call of every door.)
        try:
            try:
                try:
                    params = op.parse(path, query, headers, body)
                except RouteNotFound:   # the front door named the operation, the path does not fit it
                    raise _no_route(method, path) from None
                call.params = params
                backend = self.backend
                handler = backend._handlers.get(op.name) or backend.handler(op.name)
                if handler is None:
                    raise UnsupportedOperationError(
                        f"chime_mock does not implement {op.name}, which the installed botocore "
                        f"knows; the request was not sent to AWS")
                if self.auto_end or self.faults or self.quotas.requests_per_second is not None:
                    self._before_call(op.name, region, account, params)
                result = handler(self._contexts.get((account, region)) or self._context(account, region), params)
            except ServiceError as error:
                if not call.params and error.params:   # rejected by the model check: what was sent
                    call.params = error.params
                call.error, call.error_message = error.shape, error.message
                call.injected = error.injected
                wire = proto.error_response(error, request_id)
            else:
                call.answer = result
                wire = op.serialize(result, request_id)
        except UnsupportedOperationError:
            raise
        except UserCallbackError as exc:  # a test's own predicate raised: it is the test's error
            raise exc.original
        except Exception as exc:  # a bug in chime_mock: fail loudly, never retried
            raise ChimeMockInternalError(
                f"chime_mock failed while answering {op.name}: {type(exc).__name__}: {exc}") from exc
        call.status = wire.status
        self.journal.append(call)
        if self.events._pending:
            self._dispatch()
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s/%s -> %d%s %s", op.name, account, region, wire.status,
                      f" {call.error}: {call.error_message}" if call.error else "", request_id)
        return wire

    def refuse(self, error: ServiceError) -> WireResponse:
        """The error answer for a request a door refused before the service
        saw it (e.g. a credential scope naming another region): AWS's
        envelope with a fresh request id; nothing is journaled or changed."""
        return protocol().error_response(error, self.ids.uuid4())

    def _context(self, account: str, region: str) -> CallContext:
        key = (account, region)
        ctx = self._contexts.get(key)
        if ctx is None:
            ctx = self._contexts[key] = CallContext(account, region)
        return ctx

    def _before_call(self, operation: str, region: str, account: str, params: Dict[str, Any]) -> None:
        """Faults, quotas and lifetime rules that run before the backend."""
        if self.auto_end:
            self.end_due_meetings()
        injected = self.faults.take(operation, params)
        if injected is not None:
            log.info("injected %s answers %s", injected.shape, operation)
            raise injected
        rps = self.quotas.requests_per_second
        if rps is not None:
            now = self.now()
            with self._lock:
                window = self._rate.setdefault((account, region, operation), collections.deque())
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
        _check_id(meeting_id, "meeting_id")
        with self.backend.lock:
            return self.backend.find_meeting(meeting_id)

    def attendees(self, meeting_id: str) -> List[Attendee]:
        """Attendees of a live meeting in creation order (KeyError if unknown)."""
        with self.backend.lock:
            return list(self._require(meeting_id).attendees.values())

    def tags(self, meeting_id: str) -> Dict[str, str]:
        """The tags of a live meeting (KeyError if unknown)."""
        with self.backend.lock:
            return dict(self._require(meeting_id).tags)

    def transcription(self, meeting_id: str) -> Optional[Dict[str, Any]]:
        """The running transcription configuration, or None."""
        with self.backend.lock:
            return copy.deepcopy(self._require(meeting_id).transcription)

    def _require(self, meeting_id: str) -> Meeting:
        _check_id(meeting_id, "meeting_id")
        meeting = self.backend.find_meeting(meeting_id)
        if meeting is None:
            raise KeyError(f"no live meeting {meeting_id!r}")
        return meeting

    # -- state: write -------------------------------------------------------------------
    def add_meeting(self, /, *, external_meeting_id: str = "seeded-meeting", media_region: Optional[str] = None,
                    region: Optional[str] = None, account: Optional[str] = None,
                    **fields: Any) -> Meeting:
        """Create a meeting directly, under the same rules as CreateMeeting.

        ``region`` is the control region (default: ``default_region``), the
        region whose clients will see the meeting; ``media_region`` defaults
        to it when it is one (else ``us-east-1``).  ``fields`` take CreateMeeting's parameter names
        (``MeetingFeatures``, ``Tags``, ``TenantIds``...)."""
        region = check_region(region, "region") if region is not None else self.default_region
        _check_fields("add_meeting", "CreateMeeting", fields,
                      taken=("ExternalMeetingId", "MediaRegion"),
                      keywords=("external_meeting_id", "media_region", "region", "account"))
        if media_region is None:
            media_region = region if region in regions.MEDIA_REGIONS else "us-east-1"
        params: Dict[str, Any] = {"ClientRequestToken": self.ids.uuid4(), "ExternalMeetingId": external_meeting_id,
                                  "MediaRegion": media_region, **fields}
        result = self._direct("CreateMeeting", params, region, account)
        self._dispatch()
        return self.backend.find_meeting(result["Meeting"]["MeetingId"])  # type: ignore[return-value]

    @checked_keywords("add_attendee")
    def add_attendee(self, meeting_id: str, external_user_id: str,
                     capabilities: Optional[Dict[str, str]] = None) -> Attendee:
        """Add an attendee directly, under the same rules as CreateAttendee."""
        meeting = self._require(meeting_id)
        params: Dict[str, Any] = {"MeetingId": meeting.meeting_id, "ExternalUserId": external_user_id}
        if capabilities is not None:
            params["Capabilities"] = capabilities
        result = self._direct("CreateAttendee", params, meeting.region, meeting.account)
        self._dispatch()
        return meeting.attendees[result["Attendee"]["AttendeeId"]]

    def _direct(self, operation: str, params: Dict[str, Any], region: str, account: Optional[str]) -> Dict[str, Any]:
        op = protocol().operations[operation]
        if op.input_converter is not None:   # as a request would be read: undeclared members dropped
            params = op.input_converter(copy.deepcopy(params))
        errors: List[str] = []
        assert op.validate is not None
        op.validate(params, "", errors)
        raise_for(errors)
        handler = self.backend.handler(operation)
        assert handler is not None
        result = handler(CallContext(account or self.account_id, region), params)
        assert result is not None
        return result

    def reset(self) -> None:
        """Back to as new: forget every meeting, the journal, the fault rules
        and any ``advance`` of the clock; a seeded service repeats its IDs."""
        with self.backend.lock:
            self.ids.reseed(self.seed)
            self._event_ids.reseed(self._event_seed())
            self.backend = ChimeBackend(self.ids, self.quotas, self.now, lock=self.backend.lock, emit=self._emit)
            self.events.clear()
        self.journal.clear()
        self.faults.clear()
        with self._lock:
            self._rate.clear()
            self._clock_offset = 0.0

    # -- snapshots ----------------------------------------------------------------------
    def snapshot(self) -> Dict[str, Any]:
        """The whole state (meetings, attendees, tags, transcription, tokens,
        clock offset) as a JSON-safe dict; ``restore`` takes it back.  The
        journal, fault rules and configuration are not part of it."""
        from chime_mock.service import snapshot

        return snapshot.dump(self)

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Replace the state with a ``snapshot()`` (also one saved as JSON by
        another process).  All or nothing: a bad snapshot raises ValueError
        naming the place, and the state stays as it was."""
        from chime_mock.service import snapshot as snapshots

        snapshots.load(self, snapshot)

    # -- faults -------------------------------------------------------------------------
    if TYPE_CHECKING:  # the typed form: shape members go in ``members``, so mypy catches ``tims=2``
        def inject(self, /, error: str, operation: Optional[str] = None, *, times: Optional[int] = 1,
                   when: Optional[Callable[[Dict[str, Any]], bool]] = None, message: Optional[str] = None,
                   retry_after: Optional[int] = None, members: Optional[Mapping[str, Any]] = None) -> Fault:
            ...
    else:
        def inject(self, /, error: str, operation: Optional[str] = None, *, times: Optional[int] = 1,
                   when: Optional[Callable[[Dict[str, Any]], bool]] = None, message: Optional[str] = None,
                   retry_after: Optional[int] = None, members: Optional[Mapping[str, Any]] = None,
                   **shape_members: Any) -> Fault:
            return self._inject(error, operation, times, when, message, retry_after, members, shape_members)

    def _inject(self, error: str, operation: Optional[str], times: Optional[int],
                when: Optional[Callable[[Dict[str, Any]], bool]], message: Optional[str],
                retry_after: Optional[int], members: Optional[Mapping[str, Any]],
                shape_members: Dict[str, Any]) -> Fault:
        """Make the next ``times`` matching calls fail with the modeled ``error``
        (e.g. ``"ThrottlingException"``); ``times=None`` until ``remove_fault``.
        ``when`` is a predicate on the call's parameters; ``members`` are the
        error shape's other members (``members={"ResourceName": "arn..."}``;
        also accepted as keywords, which mypy does not check)."""
        if members is not None and not isinstance(members, Mapping):
            raise TypeError(f"members must be a mapping of the error's member names to values, got {members!r}")
        shapes = error_shapes()
        own = [m for m in shapes[error].members if m not in ("Code", "Message", "RequestId")] \
            if isinstance(error, str) and error in shapes else []
        for name in shape_members:
            if name not in own:
                guess = closest(name, own + list(_INJECT_KEYWORDS))
                hint = (f"did you mean {guess!r}?" if guess is not None else
                        f"{error} has no member {name!r}; "
                        + (f"its members are {', '.join(own)}" if own else "it has no other members"))
                raise TypeError(f"inject() got an unexpected keyword argument {name!r}; {hint}")
        every = dict(members or {})
        for name, value in shape_members.items():
            if name in every:
                raise TypeError(f"inject() got {name!r} both as a keyword and in members")
            every[name] = value
        fault = Fault(error, operation, times, when, message, retry_after, every)
        log.info("fault added: %s", fault)
        return self.faults.add(fault)

    # The handle's ``inject`` (``_seeds``) reads ``__name__``; keep the public name and docs.
    if not TYPE_CHECKING:
        inject.__doc__ = _inject.__doc__

    def remove_fault(self, fault: Fault) -> None:
        self.faults.remove(fault)

    # -- meeting lifetime -----------------------------------------------------------------
    def end_meeting(self, meeting_id: str) -> None:
        """End a meeting as the service does on its own: it and its attendees,
        tags, transcription and replicas are gone; later calls get NotFound."""
        with self.backend.lock:
            self.backend.remove_meeting(self._require(meeting_id))
        self._dispatch()

    def set_connected(self, meeting_id: str, attendee_id: str, connected: bool = True) -> None:
        """Mark an attendee as connected to the meeting's media (or not), for
        the 5-minutes-without-anyone rule of ``auto_end``: ``join`` or
        ``leave`` when that changes anything (with their events)."""
        with self.backend.lock:
            meeting = self._require(meeting_id)
            attendee = meeting.attendees.get(attendee_id.lower())
            if attendee is None:
                raise KeyError(f"no attendee {attendee_id!r} in meeting {meeting_id!r}")
            if connected and not attendee.connected:
                self.backend.join(meeting, attendee)
            elif not connected and attendee.connected:
                self.backend.leave(meeting, attendee)
            meeting.last_occupied_at = self.now()
        self._dispatch()

    # -- the media side: what clients do (D17, docs/events.md) ------------------------------
    def _media(self, action: Callable[[Meeting, Attendee], None], meeting_id: str, attendee_id: Optional[str],
               join_token: Optional[str]) -> Attendee:
        if self.auto_end:
            self.end_due_meetings()
        with self.backend.lock:
            meeting, attendee = self.backend.media_target(meeting_id, attendee_id, join_token)
            action(meeting, attendee)
        self._dispatch()
        return attendee

    def join(self, meeting_id: str, attendee_id: Optional[str] = None, *, join_token: Optional[str] = None
             ) -> Attendee:
        """A client joins the meeting as this attendee (named by AttendeeId or by
        the JoinToken it presents): ``AttendeeAuthorized`` the first time, then
        ``AttendeeJoined``.  ``MediaNotFound`` for a meeting or attendee that is
        not live (or a token that is not one), ``MediaConflict`` when already joined."""
        return self._media(self.backend.join, meeting_id, attendee_id, join_token)

    def leave(self, meeting_id: str, attendee_id: Optional[str] = None, *, join_token: Optional[str] = None
              ) -> Attendee:
        """The attendee's client leaves: ``AttendeeLeft`` (``AttendeeContentLeft``
        first when it shares content); ``MediaConflict`` when not joined."""
        return self._media(self.backend.leave, meeting_id, attendee_id, join_token)

    def drop(self, meeting_id: str, attendee_id: Optional[str] = None, *, join_token: Optional[str] = None
             ) -> Attendee:
        """The attendee's connection is lost: ``AttendeeDropped``
        (``AttendeeContentDropped`` first when it shares content)."""
        return self._media(functools.partial(self.backend.leave, dropped=True), meeting_id, attendee_id,
                           join_token)

    def start_video(self, meeting_id: str, attendee_id: Optional[str] = None, *,
                    join_token: Optional[str] = None) -> Attendee:
        """``AttendeeVideoStarted``: needs a joined attendee whose Video capability sends."""
        return self._media(functools.partial(self.backend.video, on=True), meeting_id, attendee_id, join_token)

    def stop_video(self, meeting_id: str, attendee_id: Optional[str] = None, *,
                   join_token: Optional[str] = None) -> Attendee:
        """``AttendeeVideoStopped``: needs video on."""
        return self._media(functools.partial(self.backend.video, on=False), meeting_id, attendee_id, join_token)

    def start_content_share(self, meeting_id: str, attendee_id: Optional[str] = None, *,
                            join_token: Optional[str] = None) -> Attendee:
        """``AttendeeContentJoined`` for ``<AttendeeId>#content``: needs a joined
        attendee whose Content capability sends."""
        return self._media(functools.partial(self.backend.content_share, how="Joined"), meeting_id, attendee_id,
                           join_token)

    def stop_content_share(self, meeting_id: str, attendee_id: Optional[str] = None, *,
                           join_token: Optional[str] = None) -> Attendee:
        """``AttendeeContentLeft``: needs a running content share."""
        return self._media(functools.partial(self.backend.content_share, how="Left"), meeting_id, attendee_id,
                           join_token)

    def drop_content_share(self, meeting_id: str, attendee_id: Optional[str] = None, *,
                           join_token: Optional[str] = None) -> Attendee:
        """``AttendeeContentDropped``: the content share's connection is lost."""
        return self._media(functools.partial(self.backend.content_share, how="Dropped"), meeting_id, attendee_id,
                           join_token)

    def connected(self, meeting_id: str) -> List[Attendee]:
        """Who is joined to the meeting now (creation order); MediaNotFound if it is not live."""
        if not isinstance(meeting_id, str):
            raise TypeError(f"meeting_id must be a MeetingId string, got {meeting_id!r}")
        with self.backend.lock:
            meeting = self.backend.find_meeting(meeting_id)
            if meeting is None:
                raise MediaNotFound(f"meeting_id {meeting_id!r}: no live meeting has this ID "
                                    f"(never created, deleted or ended)")
            return [a for a in meeting.attendees.values() if a.connected]

    def _dispatch(self) -> None:
        """Give the new events to the subscribers (outside the lock; a caller
        that holds the lock does not wait for another thread's subscribers)."""
        if self.events._pending:      # nothing queued (the usual case): one test
            lock: Any = self.backend.lock
            try:
                owned = lock._lock._is_owned()        # a ForkSafeLock around an RLock
            except AttributeError:
                owned = getattr(lock, "_is_owned", lambda: False)()
            self.events.dispatch(not owned)

    def _emit(self, kind: str, meeting: Meeting, attendee: Union[Attendee, List[Attendee], None],
              extra: Optional[Dict[str, Any]]) -> None:
        """The backend's event hook (called under its lock, so ``seq`` follows the state).
        A list of attendees is one event each, in order, at one ``now()``, and
        their ids from one draw (the ids a draw per event gives)."""
        if attendee is None:
            attendee_id = external_user_id = None
        elif isinstance(attendee, list):
            self._emit_each(kind, meeting, attendee, extra)
            return
        else:
            attendee_id, external_user_id = attendee.attendee_id, attendee.external_user_id
            if kind.startswith("AttendeeContent"):
                attendee_id += CONTENT_SUFFIX
                external_user_id += CONTENT_SUFFIX
        source = meeting.event_source
        if source is None:
            source = meeting.event_source = (meeting.external_meeting_id, meeting.media_region)
        bits = self._event_ids.bits(128)
        clock = self._clock                 # ``now()``, written out (a call less per event)
        self.events.emit(bits, kind, meeting.account, meeting.region,
                         (clock() if clock is not None else time.time()) + self._clock_offset,
                         meeting.meeting_id, attendee_id, meeting.notifications_configuration, source,
                         external_user_id, extra)

    def _emit_each(self, kind: str, meeting: Meeting, attendees: List[Attendee],
                   extra: Optional[Dict[str, Any]]) -> None:
        if extra is not None or kind.startswith("AttendeeContent") or not attendees:
            for attendee in attendees:
                self._emit(kind, meeting, attendee, extra)
            return
        source = meeting.event_source
        if source is None:
            source = meeting.event_source = (meeting.external_meeting_id, meeting.media_region)
        bits = self._event_ids.bits(128 * len(attendees))
        clock = self._clock
        self.events.emit_many(bits, kind, meeting.account, meeting.region,
                              (clock() if clock is not None else time.time()) + self._clock_offset,
                              meeting.meeting_id, meeting.notifications_configuration, source, attendees)

    def end_due_meetings(self) -> List[str]:
        """End every meeting the service would have ended by now; returns their IDs."""
        now = self.now()
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
        if ended:
            log.info("auto_end ended %d meeting(s): %s", len(ended), ", ".join(ended))
            self._dispatch()
        return ended


_INJECT_KEYWORDS = ("operation", "times", "when", "message", "retry_after", "members")


def _check_fields(function: str, operation: str, fields: Mapping[str, Any], taken: Tuple[str, ...],
                  keywords: Tuple[str, ...] = ()) -> None:
    """Every name in ``fields`` must be a parameter of ``operation`` (TypeError naming the typo).
    A name that is one of the function's own ``keywords`` in another casing
    (``externalMeetingId``, ``MediaRegion``) points to that keyword."""
    members = [m for m in service_model().operation_model(operation).input_shape.members if m not in taken]
    for name in fields:
        if name in members:
            continue
        own = closest(name, keywords) if keywords else None
        if own is not None and own.replace("_", "") == name.lower().replace("_", ""):
            raise TypeError(f"{function}() got an unexpected keyword argument {name!r}; did you mean {own!r}? "
                            f"({function}() takes {own}=... for {xform_camel(own)})")
        if name in taken:
            raise TypeError(f"{function}() sets {name} itself; use its keyword argument instead")
        close = [m for m in members if xform_name(m) == name or m.lower() == name.lower()] or \
            difflib.get_close_matches(name, members, n=1, cutoff=0.6)
        if not close and own is not None:
            close = [own]
        hint = f"; did you mean {close[0]!r}?" if close else f"; {operation} takes {', '.join(members)}"
        raise TypeError(f"{function}() got an unexpected keyword argument {name!r}{hint}")


def xform_camel(name: str) -> str:
    """``media_region`` -> ``MediaRegion``."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


__all__ = ["ChimeService", "protocol", "configured_region", "check_region", "finite_seconds"]
