"""Meeting events: what the service emits, kept in order, streamed to subscribers.

``MeetingEvent`` is one event in AWS's shape (``envelope()`` is the whole
EventBridge event, ``detail`` its ``detail``).  ``EventLog`` (a service's
``events``) keeps the newest ``limit`` of them in emission order, numbers
them (``seq``, the cursor), lets tests filter them and wait for one, and
calls subscribers with each, in order, outside the service's lock.

Emission is cheap on purpose: while no subscriber takes them, the log keeps
what makes an emission's events (a tuple of references to values the service
already holds) and makes the events when it is read; an event's fields are
filled in from that tuple, and its ``detail`` dict is built, on first read.
"""
from __future__ import annotations

import copy
import difflib
import json
import logging
import operator
import threading
import time as _time
from collections import deque
from itertools import repeat
from dataclasses import dataclass
from typing import (Any, Callable, Deque, Dict, Iterator, List, Optional, Protocol, Sequence, Tuple, Union,
                    overload)

from chime_mock.ground.errors import EventTimeout
from chime_mock.ground.locks import ForkSafeLock

log = logging.getLogger("chime_mock")

DETAIL_TYPE = "Chime Meeting State Change"
SOURCE = "aws.chime"
CONTENT_SUFFIX = "#content"
DEFAULT_LIMIT = 10_000

MEETING_TYPES = ("MeetingStarted", "MeetingEnded")
ATTENDEE_TYPES = (
    "AttendeeAdded", "AttendeeDeleted", "AttendeeAuthorized", "AttendeeVideoStarted", "AttendeeVideoStopped",
    "AttendeeContentVideoStarted", "AttendeeContentVideoStopped", "AttendeeCapabilitiesUpdated",
)
NETWORK_TYPES = (
    "AttendeeJoined", "AttendeeLeft", "AttendeeDropped",
    "AttendeeContentJoined", "AttendeeContentLeft", "AttendeeContentDropped",
)
TRANSCRIPTION_TYPES = ("TranscriptionStarted", "TranscriptionStopped", "TranscriptionInterrupted",
                       "TranscriptionResumed", "TranscriptionFailed")
#: Every event type of the meeting state-change family (without the ``chime:`` prefix).
EVENT_TYPES: Tuple[str, ...] = MEETING_TYPES + ATTENDEE_TYPES + NETWORK_TYPES + TRANSCRIPTION_TYPES
_NETWORK = frozenset(NETWORK_TYPES)
_ATTENDEE = frozenset(ATTENDEE_TYPES + NETWORK_TYPES)
_MASK128 = (1 << 128) - 1


def _uuid4(value: int) -> str:
    """128 random bits as a lowercase RFC-4122 version-4 UUID."""
    value = (value & ~(0xF000 << 64)) | (0x4000 << 64)
    value = (value & ~(0xC000 << 48)) | (0x8000 << 48)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def iso_time(seconds: float) -> str:
    """``2026-01-01T12:00:00Z``: EventBridge's ``time`` (UTC, whole seconds)."""
    return _time.strftime("%Y-%m-%dT%H:%M:%SZ", _time.gmtime(seconds))


def event_type(value: Any, argument: str = "type") -> str:
    """``value`` as a bare event type (``chime:`` prefix dropped); ValueError
    with a suggestion for a misspelt one, TypeError for a non-string."""
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be an event type such as 'AttendeeJoined', got {value!r}")
    bare = value[6:] if value.startswith("chime:") else value
    if bare in EVENT_TYPES:
        return bare
    lowered = {t.lower(): t for t in EVENT_TYPES}
    close = ([lowered[bare.lower()]] if bare.lower() in lowered else
             difflib.get_close_matches(bare, EVENT_TYPES, n=1, cutoff=0.6))
    hint = f"; did you mean {close[0]!r}?" if close else f"; the types are {', '.join(EVENT_TYPES)}"
    raise ValueError(f"{argument} {value!r} is not a Chime meeting event type{hint}")


