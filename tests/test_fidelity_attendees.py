"""Fidelity tests: attendees (CreateAttendee, BatchCreateAttendee,
CreateMeetingWithAttendees' attendee part, GetAttendee, DeleteAttendee),
called through real boto3 clients.

``Dn`` = decision n of docs/behaviour.md (anchor ``#dn``); ``§x.y`` = an
evidence section, located by the table at the end of docs/behaviour.md, with its evidence tag.
"""
from __future__ import annotations

import base64
import re
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.helpers import (
    ALL_SR, HEX_8_4_4_4_12, RAW, UUID4, assert_valid_output, expect_error, unchanged,
)



def new_meeting(client, token="tok-1", **kw):
    return client.create_meeting(ClientRequestToken=token, MediaRegion="us-east-1",
                                 ExternalMeetingId="attendee-tests", **kw)["Meeting"]


def add(client, meeting_id, external_user_id, **kw):
    resp = client.create_attendee(MeetingId=meeting_id, ExternalUserId=external_user_id, **kw)
    assert_valid_output("CreateAttendee", resp)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    return resp["Attendee"]


def batch(client, meeting_id, ids):
    resp = client.batch_create_attendee(MeetingId=meeting_id, Attendees=[{"ExternalUserId": i} for i in ids])
    assert_valid_output("BatchCreateAttendee", resp)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    return resp


def decode_token(token: str) -> str:
    return base64.b64decode(token + "=" * (-len(token) % 4), validate=True).decode("ascii")


def seats(mock, meeting_id) -> int:
    return len(mock.attendees(meeting_id))


# == identifiers (D8, §2.2, §2.3) ================================================

def test_attendee_payload(client, chime_meetings, meeting):
    """D8, §2.2/§2.3 [obs], §2.6: AttendeeId is 8-4-4-4-12 lowercase hex; JoinToken is
    unpadded base64 of '<AttendeeId>:<uuid4>' (98 chars, alphanumeric); ExternalUserId is
    echoed; default Capabilities all SendReceive [model]; GetAttendee returns the same."""
    a = add(client, meeting["MeetingId"], "Zoë O'Brien (host) #1")
    assert set(a) == {"ExternalUserId", "AttendeeId", "JoinToken", "Capabilities"}
    assert a["ExternalUserId"] == "Zoë O'Brien (host) #1"
    assert HEX_8_4_4_4_12.fullmatch(a["AttendeeId"])
    token = a["JoinToken"]
    assert len(token) == 98 and re.fullmatch(r"[A-Za-z0-9]+", token)
    attendee_id, _, tail = decode_token(token).partition(":")
    assert attendee_id == a["AttendeeId"] and UUID4.fullmatch(tail)
    assert a["Capabilities"] == ALL_SR
    got = client.get_attendee(MeetingId=meeting["MeetingId"], AttendeeId=a["AttendeeId"])
    assert_valid_output("GetAttendee", got)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert got["Attendee"]["AttendeeId"] == a["AttendeeId"]
    assert got["Attendee"]["ExternalUserId"] == a["ExternalUserId"]
    assert got["Attendee"]["Capabilities"] == ALL_SR


def test_attendee_ids_are_random_128_bits_not_uuid4(client, chime_meetings, meeting):
    """D8, §2.2 [obs]: real AttendeeIds are 128 random bits, not RFC-4122 (version and
    variant nibbles arbitrary). With 60 IDs, a uuid4 generator would make every version
    nibble '4'; random bits make that chance 16**-60. Tokens are unique per attendee."""
    resp = batch(client, meeting["MeetingId"], [f"user-{i}" for i in range(60)])
    ids = [a["AttendeeId"] for a in resp["Attendees"]]
    assert len(set(ids)) == 60
    assert all(HEX_8_4_4_4_12.fullmatch(i) for i in ids)
    assert {i[14] for i in ids} != {"4"}
    tokens = [a["JoinToken"] for a in resp["Attendees"]]
    assert len(set(tokens)) == 60 and all(len(t) == 98 for t in tokens)
    assert all(decode_token(t).startswith(i + ":") for t, i in zip(tokens, ids))


