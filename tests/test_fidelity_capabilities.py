"""Fidelity tests: attendee capabilities (defaults, the rules of §4.5,
UpdateAttendeeCapabilities, BatchUpdateAttendeeCapabilitiesExcept / D13),
called through real boto3 clients.

``Dn`` = decision n of docs/behaviour.md (anchor ``#dn``); ``§x.y`` = an
evidence section, located by the table at the end of docs/behaviour.md. The rules quoted come from the botocore model's docs on
AttendeeCapabilities, VideoFeatures, ContentFeatures and the two update
operations [model].
"""
from __future__ import annotations

import itertools

import pytest
from botocore.exceptions import ClientError

from tests.helpers import (
    ALL_SR, assert_valid_output, expect_error, unchanged,
)


VALUES = ["SendReceive", "Send", "Receive", "None"]
RECEIVING = ("SendReceive", "Receive")
UNKNOWN_ATTENDEE = "0b1c1beb-5c8c-c05e-5d24-934bfc1d762a"


def caps(audio="SendReceive", video="SendReceive", content="SendReceive"):
    return {"Audio": audio, "Video": video, "Content": content}


def new_meeting(client, token="tok-1", video=None, content=None):
    features = {}
    if video:
        features["Video"] = {"MaxResolution": video}
    if content:
        features["Content"] = {"MaxResolution": content}
    if video == "FHD" or content == "UHD":
        features["Attendee"] = {"MaxCount": 25}
    kw = {"MeetingFeatures": features} if features else {}
    return client.create_meeting(ClientRequestToken=token, MediaRegion="us-east-1",
                                 ExternalMeetingId="caps-tests", **kw)["Meeting"]["MeetingId"]


def content_rule_ok(video: str, content: str) -> bool:
    """§4.5: Content SendReceive/Receive needs Video SendReceive/Receive."""
    return not (content in RECEIVING and video not in RECEIVING)


def current_caps(client, mid, aid):
    return client.get_attendee(MeetingId=mid, AttendeeId=aid)["Attendee"]["Capabilities"]


# == defaults =======================================================================

def test_defaults_all_send_receive(client, chime_meetings):
    """§2.6 [obs] (every sample) + [model] CreateAttendee doc: without Capabilities every
    attendee gets SendReceive for Audio, Video and Content, in CreateAttendee,
    BatchCreateAttendee and CreateMeetingWithAttendees."""
    resp = client.create_meeting_with_attendees(
        ClientRequestToken="tok-1", MediaRegion="us-east-1", ExternalMeetingId="m1",
        Attendees=[{"ExternalUserId": "a-1"}])
    assert resp["Attendees"][0]["Capabilities"] == ALL_SR
    mid = resp["Meeting"]["MeetingId"]
    assert client.create_attendee(MeetingId=mid, ExternalUserId="a-2")["Attendee"]["Capabilities"] == ALL_SR
    out = client.batch_create_attendee(MeetingId=mid, Attendees=[{"ExternalUserId": "a-3"}])
    assert out["Attendees"][0]["Capabilities"] == ALL_SR
    assert all(a["Capabilities"] == ALL_SR for a in client.list_attendees(MeetingId=mid)["Attendees"])


@pytest.mark.parametrize("video,content,expected", [
    ("None", None, caps(video="Receive", content="SendReceive")),
    ("None", "FHD", caps(video="Receive", content="SendReceive")),
    ("None", "UHD", caps(video="Receive", content="SendReceive")),
    ("HD", "FHD", ALL_SR),
    ("FHD", "UHD", ALL_SR),
    (None, "None", caps(content="None")),
    ("None", "None", caps(video="None", content="None")),
])
def test_defaults_follow_meeting_resolutions(client, chime_meetings, video, content, expected):
    """§4.5 [model]: with Video.MaxResolution None and Content not None, omitted capabilities
    default to Video Receive + Content SendReceive. With Content None (and/or both None)
    the default is [unknown]; chime_mock's reading [inferred]: the capability whose
    resolution is None defaults to None, the others to SendReceive. Same defaults in
    CreateAttendee, BatchCreateAttendee and CreateMeetingWithAttendees."""
    mid = new_meeting(client, video=video, content=content)
    assert client.create_attendee(MeetingId=mid, ExternalUserId="a-1")["Attendee"]["Capabilities"] == expected
    out = client.batch_create_attendee(MeetingId=mid, Attendees=[{"ExternalUserId": "a-2"}])
    assert out["Attendees"][0]["Capabilities"] == expected and out["Errors"] == []
    features = {k: {"MaxResolution": v} for k, v in (("Video", video), ("Content", content)) if v}
    if video == "FHD" or content == "UHD":
        features["Attendee"] = {"MaxCount": 25}
    resp = client.create_meeting_with_attendees(
        ClientRequestToken="tok-2", MediaRegion="us-east-1", ExternalMeetingId="m2",
        MeetingFeatures=features, Attendees=[{"ExternalUserId": "a-3"}])
    assert resp["Attendees"][0]["Capabilities"] == expected


