"""Every operation of the installed model, end to end through boto3.

Each success must pass botocore's ParamValidator against the output shape
plus the model's enums, patterns and lengths; each status code is the
model's (200, or 204 where the model says so).
"""
from __future__ import annotations

import json

import pytest

from .helpers import MODEL, assert_error_envelope, assert_valid_output

CAPS = {"Audio": "SendReceive", "Video": "Receive", "Content": "None"}


@pytest.fixture
def world(client):
    meeting = client.create_meeting(ClientRequestToken="ops-token", MediaRegion="us-east-1",
                                    ExternalMeetingId="ops-meeting")["Meeting"]
    attendee = client.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId="first-user")["Attendee"]
    return meeting, attendee


def call_every_operation(client, meeting, attendee):
    mid, aid, arn = meeting["MeetingId"], attendee["AttendeeId"], meeting["MeetingArn"]
    transcribe = {"EngineTranscribeSettings": {"LanguageCode": "en-US"}}
    return [
        ("GetMeeting", client.get_meeting(MeetingId=mid)),
        ("CreateAttendee", client.create_attendee(MeetingId=mid, ExternalUserId="second-user", Capabilities=CAPS)),
        ("BatchCreateAttendee", client.batch_create_attendee(MeetingId=mid, Attendees=[
            {"ExternalUserId": "third-user"}, {"ExternalUserId": "aws:reserved"}])),
        ("GetAttendee", client.get_attendee(MeetingId=mid, AttendeeId=aid)),
        ("ListAttendees", client.list_attendees(MeetingId=mid, MaxResults=2)),
        ("UpdateAttendeeCapabilities", client.update_attendee_capabilities(MeetingId=mid, AttendeeId=aid, Capabilities=CAPS)),
        ("BatchUpdateAttendeeCapabilitiesExcept", client.batch_update_attendee_capabilities_except(
            MeetingId=mid, ExcludedAttendeeIds=[{"AttendeeId": aid}], Capabilities=CAPS)),
        ("StartMeetingTranscription", client.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration=transcribe)),
        ("StopMeetingTranscription", client.stop_meeting_transcription(MeetingId=mid)),
        ("TagResource", client.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "blue"}])),
        ("ListTagsForResource", client.list_tags_for_resource(ResourceARN=arn)),
        ("UntagResource", client.untag_resource(ResourceARN=arn, TagKeys=["team"])),
        ("CreateMeetingWithAttendees", client.create_meeting_with_attendees(
            ClientRequestToken="ops-token-2", MediaRegion="eu-west-2", ExternalMeetingId="second",
            PrimaryMeetingId=mid, Attendees=[{"ExternalUserId": "dial-in"}])),
        ("DeleteAttendee", client.delete_attendee(MeetingId=mid, AttendeeId=aid)),
        ("DeleteMeeting", client.delete_meeting(MeetingId=mid)),
    ]


def test_every_operation_answers_with_valid_output_and_model_status(client, world):
    meeting, attendee = world
    assert_valid_output("CreateMeeting", client.create_meeting(
        ClientRequestToken="ops-token", MediaRegion="us-east-1", ExternalMeetingId="ops-meeting"))
    responses = call_every_operation(client, meeting, attendee)
    covered = {name for name, _ in responses} | {"CreateMeeting"}
    assert covered == set(MODEL.operation_names)
    for name, response in responses:
        assert_valid_output(name, response)
        expected = MODEL.operation_model(name).http.get("responseCode", 200)
        assert response["ResponseMetadata"]["HTTPStatusCode"] == expected, name
        json.dumps(response, default=str)  # what a backend hands to a browser must serialize


def test_every_operation_with_a_meeting_id_answers_not_found_with_the_envelope(client):
    missing = "0f8e2c1a-5b7d-4e21-9c3f-6a1b2c3d2713"
    attendee = "192c2b76-a471-f07b-fa53-22e700aeb8bd"
    calls = {
        "GetMeeting": lambda: client.get_meeting(MeetingId=missing),
        "DeleteMeeting": lambda: client.delete_meeting(MeetingId=missing),
        "CreateAttendee": lambda: client.create_attendee(MeetingId=missing, ExternalUserId="someone"),
        "BatchCreateAttendee": lambda: client.batch_create_attendee(MeetingId=missing, Attendees=[{"ExternalUserId": "someone"}]),
        "GetAttendee": lambda: client.get_attendee(MeetingId=missing, AttendeeId=attendee),
        "DeleteAttendee": lambda: client.delete_attendee(MeetingId=missing, AttendeeId=attendee),
        "ListAttendees": lambda: client.list_attendees(MeetingId=missing),
        "UpdateAttendeeCapabilities": lambda: client.update_attendee_capabilities(MeetingId=missing, AttendeeId=attendee, Capabilities=CAPS),
        "BatchUpdateAttendeeCapabilitiesExcept": lambda: client.batch_update_attendee_capabilities_except(
            MeetingId=missing, ExcludedAttendeeIds=[{"AttendeeId": attendee}], Capabilities=CAPS),
        "StartMeetingTranscription": lambda: client.start_meeting_transcription(
            MeetingId=missing, TranscriptionConfiguration={"EngineTranscribeSettings": {"LanguageCode": "en-US"}}),
        "StopMeetingTranscription": lambda: client.stop_meeting_transcription(MeetingId=missing),
    }
    for name, call in calls.items():
        with pytest.raises(client.exceptions.NotFoundException) as info:
            call()
        assert_error_envelope(info.value, "NotFoundException", 404)
        assert info.value.response["Code"] == "NotFound"
        assert info.value.response["Message"] == f"Meeting <{missing}> not found", name


def test_the_journal_saw_every_operation(chime_meetings, client, world):
    meeting, attendee = world
    call_every_operation(client, meeting, attendee)
    assert {c.operation for c in chime_meetings.journal} == set(MODEL.operation_names)
    assert all(c.status in (200, 204) for c in chime_meetings.journal)
