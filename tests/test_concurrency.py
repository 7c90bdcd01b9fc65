"""Concurrency: many threads, each with its own boto3 client, on shared meetings.

``test_threads_hammering_shared_meetings``: ``THREADS`` (8) threads x
``OPS_PER_THREAD`` (500) operations on two shared meetings (250 seats, and
``MaxCount`` 12): CreateAttendee, BatchCreateAttendee, DeleteAttendee, full
ListAttendees NextToken walks with random MaxResults, TagResource /
UntagResource / ListTagsForResource, UpdateAttendeeCapabilities,
BatchUpdateAttendeeCapabilitiesExcept, GetMeeting, GetAttendee.  Creates far
outnumber deletes, so both meetings stay full and threads race for the last
seats all the time.  Each thread keeps the set of attendees it created and
has not deleted, and the tags it owns.  Checked:

* no lost or duplicated attendees: at the end the union of the threads' sets
  is exactly what a full ListAttendees walk (and the mock's state) holds;
* every AttendeeId ever returned by a create is unique;
* seats: no walk, no monitor poll and no final count ever sees more than the
  meeting's limit; a refused create is LimitExceededException (or a
  ResourceLimitExceeded item in ``Errors``), nothing else;
* paging: a walk never returns an attendee twice and always returns every
  attendee its thread owned for the whole walk (D15: deletions by others
  between pages shift nobody out);
* tags a thread owns always read back as it last wrote them;
* the journal recorded every call exactly once.

``test_threads_racing_for_the_last_seats``: 8 threads released by a barrier
race for the last seats, for the 250-seat hard limit (prefilled to 244) and a
MaxCount of 10, with CreateAttendee and with BatchCreateAttendee: exactly the
free seats are filled, every loser gets LimitExceededException /
ResourceLimitExceeded.

Retries are off so LimitExceeded surfaces at once.  Seeded operation mixes
(``random.Random(thread index)``); thread interleaving is up to the OS.
Measured on the 2-core build box: about 7.5 s (hammering, ~6,000 calls) +
1.3 s (4 race variants x 3 rounds).
"""
from __future__ import annotations

import random
import threading
import traceback
from typing import Any, Dict, List, Optional

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from chime_mock import mock_chime_meetings
from tests.helpers import assert_error_envelope

THREADS = 8
OPS_PER_THREAD = 500
SMALL_MAX = 12
RACE_ROUNDS = 3

NO_RETRY = Config(retries={"max_attempts": 0, "mode": "standard"}, max_pool_connections=THREADS * 2)


def make_clients(n: int) -> List[Any]:
    """One client per thread, all built here on the calling (main) thread."""
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    return [session.client("chime-sdk-meetings", region_name="us-east-1", config=NO_RETRY) for _ in range(n)]


def error_name(exc: ClientError) -> str:
    return type(exc).__name__


def full_walk(client, meeting_id: str, max_results: Optional[int]):
    """Every attendee of a NextToken walk, and the number of calls it took."""
    params: Dict[str, Any] = {"MeetingId": meeting_id}
    if max_results is not None:
        params["MaxResults"] = max_results
    listed: List[Dict[str, Any]] = []
    for calls in range(1, 1000):
        response = client.list_attendees(**params)
        listed += response["Attendees"]
        token = response.get("NextToken")
        if not token:
            return listed, calls
        params["NextToken"] = token
    raise AssertionError("ListAttendees paging did not end")


