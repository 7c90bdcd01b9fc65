"""Deliveries of meeting events in-process: into moto while its ``mock_aws`` is active.

The first part feeds hand-built events to a ``Deliveries`` on a small event
log of its own (the delivery layer alone); the second drives real calls and
media actions through ``mock_chime_meetings`` beside ``mock_aws``, in both
nesting orders.
"""
from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import boto3
import pytest

from chime_mock.deliveries import LAMBDA_REASON, Deliveries, Endpoints, moto_active

moto = pytest.importorskip("moto")

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROOT = Path(__file__).resolve().parent.parent


# -- a hand-built event and a small log (the delivery layer alone) ---------------------------
@dataclass(frozen=True)
class Event:
    id: str = "6a7e5e3e-0000-4000-8000-000000000001"
    type: str = "AttendeeJoined"
    account: str = ACCOUNT
    region: str = REGION
    time: float = 1700000000.0
    meeting_id: str = "5b1f0b0a-3c52-4a8e-9b6c-0a8c2a6f7d10"
    attendee_id: Optional[str] = "a1b2c3d4-0000-1111-2222-333344445555"
    notifications: Optional[Dict[str, str]] = None
    seq: int = 1

    @property
    def detail(self) -> Dict[str, Any]:
        return {"version": "0", "eventType": f"chime:{self.type}", "timestamp": int(self.time * 1000),
                "meetingId": self.meeting_id, "attendeeId": self.attendee_id, "externalUserId": "ann",
                "externalMeetingId": "standup", "mediaRegion": REGION, "networkType": "Voip"}

    def envelope(self) -> Dict[str, Any]:
        return {"version": "0", "id": self.id, "detail-type": "Chime Meeting State Change", "source": "aws.chime",
                "account": self.account, "time": "2023-11-14T22:13:20Z", "region": self.region, "resources": [],
                "detail": self.detail}

    def to_json(self) -> str:
        return json.dumps(self.envelope(), separators=(",", ":"))


@dataclass
class Log:
    subscribers: List[Callable[[Any], None]] = field(default_factory=list)
    deliveries: List[Any] = field(default_factory=list)

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        self.subscribers.append(callback)
        return lambda: self.subscribers.remove(callback)

    def record_delivery(self, record: Any) -> None:
        self.deliveries.append(record)

    def emit(self, event: Any) -> None:
        for callback in list(self.subscribers):
            callback(event)


@pytest.fixture
def log():
    events = Log()
    deliveries = Deliveries(events)  # type: ignore[arg-type]
    yield events
    deliveries.detach()


def queue(sqs, name, **attributes):
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def bodies(sqs, url) -> List[str]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [m["Body"] for m in messages]


def chime_rule(events, target_arn, name="chime-events", pattern=None, **target):
    events.put_rule(Name=name, EventPattern=json.dumps(pattern or {"source": ["aws.chime"]}))
    events.put_targets(Rule=name, Targets=[dict({"Id": "1", "Arn": target_arn}, **target)])


@pytest.fixture
def aws():
    with moto.mock_aws():
        yield (boto3.client("sqs", region_name=REGION), boto3.client("sns", region_name=REGION),
               boto3.client("events", region_name=REGION))


