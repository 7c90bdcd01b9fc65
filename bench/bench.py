#!/usr/bin/env python
"""chime_mock benchmark: per-call cost, switching cost, growth and memory.

Run from the repository root::

    python bench/bench.py               # the table, then a cProfile of 2,000 get_meeting calls
    python bench/bench.py --no-profile  # the table only

Everything runs in one process.  Each section runs in rounds; a round times
one batch of every case of the section (order reversed every other round),
so compared cases run seconds apart.  Per-call figures are medians over the
rounds of batch time / calls; every ratio is the median of the per-round
ratios, which cancels most drift from other processes on these 2 cores.
Absolute medians are printed too, but they drift from run to run; the
targets are ratios.

What is compared (all clients come from one ``boto3.session.Session``, so they
carry the same globally installed, inert handlers of chime_mock and moto):

* chime_mock: a ``chime-sdk-meetings`` client answered by an active mock.
* signed floor: a client with fake credentials and one trivial handler on
  ``before-send.chime-sdk-meetings`` returning a canned ``AWSResponse`` whose
  status, headers and body are the bytes chime_mock itself sent for the same
  call (captured once from ``response-received``).  Measured while
  chime_mock is NOT active; checked before timing that the canned answer is
  what the client returns.  It pays serialize + SigV4 + parse: what any
  before-send mock must pay at least.
* unsigned floor: the same plus a ``choose-signer.chime-sdk-meetings`` handler
  returning ``botocore.UNSIGNED`` (what chime_mock does while active).
* Stubber: ``botocore.stub.Stubber``; "add+call" does one ``add_response``
  per call inside the timed loop (what a test pays), "call only" queues the
  responses before the batch.
* moto 5 ``mock_aws``: ``ivs`` get_channel / create_channel (rest-json too),
  a fresh ``mock_aws`` activation per batch.
* enter+exit: ``with mock_chime_meetings(): pass`` vs ``with mock_aws(): pass``,
  and the same with one ``boto3.client("chime-sdk-meetings")`` created inside
  (same service on both sides; moto swaps in a fresh boto3 default session).
* growth: get_meeting over 100 vs 100,000 stored meetings (both stores stay
  in memory; the mock's ``backend.states`` is swapped between batches), and
  ListAttendees page 1 vs page 25 of a 250-attendee meeting (MaxResults=10,
  the last NextToken found by walking).
* memory: tracemalloc, bytes retained per object after ``gc.collect()``.
"""
from __future__ import annotations

import argparse
import cProfile
import copy
import dataclasses
import gc
import io
import os
import pstats
import statistics
import sys
import time
import tracemalloc
from time import perf_counter_ns
from typing import Callable, Dict, List, Optional, Tuple

T_START = time.perf_counter()

import boto3  # noqa: E402
import botocore  # noqa: E402
from botocore.awsrequest import AWSResponse  # noqa: E402
from botocore.stub import Stubber  # noqa: E402

import chime_mock  # noqa: E402
from chime_mock import mock_chime_meetings  # noqa: E402
from moto import mock_aws  # noqa: E402

REGION = "us-east-1"
SERVICE = "chime-sdk-meetings"
FAKE_CREDS = dict(aws_access_key_id="x", aws_secret_access_key="y")

SESSION = boto3.session.Session()


# -- timing machinery ------------------------------------------------------------------
class Case:
    """One measured thing: ``setup()`` (untimed) returns ``fn(i)``; a batch
    times ``n`` calls of ``fn``; ``teardown()`` (untimed) follows."""

    def __init__(self, name: str, n: int, setup: Callable[[], Callable[[int], object]],
                 teardown: Optional[Callable[[], None]] = None, warm: bool = True) -> None:
        self.name = name
        self.warm = warm
        self.n = n
        self.setup = setup
        self.teardown = teardown or (lambda: None)
        self.samples: List[float] = []   # ns per call, one per batch (= per round)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


