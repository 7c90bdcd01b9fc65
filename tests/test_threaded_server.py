"""ThreadedChimeServer: chime-mock serve's application on a thread of the test process."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import chime_mock
from chime_mock import ChimeService, ThreadedChimeServer

NO_RETRY = Config(retries={"max_attempts": 0, "mode": "standard"})


def boto_client(server, region="us-east-1", access_key="testing"):
    return boto3.client("chime-sdk-meetings", region_name=region, endpoint_url=server.url, config=NO_RETRY,
                        aws_access_key_id=access_key, aws_secret_access_key="testing")


def create(client, token="tok-1", external="meeting-1"):
    return client.create_meeting(ClientRequestToken=token, MediaRegion="us-east-1",
                                 ExternalMeetingId=external)["Meeting"]


def health(url):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{url}/_chime_mock/health", timeout=10) as answer:
        return json.loads(answer.read())


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.fixture
def server():
    with ThreadedChimeServer() as running:
        yield running


def test_exported_lazily_from_the_package():
    assert chime_mock.ThreadedChimeServer is ThreadedChimeServer
    assert "ThreadedChimeServer" in chime_mock.__all__


def test_start_stop_restart_on_port_zero():
    server = ThreadedChimeServer()
    assert not server.running
    with pytest.raises(RuntimeError, match="not running"):
        server.url
    assert server.start() is server
    first = server.port
    assert first > 0 and server.url == f"http://127.0.0.1:{first}"
    assert health(server.url)["status"] == "ok"       # start() returned once it answers
    create(boto_client(server))
    with pytest.raises(RuntimeError, match="already running"):
        server.start()
    server.stop()
    assert not server.running and refused(first)
    server.stop()                                     # stopping a stopped server does nothing
    server.start()
    try:
        assert health(server.url)["status"] == "ok"
        assert len(boto_client(server).list_attendees(
            MeetingId=server.service.meetings()[0].meeting_id)["Attendees"]) == 0   # state kept across restart
        server.reset()
        assert server.service.meetings() == []
    finally:
        server.stop()


def test_boto3_with_endpoint_url_and_state_through_service(server):
    client = boto_client(server)
    meeting = create(client)
    [stored] = server.service.meetings()
    assert stored.meeting_id == meeting["MeetingId"] and stored.region == "us-east-1"
    assert [c.operation for c in server.service.journal] == ["CreateMeeting"]
    # Seeded directly, read over HTTP; the credential scope picks the control region.
    seeded = server.service.add_meeting(external_meeting_id="seeded", region="eu-central-1")
    central = boto_client(server, region="eu-central-1")
    assert central.get_meeting(MeetingId=seeded.meeting_id)["Meeting"]["ExternalMeetingId"] == "seeded"
    with pytest.raises(ClientError) as info:
        client.get_meeting(MeetingId=seeded.meeting_id)       # us-east-1 does not see it
    assert info.value.response["Error"]["Code"] == "NotFoundException"
    # A 12-digit access key is the account.
    other = create(boto_client(server, access_key="111122223333"), token="tok-2")
    assert server.service.meeting(other["MeetingId"]).account == "111122223333"
    # The control API and its client answer from the same service.
    assert len(server.client.meetings()) == 3
    server.client.reset()
    assert server.service.meetings() == []


def test_serves_a_given_service_and_a_swapped_one():
    first = ChimeService(seed=3)
    with ThreadedChimeServer(service=first) as server:
        assert server.service is first
        create(boto_client(server))
        assert len(first.meetings()) == 1
        second = ChimeService()
        server.service = second
        create(boto_client(server), token="tok-2")
        assert len(first.meetings()) == 1 and len(second.meetings()) == 1
        assert len(server.client.meetings()) == 1         # control routes follow the swap too
        with pytest.raises(TypeError, match="service"):
            server.service = "not a service"


def test_configuration_keywords_build_its_service():
    server = ThreadedChimeServer(account_id="111122223333", default_region="eu-west-2", seed=5)
    assert server.service.account_id == "111122223333" and server.service.default_region == "eu-west-2"
    assert server.service.seed == 5


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")
def test_the_aws_cli_against_it(server, tmp_path):
    env = dict(server.env, AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    out = subprocess.run(
        ["aws", "chime-sdk-meetings", "create-meeting", "--client-request-token", "cli-token",
         "--media-region", "us-east-1", "--external-meeting-id", "cli-meeting",
         "--query", "Meeting.MeetingId", "--output", "text"],
        env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    [meeting] = server.service.meetings()
    assert meeting.meeting_id == out.stdout.strip() and meeting.external_meeting_id == "cli-meeting"
    missing = subprocess.run(["aws", "chime-sdk-meetings", "get-meeting", "--meeting-id",
                              "0f8e2c1a-5b7d-4e21-9c3f-6a1b2c3d2713"],
                             env=env, capture_output=True, text=True, timeout=120)
    assert missing.returncode != 0 and "NotFoundException" in missing.stderr


def test_stop_frees_the_port_and_ends_its_threads():
    before = set(threading.enumerate())
    server = ThreadedChimeServer(threads=3).start()
    port = server.port
    during = set(threading.enumerate()) - before
    assert len(during) >= 4        # the serving thread and its 3 workers
    client = boto_client(server)
    for i in range(5):
        create(client, token=f"tok-{i}")
    server.stop()
    assert set(threading.enumerate()) - before == set()
    assert refused(port)
    probe = socket.socket()
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind(("127.0.0.1", port))
        probe.listen()
    finally:
        probe.close()


def test_context_manager_stops_on_error():
    with pytest.raises(KeyError):
        with ThreadedChimeServer() as server:
            port = server.port
            raise KeyError("boom")
    assert not server.running and refused(port)


def test_loopback_only_unless_told():
    with pytest.raises(ValueError, match="allow_remote=True"):
        ThreadedChimeServer("0.0.0.0")
    ThreadedChimeServer("0.0.0.0", allow_remote=True)     # built, never started: nothing binds
    assert ThreadedChimeServer("localhost").host == "localhost"


@pytest.mark.parametrize("kwargs,exc,name", [
    ({"port": -1}, ValueError, "port"), ({"port": 70000}, ValueError, "port"), ({"port": "80"}, ValueError, "port"),
    ({"threads": 0}, ValueError, "threads"), ({"grace": -1}, ValueError, "grace"),
    ({"allow_remote": "yes"}, TypeError, "allow_remote"), ({"service": object()}, TypeError, "service"),
    ({"service": ChimeService(), "seed": 1}, TypeError, "service"), ({"host": ""}, TypeError, "host"),
    ({"account_id": "12"}, ValueError, "account_id"),
])
def test_bad_arguments_are_named(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        ThreadedChimeServer(**kwargs)
