"""Regression tests for escapes an adversarial review of the entry points found:
each is a way a test that believed it was mocked could reach AWS (or run a
real credential lookup), or got an internal error instead of a clear one.
The root conftest refuses non-loopback connections, so a call that tried the
network fails differently from the ChimeMockError these expect."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
import unittest

import boto3
import botocore.session
import pytest
import requests
from botocore.awsrequest import AWSResponse
from botocore.endpoint import Endpoint

from chime_mock import ChimeMockError, client_env, mock_chime_meetings
from chime_mock.doors.botocore.hooks import RawBody
from tests.escapes import CHIME_URL, MEETING_ID, NO_RETRY, chime, outcome_after_its_mock, outcome_of

def test_a_stop_from_another_thread_leaves_the_starter_refused_not_sent():
    m = mock_chime_meetings()
    m.start()
    client = chime()
    stopper = threading.Thread(target=m.stop)
    stopper.start()
    stopper.join()
    assert outcome_of(lambda: client.get_meeting(MeetingId=MEETING_ID)) == "refused"
    with mock_chime_meetings():      # a new activation in the same context answers again
        assert outcome_of(lambda: chime().get_meeting(MeetingId=MEETING_ID)) == "answered"


def test_a_loop_callback_scheduled_inside_a_sync_mock_is_refused_after_it():
    loop = asyncio.new_event_loop()
    outcomes = []
    try:
        with mock_chime_meetings():
            async def schedule():
                asyncio.get_running_loop().call_later(
                    0.01, lambda: outcomes.append(outcome_of(lambda: chime().get_meeting(MeetingId=MEETING_ID))))
            loop.run_until_complete(schedule())
        loop.run_until_complete(asyncio.sleep(0.1))
    finally:
        loop.close()
    assert outcomes == ["refused"]


def test_requests_in_a_thread_that_outlived_the_mock_are_refused():
    assert outcome_after_its_mock(lambda: requests.get(CHIME_URL)) == "refused"


def test_a_call_under_way_when_the_mock_stops_is_not_sent():
    m = mock_chime_meetings()
    m.start()
    client = chime()
    client.meta.events.register("before-sign.chime-sdk-meetings", lambda **_: m.stop())
    with pytest.raises(ChimeMockError, match="stopped while this Chime call"):
        client.get_meeting(MeetingId=MEETING_ID)
    assert not m.active


def test_a_call_whose_mock_stops_before_chime_mocks_before_sign_is_not_sent():
    """The mock stops in a handler that runs before chime_mock's own before-sign
    (a more specific event): the request was made unsigned under the mock, and
    must not go out, even to a URL that is not AWS's."""
    m = mock_chime_meetings()
    m.start()
    local = boto3.client("chime-sdk-meetings", region_name="us-east-1", config=NO_RETRY,
                         endpoint_url="http://127.0.0.1:9", aws_access_key_id="testing",
                         aws_secret_access_key="testing")
    local.meta.events.register("before-sign.chime-sdk-meetings.GetMeeting", lambda **_: m.stop())
    with pytest.raises(ChimeMockError, match="stopped while this Chime call"):
        local.get_meeting(MeetingId=MEETING_ID)
    assert not m.active


def test_a_mocked_call_that_never_reached_before_send_does_not_refuse_later_calls():
    """A handler between signing and sending raised under the mock; after the mock,
    this thread's next Chime call (here to a local endpoint its own handler answers)
    is the user's business, not a call 'under way when the mock stopped'."""
    with mock_chime_meetings():
        client = chime()

        def broken(**_):
            raise RuntimeError("a user's before-send handler failed")

        client.meta.events.register_first("before-send.chime-sdk-meetings.GetMeeting", broken)
        with pytest.raises(RuntimeError, match="before-send handler failed"):
            client.get_meeting(MeetingId=MEETING_ID)
    local = boto3.client("chime-sdk-meetings", region_name="us-east-1", config=NO_RETRY,
                         endpoint_url="http://127.0.0.1:9", aws_access_key_id="testing",
                         aws_secret_access_key="testing")
    body = b'{"Meeting": {"MeetingId": "%s"}}' % MEETING_ID.encode()
    local.meta.events.register_first(
        "before-send.chime-sdk-meetings.GetMeeting",
        lambda **_: AWSResponse("http://127.0.0.1:9", 200, {}, RawBody(body)))
    assert local.get_meeting(MeetingId=MEETING_ID)["Meeting"]["MeetingId"] == MEETING_ID


