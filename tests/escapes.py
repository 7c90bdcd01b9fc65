"""What the escape tests share: a client with no retries, how a call ended
(answered by a mock, refused, or something else), and the network layer
patched to record and refuse every send (``record_sends``; the ``sent``
fixture of tests/conftest.py), so a call that was not answered shows as a
send, never as a pass."""
from __future__ import annotations

import threading
from typing import Any, Callable, List

import boto3
import botocore.httpsession
from botocore.config import Config

from chime_mock import ChimeMockError, mock_chime_meetings

NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})
MEETING_ID = "11111111-1111-4111-8111-111111111111"
CHIME_URL = f"https://meetings-chime.us-east-1.amazonaws.com/meetings/{MEETING_ID}"


class Sent(Exception):
    """Raised by the patched network layer: the request would have left the machine."""


def chime() -> Any:
    return boto3.client("chime-sdk-meetings", region_name="us-east-1", config=NO_RETRY,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def outcome_of(call: Callable[[], Any]) -> str:
    try:
        call()
        return "answered"
    except ChimeMockError:
        return "refused"
    except Exception as exc:  # e.g. NotFoundException from the mock counts as answered
        return "answered" if hasattr(exc, "response") and exc.response.get("ResponseMetadata", {}).get(
            "HTTPHeaders", {}).get("x-amzn-requestid") else f"other: {type(exc).__name__}: {exc}"


def outcome_after_its_mock(call: Callable[[], Any]) -> str:
    """How ``call`` ended in a thread started inside a mock and run after it stopped."""
    outcomes: List[str] = []
    go = threading.Event()

    def late() -> None:
        go.wait()
        outcomes.append(outcome_of(call))

    with mock_chime_meetings():
        worker = threading.Thread(target=late)
        worker.start()
    go.set()
    worker.join()
    return outcomes[0]


def get_meeting() -> str:
    """How a GetMeeting through a fresh client ended."""
    return outcome_of(lambda: chime().get_meeting(MeetingId=MEETING_ID))


def record_sends(monkeypatch: Any) -> List[str]:
    """Patch botocore's (and, when installed, aiobotocore's) HTTP layer to
    record each request's URL and raise ``Sent``; returns the list."""
    urls: List[str] = []

    def send(self: Any, request: Any) -> Any:
        urls.append(request.url)
        raise Sent(request.url)

    monkeypatch.setattr(botocore.httpsession.URLLib3Session, "send", send)
    try:
        import aiobotocore.httpsession
    except ImportError:
        return urls

    async def aio_send(self: Any, request: Any) -> Any:
        urls.append(request.url)
        raise Sent(request.url)

    monkeypatch.setattr(aiobotocore.httpsession.AIOHTTPSession, "send", aio_send)
    return urls
