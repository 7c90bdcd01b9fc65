"""While a mock is active, retried Chime calls are retried without botocore's
(or aiobotocore's) backoff sleeps: every attempt still reaches the mock and
its journal, and the client's own retry settings decide how many there are.

No timing asserts: ``time.sleep`` and the adaptive mode's token bucket are
replaced by recorders for the test, so each test checks whether a wait was
asked for, not how long it took.
"""
from __future__ import annotations

import asyncio
import threading
import time

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.retries import bucket

from chime_mock import ChimeMeetingsMock, mock_chime_meetings

MEETING_ID = "8a3a5d3e-1c2b-4a5e-9b7d-2f1e0c9d8b7a"


@pytest.fixture
def sleeps(monkeypatch):
    """Every ``time.sleep`` this thread asks for (none really sleeps)."""
    asked = []
    me = threading.get_ident()
    real = time.sleep

    def recorder(seconds):
        if threading.get_ident() == me:
            asked.append(seconds)
        else:  # pragma: no cover - another thread's sleep is left alone
            real(seconds)
    monkeypatch.setattr(time, "sleep", recorder)
    return asked


@pytest.fixture
def bucket_waits(monkeypatch):
    """Calls of the adaptive mode's token bucket (it waits when the rate is limited)."""
    calls = []
    def acquire(self, amount=1, block=True):
        calls.append(amount)
        return True
    monkeypatch.setattr(bucket.TokenBucket, "acquire", acquire)
    return calls


def client(**config):
    return boto3.client("chime-sdk-meetings", region_name="us-east-1",
                        config=Config(**config) if config else None)


def throttled_get(mock, c):
    mock.inject("ThrottlingException", "GetMeeting", times=None)
    with pytest.raises(ClientError) as caught:
        c.get_meeting(MeetingId=MEETING_ID)
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    return caught.value.response["ResponseMetadata"]["RetryAttempts"]


def test_a_default_client_retries_a_persistent_fault_without_sleeping(sleeps, monkeypatch):
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    monkeypatch.delenv("AWS_RETRY_MODE", raising=False)
    with mock_chime_meetings() as mock:
        default = client()
        retried = throttled_get(mock, default)
        calls = mock.journal.calls("GetMeeting")
    # botocore's default mode (legacy: 5 attempts; standard, the default of newer
    # botocore releases: 3) decides how many; each one reached the mock
    attempts = {"legacy": 5, "standard": 3, "adaptive": 3}[default.meta.config.retries["mode"]]
    assert len(calls) == attempts and retried == attempts - 1
    assert all(c.error == "ThrottlingException" and c.injected for c in calls)
    assert sleeps == []


@pytest.mark.parametrize("mode, config, env, attempts", [
    ("legacy", {}, None, 5),
    ("standard", {}, None, 3),
    ("adaptive", {}, None, 3),
    ("standard", {}, "5", 5),
    ("legacy", {}, "2", 2),
    ("standard", {"max_attempts": 4}, None, 5),   # max_attempts counts retries
    ("standard", {"total_max_attempts": 1}, None, 1),
    ("legacy", {"max_attempts": 0}, None, 1),
])
def test_the_attempt_count_is_the_clients_own(sleeps, monkeypatch, mode, config, env, attempts):
    monkeypatch.delenv("AWS_RETRY_MODE", raising=False)
    if env is None:
        monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    else:
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", env)
    with mock_chime_meetings() as mock:
        throttled_get(mock, client(retries={"mode": mode, **config}))
        assert mock.journal.count("GetMeeting") == attempts
    assert sleeps == []


def test_the_retry_mode_from_the_environment_is_honoured(sleeps, monkeypatch):
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    with mock_chime_meetings() as mock:
        throttled_get(mock, client())
        assert mock.journal.count("GetMeeting") == 3
    assert sleeps == []


def test_the_adaptive_rate_limiter_does_not_wait_while_mocked(sleeps, bucket_waits):
    with mock_chime_meetings() as mock:
        c = client(retries={"mode": "adaptive"})
        for _ in range(3):
            throttled_get(mock, c)
        assert mock.journal.count("GetMeeting") == 9
    assert bucket_waits == [] and sleeps == []


def test_retry_delays_true_keeps_the_clients_delays(sleeps, bucket_waits):
    with mock_chime_meetings(retry_delays=True) as mock:
        throttled_get(mock, client(retries={"mode": "standard"}))
        assert mock.journal.count("GetMeeting") == 3
    assert len(sleeps) == 2 and all(s >= 0 for s in sleeps)
    with mock_chime_meetings(retry_delays=True) as mock:
        c = client(retries={"mode": "adaptive"})
        throttled_get(mock, c)
        throttled_get(mock, c)
    assert bucket_waits, "the adaptive rate limiter was skipped despite retry_delays=True"