def iqr(values: List[float]) -> Tuple[float, float]:
    if len(values) < 4:
        return min(values), max(values)
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def paired_ratio(a: Case, b: Case) -> Tuple[float, float, float]:
    """Median and IQR of the per-round ratios a/b.  Both cases ran one batch
    in every round, close together in time, so each round's ratio cancels
    most of the machine's drift (other processes share these 2 cores)."""
    ratios = [x / y for x, y in zip(a.samples, b.samples)]
    lo, hi = iqr(ratios)
    return statistics.median(ratios), lo, hi


def run_interleaved(cases: List[Case], repeats: int, collect: int = 2) -> Dict[str, Case]:
    """Rounds: each round runs one batch of every case, in list order on even
    rounds and reversed on odd ones (so no case always runs first).  Before
    each batch: one untimed warm call, then ``gc.collect(collect)``;
    automatic collections during the batch stay in the figure."""
    for round_ in range(repeats):
        for case in (cases if round_ % 2 == 0 else cases[::-1]):
            fn = case.setup()
            if case.warm:
                fn(-1)                  # first call: caches, lazy imports
            gc.collect(collect)
            n = case.n
            t0 = perf_counter_ns()
            for i in range(n):
                fn(i)
            case.samples.append((perf_counter_ns() - t0) / n)
            case.teardown()
    return {case.name: case for case in cases}


class RawBody:
    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_):
        yield self.body

    def read(self, *_):
        return self.body


# -- per-call fixtures -------------------------------------------------------------------
N_MEETING_ATTENDEES = 10     # list_attendees reads one full default page


class ChimeSide:
    """chime_mock: one client, reused across activations; each batch gets a
    fresh activation seeded with one meeting (+10 attendees)."""

    def __init__(self) -> None:
        self.mock = mock_chime_meetings(seed=7)
        self.mock.start()
        self.client = SESSION.client(SERVICE, region_name=REGION)   # created inside, no credentials
        self.mock.stop()
        self.meeting_id = ""

    def start(self) -> None:
        assert chime_mock.current() is None
        self.mock.start()
        self.meeting_id = self.mock.add_meeting(external_meeting_id="bench-meeting").meeting_id
        for k in range(N_MEETING_ATTENDEES):
            self.mock.add_attendee(self.meeting_id, f"seed-user-{k:03d}")

    def stop(self) -> None:
        self.mock.stop()


CHIME = ChimeSide()


def capture_wire() -> Tuple[Dict[str, Tuple[int, dict, bytes]], Dict[str, dict], Dict[str, dict]]:
    """What chime_mock sends for each benchmarked call: raw (status, headers,
    body) for the floors, parsed output for the Stubber, and the params."""
    raw: Dict[str, Tuple[int, dict, bytes]] = {}

    def grab(response_dict, event_name, **_):
        op = event_name.rsplit(".", 1)[-1]
        raw[op] = (response_dict["status_code"], dict(response_dict["headers"]), response_dict["body"])

    CHIME.client.meta.events.register(f"response-received.{SERVICE}", grab, unique_id="bench-grab")
    CHIME.start()
    try:
        mid = CHIME.meeting_id
        params = {
            "GetMeeting": {"MeetingId": mid},
            "CreateAttendee": {"MeetingId": mid, "ExternalUserId": "captured-user"},
            "ListAttendees": {"MeetingId": mid},
        }
        parsed = {
            "GetMeeting": CHIME.client.get_meeting(**params["GetMeeting"]),
            "ListAttendees": CHIME.client.list_attendees(**params["ListAttendees"]),
            "CreateAttendee": CHIME.client.create_attendee(**params["CreateAttendee"]),
        }
    finally:
        CHIME.stop()
        CHIME.client.meta.events.unregister(f"response-received.{SERVICE}", unique_id="bench-grab")
    for out in parsed.values():
        out.pop("ResponseMetadata", None)
    assert len(parsed["ListAttendees"]["Attendees"]) == N_MEETING_ATTENDEES
    assert "NextToken" not in parsed["ListAttendees"]
    return raw, parsed, params


