#!/usr/bin/env python
"""chime_mock benchmark: every operation against botocore's floor, growth, memory, switching.

Run from the repository root (never part of the test suite)::

    python bench/bench.py                  # the full run (a few minutes)
    python bench/bench.py --quick          # a smoke run (few rounds, smaller stores; < 1 minute)
    python bench/bench.py --profile GetMeeting [--calls 3000]
                                           # cProfile of one operation's calls through chime_mock
    python bench/bench.py --opcodes GetMeeting CreateAttendee [--calls 50]
                                           # Python opcodes per call against the unsigned floor
                                           # (a count other load does not move)
    python bench/bench.py --instructions GetMeeting BatchCreateAttendee
                                           # machine instructions per call (valgrind), the same
                                           # comparison, and the C functions the difference is in

Prints ONE table (measure, measured, target, PASS/FAIL) and exits 1 when a
target is missed.

How it measures.  Everything runs in one process, in rounds: a round times
one batch of every case of a section, in list order on even rounds and
reversed on odd ones, so compared cases run milliseconds apart.  A batch is a
fresh activation (seeded, untimed), one untimed warm call, ``gc.collect()``,
then N timed calls.  A ratio is the median of the per-round ratios (the
spread shown is their interquartile range), which cancels most drift from the
other processes sharing the machine.

The floors (what any ``before-send`` mock must pay at least): a client made
from a fresh botocore session that chime_mock (and moto) never touched
(``BUILTIN_HANDLERS`` filtered while it is created, and chime_mock inactive
while it is timed), with one ``before-send`` handler returning canned bytes:
the status, headers and body chime_mock itself sent for the same call
(captured once).  The signed floor carries fake credentials (SigV4 is
computed); the unsigned floor is built with ``Config(signature_version=UNSIGNED)``.
aiobotocore gets the same pair of sides (skipped when it is not installed).

The reference mock (bench/reference.py), timed in the same rounds for the
operations that make or list attendees and meetings, is a plain
``before-send`` mock that only makes its answers (no checks, journal,
events, idempotency or locks): its ratio to the unsigned floor shows what
answering costs at all, and chime_mock's ratio above it what its rules and
records cost.  Two unsigned floors are also timed against themselves (the
calibration rows): the spread of a ratio that should be exactly 1 is the
resolution of every other ratio in the same run.
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import gc
import io
import os
import pstats
import statistics
import subprocess
import sys
import time
import tracemalloc
from time import perf_counter_ns
from typing import Any, Callable, Dict, List, Optional, Tuple

T_START = time.perf_counter()

import boto3  # noqa: E402
import botocore  # noqa: E402
import botocore.session  # noqa: E402
from botocore import handlers as botocore_handlers  # noqa: E402
from botocore.awsrequest import AWSResponse  # noqa: E402
from botocore.config import Config  # noqa: E402

import chime_mock  # noqa: E402
from chime_mock import mock_chime_meetings  # noqa: E402
from opcount import Counts, count_opcodes  # noqa: E402  (bench/, beside this script)
from reference import Body, ReferenceMock  # noqa: E402

REGION = "us-east-1"
SERVICE = "chime-sdk-meetings"
FAKE_CREDS = dict(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The first activation installs chime_mock's handlers (BUILTIN_HANDLERS and a
# gc walk over existing sessions); do it now, so every floor session made
# below is made afterwards, from a filtered handler list, and never touched.
with mock_chime_meetings():
    pass

try:
    import aiobotocore  # noqa: F401
    import aiobotocore.session
    from aiobotocore.awsrequest import AioAWSResponse
    HAVE_AIO = True
except ImportError:   # pragma: no cover - optional
    HAVE_AIO = False


def _foreign(handler: Any) -> bool:
    module = getattr(handler, "__module__", None) or getattr(getattr(handler, "func", None), "__module__", "") or ""
    return module.startswith(("chime_mock", "moto"))


def clean_session(factory: Callable[[], Any] = botocore.session.Session) -> Any:
    """A botocore session created with neither chime_mock's nor moto's builtin handlers."""
    saved = list(botocore_handlers.BUILTIN_HANDLERS)
    botocore_handlers.BUILTIN_HANDLERS[:] = [h for h in saved if not _foreign(h[1])]
    try:
        return factory()
    finally:
        botocore_handlers.BUILTIN_HANDLERS[:] = saved


def untouched(client: Any) -> Any:
    """``client`` without chime_mock's event handlers, which chime_mock puts on
    every Chime client created once it is installed (a floor is a client
    chime_mock never touched).  Returns the client."""
    from chime_mock.doors.botocore import hooks as chime_hooks

    for event, handler, unique in chime_hooks._HANDLERS:
        client.meta.events.unregister(event, handler, unique_id=unique)
    handlers = list(client.meta.events._emitter._handlers.prefix_search(f"before-send.{SERVICE}.GetMeeting"))
    assert not any(_foreign(handler) for handler in handlers), "a floor client with chime_mock's handlers"
    return client


# -- timing machinery ------------------------------------------------------------------
class Case:
    """``setup()`` (untimed) returns ``fn``; a batch times ``n`` calls of ``fn(i)``
    (or, with ``batch``, one ``fn(n)`` doing n calls); ``teardown()`` follows."""

    def __init__(self, name: str, n: int, setup: Callable[[], Callable[[int], object]],
                 teardown: Optional[Callable[[], None]] = None, warm: bool = True, batch: bool = False) -> None:
        self.name, self.n, self.setup, self.warm, self.batch = name, n, setup, warm, batch
        self.teardown = teardown or (lambda: None)
        self.samples: List[float] = []   # ns per call, one per round

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


def spread(values: List[float]) -> Tuple[float, float]:
    if len(values) < 4:
        return min(values), max(values)
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def paired_ratio(a: Case, b: Case) -> Tuple[float, float, float]:
    ratios = [x / y for x, y in zip(a.samples, b.samples)]
    lo, hi = spread(ratios)
    return statistics.median(ratios), lo, hi


def run_interleaved(cases: List[Case], rounds: int, collect: int = 2) -> Dict[str, Case]:
    for round_ in range(rounds):
        for case in (cases if round_ % 2 == 0 else cases[::-1]):
            fn = case.setup()
            if case.warm:
                fn(1 if case.batch else -1)
            gc.collect(collect)
            n = case.n
            if case.batch:
                t0 = perf_counter_ns()
                fn(n)
            else:
                t0 = perf_counter_ns()
                for i in range(n):
                    fn(i)
            case.samples.append((perf_counter_ns() - t0) / n)
            case.teardown()
    return {case.name: case for case in cases}


class AsyncRawBody:
    def __init__(self, body: bytes, headers: Dict[str, str]) -> None:
        self.body = body
        self.raw_headers = tuple((k.encode(), v.encode()) for k, v in headers.items())

    async def read(self, *_: Any) -> bytes:
        return self.body


# -- the sixteen operations ---------------------------------------------------------------
CAPS = {"Audio": "SendReceive", "Video": "SendReceive", "Content": "SendReceive"}


class Op:
    """One operation: ``prepare(mock, meeting, count)`` seeds what ``count`` calls
    need (inside an active mock, untimed) and returns their keyword arguments."""

    def __init__(self, name: str, items: int, n: int, prepare: Callable[[Any, Any, int], List[Dict[str, Any]]]) -> None:
        self.name, self.items, self.n, self.prepare = name, items, n, prepare
        self.method = botocore.xform_name(name)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.items})" if self.items > 1 else self.name


def _meetings(mock: Any, count: int, tag: str) -> List[Any]:
    return [mock.add_meeting(external_meeting_id=f"{tag}-{k}") for k in range(count)]


def _attendee0(meeting: Any) -> str:
    return next(iter(meeting.attendees))


def _with_attendees(mock: Any, count: int) -> Any:
    meeting = mock.add_meeting(external_meeting_id=f"big-{count}")
    for k in range(count):
        mock.add_attendee(meeting.meeting_id, f"member-{k:04d}")
    return meeting


def _started(mock: Any, meetings: List[Any]) -> List[Any]:
    for meeting in meetings:
        CHIME.client.start_meeting_transcription(MeetingId=meeting.meeting_id, TranscriptionConfiguration=TRANSCRIBE)
    return meetings


TRANSCRIBE = {"EngineTranscribeSettings": {"LanguageCode": "en-US"}}

OPS: List[Op] = [
    Op("GetMeeting", 1, 60, lambda m, mt, c: [{"MeetingId": mt.meeting_id}] * c),
    Op("CreateMeeting", 1, 40, lambda m, mt, c: [{"ExternalMeetingId": f"new-{k}", "MediaRegion": REGION}
                                                 for k in range(c)]),
    Op("DeleteMeeting", 1, 40, lambda m, mt, c: [{"MeetingId": x.meeting_id} for x in _meetings(m, c, "del")]),
    Op("CreateAttendee", 1, 60, lambda m, mt, c: [{"MeetingId": mt.meeting_id, "ExternalUserId": f"user-{k:05d}"}
                                                  for k in range(c)]),
    Op("GetAttendee", 1, 60, lambda m, mt, c: [{"MeetingId": mt.meeting_id, "AttendeeId": _attendee0(mt)}] * c),
    Op("DeleteAttendee", 1, 60, lambda m, mt, c: [
        {"MeetingId": mt.meeting_id, "AttendeeId": m.add_attendee(mt.meeting_id, f"gone-{k:04d}").attendee_id}
        for k in range(c)]),
    Op("UpdateAttendeeCapabilities", 1, 60, lambda m, mt, c: [
        {"MeetingId": mt.meeting_id, "AttendeeId": _attendee0(mt), "Capabilities": CAPS}] * c),
    Op("BatchUpdateAttendeeCapabilitiesExcept", 1, 60, lambda m, mt, c: [
        {"MeetingId": mt.meeting_id, "ExcludedAttendeeIds": [{"AttendeeId": _attendee0(mt)}],
         "Capabilities": CAPS}] * c),
    Op("StartMeetingTranscription", 1, 40, lambda m, mt, c: [
        {"MeetingId": x.meeting_id, "TranscriptionConfiguration": TRANSCRIBE} for x in _meetings(m, c, "tr")]),
    Op("StopMeetingTranscription", 1, 40, lambda m, mt, c: [
        {"MeetingId": x.meeting_id} for x in _started(m, _meetings(m, c, "st"))]),
    Op("TagResource", 1, 60, lambda m, mt, c: [
        {"ResourceARN": mt.meeting_arn, "Tags": [{"Key": "team", "Value": "bench"}]}] * c),
    Op("UntagResource", 1, 60, lambda m, mt, c: [{"ResourceARN": mt.meeting_arn, "TagKeys": ["team"]}] * c),
    Op("ListTagsForResource", 1, 60, lambda m, mt, c: [{"ResourceARN": mt.meeting_arn}] * c),
    # The list operations: their item count is the target's "100".
    Op("ListAttendees", 100, 20, lambda m, mt, c: [{"MeetingId": _with_attendees(m, 250).meeting_id,
                                                     "MaxResults": 100}] * c),
    Op("BatchCreateAttendee", 100, 12, lambda m, mt, c: [
        {"MeetingId": x.meeting_id, "Attendees": [{"ExternalUserId": f"batch-{j:03d}"} for j in range(100)]}
        for x in _meetings(m, c, "batch")]),
    Op("CreateMeetingWithAttendees", 10, 30, lambda m, mt, c: [
        {"ExternalMeetingId": f"cmwa-{k}", "MediaRegion": REGION,
         "Attendees": [{"ExternalUserId": f"first-{j:02d}"} for j in range(10)]} for k in range(c)]),
]
OP_BY_NAME = {op.name: op for op in OPS}


class ChimeSide:
    """chime_mock: one boto3 client (made inside an activation, no credentials),
    reused; each batch gets a fresh seeded activation with one meeting of 10 attendees."""

    def __init__(self) -> None:
        self.mock: Any = None
        with mock_chime_meetings(seed=7):
            self.client = boto3.session.Session().client(SERVICE, region_name=REGION)

    def start(self) -> Any:
        assert chime_mock.current() is None
        self.mock = mock_chime_meetings(seed=7)
        self.mock.start()
        meeting = self.mock.add_meeting(external_meeting_id="bench-meeting")
        for k in range(10):
            self.mock.add_attendee(meeting.meeting_id, f"seed-user-{k:03d}")
        return meeting

    def stop(self) -> None:
        self.mock.stop()
        self.mock = None


CHIME = ChimeSide()


def capture() -> Tuple[Dict[str, Tuple[int, Dict[str, str], bytes]], Dict[str, Dict[str, Any]], Dict[str, Any]]:
    """For every op: chime_mock's raw answer (for the floors), its parameters and parsed output."""
    raw: Dict[str, Tuple[int, Dict[str, str], bytes]] = {}
    params: Dict[str, Dict[str, Any]] = {}
    parsed: Dict[str, Any] = {}

    def grab(response_dict: Any, event_name: str, **_: Any) -> None:
        raw[event_name.rsplit(".", 1)[-1]] = (response_dict["status_code"], dict(response_dict["headers"]),
                                             response_dict["body"])

    CHIME.client.meta.events.register(f"response-received.{SERVICE}", grab, unique_id="bench-grab")
    try:
        for op in OPS:
            meeting = CHIME.start()
            try:
                kwargs = op.prepare(CHIME.mock, meeting, 1)[0]
                out = getattr(CHIME.client, op.method)(**kwargs)
            finally:
                CHIME.stop()
            assert op.name in raw and raw[op.name][0] < 300, (op.name, raw.get(op.name))
            out.pop("ResponseMetadata", None)
            params[op.name], parsed[op.name] = kwargs, out
    finally:
        CHIME.client.meta.events.unregister(f"response-received.{SERVICE}", unique_id="bench-grab")
    assert len(parsed["ListAttendees"]["Attendees"]) == 100
    assert len(parsed["BatchCreateAttendee"]["Attendees"]) == 100
    assert len(parsed["CreateMeetingWithAttendees"]["Attendees"]) == 10
    return raw, params, parsed