class Worker:
    def __init__(self, index: int, client, meetings: Dict[str, Dict[str, Any]], barrier: threading.Barrier) -> None:
        self.index = index
        self.client = client
        self.meetings = meetings                    # id -> {"arn", "max"}
        self.barrier = barrier
        self.rng = random.Random(index)
        self.live: Dict[str, Dict[str, str]] = {mid: {} for mid in meetings}   # meeting -> attendee id -> ext id
        self.created: List[str] = []
        self.tags: Dict[str, Dict[str, str]] = {mid: {} for mid in meetings}
        self.failures: List[str] = []
        self.calls = 0
        self.refused = 0
        self.serial = 0

    # -- bookkeeping ---------------------------------------------------------------------
    def fail(self, message: str) -> None:
        self.failures.append(f"thread {self.index}: {message}")

    def new_ext(self) -> str:
        self.serial += 1
        return f"t{self.index}-u{self.serial}"

    def record_created(self, meeting_id: str, attendee: Dict[str, Any], ext: str) -> None:
        if attendee["ExternalUserId"] != ext:
            self.fail(f"created {ext} but got {attendee}")
        self.created.append(attendee["AttendeeId"])
        self.live[meeting_id][attendee["AttendeeId"]] = ext

    def call(self, method: str, **params: Any) -> Any:
        self.calls += 1
        return getattr(self.client, method)(**params)

    # -- the operations ---------------------------------------------------------------------
    def create_attendee(self, meeting_id: str) -> None:
        ext = self.new_ext()
        try:
            response = self.call("create_attendee", MeetingId=meeting_id, ExternalUserId=ext)
        except ClientError as exc:
            if error_name(exc) != "LimitExceededException":
                raise
            assert_error_envelope(exc, "LimitExceededException", 400)
            self.refused += 1
            return
        self.record_created(meeting_id, response["Attendee"], ext)

    def batch_create(self, meeting_id: str) -> None:
        exts = [self.new_ext() for _ in range(self.rng.randint(1, 4))]
        response = self.call("batch_create_attendee", MeetingId=meeting_id,
                             Attendees=[{"ExternalUserId": e} for e in exts])
        failed = {e["ExternalUserId"] for e in response["Errors"]}
        for error in response["Errors"]:
            if error["ErrorCode"] != "ResourceLimitExceeded":
                self.fail(f"unexpected batch item error {error}")
        self.refused += len(failed)
        got = {a["ExternalUserId"]: a for a in response["Attendees"]}
        if set(got) | failed != set(exts) or set(got) & failed:
            self.fail(f"batch of {exts} answered attendees {sorted(got)} and errors {sorted(failed)}")
        for ext in exts:
            if ext in got:
                self.record_created(meeting_id, got[ext], ext)

    def delete_attendee(self, meeting_id: str) -> None:
        mine = self.live[meeting_id]
        if not mine:
            return self.create_attendee(meeting_id)
        attendee_id = self.rng.choice(sorted(mine))
        self.call("delete_attendee", MeetingId=meeting_id, AttendeeId=attendee_id)
        del mine[attendee_id]

    def walk(self, meeting_id: str) -> None:
        owned = dict(self.live[meeting_id])         # only this thread deletes these
        limit = self.meetings[meeting_id]["max"]
        if limit > 50:   # keep walks of the 250-seat room to a few pages each (time budget)
            max_results = self.rng.choice([None, 33, 50, 100, self.rng.randint(20, 100)])
        else:
            max_results = self.rng.choice([None, 1, 2, 5, 100, self.rng.randint(1, 100)])
        listed, calls = full_walk(self.client, meeting_id, max_results)
        self.calls += calls
        ids = [a["AttendeeId"] for a in listed]
        if len(ids) != len(set(ids)):
            self.fail(f"ListAttendees walk returned duplicates: {len(ids) - len(set(ids))} of {len(ids)}")
        if calls == 1 and len(ids) > limit:   # a one-page walk is a snapshot (longer ones are not)
            self.fail(f"ListAttendees saw {len(ids)} attendees in a meeting of {limit} seats")
        by_id = {a["AttendeeId"]: a["ExternalUserId"] for a in listed}
        missing = [a for a in owned if a not in by_id]
        if missing:
            self.fail(f"ListAttendees walk (MaxResults={max_results}) lost attendees this thread owns: {missing}")
        for attendee_id, ext in owned.items():
            if attendee_id in by_id and by_id[attendee_id] != ext:
                self.fail(f"attendee {attendee_id} listed as {by_id[attendee_id]}, created as {ext}")

    def tag(self, meeting_id: str) -> None:
        arn = self.meetings[meeting_id]["arn"]
        mine = self.tags[meeting_id]
        keys = [f"t{self.index}-k{j}" for j in range(5)]
        roll = self.rng.random()
        if roll < 0.45:
            chosen = self.rng.sample(keys, self.rng.randint(1, 3))
            new = {k: f"v{self.rng.randint(0, 99)}" for k in chosen}
            self.call("tag_resource", ResourceARN=arn, Tags=[{"Key": k, "Value": v} for k, v in new.items()])
            mine.update(new)
        elif roll < 0.75:
            chosen = self.rng.sample(keys, self.rng.randint(1, 3))
            self.call("untag_resource", ResourceARN=arn, TagKeys=chosen)
            for k in chosen:
                mine.pop(k, None)
        else:
            tags = self.call("list_tags_for_resource", ResourceARN=arn)["Tags"]
            seen = {t["Key"]: t["Value"] for t in tags if t["Key"].startswith(f"t{self.index}-")}
            if len(tags) != len({t["Key"] for t in tags}):
                self.fail("ListTagsForResource returned a key twice")
            if seen != mine:
                self.fail(f"tags of thread {self.index} read back as {seen}, last written {mine}")

    def update_capabilities(self, meeting_id: str) -> None:
        mine = self.live[meeting_id]
        if not mine:
            return self.get_meeting(meeting_id)
        attendee_id = self.rng.choice(sorted(mine))
        caps = self.rng.choice([
            {"Audio": "SendReceive", "Video": "SendReceive", "Content": "SendReceive"},
            {"Audio": "Send", "Video": "Receive", "Content": "None"},
            {"Audio": "Receive", "Video": "None", "Content": "Send"},
        ])
        response = self.call("update_attendee_capabilities", MeetingId=meeting_id, AttendeeId=attendee_id,
                             Capabilities=caps)
        if response["Attendee"]["Capabilities"] != caps or response["Attendee"]["AttendeeId"] != attendee_id:
            self.fail(f"UpdateAttendeeCapabilities answered {response['Attendee']}, asked {caps}")

    def batch_update(self, meeting_id: str) -> None:
        excluded = sorted(self.live[meeting_id])[:250] or ["00000000-0000-4000-8000-000000000000"]
        self.call("batch_update_attendee_capabilities_except", MeetingId=meeting_id,
                  ExcludedAttendeeIds=[{"AttendeeId": a} for a in excluded],
                  Capabilities={"Audio": "SendReceive", "Video": "SendReceive", "Content": "None"})

    def get_meeting(self, meeting_id: str) -> None:
        meeting = self.call("get_meeting", MeetingId=meeting_id)["Meeting"]
        if meeting["MeetingId"] != meeting_id:
            self.fail(f"GetMeeting({meeting_id}) answered {meeting['MeetingId']}")

    def get_attendee(self, meeting_id: str) -> None:
        mine = self.live[meeting_id]
        if not mine:
            return self.get_meeting(meeting_id)
        attendee_id = self.rng.choice(sorted(mine))
        attendee = self.call("get_attendee", MeetingId=meeting_id, AttendeeId=attendee_id)["Attendee"]
        if attendee["ExternalUserId"] != mine[attendee_id]:
            self.fail(f"GetAttendee({attendee_id}) answered {attendee}, created as {mine[attendee_id]}")

    OPS = [("create_attendee", 26), ("batch_create", 10), ("delete_attendee", 22), ("walk", 8), ("tag", 12),
           ("update_capabilities", 8), ("batch_update", 2), ("get_meeting", 6), ("get_attendee", 6)]

    def run(self) -> None:
        names = [n for n, _ in self.OPS]
        weights = [w for _, w in self.OPS]
        try:
            self.barrier.wait()
            for _ in range(OPS_PER_THREAD):
                op = self.rng.choices(names, weights)[0]
                meeting_id = self.rng.choice(sorted(self.meetings))
                try:
                    getattr(self, op)(meeting_id)
                except ClientError as exc:
                    self.fail(f"{op} on {meeting_id} failed: {error_name(exc)}: {exc}")
        except BaseException:  # anything else (a ChimeMockInternalError, an assertion) is a failure too
            self.fail(traceback.format_exc())