WIRE, PARSED, PARAMS = capture_wire()
_PREFIX = f"before-send.{SERVICE}."


def make_floor_client(unsigned: bool):
    client = SESSION.client(SERVICE, region_name=REGION, **FAKE_CREDS)
    hits = [0]

    def canned(request, event_name, **_):
        status, headers, body = WIRE[event_name[len(_PREFIX):]]
        hits[0] += 1
        return AWSResponse(request.url, status, headers, RawBody(body))

    client.meta.events.register(f"before-send.{SERVICE}", canned, unique_id="bench-floor")
    if unsigned:
        client.meta.events.register(f"choose-signer.{SERVICE}", lambda **_: botocore.UNSIGNED,
                                    unique_id="bench-unsigned")
    # Verify: chime_mock inactive, and the canned answer is what the client returns.
    assert chime_mock.current() is None
    before = hits[0]
    out = client.get_meeting(**PARAMS["GetMeeting"])
    out.pop("ResponseMetadata", None)
    assert hits[0] == before + 1 and out == PARSED["GetMeeting"], "floor did not answer"
    return client


FLOOR_SIGNED = make_floor_client(unsigned=False)
FLOOR_UNSIGNED = make_floor_client(unsigned=True)
STUB_CLIENT = SESSION.client(SERVICE, region_name=REGION, **FAKE_CREDS)
IVS_CLIENT = SESSION.client("ivs", region_name=REGION, **FAKE_CREDS)

OPS = (("get_meeting", "GetMeeting"), ("create_attendee", "CreateAttendee"), ("list_attendees", "ListAttendees"))
USER_IDS = [f"bench-user-{i:05d}" for i in range(-1, 240)]   # index i+1; creates stay under 250 per meeting


def chime_case(method: str, op: str, n: int) -> Case:
    def setup():
        CHIME.start()
        call = getattr(CHIME.client, method)
        mid = CHIME.meeting_id
        if op == "CreateAttendee":
            return lambda i: call(MeetingId=mid, ExternalUserId=USER_IDS[i + 1])
        return lambda i: call(MeetingId=mid)
    return Case(f"chime {method}", n, setup, CHIME.stop)


def floor_case(method: str, op: str, n: int, unsigned: bool) -> Case:
    client = FLOOR_UNSIGNED if unsigned else FLOOR_SIGNED
    call = getattr(client, method)
    kwargs = PARAMS[op]

    def setup():
        assert chime_mock.current() is None, "floor must run with chime_mock inactive"
        return lambda i: call(**kwargs)
    return Case(f"{'unsigned' if unsigned else 'signed'} floor {method}", n, setup)


def stub_response(op: str) -> dict:
    """chime_mock's parsed answer, minus what Stubber's validator rejects:
    chime_mock sends ``TenantIds: []`` while the model says min length 1."""
    response = dict(PARSED[op])
    if "Meeting" in response and response["Meeting"].get("TenantIds") == []:
        response["Meeting"] = {k: v for k, v in response["Meeting"].items() if k != "TenantIds"}
    return response


def stubber_case(method: str, op: str, n: int, per_call_add: bool) -> Case:
    call = getattr(STUB_CLIENT, method)
    kwargs = PARAMS[op]
    response = stub_response(op)
    holder: List[Stubber] = []

    def setup():
        stubber = Stubber(STUB_CLIENT)
        stubber.activate()
        holder[:] = [stubber]
        add = stubber.add_response
        if per_call_add:
            def fn(i):
                add(method, response)
                return call(**kwargs)
            return fn
        for _ in range(n + 1):
            add(method, response)
        return lambda i: call(**kwargs)

    def teardown():
        holder[0].deactivate()
    label = "add+call" if per_call_add else "call only"
    return Case(f"Stubber ({label}) {method}", n, setup, teardown)