WIRE, PARAMS, PARSED = capture()


def make_floor(unsigned: bool) -> Any:
    session = boto3.session.Session(botocore_session=clean_session())
    config = Config(signature_version=botocore.UNSIGNED) if unsigned else None
    client = untouched(session.client(SERVICE, region_name=REGION, config=config, **({} if unsigned else FAKE_CREDS)))
    prefix = f"before-send.{SERVICE}."
    hits = [0]

    def canned(request: Any, event_name: str, **_: Any) -> AWSResponse:
        status, headers, body = WIRE[event_name[len(prefix):]]
        hits[0] += 1
        return AWSResponse(request.url, status, headers, Body(body))

    client.meta.events.register(f"before-send.{SERVICE}", canned, unique_id="bench-floor")
    assert chime_mock.current() is None
    for op in OPS:   # the canned answer is what the client returns
        before = hits[0]
        out = getattr(client, op.method)(**PARAMS[op.name])
        out.pop("ResponseMetadata", None)
        assert hits[0] == before + 1 and out == PARSED[op.name], f"floor did not answer {op.name}"
    return client


FLOOR_SIGNED = make_floor(unsigned=False)
FLOOR_UNSIGNED = make_floor(unsigned=True)


def _shape(value: Any) -> Any:
    """The structure of a parsed answer: keys, list lengths and value types, not the values."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return type(value).__name__


REFERENCE = ReferenceMock()
assert REFERENCE.region == REGION


def make_reference() -> Any:
    """An unsigned client from a session chime_mock never touched, answered by
    the reference mock (bench/reference.py): its answers have chime_mock's shapes."""
    session = boto3.session.Session(botocore_session=clean_session())
    client = untouched(session.client(SERVICE, region_name=REGION, config=Config(signature_version=botocore.UNSIGNED)))
    client.meta.events.register(f"before-send.{SERVICE}", REFERENCE.before_send, unique_id="bench-reference")
    for name in ReferenceMock.OPERATIONS:
        op = OP_BY_NAME[name]
        out = getattr(client, op.method)(**reference_calls(op, 1)[0])
        out.pop("ResponseMetadata", None)
        assert _shape(out) == _shape(PARSED[name]), f"the reference mock's {name} answer is not chime_mock's shape"
    return client


