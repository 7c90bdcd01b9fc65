"""Test-author controls: state, seeding, journal, faults, lifetime, determinism, quotas."""
from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

import chime_mock
from chime_mock import ChimeMeetingsMock, Quotas, mock_chime_meetings

from .helpers import assert_error_envelope

NO_RETRY = Config(retries={"max_attempts": 0, "mode": "standard"})


def chime(region="us-east-1", config=NO_RETRY):
    return boto3.client("chime-sdk-meetings", region_name=region, config=config)


def create(client, token="tok", name="meeting", **extra):
    return client.create_meeting(ClientRequestToken=token, MediaRegion="us-east-1", ExternalMeetingId=name, **extra)["Meeting"]


# -- state -----------------------------------------------------------------------
def test_state_is_readable_as_plain_objects(chime_meetings):
    client = chime()
    meeting = create(client, Tags=[{"Key": "team", "Value": "red"}])
    other = create(chime("eu-central-1"), token="other")
    attendee = client.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId="ann")["Attendee"]
    client.start_meeting_transcription(MeetingId=meeting["MeetingId"], TranscriptionConfiguration={
        "EngineTranscribeSettings": {"LanguageCode": "en-GB"}})

    assert {m.meeting_id for m in chime_meetings.meetings()} == {meeting["MeetingId"], other["MeetingId"]}
    assert [m.meeting_id for m in chime_meetings.meetings(region="eu-central-1")] == [other["MeetingId"]]
    stored = chime_meetings.meeting(meeting["MeetingId"])
    assert stored.external_meeting_id == "meeting" and stored.region == "us-east-1"
    assert stored.account == "123456789012"
    assert stored.to_wire() == meeting
    assert [a.external_user_id for a in chime_meetings.attendees(meeting["MeetingId"])] == ["ann"]
    assert chime_meetings.attendees(meeting["MeetingId"])[0].to_wire() == attendee
    assert chime_meetings.tags(meeting["MeetingId"]) == {"team": "red"}
    assert chime_meetings.transcription(meeting["MeetingId"]) == {
        "EngineTranscribeSettings": {"LanguageCode": "en-GB"}}


def test_seeding_without_boto3_is_seen_by_boto3(chime_meetings):
    seeded = chime_meetings.add_meeting(external_meeting_id="seeded", media_region="eu-west-2",
                                        MeetingFeatures={"Attendee": {"MaxCount": 2}})
    host = chime_meetings.add_attendee(seeded.meeting_id, "host")
    client = chime()
    assert client.get_meeting(MeetingId=seeded.meeting_id)["Meeting"]["MediaRegion"] == "eu-west-2"
    assert client.get_attendee(MeetingId=seeded.meeting_id, AttendeeId=host.attendee_id)["Attendee"]["ExternalUserId"] == "host"
    chime_meetings.add_attendee(seeded.meeting_id, "guest")
    with pytest.raises(client.exceptions.LimitExceededException):   # the seeded MaxCount applies
        client.create_attendee(MeetingId=seeded.meeting_id, ExternalUserId="third")
    assert [c.operation for c in chime_meetings.journal] == ["GetMeeting", "GetAttendee", "CreateAttendee"]  # seeding is not a call


def test_seeding_follows_the_service_rules(chime_meetings):
    from chime_mock import ServiceError
    with pytest.raises(ServiceError, match="mediaRegion"):
        chime_meetings.add_meeting(media_region="mars-1")
    with pytest.raises(ServiceError, match="length less than or equal to 64"):
        chime_meetings.add_meeting(external_meeting_id="x" * 65)


def test_reset_forgets_everything(chime_meetings):
    create(chime())
    chime_meetings.inject("ThrottlingException", "GetMeeting")
    chime_meetings.reset()
    assert chime_meetings.meetings() == [] and len(chime_meetings.journal) == 0 and len(chime_meetings.faults) == 0


# -- journal -----------------------------------------------------------------------
def test_journal_records_operation_params_region_account_and_outcome(chime_meetings):
    client = chime("eu-central-1")
    meeting = create(client)
    client.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId="a1")
    client.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId="a2")
    with pytest.raises(client.exceptions.NotFoundException):
        client.get_attendee(MeetingId=meeting["MeetingId"], AttendeeId="192c2b76-a471-f07b-fa53-22e700aeb8bd")

    assert [c.operation for c in chime_meetings.journal] == ["CreateMeeting", "CreateAttendee", "CreateAttendee", "GetAttendee"]
    assert chime_meetings.journal.count("CreateAttendee", ok=True) == 2   # "created exactly two attendees"
    first = chime_meetings.journal[0]
    assert first.params["ExternalMeetingId"] == "meeting" and first.region == "eu-central-1"
    assert first.account == "123456789012" and first.status == 200 and first.ok
    assert first.result["Meeting"]["MeetingId"] == meeting["MeetingId"]
    failed = chime_meetings.journal.calls(ok=False)[0]
    assert failed.error == "NotFoundException" and failed.status == 404 and failed.result is None
    assert failed.request_id  # the same RequestId boto3 saw


