"""Meeting events the service emits for API calls (D16): exact shapes, order,
what emits nothing, the event log's reading API, clock, seeds and snapshots.
Everything goes through boto3 (the in-process door)."""
from __future__ import annotations

import json
import logging
import pickle
import re
import threading
import uuid

import boto3
import pytest
from botocore.config import Config

from chime_mock import ChimeService, mock_chime_meetings
from chime_mock.events import EVENT_TYPES, DeliveryRecord, EventLog, MeetingEvent
from chime_mock.ground.errors import ChimeMockError, EventTimeout
from tests.helpers import types

NO_RETRY = Config(retries={"max_attempts": 0, "mode": "standard"})
NOON = 1767268800.0      # 2026-01-01T12:00:00Z
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")

MEETING_KEYS = ["version", "eventType", "timestamp", "meetingId", "externalMeetingId", "mediaRegion"]
ATTENDEE_KEYS = ["version", "eventType", "timestamp", "meetingId", "attendeeId", "externalUserId",
                 "externalMeetingId", "mediaRegion"]
NETWORK_KEYS = ATTENDEE_KEYS + ["networkType"]


def chime(region="us-east-1"):
    return boto3.client("chime-sdk-meetings", region_name=region, config=NO_RETRY)


def create(client, token="tok", name="standup", region="us-east-1", **extra):
    return client.create_meeting(ClientRequestToken=token, MediaRegion=region, ExternalMeetingId=name,
                                 **extra)["Meeting"]


@pytest.fixture
def m():
    with mock_chime_meetings(seed=11, clock=lambda: NOON) as handle:
        yield handle


# -- shapes ---------------------------------------------------------------------------------
def check_envelope(event: MeetingEvent, account="123456789012", region="us-east-1"):
    env = event.envelope()
    assert list(env) == ["version", "id", "detail-type", "source", "account", "time", "region", "resources",
                         "detail"]
    assert env["version"] == "0"
    assert env["id"] == event.id and str(uuid.UUID(env["id"])) == env["id"] and uuid.UUID(env["id"]).version == 4
    assert env["detail-type"] == "Chime Meeting State Change"
    assert env["source"] == "aws.chime"
    assert env["account"] == account == event.account
    assert ISO.fullmatch(env["time"])
    assert env["region"] == region == event.region
    assert env["resources"] == []
    assert env["detail"] == event.detail
    assert json.loads(event.to_json()) == env
    detail = env["detail"]
    assert detail["version"] == "0"
    assert detail["eventType"] == "chime:" + event.type
    assert type(detail["timestamp"]) is int
    assert detail["meetingId"] == event.meeting_id
    return detail


def test_meeting_and_attendee_event_shapes(m):
    client = chime()
    meeting = create(client, name="standup", region="us-west-2")
    alice = client.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId="alice")["Attendee"]
    client.delete_attendee(MeetingId=meeting["MeetingId"], AttendeeId=alice["AttendeeId"])
    client.delete_meeting(MeetingId=meeting["MeetingId"])
    started, added, deleted, ended = m.events
    for event in (started, ended):
        detail = check_envelope(event)
        assert list(detail) == MEETING_KEYS
        assert detail["externalMeetingId"] == "standup" and detail["mediaRegion"] == "us-west-2"
        assert event.attendee_id is None
    for event in (added, deleted):
        detail = check_envelope(event)
        assert list(detail) == ATTENDEE_KEYS
        assert detail["attendeeId"] == alice["AttendeeId"] == event.attendee_id
        assert detail["externalUserId"] == "alice"
        assert detail["externalMeetingId"] == "standup" and detail["mediaRegion"] == "us-west-2"
    assert types(m.events) == ["MeetingStarted", "AttendeeAdded", "AttendeeDeleted", "MeetingEnded"]
    assert [e.seq for e in m.events] == [1, 2, 3, 4]
    assert started.envelope()["time"] == "2026-01-01T12:00:00Z"
    assert started.detail["timestamp"] == 1767268800000


