"""Hardening of the entry points: no path to the network, no lost or mixed
state, and configuration mistakes reported as the user's, when they are made.

Every test here failed on the code before the hardening; the root conftest
fails any test whose calls try to leave the machine.
"""
from __future__ import annotations

import asyncio
import contextvars
import os
import subprocess
import sys
import textwrap
import threading
import time
import unittest

import boto3
import pytest
import requests
from botocore.config import Config

import chime_mock
from chime_mock import ChimeMeetingsMock, ChimeMockError, ChimeMockInternalError, Quotas, mock_chime_meetings

NO_RETRY = Config(retries={"max_attempts": 0, "mode": "standard"})
CHIME_URL = "https://meetings-chime.us-east-1.amazonaws.com"


def chime(region="us-east-1"):
    return boto3.client("chime-sdk-meetings", region_name=region, config=NO_RETRY)


def new_meeting(client, token="tok-1"):
    return client.create_meeting(ClientRequestToken=token, MediaRegion="us-east-1",
                                 ExternalMeetingId="meeting")["Meeting"]


def run_pytest(tmp_path, source, *args):
    (tmp_path / "test_user.py").write_text(textwrap.dedent(source))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTEST_ADDOPTS"}
    env.update(AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


# -- 1. the marker alone activates the mock ------------------------------------------------
@pytest.mark.chime_meetings(seed=11)
def test_marker_alone_activates_the_mock():
    handle = chime_mock.active_mock()
    assert handle.seed == 11
    meeting = new_meeting(chime())
    assert handle.meeting(meeting["MeetingId"]) is not None


@pytest.mark.chime_meetings(account_id="111122223333")
class TestMarkerOnAClass:
    def test_method_is_mocked(self):
        assert new_meeting(chime())["MeetingArn"].split(":")[4] == "111122223333"


@pytest.mark.chime_meetings
class MarkedUnittestCase(unittest.TestCase):
    def setUp(self):
        self.meeting = new_meeting(chime())

    def test_setup_and_test_share_the_mock(self):
        assert chime().get_meeting(MeetingId=self.meeting["MeetingId"])["Meeting"] == self.meeting


@pytest.mark.chime_meetings(seed=2)
def test_marker_and_fixture_are_one_activation(chime_meetings):
    assert chime_mock.active_mock() is chime_meetings and chime_meetings.seed == 2


def test_marker_in_a_user_project_module_level_and_typos(tmp_path):
    result = run_pytest(tmp_path, """
        import boto3, pytest, unittest
        pytestmark = pytest.mark.chime_meetings(seed=4)

        def make():
            return boto3.client("chime-sdk-meetings", region_name="eu-central-1").create_meeting(
                ClientRequestToken="tok-tk", MediaRegion="eu-central-1", ExternalMeetingId="xy")

        def test_function():
            make()

        class TestPlain:
            def test_method(self):
                make()

        class Case(unittest.TestCase):
            def test_unittest(self):
                make()
    """)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout

    typo = run_pytest(tmp_path, """
        import pytest

        @pytest.mark.chime_meeting
        def test_typo():
            pass
    """)
    assert typo.returncode == 4, typo.stdout + typo.stderr
    assert "did you mean @pytest.mark.chime_meetings" in typo.stdout + typo.stderr

    bad_option = run_pytest(tmp_path, """
        import pytest

        @pytest.mark.chime_meetings(sed=1)
        def test_bad_option():
            pass
    """)
    assert bad_option.returncode == 4
    assert "did you mean 'seed'" in bad_option.stdout + bad_option.stderr


# -- 2. the class decorator covers every collected test method ----------------------------------
class _Base:
    def test_inherited(self):
        return chime_mock.current() is not None and bool(new_meeting(chime()))


def test_class_decorator_covers_inherited_static_and_class_methods():
    @mock_chime_meetings
    class Suite(_Base):
        @staticmethod
        def test_static():
            return chime_mock.current() is not None and bool(new_meeting(chime()))

        @classmethod
        def test_class(cls):
            return cls is Suite and chime_mock.current() is not None and bool(new_meeting(chime()))

        test_data = [1, 2]   # not a method: left alone

    assert Suite().test_inherited() is True
    assert Suite.test_static() is True and Suite().test_static() is True
    assert Suite.test_class() is True
    assert Suite.test_data == [1, 2]
    assert _Base().test_inherited.__func__ is _Base.test_inherited   # the base class is untouched
    assert chime_mock.current() is None


# -- 3. generators stay mocked while they run ------------------------------------------------------
def test_decorated_generator_runs_its_body_mocked():
    @mock_chime_meetings
    def meetings(n):
        client = chime()
        for i in range(n):
            yield new_meeting(client, token=f"tok{i}")["MeetingId"], chime_mock.current() is not None

    produced = list(meetings(3))
    assert [active for _, active in produced] == [True, True, True]
    assert chime_mock.current() is None


def test_decorated_async_generator_runs_its_body_mocked():
    @mock_chime_meetings
    async def meetings(n):
        client = chime()
        for i in range(n):
            await asyncio.sleep(0)
            yield new_meeting(client, token=f"tok{i}")["MeetingId"]

    async def main():
        return [m async for m in meetings(2)]

    assert len(asyncio.run(main())) == 2
    assert chime_mock.current() is None


def test_plain_function_returning_a_coroutine_is_refused():
    async def body():
        new_meeting(chime())

    decorated = mock_chime_meetings(lambda: body())
    with pytest.raises(ChimeMockError, match="would run after the mock stopped"):
        decorated()


# -- 4. setup_method/teardown_method as written ------------------------------------------------------
@mock_chime_meetings
class TestSetupWithoutTheMethodArgument:
    def setup_method(self):
        self.meeting = new_meeting(chime())

    def teardown_method(self):
        chime().delete_meeting(MeetingId=self.meeting["MeetingId"])

    def test_setup_ran_inside_the_mock(self):
        assert chime_mock.active_mock().meeting(self.meeting["MeetingId"]) is not None


# -- 5. start/stop race: a mock is never active with requests unpatched ---------------------------
def test_stop_racing_start_leaves_requests_intercepted(monkeypatch):
    from chime_mock.doors.requests.adapter import INTERCEPTOR

    real_stop = INTERCEPTOR.stop
    second_started = threading.Event()

    def slow_stop():
        second_started.wait(0.5)   # give the other thread's start() every chance to run in between
        real_stop()
    monkeypatch.setattr(INTERCEPTOR, "stop", slow_stop)

    first, second = ChimeMeetingsMock(), ChimeMeetingsMock()
    first.start()
    stopper = threading.Thread(target=first.stop)
    stopper.start()
    time.sleep(0.05)
    second.start()
    second_started.set()
    stopper.join()
    try:
        answer = requests.get(f"{CHIME_URL}/meetings/0f8e2c1a-5b7d-4e21-9c3f-6a1b2c3d2713", timeout=5)
        assert answer.status_code == 404 and answer.json()["Code"] == "NotFound"
    finally:
        second.stop()


# -- 6. concurrent runs of one decorated function never swap state ------------------------------------
def test_concurrent_tasks_of_one_decorated_coroutine_keep_their_own_state():
    @mock_chime_meetings
    async def run(name):
        client = chime()
        meeting = new_meeting(client, token=name)
        await asyncio.sleep(0.05)          # the other run starts meanwhile
        assert client.get_meeting(MeetingId=meeting["MeetingId"])["Meeting"] == meeting
        return [m.meeting_id for m in chime_mock.active_mock().meetings()], meeting["MeetingId"]

    async def main():
        return await asyncio.gather(run("tok-a"), run("tok-b"))

    for seen, own in asyncio.run(main()):
        assert seen == [own]


def test_concurrent_threads_of_one_decorated_function_keep_their_own_state():
    barrier = threading.Barrier(2, timeout=10)
    results, errors = [], []

    @mock_chime_meetings
    def run(name):
        client = chime()
        meeting = new_meeting(client, token=name)
        barrier.wait()
        assert client.get_meeting(MeetingId=meeting["MeetingId"])["Meeting"] == meeting
        results.append(([m.meeting_id for m in chime_mock.active_mock().meetings()], meeting["MeetingId"]))
        barrier.wait()

    def target(name):
        try:
            run(name)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(n,)) for n in ("tok-a", "tok-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 2
    for seen, own in results:
        assert seen == [own]


def test_a_thread_started_inside_a_run_sees_that_run():
    @mock_chime_meetings
    def run():
        meeting = new_meeting(chime())
        seen = []
        worker = threading.Thread(target=lambda: seen.append(chime().get_meeting(MeetingId=meeting["MeetingId"])))
        worker.start()
        worker.join()
        return seen[0]["Meeting"] == meeting

    assert run() is True


def test_a_contextless_thread_is_refused_when_two_separate_mocks_are_active():
    outcome = []
    with mock_chime_meetings():
        with mock_chime_meetings(separate=True):
            def work():
                try:
                    chime().list_attendees(MeetingId="0f8e2c1a-5b7d-4e21-9c3f-6a1b2c3d2713")
                except ChimeMockError as exc:
                    outcome.append(str(exc))
            worker = threading.Thread(target=work)
            # Started from an empty context: a thread that belongs to no activation
            # (one started inside an activation belongs to it: test_threads_outliving).
            contextvars.Context().run(worker.start)
            worker.join()
    assert outcome and "cannot tell which" in outcome[0]


# -- 7. what is seeded before start is kept -------------------------------------------------------------
def test_state_seeded_before_the_first_start_is_kept():
    m = mock_chime_meetings()
    seeded = m.add_meeting(external_meeting_id="seeded")
    m.inject("ThrottlingException", "ListAttendees")
    with m:
        client = chime(m.default_region)
        assert client.get_meeting(MeetingId=seeded.meeting_id)["Meeting"]["ExternalMeetingId"] == "seeded"
        with pytest.raises(client.exceptions.ThrottlingException):
            client.list_attendees(MeetingId=seeded.meeting_id)
    with m:                                  # the next activation starts empty
        assert m.meetings() == []
    m.add_meeting(external_meeting_id="again")   # seeding after a stop prepares the next activation
    with m:
        assert [x.external_meeting_id for x in m.meetings()] == ["again"]


def test_a_handle_on_an_existing_service_never_resets_it():
    service = chime_mock.ChimeService(default_region="eu-west-2")
    meeting = service.add_meeting()
    for _ in range(2):
        with mock_chime_meetings(service=service):
            assert chime("eu-west-2").get_meeting(MeetingId=meeting.meeting_id)["Meeting"]["MeetingId"]
    assert service.journal.count("GetMeeting") == 2


# -- 12. fork while another thread holds the service's lock -------------------------------------------
@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is not available here")
def test_fork_while_another_thread_holds_the_lock_does_not_deadlock_the_child():
    with mock_chime_meetings() as m:
        client = chime()
        meeting = new_meeting(client)
        stop = threading.Event()

        def hammer():
            while not stop.is_set():
                with m.service.backend.lock:
                    time.sleep(0.002)
                client.get_meeting(MeetingId=meeting["MeetingId"])

        workers = [threading.Thread(target=hammer) for _ in range(3)]
        for w in workers:
            w.start()
        try:
            time.sleep(0.05)
            pid = os.fork()
            if pid == 0:  # the child: one call, then report through the exit code
                try:
                    got = client.get_meeting(MeetingId=meeting["MeetingId"])["Meeting"]["MeetingId"]
                    os._exit(0 if got == meeting["MeetingId"] else 2)
                except BaseException:
                    os._exit(3)
            deadline = time.monotonic() + 20
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                if time.monotonic() > deadline:
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
                    pytest.fail("the forked child deadlocked")
                time.sleep(0.02)
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        finally:
            stop.set()
            for w in workers:
                w.join()


# -- 14. configuration mistakes: TypeError/ValueError naming the argument, when made ----------------
@pytest.mark.parametrize("config, exc, name", [
    (dict(quotas={"active_meetings": 1}), TypeError, "quotas"),
    (dict(clock=time), TypeError, "clock"),
    (dict(clock=lambda: __import__("datetime").datetime.now()), TypeError, "clock"),
    (dict(default_region=5), TypeError, "default_region"),
    (dict(default_region="Europe"), ValueError, "default_region"),
    (dict(seed="7"), TypeError, "seed"),
    (dict(auto_end="yes"), TypeError, "auto_end"),
    (dict(account_id=123456789012), ValueError, "account_id"),
])
def test_bad_configuration_is_reported_when_given(config, exc, name):
    with pytest.raises(exc, match=name):
        mock_chime_meetings(**config)


def test_quotas_given_properly_still_work():
    assert mock_chime_meetings(quotas=Quotas(active_meetings=1)).quotas.active_meetings == 1
    assert mock_chime_meetings(quotas="aws").quotas == Quotas.aws_defaults()


@pytest.mark.parametrize("kwargs, exc, name", [
    (dict(times="2"), TypeError, "times"),
    (dict(times=0), ValueError, "times"),
    (dict(when="GetMeeting"), TypeError, "when"),
    (dict(retry_after="3"), ValueError, "retry_after"),       # NotFound carries no Retry-After at all
    (dict(message=5), TypeError, "message"),
])
def test_bad_fault_options_are_reported_when_given(chime_meetings, kwargs, exc, name):
    with pytest.raises(exc, match=name):
        chime_meetings.inject("NotFoundException", "GetMeeting", **kwargs)


def test_a_predicate_that_raises_is_the_tests_own_error(chime_meetings):
    chime_meetings.inject("NotFoundException", "GetMeeting", when=lambda params: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        chime().get_meeting(MeetingId="0f8e2c1a-5b7d-4e21-9c3f-6a1b2c3d2713")
    assert not isinstance(ZeroDivisionError(), ChimeMockInternalError)


# -- 15. silent no-ops that hide typos are errors ----------------------------------------------------------
def test_retry_after_only_where_the_error_carries_it(chime_meetings):
    with pytest.raises(ValueError, match="ServiceUnavailableException"):
        chime_meetings.inject("ThrottlingException", retry_after=3)
    chime_meetings.inject("ServiceUnavailableException", "GetMeeting", retry_after=3)


def test_unknown_fault_members_are_refused(chime_meetings):
    with pytest.raises(TypeError, match="did you mean 'ResourceName'"):
        chime_meetings.inject("ResourceNotFoundException", ResourceNme="arn")
    with pytest.raises(TypeError, match="NotFoundException has no member 'ResourceName'"):
        chime_meetings.inject("NotFoundException", ResourceName="arn")


def test_unknown_add_meeting_fields_are_refused(chime_meetings):
    with pytest.raises(TypeError, match="did you mean 'Tags'"):
        chime_meetings.add_meeting(tags=[{"Key": "a", "Value": "b"}])
    with pytest.raises(TypeError, match="MeetingFeature"):
        chime_meetings.add_meeting(MeetingFeature={})


@pytest.mark.parametrize("typo, suggestion", [("create_meeting", "CreateMeeting"), ("CreateMeting", "CreateMeeting"),
                                              ("listattendees", "ListAttendees")])
def test_unknown_operation_names_in_the_journal_are_refused(chime_meetings, typo, suggestion):
    with pytest.raises(ValueError, match=f"did you mean '{suggestion}'"):
        chime_meetings.journal.count(typo)
    with pytest.raises(ValueError, match=f"did you mean '{suggestion}'"):
        chime_meetings.journal.calls(typo)
    with pytest.raises(ValueError, match=f"did you mean '{suggestion}'"):
        chime_meetings.inject("NotFoundException", typo)


# == found by an adversarial review of the entry points ====================================
def test_defaults_mode_auto_makes_no_metadata_lookup_under_the_mock(monkeypatch):
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED", raising=False)
    with mock_chime_meetings():
        client = boto3.client("chime-sdk-meetings", region_name="us-east-1",
                              config=Config(defaults_mode="auto", retries={"max_attempts": 0}))
        assert new_meeting(client)["MeetingId"]
    # the root conftest fails this test if 169.254.169.254 was contacted


@mock_chime_meetings
class TestDecoratedClassCoversItsFixtures:
    @pytest.fixture(autouse=True)
    def seeded(self):
        self.meeting = new_meeting(chime())          # an autouse fixture method: mocked too
        yield
        chime().delete_meeting(MeetingId=self.meeting["MeetingId"])

    def test_fixture_ran_inside_the_same_activation(self):
        assert chime().get_meeting(MeetingId=self.meeting["MeetingId"])["Meeting"] == self.meeting

    class TestNested:
        def test_nested_class_is_mocked(self):
            assert chime_mock.active_mock() and new_meeting(chime())


class TestSubclassOfADecoratedClass(TestDecoratedClassCoversItsFixtures):
    def test_method_added_by_the_subclass(self):
        assert chime_mock.active_mock().meeting(self.meeting["MeetingId"]) is not None


@mock_chime_meetings
class ClassLevelSetupIsMocked(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.class_meeting_id = new_meeting(chime(), token="tok-class")["MeetingId"]

    def test_class_setup_ran_mocked(self):
        assert self.class_meeting_id                            # answered by the mock, not AWS


@pytest.fixture
def meeting_made_first():
    return new_meeting(chime(), token="tok-first")


@pytest.mark.chime_meetings
def test_marker_covers_fixtures_set_up_before_chime_meetings(meeting_made_first, chime_meetings):
    assert chime_meetings.meeting(meeting_made_first["MeetingId"]) is not None


def test_endpoint_url_with_a_path_on_a_real_chime_host(chime_meetings):
    for url in ("https://meetings-chime.us-east-1.amazonaws.com/prefix",
                "https://meetings-chime-fips.us-east-1.api.aws/x/"):
        client = boto3.client("chime-sdk-meetings", region_name="us-east-1", endpoint_url=url, config=NO_RETRY)
        meeting = new_meeting(client, token="tok-" + url[-2:].strip("/"))
        assert client.get_meeting(MeetingId=meeting["MeetingId"])["Meeting"] == meeting


def test_a_path_that_does_not_fit_the_named_operation_is_a_404(chime_meetings):
    wire = chime_meetings.service.handle("GET", f"{CHIME_URL}/elsewhere/x", {}, b"", operation="GetMeeting",
                                         region="us-east-1", account="123456789012")
    assert wire.status == 404 and b'"Code":"NotFound"' in wire.body


def test_requests_streamed_body_is_answered(chime_meetings):
    body = (chunk for chunk in [b'{"ClientRequestToken":"tok-stream",', b'"MediaRegion":"us-east-1",',
                                b'"ExternalMeetingId":"streamed"}'])
    answer = requests.post(f"{CHIME_URL}/meetings", data=body, timeout=5)
    assert answer.status_code == 200 and answer.json()["Meeting"]["ExternalMeetingId"] == "streamed"


def test_the_internal_region_hint_is_not_trusted_from_requests(chime_meetings):
    answer = requests.post(f"{CHIME_URL}/meetings", headers={"x-chime-mock-region": "../../"}, timeout=5,
                           json={"ClientRequestToken": "tok-hint", "MediaRegion": "us-east-1",
                                 "ExternalMeetingId": "hint"})
    assert answer.json()["Meeting"]["MeetingArn"].startswith("arn:aws:chime:us-east-1:")


def test_a_task_that_outlives_its_mock_is_refused_not_answered_by_the_next():
    @mock_chime_meetings
    async def first_test():
        async def background():
            await asyncio.sleep(0.05)
            new_meeting(chime(), token="tok-late")
        return asyncio.ensure_future(background())

    async def main():
        leaked = await first_test()
        async with mock_chime_meetings() as second_test:
            with pytest.raises(ChimeMockError, match="has ended"):
                await leaked
            return second_test.meetings()

    assert asyncio.run(main()) == []


def test_a_copied_context_thread_that_outlives_its_mock_is_refused():
    import contextvars
    outcome = []
    with mock_chime_meetings():
        context = contextvars.copy_context()

    def late():
        try:
            new_meeting(chime())
        except ChimeMockError as exc:
            outcome.append(str(exc))
    worker = threading.Thread(target=context.run, args=(late,))
    worker.start()
    worker.join()
    assert outcome and "has ended" in outcome[0]


def test_stopping_from_another_thread_leaves_the_starting_context_usable():
    m = ChimeMeetingsMock()
    m.start()
    stopper = threading.Thread(target=m.stop)
    stopper.start()
    stopper.join()
    assert chime_mock.current() is None
    with mock_chime_meetings() as again:
        assert new_meeting(chime()) and len(again.meetings()) == 1


def test_a_mock_started_while_a_generator_is_suspended_does_not_join_it():
    @mock_chime_meetings
    def pages():
        new_meeting(chime())
        yield 1
        yield 2

    suspended = pages()
    assert next(suspended) == 1
    try:
        with mock_chime_meetings() as fresh:
            assert fresh.meetings() == []
    finally:
        suspended.close()
    assert chime_mock.current() is None


def test_joining_would_lose_configuration_or_seeded_state_so_it_is_refused():
    with mock_chime_meetings():
        with pytest.raises(ValueError, match="account_id, seed"):
            mock_chime_meetings(account_id="111122223333", seed=5).start()
        prepared = mock_chime_meetings()
        prepared.add_meeting()
        with pytest.raises(ValueError, match="set up for its next activation"):
            prepared.start()
        with mock_chime_meetings(seed=5, separate=True) as apart:   # separate=True keeps them
            assert apart.seed == 5


def test_fault_members_must_have_their_shapes_types(chime_meetings):
    with pytest.raises(TypeError, match="ResourceName must be a string"):
        chime_meetings.inject("ResourceNotFoundException", ResourceName=5)