@pytest.mark.chime_meetings(retry_delays=True)
def test_the_marker_takes_retry_delays(sleeps):
    from chime_mock import active_mock

    mock = active_mock()
    assert mock.retry_delays is True
    throttled_get(mock, client(retries={"mode": "standard", "max_attempts": 1}))   # one retry
    assert len(sleeps) == 1


def test_a_successful_retry_after_a_fault_that_fired_twice(sleeps):
    with mock_chime_meetings() as mock:
        c = client(retries={"mode": "standard"})
        meeting = c.create_meeting(ClientRequestToken="tok-1", MediaRegion="us-east-1",
                                   ExternalMeetingId="m-1")["Meeting"]
        mock.inject("ServiceUnavailableException", "GetMeeting", times=2)
        got = c.get_meeting(MeetingId=meeting["MeetingId"])
        assert got["Meeting"]["MeetingId"] == meeting["MeetingId"]
        assert got["ResponseMetadata"]["RetryAttempts"] == 2
        assert [call.ok for call in mock.journal.calls("GetMeeting")] == [False, False, True]
    assert sleeps == []


def test_other_services_keep_their_sleeps_while_mocked(sleeps):
    """An STS client's retries (its 500s answered by a handler of the test) still sleep."""
    sts = boto3.client("sts", region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
                       aws_secret_access_key="secret", config=Config(retries={"mode": "standard", "max_attempts": 1}))
    sent = []

    def answer(request, **_):
        sent.append(request.url)
        return AWSResponse(request.url, 500, {}, _Raw(b"<ErrorResponse><Error><Code>InternalError</Code>"
                                                     b"</Error></ErrorResponse>"))
    sts.meta.events.register("before-send.sts", answer)
    with mock_chime_meetings():
        with pytest.raises(ClientError):
            sts.get_caller_identity()
    assert len(sent) == 2
    assert len(sleeps) == 1


def test_nothing_changes_while_no_mock_is_active(sleeps):
    from botocore.endpoint import Endpoint
    from botocore.retries.adaptive import ClientRateLimiter

    with mock_chime_meetings():
        assert Endpoint._needs_retry.__module__ == "chime_mock.doors.botocore.hooks"
    assert Endpoint._needs_retry.__module__ == "botocore.endpoint"
    assert ClientRateLimiter.on_sending_request.__module__ == "botocore.retries.adaptive"


class _Raw:
    def __init__(self, body):
        self._body = body

    def stream(self, **_):
        yield self._body

    def read(self, *_):
        return self._body


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_retry_delays_must_be_a_bool(value):
    with pytest.raises(TypeError, match="retry_delays"):
        ChimeMeetingsMock(retry_delays=value)


# -- aiobotocore ---------------------------------------------------------------------
@pytest.fixture
def aio_sleeps(monkeypatch):
    """What ``asyncio.sleep`` was asked to wait, each wait made at once."""
    asked = []
    real_sleep = asyncio.sleep

    async def recorder(seconds, *args, **kwargs):
        asked.append(seconds)
        return await real_sleep(0)
    monkeypatch.setattr(asyncio, "sleep", recorder)
    return asked


def _aio_session():
    return pytest.importorskip("aiobotocore.session").get_session()


@pytest.mark.parametrize("mode, attempts", [("legacy", 5), ("standard", 3), ("adaptive", 3)])
def test_aiobotocore_retries_without_sleeping(aio_sleeps, mode, attempts):
    session = _aio_session()

    async def run(mock):
        mock.inject("ThrottlingException", "GetMeeting", times=None)
        async with session.create_client("chime-sdk-meetings", region_name="us-east-1",
                                         config=Config(retries={"mode": mode})) as c:
            for _ in range(2):
                with pytest.raises(ClientError) as caught:
                    await c.get_meeting(MeetingId=MEETING_ID)
                assert caught.value.response["Error"]["Code"] == "ThrottlingException"

    with mock_chime_meetings() as mock:
        asyncio.run(run(mock))
        assert mock.journal.count("GetMeeting") == 2 * attempts
    assert [s for s in aio_sleeps if s] == []


def test_aiobotocore_keeps_its_delays_with_retry_delays_true(aio_sleeps):
    session = _aio_session()

    async def run(mock):
        mock.inject("ThrottlingException", "GetMeeting", times=None)
        async with session.create_client("chime-sdk-meetings", region_name="us-east-1",
                                         config=Config(retries={"mode": "standard"})) as c:
            with pytest.raises(ClientError):
                await c.get_meeting(MeetingId=MEETING_ID)

    with mock_chime_meetings(retry_delays=True) as mock:
        asyncio.run(run(mock))
        assert mock.journal.count("GetMeeting") == 3
    assert len([s for s in aio_sleeps if s]) == 2
