"""Hardening against hostile input: every request, however odd, gets a modeled
4xx in AWS's envelope (or a success), never an internal error, and a rejected
request changes nothing.

Covers a replayed CreateMeetingWithAttendees (D1 revised), lone surrogates,
deep nesting, Java-strict querystring numbers, unknown nested members, and a
model-driven property test over every string member of every operation,
through boto3 (client-side checks off) and through raw ``requests``.
"""
from __future__ import annotations

import json
from urllib.parse import quote

import boto3
import pytest
import requests
from botocore import xform_name
from botocore.exceptions import ClientError
from botocore.model import Shape, ShapeResolver
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chime_mock import mock_chime_meetings
from chime_mock.protocol.restjson import _scalar_from_text
from chime_mock.protocol.validation import ValidatorCompiler
from tests.helpers import (
    ALL_SR, MODEL, RAW, assert_error_envelope, assert_valid_output, expect_error, snapshot, unchanged,
)

BASE = "https://meetings-chime.us-east-1.amazonaws.com"
SURROGATE = "\ud800"


@pytest.fixture
def raw(chime_meetings):
    """A boto3 client that sends what botocore's own checks would refuse."""
    return boto3.client("chime-sdk-meetings", region_name="us-east-1", config=RAW)


def new_meeting(client, token="hardening-token", **kw):
    return client.create_meeting(ClientRequestToken=token, MediaRegion="us-east-1",
                                 ExternalMeetingId="hardening", **kw)["Meeting"]


def raw_error(answer: requests.Response, shape: str = "BadRequestException", status: int = 400) -> str:
    """The D5 envelope as a raw HTTP caller sees it; returns the message."""
    assert answer.status_code == status, answer.text[:300]
    assert answer.headers["x-amzn-ErrorType"] == shape
    body = answer.json()
    assert body["Code"] == shape[: -len("Exception")] and body["Message"]
    assert body["RequestId"] == answer.headers["x-amzn-RequestId"]
    return body["Message"]


# == item 8: a replayed CreateMeetingWithAttendees answers for every attendee (D1) ======

def test_replay_answers_for_every_attendee_like_batch_create(raw, chime_meetings):
    """D1 (revised) + D2/D3: the replay returns the existing meeting; a known
    ExternalUserId comes back unchanged, a new one joins while seats remain, an
    invalid / reserved ID, bad capabilities and the seat limit go to Errors.
    Every requested attendee ends in Attendees or Errors, in request order."""
    first = raw.create_meeting_with_attendees(
        ClientRequestToken="dialer-token", MediaRegion="us-east-1", ExternalMeetingId="dialer",
        MeetingFeatures={"Attendee": {"MaxCount": 3}, "Video": {"MaxResolution": "None"}},
        Attendees=[{"ExternalUserId": "caller-1"}])
    meeting_id = first["Meeting"]["MeetingId"]
    bad_caps = {"Audio": "SendReceive", "Video": "SendReceive", "Content": "None"}  # video off in this meeting
    replay = raw.create_meeting_with_attendees(
        ClientRequestToken="dialer-token", MediaRegion="eu-west-2", ExternalMeetingId="ignored",
        Attendees=[
            {"ExternalUserId": "caller-1"},            # D2: already there
            {"ExternalUserId": "caller-2"},            # new: gets a seat
            {"ExternalUserId": "bad*user"},            # doc pattern: BadRequest
            {"ExternalUserId": "AWS:reserved"},        # reserved prefix: BadRequest
            {"ExternalUserId": "caller-3", "Capabilities": bad_caps},   # capability rule: BadRequest
            {"ExternalUserId": "caller-4"},            # takes the last seat
            {"ExternalUserId": "caller-5"},            # no seat left: ResourceLimitExceeded
        ])
    assert_valid_output("CreateMeetingWithAttendees", replay)
    assert replay["Meeting"] == first["Meeting"]
    got = [a["ExternalUserId"] for a in replay["Attendees"]]
    assert got == ["caller-1", "caller-2", "caller-4"]
    assert replay["Attendees"][0] == first["Attendees"][0]
    errors = {e["ExternalUserId"]: e["ErrorCode"] for e in replay["Errors"]}
    assert errors == {"bad*user": "BadRequest", "AWS:reserved": "BadRequest", "caller-3": "BadRequest",
                      "caller-5": "ResourceLimitExceeded"}
    assert all(e["ErrorMessage"] for e in replay["Errors"])
    stored = [a.to_wire() for a in chime_meetings.attendees(meeting_id)]
    assert stored == replay["Attendees"]
    # What a dialer reads: the new caller's JoinToken works with GetAttendee.
    caller_2 = replay["Attendees"][1]
    assert raw.get_attendee(MeetingId=meeting_id, AttendeeId=caller_2["AttendeeId"])["Attendee"] == caller_2
    assert len(chime_meetings.meetings()) == 1


