"""The cheap ways events are emitted and given out keep the event stream as it was.

``EventLog.emit`` and ``emit_many`` fill in the events themselves; while the
log's only subscriber is a ``BatchSubscriber`` whose ``skips(event)`` says it
would do nothing (the deliveries with nowhere to deliver: no endpoint, moto
not active, no NotificationsConfiguration), the event is not queued at all.
Each test compares what is emitted, kept and given out with a service whose
queue is always used (a second, plain subscriber).
"""
from __future__ import annotations

import json
import pickle
import threading
from typing import Any, Dict, List, Tuple

import boto3
import pytest
from botocore.config import Config

from chime_mock import ChimeService, mock_chime_meetings
from chime_mock.deliveries import LAMBDA_REASON, attach, attached
from chime_mock.events.log import BatchSubscriber, EventLog, MeetingEvent

NOON = 1_767_268_800.0
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:f"
NO_RETRY = Config(retries={"max_attempts": 0, "mode": "standard"})


def whole(event: MeetingEvent) -> Tuple[Any, ...]:
    return (event.seq, event.id, event.type, event.account, event.region, event.time, event.meeting_id,
            event.attendee_id, event.notifications, event.to_json())


def drive(service: ChimeService) -> None:
    """Every kind of emission: one event, a batch, extra detail, content, media, the end."""
    plain = service.add_meeting(external_meeting_id="plain")
    noted = service.add_meeting(external_meeting_id="noted",
                                NotificationsConfiguration={"LambdaFunctionArn": LAMBDA})
    for meeting in (plain, noted):
        ann = service.add_attendee(meeting.meeting_id, "ann")
        service.join(meeting.meeting_id, ann.attendee_id)
        service.start_content_share(meeting.meeting_id, ann.attendee_id)
        service.leave(meeting.meeting_id, ann.attendee_id)
    with mock_chime_meetings(service=service):
        client = boto3.client("chime-sdk-meetings", region_name="us-east-1", config=NO_RETRY)
        for meeting in (plain, noted):
            client.batch_create_attendee(MeetingId=meeting.meeting_id,
                                         Attendees=[{"ExternalUserId": f"b{k}"} for k in range(20)])
            client.start_meeting_transcription(
                MeetingId=meeting.meeting_id,
                TranscriptionConfiguration={"EngineTranscribeSettings": {"LanguageCode": "en-US"}})
            attendee = client.create_attendee(MeetingId=meeting.meeting_id, ExternalUserId="solo")["Attendee"]
            client.delete_attendee(MeetingId=meeting.meeting_id, AttendeeId=attendee["AttendeeId"])
        client.create_meeting_with_attendees(ClientRequestToken="tok-1", MediaRegion="us-east-1",
                                             ExternalMeetingId="cmwa",
                                             Attendees=[{"ExternalUserId": f"c{k}"} for k in range(10)])
        client.delete_meeting(MeetingId=plain.meeting_id)
    service.end_meeting(noted.meeting_id)


def seeded() -> ChimeService:
    return ChimeService(seed=19, clock=lambda: NOON)


def test_skipped_or_queued_the_events_and_records_are_the_same():
    quiet = seeded()
    attach(quiet)                              # the deliveries alone: nowhere to deliver but Lambda records
    queued = seeded()
    attach(queued)
    given: List[MeetingEvent] = []
    queued.events.subscribe(given.append)      # two subscribers: every event goes through the queue
    drive(quiet)
    drive(queued)
    assert [whole(e) for e in quiet.events] == [whole(e) for e in queued.events]
    assert given == list(queued.events)
    assert [(r.event_id, r.event_type, r.kind, r.reason) for r in quiet.events.deliveries] == \
        [(r.event_id, r.event_type, r.kind, r.reason) for r in queued.events.deliveries]
    noted = [e for e in quiet.events if e.notifications]
    assert noted and [r.event_id for r in quiet.events.deliveries] == [e.id for e in noted]
    assert {r.reason for r in quiet.events.deliveries} == {LAMBDA_REASON}
    assert quiet.ids.getstate() == queued.ids.getstate()
    assert quiet.event_ids.getstate() == queued.event_ids.getstate()
    assert not quiet.events._pending and not queued.events._pending


