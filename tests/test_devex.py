"""Developer experience: handles reach decorated tests, nesting joins, regions
follow the user's configuration, and the clock moves with one call."""
from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

import chime_mock
from chime_mock import ChimeMeetingsMock, ChimeMockError, ChimeService, mock_chime_meetings

NO_RETRY = Config(retries={"max_attempts": 0, "mode": "standard"})


def chime(region=None):
    return boto3.client("chime-sdk-meetings", region_name=region, config=NO_RETRY)


@mock_chime_meetings(as_kwarg="mock", seed=9)
def test_as_kwarg_gives_the_decorated_test_its_activation(mock):
    assert isinstance(mock, ChimeMeetingsMock) and mock.active and mock.seed == 9
    seeded = mock.add_meeting()
    assert chime(mock.default_region).get_meeting(MeetingId=seeded.meeting_id)["Meeting"]["MeetingId"]


def test_as_kwarg_is_hidden_from_the_signature():
    import inspect

    @mock_chime_meetings(as_kwarg="m")
    def user_test(tmp_path, m):
        return m

    assert list(inspect.signature(user_test).parameters) == ["tmp_path"]
    assert user_test("x").active is False          # handed the activation, now stopped


def test_active_mock_raises_outside_any_activation():
    with pytest.raises(ChimeMockError, match="no chime_mock is active"):
        chime_mock.active_mock()


def test_decorator_inside_the_fixture_joins_it(chime_meetings):
    @mock_chime_meetings
    def code_under_test():
        return chime("us-east-1").create_meeting(ClientRequestToken="tok-join", MediaRegion="us-east-1",
                                                  ExternalMeetingId="joined")["Meeting"]["MeetingId"]

    meeting_id = code_under_test()
    assert chime_meetings.meeting(meeting_id) is not None
    assert chime_meetings.journal.count("CreateMeeting") == 1


def test_default_region_follows_the_environment(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.delenv("AWS_REGION", raising=False)
    with mock_chime_meetings() as m:
        assert m.default_region == "eu-central-1"
        seeded = m.add_meeting()                       # seeded where the user's clients look
        assert seeded.region == "eu-central-1" and seeded.media_region == "eu-central-1"
        assert chime().get_meeting(MeetingId=seeded.meeting_id)["Meeting"]["MeetingArn"].startswith(
            "arn:aws:chime:eu-central-1:")


def test_default_region_from_the_aws_config_file(monkeypatch, tmp_path):
    config = tmp_path / "config"
    config.write_text("[profile dev]\nregion = ap-southeast-1\n")
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "dev")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    assert ChimeService().default_region == "ap-southeast-1"


def test_add_meeting_takes_an_explicit_region(chime_meetings):
    seeded = chime_meetings.add_meeting(region="us-west-2")
    assert chime("us-west-2").get_meeting(MeetingId=seeded.meeting_id)["Meeting"]["MediaRegion"] == "us-west-2"
    with pytest.raises(chime("us-east-1").exceptions.NotFoundException):
        chime("us-east-1").get_meeting(MeetingId=seeded.meeting_id)
    with pytest.raises(ValueError, match="region"):
        chime_meetings.add_meeting(region="Frankfurt")


@pytest.mark.chime_meetings(auto_end=True, default_region="us-east-1")
def test_advance_moves_the_clock_for_auto_end():
    m = chime_mock.active_mock()
    client = chime("us-east-1")
    meeting = m.add_meeting()
    attendee = m.add_attendee(meeting.meeting_id, "present")
    m.set_connected(meeting.meeting_id, attendee.attendee_id)
    m.advance(23 * 3600)
    assert client.get_meeting(MeetingId=meeting.meeting_id)["Meeting"]["MeetingId"] == meeting.meeting_id
    m.advance(3600)
    with pytest.raises(client.exceptions.NotFoundException):
        client.get_meeting(MeetingId=meeting.meeting_id)
    with pytest.raises(ValueError, match="seconds"):
        m.advance(-1)


def test_seeding_reads_fields_as_a_request_would(chime_meetings):
    features = {"Audio": {"EchoReduction": "AVAILABLE"}, "Undeclared": {"x": 1}}
    seeded = chime_meetings.add_meeting(MeetingFeatures=features)
    assert seeded.meeting_features == {"Audio": {"EchoReduction": "AVAILABLE"}}   # as AWS would read it
    assert features["Undeclared"] == {"x": 1}                                      # the caller's dict untouched