# -- faults ------------------------------------------------------------------------
def test_injected_error_is_the_modeled_class_with_the_envelope(chime_meetings):
    client = chime()
    chime_meetings.inject("ForbiddenException", "CreateMeeting", message="Subscription check failed")
    with pytest.raises(client.exceptions.ForbiddenException) as info:
        create(client)
    assert_error_envelope(info.value, "ForbiddenException", 403)
    assert info.value.response["Message"] == "Subscription check failed"
    assert chime_meetings.meetings() == []          # the backend never saw it
    assert create(client)["MeetingId"]              # times=1: the next call goes through
    assert chime_meetings.journal[0].injected


def test_injected_throttle_is_retried_by_botocore_then_succeeds(chime_meetings, monkeypatch):
    import botocore.retries.standard as standard
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)  # no sleeping
    client = chime(config=Config(retries={"max_attempts": 4, "mode": "standard"}))
    meeting = create(client)
    chime_meetings.inject("ThrottlingException", "GetMeeting", times=2)
    answer = client.get_meeting(MeetingId=meeting["MeetingId"])
    assert answer["Meeting"]["MeetingId"] == meeting["MeetingId"]
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert [c.error for c in chime_meetings.journal.calls("GetMeeting")] == ["ThrottlingException"] * 2 + [None]


def test_service_unavailable_carries_retry_after(chime_meetings):
    client = chime()
    chime_meetings.inject("ServiceUnavailableException", retry_after=7)
    with pytest.raises(client.exceptions.ServiceUnavailableException) as info:
        create(client)
    assert_error_envelope(info.value, "ServiceUnavailableException", 503)
    assert info.value.response["RetryAfterSeconds"] == "7"
    assert info.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "7"


def test_fault_while_a_predicate_holds_until_removed(chime_meetings):
    client = chime()
    meeting = create(client)
    fault = chime_meetings.inject("LimitExceededException", "CreateAttendee", times=None,
                                  when=lambda params: params["ExternalUserId"].startswith("bot-"))
    for n in range(3):
        with pytest.raises(client.exceptions.LimitExceededException):
            client.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId=f"bot-{n}")
    assert client.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId="human")["Attendee"]
    chime_meetings.remove_fault(fault)
    assert client.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId="bot-9")["Attendee"]
    assert fault.fired == 3


def test_only_modeled_errors_can_be_injected(chime_meetings):
    with pytest.raises(ValueError, match="not a modeled error"):
        chime_meetings.inject("ValidationException")
    with pytest.raises(ValueError, match="not an operation"):
        chime_meetings.inject("ThrottlingException", "ListMeetings")


# -- meeting lifetime -----------------------------------------------------------------
def test_end_meeting_as_the_service_would(chime_meetings):
    client = chime()
    meeting = create(client)
    client.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId="a-user")
    chime_meetings.end_meeting(meeting["MeetingId"])
    with pytest.raises(client.exceptions.NotFoundException) as info:
        client.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId="late")
    assert info.value.response["Message"] == f"Meeting <{meeting['MeetingId']}> not found"
    # the token is free again: the same request makes a new meeting
    assert create(client)["MeetingId"] != meeting["MeetingId"]


def test_auto_end_driven_by_an_injected_clock():
    now = [1_000_000.0]
    with mock_chime_meetings(auto_end=True, clock=lambda: now[0]) as m:
        client = chime()
        idle = create(client, token="idle")
        busy = create(client, token="busy")
        replica = client.create_meeting(ClientRequestToken="rep", MediaRegion="us-east-1",
                                        ExternalMeetingId="rep", PrimaryMeetingId=busy["MeetingId"])["Meeting"]
        someone = client.create_attendee(MeetingId=busy["MeetingId"], ExternalUserId="present")["Attendee"]
        m.set_connected(busy["MeetingId"], someone["AttendeeId"])

        now[0] += 299
        assert client.get_meeting(MeetingId=idle["MeetingId"])   # not yet five minutes
        now[0] += 1
        with pytest.raises(client.exceptions.NotFoundException):
            client.get_meeting(MeetingId=idle["MeetingId"])       # five minutes, nobody connected
        assert client.get_meeting(MeetingId=busy["MeetingId"])    # someone is connected
        assert client.get_meeting(MeetingId=replica["MeetingId"])  # replicas do not idle out

        now[0] = 1_000_000.0 + 24 * 3600
        with pytest.raises(client.exceptions.NotFoundException):
            client.get_meeting(MeetingId=busy["MeetingId"])       # 24 hours, whoever is there
        with pytest.raises(client.exceptions.NotFoundException):
            client.get_meeting(MeetingId=replica["MeetingId"])    # gone with its primary


