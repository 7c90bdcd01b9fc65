"""Server mode: events over HTTP (long poll, deliveries, media controls) and delivery to a
real ``moto_server`` subprocess (EventBridge rule -> SQS target; NotificationsConfiguration queue).

The moto_server tests are skipped cleanly when moto's server extra is not installed or the
server does not start; everything binds 127.0.0.1.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List

import boto3
import pytest

from chime_mock.doors.server.client import ChimeMockClient, ChimeMockClientError, ServerProcess

ACCOUNT = "123456789012"
REGION = "us-east-1"
JS = Path(__file__).resolve().parent / "js" / "await_event.mjs"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def moto_url():
    pytest.importorskip("flask", reason="moto_server needs moto[server] (flask)")
    pytest.importorskip("moto.server", reason="moto_server needs moto[server]")
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.skip(f"moto_server did not start: {process.stderr.read().decode(errors='replace')[-500:]}")
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.skip("moto_server did not listen within 30 seconds")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def delivering_server(moto_url):
    with ServerProcess(["--aws-endpoint", moto_url]) as server:
        yield server


def aws(kind: str, url: str):
    return boto3.client(kind, region_name=REGION, endpoint_url=url, aws_access_key_id=ACCOUNT,
                        aws_secret_access_key="testing")


def queue(sqs, name):
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def receive_until(sqs, url, predicate, timeout=20.0) -> List[Dict[str, Any]]:
    """Messages of the queue (parsed) until one satisfies ``predicate``."""
    seen: List[Dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            seen.append(json.loads(message["Body"]))
        if any(predicate(m) for m in seen):
            return seen
    raise AssertionError(f"nothing matching arrived within {timeout} s; got {seen}")


def test_rule_on_aws_chime_gets_the_joined_event_of_the_control_api(delivering_server, moto_url):
    client: ChimeMockClient = delivering_server.client
    client.reset()
    sqs, events = aws("sqs", moto_url), aws("events", moto_url)
    rule_url, rule_arn = queue(sqs, f"rule-{_free_port()}")
    note_url, note_arn = queue(sqs, f"notes-{_free_port()}")
    sub_url, sub_arn = queue(sqs, f"via-sns-{_free_port()}")
    sns = aws("sns", moto_url)
    topic = sns.create_topic(Name=f"chime-{_free_port()}")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sub_arn)
    events.put_rule(Name="chime-joined", EventPattern=json.dumps(
        {"source": ["aws.chime"], "detail": {"eventType": ["chime:AttendeeJoined"]}}))
    events.put_targets(Rule="chime-joined", Targets=[{"Id": "q", "Arn": rule_arn}])
    try:
        meeting = client.add_meeting(ExternalMeetingId="standup",
                                     NotificationsConfiguration={"SqsQueueArn": note_arn, "SnsTopicArn": topic})
        attendee = client.add_attendee(meeting["MeetingId"], "ann")
        client.join(meeting["MeetingId"], attendee["AttendeeId"])
        joined = client.wait_for_event("AttendeeJoined", timeout=10, attendee_id=attendee["AttendeeId"])

        got = receive_until(sqs, rule_url, lambda m: m["detail"].get("attendeeId") == attendee["AttendeeId"])
        [on_rule] = [m for m in got if m["detail"].get("attendeeId") == attendee["AttendeeId"]]
        # The emulator's bus makes the envelope it hands to targets: the detail is ours.
        assert on_rule["source"] == "aws.chime" and on_rule["detail-type"] == "Chime Meeting State Change"
        assert on_rule["detail"] == joined["detail"] and on_rule["region"] == REGION
        assert on_rule["time"] == joined["time"]

        notes = receive_until(sqs, note_url, lambda m: m["id"] == joined["id"])
        assert joined in notes                       # the queue gets our whole envelope, account included
        assert joined["account"] == ACCOUNT
        wrapped = receive_until(sqs, sub_url, lambda m: json.loads(m["Message"])["id"] == joined["id"])
        assert joined in [json.loads(m["Message"]) for m in wrapped if m.get("TopicArn") == topic]
        delivered = client.deliveries(delivered=True)
        assert {(d["Kind"], d["EventId"]) for d in delivered} >= {("eventbridge", joined["id"]), ("sqs", joined["id"])}
    finally:
        events.remove_targets(Rule="chime-joined", Ids=["q"])
        events.delete_rule(Name="chime-joined")


def test_an_unreachable_notification_queue_is_listed_as_undelivered(delivering_server):
    client = delivering_server.client
    client.reset()
    missing = f"arn:aws:sqs:{REGION}:{ACCOUNT}:no-such-queue"
    meeting = client.add_meeting(ExternalMeetingId="standup", NotificationsConfiguration={"SqsQueueArn": missing})
    attendee = client.add_attendee(meeting["MeetingId"], "ann")
    client.join(meeting["MeetingId"], attendee["AttendeeId"])
    deadline = time.monotonic() + 20
    while True:
        failed = [d for d in client.deliveries(kind="sqs", delivered=False) if d["Target"] == missing]
        if failed or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert failed and all(d["Reason"] for d in failed)
    assert "no-such-queue" in delivering_server.log()          # the WARNING, once per target
    assert delivering_server.log().count(f"could not deliver SQS events to {missing}") == 1


def test_the_standard_endpoint_variables_are_the_default(moto_url, monkeypatch):
    sqs = aws("sqs", moto_url)
    note_url, note_arn = queue(sqs, f"from-env-{_free_port()}")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", moto_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")     # the specific variable wins
    with ServerProcess() as server:
        client = server.client
        meeting = client.add_meeting(ExternalMeetingId="standup", NotificationsConfiguration={"SqsQueueArn": note_arn})
        attendee = client.add_attendee(meeting["MeetingId"], "ann")
        client.join(meeting["MeetingId"], attendee["AttendeeId"])
        joined = client.wait_for_event("AttendeeJoined", timeout=10)
        assert joined in receive_until(sqs, note_url, lambda m: m["id"] == joined["id"])


# -- events over HTTP and the media controls (the session's plain server) --------------------
@pytest.fixture
def server(chime_meetings_server):
    return chime_meetings_server


def test_long_poll_answers_when_the_event_comes(server):
    client: ChimeMockClient = server.client
    meeting = client.add_meeting(ExternalMeetingId="standup")
    attendee = client.add_attendee(meeting["MeetingId"], "ann")
    start = client.events(0)["Cursor"]
    got: List[Dict[str, Any]] = []
    waiter = threading.Thread(target=lambda: got.append(client.events(start, wait=20, type="AttendeeJoined")))
    waiter.start()
    client.join(meeting["MeetingId"], attendee["AttendeeId"])
    waiter.join(30)
    assert not waiter.is_alive()
    [answer] = got
    [event] = answer["Events"]
    assert event["detail"]["eventType"] == "chime:AttendeeJoined"
    assert event["detail"]["attendeeId"] == attendee["AttendeeId"]
    assert event["source"] == "aws.chime" and event["account"] == ACCOUNT
    assert answer["Cursor"] > start
    assert client.events(answer["Cursor"])["Events"] == []


def test_events_filter_clear_and_media_controls(server):
    client: ChimeMockClient = server.client
    meeting = client.add_meeting(ExternalMeetingId="standup")
    mid = meeting["MeetingId"]
    ann = client.add_attendee(mid, "ann", {"Audio": "SendReceive", "Video": "SendReceive", "Content": "SendReceive"})
    bob = client.add_attendee(mid, "bob")
    assert client.join(mid, join_token=ann["JoinToken"])["Connected"] is True
    client.join(mid, bob["AttendeeId"])
    client.video(mid, ann["AttendeeId"], True)
    client.video(mid, ann["AttendeeId"], False)
    client.content(mid, ann["AttendeeId"], True)
    client.content(mid, ann["AttendeeId"], False, dropped=True)
    assert client.drop(mid, bob["AttendeeId"])["Connected"] is False
    client.leave(mid, ann["AttendeeId"])
    mine = [e["detail"]["eventType"] for e in client.events(0, attendee_id=ann["AttendeeId"], limit=1000)["Events"]]
    for expected in ("chime:AttendeeJoined", "chime:AttendeeVideoStarted", "chime:AttendeeVideoStopped",
                     "chime:AttendeeLeft"):
        assert expected in mine
    assert mine.index("chime:AttendeeJoined") < mine.index("chime:AttendeeLeft")
    dropped = client.events(0, type="chime:AttendeeDropped", meeting_id=mid)["Events"]
    assert [e["detail"]["attendeeId"] for e in dropped] == [bob["AttendeeId"]]
    client.clear_events()
    assert client.events(0)["Events"] == []


@pytest.mark.parametrize("path, body, status, code", [
    ("meetings/{m}/attendees/{a}/video", {"On": "yes"}, 400, "BadRequest"),
    ("meetings/{m}/attendees/{a}/video", {}, 400, "BadRequest"),
    ("meetings/{m}/attendees/{a}/content", {"On": True, "Dropped": True}, 400, "BadRequest"),
    ("meetings/{m}/attendees/{a}/join", {"Loud": True}, 400, "BadRequest"),
    ("meetings/{m}/join", {"JoinToken": 7}, 400, "BadRequest"),
    ("meetings/{m}/join", {"JoinToken": "bm9wZQ"}, 404, "NotFound"),
    ("meetings/{m}/attendees/00000000-0000-0000-0000-000000000000/join", {}, 404, "NotFound"),
    ("meetings/00000000-0000-4000-8000-000000000000/attendees/{a}/join", {}, 404, "NotFound"),
])
def test_media_controls_refuse_bad_input_and_change_nothing(server, path, body, status, code):
    client: ChimeMockClient = server.client
    meeting = client.add_meeting(ExternalMeetingId="standup")
    attendee = client.add_attendee(meeting["MeetingId"], "ann")
    before = client.events(0)["Cursor"]
    with pytest.raises(ChimeMockClientError) as caught:
        client._call("POST", path.format(m=meeting["MeetingId"], a=attendee["AttendeeId"]), body)
    assert (caught.value.status, caught.value.code) == (status, code)
    assert client.events(before)["Events"] == []
    assert client.meeting(meeting["MeetingId"])["Attendees"][0]["Connected"] is False


def test_a_second_join_is_a_conflict(server):
    client: ChimeMockClient = server.client
    meeting = client.add_meeting(ExternalMeetingId="standup")
    attendee = client.add_attendee(meeting["MeetingId"], "ann")
    client.join(meeting["MeetingId"], attendee["AttendeeId"])
    cursor = client.events(0)["Cursor"]
    with pytest.raises(ChimeMockClientError) as caught:
        client.join(meeting["MeetingId"], attendee["AttendeeId"])
    assert caught.value.status == 409 and caught.value.code == "Conflict"
    assert client.events(cursor)["Events"] == []


@pytest.mark.parametrize("query", ["cursor=-1", "cursor=x", "limit=0", "limit=1001", "wait=31", "wait=-1",
                                   "wait=nan"])
def test_events_route_refuses_bad_queries(server, query):
    with pytest.raises(ChimeMockClientError) as caught:
        server.client._call("GET", f"events?{query}")
    assert caught.value.status == 400 and caught.value.code == "BadRequest"
    assert query.split("=")[0] in caught.value.message


def test_deliveries_route_refuses_bad_queries(server):
    for query in ("kind=smoke", "delivered=maybe"):
        with pytest.raises(ChimeMockClientError) as caught:
            server.client._call("GET", f"deliveries?{query}")
        assert caught.value.status == 400
    assert server.client.deliveries() == []    # this server delivers nowhere: nothing attempted


def test_serve_refuses_an_endpoint_that_is_not_a_url():
    done = subprocess.run([sys.executable, "-m", "chime_mock", "serve", "--port", "0", "--sqs-endpoint", "localhost:9"],
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent)))
    assert done.returncode == 2 and "--sqs-endpoint" in done.stderr and "http://" in done.stderr


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node (Node.js >= 18)")
def test_javascript_awaits_attendee_joined_over_http(server):
    client: ChimeMockClient = server.client
    meeting = client.add_meeting(ExternalMeetingId="standup")
    attendee = client.add_attendee(meeting["MeetingId"], "ann")
    node = subprocess.Popen([shutil.which("node"), str(JS), server.url, "AttendeeJoined", attendee["AttendeeId"], "30"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        client.join(meeting["MeetingId"], attendee["AttendeeId"])
        out, err = node.communicate(timeout=60)
    finally:
        if node.poll() is None:
            node.kill()
            node.wait()
    assert node.returncode == 0, err
    event = json.loads(out)
    assert event["detail"]["eventType"] == "chime:AttendeeJoined"
    assert event["detail"]["attendeeId"] == attendee["AttendeeId"]
    assert event["detail"]["meetingId"] == meeting["MeetingId"]