def moto_case(method: str, n: int) -> Case:
    holder: list = []

    def setup():
        m = mock_aws()
        m.start()
        holder[:] = [m]
        if method == "get_channel":
            arn = IVS_CLIENT.create_channel(name="bench-read")["channel"]["arn"]
            return lambda i: IVS_CLIENT.get_channel(arn=arn)
        names = [f"bench-{i}" for i in range(-1, n)]
        return lambda i: IVS_CLIENT.create_channel(name=names[i + 1])

    def teardown():
        holder[0].stop()
    return Case(f"moto ivs {method}", n, setup, teardown)


def check_moto_answers() -> None:
    with mock_aws():
        arn = IVS_CLIENT.create_channel(name="probe")["channel"]["arn"]
        assert IVS_CLIENT.get_channel(arn=arn)["channel"]["name"] == "probe"


# -- sections -----------------------------------------------------------------------------
def per_call(repeats: int) -> Dict[str, Case]:
    check_moto_answers()
    cases: List[Case] = []
    moto_for = {"get_meeting": "get_channel", "create_attendee": "create_channel"}
    # Compared cases sit next to each other in a round.
    for method, op in OPS:
        cases.append(floor_case(method, op, 60, unsigned=False))
        cases.append(chime_case(method, op, 60))
        cases.append(floor_case(method, op, 60, unsigned=True))
        if method in moto_for:
            cases.append(moto_case(moto_for[method], 40))
        cases.append(stubber_case(method, op, 100, per_call_add=True))
        cases.append(stubber_case(method, op, 100, per_call_add=False))
    return run_interleaved(cases, repeats)


def enter_exit(repeats: int) -> Dict[str, Case]:
    boto3.setup_default_session()   # a warm default session, as in a test run

    def chime_bare():
        def fn(i):
            with mock_chime_meetings():
                pass
        return fn

    def chime_client():
        def fn(i):
            with mock_chime_meetings():
                boto3.client(SERVICE, region_name=REGION)
        return fn

    def moto_bare():
        def fn(i):
            with mock_aws():
                pass
        return fn

    def moto_client():
        def fn(i):
            with mock_aws():
                boto3.client(SERVICE, region_name=REGION)
        return fn

    cases = [
        Case("chime enter+exit", 50, chime_bare),
        Case("moto enter+exit", 5, moto_bare),
        Case("chime enter+client+exit", 5, chime_client),
        # every mock_aws start brings a fresh boto3 session, so no call is "warm"
        Case("moto enter+client+exit", 1, moto_client, warm=False),
    ]
    return run_interleaved(cases, repeats)


def clone_meetings(mock, template, count: int) -> List[str]:
    """Fastest seeding: ``count`` shallow copies of ``template`` with their own
    IDs, ClientRequestToken, MediaPlacement URLs and own copies of every
    dict/list field, stored as ``_new_meeting`` stores them (meetings and
    tokens of the template's RegionState).  No rules run."""
    state = mock.backend.states[(template.account, template.region)]
    containers = [f.name for f in dataclasses.fields(template)
                  if isinstance(getattr(template, f.name), (dict, list))]
    uuid = mock.ids.uuid4
    old_id = template.meeting_id
    ids = []
    for _ in range(count):
        meeting = copy.copy(template)
        mid = uuid()
        for name in containers:
            value = getattr(meeting, name)
            if value is not None:   # cached views (Meeting._wire) reset when a field is set
                setattr(meeting, name, value.copy())
        meeting.meeting_id = mid
        meeting.client_request_token = uuid()
        meeting.media_placement = {k: v.replace(old_id, mid) for k, v in template.media_placement.items()}
        state.meetings[mid] = meeting
        state.tokens[meeting.client_request_token] = mid
        ids.append(mid)
    return ids


