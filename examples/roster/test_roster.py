"""The roster backend against moto (EventBridge, SQS) and chime_mock (Chime):
two attendees join, one drops, the roster follows.

    pytest examples/roster/test_roster.py
"""
from __future__ import annotations

import os
import sys

import boto3
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from roster import Roster  # noqa: E402

moto = pytest.importorskip("moto")
from chime_mock import mock_chime_meetings  # noqa: E402

REGION = "us-east-1"


@pytest.fixture
def aws():
    with moto.mock_aws(), mock_chime_meetings() as chime_mock:
        yield chime_mock


def test_roster_follows_joins_and_drops(aws):
    roster = Roster(boto3.client("events", region_name=REGION), boto3.client("sqs", region_name=REGION))
    chime = boto3.client("chime-sdk-meetings", region_name=REGION)
    meeting = chime.create_meeting(ClientRequestToken="roster-1", MediaRegion=REGION,
                                   ExternalMeetingId="standup")["Meeting"]
    mid = meeting["MeetingId"]
    ann = chime.create_attendee(MeetingId=mid, ExternalUserId="ann")["Attendee"]
    bob = chime.create_attendee(MeetingId=mid, ExternalUserId="bob")["Attendee"]

    # What the attendees' clients do (in production: the Chime SDK in their browsers).
    aws.service.join(mid, ann["AttendeeId"])
    aws.service.join(mid, join_token=bob["JoinToken"])
    assert roster.poll() == 2
    assert roster.who(mid) == ["ann", "bob"]

    aws.service.drop(mid, bob["AttendeeId"])
    assert roster.poll() == 1
    assert roster.who(mid) == ["ann"]
    # ListAttendees still lists both: that is why the roster exists.
    assert len(chime.list_attendees(MeetingId=mid)["Attendees"]) == 2

    chime.delete_meeting(MeetingId=mid)
    roster.poll()
    assert roster.who(mid) == []