def test_replay_matches_batch_create_attendee_item_for_item(raw, chime_meetings):
    """The replay's per-item answers are exactly those BatchCreateAttendee gives
    for the same items on an identical meeting."""
    items = [{"ExternalUserId": "a-1"}, {"ExternalUserId": "a-2", "Capabilities": ALL_SR},
             {"ExternalUserId": "a-1"}, {"ExternalUserId": "x!"}, {"ExternalUserId": "a-3"}]
    features = {"Attendee": {"MaxCount": 3}}
    replayed = raw.create_meeting_with_attendees(ClientRequestToken="tok-r", MediaRegion="us-east-1",
                                                 ExternalMeetingId="rr", MeetingFeatures=features,
                                                 Attendees=[{"ExternalUserId": "a-0"}])
    replay = raw.create_meeting_with_attendees(ClientRequestToken="tok-r", MediaRegion="us-east-1",
                                               ExternalMeetingId="rr", Attendees=items)
    other = raw.create_meeting_with_attendees(ClientRequestToken="tok-b", MediaRegion="us-east-1",
                                              ExternalMeetingId="bb", MeetingFeatures=features,
                                              Attendees=[{"ExternalUserId": "a-0"}])
    batch = raw.batch_create_attendee(MeetingId=other["Meeting"]["MeetingId"], Attendees=items)

    def shape(answer):
        return ([(a["ExternalUserId"], a["Capabilities"]) for a in answer["Attendees"]],
                [(e["ExternalUserId"], e["ErrorCode"]) for e in answer["Errors"]])
    assert shape(replay) == shape(batch)
    assert replay["Attendees"][0]["AttendeeId"] == replay["Attendees"][2]["AttendeeId"]   # D2 inside one request
    assert replayed["Meeting"]["MeetingId"] == replay["Meeting"]["MeetingId"]


def test_replay_breaking_a_whole_request_rule_fails_whole(raw, chime_meetings):
    """D3: 21 attendees (the limit is 20) fail the whole replay, 400, and nothing
    of it is applied (not even the valid first twenty)."""
    meeting = raw.create_meeting_with_attendees(ClientRequestToken="tok-w", MediaRegion="us-east-1",
                                                ExternalMeetingId="ww", Attendees=[{"ExternalUserId": "u-0"}])
    items = [{"ExternalUserId": f"u-{i}"} for i in range(21)]
    with unchanged(chime_meetings), pytest.raises(ClientError) as excinfo:
        raw.create_meeting_with_attendees(ClientRequestToken="tok-w", MediaRegion="us-east-1",
                                          ExternalMeetingId="ww", Attendees=items)
    assert "attendees" in expect_error(excinfo, "BadRequestException")
    # An item breaking the model (ExternalUserId over 64) fails the whole request too.
    with unchanged(chime_meetings), pytest.raises(ClientError) as excinfo:
        raw.create_meeting_with_attendees(ClientRequestToken="tok-w", MediaRegion="us-east-1",
                                          ExternalMeetingId="ww",
                                          Attendees=[{"ExternalUserId": "fine-1"}, {"ExternalUserId": "x" * 65}])
    assert "attendees.2.member.externalUserId" in expect_error(excinfo, "BadRequestException")
    assert [a.external_user_id for a in chime_meetings.attendees(meeting["Meeting"]["MeetingId"])] == ["u-0"]


# == item 9: lone surrogates are a 400 naming the field, wherever they are ==============

SURROGATE_CASES = [
    ("create_meeting", dict(Tags=[{"Key": "k", "Value": SURROGATE}]), "tags.1.member.value"),
    ("create_meeting", dict(Tags=[{"Key": "k" + SURROGATE, "Value": "v"}]), "tags.1.member.key"),
    ("create_meeting", dict(TenantIds=["tenant" + SURROGATE]), "tenantIds.1.member"),
    ("create_meeting", dict(PrimaryMeetingId=SURROGATE), "primaryMeetingId"),
    ("create_meeting", dict(MediaRegion="us-east-1" + SURROGATE), "mediaRegion"),
    ("create_meeting", dict(ExternalMeetingId="\udfff meeting"), "externalMeetingId"),
    ("create_meeting", dict(MeetingHostId="host\udc80"), "meetingHostId"),
    ("create_meeting", dict(MeetingFeatures={"Audio": {"EchoReduction": SURROGATE}}),
     "meetingFeatures.audio.echoReduction"),
    ("create_meeting", dict(NotificationsConfiguration={"SnsTopicArn": "arn:" + SURROGATE}),
     "notificationsConfiguration.snsTopicArn"),
    ("create_meeting", dict(ClientRequestToken="token" + SURROGATE), "clientRequestToken"),
]


@pytest.mark.parametrize("method,override,field", SURROGATE_CASES, ids=[c[2] for c in SURROGATE_CASES])
def test_lone_surrogate_in_create_meeting_is_a_bad_request(raw, chime_meetings, method, override, field):
    """A lone surrogate (sent by botocore as a ``\\ud800`` JSON escape) has no
    UTF-8 form: 400 BadRequest naming the field, AWS's validation wording, no
    echo of the value, nothing stored."""
    new_meeting(raw)
    params = {"ClientRequestToken": "tok-s", "MediaRegion": "us-east-1", "ExternalMeetingId": "ss", **override}
    with unchanged(chime_meetings), pytest.raises(ClientError) as excinfo:
        getattr(raw, method)(**params)
    message = expect_error(excinfo, "BadRequestException")
    assert f"Value at '{field}' failed to satisfy constraint: Member must not contain unpaired surrogate" in message
    assert message.startswith("1 validation error detected: ")