@dataclass(frozen=True, init=False)
class MeetingEvent:
    """One meeting event as the service emitted it.

    ``detail`` is AWS's ``detail`` exactly (built on first read, then kept);
    ``envelope()`` is the whole EventBridge event and ``to_json()`` its JSON.
    ``seq`` numbers the service's events from 1 (the cursor); ``time`` is the
    service clock's seconds; ``region`` the meeting's control region;
    ``notifications`` the meeting's ``NotificationsConfiguration`` as given
    at CreateMeeting (where AWS would also deliver it), not part of the event.
    For content-share events ``attendee_id`` is the content attendee's
    (``<AttendeeId>#content``), as in ``detail``.
    """

    # Kept small (an AttendeeAdded is kept per attendee): ``id`` is formatted
    # and ``detail`` built on first read, from ``_bits`` and ``_src``/``_more``.
    # The events of one emission share one ``_bits`` (128 per event): an
    # event's own are the 128 at ``_at`` (0 when unset).  An event the log
    # makes has only ``_at`` and ``_group`` (its emission) until first read.
    __slots__ = ("seq", "id", "type", "account", "region", "time", "meeting_id", "attendee_id", "detail",
                 "notifications", "_bits", "_at", "_src", "_more", "_group")

    seq: int
    id: str
    type: str
    account: str
    region: str
    time: float
    meeting_id: str
    attendee_id: Optional[str]
    detail: Dict[str, Any]
    notifications: Optional[Dict[str, str]]

    def __init__(self, seq: int, id: str, type: str, account: str, region: str, time: float,
                 meeting_id: str, attendee_id: Optional[str] = None, detail: Optional[Dict[str, Any]] = None,
                 notifications: Optional[Dict[str, str]] = None) -> None:
        put = object.__setattr__
        put(self, "seq", seq)
        put(self, "id", id)
        put(self, "type", type)
        put(self, "account", account)
        put(self, "region", region)
        put(self, "time", time)
        put(self, "meeting_id", meeting_id)
        put(self, "attendee_id", attendee_id)
        put(self, "notifications", notifications)
        if detail is not None:
            put(self, "detail", detail)

    def __getattr__(self, name: str) -> Any:
        # Only reached for a slot not yet set: ``id`` or ``detail`` of an emitted
        # event, or any field of one ``emit_many`` made (filled in from its group).
        try:
            group = object.__getattribute__(self, "_group")
        except AttributeError:
            pass
        else:
            _fill_from_group(self, group)
            return getattr(self, name)
        if name == "detail":
            value: Any = self._build_detail()
        elif name == "id":
            bits = object.__getattribute__(self, "_bits")
            try:
                at = object.__getattribute__(self, "_at")
            except AttributeError:
                at = 0
            value = _uuid4(bits >> (128 * at) & _MASK128)
        else:
            try:   # a field another thread filled in from the group since this lookup missed it
                return object.__getattribute__(self, name)
            except AttributeError:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}") from None
        object.__setattr__(self, name, value)
        return value

    def _build_detail(self) -> Dict[str, Any]:
        try:
            external_meeting_id, media_region = object.__getattribute__(self, "_src")
        except AttributeError:
            raise AttributeError("MeetingEvent made without detail") from None
        more = self._more
        external_user_id, extra = more if isinstance(more, tuple) else (more, None)
        detail: Dict[str, Any] = {
            "version": "0",
            "eventType": "chime:" + self.type,
            "timestamp": int(self.time * 1000),
            "meetingId": self.meeting_id,
        }
        if self.type in _ATTENDEE:
            detail["attendeeId"] = self.attendee_id
            detail["externalUserId"] = external_user_id
        detail["externalMeetingId"] = external_meeting_id
        detail["mediaRegion"] = media_region
        if self.type in _NETWORK:
            detail["networkType"] = "Voip"
        if extra:
            detail.update(copy.deepcopy(extra))
        return detail

    def __hash__(self) -> int:
        return hash((self.seq, self.id))

    def __reduce__(self) -> Any:
        return (MeetingEvent, (self.seq, self.id, self.type, self.account, self.region, self.time,
                               self.meeting_id, self.attendee_id, self.detail, self.notifications))

    def envelope(self) -> Dict[str, Any]:
        """The whole EventBridge event, as AWS puts it on the bus (a fresh dict)."""
        return {
            "version": "0",
            "id": self.id,
            "detail-type": DETAIL_TYPE,
            "source": SOURCE,
            "account": self.account,
            "time": iso_time(self.time),
            "region": self.region,
            "resources": [],
            "detail": copy.deepcopy(self.detail),
        }

    def to_json(self) -> str:
        """``envelope()`` as JSON (what an SQS queue or SNS topic receives)."""
        return json.dumps(self.envelope(), separators=(",", ":"))


