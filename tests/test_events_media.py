"""What clients do (D17): join, leave, drop, video, content share, the events
each emits, the errors, the connected roster, auto-end, and concurrency."""
from __future__ import annotations

import asyncio
import random
import threading

import boto3
import pytest
from botocore.config import Config

from chime_mock import ChimeService, mock_chime_meetings
from chime_mock.ground.errors import ChimeMockError, MediaConflict, MediaNotFound
from tests.helpers import types

NO_RETRY = Config(retries={"max_attempts": 0, "mode": "standard"})
NOON = 1767268800.0
NETWORK_KEYS = ["version", "eventType", "timestamp", "meetingId", "attendeeId", "externalUserId",
                "externalMeetingId", "mediaRegion", "networkType"]
ATTENDEE_KEYS = NETWORK_KEYS[:-1]


def chime(region="us-east-1"):
    return boto3.client("chime-sdk-meetings", region_name=region, config=NO_RETRY)


@pytest.fixture
def m():
    with mock_chime_meetings(seed=4, clock=lambda: NOON) as handle:
        yield handle


@pytest.fixture
def room(m):
    """A meeting with alice (everything) and bob (no video or content sending), events cleared."""
    client = chime()
    mid = client.create_meeting(ClientRequestToken="room", MediaRegion="us-east-1",
                                ExternalMeetingId="room")["Meeting"]["MeetingId"]
    alice = client.create_attendee(MeetingId=mid, ExternalUserId="alice")["Attendee"]
    bob = client.create_attendee(MeetingId=mid, ExternalUserId="bob", Capabilities={
        "Audio": "SendReceive", "Video": "Receive", "Content": "Receive"})["Attendee"]
    m.events.clear()
    return client, mid, alice, bob


def since(m, cursor):
    return m.events.since(cursor, limit=1000)[0]


def test_join_authorizes_once_then_joins(m, room):
    client, mid, alice, bob = room
    attendee = m.join(mid, alice["AttendeeId"])
    assert attendee.attendee_id == alice["AttendeeId"] and attendee.connected
    authorized, joined = m.events
    assert types(m.events) == ["AttendeeAuthorized", "AttendeeJoined"]
    assert list(authorized.detail) == ATTENDEE_KEYS
    assert list(joined.detail) == NETWORK_KEYS and joined.detail["networkType"] == "Voip"
    assert joined.detail["attendeeId"] == alice["AttendeeId"] and joined.detail["externalUserId"] == "alice"
    assert joined.envelope()["detail-type"] == "Chime Meeting State Change"
    m.leave(mid, alice["AttendeeId"])
    m.join(mid, alice["AttendeeId"])                     # a rejoin: no second AttendeeAuthorized
    assert types(m.events) == ["AttendeeAuthorized", "AttendeeJoined", "AttendeeLeft", "AttendeeJoined"]
    left = m.events[2]
    assert list(left.detail) == NETWORK_KEYS


def test_join_by_join_token(m, room):
    client, mid, alice, bob = room
    m.join(mid, join_token=bob["JoinToken"])
    assert [e.attendee_id for e in m.events] == [bob["AttendeeId"]] * 2
    assert [a.attendee_id for a in m.connected(mid)] == [bob["AttendeeId"]]
    m.leave(mid, join_token=bob["JoinToken"])
    assert m.connected(mid) == []


def test_the_dropped_story_of_the_docs(m, room):
    client, mid, alice, bob = room
    m.join(mid, alice["AttendeeId"])
    m.drop(mid, alice["AttendeeId"])
    m.join(mid, alice["AttendeeId"])
    m.leave(mid, alice["AttendeeId"])
    assert types(m.events) == ["AttendeeAuthorized", "AttendeeJoined", "AttendeeDropped", "AttendeeJoined",
                               "AttendeeLeft"]
    assert list(m.events[2].detail) == NETWORK_KEYS


