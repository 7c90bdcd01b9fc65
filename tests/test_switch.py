"""The switch: every entry point, and every guarantee of how it turns on and off."""
from __future__ import annotations

import asyncio
import http.server
import json
import os
import subprocess
import sys
import textwrap
import threading
import unittest

import boto3
import botocore
import pytest
from botocore.config import Config
from botocore.credentials import InstanceMetadataProvider
from botocore.endpoint import Endpoint

import chime_mock
from chime_mock import ChimeMeetingsMock, mock_chime_meetings
from chime_mock.ground.errors import ChimeMockInternalError, UnsupportedOperationError

NO_RETRY = Config(retries={"max_attempts": 0, "mode": "standard"})
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def new_meeting(client, token="t-1", name="meeting"):
    return client.create_meeting(ClientRequestToken=token, MediaRegion="us-east-1",
                                 ExternalMeetingId=name)["Meeting"]


def chime(region="us-east-1", **kwargs):
    kwargs.setdefault("config", NO_RETRY)
    return boto3.client("chime-sdk-meetings", region_name=region, **kwargs)


# -- a real HTTP server on loopback, standing in for AWS -------------------------
class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        type(self).seen.append((self.command, self.path))
        body = json.dumps({"Meeting": {"MeetingId": "from-the-real-server"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_aws():
    """A loopback server plus a client pointed at it (credentials explicit)."""
    _Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = chime(endpoint_url=f"http://127.0.0.1:{server.server_port}",
                   aws_access_key_id="real-key", aws_secret_access_key="real-secret")
    try:
        yield client, _Recorder.seen
    finally:
        server.shutdown()
        server.server_close()


GUID = "0f8e2c1a-5b7d-4e21-9c3f-6a1b2c3d2713"


# -- decorator forms -----------------------------------------------------------------
@mock_chime_meetings
def decorated_bare(expected_meetings):
    """Docstring kept."""
    client = chime()
    new_meeting(client)
    return len(client.list_attendees(MeetingId=new_meeting(client)["MeetingId"])["Attendees"]), expected_meetings


@mock_chime_meetings()
def decorated_called():
    return chime_mock.current()


@mock_chime_meetings(seed=7)
def decorated_seeded():
    return new_meeting(chime())["MeetingId"]


def test_bare_decorator_keeps_metadata_and_activates():
    assert decorated_bare.__name__ == "decorated_bare"
    assert decorated_bare.__doc__ == "Docstring kept."
    assert decorated_bare.__wrapped__ is not None
    assert decorated_bare(1) == (0, 1)
    assert chime_mock.current() is None


def test_called_decorator_activates_a_handle():
    handle = decorated_called()
    assert isinstance(handle, ChimeMeetingsMock)
    assert not handle.active and chime_mock.current() is None


def test_decorator_config_is_applied_and_each_call_starts_empty():
    # seeded: the same sequence of calls gives the same IDs, so the state was fresh each time
    assert decorated_seeded() == decorated_seeded()


def test_async_function_decorated_is_active_while_the_coroutine_runs():
    seen = []

    @mock_chime_meetings
    async def handler():
        await asyncio.sleep(0)
        seen.append(chime_mock.current() is not None)
        client = chime()
        meeting = new_meeting(client)
        await asyncio.sleep(0)
        return client.get_meeting(MeetingId=meeting["MeetingId"])["Meeting"]["MeetingId"] == meeting["MeetingId"]

    assert asyncio.iscoroutinefunction(handler)
    assert asyncio.run(handler()) is True
    assert seen == [True]
    assert chime_mock.current() is None


def test_async_with():
    async def main():
        async with mock_chime_meetings() as m:
            new_meeting(chime())
            return len(m.meetings())
    assert asyncio.run(main()) == 1
    assert chime_mock.current() is None


def test_unittest_class_each_test_fresh_and_setup_inside():
    results = []

    @mock_chime_meetings
    class MeetingTests(unittest.TestCase):
        def setUp(self):
            self.client = chime()
            self.meeting = new_meeting(self.client, token="same-token-every-test")  # inside the mock

        def test_one(self):
            results.append(len(chime_mock.current().meetings()))

        def test_two(self):
            results.append(len(chime_mock.current().meetings()))

        def helper_not_a_test(self):
            return chime_mock.current()

    suite = unittest.defaultTestLoader.loadTestsFromTestCase(MeetingTests)
    outcome = unittest.TestResult()
    suite.run(outcome)
    assert outcome.wasSuccessful(), outcome.errors + outcome.failures
    assert outcome.testsRun == 2
    assert results == [1, 1]  # fresh state per test: one meeting each, not two
    assert chime_mock.current() is None


def test_plain_class_decorates_its_test_methods():
    @mock_chime_meetings
    class Suite:
        def test_a(self):
            return chime_mock.current() is not None

        def other(self):
            return chime_mock.current() is not None

    assert Suite().test_a() is True
    assert Suite().other() is False


# -- context manager, start/stop, nesting -------------------------------------------
def test_context_manager_and_start_stop():
    with mock_chime_meetings() as m:
        assert m.active and chime_mock.current() is m
        new_meeting(chime())
    assert not m.active and chime_mock.current() is None
    assert len(m.meetings()) == 1  # state stays readable after stop

    m.start()
    try:
        assert m.meetings() == []  # every activation starts empty
        new_meeting(chime())
    finally:
        m.stop()
    with pytest.raises(RuntimeError):
        m.stop()


def test_nested_activation_joins_the_outer_one():
    with mock_chime_meetings() as outer:
        client = chime()
        outer_meeting = new_meeting(client, token="outer")
        with mock_chime_meetings() as inner:             # joins: same state, same journal
            assert inner.service is outer.service
            assert client.get_meeting(MeetingId=outer_meeting["MeetingId"])["Meeting"] == outer_meeting
            new_meeting(client, token="inner")
        assert len(outer.meetings()) == 2
        assert [c.operation for c in outer.journal] == ["CreateMeeting", "GetMeeting", "CreateMeeting"]


def test_nested_separate_activation_is_fresh_and_outer_resumes():
    with mock_chime_meetings() as outer:
        client = chime()
        outer_meeting = new_meeting(client, token="outer")
        with mock_chime_meetings(separate=True) as inner:
            with pytest.raises(client.exceptions.NotFoundException):
                client.get_meeting(MeetingId=outer_meeting["MeetingId"])
            new_meeting(client, token="inner")
            assert len(inner.meetings()) == 1
        assert client.get_meeting(MeetingId=outer_meeting["MeetingId"])["Meeting"] == outer_meeting
        assert [m.meeting_id for m in outer.meetings()] == [outer_meeting["MeetingId"]]


def test_same_handle_reentered_keeps_its_state():
    m = ChimeMeetingsMock()
    with m:
        new_meeting(chime())
        with m:
            assert len(m.meetings()) == 1
        assert m.active
    assert not m.active


def test_fixture_gives_an_active_empty_mock(chime_meetings):
    assert chime_meetings.active and chime_mock.current() is chime_meetings
    assert chime_meetings.meetings() == []
    new_meeting(chime())
    assert len(chime_meetings.journal) == 1


def test_fixture_registered_by_entry_point_without_conftest_or_import(tmp_path):
    (tmp_path / "test_user.py").write_text(textwrap.dedent("""
        import boto3

        def test_uses_fixture(chime_meetings):
            client = boto3.client("chime-sdk-meetings", region_name="us-east-1")
            m = client.create_meeting(ClientRequestToken="tk", MediaRegion="us-east-1", ExternalMeetingId="xy")
            assert chime_meetings.meeting(m["Meeting"]["MeetingId"]) is not None
    """))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTEST_ADDOPTS"}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout


# -- clients made earlier; nothing after stop ------------------------------------------
def test_client_created_before_start_is_answered_and_released(fake_aws):
    client, seen = fake_aws          # made before the mock, aimed at a "real" endpoint
    with mock_chime_meetings():
        meeting = new_meeting(client)
        assert client.get_meeting(MeetingId=meeting["MeetingId"])["Meeting"]["MeetingId"] == meeting["MeetingId"]
    assert seen == []               # nothing reached the server while active
    answer = client.get_meeting(MeetingId=GUID)
    assert answer["Meeting"]["MeetingId"] == "from-the-real-server"
    assert seen == [("GET", f"/meetings/{GUID}")]


def test_released_even_when_the_block_raises(fake_aws):
    client, seen = fake_aws
    with pytest.raises(ZeroDivisionError):
        with mock_chime_meetings():
            new_meeting(client)
            1 / 0
    assert chime_mock.current() is None
    assert client.get_meeting(MeetingId=GUID)["Meeting"]["MeetingId"] == "from-the-real-server"
    assert len(seen) == 1


def test_module_level_client_created_before_chime_mock_is_imported(tmp_path):
    """Lambda-style code: the client exists before chime_mock is imported, on a
    machine without credentials or config, with every non-loopback connection
    failing loudly (as pytest-socket would)."""
    (tmp_path / "app.py").write_text(textwrap.dedent("""
        import boto3
        from botocore.config import Config
        CLIENT = boto3.client("chime-sdk-meetings", region_name="eu-central-1",
                              config=Config(retries={"max_attempts": 0}))

        def handler(event):
            m = CLIENT.create_meeting(ClientRequestToken=event["token"], MediaRegion="eu-west-2",
                                      ExternalMeetingId="lambda")
            return m["Meeting"]
    """))
    (tmp_path / "run.py").write_text(textwrap.dedent("""
        import os, socket, sys
        real_connect = socket.socket.connect
        def guard(self, address):
            if isinstance(address, tuple) and not address[0].startswith("127."):
                raise RuntimeError(f"network blocked: {address}")
            return real_connect(self, address)
        socket.socket.connect = guard
        sys.path.insert(0, os.path.dirname(__file__))
        os.environ["AWS_EC2_METADATA_DISABLED"] = "true"   # only so the module-level client can be built
        import app
        del os.environ["AWS_EC2_METADATA_DISABLED"]
        before = dict(os.environ)
        from chime_mock import mock_chime_meetings
        with mock_chime_meetings() as m:
            meeting = app.handler({"token": "t1"})
            assert meeting["MeetingArn"].startswith("arn:aws:chime:eu-central-1:123456789012:meeting/")
            assert m.meeting(meeting["MeetingId"]).region == "eu-central-1"
            # a client created inside the mock, with no credentials anywhere, works too
            import boto3
            inside = boto3.client("chime-sdk-meetings", region_name="eu-central-1")
            assert inside.get_meeting(MeetingId=meeting["MeetingId"])["Meeting"] == meeting
        assert dict(os.environ) == before
        try:
            app.handler({"token": "t2"})
        except Exception as exc:   # after stop the call goes to AWS: no credentials here
            print("after-stop:", type(exc).__name__)
        print("ok")
    """))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               HOME=str(tmp_path), PYTHONPATH=REPO)
    proc = subprocess.run([sys.executable, str(tmp_path / "run.py")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "after-stop: NoCredentialsError" in proc.stdout
    assert proc.stdout.strip().endswith("ok")


def test_credentials_and_environment_left_as_they_were(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-secret")
    before = dict(os.environ)
    load = InstanceMetadataProvider.load
    with mock_chime_meetings():
        inside = chime()
        new_meeting(inside)
        assert InstanceMetadataProvider.load is not load   # no metadata lookups while active
    assert dict(os.environ) == before
    assert InstanceMetadataProvider.load is load
    creds = boto3.Session().get_credentials()
    assert creds.access_key == "AKIAREALKEY"
    assert inside._request_signer._credentials.access_key == "AKIAREALKEY"


def test_nothing_of_the_mock_is_left_after_stop():
    original_send = Endpoint._send
    with mock_chime_meetings():
        assert chime_mock.doors.botocore.hooks.choose_signer() is botocore.UNSIGNED
    assert chime_mock.doors.botocore.hooks.choose_signer() is None
    assert Endpoint._send is original_send
    assert chime_mock.service.registry.ACTIVE == []


# -- beside moto -------------------------------------------------------------------
moto = pytest.importorskip("moto")


@pytest.mark.parametrize("order", ["chime-outside", "moto-outside"])
def test_beside_moto_mock_aws_in_either_order(order):
    first = mock_chime_meetings() if order == "chime-outside" else moto.mock_aws()
    second = moto.mock_aws() if order == "chime-outside" else mock_chime_meetings()
    with first, second:
        handle = chime_mock.current()
        client = chime()
        meeting = new_meeting(client)
        assert handle.meeting(meeting["MeetingId"]) is not None
        assert client.get_meeting(MeetingId=meeting["MeetingId"])["Meeting"] == meeting
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="moto-still-works")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["moto-still-works"]
        assert len(handle.journal) == 2  # S3 calls never reach chime_mock


# -- threads ---------------------------------------------------------------------------
def test_threads_share_the_active_mock():
    with mock_chime_meetings() as m:
        clients = [chime() for _ in range(4)]
        meeting = new_meeting(clients[0])
        errors = []

        def work(index):
            try:
                for n in range(25):
                    clients[index].create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId=f"u-{index}-{n}")
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        ids = [a.attendee_id for a in m.attendees(meeting["MeetingId"])]
        assert len(ids) == len(set(ids)) == 100


# -- failing closed ----------------------------------------------------------------------
def test_operation_the_backend_does_not_know_fails_closed(monkeypatch, fake_aws):
    client, seen = fake_aws
    with mock_chime_meetings() as m:
        real = m.service.backend.handler
        monkeypatch.setattr(m.service.backend, "handler", lambda op: None if op == "GetMeeting" else real(op))
        with pytest.raises(UnsupportedOperationError, match="GetMeeting"):
            client.get_meeting(MeetingId=GUID)
    assert seen == []


def test_a_bug_in_the_mock_is_raised_once_and_names_the_operation(monkeypatch):
    with mock_chime_meetings() as m:
        client = chime(config=Config(retries={"max_attempts": 5, "mode": "standard"}))
        calls = []

        def broken(ctx, params):
            calls.append(1)
            raise KeyError("oops")
        monkeypatch.setattr(m.service.backend, "op_get_meeting", broken)
        m.service.backend._handlers.clear()
        with pytest.raises(ChimeMockInternalError, match="GetMeeting: KeyError"):
            client.get_meeting(MeetingId=GUID)
        assert calls == [1]  # not retried


def test_custom_endpoint_url_keeps_the_clients_region(chime_meetings):
    client = chime("eu-central-1", endpoint_url="http://localhost:4566")
    meeting = new_meeting(client)
    assert meeting["MeetingArn"].startswith("arn:aws:chime:eu-central-1:")
    assert chime_meetings.meeting(meeting["MeetingId"]).region == "eu-central-1"
    with pytest.raises(client.exceptions.NotFoundException):   # invisible from another region (D7)
        chime("us-east-1").get_meeting(MeetingId=meeting["MeetingId"])


@mock_chime_meetings
class TestPytestClassWithSetupMethod:
    """A pytest-style class: setup_method, the test and teardown_method share one
    fresh activation per test."""

    def setup_method(self, method):
        self.client = chime()
        self.meeting = new_meeting(self.client, token="class-token")

    def teardown_method(self, method):
        self.client.delete_meeting(MeetingId=self.meeting["MeetingId"])   # still inside

    def test_sees_what_setup_made(self):
        assert self.client.get_meeting(MeetingId=self.meeting["MeetingId"])["Meeting"] == self.meeting
        assert len(chime_mock.current().meetings()) == 1

    def test_fresh_again(self):
        assert [m.meeting_id for m in chime_mock.current().meetings()] == [self.meeting["MeetingId"]]


def test_pytest_class_activation_ends_after_each_test():
    assert chime_mock.current() is None