# == ExternalUserId rules (§3, D4) ===================================================

@pytest.mark.parametrize("value,constraint", [
    ("u" * 65, "length less than or equal to 64"),
    ("bob<script>", "regular expression pattern"),
    ("semi;colon", "regular expression pattern"),
    ("emoji-\U0001F600", "regular expression pattern"),
    ("aws:pipeline", "aws:"),
    ("AWS:Pipeline", "aws:"),
    ("aWs:x", "aws:"),
])
def test_external_user_id_rules(client, chime_meetings, meeting, value, constraint):
    """§3 [model]/[doc] (pattern enforced since March 2023, aws/amazon-chime-sdk-js #2601),
    D4: ExternalUserId 2-64 chars, documented pattern, 'aws:' prefix reserved
    (case-insensitive) -> CreateAttendee BadRequestException 400 naming externalUserId
    in AWS's validation wording; nothing created."""
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId=value)
    message = expect_error(ei, "BadRequestException")
    assert "externalUserId" in message and constraint in message, message
    assert message.startswith("1 validation error detected: Value")
    assert value not in message   # sensitive member: its value is not echoed


def test_external_user_id_max_length_message_in_aws_style(client, chime_meetings, meeting):
    """D4: the exact AWS framework wording for a too-long ExternalUserId."""
    with pytest.raises(ClientError) as ei:
        client.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId="u" * 65)
    assert expect_error(ei, "BadRequestException") == (
        "1 validation error detected: Value at 'externalUserId' failed to satisfy constraint: "
        "Member must have length less than or equal to 64")


def test_one_char_external_user_id_rejected_server_side(chime_meetings, make_client):
    """§7 [local] + D4: the 2-char minimum is botocore's client-side check; without it the
    server still answers BadRequestException 400."""
    client = make_client(config=RAW)
    mid = new_meeting(client)["MeetingId"]
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.create_attendee(MeetingId=mid, ExternalUserId="a")
    assert "externalUserId" in expect_error(ei, "BadRequestException")


def test_external_user_id_edge_values_accepted(client, chime_meetings, meeting):
    """§3 [model]/[doc]: 2 and 64 chars, the documented punctuation, À-ÿ letters and
    whitespace are allowed; 'aws' without colon, or 'aws:' not at the start, is fine."""
    values = ["ab", "z" * 64, "awsuser", "user-aws:1", "Jean-Noël «JN» [x]{y}(z)|a&b@c+d=e,f/g.h:i'j\"k#",
              "space name", "ÀÿÉ"]
    for value in values:
        assert len(value) <= 64
        assert add(client, meeting["MeetingId"], value)["ExternalUserId"] == value


# == D2: ExternalUserId is an idempotency token ======================================

def test_same_external_user_id_returns_same_attendee(client, chime_meetings, meeting):
    """D2 (§4.3: 'An idempotency token' [model]; behaviour [unknown]): the same
    ExternalUserId again returns the existing attendee (same AttendeeId and JoinToken),
    200, unchanged even when other Capabilities are asked; no second seat."""
    mid = meeting["MeetingId"]
    first = add(client, mid, "alice")
    again = add(client, mid, "alice", Capabilities={"Audio": "Receive", "Video": "None", "Content": "None"})
    assert again == first
    assert seats(chime_meetings, mid) == 1