def test_video_needs_a_joined_attendee_that_sends_video(m, room):
    client, mid, alice, bob = room
    with pytest.raises(MediaConflict, match="not joined"):
        m.start_video(mid, alice["AttendeeId"])
    m.join(mid, alice["AttendeeId"])
    m.join(mid, bob["AttendeeId"])
    cursor = m.events.cursor
    with pytest.raises(MediaConflict, match="Video capability is 'Receive'"):
        m.start_video(mid, bob["AttendeeId"])
    with pytest.raises(MediaConflict, match="not sending video"):
        m.stop_video(mid, alice["AttendeeId"])
    assert m.events.cursor == cursor
    m.start_video(mid, alice["AttendeeId"])
    with pytest.raises(MediaConflict, match="already sending video"):
        m.start_video(mid, alice["AttendeeId"])
    m.stop_video(mid, alice["AttendeeId"])
    new = since(m, cursor)
    assert types(new) == ["AttendeeVideoStarted", "AttendeeVideoStopped"]
    assert all(list(e.detail) == ATTENDEE_KEYS for e in new)
    # capabilities can also come from Send
    client.update_attendee_capabilities(MeetingId=mid, AttendeeId=bob["AttendeeId"], Capabilities={
        "Audio": "SendReceive", "Video": "Send", "Content": "None"})
    m.start_video(mid, bob["AttendeeId"])
    assert m.events[-1].type == "AttendeeVideoStarted" and m.events[-1].attendee_id == bob["AttendeeId"]


def test_content_share_is_the_content_attendee(m, room):
    client, mid, alice, bob = room
    m.join(mid, alice["AttendeeId"])
    m.join(mid, bob["AttendeeId"])
    cursor = m.events.cursor
    with pytest.raises(MediaConflict, match="Content capability is 'Receive'"):
        m.start_content_share(mid, bob["AttendeeId"])
    with pytest.raises(MediaConflict, match="not sharing content"):
        m.stop_content_share(mid, alice["AttendeeId"])
    with pytest.raises(MediaConflict, match="not sharing content"):
        m.drop_content_share(mid, alice["AttendeeId"])
    m.start_content_share(mid, alice["AttendeeId"])
    with pytest.raises(MediaConflict, match="already sharing"):
        m.start_content_share(mid, alice["AttendeeId"])
    m.stop_content_share(mid, alice["AttendeeId"])
    m.start_content_share(mid, alice["AttendeeId"])
    m.drop_content_share(mid, alice["AttendeeId"])
    new = since(m, cursor)
    assert types(new) == ["AttendeeContentJoined", "AttendeeContentLeft", "AttendeeContentJoined",
                          "AttendeeContentDropped"]
    for event in new:
        assert list(event.detail) == NETWORK_KEYS
        assert event.detail["attendeeId"] == alice["AttendeeId"] + "#content" == event.attendee_id
        assert event.detail["externalUserId"] == "alice#content"
    # filtering by the attendee finds its content-share events too; the content id alone only those
    assert len(m.events.filter(attendee_id=alice["AttendeeId"])) == 2 + 4
    assert len(m.events.filter(attendee_id=alice["AttendeeId"] + "#content")) == 4


def test_leaving_or_dropping_ends_the_content_share_first(m, room):
    client, mid, alice, bob = room
    m.join(mid, alice["AttendeeId"])
    m.start_video(mid, alice["AttendeeId"])
    m.start_content_share(mid, alice["AttendeeId"])
    cursor = m.events.cursor
    m.drop(mid, alice["AttendeeId"])
    assert types(since(m, cursor)) == ["AttendeeContentDropped", "AttendeeDropped"]
    attendee = m.attendees(mid)[0]
    assert not (attendee.connected or attendee.video or attendee.content)
    m.join(mid, alice["AttendeeId"])
    m.start_content_share(mid, alice["AttendeeId"])
    cursor = m.events.cursor
    m.leave(mid, alice["AttendeeId"])
    assert types(since(m, cursor)) == ["AttendeeContentLeft", "AttendeeLeft"]