def test_capabilities_updated_shape(m):
    client = chime()
    meeting = create(client)
    a = client.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId="alice")["Attendee"]
    m.events.clear()
    client.update_attendee_capabilities(MeetingId=meeting["MeetingId"], AttendeeId=a["AttendeeId"],
                                        Capabilities={"Audio": "Receive", "Video": "None", "Content": "None"})
    (event,) = m.events
    detail = check_envelope(event)
    assert list(detail) == ATTENDEE_KEYS + ["success", "attendeeCapabilities"]
    assert detail["success"] == "1"
    assert detail["attendeeCapabilities"] == {"audio": "Receive", "video": "None", "content": "None"}
    assert detail["attendeeId"] == a["AttendeeId"] and detail["externalUserId"] == "alice"


def test_transcription_event_shapes(m):
    client = chime()
    meeting = create(client, region="eu-west-1")
    config = {"EngineTranscribeSettings": {"LanguageCode": "en-US", "Region": "eu-central-1"}}
    client.start_meeting_transcription(MeetingId=meeting["MeetingId"], TranscriptionConfiguration=config)
    client.start_meeting_transcription(MeetingId=meeting["MeetingId"], TranscriptionConfiguration={
        "EngineTranscribeMedicalSettings": {"LanguageCode": "en-US", "Specialty": "PRIMARYCARE", "Type": "DICTATION"}})
    client.stop_meeting_transcription(MeetingId=meeting["MeetingId"])
    client.stop_meeting_transcription(MeetingId=meeting["MeetingId"])     # nothing running: nothing stopped
    started, restarted, stopped = m.events.filter(meeting_id=meeting["MeetingId"])[1:]
    assert types([started, restarted, stopped]) == ["TranscriptionStarted", "TranscriptionStarted",
                                                   "TranscriptionStopped"]
    for event in (started, restarted, stopped):
        detail = check_envelope(event)
        assert list(detail) == MEETING_KEYS + ["transcriptionRegion", "transcriptionConfiguration"]
        assert isinstance(detail["transcriptionConfiguration"], str)
    assert started.detail["transcriptionRegion"] == "eu-central-1"
    assert json.loads(started.detail["transcriptionConfiguration"]) == config
    assert restarted.detail["transcriptionRegion"] == "eu-west-1"          # no Region named: the media region
    assert stopped.detail["transcriptionConfiguration"] == restarted.detail["transcriptionConfiguration"]


def test_event_account_and_region_are_the_meetings():
    with mock_chime_meetings(account_id="210987654321") as m:
        create(chime("eu-central-1"), region="eu-central-1")
        (event,) = m.events
        check_envelope(event, account="210987654321", region="eu-central-1")


def test_notifications_configuration_rides_along(m):
    client = chime()
    notifications = {"SqsQueueArn": "arn:aws:sqs:us-east-1:123456789012:events",
                     "SnsTopicArn": "arn:aws:sns:us-east-1:123456789012:events"}
    meeting = create(client, NotificationsConfiguration=notifications)
    client.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId="alice")
    plain = create(client, token="other")
    assert [e.notifications for e in m.events.filter(meeting_id=meeting["MeetingId"])] == [notifications] * 2
    assert m.events.filter(meeting_id=plain["MeetingId"])[0].notifications is None
    assert "notifications" not in m.events[0].envelope() and "Notifications" not in m.events[0].to_json()


# -- D16: which call emits what, in order ---------------------------------------------------------
def test_create_meeting_with_attendees_and_replay(m):
    client = chime()
    first = client.create_meeting_with_attendees(
        ClientRequestToken="tt", MediaRegion="us-east-1", ExternalMeetingId="xx",
        Attendees=[{"ExternalUserId": "alice"}, {"ExternalUserId": "bob"}, {"ExternalUserId": "aws:bad"}])
    mid = first["Meeting"]["MeetingId"]
    assert len(first["Errors"]) == 1
    assert types(m.events) == ["MeetingStarted", "AttendeeAdded", "AttendeeAdded"]
    assert [e.detail["externalUserId"] for e in m.events[1:]] == ["alice", "bob"]
    cursor = m.events.cursor
    client.create_meeting_with_attendees(       # replay: only the new attendee
        ClientRequestToken="tt", MediaRegion="us-east-1", ExternalMeetingId="xx",
        Attendees=[{"ExternalUserId": "alice"}, {"ExternalUserId": "carol"}])
    new, _ = m.events.since(cursor)
    assert types(new) == ["AttendeeAdded"] and new[0].detail["externalUserId"] == "carol"
    assert new[0].meeting_id == mid
    create(client, token="t2")
    client.create_meeting(ClientRequestToken="t2", MediaRegion="us-east-1", ExternalMeetingId="yy")  # replay
    assert types(m.events.since(cursor + 1)[0]) == ["MeetingStarted"]