def test_lone_surrogates_in_attendee_tag_and_transcription_members(raw, chime_meetings):
    meeting = new_meeting(raw, Tags=[{"Key": "team", "Value": "blue"}])
    mid, arn = meeting["MeetingId"], meeting["MeetingArn"]
    attendee = raw.create_attendee(MeetingId=mid, ExternalUserId="someone")["Attendee"]
    calls = [
        (lambda: raw.create_attendee(MeetingId=mid, ExternalUserId="user" + SURROGATE), "externalUserId"),
        (lambda: raw.batch_create_attendee(MeetingId=mid, Attendees=[{"ExternalUserId": SURROGATE}]),
         "attendees.1.member.externalUserId"),
        (lambda: raw.create_meeting_with_attendees(
            ClientRequestToken="tok-cmwa", MediaRegion="us-east-1", ExternalMeetingId="mm",
            Attendees=[{"ExternalUserId": "ok"}, {"ExternalUserId": "x" + SURROGATE}]),
         "attendees.2.member.externalUserId"),
        (lambda: raw.update_attendee_capabilities(MeetingId=mid, AttendeeId=attendee["AttendeeId"],
                                                  Capabilities={**ALL_SR, "Audio": SURROGATE}),
         "capabilities.audio"),
        (lambda: raw.batch_update_attendee_capabilities_except(
            MeetingId=mid, ExcludedAttendeeIds=[{"AttendeeId": SURROGATE}], Capabilities=ALL_SR),
         "excludedAttendeeIds.1.member.attendeeId"),
        (lambda: raw.tag_resource(ResourceARN=arn, Tags=[{"Key": "k", "Value": "v" + SURROGATE}]),
         "tags.1.member.value"),
        (lambda: raw.untag_resource(ResourceARN=arn, TagKeys=["team", SURROGATE]), "tagKeys.2.member"),
        (lambda: raw.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration={
            "EngineTranscribeSettings": {"LanguageCode": "en-US", "VocabularyName": "v" + SURROGATE}}),
         "transcriptionConfiguration.engineTranscribeSettings.vocabularyName"),
    ]
    for call, field in calls:
        with unchanged(chime_meetings), pytest.raises(ClientError) as excinfo:
            call()
        message = expect_error(excinfo, "BadRequestException")
        assert f"Value at '{field}' failed to satisfy constraint: Member must not contain unpaired surrogate" in message


def test_surrogates_through_raw_http_in_body_path_and_query(chime_meetings):
    meeting = requests.post(f"{BASE}/meetings", json={
        "ClientRequestToken": "raw-token", "MediaRegion": "us-east-1", "ExternalMeetingId": "raw"}).json()["Meeting"]
    mid = meeting["MeetingId"]
    with unchanged(chime_meetings):
        # escaped in the JSON text (what json.dumps/ensure_ascii sends)
        answer = requests.post(f"{BASE}/meetings/{mid}/attendees",
                               data=b'{"ExternalUserId": "ab\\udbff"}')
        assert "'externalUserId'" in raw_error(answer)
        # a valid pair in escapes is one character, and fine; a reversed pair is two lone ones
        answer = requests.post(f"{BASE}/meetings/{mid}/attendees", data=b'{"ExternalUserId": "ab\\ude00\\ud83d"}')
        assert "unpaired surrogate" in raw_error(answer)
        # surrogates encoded as (invalid) UTF-8 bytes in the body
        answer = requests.post(f"{BASE}/meetings/{mid}/attendees", data=b'{"ExternalUserId": "ab\xed\xa0\x80"}')
        assert "not valid UTF-8" in raw_error(answer)
        # percent-encoded surrogate bytes in a path label and in the query
        answer = requests.get(f"{BASE}/meetings/{mid}/attendees/%ED%A0%80")
        assert "'attendeeId'" in raw_error(answer)
        answer = requests.get(f"{BASE}/meetings/{mid}/attendees?next-token=%ED%A0%80")
        raw_error(answer)
    # A valid pair in escapes is one character (U+1F600): the pattern, not the surrogate rule, refuses it.
    paired = requests.post(f"{BASE}/tags?operation=tag-resource", data=b'{"ResourceARN": "%s", '
                           b'"Tags": [{"Key": "mood", "Value": "\\ud83d\\ude00"}]}' % meeting["MeetingArn"].encode())
    message = raw_error(paired)
    assert "Value '\U0001F600' at 'tags.1.member.value'" in message and "surrogate" not in message



@pytest.mark.parametrize("body,field", [
    (b'{"Attendees": [{"ExternalUserId": "ok-1"}, "\\ud800"]}', "attendees.2.member"),
    (b'{"Attendees": [{"ExternalUserId": "ok-1", "Capabilities": "x\\udc00"}]}', "attendees.1.member.capabilities"),
])
def test_a_message_quoting_a_lone_surrogate_is_still_a_400(chime_meetings, body, field):
    """A value of the wrong type is quoted in the message, a lone surrogate in
    it too: the answer writes it as JSON's escape (UTF-8 cannot hold it), not a 500."""
    meeting = requests.post(f"{BASE}/meetings", json={
        "ClientRequestToken": "quote-token", "MediaRegion": "us-east-1", "ExternalMeetingId": "qq"}).json()["Meeting"]
    with unchanged(chime_meetings):
        answer = requests.post(f"{BASE}/meetings/{meeting['MeetingId']}/attendees?operation=batch-create", data=body)
    message = raw_error(answer)
    assert f"at '{field}'" in message and ("\ud800" in message or "\udc00" in message)
    assert b"\\ud800" in answer.content or b"\\udc00" in answer.content


# == item 10: deep nesting is a 400, and nothing recurses without bound =================

DEEP = 100_000


@pytest.mark.parametrize("body", [
    b"[" * DEEP + b"]" * DEEP,
    b"{" + b'"a":{' * DEEP + b"}" * (DEEP + 1),
    b'{"ClientRequestToken":"deep-token","MediaRegion":"us-east-1","ExternalMeetingId":"deep","Tags":'
    + b"[" * DEEP + b"]" * DEEP + b"}",
    b'{"ClientRequestToken":"deep-token","MediaRegion":"us-east-1","ExternalMeetingId":"deep",'
    b'"MeetingFeatures":{"Audio":' + b'{"EchoReduction":' * DEEP + b'"AVAILABLE"' + b"}" * DEEP + b"}}",
    b'{"ClientRequestToken":"deep-token","MediaRegion":"us-east-1","ExternalMeetingId":"deep","Unknown":'
    + b"[" * DEEP + b"]" * DEEP + b"}",
], ids=["array", "object", "in-Tags", "in-MeetingFeatures", "in-unknown-member"])
def test_deeply_nested_json_is_a_bad_request(chime_meetings, body):
    with unchanged(chime_meetings):
        answer = requests.post(f"{BASE}/meetings", data=body)
        assert "nested too deeply" in raw_error(answer)


