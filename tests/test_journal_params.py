"""The journal records what was sent, also when the model check rejects the
request: ``Call.params`` holds what could be parsed, ``Call.error`` the
``BadRequestException``."""
from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

# botocore's own parameter validation off, so the request reaches the mock as a
# client in another language (or an older SDK) would send it.
UNCHECKED = Config(retries={"max_attempts": 0, "mode": "standard"}, parameter_validation=False)


@pytest.fixture
def unchecked(chime_meetings):
    return boto3.client("chime-sdk-meetings", region_name="us-east-1", config=UNCHECKED)


@pytest.mark.parametrize("params, constraint", [
    ({"ClientRequestToken": "tok-1", "MediaRegion": "us-east-1", "ExternalMeetingId": "e"}, "length"),
    ({"ClientRequestToken": "tok-1", "ExternalMeetingId": "meeting-1"}, "must not be null"),
    ({"ClientRequestToken": "tok-1", "MediaRegion": "us-east-1", "ExternalMeetingId": "meeting-1",
      "MeetingHostId": "\u0000bad"}, "pattern"),
])
def test_a_rejected_create_meeting_keeps_its_params(chime_meetings, unchecked, params, constraint):
    with pytest.raises(ClientError) as caught:
        unchecked.create_meeting(**params)
    assert caught.value.response["Error"]["Code"] == "BadRequestException"
    [call] = chime_meetings.journal.calls("CreateMeeting")
    assert call.error == "BadRequestException" and not call.ok
    assert constraint in call.error_message
    assert call.params == params


def test_a_rejected_path_parameter_is_recorded(chime_meetings, unchecked):
    with pytest.raises(ClientError):
        unchecked.create_attendee(MeetingId="not-a-uuid", ExternalUserId="user-12345")
    [call] = chime_meetings.journal.calls("CreateAttendee")
    assert call.error == "BadRequestException"
    assert call.params == {"MeetingId": "not-a-uuid", "ExternalUserId": "user-12345"}


def test_a_service_rule_failure_keeps_them_as_before(chime_meetings, unchecked):
    with pytest.raises(ClientError):
        unchecked.get_meeting(MeetingId="8a3a5d3e-1c2b-4a5e-9b7d-2f1e0c9d8b7a")
    [call] = chime_meetings.journal.calls("GetMeeting")
    assert call.error == "NotFoundException"
    assert call.params == {"MeetingId": "8a3a5d3e-1c2b-4a5e-9b7d-2f1e0c9d8b7a"}