def test_attendee_operations(m):
    client = chime()
    mid = create(client)["MeetingId"]
    a = client.create_attendee(MeetingId=mid, ExternalUserId="alice")["Attendee"]
    client.create_attendee(MeetingId=mid, ExternalUserId="alice")                     # D2 repeat: nothing
    batch = client.batch_create_attendee(MeetingId=mid, Attendees=[
        {"ExternalUserId": "alice"}, {"ExternalUserId": "bob"}, {"ExternalUserId": "carol"}])
    assert types(m.events) == ["MeetingStarted"] + ["AttendeeAdded"] * 3
    assert [e.attendee_id for e in m.events[1:]] == [a["AttendeeId"]] + [x["AttendeeId"] for x in batch["Attendees"][1:]]
    cursor = m.events.cursor
    client.get_attendee(MeetingId=mid, AttendeeId=a["AttendeeId"])
    client.list_attendees(MeetingId=mid)
    client.get_meeting(MeetingId=mid)
    arn = f"arn:aws:chime:us-east-1:123456789012:meeting/{mid}"
    client.tag_resource(ResourceARN=arn, Tags=[{"Key": "k", "Value": "v"}])
    client.list_tags_for_resource(ResourceARN=arn)
    client.untag_resource(ResourceARN=arn, TagKeys=["k"])
    assert m.events.cursor == cursor                                              # reads and tags emit nothing
    client.delete_attendee(MeetingId=mid, AttendeeId=a["AttendeeId"])
    assert types(m.events.since(cursor)[0]) == ["AttendeeDeleted"]


def test_capabilities_events_only_for_attendees_changed(m):
    client = chime()
    mid = create(client)["MeetingId"]
    ids = [client.create_attendee(MeetingId=mid, ExternalUserId=f"user-{k}")["Attendee"]["AttendeeId"]
           for k in range(4)]
    same = {"Audio": "SendReceive", "Video": "SendReceive", "Content": "SendReceive"}
    cursor = m.events.cursor
    client.update_attendee_capabilities(MeetingId=mid, AttendeeId=ids[0], Capabilities=same)   # unchanged
    assert m.events.cursor == cursor
    receive = {"Audio": "SendReceive", "Video": "Receive", "Content": "Receive"}
    client.update_attendee_capabilities(MeetingId=mid, AttendeeId=ids[1], Capabilities=receive)
    client.batch_update_attendee_capabilities_except(MeetingId=mid, ExcludedAttendeeIds=[{"AttendeeId": ids[0]}],
                                                     Capabilities=receive)
    new, _ = m.events.since(cursor)
    assert types(new) == ["AttendeeCapabilitiesUpdated"] * 3
    assert [e.attendee_id for e in new] == [ids[1], ids[2], ids[3]]   # ids[1] already had them: not again
    assert all(e.detail["attendeeCapabilities"] == {"audio": "SendReceive", "video": "Receive",
                                                    "content": "Receive"} for e in new)


def test_delete_meeting_ends_replicas_too(m):
    client = chime()
    primary = create(client, token="pp")["MeetingId"]
    replicas = [client.create_meeting(ClientRequestToken=f"rr{k}", MediaRegion="us-east-1", ExternalMeetingId="rr",
                                      PrimaryMeetingId=primary)["Meeting"]["MeetingId"] for k in range(2)]
    assert types(m.events) == ["MeetingStarted"] * 3
    cursor = m.events.cursor
    client.delete_meeting(MeetingId=primary)
    ended, _ = m.events.since(cursor)
    assert types(ended) == ["MeetingEnded"] * 3
    assert [e.meeting_id for e in ended] == [primary] + replicas