def test_same_external_user_id_inside_batch_and_with_attendees(client, chime_meetings):
    """D2: the same rule inside BatchCreateAttendee and CreateMeetingWithAttendees, both
    for IDs already in the meeting and for duplicates within one request."""
    resp = client.create_meeting_with_attendees(
        ClientRequestToken="tok-1", MediaRegion="us-east-1", ExternalMeetingId="m1",
        Attendees=[{"ExternalUserId": "alice"}, {"ExternalUserId": "bob"}, {"ExternalUserId": "alice"}])
    assert_valid_output("CreateMeetingWithAttendees", resp)
    mid = resp["Meeting"]["MeetingId"]
    alice, bob, alice2 = resp["Attendees"]
    assert alice2 == alice and alice["AttendeeId"] != bob["AttendeeId"]
    assert resp["Errors"] == []
    assert seats(chime_meetings, mid) == 2

    out = batch(client, mid, ["bob", "carol", "carol", "alice"])
    assert [a["ExternalUserId"] for a in out["Attendees"]] == ["bob", "carol", "carol", "alice"]
    assert out["Attendees"][0] == bob and out["Attendees"][3] == alice
    assert out["Attendees"][1] == out["Attendees"][2]
    assert out["Errors"] == []
    assert seats(chime_meetings, mid) == 3
    assert add(client, mid, "carol") == out["Attendees"][1]


def test_same_external_user_id_on_full_meeting_still_succeeds(client, chime_meetings):
    """D2 + D10: returning the existing attendee takes no seat, so it works even when the
    meeting is full (MaxCount reached)."""
    mid = new_meeting(client, MeetingFeatures={"Attendee": {"MaxCount": 2}})["MeetingId"]
    a, b = add(client, mid, "alice"), add(client, mid, "bob")
    assert add(client, mid, "alice") == a
    out = batch(client, mid, ["bob", "alice"])
    assert out["Attendees"] == [b, a] and out["Errors"] == []
    assert seats(chime_meetings, mid) == 2


def test_external_user_id_reusable_after_delete(client, chime_meetings, meeting):
    """D2 + §2.3 [model] (DeleteAttendee revokes the JoinToken): after DeleteAttendee the
    ExternalUserId no longer names a live attendee, so it creates a new one with a new
    AttendeeId and JoinToken [inferred]."""
    mid = meeting["MeetingId"]
    first = add(client, mid, "alice")
    client.delete_attendee(MeetingId=mid, AttendeeId=first["AttendeeId"])
    second = add(client, mid, "alice")
    assert second["AttendeeId"] != first["AttendeeId"] and second["JoinToken"] != first["JoinToken"]


# == seat limits (D10, §3) ==============================================================

def test_250_attendee_limit(client, chime_meetings, meeting):
    """§3 [doc] (GR: 250 attendees per meeting, not adjustable), D10: the 251st
    CreateAttendee -> LimitExceededException 400 (Code ResourceLimitExceeded, D5),
    sent once (retries off), nothing created; a batch item gets ResourceLimitExceeded."""
    mid = meeting["MeetingId"]
    for start in (0, 100, 200):
        out = batch(client, mid, [f"user-{i}" for i in range(start, min(start + 100, 250))])
        assert out["Errors"] == []
    assert seats(chime_meetings, mid) == 250
    calls = chime_meetings.journal.count("CreateAttendee")
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.create_attendee(MeetingId=mid, ExternalUserId="one-too-many")
    expect_error(ei, "LimitExceededException")
    assert chime_meetings.journal.count("CreateAttendee") == calls + 1
    with unchanged(chime_meetings):
        out = batch(client, mid, ["late-1", "late-2"])
    assert out["Attendees"] == []
    assert [(e["ExternalUserId"], e["ErrorCode"]) for e in out["Errors"]] == [
        ("late-1", "ResourceLimitExceeded"), ("late-2", "ResourceLimitExceeded")]
    assert all(e["ErrorMessage"] for e in out["Errors"])


