"""aiobotocore and aioboto3 reach the mock through the same entry points.

Each test drives a real aiobotocore (or aioboto3) client with ``asyncio.run``
inside an ordinary test, so no async pytest plugin is needed.  Skipped when
aiobotocore is not installed (``pip install 'chime-mock[async]'``).
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap

import pytest

aiobotocore_session = pytest.importorskip("aiobotocore.session")

from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

from chime_mock import mock_chime_meetings  # noqa: E402

from .helpers import MODEL, assert_valid_output  # noqa: E402

NO_RETRY = Config(retries={"max_attempts": 0, "mode": "standard"})
CAPS = {"Audio": "SendReceive", "Video": "Receive", "Content": "None"}


def aio_client(region="us-east-1", session=None, **kwargs):
    """An aiobotocore client context (``async with``)."""
    kwargs.setdefault("config", NO_RETRY)
    session = session or aiobotocore_session.get_session()
    return session.create_client("chime-sdk-meetings", region_name=region, **kwargs)


def aioboto3_client(region="us-east-1", **kwargs):
    aioboto3 = pytest.importorskip("aioboto3")
    kwargs.setdefault("config", NO_RETRY)
    return aioboto3.Session().client("chime-sdk-meetings", region_name=region, **kwargs)


async def create(client, token="tok", media="us-east-1"):
    return (await client.create_meeting(ClientRequestToken=token, MediaRegion=media,
                                        ExternalMeetingId="mtg"))["Meeting"]


async def every_operation(client):
    meeting = await create(client, "ops-token")
    mid, arn = meeting["MeetingId"], meeting["MeetingArn"]
    aid = (await client.create_attendee(MeetingId=mid, ExternalUserId="first-user"))["Attendee"]["AttendeeId"]
    transcribe = {"EngineTranscribeSettings": {"LanguageCode": "en-US"}}
    return [
        ("CreateMeeting", await client.create_meeting(ClientRequestToken="ops-token", MediaRegion="us-east-1",
                                                      ExternalMeetingId="mtg")),
        ("GetMeeting", await client.get_meeting(MeetingId=mid)),
        ("CreateAttendee", await client.create_attendee(MeetingId=mid, ExternalUserId="second-user",
                                                        Capabilities=CAPS)),
        ("BatchCreateAttendee", await client.batch_create_attendee(MeetingId=mid, Attendees=[
            {"ExternalUserId": "third-user"}, {"ExternalUserId": "aws:reserved"}])),
        ("GetAttendee", await client.get_attendee(MeetingId=mid, AttendeeId=aid)),
        ("ListAttendees", await client.list_attendees(MeetingId=mid, MaxResults=2)),
        ("UpdateAttendeeCapabilities", await client.update_attendee_capabilities(
            MeetingId=mid, AttendeeId=aid, Capabilities=CAPS)),
        ("BatchUpdateAttendeeCapabilitiesExcept", await client.batch_update_attendee_capabilities_except(
            MeetingId=mid, ExcludedAttendeeIds=[{"AttendeeId": aid}], Capabilities=CAPS)),
        ("StartMeetingTranscription", await client.start_meeting_transcription(
            MeetingId=mid, TranscriptionConfiguration=transcribe)),
        ("StopMeetingTranscription", await client.stop_meeting_transcription(MeetingId=mid)),
        ("TagResource", await client.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "blue"}])),
        ("ListTagsForResource", await client.list_tags_for_resource(ResourceARN=arn)),
        ("UntagResource", await client.untag_resource(ResourceARN=arn, TagKeys=["team"])),
        ("CreateMeetingWithAttendees", await client.create_meeting_with_attendees(
            ClientRequestToken="ops-token-2", MediaRegion="eu-west-2", ExternalMeetingId="second",
            PrimaryMeetingId=mid, Attendees=[{"ExternalUserId": "dial-in"}])),
        ("DeleteAttendee", await client.delete_attendee(MeetingId=mid, AttendeeId=aid)),
        ("DeleteMeeting", await client.delete_meeting(MeetingId=mid)),
    ]


def check_every_operation(responses, mock):
    assert {name for name, _ in responses} == set(MODEL.operation_names)
    for name, response in responses:
        assert_valid_output(name, response)
        expected = MODEL.operation_model(name).http.get("responseCode", 200)
        assert response["ResponseMetadata"]["HTTPStatusCode"] == expected, name
        json.dumps(response, default=str)
    assert {call.operation for call in mock.journal} == set(MODEL.operation_names)


# -- entry points ----------------------------------------------------------------------
def test_fixture_every_operation_aiobotocore(chime_meetings):
    async def run():
        async with aio_client() as client:
            return await every_operation(client)
    check_every_operation(asyncio.run(run()), chime_meetings)


def test_fixture_every_operation_aioboto3(chime_meetings):
    async def run():
        async with aioboto3_client() as client:
            return await every_operation(client)
    check_every_operation(asyncio.run(run()), chime_meetings)


def test_decorator_on_async_def():
    @mock_chime_meetings
    async def scenario():
        async with aio_client() as client:
            meeting = await create(client)
            got = await client.get_meeting(MeetingId=meeting["MeetingId"])
            return meeting, got["Meeting"]
    meeting, got = asyncio.run(scenario())
    assert got == meeting


def test_async_with_and_start_stop():
    async def run():
        async with mock_chime_meetings() as mock:
            async with aio_client("eu-central-1") as client:
                meeting = await create(client)
        return mock, meeting
    mock, meeting = asyncio.run(run())
    assert [m.meeting_id for m in mock.meetings(region="eu-central-1")] == [meeting["MeetingId"]]

    mock = mock_chime_meetings()
    mock.start()
    try:
        async def one():
            async with aio_client() as client:
                return await create(client)
        meeting = asyncio.run(one())
        assert mock.meeting(meeting["MeetingId"]) is not None
    finally:
        mock.stop()


def test_client_created_before_start_is_answered(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")      # outside the mock: ordinary credentials
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")

    async def run():
        async with aio_client() as client:    # built while no mock is active
            with mock_chime_meetings() as mock:
                meeting = await create(client)
            return mock, meeting
    mock, meeting = asyncio.run(run())
    assert mock.journal.count("CreateMeeting") == 1
    assert meeting["MeetingArn"].startswith("arn:aws:chime:us-east-1:")


# -- errors, paging, faults and retries ---------------------------------------------------
def test_errors_are_the_clients_exception_classes(chime_meetings):
    async def run():
        async with aio_client() as client:
            with pytest.raises(client.exceptions.NotFoundException) as ei:
                await client.get_meeting(MeetingId="00000000-0000-4000-8000-000000000000")
            with pytest.raises(client.exceptions.BadRequestException):
                await client.create_meeting(ClientRequestToken="tok", MediaRegion="mars-1", ExternalMeetingId="mtg")
            return ei.value
    error = asyncio.run(run())
    assert isinstance(error, ClientError)
    body = error.response
    assert body["Error"]["Code"] == "NotFoundException"
    assert body["Code"] == "NotFound" and body["Message"] and body["RequestId"]
    assert body["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert body["RequestId"] == body["ResponseMetadata"]["RequestId"]
    assert chime_meetings.meetings() == []


def test_next_token_paging(chime_meetings):
    async def run():
        async with aio_client() as client:
            meeting = await create(client)
            await client.batch_create_attendee(MeetingId=meeting["MeetingId"], Attendees=[
                {"ExternalUserId": f"user-{i:02d}"} for i in range(7)])
            first = await client.list_attendees(MeetingId=meeting["MeetingId"], MaxResults=3)
            paged, token = [], None
            while True:
                kwargs = {"NextToken": token} if token else {}
                page = await client.list_attendees(MeetingId=meeting["MeetingId"], MaxResults=3, **kwargs)
                paged.append([a["ExternalUserId"] for a in page["Attendees"]])
                token = page.get("NextToken")
                if not token:
                    return first, paged
    first, paged = asyncio.run(run())
    assert len(first["Attendees"]) == 3 and first["NextToken"]
    assert [len(p) for p in paged] == [3, 3, 1]
    assert sorted(sum(paged, [])) == [f"user-{i:02d}" for i in range(7)]


def test_injected_fault_is_retried_by_the_client(chime_meetings):
    chime_meetings.inject("ThrottlingException", "CreateMeeting", times=2)

    async def run():
        config = Config(retries={"max_attempts": 5, "mode": "standard"})
        async with aio_client(config=config) as client:
            return await create(client)
    meeting = asyncio.run(run())
    assert chime_meetings.meeting(meeting["MeetingId"]) is not None
    calls = [c for c in chime_meetings.journal if c.operation == "CreateMeeting"]
    assert [c.status for c in calls] == [429, 429, 200] or [c.status for c in calls][-1] == 200
    assert len(calls) == 3 and all(c.injected for c in calls[:2])


def test_injected_fault_without_retries_surfaces(chime_meetings):
    chime_meetings.inject("ServiceUnavailableException", "GetMeeting")

    async def run():
        async with aio_client() as client:
            meeting = await create(client)
            with pytest.raises(client.exceptions.ServiceUnavailableException):
                await client.get_meeting(MeetingId=meeting["MeetingId"])
            return (await client.get_meeting(MeetingId=meeting["MeetingId"]))["Meeting"]
    assert asyncio.run(run())["MeetingId"]


# -- regions, partitions, credentials ------------------------------------------------------
def test_regions_and_partitions(chime_meetings):
    async def run():
        out = {}
        for region, media in (("us-gov-west-1", "us-gov-east-1"), ("cn-north-1", "cn-north-1")):
            async with aio_client(region) as client:
                out[region] = await create(client, token="same", media=media)
        return out
    out = asyncio.run(run())
    assert out["us-gov-west-1"]["MeetingArn"].startswith("arn:aws-us-gov:chime:us-gov-west-1:")
    assert out["cn-north-1"]["MeetingArn"].startswith("arn:aws-cn:chime:cn-north-1:")
    assert len(chime_meetings.meetings()) == 2


def test_failing_credential_process_is_not_run(chime_meetings, broken_profile, monkeypatch):
    marker = broken_profile
    monkeypatch.setenv("AWS_PROFILE", "broken")

    async def run():
        session = aiobotocore_session.AioSession()
        async with session.create_client("chime-sdk-meetings", config=NO_RETRY) as client:
            return await create(client)
    meeting = asyncio.run(run())
    assert meeting["MeetingArn"].startswith("arn:aws:chime:eu-central-1:")
    assert not marker.exists()


# -- refusal --------------------------------------------------------------------------------
def test_unsupported_aiobotocore_is_refused_before_any_state_changes(chime_meetings, monkeypatch):
    import aiobotocore

    from chime_mock.doors.botocore import aio as _aio
    monkeypatch.setattr(_aio, "_response_class", None)
    monkeypatch.setattr(aiobotocore, "__version__", "2.4.0")

    async def run():
        async with aio_client() as client:
            await create(client)
    with pytest.raises(_aio.UnsupportedAiobotocore, match="2.4.0"):
        asyncio.run(run())
    assert chime_meetings.meetings() == [] and len(chime_meetings.journal) == 0


# -- clients built before chime_mock was imported -----------------------------------------------
def test_client_built_before_chime_mock_import(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent("""\
        import asyncio
        from aiobotocore.session import get_session

        async def main():
            async with get_session().create_client("chime-sdk-meetings", region_name="us-west-2") as client:
                import chime_mock
                with chime_mock.mock_chime_meetings() as mock:
                    m = await client.create_meeting(ClientRequestToken="tok", MediaRegion="us-west-2",
                                                    ExternalMeetingId="xx")
                print(m["Meeting"]["MeetingArn"], len(mock.meetings()))
        asyncio.run(main())
    """))
    env = dict(os.environ, AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="y",
               PYTHONPATH=os.pathsep.join([os.getcwd()] + sys.path))
    env.pop("AWS_PROFILE", None)
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("arn:aws:chime:us-west-2:") and proc.stdout.split()[1] == "1"
