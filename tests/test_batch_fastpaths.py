"""The batch fast paths answer exactly as creating the attendees one by one did.

BatchCreateAttendee and CreateMeetingWithAttendees decide every item first,
then draw the new attendees' IDs in one go (``IdGenerator.attendee_credentials_many``),
add them together (``Meeting.add_attendees``) and emit their ``AttendeeAdded``
events in one emission (``EventLog.emit_many``), which the deliveries take as
one batch.  Each test compares with the one-at-a-time way, kept here as the
reference: the same answers, errors, state, events (ids, seq, time, detail)
and the same generator states afterwards.
"""
from __future__ import annotations

import base64
import json
import logging
import random
from typing import Any, Dict, List, Optional, Tuple
from unittest import mock

import pytest

from chime_mock import ChimeService
from chime_mock.backend.state import (EXTERNAL_ID_PATTERN, Attendee, AttendeeList, GeneratedAttendeeList,
                                      NewAttendeeList, _ATTENDEE_TEXTS,
                                      _ATTENDEE_TEXTS_KEPT, _EXTERNAL_ID, external_id_problem, shared_capabilities)
from chime_mock.deliveries import attach
from chime_mock.events.log import BatchSubscriber, MeetingEvent
from chime_mock.ground.ids import IdGenerator

NOON = 1_767_268_800.0
SR = "SendReceive"


def caps(audio: str = SR, video: str = SR, content: str = SR) -> Dict[str, str]:
    return {"Audio": audio, "Video": video, "Content": content}


def one_by_one(service: ChimeService, meeting_id: str, items: List[Dict[str, Any]]
               ) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """The per-item creation the fast path replaced (AttendeeRules._new_attendee per item)."""
    backend = service.backend
    with backend.lock:
        meeting = backend.find_meeting(meeting_id)
        assert meeting is not None
        attendees: List[Dict[str, Any]] = []
        errors: List[Dict[str, Any]] = []
        default = backend.default_capabilities(meeting)
        for item in items:
            external_id = item["ExternalUserId"]
            existing = meeting.by_external_id.get(external_id)
            if existing is not None:
                attendees.append(existing.to_wire())
                continue
            problem = external_id_problem(external_id)
            if problem:
                errors.append({"ExternalUserId": external_id, "ErrorCode": "BadRequest",
                               "ErrorMessage": f"Invalid ExternalUserId: {problem}"})
                continue
            requested = item.get("Capabilities")
            if requested is None:
                chosen = default
            else:
                chosen = dict(requested)
                problem = backend.capability_problem(meeting, chosen)
                if problem:
                    errors.append({"ExternalUserId": external_id, "ErrorCode": "BadRequest", "ErrorMessage": problem})
                    continue
                chosen = shared_capabilities(chosen)
            if len(meeting.attendees) >= meeting.max_attendees:
                errors.append({"ExternalUserId": external_id, "ErrorCode": "ResourceLimitExceeded",
                               "ErrorMessage": backend._seat_message(meeting)})
                continue
            attendees.append(backend._new_attendee(meeting, external_id, chosen).to_wire())
    service._dispatch()
    return attendees, errors


def batch(service: ChimeService, meeting_id: str, items: List[Dict[str, Any]]
          ) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    meeting = service.meeting(meeting_id)
    assert meeting is not None
    out = service._direct("BatchCreateAttendee", {"MeetingId": meeting_id, "Attendees": items},
                          meeting.region, meeting.account)
    service._dispatch()
    return out["Attendees"], out["Errors"]


def event_view(event: MeetingEvent) -> Tuple[Any, ...]:
    return (event.seq, event.id, event.type, event.account, event.region, event.time, event.meeting_id,
            event.attendee_id, event.detail, event.notifications, event.to_json())


def attendee_view(attendee: Attendee) -> Tuple[Any, ...]:
    return (attendee.attendee_id, attendee.external_user_id, attendee.join_token, dict(attendee.capabilities),
            attendee.seq)