def _nested(depth: int, leaf):
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def test_moderately_nested_members_through_boto3_are_bad_requests(raw, chime_meetings):
    """Nesting botocore can still serialize (a few hundred levels) reaches the
    validator, which stops at the first level that does not fit the shape."""
    meeting = new_meeting(raw)
    nest = _nested(300, "x")
    calls = [
        lambda: raw.create_meeting(ClientRequestToken="t-n", MediaRegion="us-east-1", ExternalMeetingId="nn",
                                   Tags=[{"Key": "k", "Value": nest}]),
        lambda: raw.create_meeting(ClientRequestToken="t-n", MediaRegion="us-east-1", ExternalMeetingId=nest),
        lambda: raw.create_meeting(ClientRequestToken="t-n", MediaRegion="us-east-1", ExternalMeetingId="nn",
                                   TenantIds=nest),
        lambda: raw.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId={"a": nest}),
        lambda: raw.get_meeting(MeetingId=nest),
    ]
    for call in calls:
        with unchanged(chime_meetings), pytest.raises(ClientError) as excinfo:
            call()
        expect_error(excinfo, "BadRequestException")


def test_validator_and_converters_stop_at_the_shape_depth():
    """Python values nested far deeper than the recursion limit (as ``add_meeting``
    or a raw caller could pass) are walked no deeper than the shape."""
    from chime_mock.activation.handle import protocol
    deep = _nested(DEEP, "x")
    op = protocol().operations["CreateMeeting"]
    params = {"ClientRequestToken": "tok-deep", "MediaRegion": "us-east-1", "ExternalMeetingId": "deep",
              "Tags": deep, "TenantIds": deep, "MeetingFeatures": {"Audio": deep, "Video": {"MaxResolution": deep}}}
    converted = op.input_converter(params)
    errors: list = []
    op.validate(converted, "", errors)
    assert len(errors) == 4 and all("Member must be" in e for e in errors), errors
    deep_map = {}
    node = deep_map
    for _ in range(DEEP):
        node["k"] = {}
        node = node["k"]
    map_shape = ShapeResolver({"M": {"type": "map", "key": {"shape": "S"}, "value": {"shape": "S"}},
                               "S": {"type": "string"}}).get_shape_by_name("M")
    errors = []
    ValidatorCompiler().compile(map_shape)({"k": deep_map, SURROGATE: "v"}, "m", errors)
    assert len(errors) == 2 and "'m.k'" in errors[0] and "'m.key'" in errors[1] and SURROGATE not in errors[1]


# == item 16: querystring numbers are read as Java reads them ===========================

@pytest.mark.parametrize("text", ["5_0", "５０", "٥", " 50", "50 ", "+-5", "--5", "5.0", "0x10", "1e1", "",
                                  "2147483648", "99999999999999999999999", "5\u00a0", "５"])
def test_max_results_accepts_only_ascii_digits_with_a_sign(chime_meetings, text):
    meeting = requests.post(f"{BASE}/meetings", json={
        "ClientRequestToken": "q-token", "MediaRegion": "us-east-1", "ExternalMeetingId": "qq"}).json()["Meeting"]
    answer = requests.get(f"{BASE}/meetings/{meeting['MeetingId']}/attendees", params={"max-results": text})
    message = raw_error(answer)
    assert "'maxResults' failed to satisfy constraint: Member must be an integer" in message


@pytest.mark.parametrize("text,size", [("+3", 3), ("003", 3), ("+0002", 2), ("1" + "0" * 0, 1)])
def test_max_results_java_forms_that_parse(chime_meetings, text, size):
    meeting = requests.post(f"{BASE}/meetings", json={
        "ClientRequestToken": "q-token", "MediaRegion": "us-east-1", "ExternalMeetingId": "qq"}).json()["Meeting"]
    for i in range(5):
        chime_meetings.add_attendee(meeting["MeetingId"], f"user-{i}")
    answer = requests.get(f"{BASE}/meetings/{meeting['MeetingId']}/attendees", params={"max-results": text})
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["Attendees"]) == size


def test_max_results_out_of_range_keeps_the_range_message(chime_meetings):
    meeting = requests.post(f"{BASE}/meetings", json={
        "ClientRequestToken": "q-token", "MediaRegion": "us-east-1", "ExternalMeetingId": "qq"}).json()["Meeting"]
    for text, constraint in (("-0", "greater than or equal to 1"), ("101", "less than or equal to 100"),
                             ("2147483647", "less than or equal to 100")):
        answer = requests.get(f"{BASE}/meetings/{meeting['MeetingId']}/attendees", params={"max-results": text})
        assert constraint in raw_error(answer)


def _shape(type_name: str) -> Shape:
    return Shape("S", {"type": type_name})