def growth(repeats: int, big: int) -> Tuple[Dict[str, Case], Dict[str, float]]:
    info: Dict[str, float] = {}
    mock = CHIME.mock
    client = CHIME.client
    mock.start()
    try:
        t0 = time.perf_counter()
        small_ids = [mock.add_meeting(external_meeting_id=f"small-{k}").meeting_id for k in range(100)]
        info["add_meeting_us"] = (time.perf_counter() - t0) / 100 * 1e6
        small_states = mock.backend.states

        # The big store: m.add_meeting() costs ~60-130 us here (6-13 s for
        # 100,000, too much of a one-minute budget), so one meeting comes from
        # add_meeting and the rest are clones of it (clone_meetings).
        mock.backend.states = {}
        gc.collect()
        gc.disable()   # nothing collectable is made while seeding
        try:
            t0 = time.perf_counter()
            template = mock.add_meeting(external_meeting_id="big")
            big_ids = [template.meeting_id] + clone_meetings(mock, template, big - 1)
            info["seed_s"] = time.perf_counter() - t0
        finally:
            gc.enable()
        gc.collect()
        big_states = mock.backend.states
        assert sum(len(st.meetings) for st in big_states.values()) == big
        sample_ids = big_ids[:: big // 100][:100]
        for mid in (sample_ids[0], sample_ids[-1]):   # clones answer like real meetings
            mock.backend.states = big_states
            assert client.get_meeting(MeetingId=mid)["Meeting"]["MeetingId"] == mid

        def use(states, ids):
            def setup():
                mock.backend.states = states
                mock.journal.clear()
                return lambda i: client.get_meeting(MeetingId=ids[i % 100])
            return setup

        # Paging: one meeting with 250 attendees, MaxResults=10 (in a store of its own).
        mock.backend.states = {}
        paged = mock.add_meeting(external_meeting_id="paged")
        for k in range(250):
            mock.add_attendee(paged.meeting_id, f"pager-{k:04d}")
        token, pages, last_token = None, 0, None
        while True:
            kwargs = {"MeetingId": paged.meeting_id, "MaxResults": 10}
            if token:
                kwargs["NextToken"] = token
            out = client.list_attendees(**kwargs)
            pages += 1
            last_token = token
            token = out.get("NextToken")
            if not token:
                break
        assert pages == 25 and len(out["Attendees"]) == 10, (pages, len(out["Attendees"]))
        paged_states = mock.backend.states

        def page(token_):
            def setup():
                mock.backend.states = paged_states
                mock.journal.clear()
                kw = {"MeetingId": paged.meeting_id, "MaxResults": 10}
                if token_:
                    kw["NextToken"] = token_
                return lambda i: client.list_attendees(**kw)
            return setup

        # Both stores stay in memory throughout: the ratio isolates what the
        # store's size does to a lookup (the heap's effect on automatic GC
        # passes hits both sides alike).
        cases = [
            Case("get_meeting, 100 stored", 60, use(small_states, small_ids)),
            Case(f"get_meeting, {big:,} stored", 60, use(big_states, sample_ids)),
            Case("list_attendees page 1 of 25", 60, page(None)),
            Case("list_attendees page 25 of 25", 60, page(last_token)),
        ]
        # gen-1 collections between batches: a full one would walk the big store
        # each time (~0.1 s) without changing what is timed.
        results = run_interleaved(cases, repeats, collect=1)
    finally:
        mock.stop()
    return results, info


def memory() -> Dict[str, float]:
    out: Dict[str, float] = {}
    with mock_chime_meetings(seed=3) as m:
        warm = m.add_meeting(external_meeting_id="warm")
        m.add_attendee(warm.meeting_id, "warm-user")
        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            meetings = [m.add_meeting(external_meeting_id=f"mem-{k:05d}") for k in range(2000)]
            del meetings
            gc.collect()
            out["meeting"] = (tracemalloc.get_traced_memory()[0] - base) / 2000

            target = m.add_meeting(external_meeting_id="mem-attendees")
            gc.collect()
            base = tracemalloc.get_traced_memory()[0]
            for k in range(250):
                m.add_attendee(target.meeting_id, f"mem-user-{k:04d}")
            gc.collect()
            out["attendee"] = (tracemalloc.get_traced_memory()[0] - base) / 250

            # What each HTTP call leaves behind (the journal keeps every Call).
            client = CHIME.client
            for _ in range(20):
                client.get_meeting(MeetingId=target.meeting_id)
            gc.collect()
            base = tracemalloc.get_traced_memory()[0]
            for _ in range(200):
                client.get_meeting(MeetingId=target.meeting_id)
            gc.collect()
            out["journal"] = (tracemalloc.get_traced_memory()[0] - base) / 200
        finally:
            tracemalloc.stop()
    return out


def profile(calls: int = 2000, top: int = 15) -> str:
    CHIME.start()
    try:
        mid = CHIME.meeting_id
        get = CHIME.client.get_meeting
        get(MeetingId=mid)
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(calls):
            get(MeetingId=mid)
        prof.disable()
    finally:
        CHIME.stop()
    stats = pstats.Stats(prof)
    total = stats.total_tt
    pkg = os.path.dirname(chime_mock.__file__)
    rows = []
    for (filename, line, func), (cc, nc, tt, ct, _) in stats.stats.items():
        if filename.startswith(pkg):
            rows.append((ct, tt, nc, f"{os.path.relpath(filename, os.path.dirname(pkg))}:{line}({func})"))
    rows.sort(reverse=True)
    buf = io.StringIO()
    buf.write(f"\ncProfile: {calls:,} get_meeting calls through chime_mock, total {total:.2f} s profiled "
              f"({total / calls * 1e6:.0f} us/call under the profiler)\n")
    buf.write(f"Top {top} chime_mock entries by cumulative time:\n\n")
    buf.write("| cum s | cum % | own s | calls | function |\n| ---: | ---: | ---: | ---: | --- |\n")
    for ct, tt, nc, name in rows[:top]:
        buf.write(f"| {ct:.3f} | {100 * ct / total:.1f} | {tt:.3f} | {nc:,} | `{name}` |\n")
    return buf.getvalue()


# -- report -------------------------------------------------------------------------------
def fmt_us(ns: float) -> str:
    us = ns / 1000
    return f"{us:,.0f} us" if us >= 100 else f"{us:,.1f} us"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="rounds: batches per case (medians taken)")
    parser.add_argument("--big", type=int, default=100_000, help="meetings in the large store")
    parser.add_argument("--no-profile", dest="profile", action="store_false",
                        help="skip the cProfile of 2,000 get_meeting calls")
    args = parser.parse_args()

    t = time.perf_counter()
    pc = per_call(args.repeats)
    t_pc = time.perf_counter() - t
    t = time.perf_counter()
    ee = enter_exit(args.repeats)
    t_ee = time.perf_counter() - t
    t = time.perf_counter()
    mem = memory()
    t_mem = time.perf_counter() - t
    t = time.perf_counter()
    gr, info = growth(args.repeats, args.big)
    t_gr = time.perf_counter() - t

    rows: List[Tuple[str, str, str, str, str, str, str]] = []
    verdicts: List[Tuple[str, bool]] = []

    def ratio_row(label: str, a: Case, b: Case, target: Optional[Tuple[str, float]] = None) -> None:
        r, lo, hi = paired_ratio(a, b)
        d = 3 if r < 0.1 else 2
        tgt, res = "", ""
        if target is not None:
            text, limit = target
            ok = r <= limit
            tgt, res = text, ("PASS" if ok else "FAIL")
            verdicts.append((label, ok))
        rows.append((label, fmt_us(a.median), b.name, fmt_us(b.median),
                     f"**{r:.{d}f}x** ({lo:.{d}f}-{hi:.{d}f})", tgt, res))

    for method, _ in OPS:
        chime = pc[f"chime {method}"]
        ratio_row(f"{method}: chime_mock vs signed floor", chime, pc[f"signed floor {method}"],
                  ("<= 1.10x", 1.10) if method == "get_meeting" else None)
        ratio_row(f"{method}: chime_mock vs unsigned floor", chime, pc[f"unsigned floor {method}"])
        ratio_row(f"{method}: chime_mock vs Stubber, add_response+call", chime, pc[f"Stubber (add+call) {method}"])
        ratio_row(f"{method}: chime_mock vs Stubber, call only", chime, pc[f"Stubber (call only) {method}"])
    ratio_row("read: chime get_meeting vs moto ivs get_channel", pc["chime get_meeting"],
              pc["moto ivs get_channel"], ("<= 0.50x (2x faster)", 0.50))
    ratio_row("write: chime create_attendee vs moto ivs create_channel", pc["chime create_attendee"],
              pc["moto ivs create_channel"], ("<= 0.50x (2x faster)", 0.50))
    ratio_row("signed floor vs unsigned floor (get_meeting)", pc["signed floor get_meeting"],
              pc["unsigned floor get_meeting"])
    ratio_row("enter+exit, bare: chime_mock vs mock_aws", ee["chime enter+exit"], ee["moto enter+exit"],
              ("<= 0.05x (1/20)", 0.05))
    ratio_row("enter+exit with one client: chime_mock vs mock_aws", ee["chime enter+client+exit"],
              ee["moto enter+client+exit"])
    big_name = f"get_meeting, {args.big:,} stored"
    ratio_row(f"growth: get_meeting {args.big:,} vs 100 meetings", gr[big_name], gr["get_meeting, 100 stored"],
              ("<= 1.20x", 1.20))
    ratio_row("growth: list_attendees last page vs page 1 (250 attendees, 10/page)",
              gr["list_attendees page 25 of 25"], gr["list_attendees page 1 of 25"], ("<= 1.20x", 1.20))

    print("## chime_mock benchmark\n")
    print(f"Python {sys.version.split()[0]}, botocore {botocore.__version__}, boto3 {boto3.__version__}, "
          f"moto {__import__('moto').__version__}, {os.cpu_count()} CPUs, {args.repeats} rounds.\n")
    print("Per call = median over rounds of (batch time / calls in batch).  ratio = chime_mock / baseline,\n"
          "the median of the per-round ratios (interquartile range in brackets); below 1: chime_mock is cheaper.\n")
    print("| measure | chime_mock per call | baseline | baseline per call | ratio | target | result |")
    print("| --- | ---: | --- | ---: | ---: | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")

    ok_att = mem["attendee"] < 2048
    verdicts.append(("memory per stored attendee", ok_att))
    print("\n| memory (tracemalloc, after gc) | bytes per object | target | result |")
    print("| --- | ---: | --- | --- |")
    print(f"| per stored meeting (avg of 2,000, via add_meeting) | {mem['meeting']:,.0f} | | |")
    print(f"| per stored attendee (avg of 250 in one meeting) | {mem['attendee']:,.0f} | < 2,048 | "
          f"{'PASS' if ok_att else 'FAIL'} |")
    print(f"| retained per get_meeting HTTP call (journal) | {mem['journal']:,.0f} | | |")

    fails = [label for label, ok in verdicts if not ok]
    print(f"\nSeeding: m.add_meeting() took {info['add_meeting_us']:.0f} us per meeting (the 100-meeting store), "
          f"i.e. ~{info['add_meeting_us'] * args.big / 1e6:.0f} s for {args.big:,}; the {args.big:,}-meeting store "
          f"was therefore seeded with one add_meeting() plus {args.big - 1:,} clones of it (GC paused): "
          f"{info['seed_s']:.1f} s.")
    print(f"Section times: per-call {t_pc:.1f} s, enter/exit {t_ee:.1f} s, memory {t_mem:.1f} s, "
          f"growth {t_gr:.1f} s.")
    print(f"Targets: {len(verdicts) - len(fails)} PASS, {len(fails)} FAIL"
          + (": " + "; ".join(fails) if fails else "") + ".")
    if args.profile:
        print(profile())
    print(f"Total run time: {time.perf_counter() - T_START:.1f} s (imports included).")


if __name__ == "__main__":
    main()