def twins(seed: int = 5, **meeting_fields: Any) -> Tuple[ChimeService, ChimeService, str]:
    services = []
    for _ in range(2):
        service = ChimeService(seed=seed, clock=lambda: NOON)
        service.add_meeting(external_meeting_id="fast", **meeting_fields)
        services.append(service)
    one, two = services
    meeting_id = one.meetings()[0].meeting_id
    assert two.meetings()[0].meeting_id == meeting_id
    return one, two, meeting_id


def same_everything(fast: ChimeService, slow: ChimeService, meeting_id: str) -> None:
    assert [attendee_view(a) for a in fast.attendees(meeting_id)] == \
        [attendee_view(a) for a in slow.attendees(meeting_id)]
    assert [event_view(e) for e in fast.events] == [event_view(e) for e in slow.events]
    assert fast.ids.getstate() == slow.ids.getstate()
    assert fast.event_ids.getstate() == slow.event_ids.getstate()
    assert fast.events.cursor == slow.events.cursor
    fast_meeting, slow_meeting = fast.meeting(meeting_id), slow.meeting(meeting_id)
    assert fast_meeting is not None and slow_meeting is not None
    assert fast_meeting._seqs == slow_meeting._seqs and fast_meeting._next_seq == slow_meeting._next_seq
    assert [a.attendee_id for a in fast_meeting._by_seq] == [a.attendee_id for a in slow_meeting._by_seq]
    assert fast_meeting.by_external_id.keys() == slow_meeting.by_external_id.keys()


@pytest.mark.parametrize("count", [1, 2, 7, 15, 16, 17, 40, 100])
@pytest.mark.parametrize("seed", [0, 5, 1234])
def test_a_batch_is_the_creates_one_by_one(count, seed):
    fast, slow, meeting_id = twins(seed)
    items = [{"ExternalUserId": f"user-{k:03d}"} for k in range(count)]
    assert batch(fast, meeting_id, items) == one_by_one(slow, meeting_id, items)
    same_everything(fast, slow, meeting_id)
    # and the next IDs (the generators moved alike)
    assert fast.add_attendee(meeting_id, "after").attendee_id == slow.add_attendee(meeting_id, "after").attendee_id
    same_everything(fast, slow, meeting_id)


def test_mixed_items_known_repeated_invalid_capabilities_and_seats():
    fast, slow, meeting_id = twins(3, MeetingFeatures={"Attendee": {"MaxCount": 12},
                                                       "Content": {"MaxResolution": "None"}})
    for service in (fast, slow):
        service.add_attendee(meeting_id, "known-1")
        service.add_attendee(meeting_id, "known-2")
    items: List[Dict[str, Any]] = []
    for k in range(40):
        if k % 9 == 0:
            items.append({"ExternalUserId": "known-1"})
        elif k % 7 == 0:
            items.append({"ExternalUserId": f"user-{k - 1:03d}"})          # repeated within the batch
        elif k % 11 == 0:
            items.append({"ExternalUserId": f"aws:user-{k}"})             # reserved prefix
        elif k % 13 == 0:
            items.append({"ExternalUserId": f"bad\u2028{k}"})             # outside the pattern
        elif k % 5 == 0:
            items.append({"ExternalUserId": f"user-{k:03d}", "Capabilities": caps(content="Receive")})  # refused
        elif k % 3 == 0:
            items.append({"ExternalUserId": f"user-{k:03d}", "Capabilities": caps(video="Receive", content="None")})
        else:
            items.append({"ExternalUserId": f"user-{k:03d}"})
    fast_out, slow_out = batch(fast, meeting_id, items), one_by_one(slow, meeting_id, items)
    assert fast_out == slow_out
    codes = {error["ErrorCode"] for error in fast_out[1]}
    assert codes == {"BadRequest", "ResourceLimitExceeded"}         # the seats ran out on the way
    same_everything(fast, slow, meeting_id)
    # a replay of the same batch: everything known now, or refused as before
    assert batch(fast, meeting_id, items) == one_by_one(slow, meeting_id, items)
    same_everything(fast, slow, meeting_id)