# == the content-needs-video rule ===================================================

@pytest.mark.parametrize("video,content", list(itertools.product(VALUES, VALUES)))
def test_content_needs_video_rule_on_create(client, chime_meetings, video, content):
    """§4.5 [model]: 'You can't set content capabilities to SendReceive or Receive unless
    you also set video capabilities to SendReceive or Receive' -> 400 BadRequest; 'you
    can set your video capability to receive and ... content to not receive'. All 16
    Video x Content combinations through CreateAttendee in a default meeting."""
    mid = new_meeting(client)
    wanted = caps(audio="Send", video=video, content=content)
    if content_rule_ok(video, content):
        resp = client.create_attendee(MeetingId=mid, ExternalUserId="user-1", Capabilities=wanted)
        assert_valid_output("CreateAttendee", resp)
        assert resp["Attendee"]["Capabilities"] == wanted
    else:
        with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
            client.create_attendee(MeetingId=mid, ExternalUserId="user-1", Capabilities=wanted)
        expect_error(ei, "BadRequestException")


@pytest.mark.parametrize("video,content", list(itertools.product(VALUES, VALUES)))
def test_content_needs_video_rule_on_update(client, chime_meetings, video, content):
    """§4.5 [model]: the same rule for UpdateAttendeeCapabilities; on success it returns
    200 with the updated Attendee (same AttendeeId, ExternalUserId, JoinToken), and the
    change is what GetAttendee/ListAttendees show; on failure nothing changes."""
    mid = new_meeting(client)
    before = client.create_attendee(MeetingId=mid, ExternalUserId="user-1")["Attendee"]
    wanted = caps(audio="None", video=video, content=content)
    if content_rule_ok(video, content):
        resp = client.update_attendee_capabilities(MeetingId=mid, AttendeeId=before["AttendeeId"],
                                                   Capabilities=wanted)
        assert_valid_output("UpdateAttendeeCapabilities", resp)
        assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert resp["Attendee"] == {**before, "Capabilities": wanted}
        assert current_caps(client, mid, before["AttendeeId"]) == wanted
        assert client.list_attendees(MeetingId=mid)["Attendees"][0]["Capabilities"] == wanted
    else:
        with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
            client.update_attendee_capabilities(MeetingId=mid, AttendeeId=before["AttendeeId"],
                                                Capabilities=wanted)
        expect_error(ei, "BadRequestException")
        assert current_caps(client, mid, before["AttendeeId"]) == ALL_SR


@pytest.mark.parametrize("audio", VALUES)
def test_audio_capability_is_free(client, chime_meetings, audio):
    """§4.5 [model]: no rule restricts Audio; every value is accepted."""
    mid = new_meeting(client)
    a = client.create_attendee(MeetingId=mid, ExternalUserId="user-1", Capabilities=caps(audio=audio))["Attendee"]
    assert a["Capabilities"]["Audio"] == audio


def test_batch_item_with_bad_capabilities_goes_to_errors(client, chime_meetings):
    """D3 applied to §4.5 (per-item codes [unknown]; chime_mock decision): in
    BatchCreateAttendee / CreateMeetingWithAttendees an item breaking a capability rule
    is a per-item BadRequest in Errors; the other items succeed, HTTP 200."""
    mid = new_meeting(client)
    resp = client.batch_create_attendee(MeetingId=mid, Attendees=[
        {"ExternalUserId": "ok-1", "Capabilities": caps(video="Receive", content="None")},
        {"ExternalUserId": "bad-1", "Capabilities": caps(video="Send", content="Receive")},
        {"ExternalUserId": "ok-2"},
    ])
    assert_valid_output("BatchCreateAttendee", resp)
    assert [a["ExternalUserId"] for a in resp["Attendees"]] == ["ok-1", "ok-2"]
    assert resp["Attendees"][0]["Capabilities"] == caps(video="Receive", content="None")
    assert [(e["ExternalUserId"], e["ErrorCode"]) for e in resp["Errors"]] == [("bad-1", "BadRequest")]

    both = client.create_meeting_with_attendees(
        ClientRequestToken="tok-2", MediaRegion="us-east-1", ExternalMeetingId="m2",
        MeetingFeatures={"Video": {"MaxResolution": "None"}},
        Attendees=[{"ExternalUserId": "viewer"},
                   {"ExternalUserId": "camera", "Capabilities": caps(video="Send", content="None")}])
    assert [a["ExternalUserId"] for a in both["Attendees"]] == ["viewer"]
    assert [(e["ExternalUserId"], e["ErrorCode"]) for e in both["Errors"]] == [("camera", "BadRequest")]