@pytest.mark.parametrize("type_name,text,value", [
    ("integer", "-2147483648", -2 ** 31), ("long", "9223372036854775807", 2 ** 63 - 1), ("long", "+0", 0),
    ("double", "1.5", 1.5), ("double", "-1e3", -1000.0), ("double", " 2.5\t", 2.5), ("double", ".5", 0.5),
    ("double", "5.", 5.0), ("float", "1.5f", 1.5), ("double", "2D", 2.0), ("double", "0x1p3", 8.0),
    ("double", "-0X.8P1d", -1.0), ("double", "Infinity", float("inf")), ("double", "-Infinity", float("-inf")),
    ("boolean", "true", True), ("boolean", "FALSE", False),
])
def test_scalar_text_java_accepts(type_name, text, value):
    assert _scalar_from_text(_shape(type_name), text, "field") == value


@pytest.mark.parametrize("type_name,text", [
    ("integer", "2147483648"), ("long", "9223372036854775808"), ("integer", "1_0"), ("integer", "١"),
    ("integer", "\t5"), ("double", "1_0.5"), ("double", "１.５"), ("double", "inf"), ("double", "nan"),
    ("double", "infinity"), ("double", "\u00a01.5"), ("double", "1.5 x"), ("double", "e5"), ("double", "0x1.8"),
    ("double", ""), ("boolean", "yes"), ("boolean", "ｔｒｕｅ"), ("boolean", "1"), ("timestamp", "２０２０-01-01"),
])
def test_scalar_text_java_refuses(type_name, text):
    from chime_mock.ground.errors import BadRequest
    with pytest.raises(BadRequest) as excinfo:
        _scalar_from_text(_shape(type_name), text, "field")
    assert "at 'field' failed to satisfy constraint: Member must be" in excinfo.value.message


def test_scalar_text_nan_parses_like_java():
    value = _scalar_from_text(_shape("double"), "NaN", "field")
    assert value != value


# == found while hunting: unknown nested members, JSON numbers, encodings ==============

def test_unknown_nested_members_are_dropped_not_stored_or_echoed(chime_meetings):
    """The service's deserializer ignores members its shape does not declare:
    they are neither stored nor echoed (a lone surrogate in an unknown key used
    to crash the response)."""
    created = requests.post(f"{BASE}/meetings", data=json.dumps({
        "ClientRequestToken": "junk-token", "MediaRegion": "us-east-1", "ExternalMeetingId": "junk",
        "MeetingFeatures": {"Audio": {"EchoReduction": "AVAILABLE", "Junk": 1}, "Junk" + SURROGATE: [1]},
        "Tags": [{"Key": "k", "Value": "v", "Extra": SURROGATE}],
        "Unknown" + SURROGATE: {"x": SURROGATE},
    }).encode())
    assert created.status_code == 200, created.text
    meeting = created.json()["Meeting"]
    assert meeting["MeetingFeatures"] == {"Audio": {"EchoReduction": "AVAILABLE"}}
    mid = meeting["MeetingId"]
    got = requests.get(f"{BASE}/meetings/{mid}")
    assert got.status_code == 200 and got.json()["Meeting"]["MeetingFeatures"] == {"Audio": {"EchoReduction": "AVAILABLE"}}
    assert chime_meetings.tags(mid) == {"k": "v"}
    batch = requests.post(f"{BASE}/meetings/{mid}/attendees?operation=batch-create", data=json.dumps({
        "Attendees": [{"ExternalUserId": "u-1", "Capabilities": {**ALL_SR, "X" + SURROGATE: "y"}, "Y": 1}],
    }).encode())
    assert batch.status_code == 200, batch.text
    assert batch.json()["Attendees"][0]["Capabilities"] == ALL_SR
    assert chime_meetings.attendees(mid)[0].capabilities == ALL_SR
    one = requests.post(f"{BASE}/meetings/{mid}/attendees", json={
        "ExternalUserId": "u-2", "Capabilities": {**ALL_SR, "Extra": "x"}})
    assert one.status_code == 200 and one.json()["Attendee"]["Capabilities"] == ALL_SR
    started = requests.post(f"{BASE}/meetings/{mid}/transcription?operation=start", json={
        "TranscriptionConfiguration": {"EngineTranscribeSettings": {"LanguageCode": "en-US", "Bogus": 1}, "Other": {}}})
    assert started.status_code == 200, started.text
    assert chime_meetings.transcription(mid) == {"EngineTranscribeSettings": {"LanguageCode": "en-US"}}


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_numeric_json_literals_are_not_json(chime_meetings, literal):
    with unchanged(chime_meetings):
        answer = requests.post(f"{BASE}/meetings", data=b'{"ClientRequestToken":"nan-token","MediaRegion":"us-east-1",'
                                                        b'"ExternalMeetingId":"nn","MeetingFeatures":{"Attendee":{"MaxCount":'
                                                        + literal + b"}}}")
        assert "not valid JSON" in raw_error(answer)


@pytest.mark.parametrize("body,expected", [
    (b'{"ClientRequestToken":"\xff"}', "not valid UTF-8"),
    ('{"ClientRequestToken":"a"}'.encode("utf-16"), "not valid UTF-8"),
    (b"\x1f\x8b\x08\x00", "not valid UTF-8"),
    (b"<CreateMeeting/>", "not valid JSON"),
    (b"[]", "must be a JSON object"),
    (b"null", "must be a JSON object"),
    (b'"text"', "must be a JSON object"),
    (b"1e999999", "must be a JSON object"),
    (b"   ", "not valid JSON"),
    (b'{"MeetingFeatures":{"Attendee":{"MaxCount":' + b"9" * 5000 + b"}}}", "not valid JSON"),
])
def test_bodies_that_are_not_a_json_object(chime_meetings, body, expected):
    with unchanged(chime_meetings):
        answer = requests.post(f"{BASE}/meetings", data=body, headers={"Content-Type": "application/x-whatever"})
        assert expected in raw_error(answer)