def test_create_meeting_with_attendees_matches_a_meeting_then_its_attendees():
    for count in (1, 10, 19):
        fast = ChimeService(seed=8, clock=lambda: NOON)
        slow = ChimeService(seed=8, clock=lambda: NOON)
        items = [{"ExternalUserId": f"first-{k:02d}"} for k in range(count)] + [{"ExternalUserId": "first-00"}]
        fast_out = fast._direct("CreateMeetingWithAttendees", {
            "ClientRequestToken": "tok", "ExternalMeetingId": "meeting", "MediaRegion": "us-east-1",
            "Attendees": items}, "us-east-1", None)
        fast._dispatch()
        slow_meeting = slow._direct("CreateMeeting", {
            "ClientRequestToken": "tok", "ExternalMeetingId": "meeting", "MediaRegion": "us-east-1"}, "us-east-1", None)
        meeting_id = slow_meeting["Meeting"]["MeetingId"]
        assert fast_out["Meeting"]["MeetingId"] == meeting_id
        assert (fast_out["Attendees"], fast_out["Errors"]) == one_by_one(slow, meeting_id, items)
        same_everything(fast, slow, meeting_id)


def test_a_batch_shares_one_moment_and_the_events_show_it():
    now = [NOON]
    service = ChimeService(seed=1, clock=lambda: now[0])
    meeting = service.add_meeting(external_meeting_id="moment")
    now[0] += 5
    batch(service, meeting.meeting_id, [{"ExternalUserId": f"u{k}"} for k in range(30)])
    added = service.events.filter("AttendeeAdded")
    assert len(added) == 30 and {e.time for e in added} == {NOON + 5}
    assert [e.seq for e in added] == list(range(added[0].seq, added[0].seq + 30))
    assert all(e.detail["timestamp"] == int((NOON + 5) * 1000) for e in added)
    assert len({e.id for e in added}) == 30


# -- the IDs ---------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 7, 99, 2 ** 40])
def test_credentials_of_a_batch_are_the_draws_one_by_one(seed):
    for count in (0, 1, 2, 15, 16, 17, 64, 100, 250):
        many, one = IdGenerator(seed), IdGenerator(seed)
        drawn = many.attendee_credentials_many(count)
        assert drawn == [one.attendee_credentials() for _ in range(count)]
        assert many.getstate() == one.getstate()
        for attendee_id, token in drawn:   # the token is base64 of "<AttendeeId>:<uuid4>"
            assert len(attendee_id) == 36 and len(token) == 98
            raw = base64.b64decode(token + "==").decode()
            assert raw.startswith(attendee_id + ":") and raw[37 + 14] == "4" and raw[37 + 19] in "89ab"


def test_attendee_credentials_match_attendee_id_then_join_token():
    for seed in (3, 4):
        one, two = IdGenerator(seed), IdGenerator(seed)
        for _ in range(50):
            attendee_id = two.attendee_id()
            assert one.attendee_credentials() == (attendee_id, two.join_token(attendee_id))


def test_a_generator_repeating_itself_never_gives_an_id_in_use():
    service = ChimeService(seed=7)
    meeting = service.add_meeting(external_meeting_id="repeat")
    state = service.ids.getstate()
    first = batch(service, meeting.meeting_id, [{"ExternalUserId": f"a{k}"} for k in range(20)])[0]
    service.ids.setstate(state)          # the next batch draws the very same IDs
    second = batch(service, meeting.meeting_id, [{"ExternalUserId": f"b{k}"} for k in range(20)])[0]
    ids = [a["AttendeeId"] for a in first + second]
    assert len(set(ids)) == 40 and len(service.attendees(meeting.meeting_id)) == 40
    assert [e.attendee_id for e in service.events.filter("AttendeeAdded")] == ids


