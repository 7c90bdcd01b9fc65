"""State from one test never reaches the next: every test below makes the same
meeting with the same ClientRequestToken and demands it is the only one, the
first call in the journal, and not the meeting of a previous test (D1 would
hand back the old meeting if any state leaked).  Run with -n 2 in CI too."""
from __future__ import annotations

import unittest

import boto3
import pytest

from chime_mock import current, mock_chime_meetings

SEEN: set = set()


def make_and_check(handle):
    client = boto3.client("chime-sdk-meetings", region_name="us-east-1")
    meeting = client.create_meeting(ClientRequestToken="same-token", MediaRegion="us-east-1",
                                    ExternalMeetingId="isolation")["Meeting"]
    assert meeting["MeetingId"] not in SEEN, "a meeting of an earlier test came back"
    SEEN.add(meeting["MeetingId"])
    assert [m.meeting_id for m in handle.meetings()] == [meeting["MeetingId"]]
    assert [c.operation for c in handle.journal] == ["CreateMeeting"]


@pytest.mark.parametrize("round_", range(4))
def test_fixture_is_fresh(chime_meetings, round_):
    make_and_check(chime_meetings)


@pytest.mark.parametrize("round_", range(4))
@mock_chime_meetings
def test_decorator_is_fresh(round_):
    make_and_check(current())


@mock_chime_meetings
class TestUnittestIsFresh(unittest.TestCase):
    def test_a(self):
        make_and_check(current())

    def test_b(self):
        make_and_check(current())