def test_deleted_attendees_free_their_seats(client, chime_meetings):
    """§3 [doc] FAQ ('active unless explicitly removed using DeleteAttendee'), D10:
    created-and-not-deleted attendees count; DeleteAttendee frees a seat."""
    mid = new_meeting(client, MeetingFeatures={"Attendee": {"MaxCount": 3}})["MeetingId"]
    people = [add(client, mid, f"user-{i}") for i in range(3)]
    with pytest.raises(ClientError) as ei:
        client.create_attendee(MeetingId=mid, ExternalUserId="user-3")
    expect_error(ei, "LimitExceededException")
    resp = client.delete_attendee(MeetingId=mid, AttendeeId=people[1]["AttendeeId"])
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert_valid_output("DeleteAttendee", resp)
    add(client, mid, "user-3")
    assert seats(chime_meetings, mid) == 3


@pytest.mark.parametrize("max_count", [1, 5, 25])
def test_lower_max_count_is_the_limit(client, chime_meetings, max_count):
    """§3 [model] (AttendeeMax 1-250), D10: MeetingFeatures.Attendee.MaxCount below 250 is
    the meeting's seat limit for CreateAttendee, BatchCreateAttendee and
    CreateMeetingWithAttendees alike."""
    resp = client.create_meeting_with_attendees(
        ClientRequestToken="tok-1", MediaRegion="us-east-1", ExternalMeetingId="m1",
        MeetingFeatures={"Attendee": {"MaxCount": max_count}},
        Attendees=[{"ExternalUserId": f"user-{i}"} for i in range(min(max_count + 2, 20))])
    mid = resp["Meeting"]["MeetingId"]
    created = min(max_count, 20)
    assert len(resp["Attendees"]) == created
    assert [e["ErrorCode"] for e in resp["Errors"]] == ["ResourceLimitExceeded"] * (min(max_count + 2, 20) - created)
    if max_count > 18:
        batch(client, mid, [f"more-{i}" for i in range(max_count - 20)])
    assert seats(chime_meetings, mid) == max_count
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.create_attendee(MeetingId=mid, ExternalUserId="extra")
    expect_error(ei, "LimitExceededException")


def test_high_resolution_meeting_limit_is_max_count(client, chime_meetings):
    """§3 [model doc]: with FHD video the ceiling is 25 and MaxCount applies; a meeting with
    FHD and MaxCount 3 takes 3 attendees."""
    mid = new_meeting(client, MeetingFeatures={"Video": {"MaxResolution": "FHD"},
                                               "Attendee": {"MaxCount": 3}})["MeetingId"]
    out = batch(client, mid, ["a1", "a2", "a3", "a4"])
    assert len(out["Attendees"]) == 3
    assert [(e["ExternalUserId"], e["ErrorCode"]) for e in out["Errors"]] == [("a4", "ResourceLimitExceeded")]


# == D3: per-item Errors vs whole-request failures ======================================

def test_batch_per_item_errors_keep_order_and_valid_items(client, chime_meetings):
    """D3 (§4.3: Errors[] codes/messages [unknown], family short codes [inferred]): invalid
    or reserved ExternalUserIds and items without a seat go to Errors with ErrorCode
    BadRequest / ResourceLimitExceeded and a message; the valid items succeed in request
    order; HTTP 200."""
    mid = new_meeting(client, MeetingFeatures={"Attendee": {"MaxCount": 3}})["MeetingId"]
    resp = client.batch_create_attendee(MeetingId=mid, Attendees=[
        {"ExternalUserId": "zed"},
        {"ExternalUserId": "aws:bot"},
        {"ExternalUserId": "amy"},
        {"ExternalUserId": "bad<id>"},
        {"ExternalUserId": "kim"},
        {"ExternalUserId": "lou"},
        {"ExternalUserId": "AWS:Upper"},
        {"ExternalUserId": "max"},
    ])
    assert_valid_output("BatchCreateAttendee", resp)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert [a["ExternalUserId"] for a in resp["Attendees"]] == ["zed", "amy", "kim"]
    assert [(e["ExternalUserId"], e["ErrorCode"]) for e in resp["Errors"]] == [
        ("aws:bot", "BadRequest"), ("bad<id>", "BadRequest"), ("lou", "ResourceLimitExceeded"),
        ("AWS:Upper", "BadRequest"), ("max", "ResourceLimitExceeded")]
    assert all(isinstance(e["ErrorMessage"], str) and e["ErrorMessage"] for e in resp["Errors"])
    listed = client.list_attendees(MeetingId=mid)["Attendees"]
    assert [a["ExternalUserId"] for a in listed] == ["zed", "amy", "kim"]