# -- the delivery layer with moto active -----------------------------------------------------
def test_a_rule_on_aws_chime_gets_the_whole_envelope_account_included(aws, log):
    sqs, _, events = aws
    url, arn = queue(sqs, "rule-target")
    chime_rule(events, arn, pattern={"source": ["aws.chime"], "detail-type": ["Chime Meeting State Change"],
                                     "detail": {"eventType": ["chime:AttendeeJoined"]}})
    event = Event()
    log.emit(event)
    log.emit(Event(id="6a7e5e3e-0000-4000-8000-000000000002", type="AttendeeLeft"))   # not matched
    received = [json.loads(b) for b in bodies(sqs, url)]
    assert received == [event.envelope()]
    assert received[0]["account"] == ACCOUNT
    bus = [r for r in log.deliveries if r.kind == "eventbridge"]
    assert [(r.target, r.delivered, r.reason) for r in bus] == [
        (f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default", True, None)] * 2


def test_rule_state_pattern_and_input_shaping_are_respected(aws, log):
    sqs, _, events = aws
    off_url, off_arn = queue(sqs, "disabled-rule")
    chime_rule(events, off_arn, name="off")
    events.disable_rule(Name="off")
    other_url, other_arn = queue(sqs, "other-source")
    chime_rule(events, other_arn, name="other", pattern={"source": ["aws.s3"]})
    path_url, path_arn = queue(sqs, "input-path")
    chime_rule(events, path_arn, name="path", InputPath="$.detail")
    const_url, const_arn = queue(sqs, "input-constant")
    chime_rule(events, const_arn, name="const", Input='{"hello":"world"}')
    fifo_url, fifo_arn = queue(sqs, "roster.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    chime_rule(events, fifo_arn, name="fifo", SqsParameters={"MessageGroupId": "meetings"})
    event = Event()
    log.emit(event)
    assert bodies(sqs, off_url) == [] and bodies(sqs, other_url) == []
    assert [json.loads(b) for b in bodies(sqs, path_url)] == [event.detail]
    assert bodies(sqs, const_url) == ['{"hello":"world"}']
    assert bodies(sqs, fifo_url) == [event.to_json()]


def test_notifications_sqs_queue_gets_the_event_json(aws, log):
    sqs, _, _ = aws
    url, arn = queue(sqs, "notifications")
    event = Event(notifications={"SqsQueueArn": arn})
    log.emit(event)
    assert bodies(sqs, url) == [event.to_json()]
    assert [(r.kind, r.target, r.delivered) for r in log.deliveries if r.kind == "sqs"] == [("sqs", arn, True)]


def test_notifications_sns_topic_wraps_the_event_for_an_sqs_subscription(aws, log):
    sqs, sns, _ = aws
    wrapped_url, wrapped_arn = queue(sqs, "sns-wrapped")
    raw_url, raw_arn = queue(sqs, "sns-raw")
    topic = sns.create_topic(Name="chime-events")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=wrapped_arn)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=raw_arn, Attributes={"RawMessageDelivery": "true"})
    event = Event(notifications={"SnsTopicArn": topic})
    log.emit(event)
    [wrapped] = [json.loads(b) for b in bodies(sqs, wrapped_url)]
    assert wrapped["Type"] == "Notification" and wrapped["TopicArn"] == topic
    assert wrapped["Message"] == event.to_json()
    assert bodies(sqs, raw_url) == [event.to_json()]


def test_lambda_is_recorded_not_invoked(aws, log):
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:on-chime-event"
    log.emit(Event(notifications={"LambdaFunctionArn": function}))
    [record] = [r for r in log.deliveries if r.kind == "lambda"]
    assert (record.target, record.delivered, record.reason) == (function, False, LAMBDA_REASON)
    assert record.event_type == "AttendeeJoined" and record.event_id == Event().id


def test_an_unreachable_target_is_recorded_and_warned_about_once(aws, log, caplog):
    sqs, sns, _ = aws
    missing_queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:no-such-queue"
    missing_topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:no-such-topic"
    caplog.set_level(logging.WARNING, logger="chime_mock")
    for n in range(3):
        log.emit(Event(id=f"6a7e5e3e-0000-4000-8000-00000000000{n}",
                       notifications={"SqsQueueArn": missing_queue, "SnsTopicArn": missing_topic}))
    failed = [r for r in log.deliveries if not r.delivered]
    assert [(r.kind, r.target) for r in failed] == [("sqs", missing_queue), ("sns", missing_topic)] * 3
    assert all("no-such" in r.reason for r in failed)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert any(missing_queue in w for w in warnings) and any(missing_topic in w for w in warnings)


def test_without_moto_nothing_is_attempted_but_notifications_are_recorded(log, caplog):
    assert not moto_active()
    caplog.set_level(logging.DEBUG, logger="chime_mock")
    log.emit(Event())
    assert log.deliveries == [] and caplog.records == []
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:roster"
    log.emit(Event(notifications={"SqsQueueArn": queue_arn}))
    log.emit(Event(notifications={"SqsQueueArn": queue_arn}))
    assert [(r.kind, r.delivered) for r in log.deliveries] == [("sqs", False)] * 2
    assert "mock_aws is not active" in log.deliveries[0].reason
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


def test_moto_is_never_imported_by_chime_mock():
    """A process that never imports moto: deliveries look for it without importing it."""
    code = textwrap.dedent("""
        import sys, boto3
        from chime_mock import mock_chime_meetings
        with mock_chime_meetings() as m:
            client = boto3.client("chime-sdk-meetings", region_name="us-east-1")
            meeting = client.create_meeting(ClientRequestToken="tok-1", MediaRegion="us-east-1",
                                            ExternalMeetingId="standup")["Meeting"]
            client.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId="ann")
        assert "moto" not in sys.modules, sorted(k for k in sys.modules if k.startswith("moto"))
        print("ok")
    """)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "AWS_ACCESS_KEY_ID": "x",
           "AWS_SECRET_ACCESS_KEY": "x", "HOME": "/nonexistent"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_endpoints_come_from_options_then_the_standard_variables():
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:2/"}
    assert Endpoints.resolve(environ=env) == Endpoints("http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:1")
    assert Endpoints.resolve(aws="http://127.0.0.1:3", environ=env) == Endpoints(*["http://127.0.0.1:3"] * 3)
    assert Endpoints.resolve(sns="http://127.0.0.1:4", environ={}) == Endpoints(None, None, "http://127.0.0.1:4")
    assert not Endpoints.resolve(environ={})
    with pytest.raises(ValueError, match="AWS_ENDPOINT_URL_SNS must be an http"):
        Endpoints.resolve(environ={"AWS_ENDPOINT_URL_SNS": "localhost:4566"})
    with pytest.raises(ValueError, match="eventbridge must be an http"):
        Endpoints(eventbridge="ftp://x")


def test_an_endpoint_that_does_not_answer_is_recorded_as_undelivered(caplog):
    import socket
    events = Log()
    with socket.socket() as closed:      # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    deliveries = Deliveries(events, endpoints=Endpoints.resolve(aws=url, environ={}))  # type: ignore[arg-type]
    caplog.set_level(logging.WARNING, logger="chime_mock")
    try:
        queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:roster"
        events.emit(Event(notifications={"SqsQueueArn": queue_arn}))   # handed to the worker
        assert deliveries.wait_idle(30)
    finally:
        deliveries.close()
    assert sorted((r.kind, r.delivered) for r in events.deliveries) == [("eventbridge", False), ("sqs", False)]
    assert all("connect" in r.reason.lower() for r in events.deliveries)
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2


def test_a_full_delivery_queue_drops_and_records():
    import threading
    from chime_mock.deliveries.remote import RemoteSender
    sender = RemoteSender(Endpoints(sqs="http://127.0.0.1:9"), queue_size=1)
    gate = threading.Event()
    outcomes: list = []
    try:
        assert sender.submit(gate.wait, lambda ok, why: outcomes.append(ok))      # runs, blocks the worker
        accepted = [sender.submit(lambda: None, lambda ok, why: outcomes.append(ok)) for _ in range(3)]
        assert accepted.count(False) >= 1
    finally:
        gate.set()
        sender.close()
    assert outcomes and all(outcomes)


# -- the whole path: API calls and media actions beside mock_aws -------------------------------
@pytest.fixture(params=["moto-outside", "moto-inside"])
def both(request):
    from chime_mock import mock_chime_meetings
    chime_mock_handle = mock_chime_meetings()
    aws_mock = moto.mock_aws()
    first, second = (aws_mock, chime_mock_handle) if request.param == "moto-outside" else (chime_mock_handle, aws_mock)
    with first, second:
        yield chime_mock_handle


def test_joined_event_reaches_rule_queue_and_topic(both):
    sqs = boto3.client("sqs", region_name=REGION)
    sns = boto3.client("sns", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    rule_url, rule_arn = queue(sqs, "rule-target")
    chime_rule(events, rule_arn, pattern={"source": ["aws.chime"], "detail": {"eventType": ["chime:AttendeeJoined"]}})
    note_url, note_arn = queue(sqs, "notifications")
    sub_url, sub_arn = queue(sqs, "via-sns")
    topic = sns.create_topic(Name="chime")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sub_arn)

    chime = boto3.client("chime-sdk-meetings", region_name=REGION)
    meeting = chime.create_meeting(ClientRequestToken="tok-1", MediaRegion=REGION, ExternalMeetingId="standup",
                                   NotificationsConfiguration={"SqsQueueArn": note_arn, "SnsTopicArn": topic})["Meeting"]
    attendee = chime.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId="ann")["Attendee"]
    both.service.join(meeting["MeetingId"], attendee["AttendeeId"])

    [joined] = both.service.events.filter(type="AttendeeJoined")
    assert [json.loads(b) for b in bodies(sqs, rule_url)] == [joined.envelope()]
    assert joined.envelope()["account"] == ACCOUNT and joined.envelope()["region"] == REGION
    note_bodies = bodies(sqs, note_url)
    assert joined.to_json() in note_bodies                          # body == the event JSON
    assert all(json.loads(b)["source"] == "aws.chime" for b in note_bodies)
    messages = [json.loads(json.loads(b)["Message"]) for b in bodies(sqs, sub_url)]
    assert joined.envelope() in messages
    delivered = {(r.kind, r.target) for r in both.service.events.deliveries if r.delivered}
    assert {("sqs", note_arn), ("sns", topic)} <= delivered


def test_rule_targets_beyond_sqs_sns_topic_and_log_group(aws, log):
    sqs, sns, events = aws
    sub_url, sub_arn = queue(sqs, "rule-topic-subscriber")
    topic = sns.create_topic(Name="rule-topic")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sub_arn, Attributes={"RawMessageDelivery": "true"})
    chime_rule(events, topic, name="to-topic")
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_group(logGroupName="/chime/events")
    group_arn = logs.describe_log_groups(logGroupNamePrefix="/chime/events")["logGroups"][0]["arn"].rstrip(":*")
    chime_rule(events, group_arn, name="to-logs")
    event = Event()
    log.emit(event)
    assert bodies(sqs, sub_url) == [event.to_json()]
    streams = logs.describe_log_streams(logGroupName="/chime/events")["logStreams"]
    messages = [json.loads(e["message"]) for s in streams
                for e in logs.get_log_events(logGroupName="/chime/events", logStreamName=s["logStreamName"])["events"]]
    assert [m["detail"] for m in messages] == [event.detail]
    assert [r for r in log.deliveries if not r.delivered] == []