def _fill_from_group(event: MeetingEvent, group: Tuple[Any, ...]) -> None:
    """Set the fields of an event the log made from its emission's group:
    (first seq, type, account, region, time, meeting_id, notifications, bits,
    source, then for ``emit_many`` the lists of AttendeeIds and
    ExternalUserIds, for ``emit`` its AttendeeId and ``_more``) and its own
    ``_at``.  Two threads filling one event at once write the same values.
    The group goes once read."""
    first, type_, account, region, time, meeting_id, notifications, bits, source, ids, external_ids = group
    at = object.__getattribute__(event, "_at")
    put = object.__setattr__
    if type(ids) is list:      # an ``emit_many``'s: its attendees' AttendeeIds and ExternalUserIds
        attendee_id, more = ids[at], external_ids[at]
    else:                      # one ``emit``'s: its AttendeeId (or None) and ``_more``
        attendee_id, more = ids, external_ids
    put(event, "type", type_)
    put(event, "account", account)
    put(event, "region", region)
    put(event, "time", time)
    put(event, "meeting_id", meeting_id)
    put(event, "attendee_id", attendee_id)
    put(event, "notifications", notifications)
    put(event, "_bits", bits)
    put(event, "_src", source)
    put(event, "_more", more)
    put(event, "seq", first + at)
    try:
        object.__delattr__(event, "_group")
    except AttributeError:   # another thread filled it in too
        pass


def _group_events(group: Tuple[Any, ...], start: int, count: int) -> List[Any]:
    """Events ``start`` to ``start + count`` of an ``emit_many`` group: each made
    and given its ``_at`` and ``_group`` in C (no Python per event); every other
    field is filled in from the group on first read (``_fill_from_group``)."""
    made: List[Any] = list(map(_NEW, repeat(MeetingEvent, count)))
    deque(map(_SET_AT, made, range(start, start + count)), 0)
    deque(map(_SET_GROUP, made, repeat(group, count)), 0)
    return made


_NEW = object.__new__
# The slots' own setters: ``emit_many`` sets two fields of each new event in C.
_SET_AT = MeetingEvent._at.__set__           # type: ignore[attr-defined]
_SET_GROUP = MeetingEvent._group.__set__     # type: ignore[attr-defined]
_ATTENDEE_ID = operator.attrgetter("attendee_id")
_EXTERNAL_USER_ID = operator.attrgetter("external_user_id")


@dataclass(frozen=True)
class DeliveryRecord:
    """One attempt to deliver an event where AWS would (EventBridge bus,
    NotificationsConfiguration queue/topic/function)."""

    event_id: str
    event_type: str
    target: str          # the ARN delivered to (the default event bus's ARN for EventBridge)
    kind: str            # "eventbridge" | "sqs" | "sns" | "lambda"
    delivered: bool
    reason: Optional[str]
    at: float


Subscriber = Callable[[MeetingEvent], None]


class EventAttendee(Protocol):
    """What ``EventLog.emit_many`` reads of each attendee."""

    @property
    def attendee_id(self) -> str: ...

    @property
    def external_user_id(self) -> str: ...


class BatchSubscriber:
    """A subscriber that can also take several events at once: ``many(events)``
    must do what calling it with each event in turn does (and never raise).
    The log uses ``many`` while it is the only subscriber (with two or more,
    each event reaches every subscriber before the next event goes out)."""

    def __call__(self, event: MeetingEvent) -> None:
        raise NotImplementedError

    def many(self, events: List[MeetingEvent]) -> None:
        for event in events:
            self(event)

    def skips(self, event: MeetingEvent) -> bool:
        """True when ``self(event)`` would do nothing at all now (call nothing,
        record nothing, send nothing).  While this is the log's only
        subscriber, the log asks as it keeps each event, and an event skipped
        is never given to it (one answer stands for all the events of one
        ``emit_many``: they differ only in their attendee).  It is asked under
        the service's lock, so it must be cheap and must not call the service;
        one that raises skips nothing.  By default it is False and never asked."""
        return False

    def skips_for(self, notifications: Optional[Dict[str, str]]) -> Optional[bool]:
        """True when ``skips`` would be True for every event whose
        ``notifications`` are these, answered before any event is made (the
        log then keeps what makes them and makes the events only when it is
        read); anything else (False, None) leaves it to ``skips``.  Asked as
        ``skips`` is, and before it; one that raises skips nothing.  By
        default None and never asked."""
        return None