def reference_calls(op: Op, count: int) -> List[Dict[str, Any]]:
    """A fresh reference store seeded as ``ChimeSide.start`` seeds chime_mock, and ``count`` calls' arguments."""
    assert chime_mock.current() is None, "the reference mock runs with chime_mock inactive"
    REFERENCE.reset()
    meeting = REFERENCE.add_meeting("bench-meeting")
    for k in range(10):
        REFERENCE.add_attendee(meeting.meeting_id, f"seed-user-{k:03d}")
    return op.prepare(REFERENCE, meeting, count)


REFERENCE_CLIENT = make_reference()


def chime_case(op: Op, n: int) -> Case:
    def setup() -> Callable[[int], object]:
        meeting = CHIME.start()
        calls = op.prepare(CHIME.mock, meeting, n + 1)
        call = getattr(CHIME.client, op.method)
        return lambda i: call(**calls[i + 1])
    return Case(f"chime {op.name}", n, setup, CHIME.stop)


def floor_case(op: Op, n: int, unsigned: bool) -> Case:
    call = getattr(FLOOR_UNSIGNED if unsigned else FLOOR_SIGNED, op.method)
    kwargs = PARAMS[op.name]

    def setup() -> Callable[[int], object]:
        assert chime_mock.current() is None, "a floor runs with chime_mock inactive"
        return lambda i: call(**kwargs)
    return Case(f"{'unsigned' if unsigned else 'signed'} {op.name}", n, setup)