def test_create_meeting_with_attendees_per_item_errors(client, chime_meetings):
    """D3: the same per-item rules in CreateMeetingWithAttendees: the meeting is created,
    valid attendees in request order, Errors for the rest, HTTP 200."""
    resp = client.create_meeting_with_attendees(
        ClientRequestToken="tok-1", MediaRegion="us-east-1", ExternalMeetingId="m1",
        MeetingFeatures={"Attendee": {"MaxCount": 2}},
        Attendees=[{"ExternalUserId": "aws:recorder"}, {"ExternalUserId": "b-user"},
                   {"ExternalUserId": "a-user"}, {"ExternalUserId": "c-user"}])
    assert_valid_output("CreateMeetingWithAttendees", resp)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert [a["ExternalUserId"] for a in resp["Attendees"]] == ["b-user", "a-user"]
    assert [(e["ExternalUserId"], e["ErrorCode"]) for e in resp["Errors"]] == [
        ("aws:recorder", "BadRequest"), ("c-user", "ResourceLimitExceeded")]
    assert seats(chime_meetings, resp["Meeting"]["MeetingId"]) == 2


def test_batch_over_100_items_fails_whole(client, chime_meetings, meeting):
    """D3/D10, §3 [model] (CreateAttendeeRequestItemList 1-100), §7 [local] (botocore sends
    101 unchecked): 101 items -> BadRequestException 400 and nothing created, although
    100 of them would fit."""
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.batch_create_attendee(MeetingId=meeting["MeetingId"],
                                     Attendees=[{"ExternalUserId": f"user-{i}"} for i in range(101)])
    assert "attendees" in expect_error(ei, "BadRequestException")
    out = batch(client, meeting["MeetingId"], [f"user-{i}" for i in range(100)])
    assert len(out["Attendees"]) == 100


def test_create_meeting_with_over_20_attendees_fails_whole(client, chime_meetings):
    """D3/D10, §3 [model] (1-20 items; legacy said 10): 21 attendees -> BadRequestException
    400, no meeting and no attendee created, token not consumed."""
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.create_meeting_with_attendees(ClientRequestToken="tok-1", MediaRegion="us-east-1",
                                             ExternalMeetingId="m1",
                                             Attendees=[{"ExternalUserId": f"user-{i}"} for i in range(21)])
    assert "attendees" in expect_error(ei, "BadRequestException")
    assert chime_meetings.meetings() == []
    resp = client.create_meeting_with_attendees(ClientRequestToken="tok-1", MediaRegion="us-east-1",
                                                ExternalMeetingId="m1",
                                                Attendees=[{"ExternalUserId": f"user-{i}"} for i in range(20)])
    assert len(resp["Attendees"]) == 20 and resp["Errors"] == []


def test_batch_on_unknown_meeting_fails_whole(client, chime_meetings, meeting):
    """D3, §4.3 [obs]: unknown meeting -> NotFoundException 404 for the whole request."""
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.batch_create_attendee(MeetingId=str(uuid.uuid4()), Attendees=[{"ExternalUserId": "user-1"}])
    expect_error(ei, "NotFoundException")


def test_batch_too_long_external_user_id_fails_whole(client, chime_meetings, meeting):
    """D4 (max lengths are framework-level constraints of the model, like the legacy
    'Value at 'attendees' failed to satisfy constraint' example in §5.1 [obs]): a 65-char
    ExternalUserId breaks the request shape itself, so the whole batch is a 400 and
    nothing is created. (chime_mock's reading: D3's per-item 'invalid ExternalUserId'
    covers the documented pattern and 'aws:' prefix, which are not in the model.)"""
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.batch_create_attendee(MeetingId=meeting["MeetingId"], Attendees=[
            {"ExternalUserId": "fine-user"}, {"ExternalUserId": "u" * 65}])
    assert "externalUserId" in expect_error(ei, "BadRequestException")