def test_utf8_byte_order_mark_is_skipped(chime_meetings):
    answer = requests.post(f"{BASE}/meetings", data=b"\xef\xbb\xbf" + json.dumps({
        "ClientRequestToken": "bom-token", "MediaRegion": "us-east-1", "ExternalMeetingId": "bom"}).encode())
    assert answer.status_code == 200, answer.text


def test_wrong_json_types_for_members(chime_meetings):
    meeting = requests.post(f"{BASE}/meetings", json={
        "ClientRequestToken": "types-token", "MediaRegion": "us-east-1", "ExternalMeetingId": "tt"}).json()["Meeting"]
    mid = meeting["MeetingId"]
    cases = [
        ("post", "/meetings", {"ClientRequestToken": 5, "MediaRegion": ["us-east-1"], "ExternalMeetingId": {"a": 1}},
         ["'clientRequestToken'", "'mediaRegion'", "'externalMeetingId'"]),
        ("post", "/meetings", {"ClientRequestToken": "tt", "MediaRegion": "us-east-1", "ExternalMeetingId": "tt",
                               "Tags": {"Key": "k"}, "TenantIds": "tenant", "MeetingFeatures": [],
                               "NotificationsConfiguration": True},
         ["'tags'", "'tenantIds'", "'meetingFeatures'", "'notificationsConfiguration'"]),
        ("post", "/meetings", {"ClientRequestToken": "tt", "MediaRegion": "us-east-1", "ExternalMeetingId": "tt",
                               "MeetingFeatures": {"Attendee": {"MaxCount": "5"}}, "Tags": [None, 1]},
         ["'meetingFeatures.attendee.maxCount'", "'tags.1.member'", "'tags.2.member'"]),
        ("post", "/meetings", {"ClientRequestToken": "tt", "MediaRegion": "us-east-1", "ExternalMeetingId": "tt",
                               "MeetingFeatures": {"Attendee": {"MaxCount": 10 ** 400}}},
         ["'meetingFeatures.attendee.maxCount'"]),
        ("post", f"/meetings/{mid}/attendees?operation=batch-create", {"Attendees": [{"ExternalUserId": 1.5}, "x", []]},
         ["'attendees.1.member.externalUserId'", "'attendees.2.member'", "'attendees.3.member'"]),
        ("put", f"/meetings/{mid}/attendees/capabilities?operation=batch-update-except",
         {"Capabilities": {"Audio": None, "Video": 1, "Content": False}, "ExcludedAttendeeIds": {}},
         ["'capabilities.audio'", "'capabilities.video'", "'capabilities.content'", "'excludedAttendeeIds'"]),
    ]
    for method, path, body, fields in cases:
        with unchanged(chime_meetings):
            answer = getattr(requests, method)(BASE + path, data=json.dumps(body))
            message = raw_error(answer)
            for field in fields:
                assert field in message, (field, message)


@pytest.mark.parametrize("path", [
    "/meetings/%ff%fe", "/meetings/%", "/meetings/%zz", "/meetings/%00", "/meetings/", "/meetings//attendees",
    "/meetings/" + "a" * 100_000, "/meetings/%2e%2e%2f%2e%2e", "/meetings/x/attendees/%ED%A0%80%ED%B0%80",
])
def test_odd_path_labels_are_bad_requests(chime_meetings, path):
    with unchanged(chime_meetings):
        raw_error(requests.get(BASE + path))


@pytest.mark.parametrize("query", [
    "max-results=2&max-results=x", "max-results=&next-token=", "next-token=%ff", "max-results=%EF%BC%95",
    "next-token=" + "A" * 5000, "max-results=1&max-results=2&next-token=a&next-token=b",
])
def test_odd_querystrings_never_crash(chime_meetings, query):
    meeting = requests.post(f"{BASE}/meetings", json={
        "ClientRequestToken": "qs-token", "MediaRegion": "us-east-1", "ExternalMeetingId": "qq"}).json()["Meeting"]
    with unchanged(chime_meetings):
        answer = requests.get(f"{BASE}/meetings/{meeting['MeetingId']}/attendees?{query}")
        assert answer.status_code in (200, 400), answer.text
        if answer.status_code == 400:
            raw_error(answer)


def test_wrong_types_through_boto3_without_client_checks(raw, chime_meetings):
    meeting = new_meeting(raw)
    calls = [
        lambda: raw.list_attendees(MeetingId=meeting["MeetingId"], MaxResults="ten"),
        lambda: raw.list_attendees(MeetingId=meeting["MeetingId"], MaxResults=1.5),
        lambda: raw.list_attendees(MeetingId=meeting["MeetingId"], MaxResults=10 ** 30),
        lambda: raw.list_attendees(MeetingId=meeting["MeetingId"], NextToken=12),
        lambda: raw.get_meeting(MeetingId=12345),
        lambda: raw.create_meeting(ClientRequestToken=123, MediaRegion=1.5, ExternalMeetingId=True),
        lambda: raw.create_meeting(ClientRequestToken="tok-x", MediaRegion="us-east-1", ExternalMeetingId="xx",
                                   MeetingFeatures={"Attendee": {"MaxCount": float("nan")}}),
        lambda: raw.create_meeting(ClientRequestToken="tok-x", MediaRegion="us-east-1", ExternalMeetingId="xx",
                                   MeetingFeatures={"Attendee": {"MaxCount": True}}),
        lambda: raw.tag_resource(ResourceARN=meeting["MeetingArn"], Tags=[{"Key": "k"}]),
        lambda: raw.untag_resource(ResourceARN=meeting["MeetingArn"], TagKeys=[None]),
    ]
    for call in calls:
        with unchanged(chime_meetings), pytest.raises(ClientError) as excinfo:
            call()
        expect_error(excinfo, "BadRequestException")