def reference_case(op: Op, n: int) -> Case:
    call = getattr(REFERENCE_CLIENT, op.method)

    def setup() -> Callable[[int], object]:
        calls = reference_calls(op, n + 1)
        return lambda i: call(**calls[i + 1])
    return Case(f"reference {op.name}", n, setup, REFERENCE.reset)


#: Operations whose unsigned floor is also timed against itself (an A/A control).
CALIBRATION = ("GetMeeting", "CreateMeeting")


def per_op(rounds: int, scale: float) -> Dict[str, Case]:
    cases: List[Case] = []
    for op in OPS:
        n = max(4, int(op.n * scale))
        cases += [floor_case(op, n, False), chime_case(op, n), floor_case(op, n, True)]
        if op.name in ReferenceMock.OPERATIONS:
            cases.append(reference_case(op, n))
        if op.name in CALIBRATION:   # the same floor again: what the measure shows for no difference
            cases.append(Case(f"unsigned again {op.name}", n, floor_case(op, n, True).setup))
    return run_interleaved(cases, rounds)


# -- aiobotocore ---------------------------------------------------------------------------
AIO_OPS = ("GetMeeting", "CreateAttendee")


def aio_section(rounds: int, scale: float) -> Dict[str, Case]:
    loop = asyncio.new_event_loop()
    stack: List[Any] = []

    async def open_client(session: Any, **kwargs: Any) -> Any:
        cm = session.create_client(SERVICE, region_name=REGION, **kwargs)
        client = await cm.__aenter__()
        stack.append(cm)
        return client

    with mock_chime_meetings():
        chime_client = loop.run_until_complete(open_client(aiobotocore.session.get_session()))
    floor_session = clean_session(aiobotocore.session.AioSession)
    floor = untouched(loop.run_until_complete(open_client(floor_session,
                                                          config=Config(signature_version=botocore.UNSIGNED))))
    prefix = f"before-send.{SERVICE}."

    def canned(request: Any, event_name: str, **_: Any) -> Any:
        status, headers, body = WIRE[event_name[len(prefix):]]
        return AioAWSResponse(request.url, status, headers, AsyncRawBody(body, headers))

    floor.meta.events.register(f"before-send.{SERVICE}", canned, unique_id="bench-floor")

    def chime(op: Op, n: int) -> Case:
        def setup() -> Callable[[int], object]:
            meeting = CHIME.start()
            calls = op.prepare(CHIME.mock, meeting, n + 2)
            call = getattr(chime_client, op.method)
            it = iter(calls)

            async def run(count: int) -> None:
                for _ in range(count):
                    await call(**next(it))
            return lambda count: loop.run_until_complete(run(count))
        return Case(f"aio chime {op.name}", n, setup, CHIME.stop, batch=True)

    def floor_case_(op: Op, n: int) -> Case:
        call = getattr(floor, op.method)
        kwargs = PARAMS[op.name]

        async def run(count: int) -> None:
            for _ in range(count):
                await call(**kwargs)

        def setup() -> Callable[[int], object]:
            return lambda count: loop.run_until_complete(run(count))
        return Case(f"aio unsigned {op.name}", n, setup, batch=True)

    try:
        out = loop.run_until_complete(floor.get_meeting(**PARAMS["GetMeeting"]))
        out.pop("ResponseMetadata", None)
        assert out == PARSED["GetMeeting"]
        cases: List[Case] = []
        for name in AIO_OPS:
            n = max(4, int(OP_BY_NAME[name].n * scale))
            cases += [chime(OP_BY_NAME[name], n), floor_case_(OP_BY_NAME[name], n)]
        return run_interleaved(cases, rounds)
    finally:
        for cm in reversed(stack):
            loop.run_until_complete(cm.__aexit__(None, None, None))
        loop.close()