def test_auto_end_with_freezegun():
    freezegun = pytest.importorskip("freezegun")
    with freezegun.freeze_time("2026-01-01 12:00:00") as frozen:
        with mock_chime_meetings(auto_end=True) as m:
            client = chime()
            meeting = create(client)
            attendee = client.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId="a-user")["Attendee"]
            m.set_connected(meeting["MeetingId"], attendee["AttendeeId"])
            frozen.tick(600)
            assert client.get_meeting(MeetingId=meeting["MeetingId"])
            m.set_connected(meeting["MeetingId"], attendee["AttendeeId"], False)   # left at 12:10
            frozen.tick(299)
            assert client.get_meeting(MeetingId=meeting["MeetingId"])
            frozen.tick(1)
            with pytest.raises(client.exceptions.NotFoundException):
                client.get_meeting(MeetingId=meeting["MeetingId"])


def test_without_auto_end_meetings_live_forever():
    now = [0.0]
    with mock_chime_meetings(clock=lambda: now[0]):
        client = chime()
        meeting = create(client)
        now[0] += 48 * 3600
        assert client.get_meeting(MeetingId=meeting["MeetingId"])


# -- determinism and configuration -----------------------------------------------------
def run_scenario(**config):
    with mock_chime_meetings(**config):
        client = chime()
        meeting = client.create_meeting(ClientRequestToken="tk", MediaRegion="us-east-1", ExternalMeetingId="mm")
        attendee = client.create_attendee(MeetingId=meeting["Meeting"]["MeetingId"], ExternalUserId="uu")
        return (meeting["Meeting"], attendee["Attendee"], meeting["ResponseMetadata"]["RequestId"])


def test_seed_makes_every_id_and_token_reproducible():
    assert run_scenario(seed=42) == run_scenario(seed=42)
    assert run_scenario(seed=42) != run_scenario(seed=43)
    assert run_scenario() != run_scenario()


def test_account_id_is_configurable():
    meeting, _, _ = run_scenario(account_id="111122223333")
    assert meeting["MeetingArn"].startswith("arn:aws:chime:us-east-1:111122223333:meeting/")
    with pytest.raises(ValueError):
        ChimeMeetingsMock(account_id="abc")


@pytest.mark.chime_meetings(seed=5, account_id="444455556666")
def test_fixture_takes_options_from_a_marker(chime_meetings):
    assert chime_meetings.seed == 5 and chime_meetings.account_id == "444455556666"
    assert create(chime())["MeetingArn"].split(":")[4] == "444455556666"


def test_decorated_function_reaches_its_handle():
    handle = mock_chime_meetings(seed=3)

    @handle
    def scenario():
        create(chime())
        assert chime_mock.current() is handle
        return [c.operation for c in handle.journal]

    assert scenario() == ["CreateMeeting"]


def test_raisable_quotas_are_off_by_default_and_can_be_switched_on():
    with mock_chime_meetings() as m:
        client = chime()
        for n in range(12):
            create(client, token=f"tk{n}")
        assert len(m.meetings()) == 12

    with mock_chime_meetings(quotas=Quotas(active_meetings=2, replicas_per_primary=1)):
        client = chime()
        primary = create(client, token="aa")
        create(client, token="bb", PrimaryMeetingId=primary["MeetingId"])
        with pytest.raises(client.exceptions.LimitExceededException):
            create(client, token="cc")

    with mock_chime_meetings(quotas=Quotas(replicas_per_primary=1)):
        client = chime()
        primary = create(client, token="aa")
        create(client, token="bb", PrimaryMeetingId=primary["MeetingId"])
        with pytest.raises(client.exceptions.LimitExceededException, match="replica"):
            create(client, token="cc", PrimaryMeetingId=primary["MeetingId"])

    now = [100.0]
    with mock_chime_meetings(quotas=Quotas(requests_per_second=3), clock=lambda: now[0]):
        client = chime()
        meeting = create(client)
        for _ in range(3):
            client.get_meeting(MeetingId=meeting["MeetingId"])
        with pytest.raises(client.exceptions.ThrottlingException):
            client.get_meeting(MeetingId=meeting["MeetingId"])
        now[0] += 1
        assert client.get_meeting(MeetingId=meeting["MeetingId"])


def test_aws_default_quotas():
    assert Quotas.aws_defaults() == Quotas(active_meetings=250, replicas_per_primary=4, requests_per_second=10)


def test_journal_results_are_copies(chime_meetings):
    client = chime()
    meeting = create(client)
    chime_meetings.journal[0].result["Meeting"]["ExternalMeetingId"] = "tampered"
    chime_meetings.meeting(meeting["MeetingId"]).to_wire()["MediaPlacement"].clear()
    assert client.get_meeting(MeetingId=meeting["MeetingId"])["Meeting"] == meeting


def test_the_journal_is_a_sequence_of_calls():
    import collections.abc

    from chime_mock import Call, mock_chime_meetings

    with mock_chime_meetings() as m:
        m.add_meeting(external_meeting_id="seq", region="us-east-1")
        import boto3
        boto3.client("chime-sdk-meetings", region_name="us-east-1").list_attendees(
            MeetingId=m.meetings()[0].meeting_id)
        journal = m.journal
        assert isinstance(journal, collections.abc.Sequence)
        assert len(journal) == 1 and isinstance(journal[0], Call) and journal[-1] is journal[0]
        assert journal[0] in journal and journal.index(journal[0]) == 0
        assert [c.operation for c in reversed(journal)] == ["ListAttendees"]