# -- the external-ID check -------------------------------------------------------------------
def reference_problem(value: str) -> Optional[str]:
    if _EXTERNAL_ID.fullmatch(value) is None:
        return f"Member must satisfy regular expression pattern: {EXTERNAL_ID_PATTERN}"
    if value[:4].lower() == "aws:":
        return "Member must not begin with the reserved prefix 'aws:' (case insensitive)"
    return None


def test_external_id_check_is_the_pattern_and_the_prefix():
    values = ["", "a", "aws", "aws:", "AWS:x", "aWs:", "aws-x", "awsx:", " aws:", "user@example.com",
              "café «x» ÿ", "emoji-😀", "x\u2028y", "tab\there", "v\x0bt", "fs\x1c", "\u0130ws:", "ſ", "K"]
    values += [chr(c) for c in range(0x250)] + [f"aws{chr(c)}" for c in range(0x250)]
    rng = random.Random(3)
    alphabet = "aws:AWS-_&@+=,(){}[]/«».:|'\"#Zz09À ÿ\t\n\x0b\x0c\r\x1c\u00a0\u2028é"
    values += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(8))) for _ in range(3000)]
    for value in values:
        assert external_id_problem(value) == reference_problem(value), repr(value)


# -- the answer's JSON -----------------------------------------------------------------------
def encode(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def test_created_attendees_write_the_encoders_bytes_and_are_not_kept():
    generator = IdGenerator(2)
    shared = shared_capabilities(caps())
    attendees = [Attendee(i, f"new-{k}\"é", t, shared) for k, (i, t) in enumerate(generator.attendee_credentials_many(30))]
    created = NewAttendeeList(a.to_wire() for a in attendees)
    assert created.wire_json() == encode(list(created))
    assert not any(a.attendee_id in _ATTENDEE_TEXTS for a in attendees)
    listed = AttendeeList(a.to_wire() for a in attendees)
    assert listed.wire_json() == encode(list(listed))
    assert all(a.attendee_id in _ATTENDEE_TEXTS for a in attendees)
    assert created.wire_json() == encode(list(created))      # known texts are still used, and right


@pytest.mark.parametrize("external_id", ["plain-user", 'quo"te\\back', "tab\there\nline", "café «x» ÿ", "emoji-😀",
                                         "ctl\x01\x1f", "", "\u2028"])
def test_a_batch_of_new_attendees_writes_the_encoders_bytes(external_id):
    generator = IdGenerator(9)
    mixed = [shared_capabilities(caps()), shared_capabilities(caps(video="Receive")), caps(content="None"),
             {"Audio": "Odd", "Video": "x", "Content": "y"}]
    made = [Attendee(i, f"{external_id}{k}", t, mixed[k % 4])
            for k, (i, t) in enumerate(generator.attendee_credentials_many(20))]
    answer = GeneratedAttendeeList(a.to_wire() for a in made)
    assert answer.wire_json() == encode(list(answer))
    odd = GeneratedAttendeeList(a.to_wire() for a in made)
    odd[3]["Extra"] = 1                      # not as made: written the general way
    assert odd.wire_json() == encode(list(odd))


def test_batch_answers_through_a_client_are_the_encoders(client):
    meeting = client.create_meeting(ClientRequestToken="fast-json", MediaRegion="us-east-1",
                                    ExternalMeetingId="fast-json")["Meeting"]
    items = [{"ExternalUserId": f'u"{k}é'} for k in range(30)]
    first = client.batch_create_attendee(MeetingId=meeting["MeetingId"], Attendees=items)
    again = client.batch_create_attendee(MeetingId=meeting["MeetingId"], Attendees=items + [{"ExternalUserId": "new"}])
    assert [a["ExternalUserId"] for a in first["Attendees"]] == [i["ExternalUserId"] for i in items]
    assert not first["Errors"] and not again["Errors"]
    assert again["Attendees"][:30] == first["Attendees"]
    listed = client.list_attendees(MeetingId=meeting["MeetingId"], MaxResults=100)["Attendees"]
    assert listed == again["Attendees"]


def test_kept_texts_stay_bounded_and_right():
    generator = IdGenerator(4)
    shared = shared_capabilities(caps())
    for _ in range(3):
        lists = [AttendeeList(Attendee(i, f"u-{k}", t, shared).to_wire()
                              for k, (i, t) in enumerate(generator.attendee_credentials_many(250)))
                 for _ in range(8)]
        for items in lists:
            assert items.wire_json() == encode(list(items))
            assert len(_ATTENDEE_TEXTS) <= _ATTENDEE_TEXTS_KEPT
    for items in lists[-2:]:
        assert items.wire_json() == encode(list(items))


# -- the subscribers -------------------------------------------------------------------------
def test_deliveries_take_a_batch_as_they_take_each_event(caplog):
    service = ChimeService(seed=6, clock=lambda: NOON)
    deliveries = attach(service)
    meeting = service.add_meeting(external_meeting_id="notify", NotificationsConfiguration={
        "LambdaFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f"})
    with caplog.at_level(logging.WARNING, logger="chime_mock"):
        batch(service, meeting.meeting_id, [{"ExternalUserId": f"u{k}"} for k in range(25)])
    added = service.events.filter("AttendeeAdded")
    lambdas = [r for r in service.events.deliveries if r.event_type == "AttendeeAdded"]
    assert [r.event_id for r in lambdas] == [e.id for e in added] and len(added) == 25
    assert all(r.kind == "lambda" and not r.delivered for r in lambdas)
    deliveries.detach()


def test_with_two_subscribers_each_event_reaches_both_before_the_next():
    service = ChimeService(seed=6, clock=lambda: NOON)
    attach(service)
    seen: List[Tuple[str, int]] = []
    service.events.subscribe(lambda event: seen.append(("user", event.seq)))
    meeting = service.add_meeting(external_meeting_id="two")
    seen.clear()
    batch(service, meeting.meeting_id, [{"ExternalUserId": f"u{k}"} for k in range(20)])
    assert [seq for _, seq in seen] == [e.seq for e in service.events.filter("AttendeeAdded")]


def test_a_subscriber_is_called_per_event_whatever_attributes_it_has():
    service = ChimeService(seed=6)
    callback = mock.MagicMock()        # has a ``many`` attribute, as every MagicMock attribute
    service.events.subscribe(callback)
    meeting = service.add_meeting(external_meeting_id="magic")
    batch(service, meeting.meeting_id, [{"ExternalUserId": f"u{k}"} for k in range(20)])
    assert [c.args[0].seq for c in callback.call_args_list] == [e.seq for e in service.events]
    assert not callback.many.called


def test_a_batch_subscriber_alone_gets_the_events_together_in_order():
    service = ChimeService(seed=6)
    calls: List[List[int]] = []

    class Recorder(BatchSubscriber):
        def __call__(self, event: MeetingEvent) -> None:
            calls.append([event.seq])

        def many(self, events: List[MeetingEvent]) -> None:
            calls.append([e.seq for e in events])

    service.events.subscribe(Recorder())
    meeting = service.add_meeting(external_meeting_id="rec")
    batch(service, meeting.meeting_id, [{"ExternalUserId": f"u{k}"} for k in range(20)])
    assert [seq for call in calls for seq in call] == [e.seq for e in service.events]
    assert calls[-1] == [e.seq for e in service.events.filter("AttendeeAdded")]


def test_a_failing_batch_subscriber_never_fails_the_call(caplog):
    service = ChimeService(seed=6)

    class Broken(BatchSubscriber):
        def __call__(self, event: MeetingEvent) -> None:
            raise RuntimeError("one")

        def many(self, events: List[MeetingEvent]) -> None:
            raise RuntimeError("many")

    service.events.subscribe(Broken())
    meeting = service.add_meeting(external_meeting_id="broken")
    with caplog.at_level(logging.WARNING, logger="chime_mock"):
        answer = batch(service, meeting.meeting_id, [{"ExternalUserId": f"u{k}"} for k in range(5)])
    assert len(answer[0]) == 5
    assert any("failed on 5 events" in record.getMessage() for record in caplog.records)
