"""Errors that point the right way: a misspelt or mis-cased keyword given to
any public entry point names the keyword it most likely meant.

Each case feeds a common mistake (a typo, the API's CamelCase member name
instead of the snake_case keyword, a lookalike keyword) and checks the
suggestion in the message.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import chime_mock
from chime_mock import ChimeMeetingsMock, ChimeService, mock_chime_meetings
from chime_mock.ground.errors import ChimeMockError


# -- the handle, the decorator, the service ---------------------------------------------
@pytest.mark.parametrize("make", [
    pytest.param(lambda **kw: mock_chime_meetings(**kw), id="mock_chime_meetings"),
    pytest.param(lambda **kw: ChimeMeetingsMock(**kw), id="ChimeMeetingsMock"),
    pytest.param(lambda **kw: ChimeService(**kw), id="ChimeService"),
])
@pytest.mark.parametrize("typo, meant", [
    ("sed", "seed"), ("Seed", "seed"), ("accountId", "account_id"), ("AccountId", "account_id"),
    ("default_regoin", "default_region"), ("DefaultRegion", "default_region"), ("quota", "quotas"),
    ("autoEnd", "auto_end"), ("clok", "clock"),
])
def test_configuration_keywords(make, typo, meant):
    with pytest.raises(TypeError) as caught:
        make(**{typo: 1})
    assert f"unexpected keyword argument {typo!r}; did you mean {meant!r}?" in str(caught.value)


@pytest.mark.parametrize("typo, meant", [("seperate", "separate"), ("asKwarg", "as_kwarg"),
                                         ("retry_delay", "retry_delays"), ("RetryDelays", "retry_delays"),
                                         ("assert_all_fault_fired", "assert_all_faults_fired")])
def test_handle_only_keywords(typo, meant):
    for make in (mock_chime_meetings, ChimeMeetingsMock):
        with pytest.raises(TypeError, match=f"did you mean {meant!r}"):
            make(**{typo: True})


def test_the_decorator_form_names_the_decorator():
    with pytest.raises(TypeError, match=r"^mock_chime_meetings\(\) got an unexpected keyword argument 'sed'; "
                                        r"did you mean 'seed'\?$"):
        @mock_chime_meetings(sed=7)  # type: ignore[call-overload]
        def test_x() -> None:
            pass


def test_a_keyword_nothing_resembles_lists_the_keywords():
    with pytest.raises(TypeError, match=r"it takes account_id, default_region, seed"):
        ChimeMeetingsMock(zzzzzz=1)


@pytest.mark.parametrize("name", ["separate", "retry_delays", "assert_all_faults_fired"])
def test_flags_must_be_booleans(name):
    with pytest.raises(TypeError, match=f"^{name} must be True or False"):
        ChimeMeetingsMock(**{name: "yes"})


def test_active_mock_outside_a_mock_says_how_to_start_one():
    with pytest.raises(ChimeMockError) as caught:
        chime_mock.active_mock()
    text = str(caught.value)
    for way in ("@chime_mock.mock_chime_meetings", "with chime_mock.mock_chime_meetings() as mock:",
                "chime_meetings pytest fixture", "@pytest.mark.chime_meetings"):
        assert way in text


# -- inject -------------------------------------------------------------------------------
@pytest.mark.parametrize("typo, meant", [("time", "times"), ("tims", "times"), ("Times", "times"),
                                         ("retryAfter", "retry_after"), ("RetryAfter", "retry_after"),
                                         ("mesage", "message"), ("Message", "message"), ("wen", "when"),
                                         ("member", "members")])
def test_inject_keywords(chime_meetings, typo, meant):
    with pytest.raises(TypeError) as caught:
        chime_meetings.inject("ServiceUnavailableException", **{typo: 1})
    assert str(caught.value) == f"inject() got an unexpected keyword argument {typo!r}; did you mean {meant!r}?"
    assert len(chime_meetings.faults) == 0


def test_inject_shape_members_are_suggested_too(chime_meetings):
    with pytest.raises(TypeError, match=r"'resourceName'; did you mean 'ResourceName'\?"):
        chime_meetings.inject("ResourceNotFoundException", resourceName="arn")
    with pytest.raises(TypeError, match=r"NotFoundException has no member 'ResourceName'; it has no other members"):
        chime_meetings.inject("NotFoundException", ResourceName="arn")


def test_inject_members_mapping(chime_meetings):
    fault = chime_meetings.inject("ResourceNotFoundException", members={"ResourceName": "arn:x"})
    assert fault.members == {"ResourceName": "arn:x"}
    with pytest.raises(TypeError, match="did you mean 'ResourceName'"):
        chime_meetings.inject("ResourceNotFoundException", members={"ResourceNme": "arn"})
    with pytest.raises(TypeError, match="members must be a mapping"):
        chime_meetings.inject("ResourceNotFoundException", members=["ResourceName"])
    with pytest.raises(TypeError, match="both as a keyword and in members"):
        chime_meetings.inject("ResourceNotFoundException", members={"ResourceName": "a"}, ResourceName="b")


@pytest.mark.parametrize("typo, meant", [("ThrottlingExeption", "ThrottlingException"),
                                         ("NotFound", "NotFoundException")])
def test_inject_error_names(chime_meetings, typo, meant):
    with pytest.raises(ValueError, match=f"did you mean {meant!r}"):
        chime_meetings.inject(typo)


@pytest.mark.parametrize("typo, meant", [("create_meeting", "CreateMeeting"), ("getMeeting", "GetMeeting"),
                                         ("CreateAtendee", "CreateAttendee")])
def test_inject_operation_names(chime_meetings, typo, meant):
    with pytest.raises(ValueError, match=f"did you mean {meant!r}"):
        chime_meetings.inject("ThrottlingException", typo)


# -- add_meeting, add_attendee ------------------------------------------------------------
@pytest.mark.parametrize("typo, meant", [
    ("externalMeetingId", "external_meeting_id"), ("ExternalMeetingId", "external_meeting_id"),
    ("externalmeetingid", "external_meeting_id"), ("MediaRegion", "media_region"),
    ("mediaRegion", "media_region"), ("Region", "region"), ("Account", "account"),
])
def test_add_meeting_points_api_member_names_to_its_keywords(chime_meetings, typo, meant):
    with pytest.raises(TypeError) as caught:
        chime_meetings.add_meeting(**{typo: "us-east-1"})
    assert f"unexpected keyword argument {typo!r}; did you mean {meant!r}?" in str(caught.value)
    assert chime_meetings.meetings() == []


@pytest.mark.parametrize("typo, meant", [("tags", "Tags"), ("meeting_features", "MeetingFeatures"),
                                         ("TenantId", "TenantIds"), ("notificationsConfiguration",
                                                                     "NotificationsConfiguration")])
def test_add_meeting_fields(chime_meetings, typo, meant):
    with pytest.raises(TypeError, match=f"did you mean {meant!r}"):
        chime_meetings.add_meeting(**{typo: {}})


@pytest.mark.parametrize("typo, meant", [("externalUserId", "external_user_id"),
                                         ("ExternalUserId", "external_user_id"),
                                         ("Capabilities", "capabilities"), ("meetingId", "meeting_id")])
def test_add_attendee_keywords(chime_meetings, typo, meant):
    meeting = chime_meetings.add_meeting()
    args = {"meeting_id": meeting.meeting_id, "external_user_id": "user-1", typo: "x"}
    with pytest.raises(TypeError, match=f"did you mean {meant!r}"):
        chime_meetings.add_attendee(**args)


# -- the journal -------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["yes", 1, 0, "False"])
def test_journal_ok_filter_is_strict(chime_meetings, bad):
    for read in (chime_meetings.journal.calls, chime_meetings.journal.count):
        with pytest.raises(TypeError, match=r"^ok must be True, False or None"):
            read(ok=bad)


@pytest.mark.parametrize("typo, meant", [("create_meeting", "CreateMeeting"), ("listattendees", "ListAttendees")])
def test_journal_operation_names(chime_meetings, typo, meant):
    with pytest.raises(ValueError, match=f"did you mean {meant!r}"):
        chime_meetings.journal.calls(typo)


def test_journal_unknown_keyword_is_pythons_error(chime_meetings):
    with pytest.raises(TypeError, match="unexpected keyword argument 'okay'"):
        chime_meetings.journal.calls(okay=True)  # type: ignore[call-arg]


# -- the fixture, the marker and the decorator together -----------------------------------------
def test_a_configured_decorator_inside_the_fixture_points_to_the_marker(chime_meetings):
    @mock_chime_meetings(seed=3)
    def code_under_test() -> None:
        pass

    with pytest.raises(ValueError) as caught:
        code_under_test()
    text = str(caught.value)
    assert "chime_meetings fixture" in text
    assert "@pytest.mark.chime_meetings(seed=3)" in text
    assert "separate=True" not in text


@pytest.mark.chime_meetings(seed=4)
def test_a_configured_decorator_inside_the_marker_points_to_the_marker():
    @mock_chime_meetings(account_id="111122223333")
    def code_under_test() -> None:
        pass

    with pytest.raises(ValueError, match=r"@pytest.mark.chime_meetings\(account_id='111122223333'\)"):
        code_under_test()


def test_a_decorator_without_configuration_joins_the_fixture(chime_meetings):
    @mock_chime_meetings
    def code_under_test() -> object:
        return chime_mock.active_mock().service

    assert code_under_test() is chime_meetings.service


def _run_pytest(tmp_path, source):
    (tmp_path / "test_user.py").write_text(textwrap.dedent(source))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTEST_ADDOPTS"}
    env.update(AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_marker_options(tmp_path):
    """Misspelt marker options, each named with its suggestion (one pytest run:
    collection reports every problem at once)."""
    cases = [("sed", "seed"), ("retry_delay", "retry_delays"), ("assertAllFaultsFired", "assert_all_faults_fired"),
             ("accountId", "account_id")]
    tests = "".join(f"""
        @pytest.mark.chime_meetings({option}=1)
        def test_{index}(chime_meetings):
            pass
    """ for index, (option, _) in enumerate(cases))
    result = _run_pytest(tmp_path, "import pytest\n" + textwrap.dedent(tests))
    out = result.stdout + result.stderr
    assert result.returncode == 4, out
    for option, meant in cases:
        assert f"unknown option {option!r}; did you mean {meant!r}?" in out, out