def test_transitions_that_are_not_allowed_change_nothing(m, room):
    client, mid, alice, bob = room
    with pytest.raises(MediaConflict, match="not joined"):
        m.leave(mid, alice["AttendeeId"])
    with pytest.raises(MediaConflict, match="not joined"):
        m.drop(mid, alice["AttendeeId"])
    with pytest.raises(MediaConflict, match="not joined"):
        m.start_content_share(mid, alice["AttendeeId"])
    m.join(mid, alice["AttendeeId"])
    cursor = m.events.cursor
    with pytest.raises(MediaConflict, match="already joined") as caught:
        m.join(mid, alice["AttendeeId"])
    assert alice["AttendeeId"] in str(caught.value) and mid in str(caught.value)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, ChimeMockError)
    assert m.events.cursor == cursor and len(m.connected(mid)) == 1


def test_unknown_things_are_media_not_found(m, room):
    client, mid, alice, bob = room
    ghost = "11111111-2222-4333-8444-555555555555"
    with pytest.raises(MediaNotFound, match=f"meeting_id '{ghost}'") as caught:
        m.join(ghost, alice["AttendeeId"])
    assert isinstance(caught.value, LookupError) and isinstance(caught.value, ChimeMockError)
    with pytest.raises(MediaNotFound, match=f"attendee_id '{ghost}'"):
        m.join(mid, ghost)
    with pytest.raises(MediaNotFound, match="join_token"):
        m.join(mid, join_token="bm90IGEgdG9rZW4")
    with pytest.raises(MediaNotFound, match="join_token"):
        m.join(mid, join_token=alice["JoinToken"][:-2] + "AA")
    other = client.create_meeting(ClientRequestToken="other", MediaRegion="us-east-1",
                                  ExternalMeetingId="other")["Meeting"]["MeetingId"]
    with pytest.raises(MediaNotFound, match="attendee_id"):
        m.join(other, alice["AttendeeId"])                # an attendee of another meeting
    with pytest.raises(MediaNotFound, match="join_token"):
        m.join(other, join_token=alice["JoinToken"])
    client.delete_attendee(MeetingId=mid, AttendeeId=bob["AttendeeId"])
    with pytest.raises(MediaNotFound, match="attendee_id"):
        m.join(mid, bob["AttendeeId"])                    # deleted
    with pytest.raises(MediaNotFound, match="join_token"):
        m.join(mid, join_token=bob["JoinToken"])          # revoked with it
    client.delete_meeting(MeetingId=mid)
    with pytest.raises(MediaNotFound, match="meeting_id"):
        m.join(mid, alice["AttendeeId"])                  # ended
    with pytest.raises(MediaNotFound, match="meeting_id"):
        m.connected(mid)
    with pytest.raises(TypeError, match="exactly one"):
        m.join(other)
    with pytest.raises(TypeError, match="exactly one"):
        m.join(other, alice["AttendeeId"], join_token=alice["JoinToken"])
    with pytest.raises(TypeError, match="meeting_id"):
        m.join(5, alice["AttendeeId"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="attendee_id"):
        m.join(other, 5)  # type: ignore[arg-type]


def test_delete_attendee_while_connected_leaves_first(m, room):
    client, mid, alice, bob = room
    m.join(mid, alice["AttendeeId"])
    m.start_content_share(mid, alice["AttendeeId"])
    cursor = m.events.cursor
    client.delete_attendee(MeetingId=mid, AttendeeId=alice["AttendeeId"])
    assert types(since(m, cursor)) == ["AttendeeContentLeft", "AttendeeLeft", "AttendeeDeleted"]
    cursor = m.events.cursor
    client.delete_attendee(MeetingId=mid, AttendeeId=bob["AttendeeId"])      # never connected
    assert types(since(m, cursor)) == ["AttendeeDeleted"]


def test_delete_meeting_with_people_connected_is_only_meeting_ended(m, room):
    client, mid, alice, bob = room
    m.join(mid, alice["AttendeeId"])
    m.join(mid, bob["AttendeeId"])
    cursor = m.events.cursor
    client.delete_meeting(MeetingId=mid)
    assert types(since(m, cursor)) == ["MeetingEnded"]


def test_connected_roster(m, room):
    client, mid, alice, bob = room
    assert m.connected(mid) == []
    m.join(mid, bob["AttendeeId"])
    m.join(mid, alice["AttendeeId"])
    assert [a.external_user_id for a in m.connected(mid)] == ["alice", "bob"]      # creation order
    m.drop(mid, alice["AttendeeId"])
    assert [a.external_user_id for a in m.connected(mid.upper())] == ["bob"]
    assert len(client.list_attendees(MeetingId=mid)["Attendees"]) == 2             # the API lists everyone


def test_connected_attendees_keep_the_meeting_alive():
    now = [NOON]
    with mock_chime_meetings(auto_end=True, clock=lambda: now[0]) as m:
        client = chime()
        mid = client.create_meeting(ClientRequestToken="alive", MediaRegion="us-east-1",
                                    ExternalMeetingId="alive")["Meeting"]["MeetingId"]
        a = client.create_attendee(MeetingId=mid, ExternalUserId="alice")["Attendee"]["AttendeeId"]
        now[0] += 200
        m.join(mid, a)
        now[0] += 3600
        assert client.get_meeting(MeetingId=mid)
        m.leave(mid, a)                      # nobody from now on
        now[0] += 299
        assert client.get_meeting(MeetingId=mid)
        now[0] += 1
        with pytest.raises(MediaNotFound):
            m.join(mid, a)                   # the service ended it first
        assert types(m.events)[-2:] == ["AttendeeLeft", "MeetingEnded"]
        assert m.events[-1].detail["timestamp"] == int(now[0] * 1000)


def test_set_connected_is_join_and_leave(m, room):
    client, mid, alice, bob = room
    m.set_connected(mid, alice["AttendeeId"])
    m.set_connected(mid, alice["AttendeeId"], True)     # already: nothing
    m.set_connected(mid, alice["AttendeeId"], False)
    m.set_connected(mid, alice["AttendeeId"], False)
    assert types(m.events) == ["AttendeeAuthorized", "AttendeeJoined", "AttendeeLeft"]
    with pytest.raises(KeyError):
        m.set_connected(mid, "11111111-2222-4333-8444-555555555555")


def test_media_actions_prepare_an_inactive_handle():
    handle = mock_chime_meetings(seed=1)
    meeting = handle.add_meeting(external_meeting_id="prepared")
    attendee = handle.add_attendee(meeting.meeting_id, "early")
    handle.join(meeting.meeting_id, attendee.attendee_id)
    with handle:
        assert [a.attendee_id for a in handle.connected(meeting.meeting_id)] == [attendee.attendee_id]
        assert types(handle.events)[-1] == "AttendeeJoined"


# -- concurrency --------------------------------------------------------------------------------
def _check_consistent(events, attendee_ids):
    """Per attendee, Joined and Left/Dropped alternate, starting with Joined."""
    for attendee_id in attendee_ids:
        mine = [e.type for e in events if e.attendee_id == attendee_id and e.type != "AttendeeAuthorized"]
        for index, kind in enumerate(mine):
            assert kind == ("AttendeeJoined" if index % 2 == 0 else "AttendeeLeft"), (attendee_id, mine)
    seqs = [e.seq for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_eight_threads_one_event_per_transition():
    service = ChimeService(seed=8)
    meeting = service.add_meeting()
    people = [service.add_attendee(meeting.meeting_id, f"user-{k}").attendee_id for k in range(4)]
    cursor = service.events.cursor
    done = {"joins": 0, "leaves": 0, "conflicts": 0}
    lock = threading.Lock()
    seen = []
    service.events.subscribe(seen.append)
    start = threading.Barrier(8)

    def worker(n):
        start.wait()
        rng = random.Random(n)
        for _ in range(60):
            who = rng.choice(people)
            try:
                if rng.random() < 0.5:
                    service.join(meeting.meeting_id, who)
                    key = "joins"
                else:
                    service.leave(meeting.meeting_id, who)
                    key = "leaves"
            except MediaConflict:
                key = "conflicts"
            with lock:
                done[key] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = service.events.since(cursor, limit=10_000)[0]
    assert sum(done.values()) == 480 and done["joins"] > 0 and done["leaves"] > 0
    assert len([e for e in events if e.type == "AttendeeJoined"]) == done["joins"]
    assert len([e for e in events if e.type == "AttendeeLeft"]) == done["leaves"]
    assert len([e for e in events if e.type == "AttendeeAuthorized"]) == len(
        {e.attendee_id for e in events if e.type == "AttendeeJoined"})
    _check_consistent(events, people)
    assert seen == events                                   # subscribers: every event, once, in order
    final = {a.attendee_id for a in service.connected(meeting.meeting_id)}
    for who in people:
        last = [e.type for e in events if e.attendee_id == who and e.type != "AttendeeAuthorized"]
        assert (who in final) == (bool(last) and last[-1] == "AttendeeJoined")


def test_eight_threads_joining_the_same_attendee_one_wins():
    service = ChimeService()
    meeting = service.add_meeting()
    who = service.add_attendee(meeting.meeting_id, "contested").attendee_id
    outcomes = []
    start = threading.Barrier(8)

    def worker():
        start.wait()
        try:
            service.join(meeting.meeting_id, who)
            outcomes.append("joined")
        except MediaConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["joined"]
    assert [e.type for e in service.events.filter(attendee_id=who)] == ["AttendeeAdded", "AttendeeAuthorized",
                                                                         "AttendeeJoined"]


def test_asyncio_tasks_one_event_per_transition():
    async def main():
        with mock_chime_meetings(seed=5) as m:
            meeting = m.add_meeting()
            people = [m.add_attendee(meeting.meeting_id, f"task-{k}").attendee_id for k in range(4)]
            cursor = m.events.cursor

            async def worker(n):
                count = 0
                rng = random.Random(n)
                for _ in range(40):
                    who = rng.choice(people)
                    action = m.join if rng.random() < 0.5 else m.leave
                    try:
                        await asyncio.to_thread(action, meeting.meeting_id, who)
                        count += 1
                    except MediaConflict:
                        pass
                    await asyncio.sleep(0)
                return count

            transitions = sum(await asyncio.gather(*(worker(n) for n in range(8))))
            events = [e for e in m.events.since(cursor, limit=10_000)[0] if e.type != "AttendeeAuthorized"]
            assert len(events) == transitions > 0
            assert {"AttendeeJoined", "AttendeeLeft"} <= set(types(events))
            _check_consistent(events, people)
    asyncio.run(main())


def test_a_caller_holding_the_lock_never_waits_for_a_subscriber_that_needs_it():
    """The server's control routes hold the service lock around set_connected:
    they must not wait for a subscriber (busy in another thread) that needs it."""
    service = ChimeService()
    meeting = service.add_meeting()
    who = service.add_attendee(meeting.meeting_id, "held").attendee_id
    inside, go = threading.Event(), threading.Event()
    seen = []

    def subscriber(event):
        seen.append(event.type)
        if event.type == "MeetingStarted" and not inside.is_set():
            inside.set()
            go.wait(30)
            service.meetings()                      # needs the service lock

    service.events.subscribe(subscriber)
    worker = threading.Thread(target=service.add_meeting, daemon=True)
    worker.start()
    assert inside.wait(30)

    def holder():
        with service.backend.lock:
            go.set()
            service.set_connected(meeting.meeting_id, who)
    other = threading.Thread(target=holder, daemon=True)
    other.start()
    other.join(30)
    worker.join(30)
    assert not other.is_alive() and not worker.is_alive()
    assert seen == ["MeetingStarted", "AttendeeAuthorized", "AttendeeJoined"]