# == MaxResolution None ==============================================================

def capability_calls(client, mid, attendee_id, wanted):
    """The three requests that set capabilities, each as a thunk."""
    return [
        lambda: client.create_attendee(MeetingId=mid, ExternalUserId="user-2", Capabilities=wanted),
        lambda: client.update_attendee_capabilities(MeetingId=mid, AttendeeId=attendee_id, Capabilities=wanted),
        lambda: client.batch_update_attendee_capabilities_except(
            MeetingId=mid, ExcludedAttendeeIds=[{"AttendeeId": UNKNOWN_ATTENDEE}], Capabilities=wanted),
    ]


@pytest.mark.parametrize("kind", ["Video", "Content"])
@pytest.mark.parametrize("value", VALUES)
def test_resolution_none_meeting_rejects_enabling_that_capability(client, chime_meetings, kind, value):
    """§4.5 [model] docs: 'If you specify MeetingFeatures:<kind>:MaxResolution:None
    when you create a meeting, all API requests that include SendReceive, Send, or
    Receive for AttendeeCapabilities:<kind> will be rejected with ValidationError 400'
    (CreateAttendee, UpdateAttendeeCapabilities, BatchUpdateAttendeeCapabilitiesExcept);
    None is fine.  With Video None, Content is kept non-receiving (the content rule);
    with Content None, Video is SendReceive."""
    if kind == "Video":
        mid = new_meeting(client, video="None")
        wanted = caps(video=value, content="Send")
    else:
        mid = new_meeting(client, content="None")
        wanted = caps(video="SendReceive", content=value)
    a = client.create_attendee(MeetingId=mid, ExternalUserId="first-user")["Attendee"]
    for call in capability_calls(client, mid, a["AttendeeId"], wanted):
        if value == "None":
            call()
        else:
            with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
                call()
            expect_error(ei, "BadRequestException")
    if value == "None":
        assert current_caps(client, mid, a["AttendeeId"]) == wanted


# == BatchUpdateAttendeeCapabilitiesExcept (D13) ======================================

def test_batch_update_except_applies_to_all_but_excluded(client, chime_meetings):
    """D13, §4.5 [model]: applies the capabilities to every attendee except the listed IDs;
    an unknown (well-formed) ID in the list is ignored [unknown -> D13]; 200 with an
    empty body (§6)."""
    mid = new_meeting(client)
    host, *others = [client.create_attendee(MeetingId=mid, ExternalUserId=f"user-{i}")["Attendee"]
                     for i in range(4)]
    muted = caps(audio="Receive", video="Receive", content="Receive")
    resp = client.batch_update_attendee_capabilities_except(
        MeetingId=mid, Capabilities=muted,
        ExcludedAttendeeIds=[{"AttendeeId": host["AttendeeId"]}, {"AttendeeId": UNKNOWN_ATTENDEE}])
    assert_valid_output("BatchUpdateAttendeeCapabilitiesExcept", resp)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert current_caps(client, mid, host["AttendeeId"]) == ALL_SR
    for a in others:
        assert current_caps(client, mid, a["AttendeeId"]) == muted
    assert UNKNOWN_ATTENDEE not in [a.attendee_id for a in chime_meetings.attendees(mid)]
    # IDs, tokens and the attendee count are untouched
    listed = client.list_attendees(MeetingId=mid)["Attendees"]
    assert [(a["AttendeeId"], a["JoinToken"]) for a in listed] == [
        (a["AttendeeId"], a["JoinToken"]) for a in [host, *others]]