def test_create_attendee_unknown_meeting(client, chime_meetings, meeting):
    """§4.3 [obs]: CreateAttendee on an unknown or deleted meeting -> NotFoundException
    'Meeting <id> not found'."""
    mid = str(uuid.uuid4())
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.create_attendee(MeetingId=mid, ExternalUserId="user-1")
    assert expect_error(ei, "NotFoundException") == f"Meeting <{mid}> not found"


# == Get / Delete ==========================================================================

def test_get_and_delete_deleted_attendee_not_found(client, chime_meetings, meeting):
    """§4.4 [inferred]/[model]: after DeleteAttendee (204), GetAttendee, DeleteAttendee and
    UpdateAttendeeCapabilities on it -> NotFoundException 404; the others stay."""
    mid = meeting["MeetingId"]
    gone, stays = add(client, mid, "gone"), add(client, mid, "stays")
    resp = client.delete_attendee(MeetingId=mid, AttendeeId=gone["AttendeeId"])
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    for call in (lambda: client.get_attendee(MeetingId=mid, AttendeeId=gone["AttendeeId"]),
                 lambda: client.delete_attendee(MeetingId=mid, AttendeeId=gone["AttendeeId"]),
                 lambda: client.update_attendee_capabilities(MeetingId=mid, AttendeeId=gone["AttendeeId"],
                                                             Capabilities=ALL_SR)):
        with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
            call()
        expect_error(ei, "NotFoundException")
    assert [a.attendee_id for a in chime_meetings.attendees(mid)] == [stays["AttendeeId"]]


def test_attendee_of_another_meeting_not_found(client, chime_meetings, meeting):
    """§4.4 [inferred]: an AttendeeId is only known inside its meeting."""
    other = new_meeting(client, token="tok-other")["MeetingId"]
    a = add(client, other, "user-1")
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.get_attendee(MeetingId=meeting["MeetingId"], AttendeeId=a["AttendeeId"])
    expect_error(ei, "NotFoundException")


@pytest.mark.parametrize("operation", ["get_attendee", "delete_attendee", "update_attendee_capabilities"])
def test_malformed_attendee_id_is_bad_request(client, chime_meetings, meeting, operation):
    """D4: an AttendeeId that breaks the GuidString pattern -> BadRequestException 400
    naming attendeeId."""
    extra = {"Capabilities": ALL_SR} if operation == "update_attendee_capabilities" else {}
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        getattr(client, operation)(MeetingId=meeting["MeetingId"], AttendeeId="not-an-attendee", **extra)
    assert "attendeeId" in expect_error(ei, "BadRequestException")


@pytest.mark.parametrize("space", ["\x1c", "\x1f", "\x85", "\xa0", "\u2028", "\u3000"])
def test_non_ascii_whitespace_is_not_in_the_external_id_pattern(client, chime_meetings, meeting, space):
    """Regression (found by the property tests): the documented pattern's ``\\s`` is
    Java's, i.e. ASCII whitespace only; other spaces are outside the pattern -> 400
    for CreateAttendee, and a per-item BadRequest in BatchCreateAttendee (D3)."""
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId=f"a{space}b")
    expect_error(ei, "BadRequestException")
    answer = client.batch_create_attendee(MeetingId=meeting["MeetingId"],
                                          Attendees=[{"ExternalUserId": f"a{space}b"}, {"ExternalUserId": "a b"}])
    assert [e["ErrorCode"] for e in answer["Errors"]] == ["BadRequest"]
    assert [a["ExternalUserId"] for a in answer["Attendees"]] == ["a b"]
