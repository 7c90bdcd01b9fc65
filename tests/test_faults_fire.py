"""Opt-in "every fault must fire": ``assert_all_faults_fired`` on the handle,
the marker and the fixture, and ``handle.assert_all_faults_fired()``."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from chime_mock import ChimeMeetingsMock, mock_chime_meetings

NO_RETRY = Config(retries={"max_attempts": 0, "mode": "standard"})
MEETING_ID = "8a3a5d3e-1c2b-4a5e-9b7d-2f1e0c9d8b7a"


def chime():
    return boto3.client("chime-sdk-meetings", region_name="us-east-1", config=NO_RETRY)


def test_an_unfired_fault_fails_at_the_end_of_the_with_block():
    with pytest.raises(AssertionError) as caught:
        with mock_chime_meetings(assert_all_faults_fired=True) as mock:
            fired = mock.inject("ThrottlingException", "GetMeeting")
            unfired = mock.inject("NotFoundException", "DeleteMeeting")
            with pytest.raises(ClientError):
                chime().get_meeting(MeetingId=MEETING_ID)
    text = str(caught.value)
    assert "1 injected fault(s) never fired" in text
    assert f"NotFoundException on DeleteMeeting [{unfired.id}]" in text
    assert fired.id not in text


def test_every_fault_fired_passes():
    with mock_chime_meetings(assert_all_faults_fired=True) as mock:
        mock.inject("ThrottlingException", "GetMeeting", times=2)
        forever = mock.inject("NotFoundException", "ListAttendees", times=None)
        for _ in range(2):
            with pytest.raises(ClientError):
                chime().get_meeting(MeetingId=MEETING_ID)
        with pytest.raises(ClientError):
            chime().list_attendees(MeetingId=MEETING_ID)
    assert forever.fired == 1


def test_a_rule_whose_predicate_never_matched_is_named():
    with pytest.raises(AssertionError, match=r"ThrottlingException on any operation \(with a when= predicate\)"):
        with mock_chime_meetings(assert_all_faults_fired=True) as mock:
            mock.inject("ThrottlingException", when=lambda params: params.get("MeetingId") == "never")


def test_off_by_default_and_callable_explicitly():
    with mock_chime_meetings() as mock:
        fault = mock.inject("ThrottlingException")
        with pytest.raises(AssertionError, match=fault.id):
            mock.assert_all_faults_fired()
    # the state stays readable after stop: so does the check
    with pytest.raises(AssertionError, match=fault.id):
        mock.assert_all_faults_fired()


def test_an_error_already_raised_in_the_block_is_not_hidden():
    with pytest.raises(KeyError, match="the test's own"):
        with mock_chime_meetings(assert_all_faults_fired=True) as mock:
            mock.inject("ThrottlingException")
            raise KeyError("the test's own")


def test_the_decorator_checks_at_the_end_of_each_run():
    @mock_chime_meetings(assert_all_faults_fired=True, as_kwarg="mock")
    def run(fire, mock):
        mock.inject("ThrottlingException", "GetMeeting")
        if fire:
            with pytest.raises(ClientError):
                chime().get_meeting(MeetingId=MEETING_ID)

    run(True)
    with pytest.raises(AssertionError, match="ThrottlingException on GetMeeting"):
        run(False)


def test_async_with_checks_too():
    async def main():
        async with ChimeMeetingsMock(assert_all_faults_fired=True) as mock:
            mock.inject("ServiceFailureException", "GetMeeting")

    with pytest.raises(AssertionError, match="ServiceFailureException on GetMeeting"):
        asyncio.run(main())


def _run_pytest(tmp_path, source):
    (tmp_path / "test_user.py").write_text(textwrap.dedent(source))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTEST_ADDOPTS"}
    env.update(AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                           str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_the_marker_and_the_fixture_fail_the_test_with_an_unfired_fault(tmp_path):
    result = _run_pytest(tmp_path, """
        import boto3
        import chime_mock
        import pytest
        from botocore.config import Config

        NO_RETRY = Config(retries={"max_attempts": 0, "mode": "standard"})

        @pytest.mark.chime_meetings(assert_all_faults_fired=True)
        def test_marker_unfired():
            chime_mock.active_mock().inject("ThrottlingException", "CreateMeeting")

        @pytest.mark.chime_meetings(assert_all_faults_fired=True)
        def test_fixture_unfired(chime_meetings):
            chime_meetings.inject("NotFoundException", "GetMeeting")

        @pytest.mark.chime_meetings(assert_all_faults_fired=True)
        def test_fixture_fired(chime_meetings):
            chime_meetings.inject("NotFoundException", "GetMeeting")
            client = boto3.client("chime-sdk-meetings", region_name="us-east-1", config=NO_RETRY)
            with pytest.raises(client.exceptions.NotFoundException):
                client.get_meeting(MeetingId="8a3a5d3e-1c2b-4a5e-9b7d-2f1e0c9d8b7a")

        def test_unmarked_unfired(chime_meetings):
            chime_meetings.inject("NotFoundException", "GetMeeting")
    """)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "4 passed, 2 errors" in out, out     # pytest counts a teardown error besides the pass
    assert "PluggyTeardownRaisedWarning" not in out
    assert "ERROR test_user.py::test_marker_unfired" in out
    assert "ERROR test_user.py::test_fixture_unfired" in out
    assert "ThrottlingException on CreateMeeting" in out and "NotFoundException on GetMeeting" in out


def test_a_decorated_runs_own_error_is_not_hidden():
    @mock_chime_meetings(assert_all_faults_fired=True, as_kwarg="mock")
    def run(mock):
        mock.inject("ThrottlingException", "GetMeeting")
        raise KeyError("the run's own")

    with pytest.raises(KeyError, match="the run's own") as caught:
        run()
    assert not isinstance(caught.value.__context__, AssertionError)


def test_assert_all_faults_fired_must_be_a_bool():
    with pytest.raises(TypeError, match="assert_all_faults_fired must be True or False"):
        ChimeMeetingsMock(assert_all_faults_fired="yes")