def test_threads_hammering_shared_meetings():
    with mock_chime_meetings(seed=4242) as m:
        clients = make_clients(THREADS + 1)
        main = clients[-1]
        big = main.create_meeting(ExternalMeetingId="big-room", MediaRegion="us-east-1")["Meeting"]
        small = main.create_meeting(ExternalMeetingId="small-room", MediaRegion="us-east-1",
                                    MeetingFeatures={"Attendee": {"MaxCount": SMALL_MAX}})["Meeting"]
        meetings = {big["MeetingId"]: {"arn": big["MeetingArn"], "max": 250},
                    small["MeetingId"]: {"arn": small["MeetingArn"], "max": SMALL_MAX}}
        barrier = threading.Barrier(THREADS)
        workers = [Worker(i, clients[i], meetings, barrier) for i in range(THREADS)]

        over_limit: List[str] = []
        stop = threading.Event()

        def monitor() -> None:
            while not stop.is_set():
                for meeting_id, info in meetings.items():
                    count = len(m.attendees(meeting_id))
                    if count > info["max"]:
                        over_limit.append(f"{meeting_id} held {count} attendees (limit {info['max']})")
                stop.wait(0.002)

        threads = [threading.Thread(target=w.run, name=f"hammer-{w.index}") for w in workers]
        watcher = threading.Thread(target=monitor, name="seat-monitor")
        watcher.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        stop.set()
        watcher.join()
        assert not any(t.is_alive() for t in threads), "a worker thread hung"
        journal_calls = len(m.journal)

        failures = [f for w in workers for f in w.failures]
        assert not failures, "\n".join(failures[:20]) + f"\n({len(failures)} failures)"
        assert not over_limit, over_limit[:5]

        # Every AttendeeId ever handed out is unique.
        created = [a for w in workers for a in w.created]
        assert len(created) == len(set(created)), f"{len(created) - len(set(created))} AttendeeIds handed out twice"
        assert sum(w.refused for w in workers) > 0, "the meetings never filled up: the seat race was not exercised"

        for meeting_id, info in meetings.items():
            expected: Dict[str, str] = {}
            for w in workers:
                overlap = set(expected) & set(w.live[meeting_id])
                assert not overlap, f"two threads own {overlap}"
                expected.update(w.live[meeting_id])
            for page_size in (None, 1, 13, 100):
                listed, _ = full_walk(main, meeting_id, page_size)
                ids = [a["AttendeeId"] for a in listed]
                assert len(ids) == len(set(ids)), f"final walk (MaxResults={page_size}) repeated attendees"
                assert {a["AttendeeId"]: a["ExternalUserId"] for a in listed} == expected, (
                    f"meeting {meeting_id} (MaxResults={page_size}): lost "
                    f"{sorted(set(expected) - set(ids))[:5]}, unexpected {sorted(set(ids) - set(expected))[:5]}")
            state = [a.attendee_id for a in m.attendees(meeting_id)]
            assert set(state) == set(expected) and len(state) == len(expected)
            assert state == ids, "ListAttendees order is not the mock's creation order"
            assert len(expected) <= info["max"]
            owned_tags = {k: v for w in workers for k, v in w.tags[meeting_id].items()}
            assert m.tags(meeting_id) == owned_tags

        # The journal recorded each call exactly once (2 setup calls + the workers').
        assert journal_calls == 2 + sum(w.calls for w in workers), (journal_calls, sum(w.calls for w in workers))
        request_ids = [c.request_id for c in m.journal]
        assert len(request_ids) == len(set(request_ids)), "two calls shared a RequestId"