def check_limit(value: Any, argument: str = "limit") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{argument} must be a whole number of events (at least 1), got {value!r}")
    if value < 1:
        raise ValueError(f"{argument} must be at least 1 (the number of events kept), got {value!r}")
    return int(value)


def _check_cursor(value: Any, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{argument} must be an event seq (an integer, 0 for the start), got {value!r}")
    if value < 0:
        raise ValueError(f"{argument} must not be negative, got {value!r}")
    return int(value)


def _check_timeout(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise TypeError(f"timeout must be a number of seconds, got {value!r}")
    if value < 0:
        raise ValueError(f"timeout must not be negative, got {value!r}")
    return float(value)


def _check_id(value: Any, argument: str) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be a string ID, got {value!r}")
    return value.lower()


class _Match:
    __slots__ = ("type", "meeting_id", "attendee_id", "content_id")

    def __init__(self, type: Any, meeting_id: Any, attendee_id: Any) -> None:
        self.type = event_type(type) if type is not None else None
        self.meeting_id = _check_id(meeting_id, "meeting_id")
        self.attendee_id = _check_id(attendee_id, "attendee_id")
        self.content_id = self.attendee_id + CONTENT_SUFFIX if self.attendee_id is not None else None

    def __call__(self, event: MeetingEvent) -> bool:
        return ((self.type is None or event.type == self.type)
                and (self.meeting_id is None or event.meeting_id == self.meeting_id)
                and (self.attendee_id is None or event.attendee_id == self.attendee_id
                     or event.attendee_id == self.content_id))

    def describe(self) -> str:
        parts = [f"{name}={value!r}" for name, value in (("type", self.type), ("meeting_id", self.meeting_id),
                                                          ("attendee_id", self.attendee_id)) if value is not None]
        return ", ".join(parts) or "any event"


class EventLog(Sequence[MeetingEvent]):
    """The service's meeting events, oldest first (a read-only sequence).

    Keeps the newest ``limit`` events (older ones are dropped); ``seq`` keeps
    counting across ``clear()`` and the service's ``reset()``, so a cursor
    never goes backwards.  Thread-safe.
    """

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._limit = check_limit(limit)
        # ``_mutex`` is the condition's lock: ``with self._mutex`` where nothing waits (a call less).
        self._mutex = ForkSafeLock(reentrant=False)
        self._cond = threading.Condition(self._mutex)  # type: ignore[arg-type]
        # The kept events, oldest first; the newest ``_unmade`` places may hold
        # an emission's group instead of its event (``_make_kept``).
        self._events: Deque[Any] = deque(maxlen=self._limit)
        self._unmade = 0
        self._deliveries: Deque[DeliveryRecord] = deque(maxlen=self._limit)
        self._seq = 0
        self._waiting = 0
        self._subscribers: Tuple[Subscriber, ...] = ()
        #: The only subscriber's ``skips`` (a BatchSubscriber that has its own), else None.
        self._skips: Optional[Callable[[MeetingEvent], bool]] = None
        #: The only subscriber's ``skips_for`` (a BatchSubscriber that has its own), else None.
        self._skips_for: Optional[Callable[[Optional[Dict[str, str]]], Optional[bool]]] = None
        self._pending: Deque[MeetingEvent] = deque()
        self._dispatch_lock = ForkSafeLock()

    # -- configuration -------------------------------------------------------
    @property
    def limit(self) -> int:
        """How many events (and delivery records) are kept; the oldest go first."""
        return self._limit

    @limit.setter
    def limit(self, value: int) -> None:
        value = check_limit(value)
        with self._cond:
            self._limit = value
            self._events = deque(self._events, maxlen=value)
            self._deliveries = deque(self._deliveries, maxlen=value)

    @property
    def cursor(self) -> int:
        """The ``seq`` of the newest event emitted (0 if none yet)."""
        return self._seq

    # -- emission (the service calls this under its own lock) ------------------
    def emit(self, bits: int, type: str, account: str, region: str, time: float, meeting_id: str,
             attendee_id: Optional[str], notifications: Optional[Dict[str, str]], source: Tuple[str, str],
             external_user_id: Optional[str], extra: Optional[Dict[str, Any]] = None) -> Optional[MeetingEvent]:
        """Keep (and queue for the subscribers) a new event; ``bits`` are its
        id's 128 random bits, ``source`` (ExternalMeetingId, MediaRegion).
        Returns the event when a subscriber takes it; while nobody does, the
        log keeps what makes it (an ``emit_many`` group of one) and makes the
        event when it is read, and this returns None."""
        more = external_user_id if extra is None else (external_user_id, extra)
        # The condition's own lock, taken directly (read each time: a fork renews it).
        with self._mutex._lock:
            seq = self._seq = self._seq + 1
            group = (seq, type, account, region, time, meeting_id, notifications, bits, source, attendee_id, more)
            if self._subscribers and not self._skipped(notifications):
                event: Any = _group_events(group, 0, 1)[0]
                self._events.append(event)
                if self._unmade:
                    self._unmade += 1
                skips = self._skips
                taken = True
                if skips is not None:
                    try:
                        taken = not skips(event)
                    except Exception:   # a ``skips`` that fails skips nothing
                        pass
                if taken:
                    self._pending.append(event)
            else:
                event = None
                self._events.append(group)
                self._unmade += 1
            if self._waiting:
                self._cond.notify_all()
        return event  # type: ignore[no-any-return]

    def _skipped(self, notifications: Optional[Dict[str, str]]) -> bool:
        """The only subscriber's ``skips_for(notifications)`` is True (caller holds the lock)."""
        skips_for = self._skips_for
        if skips_for is None:
            return False
        try:
            return skips_for(notifications) is True
        except Exception:   # a ``skips_for`` that fails skips nothing
            return False

    def emit_many(self, bits: int, type: str, account: str, region: str, time: float, meeting_id: str,
                  notifications: Optional[Dict[str, str]], source: Tuple[str, str],
                  attendees: Sequence["EventAttendee"]) -> None:
        """``emit`` for each of ``attendees`` (its ``attendee_id`` and
        ``external_user_id``) in order, all of one ``type`` at one ``time``,
        under one lock: event ``i`` gets the 128 bits of ``bits >> 128 * i``
        (so ``bits`` drawn as ``getrandbits(128 * n)`` gives the ids ``n``
        draws of 128 bits give), worked out when its ``id`` is first read."""
        count = len(attendees)
        if not count:
            return
        ids = list(map(_ATTENDEE_ID, attendees))
        external_ids = list(map(_EXTERNAL_USER_ID, attendees))
        with self._mutex._lock:
            first = self._seq + 1
            group = (first, type, account, region, time, meeting_id, notifications, bits, source, ids, external_ids)
            self._seq = first + count - 1
            made: Optional[List[Any]] = None
            if self._subscribers and not self._skipped(notifications):
                # One answer for the emission: its events differ only in their attendee.
                skips = self._skips
                skipped = False
                if skips is not None:
                    try:
                        skipped = skips(_group_events(group, 0, 1)[0])
                    except Exception:   # a ``skips`` that fails skips nothing
                        pass
                if not skipped:
                    made = _group_events(group, 0, count)
                    self._pending.extend(made)
            if made is None:
                # Nobody takes them now: the log keeps the group once per event
                # (no object each), made into events when the log is read.
                self._events.extend(repeat(group, count))
                self._unmade += count
            else:
                self._events.extend(made)
                if self._unmade:
                    self._unmade += count
            if self._waiting:
                self._cond.notify_all()

    def _make_kept(self) -> None:
        """Turn the groups the newest ``_unmade`` places of the log hold into
        their events (caller holds the lock).  The log's places hold
        consecutive seqs ending at ``_seq``: a group at seq ``s`` is its
        event ``s - first``."""
        events = self._events
        count = min(self._unmade, len(events))
        self._unmade = 0
        if not count:
            return
        kept = list(events)
        newest = self._seq
        tail = [item if type(item) is MeetingEvent else _group_events(item, seq - item[0], 1)[0]
                for seq, item in zip(range(newest - count + 1, newest + 1), kept[-count:])]
        events.clear()
        events.extend(kept[:-count])
        events.extend(tail)

    def _advance_to(self, seq: int) -> None:
        """Continue numbering after ``seq`` (never backwards): snapshot restore."""
        with self._cond:
            if self._unmade:
                self._make_kept()    # while the places still end at ``_seq``
            self._seq = max(self._seq, seq)

    def dispatch(self, blocking: bool = True) -> None:
        """Call the subscribers with every event not yet given to them, in
        order.  The service calls it after each call, outside its lock; an
        event emitted by a subscriber's own call is given out after the
        current one has reached every subscriber.  While another thread is
        giving events out, this waits for it (it gives out these events too),
        unless ``blocking`` is False (a caller that holds the service's lock
        must not wait for a subscriber that may need that lock)."""
        pending = self._pending
        if not pending:
            return
        # Taken directly (read each time: a fork renews it).  The thread that
        # holds it is the one giving events out: a subscriber's own call.
        lock = self._dispatch_lock._lock
        if lock._is_owned() or not lock.acquire(blocking):
            return      # the thread giving events out gives out these too
        try:
            # Only the holder of the dispatch lock takes from ``pending``,
            # and a deque's popleft is atomic: no other lock needed.
            while pending:
                subscribers = self._subscribers
                if len(subscribers) == 1 and len(pending) > 1 and isinstance(subscribers[0], BatchSubscriber):
                    # One subscriber that takes events by the batch: the same
                    # order, one call (the events of one call come in bulk).
                    # Emitters append under the mutex: take them all at once.
                    with self._mutex._lock:
                        batch = list(pending)
                        pending.clear()
                    try:
                        subscribers[0].many(batch)
                    except Exception as exc:  # a subscriber's failure never fails the call
                        log.warning("event subscriber %r failed on %d events (seq %d-%d): %s: %s",
                                    subscribers[0], len(batch), batch[0].seq, batch[-1].seq,
                                    type(exc).__name__, exc)
                    continue
                event = pending.popleft()
                for callback in subscribers:
                    try:
                        callback(event)
                    except Exception as exc:  # a subscriber's failure never fails the call
                        log.warning("event subscriber %r failed on %s (seq %d): %s: %s",
                                    callback, event.type, event.seq, type(exc).__name__, exc)
        finally:
            lock.release()

    # -- subscribers -------------------------------------------------------------
    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(event)`` with each event emitted from now on, in
        order, once, before the API call that emitted it returns (outside the
        service's lock, so it may call the mock).  An exception it raises is
        logged (WARNING, logger ``chime_mock``), never raised to the caller.
        Returns a function that unsubscribes it."""
        if not callable(callback):
            raise TypeError(f"callback must be a function taking a MeetingEvent, got {callback!r}")
        with self._cond:
            self._set_subscribers(self._subscribers + (callback,))

        def unsubscribe() -> None:
            with self._cond:
                subscribers = list(self._subscribers)
                if callback in subscribers:
                    subscribers.remove(callback)
                    self._set_subscribers(tuple(subscribers))
        return unsubscribe

    def _set_subscribers(self, subscribers: Tuple[Subscriber, ...]) -> None:
        # Caller holds the lock (``emit`` reads both attributes under it).
        only = subscribers[0] if len(subscribers) == 1 else None
        self._skips = only.skips if (isinstance(only, BatchSubscriber)
                                     and type(only).skips is not BatchSubscriber.skips) else None
        self._skips_for = only.skips_for if (isinstance(only, BatchSubscriber)
                                             and type(only).skips_for is not BatchSubscriber.skips_for) else None
        self._subscribers = subscribers

    # -- reading -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._events)

    @overload
    def __getitem__(self, index: int) -> MeetingEvent: ...

    @overload
    def __getitem__(self, index: slice) -> List[MeetingEvent]: ...

    def __getitem__(self, index: Union[int, slice]) -> Union[MeetingEvent, List[MeetingEvent]]:
        with self._cond:
            if self._unmade:
                self._make_kept()
            if isinstance(index, slice):
                return list(self._events)[index]
            return self._events[index]  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[MeetingEvent]:
        with self._cond:
            if self._unmade:
                self._make_kept()
            return iter(list(self._events))

    def __repr__(self) -> str:
        return f"<EventLog {len(self._events)} events, cursor {self._seq}, limit {self._limit}>"

    def filter(self, type: Optional[str] = None, meeting_id: Optional[str] = None,
               attendee_id: Optional[str] = None) -> List[MeetingEvent]:
        """The kept events that match, oldest first.  ``type`` is e.g.
        ``"AttendeeJoined"`` or ``"chime:AttendeeJoined"``; ``attendee_id``
        also matches that attendee's content-share events."""
        match = _Match(type, meeting_id, attendee_id)
        with self._cond:
            if self._unmade:
                self._make_kept()
            return [event for event in self._events if match(event)]

    def clear(self) -> None:
        """Forget the kept events and delivery records (``seq`` counts on)."""
        with self._cond:
            self._events.clear()
            self._unmade = 0
            self._deliveries.clear()

    def _after(self, cursor: int) -> List[MeetingEvent]:
        """Kept events with ``seq > cursor`` (caller holds the lock)."""
        events = self._events
        if not events or cursor >= self._seq:
            return []
        if self._unmade:
            self._make_kept()
        start = max(0, cursor - events[0].seq + 1)
        if start == 0:
            return list(events)
        return [events[i] for i in range(start, len(events))]

    def since(self, cursor: int, limit: int = 100) -> Tuple[List[MeetingEvent], int]:
        """Up to ``limit`` kept events with ``seq > cursor``, and the cursor to
        pass next time (a cursor beyond the newest event is brought back to it)."""
        cursor = _check_cursor(cursor, "cursor")
        limit = check_limit(limit)
        with self._cond:
            events = self._after(cursor)[:limit]
            if events:
                return events, events[-1].seq
            return [], min(cursor, self._seq)

    def wait_since(self, cursor: int, timeout: float, limit: int = 100) -> List[MeetingEvent]:
        """Long poll: the events newer than ``cursor`` (up to ``limit``) as soon
        as there are any, or ``[]`` when ``timeout`` seconds pass first."""
        cursor = _check_cursor(cursor, "cursor")
        timeout = _check_timeout(timeout)
        limit = check_limit(limit)
        deadline = _time.monotonic() + timeout
        with self._cond:
            while True:
                events = self._after(cursor)
                if events:
                    return events[:limit]
                remaining = deadline - _time.monotonic()
                if remaining <= 0:
                    return []
                self._wait(remaining)

    def wait_for(self, type: Optional[str] = None, meeting_id: Optional[str] = None,
                 attendee_id: Optional[str] = None, *, timeout: float = 5.0, after: int = 0) -> MeetingEvent:
        """The first event with ``seq > after`` that matches (one already
        emitted counts), waiting up to ``timeout`` seconds for it; raises
        ``EventTimeout`` (a ``TimeoutError``) naming what it waited for."""
        match = _Match(type, meeting_id, attendee_id)
        timeout = _check_timeout(timeout)
        after = _check_cursor(after, "after")
        deadline = _time.monotonic() + timeout
        with self._cond:
            checked = after
            while True:
                for event in self._after(checked):
                    if match(event):
                        return event
                checked = max(checked, self._seq)
                remaining = deadline - _time.monotonic()
                if remaining <= 0:
                    raise EventTimeout(
                        f"no event matching {match.describe()} with seq > {after} within {timeout:g} s "
                        f"(newest seq {self._seq}; {len(self._events)} events kept)")
                self._wait(remaining)

    def _wait(self, seconds: float) -> None:
        self._waiting += 1
        try:
            self._cond.wait(seconds)
        finally:
            self._waiting -= 1

    # -- deliveries --------------------------------------------------------------------
    @property
    def deliveries(self) -> List[DeliveryRecord]:
        """The kept delivery records, oldest first (bounded by ``limit``)."""
        with self._cond:
            return list(self._deliveries)

    def record_delivery(self, record: DeliveryRecord) -> None:
        if not isinstance(record, DeliveryRecord):
            raise TypeError(f"record must be a DeliveryRecord, got {record!r}")
        with self._cond:
            self._deliveries.append(record)


__all__ = ["MeetingEvent", "DeliveryRecord", "EventLog", "BatchSubscriber", "EVENT_TYPES", "event_type", "iso_time",
           "check_limit", "CONTENT_SUFFIX"]