# == the property: any text, nesting or size in any string member of any operation =====
#
# Every string member of every operation's input shape (walked from the botocore
# model, so a new member or operation is covered without editing this file) gets
# arbitrary text (every Unicode category, lone surrogates often), very large text,
# or nesting where a string belongs, inside an otherwise ordinary request.  The
# request goes out twice: through boto3 with client-side checks off, and as a
# hand-built HTTP request through ``requests``.  Each answer is a success or a
# modeled 4xx in AWS's envelope (never a 5xx, never an internal error), and a
# rejected request leaves the state as it was.  The only thing allowed not to
# reach the mock is what botocore itself cannot encode (a lone surrogate in a
# path or querystring member fails in botocore's percent-encoder, before sending).

ERROR_STATUS = {s.name: s.metadata["error"]["httpStatusCode"] for s in MODEL.error_shapes}


def _string_paths(shape, prefix=()):
    if shape.type_name == "string":
        yield prefix
    elif shape.type_name == "structure":
        for name, member in shape.members.items():
            yield from _string_paths(member, prefix + (name,))
    elif shape.type_name == "list":
        yield from _string_paths(shape.member, prefix + (0,))
    elif shape.type_name == "map":
        yield from _string_paths(shape.key, prefix + ("<key>",))
        yield from _string_paths(shape.value, prefix + ("<value>",))


STRING_MEMBERS = [(op, path) for op in sorted(MODEL.operation_names)
                  for path in _string_paths(MODEL.operation_model(op).input_shape)]
# The walk reaches every operation (90 string members in botocore 1.43's model, 88 in 1.35.0's).
assert {op for op, _ in STRING_MEMBERS} == set(MODEL.operation_names), STRING_MEMBERS
assert len(STRING_MEMBERS) >= 80, len(STRING_MEMBERS)