def test_nothing_is_queued_while_the_deliveries_have_nowhere_to_deliver():
    service = seeded()
    attach(service)
    meeting = service.add_meeting(external_meeting_id="quiet")
    service.events._dispatch_lock.acquire()    # were anything queued, it would stay queued
    try:
        service.add_attendee(meeting.meeting_id, "ann")
        assert not service.events._pending
    finally:
        service.events._dispatch_lock.release()
    noted = service.add_meeting(external_meeting_id="noted", NotificationsConfiguration={"LambdaFunctionArn": LAMBDA})
    assert [r.event_type for r in service.events.deliveries] == ["MeetingStarted"]
    service.add_attendee(noted.meeting_id, "bob")
    assert [r.event_type for r in service.events.deliveries] == ["MeetingStarted", "AttendeeAdded"]


def test_a_subscriber_added_or_removed_changes_what_is_queued():
    service = seeded()
    deliveries = attach(service)
    seen: List[int] = []
    unsubscribe = service.events.subscribe(lambda event: seen.append(event.seq))
    meeting = service.add_meeting(external_meeting_id="mm")
    assert seen == [service.events.cursor]
    unsubscribe()
    service.add_attendee(meeting.meeting_id, "ann")
    assert seen == [service.events.cursor - 1]
    deliveries.detach()
    assert service.events._skips is None
    service.events.subscribe(lambda event: seen.append(event.seq))
    service.add_attendee(meeting.meeting_id, "bob")
    assert seen[-1] == service.events.cursor


class Recorder(BatchSubscriber):
    def __init__(self, skip: bool) -> None:
        self.skip = skip
        self.got: List[int] = []
        self.asked = 0

    def __call__(self, event: MeetingEvent) -> None:
        self.got.append(event.seq)

    def many(self, events: List[MeetingEvent]) -> None:
        self.got.extend(event.seq for event in events)

    def skips(self, event: MeetingEvent) -> bool:
        self.asked += 1
        return self.skip


@pytest.mark.parametrize("skip", [True, False])
def test_a_batch_subscriber_alone_is_asked_once_per_emission(skip):
    service = seeded()
    recorder = Recorder(skip)
    service.events.subscribe(recorder)
    meeting = service.add_meeting(external_meeting_id="mm")
    with mock_chime_meetings(service=service):
        attached(service).detach()             # the recorder alone
        boto3.client("chime-sdk-meetings", region_name="us-east-1", config=NO_RETRY).batch_create_attendee(
            MeetingId=meeting.meeting_id, Attendees=[{"ExternalUserId": f"u{k}"} for k in range(30)])
    assert recorder.asked == 2
    assert recorder.got == ([] if skip else [e.seq for e in service.events])


def test_a_batch_subscriber_without_its_own_skips_is_never_asked():
    log = EventLog()

    class Plain(BatchSubscriber):
        def __call__(self, event: MeetingEvent) -> None:
            pass

    log.subscribe(Plain())
    assert log._skips is None


def test_emitted_events_read_pickle_and_compare_as_made_ones():
    service = seeded()
    meeting = service.add_meeting(external_meeting_id="mm", NotificationsConfiguration={"LambdaFunctionArn": LAMBDA})
    with mock_chime_meetings(service=service):
        boto3.client("chime-sdk-meetings", region_name="us-east-1", config=NO_RETRY).batch_create_attendee(
            MeetingId=meeting.meeting_id, Attendees=[{"ExternalUserId": f"u{k}"} for k in range(3)])
    for event in service.events:
        assert type(event) is MeetingEvent
        again = pickle.loads(pickle.dumps(event))
        assert again == event and whole(again) == whole(event)
        made = MeetingEvent(event.seq, event.id, event.type, event.account, event.region, event.time,
                            event.meeting_id, event.attendee_id, event.detail, event.notifications)
        assert made == event and hash(made) == hash(event)
        with pytest.raises(AttributeError):
            event.seq = 0  # type: ignore[misc]
        assert json.loads(event.to_json())["detail"] == event.detail