def test_auto_end_and_end_meeting_emit_meeting_ended():
    now = [NOON]
    with mock_chime_meetings(auto_end=True, clock=lambda: now[0]) as m:
        client = chime()
        idle = create(client, token="idle")["MeetingId"]
        now[0] += 300
        client.list_attendees(MeetingId=create(client, token="next")["MeetingId"])
        ended = m.events.filter(type="MeetingEnded")
        assert [e.meeting_id for e in ended] == [idle]
        assert ended[0].detail["timestamp"] == int((NOON + 300) * 1000)
        other = m.events.filter(type="MeetingStarted")[-1].meeting_id
        m.end_meeting(other)
        assert m.events[-1].type == "MeetingEnded" and m.events[-1].meeting_id == other


def test_rejected_and_faulted_calls_emit_nothing(m):
    client = chime()
    mid = create(client)["MeetingId"]
    a = client.create_attendee(MeetingId=mid, ExternalUserId="alice")["Attendee"]
    cursor = m.events.cursor
    with pytest.raises(client.exceptions.BadRequestException):
        create(client, token="bad", region="mars-north-1")
    with pytest.raises(client.exceptions.BadRequestException):
        client.create_attendee(MeetingId=mid, ExternalUserId="aws:reserved")
    with pytest.raises(client.exceptions.NotFoundException):
        client.delete_attendee(MeetingId=mid, AttendeeId="0" * 8 + "-0000-0000-0000-" + "0" * 12)
    with pytest.raises(client.exceptions.BadRequestException):
        client.batch_update_attendee_capabilities_except(
            MeetingId=mid, ExcludedAttendeeIds=[{"AttendeeId": a["AttendeeId"]}],
            Capabilities={"Audio": "SendReceive", "Video": "None", "Content": "SendReceive"})
    with pytest.raises(client.exceptions.BadRequestException):
        client.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration={})
    m.inject("ServiceFailureException", "CreateAttendee")
    m.inject("ThrottlingException", "DeleteMeeting")
    with pytest.raises(client.exceptions.ServiceFailureException):
        client.create_attendee(MeetingId=mid, ExternalUserId="bob")
    with pytest.raises(client.exceptions.ThrottlingException):
        client.delete_meeting(MeetingId=mid)
    assert m.events.cursor == cursor and len(m.events) == cursor


def test_seeding_emits_as_the_api_does(m):
    meeting = m.add_meeting(external_meeting_id="seeded")
    attendee = m.add_attendee(meeting.meeting_id, "seeded-user")
    assert types(m.events) == ["MeetingStarted", "AttendeeAdded"]
    assert m.events[1].attendee_id == attendee.attendee_id


# -- clock and seeds ----------------------------------------------------------------------------
def test_timestamps_follow_the_service_clock():
    with mock_chime_meetings(clock=lambda: NOON + 0.1234) as m:
        client = chime()
        create(client)
        m.advance(61.5)
        create(client, token="later")
        first, second = m.events
        assert first.detail["timestamp"] == 1767268800123 and first.time == pytest.approx(NOON + 0.1234)
        assert second.detail["timestamp"] == 1767268861623
        assert second.envelope()["time"] == "2026-01-01T12:01:01Z"
        m.set_time(NOON + 3600)
        create(client, token="set")
        assert m.events[-1].envelope()["time"] == "2026-01-01T13:00:00Z"


def test_timestamps_with_freezegun():
    freezegun = pytest.importorskip("freezegun")
    with freezegun.freeze_time("2026-03-04 05:06:07") as frozen:
        with mock_chime_meetings() as m:
            client = chime()
            create(client)
            frozen.tick(10)
            create(client, token="second")
            assert [e.envelope()["time"] for e in m.events] == ["2026-03-04T05:06:07Z", "2026-03-04T05:06:17Z"]
            assert m.events[1].detail["timestamp"] - m.events[0].detail["timestamp"] == 10_000


def _run_seeded(seed):
    with mock_chime_meetings(seed=seed, clock=lambda: NOON) as m:
        client = chime()
        mid = create(client)["MeetingId"]
        client.create_attendee(MeetingId=mid, ExternalUserId="alice")
        client.delete_meeting(MeetingId=mid)
        return [e.to_json() for e in m.events]