@pytest.mark.parametrize("limit,prefill", [(250, 244), (10, 0)], ids=["hard-limit-250", "max-count-10"])
@pytest.mark.parametrize("batch", [False, True], ids=["create", "batch-create"])
def test_threads_racing_for_the_last_seats(limit, prefill, batch):
    per_thread = 4
    with mock_chime_meetings(seed=7) as m:
        clients = make_clients(THREADS)
        features = {} if limit == 250 else {"MeetingFeatures": {"Attendee": {"MaxCount": limit}}}
        meeting_id = m.add_meeting(external_meeting_id="race-room", **features).meeting_id
        for i in range(prefill):
            m.add_attendee(meeting_id, f"prefill-{i}")
        free = limit - prefill

        for round_no in range(RACE_ROUNDS):
            barrier = threading.Barrier(THREADS)
            wins: List[List[str]] = [[] for _ in range(THREADS)]
            losses = [0] * THREADS
            failures: List[str] = []

            def race(i: int, round_no: int, barrier: threading.Barrier, wins: List[List[str]],
                     losses: List[int], failures: List[str]) -> None:
                client = clients[i]
                exts = [f"r{round_no}-t{i}-{k}" for k in range(per_thread)]
                try:
                    barrier.wait()
                    if batch:
                        response = client.batch_create_attendee(
                            MeetingId=meeting_id, Attendees=[{"ExternalUserId": e} for e in exts])
                        wins[i] += [a["AttendeeId"] for a in response["Attendees"]]
                        for error in response["Errors"]:
                            if error["ErrorCode"] != "ResourceLimitExceeded":
                                failures.append(f"unexpected item error {error}")
                            losses[i] += 1
                        return
                    for ext in exts:
                        try:
                            wins[i].append(client.create_attendee(MeetingId=meeting_id, ExternalUserId=ext)
                                           ["Attendee"]["AttendeeId"])
                        except ClientError as exc:
                            if error_name(exc) != "LimitExceededException":
                                failures.append(f"unexpected {error_name(exc)}: {exc}")
                            else:
                                assert_error_envelope(exc, "LimitExceededException", 400)
                            losses[i] += 1
                except BaseException:
                    failures.append(traceback.format_exc())

            threads = [threading.Thread(target=race, args=(i, round_no, barrier, wins, losses, failures))
                       for i in range(THREADS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            assert not failures, failures[:5]
            won = [a for w in wins for a in w]
            assert len(won) == len(set(won)) == free, f"round {round_no}: {len(won)} seats taken, {free} were free"
            assert sum(losses) == THREADS * per_thread - free
            present = [a.attendee_id for a in m.attendees(meeting_id)]
            assert len(present) == limit and set(won) <= set(present)
            # free the seats again for the next round
            for attendee_id in won:
                clients[0].delete_attendee(MeetingId=meeting_id, AttendeeId=attendee_id)
            assert len(m.attendees(meeting_id)) == prefill
