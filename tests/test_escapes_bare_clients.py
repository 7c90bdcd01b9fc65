"""Regression tests for escapes of clients without chime_mock's event handlers:
a ``chime-sdk-meetings`` client of a session made with
``include_builtin_handlers=False`` (botocore's or aiobotocore's) reached AWS
while a mock was active.  Each test patches the HTTP layer (below
``Endpoint._send``) to record and refuse, so a request that would have left is
seen, whatever its host (a VPC endpoint host is not even looked up)."""
from __future__ import annotations

import asyncio
import importlib.util
import json

import botocore.httpsession
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse

from chime_mock import ChimeMockError, mock_chime_meetings
from chime_mock.doors.botocore.hooks import RawBody
from tests.escapes import NO_RETRY, Sent

VPC_ENDPOINT = "https://vpce-0abc-xyz.meetings-chime.us-east-1.vpce.amazonaws.com"
HAVE_AIOBOTOCORE = importlib.util.find_spec("aiobotocore") is not None
needs_aiobotocore = pytest.mark.skipif(not HAVE_AIOBOTOCORE, reason="aiobotocore is not installed")


@pytest.fixture
def assume_role_profile(tmp_path, monkeypatch):
    """The default profile assumes a role (an STS call when its credentials are
    read); a credential_process beside it leaves a mark if run."""
    marker = tmp_path / "ran"
    config = tmp_path / "config"
    config.write_text("[default]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = src\n"
                      "[profile src]\n")
    (tmp_path / "credentials").write_text("[src]\naws_access_key_id = AKIDSRC\naws_secret_access_key = s\n")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return marker


def installed():
    """chime_mock has been activated once (an earlier test): its handlers are installed."""
    with mock_chime_meetings():
        pass


def bare_client(**kwargs):
    session = botocore.session.Session(include_builtin_handlers=False)
    return session.create_client("chime-sdk-meetings", region_name="us-east-1", config=NO_RETRY, **kwargs)


def create_meeting(client, token="tok-bare"):
    return client.create_meeting(ClientRequestToken=token, MediaRegion="us-east-1",
                                 ExternalMeetingId="bare-client")["Meeting"]


def test_a_bare_client_made_between_mocks_with_a_vpc_endpoint_is_answered(sent):
    installed()
    client = bare_client(endpoint_url=VPC_ENDPOINT, aws_access_key_id="testing", aws_secret_access_key="testing")
    with mock_chime_meetings() as m:
        meeting = create_meeting(client)
        got = client.get_meeting(MeetingId=meeting["MeetingId"])["Meeting"]
        assert got["MeetingId"] == meeting["MeetingId"]
        assert m.journal.count("GetMeeting") == 1 and m.journal.count("CreateMeeting") == 1  # answered once
    assert sent == []


def test_a_bare_client_made_between_mocks_with_an_assume_role_profile_assumes_no_role(sent,
                                                                                       assume_role_profile):
    installed()
    client = bare_client()
    with mock_chime_meetings():
        meeting = create_meeting(client)
        assert client.get_meeting(MeetingId=meeting["MeetingId"])["Meeting"]["MeetingId"] == meeting["MeetingId"]
    assert sent == []


def test_a_bare_client_whose_mock_stops_mid_call_is_refused_not_sent(sent):
    installed()
    client = bare_client(aws_access_key_id="testing", aws_secret_access_key="testing")
    m = mock_chime_meetings()
    m.start()
    try:
        # Stops the mock after the request was made unsigned, before chime_mock's before-send.
        client.meta.events.register("before-sign.chime-sdk-meetings.GetMeeting", lambda **_: m.stop())
        with pytest.raises(ChimeMockError, match="stopped while this Chime call"):
            client.get_meeting(MeetingId="11111111-1111-4111-8111-111111111111")
        assert not m.active
    finally:
        if m.active:
            m.stop()
    assert sent == []


def test_a_bare_client_whose_before_send_handler_stops_the_mock_is_not_sent(sent):
    installed()
    client = bare_client(aws_access_key_id="testing", aws_secret_access_key="testing")
    m = mock_chime_meetings()
    m.start()
    try:
        client.meta.events.register("before-send.chime-sdk-meetings", lambda **_: m.stop())
        meeting_id = "11111111-1111-4111-8111-111111111111"
        with pytest.raises(client.exceptions.NotFoundException):   # the mock's answer
            client.get_meeting(MeetingId=meeting_id)
    finally:
        if m.active:
            m.stop()
    assert sent == []


def test_a_bare_client_outside_any_mock_still_reaches_its_http_layer(monkeypatch):
    """The handlers a bare client gets are pass-through while no mock is active:
    its requests are signed and sent as before; under a mock, the same client is
    answered."""
    installed()
    seen = []
    body = json.dumps({"Meeting": {"MeetingId": "11111111-1111-4111-8111-111111111111"}}).encode()

    def send(self, request):
        seen.append((request.url, "Authorization" in request.headers))
        return AWSResponse(request.url, 200, {"x-amzn-requestid": "canned"}, RawBody(body))

    monkeypatch.setattr(botocore.httpsession.URLLib3Session, "send", send)
    client = bare_client(endpoint_url=VPC_ENDPOINT, aws_access_key_id="testing", aws_secret_access_key="testing")
    meeting_id = "11111111-1111-4111-8111-111111111111"
    assert client.get_meeting(MeetingId=meeting_id)["Meeting"]["MeetingId"] == meeting_id
    assert seen == [(f"{VPC_ENDPOINT}/meetings/{meeting_id}", True)]
    with mock_chime_meetings():
        with pytest.raises(client.exceptions.NotFoundException):
            client.get_meeting(MeetingId=meeting_id)
    assert len(seen) == 1
    client.get_meeting(MeetingId=meeting_id)
    assert len(seen) == 2