def test_seeded_event_ids_are_reproducible():
    assert _run_seeded(5) == _run_seeded(5)
    assert _run_seeded(5) != _run_seeded(6)
    unseeded = ChimeService()
    unseeded.add_meeting()
    assert uuid.UUID(unseeded.events[0].id).version == 4


def test_emitting_events_does_not_shift_seeded_ids():
    quiet = ChimeService(seed=3)
    quiet.backend.emit = None         # a service that emits nothing
    loud = ChimeService(seed=3)
    assert quiet.add_meeting().meeting_id == loud.add_meeting().meeting_id
    assert quiet.add_meeting().meeting_id == loud.add_meeting().meeting_id


def test_reset_forgets_events_and_repeats_ids_but_the_cursor_counts_on():
    with mock_chime_meetings(seed=9, clock=lambda: NOON) as m:
        m.add_meeting()
        first_id = m.events[0].id
        m.reset()
        assert len(m.events) == 0 and m.events.cursor == 1
        m.add_meeting()
        assert m.events[0].id == first_id and m.events[0].seq == 2


# -- reading events ---------------------------------------------------------------------------------
def test_filter_by_type_meeting_and_attendee(m):
    client = chime()
    one = create(client, token="one")["MeetingId"]
    two = create(client, token="two")["MeetingId"]
    a = client.create_attendee(MeetingId=one, ExternalUserId="alice")["Attendee"]["AttendeeId"]
    client.create_attendee(MeetingId=two, ExternalUserId="bob")
    assert len(m.events.filter(type="MeetingStarted")) == 2
    assert m.events.filter(type="chime:AttendeeAdded") == m.events.filter(type="AttendeeAdded")
    assert types(m.events.filter(meeting_id=one)) == ["MeetingStarted", "AttendeeAdded"]
    assert types(m.events.filter(meeting_id=one.upper())) == ["MeetingStarted", "AttendeeAdded"]
    assert [e.attendee_id for e in m.events.filter(attendee_id=a)] == [a]
    assert m.events.filter(type="AttendeeAdded", meeting_id=two)[0].detail["externalUserId"] == "bob"
    assert m.events.filter() == list(m.events)
    with pytest.raises(ValueError, match="did you mean 'AttendeeJoined'"):
        m.events.filter(type="AttendeJoined")
    with pytest.raises(ValueError, match="did you mean 'AttendeeJoined'"):
        m.events.filter(type="chime:attendeejoined")
    with pytest.raises(TypeError, match="type"):
        m.events.filter(type=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="meeting_id"):
        m.events.filter(meeting_id=3)  # type: ignore[arg-type]


def test_sequence_since_and_clear(m):
    client = chime()
    for k in range(5):
        create(client, token=f"t{k}")
    events = m.events
    assert len(events) == 5 and events[0].seq == 1 and events[-1].seq == 5 and [e.seq for e in events[1:3]] == [2, 3]
    page, cursor = events.since(0, limit=2)
    assert [e.seq for e in page] == [1, 2] and cursor == 2
    page, cursor = events.since(cursor)
    assert [e.seq for e in page] == [3, 4, 5] and cursor == 5
    assert events.since(5) == ([], 5)
    assert events.since(99) == ([], 5)            # a cursor from the future is brought back
    events.clear()
    assert len(events) == 0 and events.cursor == 5
    create(client, token="after")
    assert [e.seq for e in events] == [6] and events.since(0)[0][0].seq == 6
    for bad, error in ((-1, ValueError), ("1", TypeError), (True, TypeError)):
        with pytest.raises(error, match="cursor"):
            events.since(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="limit"):
        events.since(0, limit=0)


def test_limit_drops_the_oldest():
    with mock_chime_meetings(event_limit=3) as m:
        client = chime()
        for k in range(5):
            create(client, token=f"t{k}")
        assert [e.seq for e in m.events] == [3, 4, 5] and m.events.limit == 3
        assert [e.seq for e in m.events.since(1)[0]] == [3, 4, 5]
        assert [e.seq for e in m.events.since(3)[0]] == [4, 5]
        m.events.limit = 2
        assert [e.seq for e in m.events] == [4, 5]
        for bad, error in ((0, ValueError), (-5, ValueError), ("10", TypeError), (2.5, TypeError), (True, TypeError)):
            with pytest.raises(error, match="limit"):
                m.events.limit = bad  # type: ignore[assignment]
        assert m.events.limit == 2


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1, ValueError), ("100", TypeError), (None, TypeError),
                                        (1.5, TypeError), (False, TypeError)])