# -- growth -----------------------------------------------------------------------------------
def growth(rounds: int, meetings: int, attendees: int) -> Tuple[Dict[str, Case], Dict[str, float]]:
    """Lookups in a small store and a big one (both stay in memory; the mock's
    ``backend.states`` is swapped between batches)."""
    info: Dict[str, float] = {}
    with mock_chime_meetings(seed=11) as mock:
        client = CHIME.client
        backend = mock.service.backend

        def build(n_meetings: int, n_attendees: int) -> Tuple[Any, List[str], str, str]:
            backend.states = {}
            ids = [mock.add_meeting(external_meeting_id=f"g-{k}").meeting_id for k in range(n_meetings)]
            per = 250
            full = None
            left = n_attendees
            k = 0
            while left > 0:
                target = mock.add_meeting(external_meeting_id=f"full-{k}")
                for j in range(min(per, left)):
                    mock.add_attendee(target.meeting_id, f"u{j:04d}")
                left -= min(per, left)
                full = full or target
                k += 1
            assert full is not None
            return backend.states, ids, full.meeting_id, next(iter(full.attendees))

        t0 = time.perf_counter()
        small = build(100, 250)
        gc.collect()
        gc.disable()
        try:
            big = build(meetings, attendees)
        finally:
            gc.enable()
        info["seed_s"] = time.perf_counter() - t0
        gc.collect()
        for states, ids, full, _ in (small, big):
            backend.states = states
            assert client.get_meeting(MeetingId=ids[-1])["Meeting"]["MeetingId"] == ids[-1]

        def setup(store: Tuple[Any, List[str], str, str], what: str) -> Callable[[], Callable[[int], object]]:
            states, ids, full, attendee = store

            def go() -> Callable[[int], object]:
                backend.states = states
                mock.journal.clear()
                if what == "get_meeting":
                    sample = ids[:: max(1, len(ids) // 100)][:100]
                    return lambda i: client.get_meeting(MeetingId=sample[i % len(sample)])
                if what == "get_attendee":
                    return lambda i: client.get_attendee(MeetingId=full, AttendeeId=attendee)
                if what == "list_last":
                    token = client.list_attendees(MeetingId=full, MaxResults=100)["NextToken"]
                    return lambda i: client.list_attendees(MeetingId=full, MaxResults=100, NextToken=token)
                return lambda i: client.list_attendees(MeetingId=full, MaxResults=100)
            return go

        cases = [
            Case("get_meeting small", 60, setup(small, "get_meeting")),
            Case("get_meeting big", 60, setup(big, "get_meeting")),
            Case("get_attendee small", 60, setup(small, "get_attendee")),
            Case("get_attendee big", 60, setup(big, "get_attendee")),
            Case("list_attendees small", 15, setup(small, "list")),
            Case("list_attendees big", 15, setup(big, "list")),
            Case("list_attendees page 2", 15, setup(big, "list_last")),
        ]
        results = run_interleaved(cases, rounds, collect=1)
        backend.states = {}
    return results, info


# -- memory, switching, first call, plugin import ----------------------------------------------------------
def _attendee_bytes(**config: Any) -> Tuple[float, Any]:
    """tracemalloc growth per attendee while 1,000 are added (4 meetings of
    250) to a mock made with ``config``; returns it and the live mock (still active)."""
    m = mock_chime_meetings(seed=3, **config)
    m.start()
    warm = m.add_meeting(external_meeting_id="warm")
    m.add_attendee(warm.meeting_id, "warm-user")
    CHIME.client.get_meeting(MeetingId=warm.meeting_id)
    gc.collect()
    tracemalloc.start()
    try:
        targets = [m.add_meeting(external_meeting_id=f"mem-{k}") for k in range(4)]
        gc.collect()
        base = tracemalloc.get_traced_memory()[0]
        for target in targets:
            for k in range(250):
                m.add_attendee(target.meeting_id, f"mem-user-{k:04d}")
        gc.collect()
        return (tracemalloc.get_traced_memory()[0] - base) / 1000, (m, targets[0].meeting_id)
    finally:
        tracemalloc.stop()


def memory() -> Dict[str, float]:
    """Bytes per stored attendee: the state alone (the mock keeps one meeting
    event, so the event log adds nothing that grows), and with the default
    event log, which also keeps each attendee's AttendeeAdded event (the log
    is bounded: ``event_limit``, 10,000 events by default).  Bytes per
    journal entry: what ``journal.clear()`` frees after 500 GetMeeting calls
    (and, shown apart, the whole growth per call)."""
    out: Dict[str, float] = {}
    out["attendee"], (m, _) = _attendee_bytes(event_limit=1)
    m.stop()
    out["attendee+event"], (m, mid) = _attendee_bytes()
    try:
        client = CHIME.client
        for _ in range(20):
            client.get_meeting(MeetingId=mid)
        m.journal.clear()
        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            for _ in range(500):
                client.get_meeting(MeetingId=mid)
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0]
            m.journal.clear()
            gc.collect()
            # The journal's own share is what clearing it frees; the rest of
            # the growth is the interpreter's bounded caches (type attribute
            # cache entries holding botocore's f-string attribute names...).
            out["journal"] = (grown - tracemalloc.get_traced_memory()[0]) / 500
            out["call growth"] = (grown - base) / 500
        finally:
            tracemalloc.stop()
    finally:
        m.stop()
    return out


def enter_exit(rounds: int) -> Dict[str, Case]:
    from moto import mock_aws

    boto3.setup_default_session()

    def chime_bare() -> Callable[[int], object]:
        def fn(i: int) -> None:
            with mock_chime_meetings():
                pass
        return fn

    def moto_bare() -> Callable[[int], object]:
        def fn(i: int) -> None:
            with mock_aws():
                pass
        return fn

    return run_interleaved([Case("chime enter+exit", 50, chime_bare), Case("moto enter+exit", 4, moto_bare)], rounds)


FIRST_CALL = r"""
import time, sys
import boto3, chime_mock
from botocore.awsrequest import AWSResponse
client_kwargs = dict(region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
if sys.argv[1] == "floor":
    from botocore.config import Config
    import botocore
    client = boto3.client("chime-sdk-meetings", config=Config(signature_version=botocore.UNSIGNED), **client_kwargs)
    class Raw:
        def __init__(s, b): s.b = b
        def stream(s, **_): yield s.b
        def read(s, *_): return s.b
    body = b'{"Meeting":{"MeetingId":"x"}}'
    client.meta.events.register("before-send.chime-sdk-meetings",
        lambda request, **_: AWSResponse(request.url, 200, {"Content-Length": str(len(body))}, Raw(body)))
    t0 = time.perf_counter()
    client.get_meeting(MeetingId="11111111-1111-1111-1111-111111111111")
else:
    client = boto3.client("chime-sdk-meetings", **client_kwargs)
    t0 = time.perf_counter()
    with chime_mock.mock_chime_meetings() as m:
        mid = m.add_meeting().meeting_id
        client.get_meeting(MeetingId=mid)
print((time.perf_counter() - t0) * 1000)
"""


def subprocess_ms(code: str, *args: str, runs: int = 3) -> float:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    return statistics.median(float(subprocess.run([sys.executable, "-c", code, *args], check=True,
                                                  capture_output=True, text=True, env=env).stdout)
                             for _ in range(runs))


PLUGIN_IMPORT = ("import time, pytest; t = time.perf_counter(); import chime_mock.activation.pytest_plugin; "
                 "print((time.perf_counter() - t) * 1000)")


# -- profile -----------------------------------------------------------------------------------
def profile(name: str, calls: int) -> str:
    op = OP_BY_NAME.get(name)
    if op is None:
        raise SystemExit(f"--profile: unknown operation {name!r}; one of {', '.join(OP_BY_NAME)}")
    meeting = CHIME.start()
    try:
        kwargs = op.prepare(CHIME.mock, meeting, calls + 1)
        call = getattr(CHIME.client, op.method)
        call(**kwargs[0])
        gc.collect()
        prof = cProfile.Profile()
        prof.enable()
        for i in range(1, calls + 1):
            call(**kwargs[i])
        prof.disable()
    finally:
        CHIME.stop()
    stats = pstats.Stats(prof)
    total = stats.total_tt
    pkg = os.path.dirname(chime_mock.__file__)
    top_dir = os.path.dirname(pkg)
    own: List[Tuple[float, float, int, str]] = []
    everything: List[Tuple[float, float, int, str]] = []
    for (filename, line, func), (cc, nc, tt, ct, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = filename
        if filename.startswith(pkg):
            where = os.path.relpath(filename, top_dir)
        elif "site-packages" in filename:
            where = filename.split("site-packages" + os.sep, 1)[1]
        row = (tt, ct, nc, f"{where}:{line}({func})")
        everything.append(row)
        if filename.startswith(pkg):
            own.append(row)
    own_total = sum(r[0] for r in own)
    buf = io.StringIO()
    us = 1e6 / calls
    buf.write(f"\ncProfile: {calls:,} {name} calls through chime_mock: {total * us:.0f} us/call under the profiler, "
              f"of which chime_mock's own code (tottime) {own_total * us:.1f} us/call.\n\n")
    buf.write("chime_mock functions by own time:\n\n| own us/call | cum us/call | calls/call | function |\n"
              "| ---: | ---: | ---: | --- |\n")
    for tt, ct, nc, fn in sorted(own, reverse=True)[:25]:
        buf.write(f"| {tt * us:.2f} | {ct * us:.2f} | {nc / calls:.2f} | `{fn}` |\n")
    buf.write("\nWhole path by cumulative time (top 30):\n\n| cum us/call | own us/call | calls/call | function |\n"
              "| ---: | ---: | ---: | --- |\n")
    for tt, ct, nc, fn in sorted(everything, key=lambda r: r[1], reverse=True)[:30]:
        buf.write(f"| {ct * us:.2f} | {tt * us:.2f} | {nc / calls:.2f} | `{fn}` |\n")
    return buf.getvalue()


# -- opcodes ----------------------------------------------------------------------------------
def opcodes(names: List[str], calls: int) -> str:
    """Python opcodes executed per call, chime_mock against the unsigned floor
    (``sys.settrace`` with opcode events): a count other load on the machine
    does not move, and chime_mock's functions by their share of it."""
    unknown = [name for name in names if name not in OP_BY_NAME]
    if unknown:
        raise SystemExit(f"--opcodes: unknown operation(s) {', '.join(unknown)}; one of {', '.join(OP_BY_NAME)}")
    pkg = os.path.dirname(chime_mock.__file__)

    def count(fn: Callable[[int], object]) -> Counts:
        counts: Counts = {}
        fn(-1)
        count_opcodes([functools.partial(fn, i) for i in range(calls)], counts)
        return counts

    buf = io.StringIO()
    buf.write(f"\nPython opcodes per call ({calls} calls each):\n\n| operation | floor | chime_mock call | ratio | "
              f"of which chime_mock's own code |\n| --- | ---: | ---: | ---: | ---: |\n")
    tops = []
    for name in names:
        op = OP_BY_NAME[name]
        floor = count(floor_case(op, calls, True).setup())
        meeting = CHIME.start()
        try:
            kwargs = op.prepare(CHIME.mock, meeting, calls + 2)
            call = getattr(CHIME.client, op.method)
            chime = count(lambda i: call(**kwargs[i + 1]))
        finally:
            CHIME.stop()
        f_total, c_total = sum(floor.values()) / calls, sum(chime.values()) / calls
        own = {key: n for key, n in chime.items() if key[0].startswith(pkg)}
        buf.write(f"| {op.label} | {f_total:,.0f} | {c_total:,.0f} | {c_total / f_total:.3f}x | "
                  f"{sum(own.values()) / calls:,.0f} |\n")
        tops.append((op.label, own))
    for label, own in tops:
        buf.write(f"\n{label}: chime_mock functions by opcodes per call\n\n")
        for (filename, func), n in sorted(own.items(), key=lambda kv: -kv[1])[:15]:
            buf.write(f"    {n / calls:8.1f}  {os.path.relpath(filename.split('#')[0], os.path.dirname(pkg))}"
                      f"{'#' + filename.split('#', 1)[1] if '#' in filename else ''} {func}\n")
    return buf.getvalue()


# -- machine instructions (valgrind) --------------------------------------------------------------
#: C functions of the interpreter's cyclic garbage collector, summed as one line.
GC_FUNCTIONS = ("subtype_traverse", "visit_decref", "visit_reachable", "gc_collect_main", "dict_traverse",
                "list_traverse", "tupletraverse", "move_unreachable", "update_refs", "subtract_refs",
                "deduce_unreachable", "gc_collect_with_callback", "gc_collect_generations")


def _instruction_run(name: str, side: str, calls: int) -> None:
    """The child of ``instructions``: ``calls`` calls of one side, after an
    untimed setup sized for the largest run (so only the calls differ)."""
    op = OP_BY_NAME[name]
    case = chime_case(op, 40) if side == "chime" else floor_case(op, 40, True)
    fn = case.setup()
    fn(-1)
    gc.collect()
    for i in range(calls):
        fn(i)


def _cachegrind_functions(path: str) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    function = None
    with open(path) as handle:
        for line in handle:
            if line.startswith("fn="):
                function = line[3:].strip()
            elif function is not None and line[:1].isdigit():
                parts = line.split()
                if len(parts) >= 2:
                    counts[function] = counts.get(function, 0) + int(parts[1])
    return counts


def instructions(names: List[str], few: int = 2, many: int = 22) -> str:
    """Machine instructions per call, chime_mock against the unsigned floor,
    counted by valgrind (cachegrind, no cache simulation): like ``--opcodes``
    a count other load does not move, and it also sees the C code (the JSON
    codec, dict lookups, memory, the cyclic garbage collector).  Each side
    runs in a child process twice, with ``few`` and ``many`` calls after the
    same setup; the difference divided by ``many - few`` is one call."""
    import shutil
    import tempfile
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (Debian: apt-get install valgrind)")
    unknown = [name for name in names if name not in OP_BY_NAME]
    if unknown:
        raise SystemExit(f"--instructions: unknown operation(s) {', '.join(unknown)}")
    env = dict(os.environ, PYTHONHASHSEED="0")
    buf = io.StringIO()
    buf.write(f"\nMachine instructions per call (valgrind; {many} - {few} calls):\n\n| operation | floor | "
              f"chime_mock call | ratio |\n| --- | ---: | ---: | ---: |\n")
    details = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            per: Dict[str, Dict[str, float]] = {}
            for side in ("floor", "chime"):
                runs = []
                for calls in (few, many):
                    out = os.path.join(tmp, f"{name}-{side}-{calls}.out")
                    subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={out}",
                                    sys.executable, os.path.abspath(__file__), "--_instruction-run", name, side,
                                    str(calls)], env=env, check=True, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
                    runs.append(_cachegrind_functions(out))
                per[side] = {fn: (runs[1].get(fn, 0) - runs[0].get(fn, 0)) / (many - few)
                             for fn in set(runs[0]) | set(runs[1])}
            floor, chime = sum(per["floor"].values()), sum(per["chime"].values())
            buf.write(f"| {OP_BY_NAME[name].label} | {floor:,.0f} | {chime:,.0f} | {chime / floor:.3f}x |\n")
            extra: Dict[str, float] = {}
            for fn in set(per["floor"]) | set(per["chime"]):
                key = "cyclic garbage collector" if fn in GC_FUNCTIONS else fn
                extra[key] = extra.get(key, 0.0) + per["chime"].get(fn, 0.0) - per["floor"].get(fn, 0.0)
            details.append((OP_BY_NAME[name].label, chime - floor, extra))
    for label, total, extra in details:
        buf.write(f"\n{label}: where chime_mock's {total:,.0f} more instructions per call go "
                  f"(C functions, chime_mock minus floor; the interpreter loop is the Python code)\n\n")
        for fn, n in sorted(extra.items(), key=lambda kv: -kv[1])[:12]:
            buf.write(f"    {n:12,.0f}  {n / total:6.1%}  {fn}\n")
    return buf.getvalue()


# -- report -------------------------------------------------------------------------------------
def fmt_us(ns: float) -> str:
    us = ns / 1000
    return f"{us:,.0f} us" if us >= 100 else f"{us:,.1f} us"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: few rounds, small stores")
    parser.add_argument("--rounds", type=int, help="rounds per section (default 15, --quick 3)")
    parser.add_argument("--profile", metavar="OP", help="print a cProfile of OP's calls and stop")
    parser.add_argument("--calls", type=int, default=2000,
                        help="calls profiled by --profile (default 2000) or counted by --opcodes (default 50)")
    parser.add_argument("--opcodes", metavar="OP", nargs="+",
                        help="print Python opcodes per call of each OP, chime_mock against the unsigned floor, and stop")
    parser.add_argument("--instructions", metavar="OP", nargs="+",
                        help="print machine instructions per call of each OP (valgrind), chime_mock against the "
                             "unsigned floor, and where the difference goes, and stop")
    parser.add_argument("--_instruction-run", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._instruction_run:
        name, side, calls = args._instruction_run
        _instruction_run(name, side, int(calls))
        return 0
    if args.instructions:
        print(instructions(args.instructions))
        return 0
    if args.opcodes:
        print(opcodes(args.opcodes, args.calls if args.calls != 2000 else 50))
        return 0
    if args.profile:
        print(profile(args.profile, args.calls))
        return 0
    rounds = args.rounds or (3 if args.quick else 15)
    scale = 0.5 if args.quick else 1.0
    big_meetings, big_attendees = (1_000, 10_000) if args.quick else (10_000, 100_000)

    times: Dict[str, float] = {}

    def timed(label: str, fn: Callable[[], Any]) -> Any:
        t = time.perf_counter()
        try:
            return fn()
        finally:
            times[label] = time.perf_counter() - t

    ops = timed("ops", lambda: per_op(rounds, scale))
    aio = timed("aio", lambda: aio_section(rounds, scale)) if HAVE_AIO else None
    mem = timed("memory", memory)
    gr, info = timed("growth", lambda: growth(max(3, rounds // 2), big_meetings, big_attendees))
    ee = timed("enter/exit", lambda: enter_exit(max(3, rounds // 2)))
    first = timed("first call", lambda: (subprocess_ms(FIRST_CALL, "chime"), subprocess_ms(FIRST_CALL, "floor")))
    plugin = timed("plugin import", lambda: subprocess_ms(PLUGIN_IMPORT, runs=5))

    rows: List[Tuple[str, str, str, str]] = []
    fails: List[str] = []

    def ratio_row(label: str, a: Case, b: Case, limit: Optional[float]) -> None:
        r, lo, hi = paired_ratio(a, b)
        measured = f"{r:.3f}x ({lo:.3f}-{hi:.3f}); {fmt_us(a.median)} vs {fmt_us(b.median)}" if r < 0.1 else \
            f"{r:.2f}x ({lo:.2f}-{hi:.2f}); {fmt_us(a.median)} vs {fmt_us(b.median)}"
        verdict = ""
        if limit is not None:
            verdict = "PASS" if r <= limit else "FAIL"
            if verdict == "FAIL":
                fails.append(label)
        rows.append((label, measured, f"<= {limit:.2f}x" if limit is not None else "(info)", verdict))

    for op in OPS:
        limit = 1.10 if op.items == 1 else 1.25
        ratio_row(f"{op.label} vs unsigned floor", ops[f"chime {op.name}"], ops[f"unsigned {op.name}"], limit)
    for name in CALIBRATION:
        ratio_row(f"calibration: the unsigned floor of {name} vs itself (A/A: what no difference measures)",
                  ops[f"unsigned again {name}"], ops[f"unsigned {name}"], None)
    for op in OPS:
        if op.name in ReferenceMock.OPERATIONS:
            ratio_row(f"{op.label}: the reference mock vs unsigned floor", ops[f"reference {op.name}"],
                      ops[f"unsigned {op.name}"], None)
    for op in OPS:
        ratio_row(f"{op.label} vs signed floor", ops[f"chime {op.name}"], ops[f"signed {op.name}"], None)
    ratio_row("signed vs unsigned floor (GetMeeting)", ops["signed GetMeeting"], ops["unsigned GetMeeting"], None)
    if aio is not None:
        for name in AIO_OPS:
            ratio_row(f"aiobotocore {name} vs aiobotocore unsigned floor", aio[f"aio chime {name}"],
                      aio[f"aio unsigned {name}"], None)
    else:
        rows.append(("aiobotocore", "skipped: not installed", "", ""))
    ratio_row(f"growth: GetMeeting among {big_meetings:,} vs 100 meetings", gr["get_meeting big"],
              gr["get_meeting small"], 1.20)
    ratio_row(f"growth: GetAttendee among {big_attendees:,} vs 250 attendees", gr["get_attendee big"],
              gr["get_attendee small"], 1.20)
    ratio_row(f"growth: ListAttendees (100) among {big_attendees:,} vs 250 attendees", gr["list_attendees big"],
              gr["list_attendees small"], 1.20)
    ratio_row("growth: ListAttendees page 2 vs page 1 (100 of 250 each)", gr["list_attendees page 2"],
              gr["list_attendees big"], 1.20)

    def limit_row(label: str, value: float, limit: float, unit: str) -> None:
        ok = value <= limit
        if not ok:
            fails.append(label)
        rows.append((label, f"{value:,.0f} {unit}", f"<= {limit:,.0f} {unit}", "PASS" if ok else "FAIL"))

    limit_row("memory per stored attendee (state; tracemalloc)", mem["attendee"], 600, "B")
    rows.append(("memory per stored attendee with its kept AttendeeAdded event (default event log)",
                 f"{mem['attendee+event']:,.0f} B", "(info)", ""))
    limit_row("memory per journal entry (GetMeeting call; what journal.clear() frees)", mem["journal"], 400, "B")
    rows.append(("memory growth per GetMeeting call in all (journal entry + interpreter caches)",
                 f"{mem['call growth']:,.0f} B", "(info)", ""))
    ratio_row("enter+exit: mock_chime_meetings vs mock_aws", ee["chime enter+exit"], ee["moto enter+exit"], 0.05)
    rows.append(("fresh process: first activation+add_meeting+GetMeeting vs a floor client's first GetMeeting",
                 f"{first[0]:.1f} ms vs {first[1]:.1f} ms", "(info)", ""))
    limit_row("import chime_mock.activation.pytest_plugin (after pytest)", plugin, 20, "ms")

    print("## chime_mock benchmark\n")
    print(f"Python {sys.version.split()[0]}, botocore {botocore.__version__}, boto3 {boto3.__version__}, "
          f"{os.cpu_count()} CPUs, {rounds} rounds{' (--quick)' if args.quick else ''}.  ratio = chime_mock / baseline: "
          f"median of per-round ratios (interquartile range), then the two medians per call.\n")
    print("| measure | measured | target | result |\n| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nSeeding the growth stores took {info['seed_s']:.1f} s.  Section times: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in times.items())
          + f".  Total {time.perf_counter() - T_START:.0f} s.")
    passed = sum(1 for r in rows if r[3] == "PASS")
    print(f"Targets: {passed} PASS, {len(fails)} FAIL" + (": " + "; ".join(fails) if fails else "") + ".")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