def test_other_services_bare_clients_get_no_chime_handlers():
    from chime_mock.doors.botocore import hooks

    installed()
    sqs = botocore.session.Session(include_builtin_handlers=False).create_client(
        "sqs", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    handlers = list(sqs.meta.events._emitter._handlers.prefix_search("before-send.sqs.ListQueues"))
    assert not any(h in handlers for _, h, _ in hooks._HANDLERS)


# -- aiobotocore -----------------------------------------------------------------


def aio_bare_client(**kwargs):
    from aiobotocore.session import AioSession

    return AioSession(include_builtin_handlers=False).create_client(
        "chime-sdk-meetings", region_name="us-east-1", config=NO_RETRY, **kwargs)


@needs_aiobotocore
def test_a_bare_aiobotocore_client_made_in_the_mock_with_a_vpc_endpoint_is_answered(sent):
    async def main():
        with mock_chime_meetings() as m:
            async with aio_bare_client(endpoint_url=VPC_ENDPOINT, aws_access_key_id="testing",
                                       aws_secret_access_key="testing") as client:
                meeting = (await client.create_meeting(ClientRequestToken="tok-aio", MediaRegion="us-east-1",
                                                       ExternalMeetingId="bare-aio"))["Meeting"]
                got = (await client.get_meeting(MeetingId=meeting["MeetingId"]))["Meeting"]
            assert got["MeetingId"] == meeting["MeetingId"]
            assert m.journal.count("GetMeeting") == 1

    asyncio.run(main())
    assert sent == []


@needs_aiobotocore
def test_a_bare_aiobotocore_client_with_an_assume_role_profile_assumes_no_role(sent, assume_role_profile):
    async def main():
        with mock_chime_meetings():
            async with aio_bare_client() as client:
                meeting = (await client.create_meeting(ClientRequestToken="tok-aio", MediaRegion="us-east-1",
                                                       ExternalMeetingId="bare-aio"))["Meeting"]
                got = (await client.get_meeting(MeetingId=meeting["MeetingId"]))["Meeting"]
            assert got["MeetingId"] == meeting["MeetingId"]

    asyncio.run(main())
    assert sent == []


@needs_aiobotocore
def test_a_bare_aiobotocore_client_with_a_credential_process_does_not_run_it(sent, tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    config = tmp_path / "config"
    config.write_text(f"[default]\ncredential_process = /bin/sh -c 'touch {marker}; exit 3'\n")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))

    async def main():
        with mock_chime_meetings():
            async with aio_bare_client() as client:
                with pytest.raises(client.exceptions.NotFoundException):
                    await client.get_meeting(MeetingId="11111111-1111-4111-8111-111111111111")

    asyncio.run(main())
    assert sent == [] and not marker.exists()


@needs_aiobotocore
def test_a_bare_aiobotocore_client_whose_handlers_were_removed_is_answered_by_the_backstop(sent):
    """The fallback in AioEndpoint._send knows a Chime request by its endpoint's
    service, not only by a standard Chime host name."""
    from chime_mock.doors.botocore import hooks

    async def main():
        with mock_chime_meetings():
            async with aio_bare_client(endpoint_url=VPC_ENDPOINT, aws_access_key_id="testing",
                                       aws_secret_access_key="testing") as client:
                for event, handler, unique in hooks._HANDLERS:
                    client.meta.events.unregister(event, handler, unique_id=unique)
                with pytest.raises(client.exceptions.NotFoundException):
                    await client.get_meeting(MeetingId="11111111-1111-4111-8111-111111111111")

    asyncio.run(main())
    assert sent == []


def test_a_bare_client_whose_handlers_were_removed_is_answered_by_the_backstop(sent):
    """The fallback in Endpoint._send knows a Chime request by its endpoint's
    service, not only by a standard Chime host name."""
    from chime_mock.doors.botocore import hooks

    with mock_chime_meetings():
        client = bare_client(endpoint_url=VPC_ENDPOINT, aws_access_key_id="testing",
                             aws_secret_access_key="testing")
        for event, handler, unique in hooks._HANDLERS:
            client.meta.events.unregister(event, handler, unique_id=unique)
        with pytest.raises(client.exceptions.NotFoundException):
            client.get_meeting(MeetingId="11111111-1111-4111-8111-111111111111")
    assert sent == []


def test_the_backstop_lets_a_client_without_handlers_talk_to_a_local_server(sent):
    """A request to this machine is not one to AWS: a client whose handlers were
    taken off on purpose (to reach ``chime-mock serve``, say) still goes there."""
    from chime_mock.doors.botocore import hooks

    with mock_chime_meetings():
        client = bare_client(endpoint_url="http://127.0.0.1:9", aws_access_key_id="testing",
                             aws_secret_access_key="testing")
        for event, handler, unique in hooks._HANDLERS:
            client.meta.events.unregister(event, handler, unique_id=unique)
        with pytest.raises(Sent):
            client.get_meeting(MeetingId="11111111-1111-4111-8111-111111111111")
    assert sent == ["http://127.0.0.1:9/meetings/11111111-1111-4111-8111-111111111111"]