def test_event_limit_is_checked_at_construction(bad, error):
    with pytest.raises(error, match="event_limit"):
        mock_chime_meetings(event_limit=bad)
    with pytest.raises(error, match="event_limit"):
        ChimeService(event_limit=bad)


def test_wait_for_finds_emitted_and_future_events(m):
    client = chime()
    mid = create(client)["MeetingId"]
    assert m.wait_for_event("MeetingStarted", meeting_id=mid).meeting_id == mid      # already emitted
    with pytest.raises(EventTimeout) as caught:
        m.wait_for_event("MeetingStarted", after=1, timeout=0.05)
    assert isinstance(caught.value, TimeoutError) and isinstance(caught.value, ChimeMockError)
    assert "MeetingStarted" in str(caught.value) and "seq > 1" in str(caught.value)

    def later():
        chime().create_attendee(MeetingId=mid, ExternalUserId="late")
    thread = threading.Timer(0.05, later)
    thread.start()
    try:
        event = m.events.wait_for("chime:AttendeeAdded", meeting_id=mid, timeout=30)
    finally:
        thread.join()
    assert event.detail["externalUserId"] == "late" and event.seq == 2
    with pytest.raises(ValueError, match="did you mean"):
        m.wait_for_event("AttendeAdded")
    with pytest.raises(ValueError, match="timeout"):
        m.wait_for_event(timeout=-1)


def test_wait_since_long_poll(m):
    assert m.events.wait_since(0, timeout=0.01) == []
    thread = threading.Timer(0.05, lambda: create(chime(), token="xx"))
    thread.start()
    try:
        events = m.events.wait_since(0, timeout=30)
    finally:
        thread.join()
    assert types(events) == ["MeetingStarted"]
    assert m.events.wait_since(1, timeout=0) == []


def test_subscribers_get_each_event_in_order_before_the_call_returns(m):
    client = chime()
    seen = []
    unsubscribe = m.subscribe(lambda e: seen.append((e.seq, e.type)))
    other = []
    m.events.subscribe(other.append)
    mid = create(client)["MeetingId"]
    assert seen == [(1, "MeetingStarted")]                     # already there when the call returns
    client.batch_create_attendee(MeetingId=mid, Attendees=[{"ExternalUserId": "a1"}, {"ExternalUserId": "a2"}])
    assert seen == [(1, "MeetingStarted"), (2, "AttendeeAdded"), (3, "AttendeeAdded")]
    unsubscribe()
    unsubscribe()
    client.delete_meeting(MeetingId=mid)
    assert len(seen) == 3 and [e.seq for e in other] == [1, 2, 3, 4]
    with pytest.raises(TypeError, match="callback"):
        m.subscribe("not callable")  # type: ignore[arg-type]


def test_a_subscriber_may_call_the_mock_and_its_failure_never_fails_the_call(m, caplog):
    client = chime()
    order = []

    def react(event):
        order.append(event.type)
        if event.type == "MeetingStarted":     # outside the service lock: calling the mock works
            chime().create_attendee(MeetingId=event.meeting_id, ExternalUserId="bot")

    def broken(event):
        raise RuntimeError("boom")

    m.subscribe(broken)
    m.subscribe(react)
    with caplog.at_level(logging.WARNING, logger="chime_mock"):
        mid = create(client)["MeetingId"]
    assert order == ["MeetingStarted", "AttendeeAdded"]
    assert [a.external_user_id for a in m.attendees(mid)] == ["bot"]
    failures = [r for r in caplog.records if r.levelno == logging.WARNING and "boom" in r.getMessage()]
    assert len(failures) == 2 and "MeetingStarted" in failures[0].getMessage()