def test_a_subscribers_own_calls_come_after_and_threads_keep_the_order(caplog):
    service = seeded()
    attach(service)
    meeting = service.add_meeting(external_meeting_id="mm")
    seen: List[Tuple[int, str]] = []
    lock = threading.Lock()

    def react(event: MeetingEvent) -> None:
        with lock:
            seen.append((event.seq, event.type))
        if event.type == "AttendeeAdded" and event.attendee_id and not event.attendee_id.endswith("#content"):
            service.join(meeting.meeting_id, event.attendee_id)

    service.events.subscribe(react)
    cursor = service.events.cursor

    def worker(n: int) -> None:
        for k in range(10):
            service.add_attendee(meeting.meeting_id, f"w{n}-{k}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    service.events.dispatch()
    events = service.events.since(cursor, limit=10_000)[0]
    assert seen == [(e.seq, e.type) for e in events]
    assert len([e for e in events if e.type == "AttendeeJoined"]) == 40


def test_events_stay_bounded_by_the_limit_in_a_batch():
    service = ChimeService(seed=19, clock=lambda: NOON, event_limit=7)
    got: Dict[str, List[int]] = {"seqs": []}
    service.events.subscribe(lambda event: got["seqs"].append(event.seq))
    meeting = service.add_meeting(external_meeting_id="mm")
    with mock_chime_meetings(service=service):
        boto3.client("chime-sdk-meetings", region_name="us-east-1", config=NO_RETRY).batch_create_attendee(
            MeetingId=meeting.meeting_id, Attendees=[{"ExternalUserId": f"u{k}"} for k in range(20)])
    assert [e.seq for e in service.events] == list(range(15, 22))
    assert got["seqs"] == list(range(1, 22))              # every event given out, though not all kept
    assert service.events.cursor == 21


def test_a_skips_that_raises_skips_nothing():
    service = seeded()

    class Bad(Recorder):
        def skips(self, event: MeetingEvent) -> bool:
            raise RuntimeError("bad skips")

    bad = Bad(False)
    service.events.subscribe(bad)
    meeting = service.add_meeting(external_meeting_id="mm")
    with mock_chime_meetings(service=service):
        attached(service).detach()
        boto3.client("chime-sdk-meetings", region_name="us-east-1", config=NO_RETRY).batch_create_attendee(
            MeetingId=meeting.meeting_id, Attendees=[{"ExternalUserId": f"u{k}"} for k in range(3)])
    assert bad.got == [e.seq for e in service.events] and len(bad.got) == 4


def test_a_batch_s_events_read_alike_from_many_threads_at_once():
    """``emit_many`` leaves each event's fields to be filled in from its batch
    on first read: threads reading fresh events together all see them whole."""
    class Person:
        def __init__(self, k: int) -> None:
            self.attendee_id, self.external_user_id = f"id-{k}", f"user-{k}"

    for _ in range(20):
        log = EventLog()
        log.emit_many((7 << 128 * 63) | 5, "AttendeeAdded", "123456789012", "us-east-1", NOON, "m-1", None,
                      ("ext", "us-east-1"), [Person(k) for k in range(64)])
        events = list(log)
        seen: List[List[Tuple[Any, ...]]] = []
        start = threading.Barrier(4)

        def read() -> None:
            start.wait()
            seen.append([whole(event) for event in reversed(events)][::-1])

        threads = [threading.Thread(target=read) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        expected = [(k + 1, event.id, "AttendeeAdded", "123456789012", "us-east-1", NOON, "m-1", f"id-{k}", None,
                     event.to_json()) for k, event in enumerate(events)]
        assert seen == [expected] * 4
        assert events[0].id.endswith("000000000005") and events[63].id.endswith("000000000007")
        assert json.loads(events[9].to_json())["detail"]["externalUserId"] == "user-9"


@pytest.mark.parametrize("seed", range(6))
def test_a_log_read_at_any_moment_holds_what_a_log_with_a_taker_holds(seed):
    """While nobody takes its events, a log keeps a batch as its group and
    makes the events when read: reads between any emissions, limits, clears
    and restores see what a log whose subscriber takes every event keeps."""
    import random

    class Person:
        def __init__(self, k: int) -> None:
            self.attendee_id, self.external_user_id = f"id-{k}", f"user-{k}"

    rng = random.Random(seed)
    lazy, eager = EventLog(limit=50), EventLog(limit=50)
    eager.subscribe(lambda event: None)
    people = [Person(k) for k in range(40)]

    def same() -> None:
        assert [whole(e) for e in lazy] == [whole(e) for e in eager]

    for step in range(300):
        roll = rng.random()
        bits = rng.getrandbits(128 * 40)
        if roll < 0.35:
            batch = people[:rng.randrange(0, 40)]
            for log in (lazy, eager):
                log.emit_many(bits, "AttendeeAdded", "123456789012", "us-east-1", NOON + step, f"m-{step}", None,
                              ("ext", "us-east-1"), batch)
        elif roll < 0.6:
            for log in (lazy, eager):
                log.emit(bits & (1 << 128) - 1, "AttendeeJoined", "123456789012", "us-east-1", NOON + step,
                         f"m-{step}", "a-1", None, ("ext", "us-east-1"), "u-1")
        elif roll < 0.65:
            limit = rng.randrange(1, 80)
            lazy.limit = eager.limit = limit
        elif roll < 0.68:
            lazy.clear()
            eager.clear()
        elif roll < 0.71:
            jump = lazy.cursor + rng.randrange(0, 5)
            lazy._advance_to(jump)
            eager._advance_to(jump)
        elif roll < 0.8:
            same()
        elif roll < 0.9:
            cursor = rng.randrange(0, lazy.cursor + 2)
            assert [whole(e) for e in lazy.since(cursor, 30)[0]] == [whole(e) for e in eager.since(cursor, 30)[0]]
        else:
            index = rng.randrange(-len(eager), len(eager)) if len(eager) else None
            if index is not None:
                assert whole(lazy[index]) == whole(eager[index])
            assert [whole(e) for e in lazy.filter(meeting_id=f"m-{step - 1}")] == \
                [whole(e) for e in eager.filter(meeting_id=f"m-{step - 1}")]
        assert len(lazy) == len(eager) and lazy.cursor == eager.cursor
    same()


@pytest.mark.parametrize("answer", [True, False, None, "raises"])
def test_skips_for_answers_before_any_event_is_made(answer):
    """A BatchSubscriber's ``skips_for(notifications)`` is asked first: True
    keeps the events from it (the log makes them when read) without asking
    ``skips``; anything else (False, None, raising) leaves it to ``skips``."""
    service = seeded()

    class ByMeeting(Recorder):
        def skips_for(self, notifications):
            self.asked_for = getattr(self, "asked_for", 0) + 1
            if answer == "raises":
                raise RuntimeError("bad skips_for")
            return answer

    recorder = ByMeeting(False)         # its own skips says False
    service.events.subscribe(recorder)
    meeting = service.add_meeting(external_meeting_id="mm")
    with mock_chime_meetings(service=service):
        attached(service).detach()
        client = boto3.client("chime-sdk-meetings", region_name="us-east-1", config=NO_RETRY)
        client.batch_create_attendee(MeetingId=meeting.meeting_id,
                                     Attendees=[{"ExternalUserId": f"u{k}"} for k in range(5)])
        client.create_attendee(MeetingId=meeting.meeting_id, ExternalUserId="solo")
    events = list(service.events)
    assert [e.type for e in events] == ["MeetingStarted"] + ["AttendeeAdded"] * 6
    assert [e.seq for e in events] == list(range(1, 8)) and len({e.id for e in events}) == 7
    assert recorder.asked_for == 3
    if answer is True:
        assert recorder.got == [] and recorder.asked == 0
    else:
        assert recorder.got == [e.seq for e in events] and recorder.asked == 3