def test_a_guard_patched_after_import_is_kept_called_and_put_back(monkeypatch):
    seen = []
    original = Endpoint._send

    def user_guard(self, request):
        seen.append(request.url)
        raise RuntimeError("user guard: no real AWS calls")

    monkeypatch.setattr(Endpoint, "_send", user_guard)
    sqs = boto3.client("sqs", region_name="us-east-1", config=NO_RETRY,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    with mock_chime_meetings():
        with pytest.raises(RuntimeError, match="user guard"):
            sqs.list_queues()
    assert Endpoint._send is user_guard
    with pytest.raises(RuntimeError, match="user guard"):
        sqs.list_queues()
    assert len(seen) == 2 and original is not user_guard


def test_a_session_without_builtin_handlers_is_answered_without_credentials(tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.write_text("[default]\ncredential_process = /bin/false\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    with mock_chime_meetings() as m:
        session = botocore.session.Session(include_builtin_handlers=False)
        client = session.create_client("chime-sdk-meetings", region_name="us-east-1", config=NO_RETRY)
        meeting = client.create_meeting(ClientRequestToken="tok-bare", MediaRegion="us-east-1",
                                        ExternalMeetingId="bare-session")["Meeting"]
        assert [x.meeting_id for x in m.meetings()] == [meeting["MeetingId"]]


def test_a_thread_of_a_separate_mock_is_refused_after_it_even_with_the_outer_active():
    outcomes, go = [], threading.Event()
    with mock_chime_meetings() as outer:
        with mock_chime_meetings(separate=True):
            worker = threading.Thread(target=lambda: (go.wait(), outcomes.append(
                outcome_of(lambda: chime().create_meeting(ClientRequestToken="tok-s", MediaRegion="us-east-1",
                                                          ExternalMeetingId="from-s")))))
            worker.start()
        go.set()
        worker.join()
        assert outcomes == ["refused"] and outer.meetings() == []


@pytest.mark.parametrize("call", ["meeting", "attendees", "tags", "transcription", "end_meeting"])
def test_handle_reads_with_a_non_string_id_are_a_type_error(call):
    with mock_chime_meetings() as m:
        m.add_meeting(external_meeting_id="seeded", region="us-east-1")
        with pytest.raises(TypeError, match="meeting_id"):
            getattr(m, call)(None)
        with pytest.raises(TypeError, match="meeting_id"):
            m.add_attendee(None, "user-1")


def test_a_decorated_isolated_async_test_case_shares_one_activation():
    @mock_chime_meetings
    class Case(unittest.IsolatedAsyncioTestCase):
        async def asyncSetUp(self):
            self.meeting = chime().create_meeting(ClientRequestToken="tok-iso", MediaRegion="us-east-1",
                                                  ExternalMeetingId="iso")["Meeting"]

        async def test_sees_it(self):
            got = chime().get_meeting(MeetingId=self.meeting["MeetingId"])["Meeting"]
            self.assertEqual(got["ExternalMeetingId"], "iso")

    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(Case).run(result)
    assert result.wasSuccessful(), result.errors + result.failures


def test_setup_class_on_a_decorated_pytest_class_runs_with_its_class(tmp_path):
    (tmp_path / "test_it.py").write_text(textwrap.dedent("""
        import boto3
        from chime_mock import mock_chime_meetings

        @mock_chime_meetings
        class TestX:
            @classmethod
            def setup_class(cls):
                cls.ready = True

            @classmethod
            def teardown_class(cls):
                cls.ready = False

            def test_one(self):
                assert self.ready
    """))
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                          str(tmp_path / "test_it.py")], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_client_env_states_that_configured_endpoints_are_used():
    env = client_env("http://127.0.0.1:9", base={"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"})
    assert env["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] == "false"
    assert env["AWS_ENDPOINT_URL_CHIME_SDK_MEETINGS"] == "http://127.0.0.1:9"