def test_deliveries_are_recorded_and_bounded():
    with mock_chime_meetings(event_limit=2) as m:
        assert m.deliveries == []
        records = [DeliveryRecord(f"id-{k}", "MeetingStarted", "arn:aws:sqs:us-east-1:123456789012:q", "sqs",
                                  k % 2 == 0, None if k % 2 == 0 else "no such queue", NOON) for k in range(3)]
        for record in records:
            m.events.record_delivery(record)
        assert m.deliveries == records[1:]
        with pytest.raises(TypeError, match="DeliveryRecord"):
            m.events.record_delivery("x")  # type: ignore[arg-type]
        m.events.clear()
        assert m.deliveries == []


def test_event_values_are_frozen_hashable_and_picklable(m):
    create(chime())
    event = m.events[0]
    with pytest.raises(AttributeError):
        event.seq = 5  # type: ignore[misc]
    assert {event: 1}[event] == 1
    copy = pickle.loads(pickle.dumps(event))
    assert copy == event and copy.envelope() == event.envelope()
    made = MeetingEvent(1, event.id, "MeetingStarted", "123456789012", "us-east-1", NOON, event.meeting_id,
                        None, dict(event.detail), None)
    assert made.envelope() == event.envelope()
    assert set(EVENT_TYPES) >= {"MeetingStarted", "AttendeeJoined", "AttendeeContentDropped",
                                "AttendeeCapabilitiesUpdated", "TranscriptionStopped"}
    assert isinstance(m.events, EventLog)


# -- snapshots ----------------------------------------------------------------------------------------
def test_snapshot_keeps_the_cursor_and_restoring_emits_nothing():
    with mock_chime_meetings(seed=2, clock=lambda: NOON) as m:
        client = chime()
        mid = create(client)["MeetingId"]
        a = client.create_attendee(MeetingId=mid, ExternalUserId="alice")["Attendee"]["AttendeeId"]
        m.join(mid, a)
        m.start_video(mid, a)
        saved = json.loads(json.dumps(m.snapshot()))
        assert saved["events"]["cursor"] == 5
    service = ChimeService(seed=2, clock=lambda: NOON)
    seen = []
    service.events.subscribe(seen.append)
    service.restore(saved)
    assert len(service.events) == 0 and service.events.cursor == 5 and seen == []
    (attendee,) = service.connected(mid)
    assert attendee.video and attendee.authorized
    service.leave(mid, a)
    assert [(e.seq, e.type) for e in service.events] == [(6, "AttendeeLeft")]
    # an older snapshot (no events, no authorized/video/content) still loads
    old = json.loads(json.dumps(saved))
    del old["events"]
    for region in old["regions"]:
        for meeting in region["meetings"]:
            for item in meeting["attendees"]:
                for name in ("authorized", "video", "content"):
                    item.pop(name)
    fresh = ChimeService()
    fresh.restore(old)
    fresh.leave(mid, a)
    assert types(fresh.events) == ["AttendeeLeft"]
    bad = json.loads(json.dumps(saved))
    bad["regions"][0]["meetings"][0]["attendees"][0]["connected"] = False
    with pytest.raises(ValueError, match="connected"):
        ChimeService().restore(bad)
    with pytest.raises(ValueError, match="events.cursor"):
        ChimeService().restore(dict(saved, events={"cursor": -1}))


# -- docs/events.md examples run as written --------------------------------------------------------
def test_docs_examples_run():
    import os
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "docs", "events.md"), encoding="utf-8") as handle:
        blocks = re.findall(r"```python\n(.*?)```", handle.read(), flags=re.S)
    assert len(blocks) >= 3
    ran = 0
    for block in blocks:
        namespace: dict = {}
        exec(compile(block, "docs/events.md", "exec"), namespace)
        for name, value in list(namespace.items()):
            if name.startswith("test_") and callable(value):
                value()
                ran += 1
    assert ran >= 3


@pytest.mark.chime_meetings(event_limit=2)
def test_marker_takes_event_limit(chime_meetings):
    assert chime_meetings.events.limit == 2
    for k in range(3):
        chime_meetings.add_meeting(external_meeting_id=f"marker-{k}")
    assert [e.seq for e in chime_meetings.events] == [2, 3]