def test_batch_update_except_excluding_everyone_changes_nothing(client, chime_meetings):
    """D13: with every attendee excluded there is nobody to update; 200."""
    mid = new_meeting(client)
    people = [client.create_attendee(MeetingId=mid, ExternalUserId=f"user-{i}")["Attendee"] for i in range(3)]
    with unchanged(chime_meetings):
        client.batch_update_attendee_capabilities_except(
            MeetingId=mid, Capabilities=caps(audio="None", video="None", content="None"),
            ExcludedAttendeeIds=[{"AttendeeId": a["AttendeeId"]} for a in people])


@pytest.mark.parametrize("wanted", [
    caps(video="Send", content="SendReceive"),
    caps(video="None", content="Receive"),
])
def test_batch_update_except_violation_changes_nothing(client, chime_meetings, wanted):
    """D13: the capability rules are checked first; a violation is a 400 BadRequest and no
    attendee changes (all-or-nothing)."""
    mid = new_meeting(client)
    people = [client.create_attendee(MeetingId=mid, ExternalUserId=f"user-{i}")["Attendee"] for i in range(3)]
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.batch_update_attendee_capabilities_except(
            MeetingId=mid, Capabilities=wanted, ExcludedAttendeeIds=[{"AttendeeId": people[0]["AttendeeId"]}])
    expect_error(ei, "BadRequestException")
    assert all(current_caps(client, mid, a["AttendeeId"]) == ALL_SR for a in people)


def test_batch_update_except_bounds(client, chime_meetings):
    """§3 [model] (ExcludedAttendeeIds 1-250), D4/D10: 251 excluded IDs -> 400 BadRequest
    naming excludedAttendeeIds; a malformed excluded ID -> 400; nothing changes."""
    mid = new_meeting(client)
    client.create_attendee(MeetingId=mid, ExternalUserId="user-1")
    too_many = [{"AttendeeId": f"00000000-0000-0000-0000-{i:012x}"} for i in range(251)]
    for excluded in (too_many, [{"AttendeeId": "not-a-guid"}]):
        with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
            client.batch_update_attendee_capabilities_except(
                MeetingId=mid, Capabilities=caps(audio="None"), ExcludedAttendeeIds=excluded)
        assert "excludedAttendeeIds" in expect_error(ei, "BadRequestException")


def test_capability_enum_checked_server_side(client, chime_meetings):
    """§7 [local] (botocore does not check enums) + D4: an unknown capability value ->
    400 BadRequest naming the field, for create, update and batch update."""
    mid = new_meeting(client)
    a = client.create_attendee(MeetingId=mid, ExternalUserId="user-1")["Attendee"]
    bad = caps(audio="Loud")
    calls = [
        lambda: client.create_attendee(MeetingId=mid, ExternalUserId="user-2", Capabilities=bad),
        lambda: client.update_attendee_capabilities(MeetingId=mid, AttendeeId=a["AttendeeId"], Capabilities=bad),
        lambda: client.batch_update_attendee_capabilities_except(
            MeetingId=mid, ExcludedAttendeeIds=[{"AttendeeId": UNKNOWN_ATTENDEE}], Capabilities=bad),
    ]
    for call in calls:
        with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
            call()
        message = expect_error(ei, "BadRequestException")
        assert "audio" in message and "enum" in message


def test_update_unknown_meeting_or_attendee_not_found(client, chime_meetings):
    """§4.4 [inferred]: UpdateAttendeeCapabilities on an unknown attendee or meeting, and
    BatchUpdateAttendeeCapabilitiesExcept on an unknown meeting -> NotFoundException."""
    mid = new_meeting(client)
    a = client.create_attendee(MeetingId=mid, ExternalUserId="user-1")["Attendee"]
    calls = [
        lambda: client.update_attendee_capabilities(MeetingId=mid, AttendeeId=UNKNOWN_ATTENDEE, Capabilities=ALL_SR),
        lambda: client.update_attendee_capabilities(MeetingId="fdee05b8-e3cd-41e4-a030-7b85a21c7979",
                                                    AttendeeId=a["AttendeeId"], Capabilities=ALL_SR),
        lambda: client.batch_update_attendee_capabilities_except(
            MeetingId="fdee05b8-e3cd-41e4-a030-7b85a21c7979",
            ExcludedAttendeeIds=[{"AttendeeId": a["AttendeeId"]}], Capabilities=ALL_SR),
    ]
    for call in calls:
        with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
            call()
        expect_error(ei, "NotFoundException")