_CATEGORIES = ["Cc", "Cf", "Cn", "Co", "Cs", "Ll", "Lm", "Lo", "Lt", "Lu", "Mc", "Me", "Mn", "Nd", "Nl", "No",
               "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "Sc", "Sk", "Sm", "So", "Zl", "Zp", "Zs"]
# Every category; surrogates (2,048 of 1.1 million code points) are drawn as often as the rest together.
ANY_CHAR = st.one_of(st.characters(categories=_CATEGORIES), st.characters(categories=["Cs"]))


class Deep:
    """Nesting where a string belongs: ``depth`` levels of ``[...]`` or ``{"a": ...}``."""

    def __init__(self, depth: int, brace: bool) -> None:
        self.depth, self.brace = depth, brace

    def json_text(self) -> str:
        if self.brace:
            return '{"a":' * self.depth + '"x"' + "}" * self.depth
        return "[" * self.depth + '"x"' + "]" * self.depth

    def python(self, cap: int = 200):
        value = "x"
        for _ in range(min(self.depth, cap)):   # botocore's json.dumps recurses: keep it serializable
            value = {"a": value} if self.brace else [value]
        return value

    def __repr__(self) -> str:
        return f"Deep({self.depth}, brace={self.brace})"


VALUES = st.one_of(
    st.text(ANY_CHAR, max_size=40),
    st.builds(lambda head, s, tail: head + s + tail, st.text(ANY_CHAR, max_size=8),
              st.characters(categories=["Cs"]), st.text(ANY_CHAR, max_size=8)),
    st.builds(lambda char, n: char * n, st.sampled_from(["a", "\u00e9", "\U0001F600", "\ud800", "\x00"]),
              st.sampled_from([257, 4097, 100_000])),
    st.builds(Deep, st.sampled_from([1, 2, 30, 200, 100_000]), st.booleans()),
)

_NAMED = {  # plain values for required members, so a request is otherwise ordinary
    "ClientRequestToken": "property-token", "MediaRegion": "us-east-1", "ExternalMeetingId": "property-meeting",
    "ExternalUserId": "property-user", "Key": "team", "Value": "green", "TagKeys": "team", "TenantIds": "tenant-a",
    "LanguageCode": "en-US",
}


def _fill(shape, name, world):
    if name in ("MeetingId", "PrimaryMeetingId"):
        return world["meeting"]
    if name == "AttendeeId":
        return world["attendee"]
    if name == "ResourceARN":
        return world["arn"]
    if name in _NAMED and shape.type_name == "string":
        return _NAMED[name]
    if shape.type_name == "structure":
        return {m: _fill(shape.members[m], m, world) for m in shape.required_members}
    if shape.type_name == "list":
        return [_fill(shape.member, name, world)]
    if shape.type_name == "string":
        return shape.enum[0] if shape.enum else "value-1"
    if shape.type_name in ("integer", "long"):
        return max(shape.metadata.get("min", 1), 1)
    if shape.type_name == "boolean":
        return False
    raise AssertionError(f"no default for {shape.type_name} {name}")


def _request(op: str, path, value, world):
    shape = MODEL.operation_model(op).input_shape
    params = _fill(shape, op, world)
    node, node_shape = params, shape
    for step in path[:-1]:
        if node_shape.type_name == "structure":
            member = node_shape.members[step]
            if step not in node:
                node[step] = _fill(member, step, world)
            node, node_shape = node[step], member
        else:                                   # list: the first item
            node, node_shape = node[0], node_shape.member
    node[path[-1]] = value
    return params


def _world(mock):
    meeting = mock.add_meeting(external_meeting_id="world", Tags=[{"Key": "team", "Value": "blue"}])
    attendee = mock.add_attendee(meeting.meeting_id, "world-user")
    return {"meeting": meeting.meeting_id, "attendee": attendee.attendee_id, "arn": meeting.meeting_arn}


def _pythonize(value):
    """The request as boto3 gets it (Deep becomes real nesting)."""
    if isinstance(value, Deep):
        return value.python()
    if isinstance(value, dict):
        return {k: _pythonize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_pythonize(v) for v in value]
    return value


_PLACEHOLDER = "\x00chime-mock-deep\x00"


def _text(value) -> str:
    return value.json_text() if isinstance(value, Deep) else value if isinstance(value, str) else json.dumps(value)


URL_TEXT_MAX = 8192   # longer URLs are refused by any HTTP front end (414) before a service sees them


def _http_request(op: str, params, value, utf8_bytes: bool):
    """(method, url, body) written by hand from the model, as a non-SDK caller would.
    Body members go as JSON (surrogates as ``\\ud800`` escapes or, with ``utf8_bytes``,
    as their invalid UTF-8 bytes); path and query text is cut to ``URL_TEXT_MAX``."""
    model = MODEL.operation_model(op)
    shape = model.input_shape
    uri, _, static_query = model.http["requestUri"].partition("?")
    query = [static_query] if static_query else []
    body = {}
    for name, member in shape.members.items():
        if name not in params:
            continue
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "uri":
            raw = _text(params[name])[:URL_TEXT_MAX].encode("utf-8", "surrogatepass")
            uri = uri.replace("{%s}" % wire, quote(raw, safe="")).replace("{%s+}" % wire, quote(raw, safe="/"))
        elif location == "querystring":
            items = params[name] if isinstance(params[name], list) else [params[name]]
            query += [f"{wire}={quote(_text(item)[:URL_TEXT_MAX].encode('utf-8', 'surrogatepass'), safe='')}"
                      for item in items]
        else:
            body[name] = params[name]
    data = None
    if body:
        deep = value if isinstance(value, Deep) else None

        def swap(v):
            if v is deep:
                return _PLACEHOLDER
            if isinstance(v, dict):
                return {k: swap(x) for k, x in v.items()}
            if isinstance(v, list):
                return [swap(x) for x in v]
            return v
        text = json.dumps(swap(body), ensure_ascii=not utf8_bytes)
        if deep is not None:
            text = text.replace(json.dumps(_PLACEHOLDER, ensure_ascii=not utf8_bytes), deep.json_text())
        data = text.encode("utf-8", "surrogatepass")
    url = BASE + uri + ("?" + "&".join(query) if query else "")
    return model.http["method"], url, data


def _location(op: str, path) -> str:
    member = MODEL.operation_model(op).input_shape.members[path[0]]
    return member.serialization.get("location") or "body"


def _has_surrogate(value) -> bool:
    return isinstance(value, str) and any("\ud800" <= c <= "\udfff" for c in value)


_RAW_CLIENT = []


def _client():
    if not _RAW_CLIENT:
        _RAW_CLIENT.append(boto3.client("chime-sdk-meetings", region_name="us-east-1", config=RAW))
    return _RAW_CLIENT[0]


@pytest.mark.parametrize("op,path", STRING_MEMBERS, ids=[f"{op}.{'.'.join(map(str, path))}" for op, path in STRING_MEMBERS])
@settings(derandomize=True, deadline=None, max_examples=6, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(value=VALUES, utf8_bytes=st.booleans())
@example(value="\ud800", utf8_bytes=False)
@example(value="ok\udfffok", utf8_bytes=True)
@example(value="x" * 100_000, utf8_bytes=False)
@example(value=Deep(100_000, brace=False), utf8_bytes=False)
def test_any_string_member_gets_a_modeled_answer(op, path, value, utf8_bytes):
    with mock_chime_meetings(seed=11) as mock:
        world = _world(mock)
        params = _request(op, path, value, world)

        # -- through boto3, client-side checks off ---------------------------------
        before, calls = snapshot(mock), len(mock.journal)
        try:
            answer = getattr(_client(), xform_name(op))(**_pythonize(params))
        except ClientError as error:
            shape = error.response["Error"]["Code"]
            assert shape in ERROR_STATUS and 400 <= ERROR_STATUS[shape] < 500, ascii(error.response)
            assert_error_envelope(error, shape, ERROR_STATUS[shape])
            assert snapshot(mock) == before, f"rejected {op} changed the state ({ascii(path)})"
        except UnicodeEncodeError:
            # botocore's own percent-encoder refuses a lone surrogate in the URL:
            # the request never left the client.
            assert _has_surrogate(value) and _location(op, path) in ("uri", "querystring"), ascii(value)
            assert len(mock.journal) == calls and snapshot(mock) == before
        else:
            assert answer["ResponseMetadata"]["HTTPStatusCode"] < 300

        # -- hand-built HTTP through requests ---------------------------------------
        method, url, body = _http_request(op, params, value, utf8_bytes)
        before = snapshot(mock)
        answer = requests.request(method, url, data=body)
        assert answer.status_code < 500, ascii(answer.text[:500])
        if answer.status_code >= 400:
            shape = answer.headers["x-amzn-ErrorType"]
            assert ERROR_STATUS.get(shape) == answer.status_code, ascii(answer.text[:500])
            envelope = answer.json()
            assert envelope["Message"] and envelope["RequestId"] == answer.headers["x-amzn-RequestId"]
            assert snapshot(mock) == before, f"rejected raw {op} changed the state ({ascii(path)})"
